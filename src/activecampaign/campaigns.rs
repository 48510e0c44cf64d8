//! Campaigns (`/campaigns`) and their messages (`/messages`). Neither collection documents a
//! filter by modification time, so both are read whole, 100 per request, by full runs.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::client::ApiClient;
use super::decode;
use super::error::ApiError;
use super::paging::{Meta, PAGE_SIZE};
use super::request::Call;

/// A campaign (automation e-mails are campaigns too). Only what the mirror keeps is decoded;
/// the dozens of counters and settings are skipped.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Campaign {
    /// ActiveCampaign's campaign id.
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// Name.
    #[serde(default, deserialize_with = "decode::text")]
    pub name: String,
    /// `single`, `recurring`, `split`, `responder`, …
    #[serde(default, rename = "type", deserialize_with = "decode::opt_text")]
    pub campaign_type: Option<String>,
    /// ActiveCampaign's numeric status (a string on the wire).
    #[serde(default, deserialize_with = "decode::opt_i32")]
    pub status: Option<i32>,
    /// The campaign's message (`/messages`).
    #[serde(default, deserialize_with = "decode::opt_ref")]
    pub message_id: Option<i64>,
    /// When it was sent; `null` until then.
    #[serde(default, deserialize_with = "decode::timestamp")]
    pub sdate: Option<DateTime<Utc>>,
    /// When it was last sent (recurring campaigns); `null` until then.
    #[serde(default, deserialize_with = "decode::timestamp")]
    pub ldate: Option<DateTime<Utc>>,
    /// How many e-mails it sent.
    #[serde(default, deserialize_with = "decode::opt_i64")]
    pub send_amt: Option<i64>,
    /// Creation time.
    #[serde(default, deserialize_with = "decode::timestamp")]
    pub cdate: Option<DateTime<Utc>>,
    /// Last change; the version to compare against.
    #[serde(default, deserialize_with = "decode::timestamp")]
    pub mdate: Option<DateTime<Utc>>,
}

/// A campaign message: its envelope only. The `html` and `text` bodies are not decoded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Message {
    /// ActiveCampaign's message id.
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// Internal name (often empty).
    #[serde(default, deserialize_with = "decode::text")]
    pub name: String,
    /// Subject line.
    #[serde(default, deserialize_with = "decode::text")]
    pub subject: String,
    /// Sender name.
    #[serde(default, rename = "fromname", deserialize_with = "decode::text")]
    pub from_name: String,
    /// Sender address.
    #[serde(default, rename = "fromemail", deserialize_with = "decode::text")]
    pub from_email: String,
    /// Creation time.
    #[serde(default, deserialize_with = "decode::timestamp")]
    pub cdate: Option<DateTime<Utc>>,
    /// Last change; the version to compare against.
    #[serde(default, deserialize_with = "decode::timestamp")]
    pub mdate: Option<DateTime<Utc>>,
}

/// One page of an offset-paged collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// Records on this page.
    pub items: Vec<T>,
    /// `meta.total`.
    pub total: Option<u64>,
    /// True when the page was short: there is no next page.
    pub is_last: bool,
}

#[derive(Deserialize)]
struct CampaignsRaw {
    #[serde(default, deserialize_with = "decode::list")]
    campaigns: Vec<Campaign>,
    #[serde(default)]
    meta: Meta,
}

#[derive(Deserialize)]
struct MessagesRaw {
    #[serde(default, deserialize_with = "decode::list")]
    messages: Vec<Message>,
    #[serde(default)]
    meta: Meta,
}

fn page<T>(items: Vec<T>, meta: Meta) -> Page<T> {
    let is_last = items.len() < PAGE_SIZE;
    Page {
        items,
        total: meta.total,
        is_last,
    }
}

impl ApiClient {
    /// One page of campaigns at `offset`, in the API's order (by id).
    pub async fn campaigns_page(&self, offset: u64) -> Result<Page<Campaign>, ApiError> {
        let raw: CampaignsRaw = self.fetch(Call::get("campaigns").page(offset)).await?;
        Ok(page(raw.campaigns, raw.meta))
    }

    /// One page of messages at `offset`, in the API's order (by id).
    pub async fn messages_page(&self, offset: u64) -> Result<Page<Message>, ApiError> {
        let raw: MessagesRaw = self.fetch(Call::get("messages").page(offset)).await?;
        Ok(page(raw.messages, raw.meta))
    }
}

//! Campaigns (`/campaigns`) and their messages (`/messages`) as the API shows them. Their
//! pages are read with the other CRM collections (see `crm.rs`).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::decode;

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

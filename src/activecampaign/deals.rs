//! Deals: offset pages ordered by creation time, and single reads.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use super::client::ApiClient;
use super::decode;
use super::error::ApiError;
use super::paging::{Meta, PAGE_SIZE};
use super::request::Call;

/// A deal as the API returns it, with ActiveCampaign's names translated.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Deal {
    /// ActiveCampaign's deal id.
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// Title (`""` if none).
    #[serde(default, deserialize_with = "decode::text")]
    pub title: String,
    /// `value`, in cents.
    #[serde(default, rename = "value", deserialize_with = "decode::opt_i64")]
    pub value_cents: Option<i64>,
    /// Lower-case ISO currency code (`usd`).
    #[serde(default, deserialize_with = "lower_case")]
    pub currency: Option<String>,
    /// `group`: the pipeline id.
    #[serde(default, rename = "group", deserialize_with = "decode::opt_ref")]
    pub pipeline_id: Option<i64>,
    /// `stage`: the stage id.
    #[serde(default, rename = "stage", deserialize_with = "decode::opt_ref")]
    pub stage_id: Option<i64>,
    /// `owner`: the owning user's id.
    #[serde(default, rename = "owner", deserialize_with = "decode::opt_ref")]
    pub owner_id: Option<i64>,
    /// `contact`: the primary contact's id.
    #[serde(default, rename = "contact", deserialize_with = "decode::opt_ref")]
    pub contact_id: Option<i64>,
    /// 0 open, 1 won, 2 lost.
    #[serde(default, deserialize_with = "decode::opt_i32")]
    pub status: Option<i32>,
    /// Creation time.
    #[serde(default, deserialize_with = "decode::timestamp")]
    pub cdate: Option<DateTime<Utc>>,
    /// Last modification (`mdate`); the version to compare against.
    #[serde(default, deserialize_with = "decode::timestamp")]
    pub mdate: Option<DateTime<Utc>>,
    /// `account`: the account (organisation) the deal is for.
    #[serde(default, deserialize_with = "decode::opt_ref")]
    pub account: Option<i64>,
    /// `winProbability`, in percent.
    #[serde(
        default,
        rename = "winProbability",
        deserialize_with = "decode::opt_i32"
    )]
    pub win_probability: Option<i32>,
    /// `nextdate`: when the deal's next open task is due.
    #[serde(default, deserialize_with = "decode::timestamp")]
    pub nextdate: Option<DateTime<Utc>>,
    /// `isDisabled`: the API user may not see this deal's pipeline.
    #[serde(default, rename = "isDisabled", deserialize_with = "decode::flag")]
    pub is_disabled: bool,
}

impl Deal {
    /// True for a permission stub: a deal in a pipeline the API user cannot access, sent as
    /// `{title, status, id, isDisabled: true}` without dates. Its fields are not the deal's
    /// real state and must never overwrite a mirrored row.
    pub fn is_stub(&self) -> bool {
        self.is_disabled && self.cdate.is_none() && self.mdate.is_none()
    }
}

/// One offset page of deals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealsPage {
    /// Up to [`PAGE_SIZE`] deals, ascending by creation time; may include stubs.
    pub deals: Vec<Deal>,
    /// `meta.total`, for progress and ETA only.
    pub total: Option<u64>,
    /// The offset this page was read at.
    pub offset: u64,
    /// True when this page was short, i.e. there is no next page.
    pub is_last: bool,
    /// When ActiveCampaign served the page, by its own clock (the response's `Date`).
    pub served_at: DateTime<Utc>,
}

impl DealsPage {
    /// The offset of the next page, or `None` after the last one.
    pub fn next_offset(&self) -> Option<u64> {
        (!self.is_last).then(|| self.offset + self.deals.len() as u64)
    }
}

impl ApiClient {
    /// One page of deals at `offset` (0 to start), oldest first, optionally only those updated
    /// after `updated_after` (the caller subtracts its own overlap). Ordering by creation time
    /// keeps offsets stable while new deals are added, since they land at the end. One request.
    pub async fn deals_page(
        &self,
        offset: u64,
        updated_after: Option<DateTime<Utc>>,
    ) -> Result<DealsPage, ApiError> {
        let call = Call::get("deals")
            .param("orders[cdate]", "ASC")
            .page(offset)
            .updated_after(updated_after);
        let (raw, served_at): (RawDeals, _) = self.fetch_dated(call).await?;
        Ok(DealsPage {
            is_last: raw.deals.len() < PAGE_SIZE,
            total: raw.meta.total,
            deals: raw.deals,
            offset,
            served_at,
        })
    }

    /// One page of the deals created in the second `at` (`filters[created_after]` and
    /// `filters[created_before]` both set to it), optionally only those updated after
    /// `updated_after`. Deals created in one bulk import share their second, and the API
    /// returns such ties in any order, so a full pass re-reads these windows to find the deals
    /// that offset paging skipped. Permission stubs ignore date filters and come with every
    /// window. One request.
    pub async fn deals_created_in_second(
        &self,
        at: DateTime<Utc>,
        offset: u64,
        updated_after: Option<DateTime<Utc>>,
    ) -> Result<DealsPage, ApiError> {
        let second = crate::time::format_filter_time(at);
        let call = Call::get("deals")
            .param("filters[created_after]", &second)
            .param("filters[created_before]", &second)
            .param("orders[cdate]", "ASC")
            .page(offset)
            .updated_after(updated_after);
        let (raw, served_at): (RawDeals, _) = self.fetch_dated(call).await?;
        Ok(DealsPage {
            is_last: raw.deals.len() < PAGE_SIZE,
            total: raw.meta.total,
            deals: raw.deals,
            offset,
            served_at,
        })
    }

    /// One deal; `None` if it does not exist. May be a stub (see [`Deal::is_stub`]).
    pub async fn deal(&self, id: i64) -> Result<Option<Deal>, ApiError> {
        let call = Call::get(format!("deals/{id}"));
        Ok(self
            .fetch_optional::<RawOneDeal>(call)
            .await?
            .map(|raw| raw.deal))
    }
}

#[derive(Deserialize)]
struct RawDeals {
    #[serde(default, deserialize_with = "decode::list")]
    deals: Vec<Deal>,
    #[serde(default)]
    meta: Meta,
}

#[derive(Deserialize)]
struct RawOneDeal {
    deal: Deal,
}

fn lower_case<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    Ok(decode::opt_text(de)?
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty()))
}

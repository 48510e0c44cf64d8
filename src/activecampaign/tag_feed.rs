//! The newest contact-tag associations first (`GET /contactTags?orders[cdate]=DESC`).
//!
//! A contact's `udate` may not move when only its tags change, so contacts read by
//! `filters[updated_after]` can miss a tag added without a webhook. The association list,
//! newest first, finds those: read pages until `cdate` is older than the mark. Its
//! `filters[cdate]` matches one exact time, not a range, so it cannot do this by itself.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::client::ApiClient;
use super::decode;
use super::error::ApiError;
use super::paging::{Meta, PAGE_SIZE};
use super::request::Call;

/// One contact-tag association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagAssociation {
    /// The association's id.
    pub id: i64,
    /// The contact's id.
    pub contact_id: i64,
    /// The tag's id.
    pub tag_id: i64,
    /// When the tag was added (upstream clock).
    pub added_at: DateTime<Utc>,
}

/// One page of associations, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagAssociationsPage {
    /// Associations on this page; those lacking a contact, a tag or a time are left out.
    pub items: Vec<TagAssociation>,
    /// How many records the page held, complete or not (the next page's offset moves by it).
    pub len: usize,
    /// `meta.total`.
    pub total: Option<u64>,
    /// True when the page was short: there is no next page.
    pub is_last: bool,
}

impl ApiClient {
    /// One page of contact-tag associations at `offset`, newest `cdate` first.
    pub async fn tag_associations_newest_first(
        &self,
        offset: u64,
    ) -> Result<TagAssociationsPage, ApiError> {
        let call = Call::get("contactTags")
            .param("orders[cdate]", "DESC")
            .page(offset);
        let raw: RawPage = self.fetch(call).await?;
        let len = raw.contact_tags.len();
        let items = raw
            .contact_tags
            .into_iter()
            .filter_map(|r| {
                Some(TagAssociation {
                    id: r.id,
                    contact_id: r.contact?,
                    tag_id: r.tag?,
                    added_at: r.cdate?,
                })
            })
            .collect();
        Ok(TagAssociationsPage {
            items,
            len,
            total: raw.meta.total,
            is_last: len < PAGE_SIZE,
        })
    }
}

#[derive(Deserialize)]
struct RawPage {
    #[serde(default, rename = "contactTags", deserialize_with = "decode::list")]
    contact_tags: Vec<RawAssociation>,
    #[serde(default)]
    meta: Meta,
}

#[derive(Deserialize)]
struct RawAssociation {
    #[serde(deserialize_with = "decode::id")]
    id: i64,
    #[serde(default, deserialize_with = "decode::opt_ref")]
    contact: Option<i64>,
    #[serde(default, deserialize_with = "decode::opt_ref")]
    tag: Option<i64>,
    #[serde(default, deserialize_with = "decode::timestamp")]
    cdate: Option<DateTime<Utc>>,
}

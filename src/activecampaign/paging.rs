//! Offset paging, the `meta` block, and the `filters[updated_after]` parameter.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::client::ApiClient;
use super::decode;
use super::error::ApiError;
use super::request::Call;

/// Records per request: the API's maximum, so that a pass costs as few requests as possible.
pub const PAGE_SIZE: usize = 100;

/// The part of a collection's `meta` block the client uses.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Meta {
    /// A string on most endpoints, a number on `/deals` and `/webhook/events`.
    #[serde(default, deserialize_with = "decode::opt_u64")]
    pub(crate) total: Option<u64>,
}

/// One decoded page of an offset-paged collection.
pub(crate) trait OffsetPage: DeserializeOwned {
    /// Records on this page (the short-page test counts these).
    fn len(&self) -> usize;
    /// The first record's id, to notice a server that ignores `offset`.
    fn first_id(&self) -> Option<i64>;
}

impl Call {
    /// Adds `filters[updated_after]` when a time is given.
    pub(crate) fn updated_after(self, since: Option<DateTime<Utc>>) -> Self {
        match since {
            Some(t) => self.param("filters[updated_after]", crate::time::format_filter_time(t)),
            None => self,
        }
    }

    /// Adds `limit` and `offset`.
    pub(crate) fn page(self, offset: u64) -> Self {
        self.param("limit", PAGE_SIZE).param("offset", offset)
    }
}

impl ApiClient {
    /// Reads every page of an offset-paged collection. Stops on a short page rather than on
    /// `meta.total`, which is sometimes a string, sometimes stale, and counts records the
    /// user may not see.
    pub(crate) async fn fetch_all_pages<P: OffsetPage>(
        &self,
        make_call: impl Fn() -> Call,
    ) -> Result<Vec<P>, ApiError> {
        let mut pages: Vec<P> = Vec::new();
        let mut offset = 0u64;
        loop {
            let call = make_call();
            let path = call.path.clone();
            let page: P = self.fetch(call.page(offset)).await?;
            let len = page.len();
            if let Some(previous) = pages.last() {
                // A server that ignores `offset` would otherwise be read forever.
                if len == PAGE_SIZE && page.first_id() == previous.first_id() {
                    return Err(ApiError::UnexpectedShape {
                        method: "GET".to_owned(),
                        path: self.display_path(&path),
                        detail: format!("offset {offset} returned the previous page again"),
                    });
                }
            }
            pages.push(page);
            if len < PAGE_SIZE {
                return Ok(pages);
            }
            offset += len as u64;
        }
    }
}

/// Declares the page type of a plain offset-paged collection: the records under `$key`,
/// each with an `id`.
macro_rules! offset_page {
    ($page:ident, $key:literal, $item:ty) => {
        #[derive(serde::Deserialize)]
        struct $page {
            #[serde(default, rename = $key, deserialize_with = "crate::activecampaign::decode::list")]
            items: Vec<$item>,
        }

        impl crate::activecampaign::paging::OffsetPage for $page {
            fn len(&self) -> usize {
                self.items.len()
            }

            fn first_id(&self) -> Option<i64> {
                self.items.first().map(|item| item.id)
            }
        }
    };
}
pub(crate) use offset_page;

//! The ActiveCampaign API v3 client used by reconciliation and `register-webhook`.
//!
//! The account's limit of 5 requests per second is shared with every other integration, so the
//! client is built to spend as few requests as possible: pages of 100, sideloads instead of
//! per-record reads, one token bucket for the whole process, a shared pause on `Retry-After`,
//! and retries only where another request can help.
//!
//! ```no_run
//! # async fn demo() -> Result<(), acmirror::activecampaign::ApiError> {
//! use acmirror::activecampaign::{ApiClient, ClientConfig};
//! let client = ApiClient::new(ClientConfig::new("https://acct.api-us1.com", "key".into()))?;
//! let page = client.contacts_page(0, None).await?;
//! println!("{} of {:?} contacts", page.contacts.len(), page.total);
//! # Ok(()) }
//! ```

mod campaigns;
mod client;
mod contacts;
mod crm;
mod deals;
pub(crate) mod decode;
mod dimensions;
mod error;
mod notes;
mod page_size;
mod paging;
mod request;
mod retry;
mod stats;
mod tag_feed;
mod throttle;
mod upstream_clock;
mod webhooks;

#[cfg(test)]
mod tests;

pub use campaigns::{Campaign, Message};
pub use client::{normalize_base_url, ApiClient, ClientConfig, DEFAULT_RATE_LIMIT};
pub use contacts::{Contact, ContactTag, ContactsPage, FieldValue, ListMembership};
pub use crm::{Account, AccountContact, CrmPage, CustomField, CustomFieldValue, DealContact};
pub use deals::{Deal, DealsPage};
pub use dimensions::{Field, FieldOption, Fields, List, Pipeline, Pipelines, Stage, Tag, User};
pub use error::ApiError;
pub use notes::{DealTask, Note, TaskType};
pub use page_size::PageSizer;
pub use paging::PAGE_SIZE;
pub use retry::RetryPolicy;
pub use stats::StatsSnapshot;
pub use tag_feed::{TagAssociation, TagAssociationsPage};
pub use webhooks::{NewWebhook, Webhook};

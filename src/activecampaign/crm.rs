//! The wider CRM records: accounts and their contacts, custom fields of deals and accounts,
//! deals' secondary contacts, campaigns and their messages. None of these collections
//! documents a filter by modification time, so full runs read them whole, a page of 100 at a
//! time.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::campaigns::{Campaign, Message};
use super::client::ApiClient;
use super::decode;
use super::error::ApiError;
use super::paging::{offset_page, Meta};
use super::request::Call;

/// A custom field definition of deals (`dealCustomFieldMeta`) or accounts
/// (`accountCustomFieldMeta`); both collections share the shape.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CustomField {
    /// ActiveCampaign's field id.
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// Label shown (`fieldLabel`).
    #[serde(default, rename = "fieldLabel", deserialize_with = "decode::text")]
    pub label: String,
    /// `fieldType`: text, textarea, date, datetime, dropdown, multiselect, radio, checkbox,
    /// currency, number, hidden…
    #[serde(default, rename = "fieldType", deserialize_with = "decode::opt_text")]
    pub field_type: Option<String>,
    /// The choices of a choice field (`fieldOptions`); empty for other types.
    #[serde(
        default,
        rename = "fieldOptions",
        deserialize_with = "decode::text_list"
    )]
    pub options: Vec<String>,
    /// Position on forms (`displayOrder`).
    #[serde(default, rename = "displayOrder", deserialize_with = "decode::opt_i64")]
    pub display_order: Option<i64>,
}

/// A custom field value of a deal (`dealCustomFieldData`) or an account
/// (`accountCustomFieldData`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CustomFieldValue {
    /// ActiveCampaign's id of the value record.
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// The deal (`dealId`) or account (`accountId`) it belongs to.
    #[serde(alias = "dealId", alias = "accountId", deserialize_with = "decode::id")]
    pub owner_id: i64,
    /// The field (`customFieldId`).
    #[serde(rename = "customFieldId", deserialize_with = "decode::id")]
    pub field_id: i64,
    /// The value as stored (`fieldValue`): currency amounts in cents, several choices as
    /// ActiveCampaign joins them.
    #[serde(default, rename = "fieldValue", deserialize_with = "decode::text")]
    pub value: String,
}

/// An account: what ActiveCampaign once called an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Account {
    /// ActiveCampaign's account id (a deal's `account`).
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// Name.
    #[serde(default, deserialize_with = "decode::text")]
    pub name: String,
    /// Web address (`accountUrl`).
    #[serde(default, rename = "accountUrl", deserialize_with = "decode::opt_text")]
    pub url: Option<String>,
    /// The owning user.
    #[serde(default, deserialize_with = "decode::opt_ref")]
    pub owner: Option<i64>,
    /// Creation time (`createdTimestamp`).
    #[serde(
        default,
        rename = "createdTimestamp",
        deserialize_with = "decode::timestamp"
    )]
    pub created: Option<DateTime<Utc>>,
    /// Last change (`updatedTimestamp`): the version to compare against.
    #[serde(
        default,
        rename = "updatedTimestamp",
        deserialize_with = "decode::timestamp"
    )]
    pub updated: Option<DateTime<Utc>>,
}

/// A contact's place at an account (`accountContacts`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccountContact {
    /// ActiveCampaign's id of the association.
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// The account.
    #[serde(deserialize_with = "decode::id")]
    pub account: i64,
    /// The contact.
    #[serde(deserialize_with = "decode::id")]
    pub contact: i64,
    /// Job title (`jobTitle`).
    #[serde(default, rename = "jobTitle", deserialize_with = "decode::opt_text")]
    pub job_title: Option<String>,
    /// Last change (`updatedTimestamp`).
    #[serde(
        default,
        rename = "updatedTimestamp",
        deserialize_with = "decode::timestamp"
    )]
    pub updated: Option<DateTime<Utc>>,
}

/// A secondary contact of a deal (`contactDeals`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DealContact {
    /// ActiveCampaign's id of the association.
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// The deal.
    #[serde(deserialize_with = "decode::id")]
    pub deal: i64,
    /// The contact.
    #[serde(deserialize_with = "decode::id")]
    pub contact: i64,
    /// The contact's role on the deal (a deal role id), when set.
    #[serde(default, deserialize_with = "decode::opt_ref")]
    pub role: Option<i64>,
    /// When the contact was added.
    #[serde(default, deserialize_with = "decode::timestamp")]
    pub cdate: Option<DateTime<Utc>>,
}

/// One page of a CRM collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmPage<T> {
    /// Up to [`super::PAGE_SIZE`] records.
    pub items: Vec<T>,
    /// `meta.total`, for progress only.
    pub total: Option<u64>,
    /// True when this page was short: there is no next page.
    pub is_last: bool,
    /// When ActiveCampaign served the page, by its own clock.
    pub served_at: DateTime<Utc>,
}

macro_rules! crm_page {
    ($page:ident, $key:literal, $item:ty) => {
        #[derive(Deserialize)]
        struct $page {
            #[serde(default, rename = $key, deserialize_with = "decode::list")]
            items: Vec<$item>,
            #[serde(default)]
            meta: Meta,
        }
    };
}

crm_page!(AccountsPage, "accounts", Account);
crm_page!(AccountContactsPage, "accountContacts", AccountContact);
crm_page!(DealValuesPage, "dealCustomFieldData", CustomFieldValue);
crm_page!(
    AccountValuesPage,
    "accountCustomFieldData",
    CustomFieldValue
);
crm_page!(DealContactsPage, "contactDeals", DealContact);
crm_page!(CampaignsPage, "campaigns", Campaign);
crm_page!(MessagesPage, "messages", Message);
offset_page!(DealFieldsPage, "dealCustomFieldMeta", CustomField);
offset_page!(AccountFieldsPage, "accountCustomFieldMeta", CustomField);

/// Reads one offset page of `path` whose records are under the page type's key.
macro_rules! read_page {
    ($client:expr, $page:ident, $path:literal, $offset:expr) => {{
        let (raw, served_at): ($page, _) =
            $client.fetch_dated(Call::get($path).page($offset)).await?;
        Ok(CrmPage {
            is_last: raw.items.len() < super::PAGE_SIZE,
            total: raw.meta.total,
            items: raw.items,
            served_at,
        })
    }};
}

impl ApiClient {
    /// Every deal custom field definition.
    pub async fn deal_fields(&self) -> Result<Vec<CustomField>, ApiError> {
        let pages: Vec<DealFieldsPage> = self
            .fetch_all_pages(|| Call::get("dealCustomFieldMeta"))
            .await?;
        Ok(pages.into_iter().flat_map(|p| p.items).collect())
    }

    /// Every account custom field definition.
    pub async fn account_fields(&self) -> Result<Vec<CustomField>, ApiError> {
        let pages: Vec<AccountFieldsPage> = self
            .fetch_all_pages(|| Call::get("accountCustomFieldMeta"))
            .await?;
        Ok(pages.into_iter().flat_map(|p| p.items).collect())
    }

    /// One page of accounts at `offset`. One request.
    pub async fn accounts_page(&self, offset: u64) -> Result<CrmPage<Account>, ApiError> {
        read_page!(self, AccountsPage, "accounts", offset)
    }

    /// One page of account contacts at `offset`. One request.
    pub async fn account_contacts_page(
        &self,
        offset: u64,
    ) -> Result<CrmPage<AccountContact>, ApiError> {
        read_page!(self, AccountContactsPage, "accountContacts", offset)
    }

    /// One page of account custom field values at `offset`. One request.
    pub async fn account_values_page(
        &self,
        offset: u64,
    ) -> Result<CrmPage<CustomFieldValue>, ApiError> {
        read_page!(self, AccountValuesPage, "accountCustomFieldData", offset)
    }

    /// One page of deal custom field values at `offset`. One request.
    pub async fn deal_values_page(
        &self,
        offset: u64,
    ) -> Result<CrmPage<CustomFieldValue>, ApiError> {
        read_page!(self, DealValuesPage, "dealCustomFieldData", offset)
    }

    /// One page of deals' secondary contacts at `offset`. One request.
    pub async fn deal_contacts_page(&self, offset: u64) -> Result<CrmPage<DealContact>, ApiError> {
        read_page!(self, DealContactsPage, "contactDeals", offset)
    }

    /// One page of campaigns at `offset`. One request.
    pub async fn campaigns_page(&self, offset: u64) -> Result<CrmPage<Campaign>, ApiError> {
        read_page!(self, CampaignsPage, "campaigns", offset)
    }

    /// One page of campaign messages at `offset` (their envelopes; the bodies are not kept).
    /// One request.
    pub async fn messages_page(&self, offset: u64) -> Result<CrmPage<Message>, ApiError> {
        read_page!(self, MessagesPage, "messages", offset)
    }

    /// One account; `None` if it does not exist.
    pub async fn account(&self, id: i64) -> Result<Option<Account>, ApiError> {
        #[derive(Deserialize)]
        struct One {
            account: Account,
        }
        let call = Call::get(format!("accounts/{id}"));
        Ok(self.fetch_optional::<One>(call).await?.map(|o| o.account))
    }
}

impl<T> CrmPage<T> {
    /// The number of records on the page.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the page holds no record.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

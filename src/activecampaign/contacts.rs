//! Contacts with their tags, custom field values and list memberships.
//!
//! One keyset page of 100 contacts costs one request: the tags, values and memberships come
//! along as sideloads (`include=`), so reconciliation never has to ask per contact.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::client::ApiClient;
use super::decode;
use super::error::ApiError;
use super::paging::{Meta, PAGE_SIZE};
use super::request::Call;

/// The sideloads that make a contact complete in one request.
const INCLUDE: &str = "contactTags.tag,fieldValues,contactLists";

/// A contact with everything the mirror keeps about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// ActiveCampaign's contact id.
    pub id: i64,
    /// E-mail address (`""` if none).
    pub email: String,
    /// `firstName` (`""` if none).
    pub first_name: String,
    /// `lastName` (`""` if none).
    pub last_name: String,
    /// Phone as entered (`""` if none).
    pub phone: String,
    /// Creation time (`cdate`).
    pub cdate: Option<DateTime<Utc>>,
    /// Last change of the contact's own fields (`udate`); the version to compare against.
    pub udate: Option<DateTime<Utc>>,
    /// Tags the contact has, by tag id, in id order.
    pub tags: Vec<ContactTag>,
    /// Custom field values by field id.
    pub field_values: BTreeMap<i64, FieldValue>,
    /// List memberships by list id.
    pub lists: BTreeMap<i64, ListMembership>,
}

/// One tag on a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactTag {
    /// The tag's id.
    pub tag_id: i64,
    /// The tag's name when the response carried it (the sideloaded `tags`); `None` when the
    /// tag was deleted or the endpoint does not sideload names.
    pub name: Option<String>,
    /// When the tag was added (`cdate` of the association).
    pub added_at: Option<DateTime<Utc>>,
}

/// A custom field value of a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldValue {
    /// The value as ActiveCampaign sends it (`||A||B||` for multi-value fields).
    pub value: String,
    /// Last change of this value (`udate`).
    pub udate: Option<DateTime<Utc>>,
}

/// A contact's membership of one list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListMembership {
    /// 0 unconfirmed, 1 active, 2 unsubscribed, 3 bounced (91 removed).
    pub status: i32,
    /// Subscribe time (`sdate`).
    pub sdate: Option<DateTime<Utc>>,
    /// Unsubscribe time (`udate`); `None` while subscribed.
    pub udate: Option<DateTime<Utc>>,
    /// Last change of the membership (`updated_timestamp`, account wall time).
    pub updated_at: Option<DateTime<Utc>>,
    /// Why the contact unsubscribed (`unsubreason`), when it says.
    pub unsubscribe_reason: Option<String>,
}

/// One keyset page of contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactsPage {
    /// Up to [`PAGE_SIZE`] contacts, ascending by id.
    pub contacts: Vec<Contact>,
    /// Names of the tags sideloaded with this page, by tag id.
    pub tags: BTreeMap<i64, String>,
    /// `meta.total`: contacts matching the query in all, for progress and ETA.
    pub total: Option<u64>,
    /// The highest id on the page: the `after_id` of the next page and the resume point.
    pub last_id: Option<i64>,
    /// True when this page was short, i.e. there is no next page.
    pub is_last: bool,
    /// When ActiveCampaign served the page, by its own clock (the response's `Date`): the
    /// page shows every contact as it was at about that time.
    pub served_at: DateTime<Utc>,
}

impl ApiClient {
    /// One page of contacts with ids above `after_id` (0 to start), ascending by id, with
    /// their tags, field values and list memberships; optionally only those updated after
    /// `updated_after` (the caller subtracts its own overlap). One request.
    pub async fn contacts_page(
        &self,
        after_id: i64,
        updated_after: Option<DateTime<Utc>>,
    ) -> Result<ContactsPage, ApiError> {
        self.contacts_page_at(after_id, updated_after, PAGE_SIZE, false)
            .await
    }

    /// [`ApiClient::contacts_page`] with `limit` contacts (1 to [`PAGE_SIZE`]). Above one
    /// contact, a timeout or a cut-off body fails at once with [`ApiError::PageTooHeavy`]
    /// instead of being retried, so that the caller can ask for fewer (see
    /// [`super::PageSizer`]); a single contact is retried as usual.
    pub async fn contacts_page_sized(
        &self,
        after_id: i64,
        updated_after: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<ContactsPage, ApiError> {
        self.contacts_page_at(after_id, updated_after, limit, limit > 1)
            .await
    }

    async fn contacts_page_at(
        &self,
        after_id: i64,
        updated_after: Option<DateTime<Utc>>,
        limit: usize,
        shrinkable: bool,
    ) -> Result<ContactsPage, ApiError> {
        let limit = limit.clamp(1, PAGE_SIZE);
        let mut call = Call::get("contacts")
            .param("orders[id]", "ASC")
            .param("id_greater", after_id)
            .param("limit", limit)
            .param("include", INCLUDE)
            .updated_after(updated_after);
        if shrinkable {
            call = call.shrinkable();
        }
        let (raw, served_at): (RawContacts, _) = self.fetch_dated(call).await?;
        let total = raw.meta.total;
        let (contacts, tags) = raw.sideloads.attach(raw.contacts);
        if let Some(stray) = contacts.iter().find(|c| c.id <= after_id) {
            // Without this check a server ignoring `id_greater` would be paged forever.
            return Err(ApiError::UnexpectedShape {
                method: "GET".to_owned(),
                path: self.display_path("contacts"),
                detail: format!("id_greater={after_id} returned contact {}", stray.id),
            });
        }
        Ok(ContactsPage {
            is_last: contacts.len() < limit,
            last_id: contacts.iter().map(|c| c.id).max(),
            contacts,
            tags,
            total,
            served_at,
        })
    }

    /// One contact with its tags, field values and list memberships; `None` if it does not
    /// exist (deleted upstream).
    pub async fn contact(&self, id: i64) -> Result<Option<Contact>, ApiError> {
        let call = Call::get(format!("contacts/{id}")).param("include", INCLUDE);
        let Some(raw) = self.fetch_optional::<RawOneContact>(call).await? else {
            return Ok(None);
        };
        let (mut contacts, _) = raw.sideloads.attach(vec![raw.contact]);
        Ok(contacts.pop())
    }

    /// The tags of one contact, without names; `None` if the contact does not exist. This
    /// endpoint returns every association at once (it ignores paging).
    pub async fn contact_tags(&self, id: i64) -> Result<Option<Vec<ContactTag>>, ApiError> {
        let call = Call::get(format!("contacts/{id}/contactTags"));
        let Some(raw) = self.fetch_optional::<RawTagsOnly>(call).await? else {
            return Ok(None);
        };
        let mut tags: Vec<ContactTag> = raw
            .contact_tags
            .into_iter()
            .filter_map(|t| t.into_tag(None))
            .collect();
        tags.sort_by_key(|t| t.tag_id);
        tags.dedup_by_key(|t| t.tag_id);
        Ok(Some(tags))
    }
}

#[derive(Deserialize)]
struct RawContacts {
    #[serde(default, deserialize_with = "decode::list")]
    contacts: Vec<RawContact>,
    #[serde(flatten)]
    sideloads: Sideloads,
    #[serde(default)]
    meta: Meta,
}

#[derive(Deserialize)]
struct RawOneContact {
    contact: RawContact,
    #[serde(flatten)]
    sideloads: Sideloads,
}

#[derive(Deserialize)]
struct RawTagsOnly {
    #[serde(default, rename = "contactTags", deserialize_with = "decode::list")]
    contact_tags: Vec<RawContactTag>,
}

#[derive(Deserialize)]
struct RawContact {
    #[serde(deserialize_with = "decode::id")]
    id: i64,
    #[serde(default, deserialize_with = "decode::text")]
    email: String,
    #[serde(default, rename = "firstName", deserialize_with = "decode::text")]
    first_name: String,
    #[serde(default, rename = "lastName", deserialize_with = "decode::text")]
    last_name: String,
    #[serde(default, deserialize_with = "decode::text")]
    phone: String,
    #[serde(default, deserialize_with = "decode::timestamp")]
    cdate: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "decode::timestamp")]
    udate: Option<DateTime<Utc>>,
}

/// The sideloaded arrays of a contacts response.
#[derive(Deserialize)]
struct Sideloads {
    #[serde(default, rename = "contactTags", deserialize_with = "decode::list")]
    contact_tags: Vec<RawContactTag>,
    #[serde(default, deserialize_with = "decode::list")]
    tags: Vec<RawTagName>,
    #[serde(default, rename = "fieldValues", deserialize_with = "decode::list")]
    field_values: Vec<RawFieldValue>,
    #[serde(default, rename = "contactLists", deserialize_with = "decode::list")]
    contact_lists: Vec<RawContactList>,
}

#[derive(Deserialize)]
struct RawContactTag {
    #[serde(default, deserialize_with = "decode::opt_ref")]
    contact: Option<i64>,
    #[serde(default, deserialize_with = "decode::opt_ref")]
    tag: Option<i64>,
    #[serde(default, deserialize_with = "decode::timestamp")]
    cdate: Option<DateTime<Utc>>,
}

impl RawContactTag {
    /// `None` for an association that names no tag.
    fn into_tag(self, name: Option<String>) -> Option<ContactTag> {
        Some(ContactTag {
            tag_id: self.tag?,
            name,
            added_at: self.cdate,
        })
    }
}

#[derive(Deserialize)]
struct RawTagName {
    #[serde(deserialize_with = "decode::id")]
    id: i64,
    #[serde(default, deserialize_with = "decode::text")]
    tag: String,
}

#[derive(Deserialize)]
struct RawFieldValue {
    #[serde(default, deserialize_with = "decode::opt_ref")]
    contact: Option<i64>,
    #[serde(default, deserialize_with = "decode::opt_ref")]
    field: Option<i64>,
    #[serde(default, deserialize_with = "decode::text")]
    value: String,
    #[serde(default, deserialize_with = "decode::timestamp")]
    udate: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct RawContactList {
    #[serde(default, deserialize_with = "decode::opt_ref")]
    contact: Option<i64>,
    #[serde(default, deserialize_with = "decode::opt_ref")]
    list: Option<i64>,
    #[serde(default, deserialize_with = "decode::opt_i32")]
    status: Option<i32>,
    #[serde(default, deserialize_with = "decode::timestamp")]
    sdate: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "decode::timestamp")]
    udate: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "decode::timestamp")]
    updated_timestamp: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "decode::opt_text")]
    unsubreason: Option<String>,
}

impl Sideloads {
    /// Distributes the sideloaded records onto their contacts (records of contacts not on the
    /// page, or lacking ids, are dropped) and returns the tag names.
    fn attach(self, raw: Vec<RawContact>) -> (Vec<Contact>, BTreeMap<i64, String>) {
        let names: BTreeMap<i64, String> = self.tags.into_iter().map(|t| (t.id, t.tag)).collect();
        let mut contacts: Vec<Contact> = raw.into_iter().map(Contact::bare).collect();
        let index: HashMap<i64, usize> = contacts
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();
        let slot = |contact: Option<i64>| contact.and_then(|id| index.get(&id).copied());
        for ct in self.contact_tags {
            let name = ct.tag.and_then(|id| names.get(&id).cloned());
            if let (Some(i), Some(tag)) = (slot(ct.contact), ct.into_tag(name)) {
                contacts[i].tags.push(tag);
            }
        }
        for fv in self.field_values {
            if let (Some(i), Some(field)) = (slot(fv.contact), fv.field) {
                let value = FieldValue {
                    value: fv.value,
                    udate: fv.udate,
                };
                contacts[i].field_values.insert(field, value);
            }
        }
        for cl in self.contact_lists {
            if let (Some(i), Some(list), Some(status)) = (slot(cl.contact), cl.list, cl.status) {
                let membership = ListMembership {
                    status,
                    sdate: cl.sdate,
                    udate: cl.udate,
                    updated_at: cl.updated_timestamp,
                    unsubscribe_reason: cl.unsubreason.filter(|r| !r.trim().is_empty()),
                };
                contacts[i].lists.insert(list, membership);
            }
        }
        for contact in &mut contacts {
            contact.tags.sort_by_key(|t| t.tag_id);
            contact.tags.dedup_by_key(|t| t.tag_id);
        }
        (contacts, names)
    }
}

impl Contact {
    fn bare(raw: RawContact) -> Self {
        Self {
            id: raw.id,
            email: raw.email,
            first_name: raw.first_name,
            last_name: raw.last_name,
            phone: raw.phone,
            cdate: raw.cdate,
            udate: raw.udate,
            tags: Vec::new(),
            field_values: BTreeMap::new(),
            lists: BTreeMap::new(),
        }
    }
}

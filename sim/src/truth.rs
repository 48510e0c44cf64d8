//! A backend-neutral picture of an account's state in the shape of the reporting schema.
//!
//! The simulator renders its ground truth as a [`Snapshot`], the mirror renders its tables as
//! one too, and [`diff`] lists every difference. Tests, `demo` and `verify` rely on it to prove
//! that the mirror converged. Only what reconciliation can repair is compared: contacts and
//! their tags, custom field values and list memberships, deals with their account, custom
//! field values and secondary contacts, the dimension tables, deal notes, contact notes, deal
//! tasks, accounts with their custom field values, the contacts at accounts, and (once a run
//! has read them) campaigns and messages.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// A contact as the reporting schema shows it. Empty strings are normalised to `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactTruth {
    /// `contacts.email`
    pub email: Option<String>,
    /// `contacts.first_name`
    pub first_name: Option<String>,
    /// `contacts.last_name`
    pub last_name: Option<String>,
    /// `contacts.phone`
    pub phone: Option<String>,
    /// Names of the tags the contact has now (`contact_tags.tag`).
    pub tags: BTreeSet<String>,
    /// Non-empty custom field values by field id (`contact_field_values`).
    pub field_values: BTreeMap<i64, String>,
    /// List memberships: list id to status (`contact_lists`).
    pub lists: BTreeMap<i64, i32>,
    /// When the contact subscribed to and unsubscribed from each list, and why.
    #[serde(default)]
    pub list_times: BTreeMap<i64, ListTimes>,
    /// When each of its tags was added, Unix seconds (`contact_tags.added_at`).
    #[serde(default)]
    pub tag_times: BTreeMap<String, i64>,
}

/// A membership's times (Unix seconds) and unsubscribe reason (`contact_lists`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListTimes {
    /// `contact_lists.subscribed_at`
    pub subscribed_at: Option<i64>,
    /// `contact_lists.unsubscribed_at`
    pub unsubscribed_at: Option<i64>,
    /// `contact_lists.unsubscribe_reason`
    pub reason: Option<String>,
}

/// A deal as the reporting schema shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealTruth {
    /// `deals.title`
    pub title: Option<String>,
    /// `deals.value_cents`
    pub value_cents: Option<i64>,
    /// `deals.currency`, lower case.
    pub currency: Option<String>,
    /// `deals.pipeline_id`
    pub pipeline_id: Option<i64>,
    /// `deals.stage_id`
    pub stage_id: Option<i64>,
    /// `deals.owner_id`
    pub owner_id: Option<i64>,
    /// `deals.contact_id`
    pub contact_id: Option<i64>,
    /// `deals.status`: 0 open, 1 won, 2 lost.
    pub status: Option<i32>,
    /// `deals.account_id`
    #[serde(default)]
    pub account_id: Option<i64>,
}

/// A secondary contact of a deal (`deal_contacts`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealContactTruth {
    /// `deal_contacts.deal_id`
    pub deal_id: i64,
    /// `deal_contacts.contact_id`
    pub contact_id: i64,
    /// `deal_contacts.role_id`
    pub role_id: Option<i64>,
}

/// An account (`accounts`). Its owner is left out: only full runs learn it, since the account
/// webhooks do not carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountTruth {
    /// `accounts.name`
    pub name: String,
    /// `accounts.url`
    pub url: Option<String>,
    /// Non-empty custom field values by field id (`account_field_values`).
    pub field_values: BTreeMap<i64, String>,
}

/// A contact at an account (`account_contacts`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountContactTruth {
    /// `account_contacts.account_id`
    pub account_id: i64,
    /// `account_contacts.contact_id`
    pub contact_id: i64,
    /// `account_contacts.job_title`
    pub job_title: Option<String>,
}

/// A custom field of deals or accounts (`deal_fields`, `account_fields`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomFieldTruth {
    /// `label`
    pub label: String,
    /// `field_type`
    pub field_type: Option<String>,
    /// `options`: a JSON array of the choices.
    pub options: Option<String>,
}

/// A custom contact field definition (`fields`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldTruth {
    /// `fields.title`
    pub title: String,
    /// `fields.perstag`
    pub perstag: Option<String>,
    /// `fields.type`
    pub field_type: Option<String>,
}

/// A deal stage (`stages`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTruth {
    /// `stages.pipeline_id`
    pub pipeline_id: Option<i64>,
    /// `stages.title`
    pub title: String,
}

/// An option of a choice field (`field_options`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldOptionTruth {
    /// `field_options.field_id`
    pub field_id: i64,
    /// `field_options.value`
    pub value: String,
    /// `field_options.label`
    pub label: String,
    /// `field_options.ordernum`
    pub ordernum: Option<i64>,
}

/// An account user (`users`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTruth {
    /// `users.username`
    pub username: String,
    /// `users.first_name`
    pub first_name: String,
    /// `users.last_name`
    pub last_name: String,
    /// `users.email`
    pub email: String,
}

/// A campaign (`campaigns`). Times are Unix seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignTruth {
    /// `campaigns.name`
    pub name: String,
    /// `campaigns.campaign_type`
    pub campaign_type: Option<String>,
    /// `campaigns.status`
    pub status: Option<i32>,
    /// `campaigns.message_id`
    pub message_id: Option<i64>,
    /// `campaigns.sent_at`
    pub sent_at: Option<i64>,
    /// `campaigns.last_sent_at`
    pub last_sent_at: Option<i64>,
    /// `campaigns.send_amount`
    pub send_amount: Option<i64>,
    /// `campaigns.created_at`
    pub created_at: Option<i64>,
    /// `campaigns.updated_at`
    pub updated_at: Option<i64>,
}

/// A campaign message (`messages`). Times are Unix seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageTruth {
    /// `messages.name`
    pub name: String,
    /// `messages.subject`
    pub subject: String,
    /// `messages.from_name`
    pub from_name: String,
    /// `messages.from_email`
    pub from_email: String,
    /// `messages.created_at`
    pub created_at: Option<i64>,
    /// `messages.updated_at`
    pub updated_at: Option<i64>,
}

/// A deal note (`deal_notes`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteTruth {
    /// `deal_notes.deal_id`
    pub deal_id: i64,
    /// `deal_notes.note`
    pub note: String,
}

/// A deal task (`deal_tasks`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskTruth {
    /// `deal_tasks.deal_id`
    pub deal_id: i64,
    /// `deal_tasks.task_type`: the type's title.
    pub task_type: Option<String>,
    /// `deal_tasks.title`
    pub title: Option<String>,
    /// `deal_tasks.note`
    pub note: Option<String>,
    /// `deal_tasks.due_at` as Unix seconds.
    pub due: Option<i64>,
    /// Whether `deal_tasks.done_at` is set. The API gives no completion time, so only
    /// completion itself is compared.
    pub done: bool,
}

/// Everything the comparison looks at. Deleted contacts and deals are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Live contacts by id.
    pub contacts: BTreeMap<i64, ContactTruth>,
    /// Live deals by id.
    pub deals: BTreeMap<i64, DealTruth>,
    /// Contact tags: name to ActiveCampaign id.
    pub tags: BTreeMap<String, i64>,
    /// Lists: id to name.
    pub lists: BTreeMap<i64, String>,
    /// Custom contact fields by id.
    pub fields: BTreeMap<i64, FieldTruth>,
    /// Pipelines: id to title.
    pub pipelines: BTreeMap<i64, String>,
    /// Stages by id.
    pub stages: BTreeMap<i64, StageTruth>,
    /// Users by id.
    #[serde(default)]
    pub users: BTreeMap<i64, UserTruth>,
    /// Options of choice fields by id.
    #[serde(default)]
    pub field_options: BTreeMap<i64, FieldOptionTruth>,
    /// Live deal notes by ActiveCampaign id.
    #[serde(default)]
    pub deal_notes: BTreeMap<i64, NoteTruth>,
    /// Live contact notes: contact id to the sorted texts (webhooks carry no note id, so
    /// contact notes are compared by content).
    #[serde(default)]
    pub contact_notes: BTreeMap<i64, Vec<String>>,
    /// Live deal tasks by ActiveCampaign id.
    #[serde(default)]
    pub deal_tasks: BTreeMap<i64, TaskTruth>,
    /// Live accounts by id.
    #[serde(default)]
    pub accounts: BTreeMap<i64, AccountTruth>,
    /// Contacts at accounts by association id.
    #[serde(default)]
    pub account_contacts: BTreeMap<i64, AccountContactTruth>,
    /// Deal custom fields by id.
    #[serde(default)]
    pub deal_fields: BTreeMap<i64, CustomFieldTruth>,
    /// Account custom fields by id.
    #[serde(default)]
    pub account_fields: BTreeMap<i64, CustomFieldTruth>,
    /// Non-empty custom field values of live deals, by [`value_key`] of deal and field.
    #[serde(default)]
    pub deal_field_values: BTreeMap<String, String>,
    /// Secondary contacts of live deals by association id.
    #[serde(default)]
    pub deal_contacts: BTreeMap<i64, DealContactTruth>,
    /// Campaigns by id.
    #[serde(default)]
    pub campaigns: BTreeMap<i64, CampaignTruth>,
    /// Campaign messages by id.
    #[serde(default)]
    pub messages: BTreeMap<i64, MessageTruth>,
    /// Whether `campaigns` and `messages` hold the account's: always for the truth; for a
    /// mirror, once a reconciliation over the whole account has succeeded, since only the
    /// first run and full runs read them (until then they hold only what deliveries named, and
    /// are not compared).
    #[serde(default)]
    pub campaigns_read: bool,
}

impl Snapshot {
    /// The records a full run reads from the CRM collections: accounts, their custom field
    /// values and contacts, deals' custom field values and secondary contacts.
    pub fn crm_records(&self) -> usize {
        self.accounts.len()
            + self
                .accounts
                .values()
                .map(|a| a.field_values.len())
                .sum::<usize>()
            + self.account_contacts.len()
            + self.deal_field_values.len()
            + self.deal_contacts.len()
    }
}

/// The key of a custom field value: `<owner id>/<field id>`.
pub fn value_key(owner: i64, field: i64) -> String {
    format!("{owner}/{field}")
}

/// One way in which the mirror differs from the truth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The table the difference is in (`contacts`, `deals`, `tags`, …).
    pub table: &'static str,
    /// The row's key.
    pub key: String,
    /// What differs, in words.
    pub what: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.table, self.key, self.what)
    }
}

/// Normalises an optional string the way the comparison sees it: empty means absent.
pub fn norm(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// Lists every difference between `mirror` and `truth`. Tags known only to the mirror
/// (learned from webhooks, never seen upstream) are not differences.
pub fn diff(mirror: &Snapshot, truth: &Snapshot) -> Vec<Difference> {
    let mut out = Vec::new();
    diff_map(&mut out, "contacts", &mirror.contacts, &truth.contacts);
    diff_map(&mut out, "deals", &mirror.deals, &truth.deals);
    diff_map(&mut out, "lists", &mirror.lists, &truth.lists);
    diff_map(&mut out, "fields", &mirror.fields, &truth.fields);
    diff_map(&mut out, "pipelines", &mirror.pipelines, &truth.pipelines);
    diff_map(&mut out, "stages", &mirror.stages, &truth.stages);
    diff_map(&mut out, "users", &mirror.users, &truth.users);
    diff_map(
        &mut out,
        "field_options",
        &mirror.field_options,
        &truth.field_options,
    );
    diff_map(
        &mut out,
        "deal_notes",
        &mirror.deal_notes,
        &truth.deal_notes,
    );
    diff_map(
        &mut out,
        "contact_notes",
        &mirror.contact_notes,
        &truth.contact_notes,
    );
    diff_map(
        &mut out,
        "deal_tasks",
        &mirror.deal_tasks,
        &truth.deal_tasks,
    );
    diff_map(&mut out, "accounts", &mirror.accounts, &truth.accounts);
    diff_map(
        &mut out,
        "account_contacts",
        &mirror.account_contacts,
        &truth.account_contacts,
    );
    diff_map(
        &mut out,
        "deal_fields",
        &mirror.deal_fields,
        &truth.deal_fields,
    );
    diff_map(
        &mut out,
        "account_fields",
        &mirror.account_fields,
        &truth.account_fields,
    );
    diff_map(
        &mut out,
        "deal_field_values",
        &mirror.deal_field_values,
        &truth.deal_field_values,
    );
    diff_map(
        &mut out,
        "deal_contacts",
        &mirror.deal_contacts,
        &truth.deal_contacts,
    );
    if mirror.campaigns_read && truth.campaigns_read {
        diff_map(&mut out, "campaigns", &mirror.campaigns, &truth.campaigns);
        diff_map(&mut out, "messages", &mirror.messages, &truth.messages);
    }
    for (name, id) in &truth.tags {
        match mirror.tags.get(name) {
            Some(m) if m == id => {}
            Some(m) => out.push(Difference {
                table: "tags",
                key: name.clone(),
                what: format!("id {m} in the mirror, {id} upstream"),
            }),
            None => out.push(Difference {
                table: "tags",
                key: name.clone(),
                what: "missing from the mirror".into(),
            }),
        }
    }
    out
}

fn diff_map<K, V>(
    out: &mut Vec<Difference>,
    table: &'static str,
    mirror: &BTreeMap<K, V>,
    truth: &BTreeMap<K, V>,
) where
    K: Ord + fmt::Display,
    V: PartialEq + fmt::Debug,
{
    for (key, want) in truth {
        match mirror.get(key) {
            None => out.push(Difference {
                table,
                key: key.to_string(),
                what: "missing from the mirror".into(),
            }),
            Some(have) if have != want => out.push(Difference {
                table,
                key: key.to_string(),
                what: format!("mirror has {have:?}, upstream has {want:?}"),
            }),
            Some(_) => {}
        }
    }
    for key in mirror.keys() {
        if !truth.contains_key(key) {
            out.push(Difference {
                table,
                key: key.to_string(),
                what: "present in the mirror, gone upstream".into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_snapshots_have_no_differences() {
        let mut s = Snapshot::default();
        s.contacts.insert(1, ContactTruth::default());
        s.tags.insert("vip".into(), 4);
        assert!(diff(&s, &s.clone()).is_empty());
    }

    #[test]
    fn missing_extra_and_changed_rows_are_each_reported() {
        let mut truth = Snapshot::default();
        truth.contacts.insert(1, ContactTruth::default());
        truth.contacts.insert(2, ContactTruth::default());
        let mut mirror = truth.clone();
        mirror.contacts.remove(&1);
        mirror.contacts.insert(3, ContactTruth::default());
        mirror.contacts.get_mut(&2).expect("inserted above").email = Some("x@example.com".into());
        let d = diff(&mirror, &truth);
        assert_eq!(d.len(), 3, "{d:?}");
    }
}

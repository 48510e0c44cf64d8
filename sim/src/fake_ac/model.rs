//! The records the simulated account holds. Times are Unix seconds.

use std::collections::BTreeMap;

/// A contact with everything the mirror tracks about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Contact {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    /// `0.0.0.0` for contacts created by a user or the API, as ActiveCampaign sends it.
    pub ip: String,
    pub cdate: i64,
    pub udate: i64,
    /// Last change of anything about the contact, its tags, values and lists included: what
    /// orders its changes when `udate` stays frozen (`Realism::frozen_udate`).
    pub touched: i64,
    /// Tag id to the time the tag was applied.
    pub tags: BTreeMap<i64, i64>,
    /// Field id to value; a cleared field keeps its row with an empty value.
    pub fields: BTreeMap<i64, FieldValue>,
    /// List id to membership.
    pub lists: BTreeMap<i64, ListSub>,
}

/// A custom field value of a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldValue {
    pub value: String,
    pub cdate: i64,
    pub udate: i64,
}

/// A contact's membership of one list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListSub {
    /// 0 unconfirmed, 1 active, 2 unsubscribed, 3 bounced.
    pub status: i32,
    /// When the contact subscribed.
    pub sdate: i64,
    /// When the membership row last changed.
    pub updated: i64,
    /// When the contact unsubscribed, while unsubscribed.
    pub unsub_date: Option<i64>,
    /// Why, when the contact said (empty otherwise).
    pub reason: String,
}

/// A deal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Deal {
    pub id: i64,
    pub title: String,
    /// Value in cents, as API v3 gives it.
    pub value_cents: i64,
    /// Lower-case ISO code.
    pub currency: String,
    pub pipeline: i64,
    pub stage: i64,
    pub owner: i64,
    /// Primary contact; 0 for none.
    pub contact: i64,
    /// 0 open, 1 won, 2 lost.
    pub status: i32,
    pub cdate: i64,
    pub mdate: i64,
    /// The account (organisation) the deal is for; 0 for none.
    pub account: i64,
    /// Custom field values by deal field id; an unset field has no entry.
    pub fields: BTreeMap<i64, String>,
    /// Secondary contacts (`contactDeals`) by association id: contact id and role id.
    pub secondary: BTreeMap<i64, (i64, Option<i64>)>,
}

impl Deal {
    /// `winProbability`: how far along its pipeline the deal's stage is, in percent; none
    /// for a stage of no known pipeline.
    pub(crate) fn win_probability(&self) -> Option<i32> {
        let pipeline = super::catalog::pipeline(self.pipeline)?;
        let at = pipeline
            .stages
            .iter()
            .position(|(id, _)| *id == self.stage)?;
        Some(((at + 1) * 100 / (pipeline.stages.len() + 1)) as i32)
    }
}

/// An account (organisation), served by `/accounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Company {
    pub id: i64,
    pub name: String,
    /// Empty when the account has no web address.
    pub url: String,
    pub owner: i64,
    pub cdate: i64,
    pub udate: i64,
    /// Custom field values by account field id; an unset field has no entry.
    pub fields: BTreeMap<i64, String>,
}

/// A contact's place at an account (`accountContacts`, whose id is the contact's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompanyLink {
    pub account: i64,
    pub job_title: String,
    pub udate: i64,
}

/// A deal task, served by `/dealTasks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Task {
    pub id: i64,
    pub deal: i64,
    pub type_id: i64,
    pub title: String,
    pub note: String,
    pub due: i64,
    pub done: Option<i64>,
    pub cdate: i64,
    /// Last change (creation, completion, edit).
    pub udate: i64,
}

/// What a note is attached to (`reltype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoteOwner {
    /// `Deal`, `relid` a deal id.
    Deal,
    /// `Subscriber`, `relid` a contact id.
    Contact,
}

/// A note on a deal or a contact, served by `/notes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note {
    pub id: i64,
    pub owner: NoteOwner,
    pub relid: i64,
    pub text: String,
    pub cdate: i64,
    /// Last edit.
    pub mdate: i64,
}

/// Task types (`task[type_id]`, `task[type_title]`).
pub(crate) const TASK_TYPES: &[(i64, &str)] = &[(1, "Call"), (2, "Email"), (3, "Meeting")];

/// Ids of a contact's association rows, derived from the pair so that no table of them is kept.
pub(crate) mod assoc {
    /// `contactTags` id of (contact, tag).
    pub(crate) fn contact_tag(contact: i64, tag: i64) -> i64 {
        contact * 64 + tag
    }
    /// `fieldValues` id of (contact, field); field ids stay below 256, heavy accounts included.
    pub(crate) fn field_value(contact: i64, field: i64) -> i64 {
        contact * 256 + field
    }
    /// `contactDeals` id of a base deal's `slot`-th secondary contact (fewer than 8); later
    /// ones are numbered from [`FIRST_NEW_DEAL_CONTACT`].
    pub(crate) fn deal_contact(deal: i64, slot: usize) -> i64 {
        deal * 8 + slot as i64
    }
    /// The first `contactDeals` id the driver gives out.
    pub(crate) const FIRST_NEW_DEAL_CONTACT: i64 = 1 << 40;
    /// `dealCustomFieldData` id of (deal, field).
    pub(crate) fn deal_value(deal: i64, field: i64) -> i64 {
        deal * 16 + field
    }
    /// `accountCustomFieldData` id of (account, field).
    pub(crate) fn account_value(account: i64, field: i64) -> i64 {
        account * 16 + field
    }
    /// `contactLists` id of (contact, list).
    pub(crate) fn contact_list(contact: i64, list: i64) -> i64 {
        contact * 16 + list
    }
}

/// A campaign, served by `/campaigns`; engagement webhooks name the sent ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Campaign {
    pub id: i64,
    pub name: String,
    /// `single`, `recurring` or `split`.
    pub kind: &'static str,
    /// 0 draft, 5 completed.
    pub status: i32,
    /// Its message's id.
    pub message: i64,
    /// When it was sent; `None` for a draft.
    pub sdate: Option<i64>,
    /// When it was last sent; `None` for a draft.
    pub ldate: Option<i64>,
    /// E-mails sent.
    pub send_amt: i64,
    pub cdate: i64,
    /// Last change.
    pub mdate: i64,
}

/// A campaign's message, served by `/messages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub id: i64,
    pub name: String,
    pub subject: String,
    pub from_name: String,
    pub from_email: String,
    pub cdate: i64,
    /// Last change.
    pub mdate: i64,
}

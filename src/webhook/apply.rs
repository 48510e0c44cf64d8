//! Applies deliveries to the mirror, as SPEC §4 describes, through the mirror write path: a
//! batch at a time, gathered per table, with the result of applying them one by one.

use std::collections::{HashMap, HashSet};

use diesel::QueryResult;

use super::event::{ContactBlock, DealBlock, Delivery};
use super::kind::EventKind::{self, *};
use super::perstag;
use crate::db::DbConn;
use crate::mirror::activities::{self, Activity};
use crate::mirror::campaigns::{self, CampaignMention};
use crate::mirror::contacts::{self, ContactState, ContactStub, Present};
use crate::mirror::crm::{self, AccountContactState, AccountState, FieldValue, Object};
use crate::mirror::deals::{self, DealState};
use crate::mirror::dimensions::{self, Stage, User};
use crate::mirror::notes::{self, Done, NoteState, TaskState};
use crate::mirror::tags::{self, TagSource, TagWrite};
use crate::mirror::values::{self, Membership, MembershipSource};
use crate::time::SourceTime;

/// What applying did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The mirror took what the delivery carries (or already held newer state).
    Applied,
    /// Nothing in the delivery concerns the mirror; the reason says why.
    Ignored(&'static str),
}

/// Why a delivery could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A key the event type needs is missing.
    #[error("{0} is missing; a {1} delivery needs it")]
    Missing(&'static str, String),
    /// Neither a `type` nor a contact block: not an ActiveCampaign webhook body.
    #[error("no `type` and no contact block: this is not an ActiveCampaign webhook body")]
    NotAWebhook,
    /// Custom fields keyed by personalisation tags that no known field has.
    #[error("{}", super::perstag::unknown_reason(.0))]
    UnknownFieldTags(Vec<String>),
    /// The database refused a write.
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
}

/// Applies `d` (stored as delivery `event_id`) to the mirror: a batch of one.
pub fn apply(
    conn: &mut DbConn,
    event_id: i64,
    d: &Delivery,
    now: SourceTime,
) -> Result<Outcome, ApplyError> {
    apply_batch(conn, &[(event_id, d)], now)?
        .pop()
        .expect("one outcome per delivery")
}

/// Applies deliveries, given in arrival (id) order, as one set of writes: what they carry is
/// gathered per table and each table is written with multi-row statements, each of which
/// still compares versions row by row. The mirror ends as if they had been applied one at a
/// time in that order. A delivery that cannot be applied (a key missing, an unknown
/// personalisation tag) gets its error and contributes nothing; the others apply. A database
/// error fails the whole batch.
pub fn apply_batch(
    conn: &mut DbConn,
    batch: &[(i64, &Delivery)],
    now: SourceTime,
) -> QueryResult<Vec<Result<Outcome, ApplyError>>> {
    let tagged = |d: &Delivery| {
        d.contact
            .as_ref()
            .is_some_and(|c| !c.tagged_fields.is_empty())
    };
    let perstags = if batch.iter().any(|(_, d)| tagged(d)) {
        perstag::known(conn)?
    } else {
        HashMap::new()
    };
    let mut writes = Writes::default();
    let outcomes = batch
        .iter()
        .map(|(id, d)| writes.add(*id, d, &perstags))
        .collect();
    writes.flush(conn, now)?;
    Ok(outcomes)
}

/// A write that only some deliveries carry, made one at a time after the set writes.
enum Single {
    ContactNote {
        event_id: i64,
        contact: i64,
        note: String,
        at: SourceTime,
    },
    DealNote(NoteState),
    Task(TaskState),
}

/// What a batch of deliveries writes, table by table, in arrival order. Each mirror writer
/// takes rows that repeat a key and keeps what one-by-one writing would leave.
#[derive(Default)]
struct Writes {
    /// Contacts known only by reference, where the reference is the first the batch has of
    /// the contact (a later one would find the row and do nothing).
    stubs: Vec<ContactStub>,
    /// Contacts the batch has written or stubbed so far.
    mentioned: HashSet<i64>,
    contacts: Vec<(ContactState, Present)>,
    fields: Vec<(i64, i64, String, SourceTime)>,
    memberships: Vec<Membership>,
    tags: Vec<TagWrite>,
    pipelines: Vec<(i64, String)>,
    stages: Vec<Stage>,
    lists: Vec<(i64, String)>,
    /// Deal owners by the names a deal delivery gives, for users the mirror does not know yet.
    owners: Vec<User>,
    deals: Vec<DealState>,
    deal_values: Vec<FieldValue>,
    accounts: Vec<AccountState>,
    account_values: Vec<FieldValue>,
    account_contacts: Vec<AccountContactState>,
    activities: Vec<Activity>,
    /// Campaigns (and their messages) named by engagement deliveries, for those the mirror
    /// does not know yet.
    campaigns: Vec<CampaignMention>,
    singles: Vec<Single>,
}

impl Writes {
    /// Adds what delivery `event_id` writes; an error leaves nothing of it behind.
    fn add(
        &mut self,
        event_id: i64,
        d: &Delivery,
        perstags: &HashMap<String, i64>,
    ) -> Result<Outcome, ApplyError> {
        let Some(type_name) = d.event_type.as_deref() else {
            if d.contact.is_none() {
                return Err(ApplyError::NotAWebhook);
            }
            return Ok(Outcome::Ignored(
                "no type: an automation webhook body, which acmirror does not mirror",
            ));
        };
        // A key this event type needs, or the error naming it.
        let need = |key: &'static str| ApplyError::Missing(key, type_name.to_owned());
        let at = d.occurred_at.ok_or_else(|| need("date_time"))?;
        let Some(kind) = EventKind::parse(type_name) else {
            return Ok(Outcome::Ignored("unknown event type; stored for reporting"));
        };
        match kind {
            Subscribe | Unsubscribe | Update | ContactTagAdded | ContactTagRemoved
            | SubscriberNote => {
                let c = d.contact.as_ref().ok_or_else(|| need("contact[id]"))?;
                self.contact(c, at, perstags)?;
                self.tag_set(c, kind, d.tag.as_deref(), at);
                match kind {
                    Subscribe => {
                        if let Some(list) = d.list_id {
                            self.memberships.push(Membership {
                                contact: c.id,
                                list,
                                status: 1,
                                subscribed_at: Some(at),
                                unsubscribed_at: None,
                                unsubscribe_reason: None,
                                at,
                            });
                        }
                    }
                    Unsubscribe => {
                        let lists = d.list_id.iter().chain(&d.listed_ids);
                        self.memberships.extend(lists.map(|l| Membership {
                            contact: c.id,
                            list: *l,
                            status: 2,
                            subscribed_at: None,
                            unsubscribed_at: Some(at),
                            unsubscribe_reason: d.unsubscribe_reason.clone(),
                            at,
                        }));
                    }
                    SubscriberNote => {
                        if let Some(note) = &d.contact_note {
                            self.singles.push(Single::ContactNote {
                                event_id,
                                contact: c.id,
                                note: note.clone(),
                                at,
                            });
                        }
                    }
                    _ => {}
                }
            }
            DealAdd | DealUpdate | DealNoteAdd | DealTaskAdd | DealTaskComplete => {
                let deal = d.deal.as_ref().ok_or_else(|| need("deal[id]"))?;
                self.deal(d, deal, at);
                if let (Some((note_id, text)), DealNoteAdd) = (&d.deal_note, kind) {
                    self.singles.push(Single::DealNote(NoteState {
                        id: *note_id,
                        parent_id: deal.id,
                        note: text.clone(),
                        created_at: Some(at),
                        source_time: at,
                    }));
                }
                if let Some(t) = &d.task {
                    let done_at = match kind {
                        DealTaskComplete => t.done_at.or(Some(at)),
                        _ => t.done_at,
                    };
                    self.singles.push(Single::Task(TaskState {
                        id: t.id,
                        deal_id: deal.id,
                        task_type: t.task_type.clone(),
                        title: t.title.clone(),
                        note: t.note.clone(),
                        due_at: t.due_at,
                        done: Done::Exact(done_at),
                        source_time: at,
                    }));
                }
            }
            DealPipelineAdd => {
                let p = d.pipeline.clone().ok_or_else(|| need("pipeline[id]"))?;
                self.pipelines.push(p);
            }
            DealStageAdd => {
                let (id, pipeline_id, title) = d.stage.clone().ok_or_else(|| need("stage[id]"))?;
                self.stages.push(Stage {
                    id,
                    pipeline_id,
                    title,
                });
            }
            ListAdd => {
                let l = d.new_list.clone().ok_or_else(|| need("list[id]"))?;
                self.lists.push(l);
            }
            AccountAdd | AccountUpdate => {
                let a = d.account.as_ref().ok_or_else(|| need("account[id]"))?;
                self.accounts.push(AccountState {
                    id: a.id,
                    name: a.name.clone().unwrap_or_default(),
                    url: a.url.clone(),
                    owner_id: None,
                    created_at: a.created_at,
                    source_time: at,
                });
                self.account_values
                    .extend(a.fields.iter().map(|(field, value)| FieldValue {
                        owner: a.id,
                        field: *field,
                        value: value.clone(),
                        at,
                    }));
            }
            AccountContactAdd | AccountContactUpdate => {
                let ac = d
                    .account_contact
                    .as_ref()
                    .ok_or_else(|| need("accountContact[id]"))?;
                self.account_contacts.push(AccountContactState {
                    id: ac.id,
                    account_id: ac.account_id,
                    contact_id: ac.contact_id,
                    job_title: ac.job_title.clone(),
                    at,
                });
            }
            Bounce | Click | Open | Sent | Forward | Share | Reply | SmsReply | SmsSent
            | SmsUnsub => {
                if let Some(c) = &d.contact {
                    self.contact(c, at, perstags)?;
                }
                let e = &d.engagement;
                if let Some(id) = e.campaign_id {
                    self.campaigns.push(CampaignMention {
                        id,
                        name: e.campaign_name.clone().unwrap_or_default(),
                        message_id: e.message_id,
                        subject: e.message_subject.clone(),
                    });
                }
                self.activities.push(Activity {
                    event_id,
                    activity_type: kind.name(),
                    contact_id: d.contact_id(),
                    campaign_id: e.campaign_id,
                    message_id: e.message_id,
                    link_url: e.link_url.clone(),
                    detail: e.detail.clone(),
                    occurred_at: at,
                });
            }
            DealTasktypeAdd | ContactTaskAdd => match &d.contact {
                Some(c) => self.contact(c, at, perstags)?,
                None => {
                    return Ok(Outcome::Ignored(
                        "stored for reporting; no contact block to refresh",
                    ))
                }
            },
        }
        Ok(Outcome::Applied)
    }

    /// A contact block's scalars and field values. Its personalisation tags are resolved
    /// first: a delivery with an unknown one fails before it adds anything.
    fn contact(
        &mut self,
        c: &ContactBlock,
        at: SourceTime,
        perstags: &HashMap<String, i64>,
    ) -> Result<(), ApplyError> {
        let tagged = perstag::resolve(perstags, &c.tagged_fields)?;
        self.scalars(c, at);
        let fields = c.fields.iter().chain(&tagged);
        self.fields
            .extend(fields.map(|(f, v)| (c.id, *f, v.clone(), at)));
        Ok(())
    }

    fn scalars(&mut self, c: &ContactBlock, at: SourceTime) {
        self.mentioned.insert(c.id);
        self.contacts.push(contact_state(c, at));
    }

    /// The contact's tag set becomes the one the delivery carries. On tag events the named
    /// `tag` decides the ambiguity of names containing ", " and is present, respectively
    /// absent, afterwards; without a tag string the event changes the set the contact has.
    fn tag_set(&mut self, c: &ContactBlock, kind: EventKind, tag: Option<&str>, at: SourceTime) {
        let source = match (&c.tags, tag) {
            (Some(raw), _) => TagSource::Raw(raw.clone()),
            (None, Some(_)) => TagSource::Current,
            (None, None) => return,
        };
        let present = match kind {
            EventKind::ContactTagAdded => Some(true),
            EventKind::ContactTagRemoved => Some(false),
            _ => None,
        };
        self.tags.push(TagWrite {
            contact: c.id,
            at,
            source,
            named: tag.map(|t| (t.to_owned(), present)),
            added: Default::default(),
        });
    }

    fn deal(&mut self, d: &Delivery, deal: &DealBlock, at: SourceTime) {
        match (&d.contact, deal.contact_id) {
            (Some(c), _) => self.scalars(c, at),
            (None, Some(contact_id)) => {
                if self.mentioned.insert(contact_id) {
                    self.stubs.push(ContactStub {
                        id: contact_id,
                        email: deal.contact_email.clone(),
                        first_name: deal.contact_first_name.clone(),
                        last_name: deal.contact_last_name.clone(),
                    });
                }
            }
            (None, None) => {}
        }
        if let (Some(id), Some(title)) = (deal.pipeline_id, &deal.pipeline_title) {
            self.pipelines.push((id, title.clone()));
        }
        if let Some(id) = deal.owner_id {
            if deal.owner_first_name.is_some() || deal.owner_last_name.is_some() {
                self.owners.push(User {
                    id,
                    username: String::new(),
                    first_name: deal.owner_first_name.clone().unwrap_or_default(),
                    last_name: deal.owner_last_name.clone().unwrap_or_default(),
                    email: String::new(),
                });
            }
        }
        if let (Some(id), Some(title)) = (deal.stage_id, &deal.stage_title) {
            self.stages.push(Stage {
                id,
                pipeline_id: deal.pipeline_id,
                title: title.clone(),
            });
        }
        self.deals.push(DealState {
            id: deal.id,
            title: deal.title.clone(),
            value_cents: deal.value_cents,
            currency: deal.currency.clone(),
            pipeline_id: deal.pipeline_id,
            stage_id: deal.stage_id,
            owner_id: deal.owner_id,
            contact_id: deal.contact_id.or(d.contact.as_ref().map(|c| c.id)),
            status: deal.status,
            created_at: deal.created_at,
            account_id: deal.account_id,
            win_probability: None,
            next_task_at: None,
            source_time: at,
        });
        self.deal_values
            .extend(deal.fields.iter().map(|(field, value)| FieldValue {
                owner: deal.id,
                field: *field,
                value: value.clone(),
                at,
            }));
    }

    /// Writes everything, table by table. Stubs go first: a stub is kept only where it is the
    /// first the batch has of its contact, so any state after it overwrites it as it would
    /// have one by one. Contacts go before their tags (the tag writer needs the rows).
    fn flush(self, conn: &mut DbConn, now: SourceTime) -> QueryResult<()> {
        contacts::ensure_stubs(conn, &self.stubs, now)?;
        contacts::upsert_partial(conn, &self.contacts, now)?;
        values::upsert_field_values(conn, &self.fields)?;
        values::upsert_memberships(conn, &self.memberships, MembershipSource::Webhook)?;
        tags::write(conn, &self.tags)?;
        dimensions::upsert_pipelines(conn, &self.pipelines)?;
        dimensions::upsert_stages(conn, &self.stages)?;
        dimensions::upsert_lists(conn, &self.lists)?;
        dimensions::add_unknown_users(conn, &self.owners)?;
        deals::upsert(conn, &self.deals, deals::Source::Webhook, now)?;
        crm::upsert_values(conn, Object::Deal, &self.deal_values, None, now)?;
        crm::upsert_accounts(conn, &self.accounts, now)?;
        crm::upsert_values(conn, Object::Account, &self.account_values, None, now)?;
        crm::upsert_account_contacts(conn, &self.account_contacts, None, now)?;
        activities::add(conn, &self.activities)?;
        campaigns::add_unknown_campaigns(conn, &self.campaigns, now)?;
        for single in &self.singles {
            match single {
                Single::ContactNote {
                    event_id,
                    contact,
                    note,
                    at,
                } => {
                    notes::add_contact_note(conn, *event_id, *contact, note, *at, now)?;
                }
                Single::DealNote(note) => {
                    notes::upsert_deal_note(conn, note, false, now)?;
                }
                Single::Task(task) => {
                    notes::upsert_task(conn, task, false, now)?;
                }
            }
        }
        Ok(())
    }
}

/// The scalar state a contact block carries as of the delivery's time, and which of its keys
/// the block carried: an absent key leaves the stored value alone.
fn contact_state(c: &ContactBlock, at: SourceTime) -> (ContactState, Present) {
    let present = Present {
        email: c.email.is_some(),
        first_name: c.first_name.is_some(),
        last_name: c.last_name.is_some(),
        phone: c.phone.is_some(),
    };
    let state = ContactState {
        id: c.id,
        email: c.email.clone(),
        first_name: c.first_name.clone(),
        last_name: c.last_name.clone(),
        phone: c.phone.clone(),
        created_at: None,
        source_time: at,
    };
    (state, present)
}

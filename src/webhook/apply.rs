//! Applies one delivery to the mirror, as SPEC §4 describes, through the mirror write path.

use std::collections::BTreeSet;

use diesel::QueryResult;

use super::event::{ContactBlock, DealBlock, Delivery};
use crate::db::DbConn;
use crate::mirror::contacts::{self, ContactState, ContactStub, Present};
use crate::mirror::deals::{self, DealState};
use crate::mirror::dimensions::{self, Stage};
use crate::mirror::notes::{self, Done, NoteState, TaskState};
use crate::mirror::{tags, values, SourceTime};

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

/// Event types stored for reporting; a contact block in them refreshes the contact.
const REPORTING_TYPES: &[&str] = &[
    "bounce",
    "click",
    "open",
    "sent",
    "forward",
    "share",
    "reply",
    "sms_reply",
    "sms_sent",
    "sms_unsub",
    "deal_tasktype_add",
    "contact_task_add",
];

/// Applies `d` (stored as delivery `event_id`) to the mirror.
pub fn apply(
    conn: &mut DbConn,
    event_id: i64,
    d: &Delivery,
    now: SourceTime,
) -> Result<Outcome, ApplyError> {
    let Some(kind) = d.event_type.as_deref() else {
        if d.contact.is_none() {
            return Err(ApplyError::NotAWebhook);
        }
        return Ok(Outcome::Ignored(
            "no type: an automation webhook body, which acmirror does not mirror",
        ));
    };
    let at = d
        .occurred_at
        .ok_or_else(|| ApplyError::Missing("date_time", kind.to_owned()))?;
    let need_contact = || {
        d.contact
            .as_ref()
            .ok_or_else(|| ApplyError::Missing("contact[id]", kind.to_owned()))
    };
    let need_deal = || {
        d.deal
            .as_ref()
            .ok_or_else(|| ApplyError::Missing("deal[id]", kind.to_owned()))
    };
    match kind {
        "subscribe"
        | "unsubscribe"
        | "update"
        | "contact_tag_added"
        | "contact_tag_removed"
        | "subscriber_note" => {
            let c = need_contact()?;
            apply_contact(conn, c, at, now)?;
            apply_tag_set(conn, c, kind, d.tag.as_deref(), at)?;
            match kind {
                "subscribe" => {
                    if let Some(list) = d.list_id {
                        values::upsert_memberships(conn, &[(c.id, list, 1, at)])?;
                    }
                }
                "unsubscribe" => {
                    let rows: Vec<_> = d
                        .list_id
                        .iter()
                        .chain(&d.listed_ids)
                        .map(|l| (c.id, *l, 2, at))
                        .collect();
                    values::upsert_memberships(conn, &rows)?;
                }
                "subscriber_note" => {
                    if let Some(note) = &d.contact_note {
                        notes::add_contact_note(conn, event_id, c.id, note, at, now)?;
                    }
                }
                _ => {}
            }
        }
        "deal_add" | "deal_update" | "deal_note_add" | "deal_task_add" | "deal_task_complete" => {
            let deal = need_deal()?;
            apply_deal(conn, d, deal, at, now)?;
            if let (Some((note_id, text)), "deal_note_add") = (&d.deal_note, kind) {
                let note = NoteState {
                    id: *note_id,
                    parent_id: deal.id,
                    note: text.clone(),
                    created_at: Some(at),
                    source_time: at,
                };
                notes::upsert_deal_note(conn, &note, false, now)?;
            }
            if let Some(t) = &d.task {
                let done_at = match kind {
                    "deal_task_complete" => t.done_at.or(Some(at)),
                    _ => t.done_at,
                };
                let task = TaskState {
                    id: t.id,
                    deal_id: deal.id,
                    task_type: t.task_type.clone(),
                    title: t.title.clone(),
                    note: t.note.clone(),
                    due_at: t.due_at,
                    done: Done::Exact(done_at),
                    source_time: at,
                };
                notes::upsert_task(conn, &task, false, now)?;
            }
        }
        "deal_pipeline_add" => {
            let p = d
                .pipeline
                .clone()
                .ok_or_else(|| ApplyError::Missing("pipeline[id]", kind.to_owned()))?;
            dimensions::upsert_pipelines(conn, &[p])?;
        }
        "deal_stage_add" => {
            let (id, pipeline_id, title) = d
                .stage
                .clone()
                .ok_or_else(|| ApplyError::Missing("stage[id]", kind.to_owned()))?;
            dimensions::upsert_stages(
                conn,
                &[Stage {
                    id,
                    pipeline_id,
                    title,
                }],
            )?;
        }
        "list_add" => {
            let l = d
                .new_list
                .clone()
                .ok_or_else(|| ApplyError::Missing("list[id]", kind.to_owned()))?;
            dimensions::upsert_lists(conn, &[l])?;
        }
        k if REPORTING_TYPES.contains(&k) => match &d.contact {
            Some(c) => apply_contact(conn, c, at, now)?,
            None => {
                return Ok(Outcome::Ignored(
                    "stored for reporting; no contact block to refresh",
                ))
            }
        },
        _ => return Ok(Outcome::Ignored("unknown event type; stored for reporting")),
    }
    Ok(Outcome::Applied)
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

fn apply_contact(
    conn: &mut DbConn,
    c: &ContactBlock,
    at: SourceTime,
    now: SourceTime,
) -> Result<(), ApplyError> {
    // Resolved first: a delivery with an unknown tag fails before it writes anything.
    let tagged = super::perstag::resolve(conn, &c.tagged_fields)?;
    contacts::upsert_partial(conn, &[contact_state(c, at)], now)?;
    let fields: Vec<_> = c
        .fields
        .iter()
        .chain(&tagged)
        .map(|(f, v)| (c.id, *f, v.clone(), at))
        .collect();
    values::upsert_field_values(conn, &fields)?;
    Ok(())
}

/// Replaces the contact's tag set with the one the delivery carries. On tag events the named
/// `tag` decides the ambiguity of names containing ", " and is present, respectively absent,
/// afterwards.
fn apply_tag_set(
    conn: &mut DbConn,
    c: &ContactBlock,
    kind: &str,
    tag: Option<&str>,
    at: SourceTime,
) -> QueryResult<()> {
    let mut set: BTreeSet<String> = match &c.tags {
        Some(raw) => {
            let mut known = tags::known_names_for(conn, raw)?;
            known.extend(tag.map(str::to_owned));
            tags::split_tags(raw, &known)
        }
        None if tag.is_some() => tags::current(conn, &[c.id])?
            .remove(&c.id)
            .unwrap_or_default(),
        None => return Ok(()),
    };
    match (kind, tag) {
        ("contact_tag_added", Some(t)) => {
            set.insert(t.to_owned());
        }
        ("contact_tag_removed", Some(t)) => {
            set.remove(t);
        }
        _ => {}
    }
    tags::replace_sets(conn, &[(c.id, set, at)])?;
    Ok(())
}

fn apply_deal(
    conn: &mut DbConn,
    d: &Delivery,
    deal: &DealBlock,
    at: SourceTime,
    now: SourceTime,
) -> QueryResult<()> {
    match (&d.contact, deal.contact_id) {
        (Some(c), _) => {
            contacts::upsert_partial(conn, &[contact_state(c, at)], now)?;
        }
        (None, Some(contact_id)) => {
            let stub = ContactStub {
                id: contact_id,
                email: deal.contact_email.clone(),
                first_name: deal.contact_first_name.clone(),
                last_name: deal.contact_last_name.clone(),
            };
            contacts::ensure_stub(conn, &stub, now)?;
        }
        (None, None) => {}
    }
    if let (Some(id), Some(title)) = (deal.pipeline_id, &deal.pipeline_title) {
        dimensions::upsert_pipelines(conn, &[(id, title.clone())])?;
    }
    if let (Some(id), Some(title)) = (deal.stage_id, &deal.stage_title) {
        dimensions::upsert_stages(
            conn,
            &[Stage {
                id,
                pipeline_id: deal.pipeline_id,
                title: title.clone(),
            }],
        )?;
    }
    let state = DealState {
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
        source_time: at,
    };
    deals::upsert(conn, &[state], now)?;
    Ok(())
}

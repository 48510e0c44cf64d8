//! Deal notes, contact notes and deal tasks, read whole in full runs.
//!
//! Neither `/notes` nor `/dealTasks` documents a filter by modification time (`/dealTasks`
//! filters by due date only), so incremental runs cannot find what changed there; a full run
//! reads both collections (100 per request) and writes them through the same versioned write
//! path as webhooks ([`crate::mirror::notes`]). Whatever the mirror holds that the pass did not
//! see, and that no webhook wrote while the pass ran, is gone upstream: each such note or task
//! is confirmed with one request when there are at most [`CONFIRM_UP_TO`] of a kind (offset
//! pages can skip a record when others are deleted meanwhile), then marked deleted. Webhook
//! contact notes that no API note matched are marked without a request: they carry no id to
//! ask about, and an API note that was skipped comes back on the next full run.

use std::collections::{BTreeSet, HashMap};

use anyhow::Context;
use chrono::NaiveDateTime;

use super::deletions::guard;
use super::Reconciler;
use crate::activecampaign::{DealTask, Note};
use crate::db::{blocking, write_tx_retrying, DbConn};
use crate::mirror::notes::{self, Done, Kind, NoteState, TaskState};
use crate::time::{now, source_time};

/// Deletion candidates of one kind confirmed one by one up to this many.
const CONFIRM_UP_TO: usize = 200;

/// What the pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotesOutcome {
    /// Notes and tasks read from the API.
    pub fetched: usize,
    /// Rows whose mirrored state changed.
    pub changed: usize,
    /// Rows marked deleted.
    pub deleted: usize,
}

fn note_state(n: &Note, parent_id: i64, fetched_at: NaiveDateTime) -> NoteState {
    NoteState {
        id: n.id,
        parent_id,
        note: n.note.clone(),
        created_at: source_time(n.cdate),
        source_time: source_time(n.mdate)
            .or(source_time(n.cdate))
            .unwrap_or(fetched_at),
    }
}

fn task_state(
    t: &DealTask,
    deal_id: i64,
    types: &HashMap<i64, String>,
    fetched_at: NaiveDateTime,
) -> TaskState {
    let version = source_time(t.udate)
        .or(source_time(t.cdate))
        .unwrap_or(fetched_at);
    TaskState {
        id: t.id,
        deal_id,
        task_type: t.task_type_id.and_then(|id| types.get(&id).cloned()),
        title: Some(t.title.clone()),
        note: Some(t.note.clone()),
        due_at: source_time(t.duedate),
        done: match t.is_done() {
            true => Done::Approx(version),
            false => Done::Open,
        },
        source_time: version,
    }
}

/// Everything one pass read.
struct Upstream {
    notes: Vec<Note>,
    tasks: Vec<DealTask>,
    types: HashMap<i64, String>,
    fetched_at: NaiveDateTime,
}

/// Writes notes and tasks; returns the rows changed and the local keys seen per kind.
fn apply(
    c: &mut DbConn,
    up: &Upstream,
    at: NaiveDateTime,
) -> diesel::QueryResult<(usize, HashMap<Kind, BTreeSet<i64>>)> {
    let mut changed = 0;
    let mut seen: HashMap<Kind, BTreeSet<i64>> = HashMap::new();
    // Contact notes the mirror holds by id or by text go first, so that the rest (new notes,
    // and notes edited upstream) adopt only webhook rows that nothing else in this read claims.
    let mut unmatched = Vec::new();
    for n in &up.notes {
        if let Some(deal) = n.deal_id() {
            changed += usize::from(notes::upsert_deal_note(
                c,
                &note_state(n, deal, up.fetched_at),
                true,
                at,
            )?);
            seen.entry(Kind::DealNotes).or_default().insert(n.id);
        } else if let Some(contact) = n.contact_id() {
            let state = note_state(n, contact, up.fetched_at);
            match notes::write_known_api_contact_note(c, &state, at)? {
                Some((row, ch)) => {
                    changed += usize::from(ch);
                    seen.entry(Kind::ContactNotes).or_default().insert(row);
                }
                None => unmatched.push(state),
            }
        }
    }
    for state in &unmatched {
        let (row, ch) = notes::upsert_api_contact_note(c, state, at)?;
        changed += usize::from(ch);
        seen.entry(Kind::ContactNotes).or_default().insert(row);
    }
    for t in &up.tasks {
        if let Some(deal) = t.deal_id() {
            let state = task_state(t, deal, &up.types, up.fetched_at);
            changed += usize::from(notes::upsert_task(c, &state, true, at)?);
            seen.entry(Kind::DealTasks).or_default().insert(t.id);
        }
    }
    Ok((changed, seen))
}

/// A row the pass did not see: its local key and, where known, ActiveCampaign's id.
type Candidate = (i64, Option<i64>);

/// Live rows of `kind` not in `seen` and not written since `started`.
fn candidates(
    c: &mut DbConn,
    kind: Kind,
    seen: &BTreeSet<i64>,
    started: NaiveDateTime,
) -> diesel::QueryResult<Vec<Candidate>> {
    Ok(notes::live_rows(c, kind)?
        .into_iter()
        .filter(|r| !seen.contains(&r.key) && r.synced_at.is_none_or(|s| s < started))
        .map(|r| (r.key, r.ac_id))
        .collect())
}

const KINDS: [(Kind, &str); 3] = [
    (Kind::DealNotes, "deal notes"),
    (Kind::ContactNotes, "contact notes"),
    (Kind::DealTasks, "deal tasks"),
];

/// Reads every note and deal task, writes them, and marks what is gone upstream.
pub async fn reconcile(rec: &Reconciler, allow_mass_delete: bool) -> anyhow::Result<NotesOutcome> {
    let started = now();
    let client = &rec.client;
    let types = client
        .deal_task_types()
        .await
        .context("Failed to read deal task types from the API")?;
    let tasks = client
        .deal_tasks()
        .await
        .context("Failed to read deal tasks from the API")?;
    let notes = client
        .notes()
        .await
        .context("Failed to read notes from the API")?;
    let fetched = notes.len() + tasks.len();
    let up = Upstream {
        notes,
        tasks,
        types: types.into_iter().map(|t| (t.id, t.title)).collect(),
        fetched_at: started,
    };
    let pool = rec.pool.clone();
    let (changed, found) = blocking(&pool, move |conn| {
        Ok(write_tx_retrying(conn, |c| {
            let (changed, seen) = apply(c, &up, now())?;
            let mut found = Vec::new();
            for (kind, table) in KINDS {
                let unseen = candidates(
                    c,
                    kind,
                    &seen.get(&kind).cloned().unwrap_or_default(),
                    started,
                )?;
                let live = notes::live_rows(c, kind)?.len();
                found.push((kind, table, unseen, live));
            }
            Ok::<_, diesel::result::Error>((changed, found))
        })?)
    })
    .await?;
    let mut outcome = NotesOutcome {
        fetched,
        changed,
        deleted: 0,
    };
    for (kind, table, unseen, live) in found {
        guard(table, unseen.len(), live as i64, allow_mass_delete)?;
        let (gone, alive) = confirm(rec, kind, unseen).await?;
        let pool = rec.pool.clone();
        // The deletion mark is dated by ActiveCampaign's clock, like every source time.
        let upstream = rec.client.upstream_now().naive_utc();
        let (ch, del) = blocking(&pool, move |conn| {
            let at = now();
            Ok(write_tx_retrying(conn, |c| {
                let (ch, _) = apply(c, &alive, at)?;
                Ok::<_, diesel::result::Error>((
                    ch,
                    notes::mark_deleted(c, kind, &gone, upstream, at)?,
                ))
            })?)
        })
        .await?;
        outcome.changed += ch;
        outcome.deleted += del;
    }
    Ok(outcome)
}

/// Asks the API about each candidate (when there are few enough): returns the local keys to
/// mark deleted and the records found alive after all.
async fn confirm(
    rec: &Reconciler,
    kind: Kind,
    unseen: Vec<Candidate>,
) -> anyhow::Result<(Vec<i64>, Upstream)> {
    let mut alive = Upstream {
        notes: Vec::new(),
        tasks: Vec::new(),
        types: HashMap::new(),
        fetched_at: now(),
    };
    if unseen.len() > CONFIRM_UP_TO {
        return Ok((unseen.into_iter().map(|(key, _)| key).collect(), alive));
    }
    let mut gone = Vec::new();
    for (key, ac_id) in unseen {
        let Some(id) = ac_id else {
            gone.push(key);
            continue;
        };
        let present = match kind {
            Kind::DealTasks => match rec
                .client
                .deal_task(id)
                .await
                .with_context(|| format!("Failed to confirm that deal task {id} is gone"))?
            {
                Some(t) => {
                    alive.tasks.push(t);
                    true
                }
                None => false,
            },
            Kind::DealNotes | Kind::ContactNotes => match rec
                .client
                .note(id)
                .await
                .with_context(|| format!("Failed to confirm that note {id} is gone"))?
            {
                Some(n) => {
                    alive.notes.push(n);
                    true
                }
                None => false,
            },
        };
        if !present {
            gone.push(key);
        }
    }
    if !alive.tasks.is_empty() {
        let types = rec
            .client
            .deal_task_types()
            .await
            .context("Failed to read deal task types from the API")?;
        alive.types = types.into_iter().map(|t| (t.id, t.title)).collect();
    }
    Ok((gone, alive))
}

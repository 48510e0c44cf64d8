//! Deal notes, contact notes and deal tasks, written by webhooks and by reconciliation.
//!
//! Every row carries a version (`updated_at`: a delivery's `date_time`, or the API's
//! `mdate`/`udate`), a deletion mark (`deleted_at`, set when a full pass no longer finds the
//! row upstream; rows are never removed) and the time the mirror last wrote it (`synced_at`).
//! Older input never overwrites newer state; a record the API shows alive is alive again.
//!
//! Contact notes from webhooks carry no ActiveCampaign id (`subscriber_note` sends only the
//! text). Such a row is keyed by its delivery (`event_id`); when reconciliation reads the same
//! note from the API it adopts the row (same contact, created within [`MATCH_WINDOW_SECS`]:
//! rows of the same text first, across the whole read, then the nearest in time for notes
//! edited upstream), so a note becomes one row whichever way it arrived first.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::upsert::excluded;

use crate::db::schema::{contact_notes as cn, deal_notes as dn, deal_tasks as dt};
use crate::db::with_backend;
use crate::db::DbConn;
use crate::db::OnlyIf;
use crate::time::SourceTime;

/// How far apart a webhook's `date_time` and the API's `cdate` of the same contact note may be.
/// Both come from ActiveCampaign's clock and agree to the second in captured traffic (a
/// `deal_add` body's `date_time` and `deal[create_date]`); the slack covers a delivery stamped
/// a moment after the insert. A wider window would take a second note of the same text, made
/// soon after one whose delivery was lost, for that one's late delivery, and lose it.
pub const MATCH_WINDOW_SECS: i64 = 5;

/// A note as of `source_time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteState {
    /// ActiveCampaign's note id.
    pub id: i64,
    /// The deal or contact it is attached to.
    pub parent_id: i64,
    /// The text.
    pub note: String,
    /// Creation time (`cdate`, or the delivery's time).
    pub created_at: Option<SourceTime>,
    /// When this state became true upstream (`mdate`, or the delivery's time).
    pub source_time: SourceTime,
}

/// A stored contact note, as an API note is matched against it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = cn)]
struct StoredNote {
    /// The mirror's row id.
    id: i64,
    note: String,
    /// The version (`mdate`, or the delivery's time).
    updated_at: Option<SourceTime>,
    deleted_at: Option<SourceTime>,
    contact_id: i64,
    created_at: Option<SourceTime>,
}

/// A task on a deal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    /// ActiveCampaign's id.
    pub id: i64,
    /// The deal.
    pub deal_id: i64,
    /// Task type title (`Call`, `Email`).
    pub task_type: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Note.
    pub note: Option<String>,
    /// Due time.
    pub due_at: Option<SourceTime>,
    /// Completion time, by the rule in [`Done`].
    pub done: Done,
    /// When this state became true upstream.
    pub source_time: SourceTime,
}

/// What a write knows about a task's completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// A delivery: `Some` is the exact completion time; `None` leaves a known time alone.
    Exact(Option<SourceTime>),
    /// The API shows the task done but gives no completion time: keep the stored time, else
    /// use this one (the task's `udate`).
    Approx(SourceTime),
    /// The API shows the task open.
    Open,
}

/// Writes a deal note unless the mirror holds a newer state of it. `sighted` (read from the
/// API) clears a deletion mark whatever the versions. Returns whether the row changed.
pub fn upsert_deal_note(
    conn: &mut DbConn,
    n: &NoteState,
    sighted: bool,
    now: SourceTime,
) -> QueryResult<bool> {
    type Before = (i64, String, Option<SourceTime>);
    let before: Option<Before> = dn::table
        .find(n.id)
        .select((dn::deal_id, dn::note, dn::deleted_at))
        .first(conn)
        .optional()?;
    let row = (
        dn::id.eq(n.id),
        dn::deal_id.eq(n.parent_id),
        dn::note.eq(&n.note),
        dn::created_at.eq(n.created_at),
        dn::updated_at.eq(Some(n.source_time)),
        dn::synced_at.eq(Some(now)),
    );
    let written = with_backend!(&mut *conn, |c| diesel::insert_into(dn::table)
        .values(&row)
        .on_conflict(dn::id)
        .do_update()
        .set((
            dn::deal_id.eq(excluded(dn::deal_id)),
            dn::note.eq(excluded(dn::note)),
            dn::updated_at.eq(excluded(dn::updated_at)),
            dn::synced_at.eq(excluded(dn::synced_at)),
        ))
        .only_if(
            dn::updated_at
                .is_null()
                .or(dn::updated_at.le(excluded(dn::updated_at))),
        )
        .execute(c))?;
    let revived = sighted
        && diesel::update(dn::table.find(n.id).filter(dn::deleted_at.is_not_null()))
            .set((dn::deleted_at.eq(None::<SourceTime>), dn::synced_at.eq(now)))
            .execute(conn)?
            > 0;
    Ok(match before {
        None => true,
        Some((deal, text, _)) => {
            revived || (written > 0 && (deal != n.parent_id || text != n.note))
        }
    })
}

/// Writes a task unless the mirror holds a newer state of it. `sighted` as for notes.
/// Returns whether the row changed.
pub fn upsert_task(
    conn: &mut DbConn,
    t: &TaskState,
    sighted: bool,
    now: SourceTime,
) -> QueryResult<bool> {
    type Before = (
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<SourceTime>,
        Option<SourceTime>,
    );
    let before: Option<Before> = dt::table
        .find(t.id)
        .select((
            dt::deal_id,
            dt::task_type,
            dt::title,
            dt::note,
            dt::due_at,
            dt::done_at,
        ))
        .first(conn)
        .optional()?;
    // The completion time is settled from the stored one in the same transaction; the version
    // check below still decides whether this state lands at all.
    let stored_done = before.as_ref().and_then(|b| b.5);
    let done_at = match t.done {
        Done::Exact(at) => at.or(stored_done),
        Done::Approx(at) => stored_done.or(Some(at)),
        Done::Open => None,
    };
    let row = (
        dt::id.eq(t.id),
        dt::deal_id.eq(t.deal_id),
        dt::task_type.eq(&t.task_type),
        dt::title.eq(&t.title),
        dt::note.eq(&t.note),
        dt::due_at.eq(t.due_at),
        dt::done_at.eq(done_at),
        dt::updated_at.eq(t.source_time),
        dt::synced_at.eq(Some(now)),
    );
    let written = with_backend!(&mut *conn, |c| diesel::insert_into(dt::table)
        .values(&row)
        .on_conflict(dt::id)
        .do_update()
        .set((
            dt::deal_id.eq(excluded(dt::deal_id)),
            dt::task_type.eq(excluded(dt::task_type)),
            dt::title.eq(excluded(dt::title)),
            dt::note.eq(excluded(dt::note)),
            dt::due_at.eq(excluded(dt::due_at)),
            dt::done_at.eq(excluded(dt::done_at)),
            dt::updated_at.eq(excluded(dt::updated_at)),
            dt::synced_at.eq(excluded(dt::synced_at)),
        ))
        .only_if(dt::updated_at.le(excluded(dt::updated_at)))
        .execute(c))?;
    let revived = sighted
        && diesel::update(dt::table.find(t.id).filter(dt::deleted_at.is_not_null()))
            .set((dt::deleted_at.eq(None::<SourceTime>), dt::synced_at.eq(now)))
            .execute(conn)?
            > 0;
    let after = (
        t.deal_id,
        t.task_type.clone(),
        t.title.clone(),
        t.note.clone(),
        t.due_at,
        done_at,
    );
    Ok(match before {
        None => true,
        Some(b) => revived || (written > 0 && b != after),
    })
}

/// Key of the PostgreSQL advisory lock that serialises matching contact notes (see
/// [`lock_contact_notes`]).
const CONTACT_NOTES_LOCK: i64 = 0x6163_6d5f_6e6f_7465;

/// A webhook contact note and the same note read from the API become one row only if each
/// writer sees the other's row. On PostgreSQL, where a reconciliation pass and apply workers
/// of several replicas write at once, whoever writes contact notes first takes this
/// transaction-scoped lock, so the second waits for the first to commit and then finds its
/// row. (SQLite has one writer at a time already.) A deadlock with another lock is detected by
/// PostgreSQL and the transaction retried by its caller.
fn lock_contact_notes(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        diesel::sql_query(format!(
            "SELECT pg_advisory_xact_lock({CONTACT_NOTES_LOCK})"
        ))
        .execute(c)?;
    }
    Ok(())
}

/// Adds a contact note carried by delivery `event_id`. Replaying the delivery adds nothing; a
/// row already read from the API for the same note (same contact and text, created within
/// [`MATCH_WINDOW_SECS`]) is adopted instead of adding a second one.
pub fn add_contact_note(
    conn: &mut DbConn,
    event_id: i64,
    contact_id: i64,
    note: &str,
    at: SourceTime,
    now: SourceTime,
) -> QueryResult<usize> {
    lock_contact_notes(conn)?;
    let known: i64 = cn::table
        .filter(cn::event_id.eq(event_id))
        .count()
        .get_result(conn)?;
    if known > 0 {
        return Ok(0);
    }
    let window = chrono::Duration::seconds(MATCH_WINDOW_SECS);
    let twin: Option<i64> = cn::table
        .filter(cn::contact_id.eq(contact_id))
        .filter(cn::event_id.is_null())
        .filter(cn::ac_id.is_not_null())
        .filter(cn::note.eq(note))
        .filter(cn::created_at.between(at - window, at + window))
        .select(cn::id)
        .order(cn::id)
        .first(conn)
        .optional()?;
    if let Some(id) = twin {
        return diesel::update(cn::table.find(id))
            .set(cn::event_id.eq(event_id))
            .execute(conn);
    }
    let row = (
        cn::contact_id.eq(contact_id),
        cn::note.eq(note),
        cn::created_at.eq(Some(at)),
        cn::event_id.eq(Some(event_id)),
        cn::updated_at.eq(Some(at)),
        cn::synced_at.eq(Some(now)),
    );
    with_backend!(&mut *conn, |c| diesel::insert_into(cn::table)
        .values(&row)
        .on_conflict(cn::event_id)
        .do_nothing()
        .execute(c))
}

/// Writes a contact note read from the API if the mirror already holds it: by its id, or as
/// the webhook row of the same text (same contact, no id yet, created within
/// [`MATCH_WINDOW_SECS`], the nearest in time). `None` when neither exists: nothing written.
///
/// A pass offers every note of a read here first and only then hands the rest to
/// [`upsert_api_contact_note`], so that a note whose own delivery was lost never takes the row
/// of a sibling note that has its own match in the same read.
pub fn write_known_api_contact_note(
    conn: &mut DbConn,
    n: &NoteState,
    now: SourceTime,
) -> QueryResult<Option<(i64, bool)>> {
    lock_contact_notes(conn)?;
    match by_ac_id(conn, n.id)? {
        Some(row) => write_found(conn, row, n, now).map(Some),
        None => match adoptable(conn, n, true)? {
            Some(row) => write_found(conn, row, n, now).map(Some),
            None => Ok(None),
        },
    }
}

/// Writes a contact note read from the API: by its id if the mirror has it, else adopting the
/// webhook row of the same note (same contact, no id yet, created within
/// [`MATCH_WINDOW_SECS`]; the same text first, then the nearest time: an edited note), else
/// as a new row. Returns the local row id and whether the mirror changed.
pub fn upsert_api_contact_note(
    conn: &mut DbConn,
    n: &NoteState,
    now: SourceTime,
) -> QueryResult<(i64, bool)> {
    lock_contact_notes(conn)?;
    let found = match by_ac_id(conn, n.id)? {
        Some(row) => Some(row),
        None => adoptable(conn, n, false)?,
    };
    if let Some(row) = found {
        return write_found(conn, row, n, now);
    }
    let row = (
        cn::contact_id.eq(n.parent_id),
        cn::note.eq(&n.note),
        cn::created_at.eq(n.created_at),
        cn::ac_id.eq(Some(n.id)),
        cn::updated_at.eq(Some(n.source_time)),
        cn::synced_at.eq(Some(now)),
    );
    let id = with_backend!(&mut *conn, |c| diesel::insert_into(cn::table)
        .values(&row)
        .returning(cn::id)
        .get_result(c))?;
    Ok((id, true))
}

fn by_ac_id(conn: &mut DbConn, ac_id: i64) -> QueryResult<Option<StoredNote>> {
    cn::table
        .filter(cn::ac_id.eq(ac_id))
        .select(StoredNote::as_select())
        .first(conn)
        .optional()
}

/// Writes the API's state of note `n` into the mirror's row `found`, newer wins.
fn write_found(
    conn: &mut DbConn,
    found: StoredNote,
    n: &NoteState,
    now: SourceTime,
) -> QueryResult<(i64, bool)> {
    let version = found.updated_at;
    let newer = version.is_none_or(|v| v <= n.source_time);
    let (new_text, new_contact) = match newer {
        true => (n.note.clone(), n.parent_id),
        false => (found.note.clone(), found.contact_id),
    };
    let changed =
        found.deleted_at.is_some() || new_text != found.note || new_contact != found.contact_id;
    diesel::update(cn::table.find(found.id))
        .set((
            cn::ac_id.eq(Some(n.id)),
            cn::contact_id.eq(new_contact),
            cn::note.eq(new_text),
            cn::updated_at.eq(version.max(Some(n.source_time))),
            cn::deleted_at.eq(None::<SourceTime>),
            cn::synced_at.eq(Some(now)),
        ))
        .execute(conn)?;
    Ok((found.id, changed))
}

/// The webhook row an API contact note adopts, if any: of the same text only, or (for a note
/// edited upstream) of any text, the same text first.
fn adoptable(
    conn: &mut DbConn,
    n: &NoteState,
    same_text_only: bool,
) -> QueryResult<Option<StoredNote>> {
    let Some(created) = n.created_at else {
        return Ok(None);
    };
    let window = chrono::Duration::seconds(MATCH_WINDOW_SECS);
    let rows: Vec<StoredNote> = cn::table
        .filter(cn::contact_id.eq(n.parent_id))
        .filter(cn::ac_id.is_null())
        .filter(cn::created_at.between(created - window, created + window))
        .select(StoredNote::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|r| !same_text_only || r.note == n.note)
        .min_by_key(|r| {
            let gap = r
                .created_at
                .map_or(i64::MAX, |c| (c - created).num_seconds().abs());
            (r.note != n.note, gap, r.id)
        }))
}

/// A live row of a notes or tasks table.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct LiveRow {
    /// The mirror's row id for contact notes, else ActiveCampaign's id.
    pub key: i64,
    /// When the mirror last wrote the row.
    pub synced_at: Option<SourceTime>,
    /// ActiveCampaign's id, if known.
    pub ac_id: Option<i64>,
}

/// Which table a deletion mark goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `deal_notes`, by ActiveCampaign's id.
    DealNotes,
    /// `contact_notes`, by the mirror's row id.
    ContactNotes,
    /// `deal_tasks`, by ActiveCampaign's id.
    DealTasks,
}

/// Live rows of `kind` with their `synced_at` (row id for contact notes, else ActiveCampaign's
/// id), and for contact notes the ActiveCampaign id if known.
pub fn live_rows(conn: &mut DbConn, kind: Kind) -> QueryResult<Vec<LiveRow>> {
    match kind {
        Kind::DealNotes => Ok(dn::table
            .filter(dn::deleted_at.is_null())
            .select((dn::id, dn::synced_at))
            .load::<(i64, Option<SourceTime>)>(conn)?
            .into_iter()
            .map(|(id, synced_at)| LiveRow {
                key: id,
                synced_at,
                ac_id: Some(id),
            })
            .collect()),
        Kind::DealTasks => Ok(dt::table
            .filter(dt::deleted_at.is_null())
            .select((dt::id, dt::synced_at))
            .load::<(i64, Option<SourceTime>)>(conn)?
            .into_iter()
            .map(|(id, synced_at)| LiveRow {
                key: id,
                synced_at,
                ac_id: Some(id),
            })
            .collect()),
        Kind::ContactNotes => cn::table
            .filter(cn::deleted_at.is_null())
            .select((cn::id, cn::synced_at, cn::ac_id))
            .load(conn),
    }
}

/// Marks rows of `kind` deleted upstream as of `at`; a row holding a later version keeps it,
/// so that no stale delivery can bring the row back. Returns the rows marked.
pub fn mark_deleted(
    conn: &mut DbConn,
    kind: Kind,
    ids: &[i64],
    at: SourceTime,
    now: SourceTime,
) -> QueryResult<usize> {
    // Deal notes and contact notes share their columns: the version moves up to the mark, then
    // the mark is set.
    macro_rules! mark_notes {
        ($t:ident, $chunk:expr) => {{
            let live = $t::table
                .filter($t::id.eq_any($chunk))
                .filter($t::deleted_at.is_null());
            diesel::update(
                live.clone()
                    .filter($t::updated_at.is_null().or($t::updated_at.le(at))),
            )
            .set($t::updated_at.eq(Some(at)))
            .execute(conn)?;
            diesel::update(live)
                .set(($t::deleted_at.eq(Some(at)), $t::synced_at.eq(Some(now))))
                .execute(conn)?
        }};
    }
    let mut n = 0;
    for chunk in ids.chunks(crate::db::CHUNK) {
        n += match kind {
            Kind::DealNotes => mark_notes!(dn, chunk),
            Kind::DealTasks => {
                let live = dt::table
                    .filter(dt::id.eq_any(chunk))
                    .filter(dt::deleted_at.is_null());
                diesel::update(live.clone().filter(dt::updated_at.le(at)))
                    .set(dt::updated_at.eq(at))
                    .execute(conn)?;
                diesel::update(live)
                    .set((dt::deleted_at.eq(Some(at)), dt::synced_at.eq(Some(now))))
                    .execute(conn)?
            }
            Kind::ContactNotes => mark_notes!(cn, chunk),
        };
    }
    Ok(n)
}

/// Live contact notes by contact, texts sorted (for the comparison with the truth).
pub fn contact_note_texts(conn: &mut DbConn) -> QueryResult<HashMap<i64, Vec<String>>> {
    let rows: Vec<(i64, String)> = cn::table
        .filter(cn::deleted_at.is_null())
        .select((cn::contact_id, cn::note))
        .load(conn)?;
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for (contact, text) in rows {
        out.entry(contact).or_default().push(text);
    }
    for texts in out.values_mut() {
        texts.sort();
    }
    Ok(out)
}

//! Deletion detection after a full pass. ActiveCampaign sends no delete events and lists no
//! tombstones, so a row the full pass did not see is gone upstream. Rows are marked, never
//! removed, and only after the whole pass completed.

use anyhow::Context;
use chrono::NaiveDateTime;

use super::{pages, Only, Reconciler, RunRequest};
use crate::db::{blocking, write_tx_retrying};
use crate::mirror::{contacts, deals};
use crate::time::now;

/// A full run may mark at most this share of a table deleted without `--allow-mass-delete`…
const MASS_DELETE_SHARE: f64 = 0.10;
/// …unless it is at most this many rows.
const MASS_DELETE_ROWS: usize = 100;

fn too_many(rows: usize, live: i64) -> bool {
    rows > MASS_DELETE_ROWS && (rows as f64) > MASS_DELETE_SHARE * live as f64
}

/// The version of a deletion mark: ActiveCampaign's time at the end of the pass, by its own
/// clock. The record vanished before the page that should have shown it was read, so this is
/// never earlier than the deletion; a delivery dated before it is older than the deletion and
/// cannot revive the row. The host's clock could be minutes off either way: behind, it would
/// let stale deliveries revive deleted rows; ahead, it would outrank records read later.
fn upstream_now(rec: &Reconciler) -> NaiveDateTime {
    rec.client.upstream_now().naive_utc()
}

/// When the pass began by ActiveCampaign's clock, from its start by the host's: the offset
/// the responses showed (an estimate that errs low), less two seconds for the whole-second
/// resolution of source times. Erring early only leaves more rows to the next full run.
pub(super) fn source_start(rec: &Reconciler, started_at: NaiveDateTime) -> NaiveDateTime {
    started_at + rec.client.upstream_offset().unwrap_or_default() - chrono::Duration::seconds(2)
}

/// Refuses a deletion of more than 10% (and more than 100 rows) of a table unless allowed.
pub(super) fn guard(table: &str, candidates: usize, live: i64, allow: bool) -> anyhow::Result<()> {
    if too_many(candidates, live) && !allow {
        anyhow::bail!(
            "the full run would mark {candidates} of {live} {table} deleted (more than 10%); {GUARD_REFUSAL} \
             If ActiveCampaign really lost them, run `acmirror resync --full --allow-mass-delete`"
        );
    }
    Ok(())
}

/// What every refusal of the mass-delete guard says, and [`is_guard_refusal`] looks for.
const GUARD_REFUSAL: &str = "nothing was deleted.";

/// True when a run's error is the mass-delete guard's refusal.
pub fn is_guard_refusal(error: &str) -> bool {
    error.contains(GUARD_REFUSAL) && error.contains("--allow-mass-delete")
}

/// Marks what the pass of run `run_id` did not see; returns the rows marked.
pub async fn detect(
    rec: &Reconciler,
    run_id: i64,
    started_at: NaiveDateTime,
    req: &RunRequest,
) -> anyhow::Result<usize> {
    let mut marked = 0;
    if req.covers(Only::Contacts) {
        let pool = rec.pool.clone();
        let allow = req.allow_mass_delete;
        let gone_as_of = upstream_now(rec);
        let source_start = source_start(rec, started_at);
        marked += blocking(&pool, move |conn| {
            let unseen = contacts::unseen(conn, run_id, started_at, source_start)?;
            guard("contacts", unseen.len(), contacts::count_live(conn)?, allow)?;
            let now = now();
            Ok(write_tx_retrying(conn, |c| {
                contacts::mark_deleted(c, &unseen, gone_as_of, now)
            })?)
        })
        .await?;
    }
    if req.covers(Only::Deals) {
        marked += detect_deals(rec, run_id, started_at, req.allow_mass_delete).await?;
    }
    Ok(marked)
}

/// Deals are read by offset under a sort with ties, which can skip live deals, so every
/// candidate is confirmed with `GET /deals/{id}`: a 404 marks it deleted, a 200 writes it
/// (and counts it seen). The mass-deletion guard applies to the confirmed deletions; once
/// they exceed it without `--allow-mass-delete`, confirming stops and nothing is marked.
async fn detect_deals(
    rec: &Reconciler,
    run_id: i64,
    started_at: NaiveDateTime,
    allow: bool,
) -> anyhow::Result<usize> {
    let pool = rec.pool.clone();
    let source_start = source_start(rec, started_at);
    let (unseen, live) = blocking(&pool, move |conn| {
        Ok((
            deals::unseen(conn, run_id, started_at, source_start)?,
            deals::count_live(conn)?,
        ))
    })
    .await?;
    if !unseen.is_empty() {
        tracing::info!(
            candidates = unseen.len(),
            "confirming deals the full pass did not see"
        );
    }
    let mut gone = Vec::new();
    let mut found = Vec::new();
    let mut refused = false;
    for id in &unseen {
        match rec
            .client
            .deal(*id)
            .await
            .with_context(|| format!("Failed to confirm that deal {id} is gone"))?
        {
            None => gone.push(*id),
            Some(deal) => found.push(deal),
        }
        if !allow && too_many(gone.len(), live) {
            refused = true;
            break;
        }
    }
    let pool = rec.pool.clone();
    let as_of = upstream_now(rec);
    let gone_now = if refused { Vec::new() } else { gone.clone() };
    let marked = blocking(&pool, move |conn| {
        let now = now();
        Ok(write_tx_retrying(conn, |c| {
            pages::apply_deals(c, &found, as_of, Some(run_id), now)?;
            deals::mark_deleted(c, &gone_now, as_of, now)
        })?)
    })
    .await?;
    if refused {
        anyhow::bail!(
            "the full run would mark at least {} of {live} deals deleted (more than 10%, each confirmed \
             gone with GET /deals/{{id}}); {GUARD_REFUSAL} If ActiveCampaign really lost them, \
             run `acmirror resync --full --allow-mass-delete`",
            gone.len()
        );
    }
    Ok(marked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_refusal_is_recognised_by_what_it_says() {
        let refusal = guard("contacts", 500, 1_000, false).expect_err("too many");
        assert!(is_guard_refusal(&format!("{refusal:#}")));
        assert!(guard("contacts", 500, 1_000, true).is_ok());
        assert!(!is_guard_refusal(
            "the API answered 500 for GET /contacts; nothing was deleted."
        ));
    }
}

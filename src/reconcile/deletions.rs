//! Deletion detection after a full pass. ActiveCampaign sends no delete events and lists no
//! tombstones, so a row the full pass did not see is gone upstream. Rows are marked, never
//! removed, and only after the whole pass completed.

use anyhow::Context;
use chrono::NaiveDateTime;

use super::{pages, Only, Reconciler, RunRequest};
use crate::db::write_tx;
use crate::mirror::{contacts, deals, now};

/// A full run may mark at most this share of a table deleted without `--allow-mass-delete`…
const MASS_DELETE_SHARE: f64 = 0.10;
/// …unless it is at most this many rows.
const MASS_DELETE_ROWS: usize = 100;
/// Deals are read by offset, which can skip rows when deals are deleted during the pass, so
/// candidates are confirmed one by one (a 404) when there are no more than this many.
const VERIFY_DEALS_UP_TO: usize = 200;

/// Refuses a deletion of more than 10% (and more than 100 rows) of a table unless allowed.
pub(super) fn guard(table: &str, candidates: usize, live: i64, allow: bool) -> anyhow::Result<()> {
    let too_many =
        candidates > MASS_DELETE_ROWS && (candidates as f64) > MASS_DELETE_SHARE * live as f64;
    if too_many && !allow {
        anyhow::bail!(
            "the full run would mark {candidates} of {live} {table} deleted (more than 10%); nothing was deleted. \
             If ActiveCampaign really lost them, run `acmirror resync --full --allow-mass-delete`"
        );
    }
    Ok(())
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
        marked += tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
            let mut conn = pool.get()?;
            let unseen = contacts::unseen(&mut conn, run_id, started_at)?;
            guard(
                "contacts",
                unseen.len(),
                contacts::count_live(&mut conn)?,
                allow,
            )?;
            let at = now();
            Ok(write_tx(&mut conn, |c| {
                contacts::mark_deleted(c, &unseen, at, at)
            })?)
        })
        .await??;
    }
    if req.covers(Only::Deals) {
        marked += detect_deals(rec, run_id, started_at, req.allow_mass_delete).await?;
    }
    Ok(marked)
}

async fn detect_deals(
    rec: &Reconciler,
    run_id: i64,
    started_at: NaiveDateTime,
    allow: bool,
) -> anyhow::Result<usize> {
    let pool = rec.pool.clone();
    let (unseen, live) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut conn = pool.get()?;
        Ok((
            deals::unseen(&mut conn, run_id, started_at)?,
            deals::count_live(&mut conn)?,
        ))
    })
    .await??;
    guard("deals", unseen.len(), live, allow)?;
    let mut gone = Vec::new();
    let mut found = Vec::new();
    if unseen.len() <= VERIFY_DEALS_UP_TO {
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
        }
    } else {
        gone = unseen;
    }
    let pool = rec.pool.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        let mut conn = pool.get()?;
        let at = now();
        Ok(write_tx(&mut conn, |c| {
            pages::apply_deals(c, &found, at, Some(run_id), at)?;
            deals::mark_deleted(c, &gone, at, at)
        })?)
    })
    .await?
}

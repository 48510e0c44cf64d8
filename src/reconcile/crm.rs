//! The wider CRM tables in full runs: accounts, account contacts, custom field values of
//! accounts and deals, and deals' secondary contacts.
//!
//! None of these collections documents a filter by modification time, so a full run reads each
//! whole, 100 per request, writing page by page through the versioned write path and marking
//! every row it reads. Accounts the pass did not see are confirmed gone one request each (when
//! few enough, as for notes) and marked deleted; account contacts it did not see, and that no
//! delivery wrote while it ran, are marked deleted too and such values emptied (tombstones, so
//! that an older delivery cannot bring them back), and deal contacts removed. The mass-deletion guard applies to each. A
//! collection the API refuses (403) is left alone with a warning.

use std::collections::BTreeSet;
use std::future::Future;

use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::QueryResult;

use super::deletions::guard;
use super::passes::as_of;
use super::Reconciler;
use crate::activecampaign::{
    Account, AccountContact, ApiError, CrmPage, CustomFieldValue, DealContact,
};
use crate::db::{blocking, write_tx_retrying, DbConn};
use crate::mirror::crm::{
    self, account_rows, AccountContactState, AccountState, DealContactRow, FieldValue, Object,
    Swept,
};
use crate::time::{now, source_time, SourceTime};

/// Account deletion candidates confirmed one by one up to this many.
const CONFIRM_UP_TO: usize = 200;

/// What a pass over CRM collections did (this one, and campaigns and messages).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrmOutcome {
    /// Records read from the API.
    pub fetched: usize,
    /// Rows whose mirrored state changed, associations and values gone upstream included.
    pub changed: usize,
    /// Records marked deleted or removed (accounts; campaigns and messages).
    pub deleted: usize,
}

fn account_state(a: &Account, fetched_at: SourceTime) -> AccountState {
    AccountState {
        id: a.id,
        name: a.name.clone(),
        url: a.url.clone().filter(|u| !u.is_empty()),
        owner_id: a.owner,
        created_at: source_time(a.created),
        source_time: source_time(a.updated)
            .or(source_time(a.created))
            .unwrap_or(fetched_at),
    }
}

/// Writes a page of accounts; returns how many changed.
fn apply_accounts(
    c: &mut DbConn,
    page: &[Account],
    at: SourceTime,
    seen: i64,
) -> QueryResult<usize> {
    let ids: Vec<i64> = page.iter().map(|a| a.id).collect();
    let revived: BTreeSet<i64> = account_rows::deleted_among(c, &ids)?.into_iter().collect();
    account_rows::revive(c, &ids)?;
    let before = crm::accounts_of(c, &ids)?;
    let states: Vec<AccountState> = page.iter().map(|a| account_state(a, at)).collect();
    let changed = states
        .iter()
        .filter(|s| {
            revived.contains(&s.id)
                || before.get(&s.id) != Some(&(s.name.clone(), s.url.clone(), s.owner_id))
        })
        .count();
    crm::upsert_accounts(c, &states, now())?;
    account_rows::mark_seen(c, &ids, seen)?;
    Ok(changed)
}

fn apply_values(
    c: &mut DbConn,
    object: Object,
    page: &[CustomFieldValue],
    at: SourceTime,
    seen: i64,
) -> QueryResult<usize> {
    let owners: Vec<i64> = page.iter().map(|v| v.owner_id).collect();
    let before = crm::values_of(c, object, &owners)?;
    let changed = page
        .iter()
        .filter(|v| before.get(&(v.owner_id, v.field_id)) != Some(&v.value))
        .count();
    let rows: Vec<FieldValue> = page
        .iter()
        .map(|v| FieldValue {
            owner: v.owner_id,
            field: v.field_id,
            value: v.value.clone(),
            at,
        })
        .collect();
    crm::upsert_values(c, object, &rows, Some(seen), now())?;
    Ok(changed)
}

fn apply_account_contacts(
    c: &mut DbConn,
    page: &[AccountContact],
    at: SourceTime,
    seen: i64,
) -> QueryResult<usize> {
    let ids: Vec<i64> = page.iter().map(|a| a.id).collect();
    let before = crm::account_contacts_of(c, &ids)?;
    let rows: Vec<AccountContactState> = page
        .iter()
        .map(|a| AccountContactState {
            id: a.id,
            account_id: a.account,
            contact_id: a.contact,
            job_title: a.job_title.clone().filter(|j| !j.is_empty()),
            at: source_time(a.updated).unwrap_or(at),
        })
        .collect();
    let changed = rows
        .iter()
        .filter(|r| before.get(&r.id) != Some(&(r.account_id, r.contact_id, r.job_title.clone())))
        .count();
    crm::upsert_account_contacts(c, &rows, Some(seen), now())?;
    Ok(changed)
}

fn apply_deal_contacts(c: &mut DbConn, page: &[DealContact], seen: i64) -> QueryResult<usize> {
    let ids: Vec<i64> = page.iter().map(|d| d.id).collect();
    let before = crm::deal_contacts_of(c, &ids)?;
    let rows: Vec<DealContactRow> = page
        .iter()
        .map(|d| DealContactRow {
            id: d.id,
            deal_id: d.deal,
            contact_id: d.contact,
            role_id: d.role,
            created_at: source_time(d.cdate),
        })
        .collect();
    let changed = rows
        .iter()
        .filter(|r| before.get(&r.id) != Some(&(r.deal_id, r.contact_id, r.role_id)))
        .count();
    crm::upsert_deal_contacts(c, &rows, seen, now())?;
    Ok(changed)
}

/// How one collection's pass ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Read {
    /// Every page was read and written: records read, rows changed.
    Complete(usize, usize),
    /// The API refused the collection (403: a plan without the feature, or a user without
    /// the permission); nothing of it is removed.
    Forbidden,
}

impl Read {
    /// Records read and rows changed (none when refused).
    pub(super) fn counts(self) -> (usize, usize) {
        match self {
            Read::Complete(fetched, changed) => (fetched, changed),
            Read::Forbidden => (0, 0),
        }
    }
}

/// Reads every page of one collection (`what`, for messages) and writes each in its own
/// transaction as it comes, marked with run `run_id`.
pub(super) async fn each_page<T, F, Fut>(
    rec: &Reconciler,
    what: &'static str,
    read: F,
    write: fn(&mut DbConn, &[T], SourceTime, i64) -> QueryResult<usize>,
    run_id: i64,
) -> anyhow::Result<Read>
where
    T: Send + 'static,
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<CrmPage<T>, ApiError>>,
{
    let (mut fetched, mut changed, mut offset) = (0, 0, 0u64);
    loop {
        let page = match read(offset).await {
            Ok(page) => page,
            Err(e) if e.is_forbidden() => {
                tracing::warn!(
                    error = %e,
                    "the API refuses {what} to this token (a plan without them, or a user \
                     without the permission); {what} are not mirrored and nothing is removed \
                     from them"
                );
                return Ok(Read::Forbidden);
            }
            Err(e) => return Err(e).with_context(|| format!("Failed to read {what} from the API")),
        };
        let (n, is_last, at) = (page.len(), page.is_last, as_of(page.served_at));
        fetched += n;
        offset += n as u64;
        let items = page.items;
        changed += blocking(&rec.pool, move |conn| {
            Ok(write_tx_retrying(conn, |c| write(c, &items, at, run_id))?)
        })
        .await?;
        if is_last || n == 0 {
            return Ok(Read::Complete(fetched, changed));
        }
    }
}

/// Removes (or, for values, empties) the rows of `table` that full run `run_id` did not see,
/// under the mass-deletion guard; returns the rows.
pub(super) async fn sweep(
    rec: &Reconciler,
    table: Swept,
    run_id: i64,
    started: NaiveDateTime,
    allow_mass_delete: bool,
) -> anyhow::Result<usize> {
    let (unseen, all) = blocking(&rec.pool, move |conn| {
        Ok(crm::unseen_count(conn, table, run_id, started)?)
    })
    .await?;
    guard(table.table(), unseen as usize, all, allow_mass_delete)?;
    let gone_as_of = rec.client.upstream_now().naive_utc();
    blocking(&rec.pool, move |conn| {
        Ok(write_tx_retrying(conn, |c| {
            crm::remove_unseen(c, table, run_id, started, gone_as_of)
        })?)
    })
    .await
}

/// Reads the wider CRM collections in run `run_id` (started at `started`, host clock) and, in a
/// full run (`remove`), removes what is gone upstream.
pub async fn reconcile(
    rec: &Reconciler,
    run_id: i64,
    started: NaiveDateTime,
    remove: bool,
    allow_mass_delete: bool,
) -> anyhow::Result<CrmOutcome> {
    let client = rec.client.clone();
    let accounts = each_page(
        rec,
        "accounts",
        |o| client.accounts_page(o),
        apply_accounts,
        run_id,
    )
    .await?;
    let account_contacts = each_page(
        rec,
        "account contacts",
        |o| client.account_contacts_page(o),
        apply_account_contacts,
        run_id,
    )
    .await?;
    let account_values = each_page(
        rec,
        "account custom field values",
        |o| client.account_values_page(o),
        |c, p, at, run| apply_values(c, Object::Account, p, at, run),
        run_id,
    )
    .await?;
    let deal_values = each_page(
        rec,
        "deal custom field values",
        |o| client.deal_values_page(o),
        |c, p, at, run| apply_values(c, Object::Deal, p, at, run),
        run_id,
    )
    .await?;
    let deal_contacts = each_page(
        rec,
        "deal contacts",
        |o| client.deal_contacts_page(o),
        |c, p, _, run| apply_deal_contacts(c, p, run),
        run_id,
    )
    .await?;
    let mut out = CrmOutcome::default();
    for read in [
        accounts,
        account_contacts,
        account_values,
        deal_values,
        deal_contacts,
    ] {
        let (fetched, changed) = read.counts();
        out.fetched += fetched;
        out.changed += changed;
    }
    if !remove {
        return Ok(out);
    }
    if accounts != Read::Forbidden {
        out.deleted += delete_accounts(rec, run_id, started, allow_mass_delete).await?;
    }
    for (table, read) in [
        (Swept::AccountContacts, account_contacts),
        (Swept::AccountFieldValues, account_values),
        (Swept::DealFieldValues, deal_values),
        (Swept::DealContacts, deal_contacts),
    ] {
        if read != Read::Forbidden {
            // An association or value gone upstream is drift repaired, not a record deleted.
            out.changed += sweep(rec, table, run_id, started, allow_mass_delete).await?;
        }
    }
    Ok(out)
}

/// Marks accounts the pass did not see deleted, each confirmed gone with `GET /accounts/{id}`
/// when there are few enough (offset pages can skip a record when others are deleted
/// meanwhile); returns the accounts marked.
async fn delete_accounts(
    rec: &Reconciler,
    run_id: i64,
    started: NaiveDateTime,
    allow: bool,
) -> anyhow::Result<usize> {
    let source_start = super::deletions::source_start(rec, started);
    let (unseen, live) = blocking(&rec.pool, move |conn| {
        Ok((
            account_rows::unseen(conn, run_id, started, source_start)?,
            account_rows::count_live(conn)?,
        ))
    })
    .await?;
    guard("accounts", unseen.len(), live, allow)?;
    let mut gone = Vec::new();
    let mut alive = Vec::new();
    for id in unseen {
        if gone.len() + alive.len() >= CONFIRM_UP_TO {
            gone.push(id);
            continue;
        }
        match rec
            .client
            .account(id)
            .await
            .with_context(|| format!("Failed to confirm that account {id} is gone"))?
        {
            None => gone.push(id),
            Some(a) => alive.push(a),
        }
    }
    let as_of = rec.client.upstream_now().naive_utc();
    blocking(&rec.pool, move |conn| {
        let now = now();
        Ok(write_tx_retrying(conn, |c| {
            apply_accounts(c, &alive, as_of, run_id)?;
            account_rows::mark_deleted(c, &gone, as_of, now)
        })?)
    })
    .await
}

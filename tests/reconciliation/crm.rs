//! The wider CRM tables: accounts, the contacts at them, custom fields of deals and accounts,
//! deals' secondary contacts, and what deal records add (account, win probability, next task
//! date). Webhooks keep them current where ActiveCampaign sends any; full runs repair the rest
//! and remove what is gone upstream.

use std::collections::BTreeMap;

use acmirror::db::schema::{account_contacts, accounts, deals};
use acmirror::reconcile::Mode;
use acmirror_sim::fake_ac::{FakeAcConfig, WebhookFaults};
use acmirror_sim::harness::{readme_query, SimWorld};
use diesel::prelude::*;
use serde_json::Value;

fn config(seed: u64) -> FakeAcConfig {
    FakeAcConfig {
        seed,
        contacts: 400,
        deals: 150,
        rate_limit: 0,
        ..FakeAcConfig::default()
    }
}

fn show(d: &[acmirror_sim::truth::Difference]) -> String {
    d.iter().take(10).map(|d| format!("  {d}\n")).collect()
}

/// Deletes account `id` in the simulated account, as a user would in ActiveCampaign.
async fn delete_upstream_account(w: &SimWorld, id: i64) {
    let status = reqwest::Client::new()
        .delete(format!("{}/api/3/accounts/{id}", w.sim.base_url()))
        .header("Api-Token", w.sim.api_token())
        .send()
        .await
        .expect("the simulator answers")
        .status();
    assert_eq!(status, 200);
}

/// Every deal the simulator's API shows, by id.
async fn api_deals(w: &SimWorld) -> BTreeMap<i64, Value> {
    let http = reqwest::Client::new();
    let mut out = BTreeMap::new();
    for offset in (0..).step_by(100) {
        let page: Value = http
            .get(format!(
                "{}/api/3/deals?orders[cdate]=ASC&limit=100&offset={offset}",
                w.sim.base_url()
            ))
            .header("Api-Token", w.sim.api_token())
            .send()
            .await
            .expect("the simulator answers")
            .json()
            .await
            .expect("JSON");
        let list = page["deals"].as_array().expect("deals").clone();
        let n = list.len();
        for d in list {
            let id = d["id"].as_str().and_then(|s| s.parse().ok()).expect("id");
            out.insert(id, d);
        }
        if n < 100 {
            return out;
        }
    }
    out
}

#[tokio::test]
async fn a_first_run_mirrors_every_crm_table_and_deal_columns() {
    let w = SimWorld::start(config(51)).await;
    let s = w.reconcile(Mode::Incremental).await;
    let diff = w.differences().await;
    assert!(
        diff.is_empty(),
        "{} differences:\n{}",
        diff.len(),
        show(&diff)
    );
    let truth = w.sim.truth();
    assert!(
        truth.accounts.len() >= 10,
        "{} accounts",
        truth.accounts.len()
    );
    assert!(truth.account_contacts.len() > 50);
    assert!(truth.deal_field_values.len() > 50);
    assert!(!truth.deal_contacts.is_empty());
    assert!(truth.deals.values().any(|d| d.account_id.is_some()));
    assert!(
        s.counters.fetched as usize > 400 + 150 + truth.accounts.len(),
        "the CRM collections count as fetched: {}",
        s.counters.fetched
    );

    // Win probability and the next task's due time are as the API shows them.
    w.sim.run_changes(800).await;
    w.reconcile(Mode::Full).await;
    let api = api_deals(&w).await;
    let mirrored: Vec<(i64, Option<i32>, Option<chrono::NaiveDateTime>)> = w
        .app
        .with_conn(|c| {
            deals::table
                .filter(deals::deleted_at.is_null())
                .select((deals::id, deals::win_probability, deals::next_task_at))
                .load(c)
                .expect("read")
        })
        .await;
    let mut with_task = 0;
    for (id, win, next) in mirrored {
        let d = &api[&id];
        let api_win = d["winProbability"].as_i64().map(|p| p as i32);
        let api_next = d["nextdate"].as_str().map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .expect("offset time")
                .naive_utc()
        });
        assert_eq!((win, next), (api_win, api_next), "deal {id}");
        with_task += usize::from(next.is_some());
    }
    assert!(with_task > 0, "some deals have an open task");
}

#[tokio::test]
async fn lost_account_and_deal_field_deliveries_and_silent_changes_wait_for_a_full_run() {
    let w = SimWorld::start(config(52)).await;
    w.reconcile(Mode::Full).await;
    w.sim.run_changes(300).await;
    let d = w.differences().await;
    assert!(
        d.is_empty(),
        "lossless webhooks keep the mirror exact:\n{}",
        show(&d)
    );

    // Every delivery lost; secondary contacts change with no event at all.
    w.sim.set_webhook_faults(WebhookFaults {
        drop: 1.0,
        ..WebhookFaults::default()
    });
    w.sim.run_changes(400).await;
    let churn = w.sim.churn_notes_and_tasks(60);
    assert!(churn.deal_contacts_changed > 0, "{churn:?}");
    let before = w.differences().await;
    for table in [
        "accounts",
        "account_contacts",
        "deal_field_values",
        "deal_contacts",
    ] {
        assert!(
            before.iter().any(|d| d.table == table),
            "lost deliveries left {table} behind:\n{}",
            show(&before)
        );
    }
    let full = w.reconcile(Mode::Full).await;
    let after = w.differences().await;
    assert!(
        after.is_empty(),
        "{} differences:\n{}",
        after.len(),
        show(&after)
    );
    assert!(full.counters.changed > 0);
}

#[tokio::test]
async fn an_account_deleted_upstream_is_marked_and_its_contacts_removed() {
    let w = SimWorld::start(config(53)).await;
    w.reconcile(Mode::Full).await;
    let truth = w.sim.truth();
    // The account with the most contacts.
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for l in truth.account_contacts.values() {
        *counts.entry(l.account_id).or_default() += 1;
    }
    let (&gone, &members) = counts
        .iter()
        .max_by_key(|(_, n)| **n)
        .expect("linked accounts");
    assert!(members > 0);
    delete_upstream_account(&w, gone).await;

    let full = w.reconcile(Mode::Full).await;
    assert_eq!(full.counters.deleted, 1, "the account");
    assert!(
        full.counters.changed as usize >= members,
        "its {members} contacts left it: {} changes",
        full.counters.changed
    );
    let (deleted_at, links, deals_left) = w
        .app
        .with_conn(move |c| {
            let deleted_at: Option<chrono::NaiveDateTime> = accounts::table
                .filter(accounts::id.eq(gone))
                .select(accounts::deleted_at)
                .first(c)
                .expect("the row is kept");
            let links: i64 = account_contacts::table
                .filter(account_contacts::account_id.eq(gone))
                .filter(account_contacts::deleted_at.is_null())
                .count()
                .get_result(c)
                .expect("count");
            let deals_left: i64 = deals::table
                .filter(deals::account_id.eq(gone))
                .count()
                .get_result(c)
                .expect("count");
            (deleted_at, links, deals_left)
        })
        .await;
    assert!(deleted_at.is_some(), "marked deleted, not removed");
    assert_eq!(links, 0, "its contacts left it");
    assert_eq!(deals_left, 0, "its deals show no account");
    let d = w.differences().await;
    assert!(d.is_empty(), "{}", show(&d));

    // A delivery from before the removal, arriving late, does not bring a contact back.
    let (link, l) = truth
        .account_contacts
        .iter()
        .find(|(_, l)| l.account_id == gone)
        .expect("a contact of the deleted account");
    let stale = format!(
        "type=account_contact_update&date_time=2020-01-01T10%3A00%3A00-06%3A00\
         &initiated_from=admin&initiated_by=admin&accountContact%5Bid%5D={link}\
         &accountContact%5Baccount%5D={gone}&accountContact%5Bcontact%5D={}\
         &accountContact%5Bjob_title%5D=CEO",
        l.contact_id
    );
    assert_eq!(w.app.post(&stale).await, 200);
    let d = w.differences().await;
    assert!(
        d.is_empty(),
        "a stale delivery revived a removed contact: {}",
        show(&d)
    );
}

#[tokio::test]
async fn the_readme_queries_report_won_revenue_and_contacts_per_account() {
    let w = SimWorld::start(config(54)).await;
    w.reconcile(Mode::Full).await;
    w.sim.run_changes(200).await;
    let d = w.differences().await;
    assert!(d.is_empty(), "{}", show(&d));
    let truth = w.sim.truth();

    // What the queries must say, from the simulator's own state.
    let mut won: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for deal in truth.deals.values().filter(|d| d.status == Some(1)) {
        if let Some(a) = deal.account_id.and_then(|id| truth.accounts.get(&id)) {
            let e = won.entry(a.name.clone()).or_default();
            *e = (e.0 + 1, e.1 + deal.value_cents.unwrap_or(0));
        }
    }
    let mut members: BTreeMap<String, i64> = BTreeMap::new();
    for l in truth.account_contacts.values() {
        if truth.contacts.contains_key(&l.contact_id) {
            let name = truth.accounts[&l.account_id].name.clone();
            *members.entry(name).or_default() += 1;
        }
    }
    assert!(!won.is_empty() && !members.is_empty());

    #[derive(diesel::QueryableByName)]
    struct Won {
        #[diesel(sql_type = diesel::sql_types::Text)]
        account: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        won_deals: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        won_cents: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Members {
        #[diesel(sql_type = diesel::sql_types::Text)]
        account: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        contacts: String,
    }
    // Read as text, so that the queries' own types (numeric on PostgreSQL, integer on SQLite)
    // need no mapping.
    let won_sql = format!(
        "SELECT CAST(account AS TEXT) AS account, CAST(won_deals AS TEXT) AS won_deals, \
         CAST(won_cents AS TEXT) AS won_cents FROM ({}) q",
        readme_query("Won revenue per account, in cents")
    );
    let members_sql = format!(
        "SELECT CAST(account AS TEXT) AS account, CAST(contacts AS TEXT) AS contacts FROM ({}) q",
        readme_query("Contacts per account")
    );
    let (won_rows, member_rows): (Vec<Won>, Vec<Members>) = w
        .app
        .with_conn(move |c| {
            (
                diesel::sql_query(won_sql).load(c).expect("the query runs"),
                diesel::sql_query(members_sql)
                    .load(c)
                    .expect("the query runs"),
            )
        })
        .await;
    let got_won: BTreeMap<String, (i64, i64)> = won_rows
        .into_iter()
        .map(|r| {
            let n = |s: &str| s.parse::<i64>().expect("an integer");
            (r.account, (n(&r.won_deals), n(&r.won_cents)))
        })
        .collect();
    let got_members: BTreeMap<String, i64> = member_rows
        .into_iter()
        .map(|r| (r.account, r.contacts.parse().expect("an integer")))
        .collect();
    assert_eq!(got_won, won);
    assert_eq!(got_members, members);
}

/// Live accounts and account contacts in the mirror.
async fn live_accounts_and_links(w: &SimWorld) -> (i64, i64) {
    w.app
        .with_conn(|c| {
            let accounts: i64 = accounts::table
                .filter(accounts::deleted_at.is_null())
                .count()
                .get_result(c)
                .expect("count");
            let links: i64 = account_contacts::table
                .filter(account_contacts::deleted_at.is_null())
                .count()
                .get_result(c)
                .expect("count");
            (accounts, links)
        })
        .await
}

#[tokio::test]
async fn collections_the_api_refuses_are_left_alone_and_the_rest_is_read() {
    let w = SimWorld::start(config(55)).await;
    w.reconcile(Mode::Full).await;
    let before = live_accounts_and_links(&w).await;
    // An account deleted upstream, then a plan or a user that may not read accounts.
    delete_upstream_account(&w, 1).await;
    w.sim.set_api_faults(acmirror_sim::fake_ac::ApiFaults {
        forbidden_collections: vec![
            "accounts".into(),
            "accountContacts".into(),
            "campaigns".into(),
        ],
        ..Default::default()
    });
    w.sim
        .lost_changes(acmirror_sim::fake_ac::LostChange::FieldValue, 5);
    let full = w.reconcile(Mode::Full).await;
    assert!(
        full.counters.changed >= 5,
        "the rest is read: {:?}",
        full.counters
    );
    assert_eq!(
        live_accounts_and_links(&w).await,
        before,
        "nothing is removed from a collection the API refused"
    );
    let d = w.differences().await;
    assert!(
        d.iter()
            .all(|d| ["accounts", "account_contacts"].contains(&d.table)),
        "only the refused collections differ:\n{}",
        show(&d)
    );
}

//! The dimension tables read in full by every reconciliation: users, so that `deals.owner_id`
//! reports as a name (the README's query over them runs as written), and the options of choice
//! fields, of which a field's own list says which are gone.

use std::collections::BTreeMap;

use acmirror::reconcile::Mode;
use acmirror_sim::fake_ac::FakeAcConfig;
use acmirror_sim::harness::{readme_query, SimWorld};
use diesel::RunQueryDsl;

#[tokio::test]
async fn users_arrive_and_open_pipeline_value_reports_by_owner_name() {
    let w = SimWorld::start(FakeAcConfig {
        seed: 41,
        contacts: 120,
        deals: 80,
        rate_limit: 0,
        ..FakeAcConfig::default()
    })
    .await;
    let s = w.reconcile(Mode::Incremental).await;
    assert!(s.counters.changed > 0);
    let diff = w.differences().await;
    assert!(diff.is_empty(), "{:?}", &diff[..diff.len().min(10)]);
    let truth = w.sim.truth();
    assert!(truth.users.len() >= 2, "the simulator has several users");

    // What the query must say, from the simulator's own state.
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for d in truth.deals.values().filter(|d| d.status == Some(0)) {
        let Some(user) = d.owner_id.and_then(|id| truth.users.get(&id)) else {
            continue;
        };
        let name = format!("{} {}", user.first_name, user.last_name);
        *expected.entry(name).or_default() += d.value_cents.unwrap_or(0);
    }
    assert!(!expected.is_empty(), "some open deals have owners");

    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        owner: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        open_cents: String,
    }
    // Read as text, so that the query's own types (numeric on PostgreSQL, integer on SQLite)
    // need no mapping.
    let sql = format!(
        "SELECT CAST(owner AS TEXT) AS owner, CAST(open_cents AS TEXT) AS open_cents FROM ({}) q",
        readme_query("Open pipeline value by owner, in cents")
    );
    let rows: Vec<Row> = w
        .app
        .with_conn(move |c| diesel::sql_query(sql).load(c).expect("the query runs"))
        .await;
    let got: BTreeMap<String, i64> = rows
        .into_iter()
        .map(|r| (r.owner, r.open_cents.parse().expect("an integer sum")))
        .collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn a_user_changed_in_the_mirror_is_put_back_by_the_next_run() {
    use acmirror::mirror::dimensions::{upsert_users, User};
    let w = SimWorld::start(FakeAcConfig {
        seed: 42,
        contacts: 20,
        deals: 10,
        rate_limit: 0,
        ..FakeAcConfig::default()
    })
    .await;
    w.reconcile(Mode::Incremental).await;
    let (id, truth) = w.sim.truth().users.into_iter().next().expect("a user");
    let stale = User {
        id,
        username: truth.username.clone(),
        first_name: "Someone".into(),
        last_name: "Else".into(),
        email: truth.email.clone(),
    };
    let written = w
        .app
        .with_conn(move |c| {
            let first = upsert_users(c, std::slice::from_ref(&stale)).expect("write");
            let again = upsert_users(c, &[stale]).expect("write");
            (first, again)
        })
        .await;
    assert_eq!(
        written,
        (1, 0),
        "a changed row counts once, an equal one not at all"
    );
    let users = w.differences().await;
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0].table, "users");
    let s = w.reconcile(Mode::Incremental).await;
    assert!(s.counters.changed >= 1);
    assert!(w.differences().await.is_empty());
}

#[tokio::test]
async fn field_options_arrive_and_an_option_a_field_no_longer_lists_is_removed() {
    use acmirror::mirror::dimensions::{replace_field_options, FieldOption};
    use std::collections::HashMap;
    let w = SimWorld::start(FakeAcConfig {
        seed: 43,
        contacts: 20,
        deals: 10,
        rate_limit: 0,
        ..FakeAcConfig::default()
    })
    .await;
    w.reconcile(Mode::Incremental).await;
    assert!(w.differences().await.is_empty());
    let truth = w.sim.truth();
    let (&first_id, first) = truth
        .field_options
        .iter()
        .next()
        .expect("the simulator has choice fields");
    let field = first.field_id;
    let listed: Vec<i64> = truth
        .field_options
        .iter()
        .filter(|(_, o)| o.field_id == field)
        .map(|(id, _)| *id)
        .collect();
    let gone = FieldOption {
        id: 999_999,
        field_id: field,
        value: "Klingon".into(),
        label: "Klingon".into(),
        ordernum: Some(99),
    };
    let (kept, removed) = w
        .app
        .with_conn(move |c| {
            // A field whose record did not list its options keeps what the mirror has.
            let kept = replace_field_options(c, std::slice::from_ref(&gone), &HashMap::new())
                .expect("write");
            let count = |c: &mut acmirror::db::DbConn| -> i64 {
                use acmirror::db::schema::field_options as fo;
                use diesel::prelude::*;
                fo::table
                    .filter(fo::id.eq(999_999))
                    .count()
                    .get_result(c)
                    .expect("count")
            };
            let after_kept = count(c);
            // Its own list, without the option, removes it.
            let complete = HashMap::from([(field, listed)]);
            let removed = replace_field_options(c, &[], &complete).expect("write");
            (kept + after_kept as usize, removed + count(c) as usize)
        })
        .await;
    assert_eq!(kept, 2, "written once, then still there");
    assert_eq!(removed, 1, "removed once, then gone");
    assert!(w.differences().await.is_empty());

    // Upstream state wins over the mirror's on the next run: a relabelled option is put back,
    // an option the field does not list is removed.
    w.app
        .with_conn(move |c| {
            let odd = [
                FieldOption {
                    id: first_id,
                    field_id: field,
                    value: "changed".into(),
                    label: "changed".into(),
                    ordernum: None,
                },
                FieldOption {
                    id: 999_998,
                    field_id: field,
                    value: "extra".into(),
                    label: "extra".into(),
                    ordernum: None,
                },
            ];
            replace_field_options(c, &odd, &HashMap::new()).expect("write")
        })
        .await;
    assert_eq!(w.differences().await.len(), 2);
    w.reconcile(Mode::Incremental).await;
    assert!(w.differences().await.is_empty());
}

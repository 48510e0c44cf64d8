//! Account deliveries (`account_add`, `account_update`, `account_contact_add`,
//! `account_contact_update`) and the account and custom fields of deal deliveries.

use acmirror::db::schema::{
    account_contacts as ac, account_field_values as afv, accounts, deal_field_values as dfv, deals,
};
use acmirror::db::DbConn;
use acmirror_sim::harness::fixtures::{self, form};
use acmirror_sim::harness::TestApp;
use diesel::prelude::*;

fn account(c: &mut DbConn) -> (String, Option<String>, Option<chrono::NaiveDateTime>) {
    accounts::table
        .filter(accounts::id.eq(7))
        .select((accounts::name, accounts::url, accounts::created_at))
        .first(c)
        .expect("account 7 is mirrored")
}

fn account_values(c: &mut DbConn) -> Vec<(i64, String)> {
    afv::table
        .filter(afv::account_id.eq(7))
        .order(afv::field_id)
        .select((afv::field_id, afv::value))
        .load(c)
        .expect("read")
}

fn links(c: &mut DbConn) -> Vec<(i64, i64, i64, Option<String>)> {
    ac::table
        .order(ac::id)
        .select((ac::id, ac::account_id, ac::contact_id, ac::job_title))
        .load(c)
        .expect("read")
}

#[tokio::test]
async fn account_deliveries_write_accounts_their_values_and_contacts() {
    let app = TestApp::spawn().await;
    for body in [fixtures::ACCOUNT_ADD, fixtures::ACCOUNT_CONTACT_ADD] {
        assert_eq!(app.post(&form(body)).await, 200);
    }
    app.apply_all().await;
    let (name, url, created) = app.with_conn(account).await;
    assert_eq!(name, "Acme Integration Co");
    assert_eq!(url.as_deref(), Some("https://acme.example"));
    // 01:09:17 in Chicago (CST) is 07:09:17 UTC.
    assert_eq!(
        created.map(|t| t.to_string()).as_deref(),
        Some("2024-02-28 07:09:17")
    );
    assert_eq!(
        app.with_conn(account_values).await,
        [(1, "Software".to_owned()), (3, "||EMEA||APAC||".to_owned())],
        "the field without an id is left out; several values are joined"
    );
    assert_eq!(
        app.with_conn(links).await,
        [(17, 7, 3, Some("Product Manager".to_owned()))]
    );

    // Both casings of the account contact block are read.
    for body in [fixtures::ACCOUNT_UPDATE, fixtures::ACCOUNT_CONTACT_UPDATE] {
        assert_eq!(app.post(&form(body)).await, 200);
    }
    app.apply_all().await;
    let (name, url, _) = app.with_conn(account).await;
    assert_eq!(name, "Acme Integration Company");
    assert_eq!(url, None, "an emptied address is none");
    assert_eq!(
        app.with_conn(account_values).await,
        [(1, "Retail".to_owned()), (3, "||EMEA||APAC||".to_owned())],
        "a field the update does not carry keeps its value"
    );
    assert_eq!(
        app.with_conn(links).await,
        [(17, 7, 3, Some("Head of Product".to_owned()))]
    );
}

#[tokio::test]
async fn an_older_account_delivery_arriving_late_changes_nothing() {
    let app = TestApp::spawn().await;
    for body in [
        fixtures::ACCOUNT_UPDATE,
        fixtures::ACCOUNT_ADD,
        fixtures::ACCOUNT_CONTACT_UPDATE,
        fixtures::ACCOUNT_CONTACT_ADD,
    ] {
        assert_eq!(app.post(&form(body)).await, 200);
    }
    app.apply_all().await;
    assert_eq!(app.with_conn(account).await.0, "Acme Integration Company");
    assert_eq!(
        app.with_conn(account_values).await[0],
        (1, "Retail".to_owned())
    );
    assert_eq!(
        app.with_conn(links).await,
        [(17, 7, 3, Some("Head of Product".to_owned()))]
    );
}

#[tokio::test]
async fn deal_deliveries_carry_the_account_and_custom_field_values() {
    let app = TestApp::spawn().await;
    assert_eq!(app.post(&form(fixtures::DEAL_UPDATE_FIELDS)).await, 200);
    app.apply_all().await;
    let (account_id, values) = app
        .with_conn(|c| {
            let account: Option<i64> = deals::table
                .filter(deals::id.eq(14))
                .select(deals::account_id)
                .first(c)
                .expect("deal 14");
            let values: Vec<(i64, String)> = dfv::table
                .filter(dfv::deal_id.eq(14))
                .order(dfv::field_id)
                .select((dfv::field_id, dfv::value))
                .load(c)
                .expect("read");
            (account, values)
        })
        .await;
    assert_eq!(account_id, Some(7));
    assert_eq!(
        values,
        [(1, "2024-02-08 00:00:00".to_owned()), (2, String::new())],
        "an empty value is kept as cleared"
    );
    // `deal[orgid]=0` means no account.
    let none = fixtures::DEAL_UPDATE_FIELDS
        .replace("deal[orgid]=7", "deal[orgid]=0")
        .replace(
            "date_time=2024-02-08T10:00:00",
            "date_time=2024-02-08T11:00:00",
        );
    assert_eq!(app.post(&form(&none)).await, 200);
    app.apply_all().await;
    let account_id: Option<i64> = app
        .with_conn(|c| {
            deals::table
                .filter(deals::id.eq(14))
                .select(deals::account_id)
                .first(c)
                .expect("deal 14")
        })
        .await;
    assert_eq!(account_id, None);
}

//! List memberships from `subscribe` and `unsubscribe` deliveries: status, when the contact
//! subscribed and unsubscribed, and why.

use acmirror::db::DbConn;
use acmirror_sim::harness::fixtures::{self, form};
use acmirror_sim::harness::TestApp;
use diesel::prelude::*;

#[tokio::test]
async fn subscribe_and_unsubscribe_deliveries_record_when_and_why() {
    use acmirror::db::schema::contact_lists as cl;
    type Row = (
        i32,
        Option<chrono::NaiveDateTime>,
        Option<chrono::NaiveDateTime>,
        Option<String>,
    );
    fn membership(c: &mut DbConn) -> Row {
        cl::table
            .filter(cl::contact_id.eq(10))
            .filter(cl::list_id.eq(1))
            .select((
                cl::status,
                cl::subscribed_at,
                cl::unsubscribed_at,
                cl::unsubscribe_reason,
            ))
            .first(c)
            .expect("the membership is mirrored")
    }
    let t = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .expect("literal")
            .naive_utc()
    };
    let app = TestApp::spawn().await;
    assert_eq!(app.post(&form(fixtures::SUBSCRIBE)).await, 200);
    app.apply_all().await;
    let subscribed = t("2017-11-24T08:50:26-06:00");
    assert_eq!(
        app.with_conn(membership).await,
        (1, Some(subscribed), None, None)
    );

    // A public unsubscribe through the form says why (`unsubscribe[reason]`).
    let unsubscribe = format!(
        "{}\nunsubscribe[reason]=Too many emails",
        fixtures::UNSUBSCRIBE
    );
    assert_eq!(app.post(&form(&unsubscribe)).await, 200);
    app.apply_all().await;
    let unsubscribed = t("2017-11-24T09:33:27-06:00");
    assert_eq!(
        app.with_conn(membership).await,
        (
            2,
            Some(subscribed),
            Some(unsubscribed),
            Some("Too many emails".to_owned())
        ),
        "the subscription time stays"
    );

    // Subscribing again keeps the first subscription time and clears the rest.
    let again = fixtures::SUBSCRIBE.replace("2017-11-24T08:50:26", "2017-11-25T08:00:00");
    assert_eq!(app.post(&form(&again)).await, 200);
    app.apply_all().await;
    assert_eq!(
        app.with_conn(membership).await,
        (1, Some(subscribed), None, None)
    );
}

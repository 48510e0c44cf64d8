//! A batch that meets a delivery which fails to apply is redone with a savepoint per
//! delivery: the failing one is marked `failed`, the others are applied.

mod common;

use acmirror::app::open_database;
use acmirror::db::schema::{contacts, webhook_events as we};
use acmirror::db::write_tx;
use acmirror::metrics::Metrics;
use acmirror::mirror::now;
use acmirror::webhook::store::{insert, NewDelivery};
use acmirror::webhook::worker::drain;
use common::fixtures::{self, form};
use common::TestDb;
use diesel::prelude::*;

#[tokio::test]
async fn one_failing_delivery_does_not_stop_its_batch() {
    // Arrange: a valid update, a deal event without a deal id (fails in apply, after
    // decoding), and another valid update, stored without a daemon so that one drain pass
    // takes all three as one batch.
    let db = TestDb::new();
    let (pool, _) = open_database(&db.settings(&[])).await.expect("database");
    let first = form(&fixtures::UPDATE.replace("contact[id]=3", "contact[id]=31"));
    let broken = form("type=deal_add\ndate_time=2024-02-28T07:16:48-06:00\ninitiated_from=admin");
    let last = form(&fixtures::UPDATE.replace("contact[id]=3", "contact[id]=32"));
    let mut conn = pool.get().expect("connection");
    write_tx(&mut conn, |c| {
        for body in [&first, &broken, &last] {
            insert(c, &NewDelivery::from_body(body.clone().into_bytes(), now()))?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .expect("stored");

    // Act
    let done = drain(&pool, &Metrics::new()).expect("drain");

    // Assert
    assert_eq!((done.applied, done.failed), (2, 1));
    let statuses: Vec<String> = we::table
        .order(we::id)
        .select(we::status)
        .load(&mut conn)
        .expect("statuses");
    assert_eq!(statuses, ["applied", "failed", "applied"]);
    let ids: Vec<i64> = contacts::table
        .order(contacts::id)
        .select(contacts::id)
        .load(&mut conn)
        .expect("contacts");
    assert_eq!(ids, [31, 32]);
}

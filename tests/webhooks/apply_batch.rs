//! A batch that meets a delivery which fails to apply is redone with a savepoint per
//! delivery: the failing one is marked `failed`, the others are applied.

use acmirror::app::open_database;
use acmirror::db::schema::{contacts, webhook_events as we};
use acmirror::db::write_tx;
use acmirror::metrics::Metrics;
use acmirror::time::now;
use acmirror::webhook::store::{insert, NewDelivery};
use acmirror::webhook::worker::drain;
use acmirror_sim::harness::fixtures::{self, form};
use acmirror_sim::harness::TestDb;
use diesel::prelude::*;

#[tokio::test]
async fn one_failing_delivery_does_not_stop_its_batch() {
    // Arrange: a valid update, a deal event without a deal id (fails in apply, after
    // decoding), and another valid update, stored without a daemon so that one drain pass
    // takes all three as one batch.
    let db = TestDb::fresh();
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

/// Every mirror table with its key and columns, for comparing two mirrors row by row.
const MIRROR: &[(&str, &str, &[&str])] = &[
    (
        "contacts",
        "id",
        &[
            "id",
            "email",
            "first_name",
            "last_name",
            "phone",
            "created_at",
            "updated_at",
            "deleted_at",
            "synced_at",
            "seen_run",
            "tags_updated_at",
            "email_updated_at",
            "first_name_updated_at",
            "last_name_updated_at",
            "phone_updated_at",
        ],
    ),
    ("tags", "name", &["name", "id"]),
    (
        "contact_tag_states",
        "contact_id, tag",
        &["contact_id", "tag", "present", "updated_at"],
    ),
    (
        "contact_field_values",
        "contact_id, field_id",
        &["contact_id", "field_id", "value", "updated_at"],
    ),
    ("lists", "id", &["id", "name"]),
    (
        "contact_lists",
        "contact_id, list_id",
        &["contact_id", "list_id", "status", "updated_at"],
    ),
    ("pipelines", "id", &["id", "title"]),
    ("stages", "id", &["id", "pipeline_id", "title"]),
    (
        "deals",
        "id",
        &[
            "id",
            "title",
            "value_cents",
            "currency",
            "pipeline_id",
            "stage_id",
            "owner_id",
            "contact_id",
            "status",
            "created_at",
            "updated_at",
            "deleted_at",
            "synced_at",
            "seen_run",
        ],
    ),
    (
        "deal_notes",
        "id",
        &[
            "id",
            "deal_id",
            "note",
            "created_at",
            "updated_at",
            "deleted_at",
            "synced_at",
        ],
    ),
    (
        "deal_tasks",
        "id",
        &[
            "id",
            "deal_id",
            "task_type",
            "title",
            "note",
            "due_at",
            "done_at",
            "updated_at",
            "deleted_at",
            "synced_at",
        ],
    ),
    (
        "contact_notes",
        "id",
        &[
            "id",
            "contact_id",
            "note",
            "created_at",
            "event_id",
            "ac_id",
            "updated_at",
            "deleted_at",
            "synced_at",
        ],
    ),
];

#[derive(diesel::QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

/// Every row of every mirror table, as text.
fn dump(conn: &mut acmirror::db::DbConn) -> Vec<String> {
    let mut out = Vec::new();
    for (table, key, columns) in MIRROR {
        let line = columns
            .iter()
            .map(|c| format!("COALESCE(CAST({c} AS TEXT), '∅')"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let sql = format!("SELECT '{table}|' || {line} AS line FROM {table} ORDER BY {key}");
        let rows: Vec<Line> = diesel::sql_query(&sql).load(&mut *conn).expect("dump");
        out.extend(rows.into_iter().map(|r| r.line));
    }
    out
}

/// Empties the mirror tables and leaves one custom field with a personalisation tag.
fn reset(conn: &mut acmirror::db::DbConn) {
    for (table, _, _) in MIRROR {
        diesel::sql_query(format!("DELETE FROM {table}"))
            .execute(&mut *conn)
            .expect("emptied");
    }
    diesel::sql_query("DELETE FROM fields")
        .execute(&mut *conn)
        .expect("fields emptied");
    diesel::sql_query("INSERT INTO fields (id, title, perstag) VALUES (7, 'Source', 'UTM_SOURCE')")
        .execute(&mut *conn)
        .expect("field");
}

/// A delivery built from `seed`: any event type the mirror applies, on a handful of contacts,
/// deals and tags, at one of a few seconds (so that times tie), with keys left out at random,
/// tag names containing ", ", personalisation-tag fields (one unknown), and some broken ones.
fn random_delivery(seed: u64) -> Vec<(String, String)> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    const KINDS: &[&str] = &[
        "update",
        "update",
        "subscribe",
        "unsubscribe",
        "contact_tag_added",
        "contact_tag_removed",
        "subscriber_note",
        "open",
        "deal_add",
        "deal_update",
        "deal_note_add",
        "deal_task_add",
        "deal_task_complete",
        "deal_stage_add",
        "deal_pipeline_add",
        "list_add",
        "sent",
    ];
    const TAGS: &[&str] = &["a", "b", "a, b", "vip", "vip, gold", "gold"];
    let kind = KINDS[rng.gen_range(0..KINDS.len())];
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut kv = |k: &str, v: String| pairs.push((k.to_owned(), v));
    kv("type", kind.to_owned());
    if rng.gen_ratio(19, 20) {
        kv(
            "date_time",
            format!("2026-11-20T10:00:0{}-06:00", rng.gen_range(0..4)),
        );
    }
    let contact = rng.gen_range(1..5).to_string();
    let with_contact = !kind.starts_with("deal_") || rng.gen_bool(0.4);
    if with_contact && !matches!(kind, "deal_stage_add" | "deal_pipeline_add" | "list_add") {
        kv("contact[id]", contact.clone());
        for key in ["email", "first_name", "last_name", "phone"] {
            if rng.gen_bool(0.7) {
                let v = ["", "x", "y", "z"][rng.gen_range(0..4)];
                kv(&format!("contact[{key}]"), format!("{key}-{v}"));
            }
        }
        if rng.gen_bool(0.7) {
            let n = rng.gen_range(0..4);
            let set: Vec<&str> = (0..n).map(|_| TAGS[rng.gen_range(0..TAGS.len())]).collect();
            kv("contact[tags]", set.join(", "));
        }
        for _ in 0..rng.gen_range(0..3) {
            kv(
                &format!("contact[fields][{}]", rng.gen_range(1..4)),
                format!("v{}", rng.gen_range(0..3)),
            );
        }
        match rng.gen_range(0..10) {
            0 => kv(
                "contact[fields][utm_source]",
                format!("s{}", rng.gen_range(0..2)),
            ),
            1 => kv("contact[fields][no_such_tag]", "x".to_owned()),
            _ => {}
        }
    }
    if kind.starts_with("contact_tag") {
        kv("tag", TAGS[rng.gen_range(0..TAGS.len())].to_owned());
    }
    if matches!(kind, "subscribe" | "unsubscribe") {
        kv("list", rng.gen_range(0..3).to_string());
    }
    if kind == "subscriber_note" {
        kv(
            "note",
            ["call back", "sent the quote"][rng.gen_range(0..2)].to_owned(),
        );
    }
    if kind.starts_with("deal_")
        && !matches!(kind, "deal_stage_add" | "deal_pipeline_add")
        && rng.gen_ratio(9, 10)
    {
        kv("deal[id]", rng.gen_range(1..4).to_string());
        if rng.gen_bool(0.8) {
            kv("deal[title]", format!("Deal {}", rng.gen_range(0..3)));
        }
        kv("deal[value_raw]", rng.gen_range(0..3).to_string());
        kv("deal[status]", rng.gen_range(0..3).to_string());
        let pipeline = rng.gen_range(1..3);
        kv("deal[pipelineid]", pipeline.to_string());
        kv(
            "deal[pipeline_title]",
            format!("Pipeline {}", rng.gen_range(0..2)),
        );
        kv("deal[stageid]", rng.gen_range(1..4).to_string());
        kv(
            "deal[stage_title]",
            format!("Stage {}", rng.gen_range(0..2)),
        );
        kv("deal[contactid]", contact);
        kv(
            "deal[contact_email]",
            format!("stub-{}", rng.gen_range(0..2)),
        );
        kv("deal[contact_firstname]", "Stub".to_owned());
    }
    if kind == "deal_note_add" {
        kv("note[id]", rng.gen_range(1..3).to_string());
        kv("note[text]", format!("note {}", rng.gen_range(0..2)));
    }
    if kind.starts_with("deal_task") {
        kv("task[id]", rng.gen_range(1..3).to_string());
        kv("task[title]", format!("task {}", rng.gen_range(0..2)));
        kv("task[type_title]", "Call".to_owned());
    }
    if kind == "deal_stage_add" {
        kv("stage[id]", rng.gen_range(1..4).to_string());
        kv("stage[title]", format!("Stage {}", rng.gen_range(0..3)));
        if rng.gen_bool(0.5) {
            kv("stage[pipeline]", rng.gen_range(1..3).to_string());
        }
    }
    if kind == "deal_pipeline_add" {
        kv("pipeline[id]", rng.gen_range(1..3).to_string());
        kv(
            "pipeline[title]",
            format!("Pipeline {}", rng.gen_range(0..3)),
        );
    }
    if kind == "list_add" {
        kv("list[id]", rng.gen_range(1..3).to_string());
        kv("list[name]", format!("List {}", rng.gen_range(0..3)));
    }
    pairs
}

/// Any deliveries, in any order and with repeats, applied as batches of any size end in the
/// state, row for row, that applying them one at a time gives; each delivery's outcome is the
/// same too.
#[test]
fn batches_of_any_size_end_where_one_by_one_ends() {
    use acmirror::webhook::apply::{apply, apply_batch, Outcome};
    use acmirror::webhook::decode::{decode, encode};
    use acmirror::webhook::event::Delivery;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (one_db, batch_db) = (TestDb::fresh(), TestDb::fresh());
    let one_pool = rt
        .block_on(open_database(&one_db.settings(&[])))
        .expect("database")
        .0;
    let batch_pool = rt
        .block_on(open_database(&batch_db.settings(&[])))
        .expect("database")
        .0;
    let conns = std::cell::RefCell::new((
        one_pool.get().expect("connection"),
        batch_pool.get().expect("connection"),
    ));
    let at = now();

    let strategy = (
        proptest::collection::vec(any::<u64>(), 1..30),
        proptest::collection::vec(any::<prop::sample::Index>(), 1..80),
        proptest::collection::vec(1usize..40, 1..8),
    );
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    runner
        .run(&strategy, |(seeds, picks, sizes)| {
            let deliveries: Vec<Delivery> = seeds
                .iter()
                .map(|s| {
                    let body = encode(&random_delivery(*s));
                    Delivery::parse(&decode(body.as_bytes()).expect("decodes")).expect("parses")
                })
                .collect();
            // Arrival order, with repeats: each arrival is another stored delivery.
            let arrivals: Vec<(i64, &Delivery)> = picks
                .iter()
                .enumerate()
                .map(|(n, i)| (n as i64 + 1, &deliveries[i.index(deliveries.len())]))
                .collect();
            let (one, batched) = &mut *conns.borrow_mut();
            let (one, batched): (&mut acmirror::db::DbConn, &mut acmirror::db::DbConn) =
                (one, batched);
            reset(one);
            reset(batched);

            let mut one_outcomes = Vec::new();
            for (id, d) in &arrivals {
                let outcome = write_tx(one, |c| apply(c, *id, d, at));
                one_outcomes.push(outcome.map_err(|e| e.to_string()));
            }
            let mut batch_outcomes = Vec::new();
            let mut rest = &arrivals[..];
            let mut size = sizes.iter().cycle();
            while !rest.is_empty() {
                let n = (*size.next().expect("sizes")).min(rest.len());
                let (chunk, tail) = rest.split_at(n);
                let outcomes = write_tx(batched, |c| apply_batch(c, chunk, at)).expect("batch");
                batch_outcomes.extend(outcomes.into_iter().map(|o| o.map_err(|e| e.to_string())));
                rest = tail;
            }

            prop_assert_eq!(&one_outcomes, &batch_outcomes);
            let (want, got) = (dump(one), dump(batched));
            let applied = one_outcomes.iter().any(|o| o == &Ok(Outcome::Applied));
            prop_assert!(
                !applied || !want.is_empty(),
                "applied deliveries wrote nothing"
            );
            prop_assert_eq!(want, got);
            Ok(())
        })
        .expect("batched apply equals one-by-one apply");
}

#[tokio::test]
async fn a_delivery_the_database_refuses_fails_alone_and_its_batch_applies() {
    // Arrange: the database refuses one contact's e-mail (a trigger stands in for any write
    // the database rejects); three updates are stored so that one pass takes them together.
    let db = TestDb::fresh();
    let (pool, _) = open_database(&db.settings(&[])).await.expect("database");
    let mut conn = pool.get().expect("connection");
    let refuse: &[&str] = if db.is_postgres() {
        &[
            "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN \
             IF NEW.email = 'poison@example.com' THEN RAISE EXCEPTION 'poison'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON contacts \
             FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
        ]
    } else {
        &["CREATE TRIGGER refuse_poison BEFORE INSERT ON contacts \
           WHEN NEW.email = 'poison@example.com' BEGIN SELECT RAISE(ABORT, 'poison'); END"]
    };
    for sql in refuse {
        diesel::sql_query(*sql)
            .execute(&mut *conn)
            .expect("trigger");
    }
    let update = |id: u32, email: &str| {
        form(
            &fixtures::UPDATE
                .replace("contact[id]=3", &format!("contact[id]={id}"))
                .replace(
                    "contact[email]=code.test@gmail.com",
                    &format!("contact[email]={email}"),
                ),
        )
    };
    write_tx(&mut conn, |c| {
        for body in [
            update(41, "one@example.com"),
            update(42, "poison@example.com"),
            update(43, "three@example.com"),
        ] {
            insert(c, &NewDelivery::from_body(body.into_bytes(), now()))?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .expect("stored");

    // Act
    let done = drain(&pool, &Metrics::new()).expect("drain");

    // Assert: the refused delivery failed with the database's reason, kept for replay.
    assert_eq!((done.applied, done.failed), (2, 1));
    let rows: Vec<(String, Option<String>)> = we::table
        .order(we::id)
        .select((we::status, we::error))
        .load(&mut conn)
        .expect("statuses");
    assert_eq!(rows[0].0, "applied");
    assert_eq!(rows[1].0, "failed");
    assert!(
        rows[1].1.as_deref().is_some_and(|e| e.contains("poison")),
        "{rows:?}"
    );
    assert_eq!(rows[2].0, "applied");
    let ids: Vec<i64> = contacts::table
        .order(contacts::id)
        .select(contacts::id)
        .load(&mut conn)
        .expect("contacts");
    assert_eq!(ids, [41, 43]);
}

#[tokio::test]
async fn postgres_connections_plan_each_statement_for_the_table_as_it_is() {
    // A statement prepared while a table was empty must not keep a plan chosen for an empty
    // table (a sequential scan for `id = ANY($1)`) once the table is large.
    let db = TestDb::fresh();
    if !db.is_postgres() {
        eprintln!("PostgreSQL only: SQLite plans every statement when it is prepared");
        return;
    }
    let (pool, _) = open_database(&db.settings(&[])).await.expect("database");
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        plan_cache_mode: String,
    }
    // Every connection the pool opens, not only the first.
    let conns: Vec<_> = (0..3).map(|_| pool.get().expect("connection")).collect();
    for mut conn in conns {
        let acmirror::db::DbConn::Pg(c) = &mut *conn else {
            panic!("a PostgreSQL pool");
        };
        let s: Setting = diesel::sql_query("SHOW plan_cache_mode")
            .get_result(c)
            .expect("setting");
        assert_eq!(s.plan_cache_mode, "force_custom_plan");
    }
}

#[tokio::test]
async fn postgres_tables_filled_faster_than_autovacuum_get_statistics() {
    // A page's tag lookup (`contact_id = ANY($1)`) on a table filled since its last ANALYZE is
    // planned as a sequential scan; the reconciler's refresh analyzes such tables.
    let db = TestDb::fresh();
    if !db.is_postgres() {
        eprintln!("PostgreSQL only: SQLite plans key lookups by index without statistics");
        return;
    }
    let (pool, _) = open_database(&db.settings(&[])).await.expect("database");
    let mut conn = pool.get().expect("connection");
    let acmirror::db::DbConn::Pg(c) = &mut *conn else {
        panic!("a PostgreSQL pool");
    };
    diesel::sql_query(
        "INSERT INTO contact_tag_states (contact_id, tag, present, updated_at) \
         SELECT c, 'tag ' || t, true, now() \
         FROM generate_series(1, 40000) c, generate_series(1, 5) t",
    )
    .execute(c)
    .expect("filled");
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let plan = |c: &mut diesel::PgConnection| -> String {
        let ids: Vec<String> = (20_001..=20_100).map(|i| i.to_string()).collect();
        diesel::sql_query(format!(
            "EXPLAIN SELECT contact_id, tag FROM contact_tag_states \
             WHERE contact_id = ANY('{{{}}}'::bigint[]) AND present",
            ids.join(",")
        ))
        .load::<Line>(c)
        .expect("plan")
        .into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n")
    };
    let before = plan(c);

    let analyzed = acmirror::db::statistics::refresh(&mut conn).expect("refresh");
    let again = acmirror::db::statistics::refresh(&mut conn).expect("refresh");

    assert!(before.contains("Seq Scan"), "without statistics: {before}");
    assert_eq!(analyzed, ["contact_tag_states"]);
    assert!(
        again.is_empty(),
        "analyzed again at the same size: {again:?}"
    );
    let acmirror::db::DbConn::Pg(c) = &mut *conn else {
        panic!("a PostgreSQL pool");
    };
    let after = plan(c);
    assert!(!after.contains("Seq Scan"), "with statistics: {after}");
}

//! The dashboard's JSON endpoints on a mirror the size of a busy account: 10 million stored
//! deliveries received over 30 days (about 333,000 in the last 24 hours), two days of
//! per-minute delivery counters and backlog samples, a month of reconciliation runs, and the
//! mirror tables of 500,000 contacts. Starts the daemon on that database and times each
//! endpoint over HTTP: the first request of the new daemon, then `--requests` more (median,
//! p95, max), and the size of the answer. Then it times the documents' statements directly on
//! a pooled connection (each mirrored table's row count on its own) and prints the plan of
//! every statement that took 20 ms or more.
//!
//! `cargo bench --bench dashboard -- [--rows 10000000] [--contacts 500000] [--requests 30]
//!   [--sqlite | --postgres]`
//!
//! Without `--sqlite` or `--postgres` both backends run, one after the other, as
//! `bench::backends()` picks them (`ACMIRROR_BENCH_PG=` or `ACMIRROR_BENCH_SQLITE=` leaves one
//! out).

use std::time::{Duration, Instant};

use acmirror::app::Daemon;
use acmirror::db::{DbConn, Pool};
use acmirror::ops::dashboard;
use acmirror::webhook::history;
use acmirror::webhook::status::DeliveryStatus;
use acmirror_sim::harness::bench::{self, arg, flag, heading, ms, percentile};
use acmirror_sim::harness::{with_conn, TestDb, ADMIN_TOKEN, WORKERS};
use chrono::{Duration as Span, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

/// Rows inserted per statement while filling.
const FILL_CHUNK: i64 = 250_000;
/// Days the stored deliveries span; the newest arrived as the fill started.
const SPAN_DAYS: i64 = 30;
/// The newest deliveries are still pending when the fill ends.
const PENDING: i64 = 300;
/// Hours of `delivery_minutes` and `apply_samples` the daemon keeps (`history::KEPT`).
const HISTORY_HOURS: i64 = 48;
/// Reconciliation runs: every 15 minutes for 31 days, one a day full.
const RUNS: i64 = 96 * 31;
/// The writer ids of `delivery_minutes`: two replicas shared the intake.
const WRITERS: [i64; 2] = [1_804_289_383, 846_930_886];
/// Bytes of padding that bring a delivery's body to about 600 bytes.
const BODY_PAD: usize = 166;
/// A statement at least this slow gets its plan printed.
const EXPLAIN_FROM: Duration = Duration::from_millis(20);
/// The tables the overview counts with `WHERE deleted_at IS NULL` (`COUNTED` in
/// `src/ops/dashboard.rs`), so that the table-by-table counts run the same statements.
const NOT_DELETED: &[&str] = &["contacts", "deals", "accounts", "account_contacts"];
/// The 100 ms the issue sets for each endpoint.
const TARGET: Duration = Duration::from_millis(100);

/// Event types and their share of the deliveries in percent, the busiest first.
const TYPES: &[(&str, i64)] = &[
    ("update", 30),
    ("open", 20),
    ("sent", 12),
    ("click", 8),
    ("contact_tag_added", 8),
    ("subscribe", 5),
    ("deal_update", 5),
    ("unsubscribe", 3),
    ("contact_tag_removed", 3),
    ("deal_add", 3),
    ("bounce", 3),
];

/// The sizes to fill.
#[derive(Clone, Copy)]
struct Workload {
    /// Stored deliveries.
    rows: i64,
    /// Contacts; the other mirror tables are sized from it.
    contacts: i64,
}

impl Workload {
    fn deals(self) -> i64 {
        (self.contacts / 5).max(1)
    }

    fn accounts(self) -> i64 {
        (self.contacts / 25).max(1)
    }
}

/// What the filler's SQL spells differently per backend. Times are counted back from `now_s`,
/// the start of the fill, so that every statement agrees on it.
#[derive(Clone, Copy)]
struct Dialect {
    pg: bool,
    now_s: i64,
}

impl Dialect {
    /// The time `ms` (SQL over `n`) milliseconds before now, to the millisecond.
    fn ms_ago(self, ms: &str) -> String {
        let now_ms = self.now_s * 1000;
        if self.pg {
            format!("(to_timestamp(({now_ms} - ({ms})) / 1000.0) AT TIME ZONE 'UTC')")
        } else {
            format!("strftime('%Y-%m-%d %H:%M:%f', ({now_ms} - ({ms})) / 1000.0, 'unixepoch')")
        }
    }

    /// The time `s` whole seconds before `at` (Unix seconds), spelled as diesel writes a time
    /// without a fraction (so that SQLite's text compares equal to the daemon's own).
    fn secs_before(self, at: i64, s: &str) -> String {
        if self.pg {
            format!("(to_timestamp({at} - ({s})) AT TIME ZONE 'UTC')")
        } else {
            format!("datetime({at} - ({s}), 'unixepoch')")
        }
    }

    /// The time `s` whole seconds before now.
    fn secs_ago(self, s: &str) -> String {
        self.secs_before(self.now_s, s)
    }

    /// A unique 64-character key for `n` (the body hash column).
    fn key(self, n: &str) -> String {
        if self.pg {
            format!("lpad(({n})::text, 64, '0')")
        } else {
            format!("printf('%064d', {n})")
        }
    }

    /// Text as a stored body.
    fn body(self, text: &str) -> String {
        if self.pg {
            format!("convert_to({text}, 'UTF8')")
        } else {
            format!("CAST({text} AS BLOB)")
        }
    }

    /// `len` zeros.
    fn zeros(self, len: usize) -> String {
        if self.pg {
            format!("repeat('0', {len})")
        } else {
            format!("substr(hex(zeroblob({})), 1, {len})", len / 2 + 1)
        }
    }

    /// The start of the minute of the time column `col`, as the daemon's counters store it.
    fn minute(self, col: &str) -> String {
        if self.pg {
            format!("date_trunc('minute', {col})")
        } else {
            format!("substr({col}, 1, 16) || ':00'")
        }
    }
}

/// A table to fill with `rows` rows: `select` gives the `columns` of row `n`, reading the
/// columns `derived` computes once per row when there is such a subquery.
#[derive(Clone)]
struct Table {
    name: &'static str,
    rows: i64,
    columns: &'static str,
    select: String,
    derived: Option<String>,
}

impl Table {
    fn new(name: &'static str, rows: i64, columns: &'static str, select: String) -> Self {
        Self {
            name,
            rows,
            columns,
            select,
            derived: None,
        }
    }

    /// `select` reads `n` and the columns `derived` (SQL over `n`, `expr AS name, …`) names.
    fn over(self, derived: String) -> Self {
        Self {
            derived: Some(derived),
            ..self
        }
    }

    fn sql(&self, conn: &DbConn, from: i64, to: i64) -> String {
        let bench::Series { with, from: source } = bench::series(conn, from, to);
        let (name, columns, select) = (self.name, self.columns, &self.select);
        match &self.derived {
            None => format!("{with}INSERT INTO {name} ({columns}) SELECT {select} FROM {source}"),
            Some(derived) => format!(
                "{with}INSERT INTO {name} ({columns}) SELECT {select} \
                 FROM (SELECT n, {derived} FROM {source}) AS g"
            ),
        }
    }
}

/// The deliveries, oldest first (ids grow with time, as intake writes them): received evenly
/// over [`SPAN_DAYS`] up to now, event types mixed as [`TYPES`] says, 1% ignored, 0.2% failed
/// with a reason, the newest [`PENDING`] pending, the rest applied.
fn deliveries(d: Dialect, w: Workload) -> Table {
    let rows = w.rows;
    let span_ms = SPAN_DAYS * 86_400_000;
    let mut kind = String::from("CASE");
    let mut upto = 0;
    for (name, share) in &TYPES[..TYPES.len() - 1] {
        upto += share;
        kind.push_str(&format!(" WHEN (n * 7919) % 100 < {upto} THEN '{name}'"));
    }
    kind.push_str(&format!(" ELSE '{}' END", TYPES[TYPES.len() - 1].0));
    let status = format!(
        "CASE WHEN n > {} THEN 'pending' WHEN (n * 729) % 1000 < 10 THEN 'ignored' \
         WHEN (n * 729) % 1000 < 12 THEN 'failed' ELSE 'applied' END",
        rows - PENDING
    );
    let origin =
        "CASE WHEN ty IN ('open', 'sent', 'click', 'bounce') THEN 'system' ELSE 'admin' END";
    let text = format!(
        "'type=' || ty || '&date_time=2026-12-01T10%3A00%3A00-06%3A00&initiated_from=' || {origin} \
         || '&initiated_by=' || {origin} || '&list=0&contact%5Bid%5D=' || cid \
         || '&contact%5Bemail%5D=person' || cid || '%40example.com&contact%5Bfirst_name%5D=Ada\
         &contact%5Blast_name%5D=Lovelace&contact%5Bphone%5D=%2B1+555-0100&contact%5Bip%5D=0.0.0.0\
         &contact%5Btags%5D=newsletter%2C+customer%2C+region-emea%2C+plan-pro\
         &contact%5Bfields%5D%5B1%5D=Option+1&contact%5Bfields%5D%5B2%5D=2026-11-20' \
         || CASE WHEN ty LIKE 'deal%' THEN '&deal%5Bid%5D=' || did || '&deal%5Btitle%5D=Renewal' ELSE '' END \
         || '&pad=' || {}",
        d.zeros(BODY_PAD)
    );
    let error = "CASE n % 3 \
         WHEN 0 THEN 'date_time \"2026-02-30T25:61:00-06:00\" of a ' || ty || ' delivery for contact ' || cid || ' is not a time' \
         WHEN 1 THEN 'deal ' || did || ': deal[stageid] is not a number: \"Qualified (new)\"' \
         ELSE 'database: could not serialize access due to concurrent update (gave up after 5 attempts)' END";
    let select = format!(
        "{key}, ty, t, t, t, {origin}, cid, CASE WHEN ty LIKE 'deal%' THEN did END, st, \
         CASE WHEN st = 'failed' THEN {error} END, CASE WHEN n % 200 = 0 THEN 2 ELSE 1 END, \
         CASE WHEN st = 'pending' THEN NULL ELSE t END, {body}",
        key = d.key("n"),
        body = d.body(&text),
    );
    let derived = format!(
        "{t} AS t, {kind} AS ty, {status} AS st, 1 + (n * 7) % {c} AS cid, \
         1 + n % {deals} AS did",
        t = d.ms_ago(&format!("({rows} - n) * {span_ms} / {rows}")),
        c = w.contacts,
        deals = w.deals(),
    );
    Table::new(
        "webhook_events",
        rows,
        "body_sha256, event_type, occurred_at, received_at, last_received_at, initiated_from, \
         contact_id, deal_id, status, error, deliveries, applied_at, body",
        select,
    )
    .over(derived)
}

/// The mirrored tables of an account with `w.contacts` contacts: 4 tag states, 1.5 list
/// memberships, 3 field values and 6 engagement activities per contact, a deal per 5 contacts,
/// an account per 25, and the small dimension tables.
fn mirror_tables(d: Dialect, w: Workload) -> Vec<Table> {
    let (c, deals, accounts) = (w.contacts, w.deals(), w.accounts());
    let created = d.secs_ago("n % 94608000 + 2592000");
    let updated = d.secs_ago("(n * 7) % 2592000");
    let now = d.secs_ago("0");
    let activities = 6 * c;
    vec![
        Table::new("tags", 200, "name, id", "'tag-' || (n - 1), n".into()),
        Table::new("lists", 20, "id, name", "n, 'List ' || n".into()),
        Table::new(
            "fields",
            30,
            "id, title, perstag, type",
            "n, 'Field ' || n, 'FIELD_' || n, \
             CASE n % 3 WHEN 0 THEN 'text' WHEN 1 THEN 'dropdown' ELSE 'date' END"
                .into(),
        ),
        Table::new(
            "field_options",
            100,
            "id, field_id, value, label, ordernum",
            "n, 1 + n % 10, 'Option ' || n, 'Option ' || n, n".into(),
        ),
        Table::new("pipelines", 5, "id, title", "n, 'Pipeline ' || n".into()),
        Table::new(
            "stages",
            30,
            "id, pipeline_id, title",
            "n, 1 + n % 5, 'Stage ' || n".into(),
        ),
        Table::new(
            "users",
            25,
            "id, username, first_name, last_name, email",
            "n, 'user' || n, 'Sam', 'Seller' || n, 'user' || n || '@example.com'".into(),
        ),
        Table::new(
            "deal_fields",
            15,
            "id, label, field_type, options, display_order",
            "n, 'Deal field ' || n, 'text', NULL, n".into(),
        ),
        Table::new(
            "account_fields",
            10,
            "id, label, field_type, options, display_order",
            "n, 'Account field ' || n, 'text', NULL, n".into(),
        ),
        Table::new(
            "messages",
            1_000,
            "id, name, subject, from_name, from_email, created_at, updated_at, seen_run, \
             synced_at",
            format!(
                "n, 'Message ' || n, 'News for you, issue ' || n, 'Acme', 'news@example.com', \
                 {created}, {updated}, {RUNS}, {now}"
            ),
        ),
        Table::new(
            "campaigns",
            1_000,
            "id, name, campaign_type, status, message_id, sent_at, last_sent_at, send_amount, \
             created_at, updated_at, seen_run, synced_at",
            format!(
                "n, 'Campaign ' || n, 'single', 5, n, {sent}, {sent}, 20000 + n, {created}, \
                 {updated}, {RUNS}, {now}",
                sent = d.secs_ago("(1000 - n) * 7776")
            ),
        ),
        Table::new(
            "contacts",
            c,
            "id, email, first_name, last_name, phone, created_at, updated_at, deleted_at, \
             synced_at, seen_run, tags_updated_at, email_updated_at, first_name_updated_at, \
             last_name_updated_at, phone_updated_at",
            format!(
                "n, 'person' || n || '@example.com', 'Ada', 'Lovelace' || (n % 97), \
                 '+1 555-0100', {created}, {updated}, CASE WHEN n % 100 = 0 THEN {updated} END, \
                 {updated}, {RUNS}, {updated}, {updated}, {updated}, {updated}, {updated}"
            ),
        ),
        Table::new(
            "contact_tag_states",
            4 * c,
            "contact_id, tag, present, updated_at, added_at",
            format!(
                "1 + (n - 1) / 4, 'tag-' || (((n - 1) % 4) * 50 + ((n - 1) / 4) % 50), \
                 (n % 10) <> 0, {updated}, CASE WHEN (n % 10) <> 0 THEN {updated} END"
            ),
        ),
        Table::new(
            "contact_lists",
            c * 3 / 2,
            "contact_id, list_id, status, updated_at, subscribed_at, unsubscribed_at",
            format!(
                "1 + (n - 1) % {c}, 1 + (n - 1) / {c}, CASE WHEN n % 10 = 0 THEN 2 ELSE 1 END, \
                 {updated}, {created}, CASE WHEN n % 10 = 0 THEN {updated} END"
            ),
        ),
        Table::new(
            "contact_field_values",
            3 * c,
            "contact_id, field_id, value, updated_at",
            format!("1 + (n - 1) % {c}, 1 + (n - 1) / {c}, 'Option ' || (n % 5), {updated}"),
        ),
        Table::new(
            "contact_notes",
            c / 10,
            "id, contact_id, note, created_at, ac_id, updated_at, synced_at",
            format!(
                "n, 1 + (n * 13) % {c}, \
                 'Called about the renewal; wants a quote for ' || (n % 50 + 5) || ' seats.', \
                 {created}, n, {updated}, {now}"
            ),
        ),
        Table::new(
            "contact_activities",
            activities,
            "event_id, activity_type, contact_id, campaign_id, message_id, link_url, occurred_at",
            format!(
                "n, CASE WHEN n % 10 < 4 THEN 'sent' WHEN n % 10 < 8 THEN 'open' ELSE 'click' END, \
                 1 + (n * 7) % {c}, 1 + n % 1000, 1 + n % 1000, \
                 CASE WHEN n % 10 >= 8 THEN 'https://example.com/offers/' || (n % 50) || '?utm_source=newsletter' END, \
                 {}",
                d.secs_ago(&format!("({activities} - n) * 7776000 / {activities}"))
            ),
        ),
        Table::new(
            "deals",
            deals,
            "id, title, value_cents, currency, pipeline_id, stage_id, owner_id, contact_id, \
             status, created_at, updated_at, deleted_at, synced_at, seen_run, account_id, \
             win_probability",
            format!(
                "n, 'Deal ' || n, (n * 7919) % 5000000, 'usd', 1 + n % 5, 1 + n % 30, 1 + n % 25, \
                 1 + (n * 11) % {c}, n % 3, {created}, {updated}, \
                 CASE WHEN n % 50 = 0 THEN {updated} END, {now}, {RUNS}, 1 + n % {accounts}, \
                 n % 101"
            ),
        ),
        Table::new(
            "deal_contacts",
            3 * c / 50,
            "id, deal_id, contact_id, role_id, created_at, synced_at, seen_run",
            format!("n, 1 + n % {deals}, 1 + (n * 17) % {c}, NULL, {created}, {now}, {RUNS}"),
        ),
        Table::new(
            "deal_field_values",
            3 * deals,
            "deal_id, field_id, value, updated_at, synced_at, seen_run",
            format!(
                "1 + (n - 1) % {deals}, 1 + (n - 1) / {deals}, 'Value ' || (n % 20), {updated}, \
                 {now}, {RUNS}"
            ),
        ),
        Table::new(
            "deal_notes",
            c / 10,
            "id, deal_id, note, created_at, updated_at, synced_at",
            format!(
                "n, 1 + n % {deals}, 'Sent the proposal, follow up on ' || (n % 28 + 1) || ' March.', \
                 {created}, {updated}, {now}"
            ),
        ),
        Table::new(
            "deal_tasks",
            2 * c / 25,
            "id, deal_id, task_type, title, note, due_at, done_at, updated_at, synced_at",
            format!(
                "n, 1 + n % {deals}, 'call', 'Call back', NULL, {updated}, \
                 CASE WHEN n % 3 = 0 THEN {updated} END, {updated}, {now}"
            ),
        ),
        Table::new(
            "accounts",
            accounts,
            "id, name, url, owner_id, created_at, updated_at, deleted_at, synced_at, seen_run",
            format!(
                "n, 'Account ' || n, 'https://account' || n || '.example.com', 1 + n % 25, \
                 {created}, {updated}, CASE WHEN n % 100 = 0 THEN {updated} END, {now}, {RUNS}"
            ),
        ),
        Table::new(
            "account_contacts",
            3 * accounts,
            "id, account_id, contact_id, job_title, updated_at, deleted_at, synced_at, seen_run",
            format!(
                "n, 1 + n % {accounts}, 1 + (n * 19) % {c}, 'Buyer', {updated}, NULL, {now}, {RUNS}"
            ),
        ),
        Table::new(
            "account_field_values",
            3 * accounts,
            "account_id, field_id, value, updated_at, synced_at, seen_run",
            format!(
                "1 + (n - 1) % {accounts}, 1 + (n - 1) / {accounts}, 'Value ' || (n % 20), \
                 {updated}, {now}, {RUNS}"
            ),
        ),
    ]
}

/// A month of reconciliation runs, every 15 minutes, one full run a day at 03:00, one in 40
/// failed; the newest started 14 minutes ago.
fn runs(d: Dialect) -> Table {
    let started = d.secs_ago("age");
    let finished = d.secs_ago("age - took");
    Table::new(
        "sync_runs",
        RUNS,
        "mode, \"trigger\", started_at, finished_at, status, api_requests, records_fetched, \
         records_changed, records_deleted, error, scope, checkpoint, watermark, heartbeat_at, \
         rate_limited",
        format!(
            "mode, CASE WHEN n % 500 = 7 THEN 'manual' ELSE 'schedule' END, {started}, {finished}, \
             status, CASE WHEN mode = 'full' THEN 5300 ELSE 5 + n % 20 END, \
             CASE WHEN mode = 'full' THEN 520000 ELSE 400 + n % 300 END, n % 50, \
             CASE WHEN mode = 'full' THEN n % 20 ELSE 0 END, \
             CASE WHEN status = 'failed' THEN 'API request failed: GET /api/3/contacts: 503 Service Unavailable after 5 attempts' END, \
             '{{}}', \
             CASE WHEN status = 'failed' THEN '{{\"phase\":\"contacts\",\"contacts_after\":' || (n * 100) || ',\"deals_offset\":0}}' \
                  ELSE '{{\"phase\":\"done\",\"contacts_after\":0,\"deals_offset\":0}}' END, \
             {started}, {finished}, n % 7"
        ),
    )
    .over(format!(
        "({RUNS} - n) * 900 + 840 AS age, \
         CASE WHEN n % 96 = 12 THEN 'full' ELSE 'incremental' END AS mode, \
         CASE WHEN n % 40 = 0 THEN 'failed' ELSE 'succeeded' END AS status, \
         CASE WHEN n % 96 = 12 THEN 1500 ELSE 20 + n % 40 END AS took"
    ))
}

/// One backlog sample per minute for [`HISTORY_HOURS`], ending this minute: mostly a few
/// dozen pending, a burst of a few thousand every six hours.
fn samples(d: Dialect) -> Table {
    let minute = d.now_s - d.now_s % 60;
    Table::new(
        "apply_samples",
        HISTORY_HOURS * 60,
        "at, backlog, lag_seconds",
        format!(
            "{}, CASE WHEN n % 360 < 5 THEN 2000 + n % 500 ELSE (n * 37) % 40 END, \
             CASE WHEN n % 360 < 5 THEN 3 + n % 5 ELSE 0 END",
            d.secs_before(minute, "(n - 1) * 60")
        ),
    )
}

/// `delivery_minutes` as the daemon's intake counted the stored deliveries of the last
/// [`HISTORY_HOURS`]: per minute of receipt and event type, split between two writers.
fn minutes_sql(d: Dialect) -> String {
    format!(
        "INSERT INTO delivery_minutes (minute, event_type, writer, deliveries) \
         SELECT {}, coalesce(event_type, ''), CASE WHEN id % 2 = 0 THEN {} ELSE {} END, count(*) \
         FROM webhook_events WHERE received_at >= {} GROUP BY 1, 2, 3",
        d.minute("received_at"),
        WRITERS[0],
        WRITERS[1],
        d.secs_ago(&(HISTORY_HOURS * 3600).to_string())
    )
}

async fn execute(pool: &Pool, sql: String) -> usize {
    with_conn(pool, move |c| {
        diesel::sql_query(&sql)
            .execute(c)
            .unwrap_or_else(|e| panic!("{e}: {sql}"))
    })
    .await
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn number(pool: &Pool, sql: &str) -> i64 {
    let sql = sql.to_owned();
    with_conn(pool, move |c| {
        diesel::sql_query(&sql)
            .get_result::<Number>(c)
            .unwrap_or_else(|e| panic!("{e}: {sql}"))
            .n
    })
    .await
}

/// Fills the whole database; returns the time it took.
async fn fill(pool: &Pool, d: Dialect, w: Workload) -> Duration {
    let started = Instant::now();
    let events = deliveries(d, w);
    println!("webhook_events: {} rows", w.rows);
    bench::fill(pool, w.rows, FILL_CHUNK, true, move |c, from, to| {
        events.sql(c, from, to)
    })
    .await;
    let t = Instant::now();
    let counted = execute(pool, minutes_sql(d)).await;
    println!(
        "delivery_minutes: {counted} rows in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let mut tables = vec![samples(d), runs(d)];
    tables.extend(mirror_tables(d, w));
    for table in tables {
        let t = Instant::now();
        let rows = table.rows;
        let name = table.name;
        bench::fill(pool, rows, FILL_CHUNK, false, move |c, from, to| {
            table.sql(c, from, to)
        })
        .await;
        println!("{name}: {rows} rows in {:.1} s", t.elapsed().as_secs_f64());
    }
    started.elapsed()
}

/// Leaves the database as a long-running one has it: on PostgreSQL vacuumed and analyzed
/// (autovacuum would have done both: since PostgreSQL 13 it also vacuums tables that only grow)
/// and checkpointed; on SQLite the WAL copied back. The daemon never runs `ANALYZE` on SQLite,
/// so neither does the bench.
async fn settle(pool: &Pool, pg: bool) -> Duration {
    let t = Instant::now();
    if pg {
        execute(pool, "VACUUM ANALYZE".into()).await;
        execute(pool, "CHECKPOINT".into()).await;
    } else {
        execute(pool, "PRAGMA wal_checkpoint(TRUNCATE)".into()).await;
    }
    t.elapsed()
}

/// The database's size on disk.
async fn size(db: &TestDb, pool: &Pool) -> i64 {
    if db.is_postgres() {
        number(pool, "SELECT pg_database_size(current_database()) AS n").await
    } else {
        let file = |suffix: &str| {
            std::fs::metadata(format!("{}{suffix}", db.url)).map_or(0, |m| m.len() as i64)
        };
        file("") + file("-wal")
    }
}

/// One endpoint's times.
struct Timing {
    path: String,
    first: Duration,
    rest: Vec<u32>,
    bytes: usize,
}

impl Timing {
    fn row(&self) -> String {
        let p = |q: f64| Duration::from_micros(u64::from(percentile(&self.rest, q)));
        let worst = self.first.max(p(100.0));
        format!(
            "| `GET {}` | {} | {} | {} | {} | {} | {} |",
            self.path,
            ms(self.first),
            ms(p(50.0)),
            ms(p(95.0)),
            ms(p(100.0)),
            self.bytes,
            if worst < TARGET {
                "yes".to_owned()
            } else if p(50.0) < TARGET {
                "median yes, not every request".to_owned()
            } else {
                "**no**".to_owned()
            }
        )
    }
}

async fn get(client: &reqwest::Client, base: &str, path: &str) -> (Duration, usize) {
    let t = Instant::now();
    let resp = client
        .get(format!("{base}{path}"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("the daemon answers");
    let status = resp.status();
    let body = resp.bytes().await.expect("a whole body");
    let took = t.elapsed();
    assert!(
        status.is_success(),
        "{path}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    (took, body.len())
}

/// The first request to `path`, then `requests` more.
async fn time(client: &reqwest::Client, base: &str, path: &str, requests: usize) -> Timing {
    let (first, bytes) = get(client, base, path).await;
    let mut rest = Vec::with_capacity(requests);
    for _ in 0..requests {
        let (took, _) = get(client, base, path).await;
        rest.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
    }
    rest.sort_unstable();
    Timing {
        path: path.to_owned(),
        first,
        rest,
        bytes,
    }
}

/// The median time of `runs` runs of `f` on one pooled connection, and its last result.
async fn direct<T: Send + 'static>(
    pool: &Pool,
    runs: usize,
    f: impl Fn(&mut DbConn) -> T + Send + 'static,
) -> (Duration, T) {
    with_conn(pool, move |c| {
        let mut times = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs {
            let t = Instant::now();
            last = Some(f(c));
            times.push(t.elapsed());
        }
        times.sort_unstable();
        (times[times.len() / 2], last.expect("at least one run"))
    })
    .await
}

#[derive(QueryableByName)]
struct PgPlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

#[derive(QueryableByName)]
struct SqlitePlanLine {
    #[diesel(sql_type = Integer)]
    id: i32,
    #[diesel(sql_type = Integer)]
    parent: i32,
    #[diesel(sql_type = Text)]
    detail: String,
}

/// The plan of `sql`: `EXPLAIN (ANALYZE, BUFFERS)` on PostgreSQL, `EXPLAIN QUERY PLAN` on
/// SQLite.
async fn plan(pool: &Pool, sql: &str) -> Vec<String> {
    let sql = sql.to_owned();
    with_conn(pool, move |c| match c {
        DbConn::Pg(c) => diesel::sql_query(format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"))
            .load::<PgPlanLine>(c)
            .expect("explain")
            .into_iter()
            .map(|l| l.line)
            .collect(),
        DbConn::Sqlite(c) => {
            let lines = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .load::<SqlitePlanLine>(c)
                .expect("explain");
            let depth = |mut id: i32| {
                let mut d = 0;
                while let Some(l) = lines.iter().find(|l| l.id == id && l.parent != 0) {
                    id = l.parent;
                    d += 1;
                }
                d
            };
            lines
                .iter()
                .map(|l| format!("{}{}", "  ".repeat(depth(l.id)), l.detail))
                .collect()
        }
    })
    .await
}

async fn print_plan(pool: &Pool, sql: &str) {
    println!("\n    {sql}");
    for line in plan(pool, sql).await {
        println!("      {line}");
    }
}

/// Where the documents' time goes: each document computed on a pooled connection (no HTTP,
/// no JSON), the overview's row counts table by table, the status document's count by status,
/// and the plans of the slow statements.
async fn breakdown(db: &TestDb, pool: &Pool, requests: usize) {
    println!("\nStatements on a pooled connection (median of 5):");
    let line =
        |what: &str, d: Duration| println!("  {what:<58} {:>9.2} ms", d.as_secs_f64() * 1000.0);
    let (d, tables) = direct(pool, 5, |c| dashboard::table_rows(c).expect("counts")).await;
    line("overview: table_rows (25 counts, one statement)", d);
    let (d, _) = direct(pool, 5, |c| {
        dashboard::intake(c, Utc::now()).expect("intake")
    })
    .await;
    line("overview: intake (pending, failed, newest)", d);
    let now = Utc::now();
    let to = history::minute_of(now.naive_utc()) + Span::minutes(1);
    let from = to - Span::minutes(dashboard::CHART_MINUTES);
    let (d, rows) = direct(pool, 5, move |c| {
        history::per_minute(c, from, to).expect("per minute")
    })
    .await;
    line(
        &format!("per-minute: delivery_minutes, 24 h ({} sums)", rows.len()),
        d,
    );
    for status in [DeliveryStatus::Failed, DeliveryStatus::Ignored] {
        let (d, marks) = direct(pool, 5, move |c| {
            history::received_with_status(c, status, from, to).expect("marks")
        })
        .await;
        line(
            &format!(
                "per-minute: {} marks, 24 h ({} rows)",
                status.as_str(),
                marks.len()
            ),
            d,
        );
    }
    let (d, _) = direct(pool, 5, |c| dashboard::failed(c, None).expect("failed")).await;
    line("failed: count and first page", d);
    let (d, _) = direct(pool, 5, |c| {
        dashboard::apply_history(c, Utc::now()).expect("history")
    })
    .await;
    line("apply history: samples, 24 h", d);
    let (d, _) = direct(pool, 5, |c| dashboard::runs(c, Utc::now()).expect("runs")).await;
    line("runs: newest 50", d);
    let settings = db.settings(&[]);
    let status_runs = requests.clamp(1, 5);
    let (d, _) = direct(pool, status_runs, move |c| {
        acmirror::ops::status::collect_at(c, &settings, Utc::now()).expect("status")
    })
    .await;
    line("status: collect_at (whole document)", d);

    println!(
        "\nRow counts of the overview, table by table (its `count(*)` statements one by one, median of 3):"
    );
    let mut slow = Vec::new();
    for t in &tables {
        let filter = if NOT_DELETED.contains(&t.table.as_str()) {
            " WHERE deleted_at IS NULL"
        } else {
            ""
        };
        let sql = format!("SELECT count(*) AS n FROM {}{filter}", t.table);
        let query = sql.clone();
        let (d, _) = direct(pool, 3, move |c| {
            diesel::sql_query(&query)
                .get_result::<Number>(c)
                .expect("count")
                .n
        })
        .await;
        line(&format!("{} ({} rows)", t.table, t.rows), d);
        if d >= EXPLAIN_FROM {
            slow.push(sql);
        }
    }
    // The status document also measures webhook_events on disk (src/ops/status/storage.rs).
    let storage = if db.is_postgres() {
        "SELECT pg_total_relation_size('webhook_events')::bigint AS n"
    } else {
        "SELECT CAST(sum(pgsize) AS INTEGER) AS n FROM dbstat('main', 1) \
         WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name = 'webhook_events')"
    };
    let (d, bytes) = direct(pool, status_runs, move |c| {
        diesel::sql_query(storage)
            .get_result::<Number>(c)
            .expect("storage")
            .n
    })
    .await;
    line(
        &format!(
            "status: webhook_events on disk ({:.2} GB)",
            bytes as f64 / 1e9
        ),
        d,
    );
    let by_status = "SELECT status, count(*) FROM webhook_events GROUP BY status";
    let sql = by_status.to_owned();
    let (d, _) = direct(pool, status_runs, move |c| {
        diesel::sql_query(&sql).execute(c).expect("by status")
    })
    .await;
    line("status: count of webhook_events by status", d);
    if d >= EXPLAIN_FROM {
        slow.push(by_status.to_owned());
    }
    if !slow.is_empty() {
        println!(
            "\nPlans of the statements that took {} or more:",
            ms(EXPLAIN_FROM)
        );
        for sql in &slow {
            print_plan(pool, sql).await;
        }
    }
}

async fn measure(make: fn() -> TestDb, w: Workload, requests: usize) {
    let db = make();
    heading(&format!(
        "Dashboard endpoints, {}: {} stored deliveries over {SPAN_DAYS} days, {} contacts",
        db.label(),
        w.rows,
        w.contacts
    ));
    let pool = db.open().await;
    let d = Dialect {
        pg: db.is_postgres(),
        now_s: Utc::now().timestamp(),
    };
    let filled = fill(&pool, d, w).await;
    let settled = settle(&pool, d.pg).await;
    println!(
        "fill: {:.0} s, then {:.0} s to settle ({}); database size {:.2} GB",
        filled.as_secs_f64(),
        settled.as_secs_f64(),
        if d.pg {
            "VACUUM ANALYZE, CHECKPOINT"
        } else {
            "wal_checkpoint(TRUNCATE)"
        },
        size(&db, &pool).await as f64 / 1e9
    );
    let sizes =
        "SELECT CAST(avg(length(body)) AS BIGINT) AS n FROM webhook_events WHERE id <= 10000";
    let last_day: i64 = number(
        &pool,
        &format!(
            "SELECT CAST(coalesce(sum(deliveries), 0) AS BIGINT) AS n FROM delivery_minutes \
             WHERE minute >= {}",
            d.secs_ago("86400")
        ),
    )
    .await;
    println!(
        "bodies: {} bytes on average; deliveries in the last 24 h: {last_day}",
        number(&pool, sizes).await
    );

    let settings = db.settings(&[("ACMIRROR_RETENTION_DAYS", "0")]);
    let daemon = Daemon::start(&settings, pool.clone(), Default::default(), WORKERS)
        .await
        .expect("daemon starts");
    let base = format!("http://{}", daemon.addr);
    let client = reqwest::Client::new();
    let paths = [
        "/admin/overview".to_owned(),
        "/admin/deliveries/per-minute".to_owned(),
        "/admin/deliveries/failed".to_owned(),
        format!("/admin/deliveries/failed?before={}", w.rows / 2),
        "/admin/apply/history".to_owned(),
        "/admin/runs".to_owned(),
        // Not a dashboard endpoint; counts webhook_events by status. Last, so that its reads
        // do not warm the others' pages.
        "/admin/status".to_owned(),
    ];
    let mut timings = Vec::new();
    for path in &paths {
        let t = time(&client, &base, path, requests).await;
        println!(
            "  {path}: first {}, median {}",
            ms(t.first),
            ms(Duration::from_micros(u64::from(percentile(&t.rest, 50.0))))
        );
        timings.push(t);
    }
    println!(
        "\n{}, {} requests after the first, one at a time, keep-alive:\n",
        db.label(),
        requests
    );
    println!("| endpoint | first | median | p95 | max | bytes | under 100 ms |");
    println!("|---|---|---|---|---|---|---|");
    for t in &timings {
        println!("{}", t.row());
    }
    daemon.stop().await;
    breakdown(&db, &pool, requests).await;
}

#[tokio::main]
async fn main() {
    let w = Workload {
        rows: arg("--rows", 10_000_000),
        contacts: arg("--contacts", 500_000),
    };
    let requests: usize = arg("--requests", 30);
    let backends: Vec<fn() -> TestDb> = if flag("--postgres") {
        vec![bench::postgres]
    } else if flag("--sqlite") {
        vec![bench::sqlite]
    } else {
        bench::backends()
    };
    for make in backends {
        measure(make, w, requests).await;
    }
}

//! Database access: one connection type over SQLite and PostgreSQL, chosen by the URL.
//!
//! Queries are written once against [`DbConn`] (diesel's multi-backend connection). Upserts
//! (`INSERT … ON CONFLICT … DO UPDATE … WHERE`), which diesel's multi-backend query builder
//! cannot express, are written once inside `with_backend!`, which expands the same
//! expression for each concrete connection type.

pub mod bulk;
pub mod capacity;
pub mod checkpoint;
pub mod health;
pub mod meta;
pub mod migrate;
pub mod schema;
pub mod startup;
pub mod statement;
pub mod statistics;

use std::fmt;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::{Connection, PgConnection, SqliteConnection};
use secrecy::{ExposeSecret, SecretString};

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// PostgreSQL, for several replicas sharing one database.
    Pg(PgConnection),
    /// SQLite, the embedded default.
    Sqlite(SqliteConnection),
}

/// A pool of connections.
pub type Pool = r2d2::Pool<Manager>;
/// A connection checked out of the pool.
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// Stores an enum of fixed names in a `TEXT` column on both backends: implements diesel's
/// conversions through the type's `as_str` and `parse` (an unknown stored name is an error that
/// names it), and `Display` as the name.
macro_rules! text_enum {
    ($t:ty, $what:literal) => {
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $t
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                self.as_str().to_sql(out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $t
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                use diesel::deserialize::FromSql;
                use diesel::sql_types::Text;
                let name = <String as FromSql<Text, DB>>::from_sql(bytes)?;
                Self::parse(&name)
                    .ok_or_else(|| format!(concat!("unknown ", $what, " {:?}"), name).into())
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

/// Runs `$body` with `$c` bound to the concrete connection inside `$conn` (a `&mut DbConn`).
/// The body is compiled once per backend, which is how upserts are written once.
macro_rules! with_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg($c) => $body,
            $crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}
pub(crate) use with_backend;

/// Which database engine a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

/// A parsed `ACMIRROR_DATABASE_URL`. The backend is decided by the prefix, never by trying
/// each backend in turn (SQLite would accept any string as a file name).
#[derive(Clone)]
pub enum DatabaseUrl {
    /// A SQLite file path.
    Sqlite(String),
    /// A PostgreSQL connection URL; it may hold a password, so it is kept secret.
    Postgres(SecretString),
}

impl DatabaseUrl {
    /// Parses a database URL: `postgres://…`/`postgresql://…`, `sqlite://PATH`, or a path.
    /// The error says what is wrong; the caller names the setting.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("is empty; give a SQLite file path or a postgres:// URL".into());
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self::Postgres(SecretString::from(raw.to_owned())));
        }
        if let Some(path) = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err("sqlite:// needs a file path after it".into());
            }
            return Ok(Self::Sqlite(path.to_owned()));
        }
        if let Some((scheme, _)) = raw.split_once("://") {
            return Err(format!(
                "unsupported scheme {scheme:?}; use a SQLite file path, sqlite://PATH or postgres://…"
            ));
        }
        Ok(Self::Sqlite(raw.to_owned()))
    }

    /// The backend this URL names.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL with any password replaced by `***`, fit for logs.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => path.clone(),
            Self::Postgres(url) => redact_password(url.expose_secret()),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            // set_password only fails for URLs that cannot carry one, which this one did.
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "postgres://(unparsable URL)".into(),
    }
}

/// Opens connections for the pool and prepares SQLite ones.
pub struct Manager {
    url: DatabaseUrl,
}

/// SQLite settings applied to every connection. `busy_timeout` comes first so that the
/// others wait for a lock instead of failing.
///
/// `synchronous = FULL` makes every commit durable across power loss as well as process
/// crashes: the webhook endpoint answers 200 only after the commit, and group commit shares
/// one fsync among many deliveries, so the stronger setting costs little.
///
/// `cache_size` is per connection (16 MB each), and a pool holds up to eight: under sustained
/// intake `serve` grew past 100 MB as the connections' caches filled. `soft_heap_limit` is
/// process-wide: above it SQLite reuses cached pages instead of allocating more, so all
/// connections together keep to 32 MB of SQLite memory.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 15000;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;
PRAGMA temp_store = MEMORY;
PRAGMA cache_size = -16000;
PRAGMA soft_heap_limit = 33554432;";

/// PostgreSQL settings applied to every connection.
///
/// Statements are prepared once per connection, and after five executions PostgreSQL may
/// switch a prepared statement to a generic plan chosen for the table as it was then. A mirror
/// fills fast from empty (a first full run, a burst of deliveries), so a plan chosen for an
/// empty `deals` or `webhook_events` (a sequential scan for `id = ANY($1)`, a sort for the
/// pending queue) stays in use when the table holds millions of rows: profiled, a full run into
/// a new database spent most of the server's time scanning `deals` for each page. Planning
/// every execution with its parameters costs tens of microseconds per statement and keeps
/// every plan fit for the table as it is.
const POSTGRES_SETTINGS: &str = "SET plan_cache_mode = force_custom_plan;";

/// WAL mode is a property of the file: set once, before the pool opens its connections
/// (switching it needs an exclusive lock that concurrent new connections would contend for).
fn prepare_sqlite_file(path: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut conn = SqliteConnection::establish(path)
        .with_context(|| format!("Failed to open the SQLite database {path:?}"))?;
    conn.batch_execute("PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL;")
        .with_context(|| format!("Failed to switch {path:?} to WAL mode"))?;
    Ok(())
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn =
                    SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = PgConnection::establish(url.expose_secret())
                    .map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(POSTGRES_SETTINGS)
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Pg(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Pool settings.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_size: u32,
    /// How long to wait for a free connection.
    pub timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 8,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Builds a pool; fails with the database's own message when it cannot connect.
pub fn connect(url: &DatabaseUrl, opts: &PoolOptions) -> anyhow::Result<Pool> {
    use anyhow::Context;
    if let DatabaseUrl::Sqlite(path) = url {
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() && !dir.exists() {
                anyhow::bail!(
                    "the directory of the SQLite database {path:?} does not exist; create it or set ACMIRROR_DATABASE_URL"
                );
            }
        }
    }
    match url {
        DatabaseUrl::Sqlite(path) => prepare_sqlite_file(path)?,
        DatabaseUrl::Postgres(secret) => {
            startup::probe_postgres(secret, &url.redacted(), startup::PROBE_TIMEOUT)?
        }
    }
    // A SQLite file has one writer at a time; a few connections serve readers and writers.
    let max_size = match url {
        DatabaseUrl::Sqlite(_) => opts.max_size.min(8),
        DatabaseUrl::Postgres(secret) => fit_postgres_pool(url, secret, opts.max_size)?,
    };
    let manager = Manager { url: url.clone() };
    // Connections open on demand: two at start, not the whole pool (r2d2 would otherwise
    // open max_size at once, and keep retrying the ones the server refuses).
    let pool = r2d2::Pool::builder()
        .max_size(max_size)
        .min_idle(Some(max_size.min(2)))
        .connection_timeout(opts.timeout)
        .error_handler(Box::new(capacity::QuietErrors::default()))
        .build(manager)
        .with_context(|| {
            format!(
                "Failed to connect to the database {} (pool of {max_size}; {} sets the size)",
                url.redacted(),
                capacity::POOL_SETTING
            )
        })?;
    Ok(pool)
}

/// The pool size for a PostgreSQL server: the requested one, capped to what the server has
/// free (see [`capacity`]); logs when it caps.
fn fit_postgres_pool(
    url: &DatabaseUrl,
    secret: &SecretString,
    requested: u32,
) -> anyhow::Result<u32> {
    use anyhow::Context;
    let mut conn = match PgConnection::establish(secret.expose_secret()) {
        Ok(conn) => conn,
        Err(e) if e.to_string().contains("too many clients") => {
            return Err(crate::setting::ConfigError {
                setting: capacity::POOL_SETTING,
                message: format!(
                    "the database server {} has no free connection slot (it says: {e}); close idle clients or raise max_connections, then start again",
                    url.redacted()
                ),
            }
            .into())
        }
        Err(e) => {
            return Err(e).with_context(|| {
                format!("Failed to connect to the database {}", url.redacted())
            })
        }
    };
    let slots = capacity::probe(&mut conn)
        .context("Failed to read max_connections and pg_stat_activity")?;
    drop(conn);
    let cap = capacity::cap_pool(requested, slots)?;
    if cap.capped {
        tracing::warn!(
            requested,
            pool_size = cap.size,
            max_connections = slots.max_connections,
            reserved = slots.reserved,
            in_use = slots.in_use,
            free = slots.free(),
            "{} capped: the pool takes at most half of the server's free connection slots, leaving the rest to other clients",
            capacity::POOL_SETTING
        );
    }
    Ok(cap.size)
}

impl DbConn {
    /// The backend of this connection.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Pg(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Runs `f` in a write transaction. On SQLite the transaction starts with `BEGIN IMMEDIATE`
/// so that it takes the write lock up front and waits for it (busy_timeout) instead of failing
/// with SQLITE_BUSY when a read transaction later tries to write.
pub fn write_tx<T, E>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            // The original error matters more than a failed rollback, which leaves the
            // connection marked broken so the pool discards it.
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(err)
        }
    }
}

/// Takes turns at writing within one process. SQLite has one write lock per file, and its busy
/// handler retries with growing sleeps, so a writer that just released the lock tends to take
/// it again before a waiting one wakes; a fair (FIFO) async mutex makes the intake writer and
/// the apply worker alternate instead. PostgreSQL locks rows, so it needs no gate.
#[derive(Clone, Default)]
pub struct WriteGate(Option<std::sync::Arc<tokio::sync::Mutex<()>>>);

impl WriteGate {
    /// A gate for this backend (a no-op on PostgreSQL).
    pub fn for_backend(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self(Some(std::sync::Arc::new(tokio::sync::Mutex::new(())))),
            Backend::Postgres => Self(None),
        }
    }

    /// True when writers take turns (SQLite: one write lock per file).
    pub fn takes_turns(&self) -> bool {
        self.0.is_some()
    }

    /// Waits for this writer's turn; the turn lasts as long as the guard.
    pub async fn enter(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.0 {
            Some(m) => Some(m.lock().await),
            None => None,
        }
    }
}

/// Ids per `IN (…)` list and rows per multi-row statement outside the set-based writers: well
/// under SQLite's bound-variable limit.
pub(crate) const CHUNK: usize = 400;

/// `ON CONFLICT … DO UPDATE … WHERE`: diesel exposes the `WHERE` of an upsert through
/// `FilterDsl`, whose `filter` would be ambiguous with `QueryDsl::filter` if imported.
pub(crate) trait OnlyIf<P>: diesel::query_dsl::methods::FilterDsl<P> + Sized {
    /// Updates the conflicting row only where `predicate` holds.
    fn only_if(self, predicate: P) -> Self::Output {
        diesel::query_dsl::methods::FilterDsl::filter(self, predicate)
    }
}

impl<T: diesel::query_dsl::methods::FilterDsl<P>, P> OnlyIf<P> for T {}

/// Runs `work` with a pooled connection on a blocking thread, so that database work never
/// holds an async worker thread. A panic inside `work` becomes an error.
pub async fn blocking<T, F>(pool: &Pool, work: F) -> anyhow::Result<T>
where
    F: FnOnce(&mut DbConn) -> anyhow::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        work(&mut conn)
    })
    .await
    .map_err(|e| anyhow::anyhow!("a database task panicked: {e}"))?
}

/// True for database errors that another attempt can get past: a deadlock or serialization
/// failure between replicas, a busy SQLite file, a dropped connection.
///
/// diesel 2.3 gives a kind for serialization failures (40001) and closed connections, but no
/// SQLSTATE and no SQLite result code for anything else, so deadlocks (40P01), lock timeouts
/// (55P03) and `SQLITE_BUSY` are told by their text. SQLite's text for a result code is fixed;
/// PostgreSQL's follows `lc_messages`, which start-up checks
/// ([`startup::message_language_warning`]).
pub fn is_transient(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(
            DatabaseErrorKind::SerializationFailure | DatabaseErrorKind::ClosedConnection,
            _,
        ) => true,
        Error::DatabaseError(_, info) => {
            let m = info.message();
            m.contains("deadlock detected")
                || m.contains("database is locked")
                || m.contains("lock timeout")
                || m.contains("could not obtain lock")
        }
        Error::BrokenTransactionManager | Error::RollbackErrorOnCommit { .. } => true,
        _ => false,
    }
}

/// Runs a write transaction, again (up to 5 attempts, with a short pause) when it fails for
/// a transient reason.
pub fn write_tx_retrying<T>(
    conn: &mut DbConn,
    mut f: impl FnMut(&mut DbConn) -> Result<T, diesel::result::Error>,
) -> Result<T, diesel::result::Error> {
    let mut attempt = 0u64;
    loop {
        match write_tx(conn, &mut f) {
            Err(e) if attempt < 4 && is_transient(&e) => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(25 * attempt));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_their_backend_by_prefix() {
        assert_eq!(
            DatabaseUrl::parse("acmirror.db").map(|u| u.backend()),
            Ok(Backend::Sqlite)
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db").map(|u| u.backend()),
            Ok(Backend::Sqlite)
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://u:p@h/db").map(|u| u.backend()),
            Ok(Backend::Postgres)
        );
        assert!(DatabaseUrl::parse("mysql://h/db").is_err());
        assert!(DatabaseUrl::parse("postgress://h/db").is_err());
    }

    #[test]
    fn sqlite_url_keeps_the_path_after_the_scheme() {
        match DatabaseUrl::parse("sqlite:///var/lib/acmirror.db") {
            Ok(DatabaseUrl::Sqlite(p)) => assert_eq!(p, "/var/lib/acmirror.db"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn postgres_password_never_shows() {
        let url = DatabaseUrl::parse("postgres://acm:hunter2@db.internal:5432/acm").expect("valid");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert!(!url.redacted().contains("hunter2"));
        assert!(url.redacted().contains("db.internal"));
    }

    #[test]
    fn sqlite_connections_keep_to_one_process_wide_memory_limit() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("limit.db").to_string_lossy().into_owned();
        let manager = Manager {
            url: DatabaseUrl::Sqlite(path),
        };
        #[derive(diesel::QueryableByName)]
        struct Limit {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            soft_heap_limit: i64,
        }
        for _ in 0..2 {
            let mut conn = manager.connect().expect("connection");
            let limit: Vec<Limit> =
                diesel::RunQueryDsl::load(diesel::sql_query("PRAGMA soft_heap_limit"), &mut conn)
                    .expect("pragma");
            assert_eq!(limit[0].soft_heap_limit, 32 << 20);
        }
    }
}

//! Start-up checks that turn a database that cannot be opened into one clear message: a
//! PostgreSQL server that does not answer, or a disk that is full; and one that warns when
//! PostgreSQL speaks a language in which transient errors cannot be recognised.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use secrecy::{ExposeSecret, SecretString};

/// How long the first PostgreSQL connection may take before start-up gives up.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens one PostgreSQL connection, within `timeout`, before any pool is built: a server that
/// is down or unreachable then fails start-up at once with one message, instead of a pool
/// retrying (and logging) in the background until its own timeout.
pub fn probe_postgres(url: &SecretString, shown: &str, timeout: Duration) -> anyhow::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let url = url.expose_secret().to_owned();
    // libpq blocks; a thread lets start-up stop waiting. If the attempt outlives the timeout
    // the thread ends with it, its result unread.
    std::thread::Builder::new()
        .name("db-probe".into())
        .spawn(move || {
            let _ = tx.send(PgConnection::establish(&url).map(drop));
        })
        .map_err(|e| anyhow::anyhow!("Failed to start the database check: {e}"))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(anyhow::anyhow!(
            "Failed to connect to the database {shown}: {}; check that PostgreSQL is running and reachable and that ACMIRROR_DATABASE_URL is right",
            // libpq's message spans lines; one line reads better in logs.
            e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
        )),
        Err(_) => Err(anyhow::anyhow!(
            "Failed to connect to the database {shown}: no answer within {} s; check that PostgreSQL is running and reachable (host, port, firewall) and that ACMIRROR_DATABASE_URL is right",
            timeout.as_secs()
        )),
    }
}

/// ENOSPC and EDQUOT on Linux.
const ENOSPC: i32 = 28;
const EDQUOT: i32 = 122;

/// True when the OS says a write failed for want of space.
pub fn is_out_of_space(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) || matches!(e.raw_os_error(), Some(ENOSPC | EDQUOT))
}

/// Whether the directory of `db_path` can take a small write; `Err` carries the OS's error.
fn probe_space(db_path: &Path) -> std::io::Result<()> {
    let dir = match db_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let probe = dir.join(format!(".acmirror-space-check-{}", std::process::id()));
    let result = std::fs::File::create(&probe).and_then(|mut f| {
        f.write_all(&[0u8; 64 * 1024])?;
        f.sync_all()
    });
    let _ = std::fs::remove_file(&probe);
    result
}

/// Rewrites a failure to open or migrate a SQLite mirror when the cause is a full disk:
/// SQLite reports SQLITE_FULL as "database or disk is full", but a failed write of its
/// journal or shared-memory file only as "disk I/O error", so the directory is probed with a
/// small write to ask the OS. Other failures pass through unchanged.
pub fn explain_sqlite_failure(db_path: &str, err: anyhow::Error) -> anyhow::Error {
    let text = format!("{err:#}");
    let sqlite_full = text.contains("database or disk is full");
    let io_error = text.contains("disk I/O error");
    if !sqlite_full && !io_error {
        return err;
    }
    let os_says = match probe_space(Path::new(db_path)) {
        Err(e) if is_out_of_space(&e) => Some(e),
        _ => None,
    };
    match (sqlite_full, os_says) {
        (_, Some(e)) => err.context(format!(
            "No space left on the device holding the SQLite database {db_path:?} ({e}): free space there, or move ACMIRROR_DATABASE_URL to a larger disk, then start again; SQLite keeps the file consistent"
        )),
        (true, None) => err.context(format!(
            "The SQLite database {db_path:?} or its disk is full (SQLITE_FULL): free space on that disk, then start again"
        )),
        (false, None) => err,
    }
}

/// True when PostgreSQL's `lc_messages` gives English error messages (`C`, `POSIX`, `en_*`, or
/// empty: the server's default, English unless the cluster was initialised otherwise).
pub fn messages_in_english(lc_messages: &str) -> bool {
    let lc = lc_messages.trim();
    lc.is_empty()
        || lc.eq_ignore_ascii_case("C")
        || lc.eq_ignore_ascii_case("POSIX")
        || lc.to_ascii_uppercase().starts_with("C.")
        || lc.to_ascii_lowercase().starts_with("en")
}

/// On PostgreSQL, a warning when its messages are not in English. diesel 2.3 reports no
/// SQLSTATE for most errors, so a deadlock or lock timeout between replicas is recognised by its
/// English message (`db::is_transient`); in another language such an error fails the
/// delivery it met (kept for `replay --failed`) instead of being retried at once.
pub fn message_language_warning(
    conn: &mut crate::db::DbConn,
) -> diesel::QueryResult<Option<String>> {
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let crate::db::DbConn::Pg(pg) = conn else {
        return Ok(None);
    };
    let setting: Setting =
        diesel::sql_query("SELECT current_setting('lc_messages') AS value").get_result(pg)?;
    Ok((!messages_in_english(&setting.value)).then(|| {
        format!(
            "PostgreSQL's lc_messages is {:?}: deadlocks and lock timeouts between replicas are \
             recognised by their English text, so with this setting they fail the delivery they \
             meet (kept for `acmirror replay --failed`) instead of being retried. Have an \
             administrator run ALTER ROLE <the mirror's user> SET lc_messages = 'C'",
            setting.value
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_and_quota_count_as_out_of_space() {
        assert!(is_out_of_space(&std::io::Error::from_raw_os_error(ENOSPC)));
        assert!(is_out_of_space(&std::io::Error::from_raw_os_error(EDQUOT)));
        assert!(!is_out_of_space(&std::io::Error::from_raw_os_error(13)));
    }

    #[test]
    fn sqlite_full_is_named_even_when_the_disk_has_room_now() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.db");
        let path = path.to_str().expect("utf-8");
        let err = explain_sqlite_failure(path, anyhow::anyhow!("database or disk is full"));
        let text = format!("{err:#}");
        assert!(text.contains("full") && text.contains(path), "{text}");
    }

    #[test]
    fn an_io_error_on_a_disk_with_room_is_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.db");
        let err = explain_sqlite_failure(
            path.to_str().expect("utf-8"),
            anyhow::anyhow!("disk I/O error"),
        );
        assert_eq!(format!("{err:#}"), "disk I/O error");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }

    #[test]
    fn english_message_settings_are_told_from_others() {
        for lc in [
            "",
            "C",
            "C.UTF-8",
            "c.utf8",
            "POSIX",
            "en_US.UTF-8",
            "en_GB",
        ] {
            assert!(messages_in_english(lc), "{lc:?}");
        }
        for lc in ["de_DE.UTF-8", "fr_FR", "ja_JP.eucJP", "pt_BR.UTF-8"] {
            assert!(!messages_in_english(lc), "{lc:?}");
        }
    }
}

//! The composition root: the one place that builds the daemon's parts and hands each what it
//! needs. Pool and migrations, webhook secret, spool, intake writer, apply worker, retention,
//! checkpoints, the reconciler with its schedules, the admin endpoints and the HTTP server are
//! started together here and stopped together by one shutdown signal; the modules below know
//! nothing of one another beyond what they are given.

mod admin;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use anyhow::Context;
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::db::health::{probe_write, WriteHealth};
use crate::db::{self, Pool, PoolOptions};
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::reconcile::{schedule, Reconciler};
use crate::webhook::fallback::Drain;
use crate::webhook::retention;
use crate::webhook::spool::Spool;
use crate::webhook::store::{Intake, Sink};
use crate::webhook::worker;

/// Key of the generated webhook secret in `acmirror_meta`.
const SECRET_KEY: &str = "webhook_secret";

/// The webhook path as shown when the secret is not to be shown.
pub const MASKED_WEBHOOK_PATH: &str = "/webhooks/activecampaign/****";

/// Where `serve` answers: `https://` when it serves TLS itself.
pub fn base_url(settings: &Settings, addr: SocketAddr) -> String {
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{addr}")
}

/// Opens the pool and brings the schema up to date; returns the migrations applied.
pub async fn open_database(settings: &Settings) -> anyhow::Result<(Pool, Vec<String>)> {
    let url = settings.database.clone();
    let opts = PoolOptions {
        max_size: settings.db_pool_size,
        ..PoolOptions::default()
    };
    tokio::task::spawn_blocking(move || {
        let opened = (|| {
            let pool = db::connect(&url, &opts)?;
            let mut conn = pool.get().context("Failed to open a database connection")?;
            let applied = db::migrate::run(&mut conn)?;
            match db::startup::message_language_warning(&mut conn) {
                Ok(Some(warning)) => tracing::warn!("{warning}"),
                Ok(None) => {}
                // A check that cannot run must not keep the mirror from starting.
                Err(e) => tracing::debug!(error = %e, "could not read PostgreSQL's lc_messages"),
            }
            Ok((pool, applied))
        })();
        match &url {
            db::DatabaseUrl::Sqlite(path) => {
                opened.map_err(|e| db::startup::explain_sqlite_failure(path, e))
            }
            db::DatabaseUrl::Postgres(_) => opened,
        }
    })
    .await
    .context("database start-up panicked")?
}

/// The webhook secret: configured, or generated once (256 random bits, URL-safe) and kept in
/// the database. The flag says whether it was generated just now.
pub async fn webhook_secret(
    pool: &Pool,
    configured: Option<&SecretString>,
) -> anyhow::Result<(SecretString, bool)> {
    if let Some(s) = configured {
        return Ok((s.clone(), false));
    }
    db::blocking(pool, |conn| {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let candidate = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let stored = db::meta::get_or_insert(conn, SECRET_KEY, &candidate)?;
        let generated = stored == candidate;
        Ok((SecretString::from(stored), generated))
    })
    .await
}

/// Fails, saying why and what to do, when the database does not take a write.
pub async fn check_writable(pool: &Pool, settings: &Settings) -> anyhow::Result<()> {
    let pool = pool.clone();
    let checked = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn = pool
            .get_timeout(Duration::from_secs(10))
            .context("no database connection within 10 s")?;
        probe_write(&mut conn)
    })
    .await
    .context("the start-up write check panicked")?;
    checked.with_context(|| {
        let what = match settings.database.backend() {
            db::Backend::Sqlite => "check that the file, its directory and its -wal/-shm files are writable by this user, that the disk has free space, and that the file is not immutable (lsattr)",
            db::Backend::Postgres => "check that the server accepts writes (not a read-only replica, not in recovery, disk not full) and that the user may write the mirror's tables",
        };
        format!(
            "The database {} cannot be written, so deliveries could not be stored: {what}",
            settings.database.redacted()
        )
    })
}

/// Opens and locks the spool directory, unless the spool is disabled.
async fn open_spool(settings: &Settings) -> anyhow::Result<Option<Arc<Spool>>> {
    if settings.spool_max_bytes == 0 {
        tracing::warn!("ACMIRROR_SPOOL_MAX_BYTES is 0: the spool is disabled, deliveries are refused (503) while the database cannot take writes");
        return Ok(None);
    }
    let dir = settings.spool_dir.clone();
    let max = settings.spool_max_bytes;
    let spool = tokio::task::spawn_blocking(move || Spool::open(&dir, max))
        .await
        .context("opening the spool panicked")?
        .with_context(|| {
            format!(
                "Failed to open the spool directory {} (ACMIRROR_SPOOL_DIR)",
                settings.spool_dir.display()
            )
        })?;
    let held = spool.stats();
    if held.deliveries > 0 {
        tracing::warn!(
            spool_dir = %spool.dir().display(),
            spool_deliveries = held.deliveries,
            spool_bytes = held.bytes,
            "the spool holds deliveries from an earlier run; they drain into the database now"
        );
    }
    Ok(Some(Arc::new(spool)))
}

/// A running daemon.
pub struct Daemon {
    /// The address the HTTP server listens on.
    pub addr: SocketAddr,
    /// The pool, for callers that inspect the mirror.
    pub pool: Pool,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The webhook secret in use.
    pub secret: SecretString,
    /// True when the secret was generated by this start.
    pub secret_generated: bool,
    /// The spool, when enabled.
    pub spool: Option<Arc<Spool>>,
    reconciler: Option<Reconciler>,
    shutdown: CancellationToken,
    server: actix_web::dev::ServerHandle,
    server_task: JoinHandle<std::io::Result<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Daemon {
    /// Starts everything on an opened pool. `workers` is the number of HTTP worker threads.
    /// Reconciliation, its schedules and `/admin/resync` run when `ACMIRROR_AC_API_URL` is set.
    pub async fn start(
        settings: &Settings,
        pool: Pool,
        metrics: Arc<Metrics>,
        workers: usize,
    ) -> anyhow::Result<Self> {
        check_writable(&pool, settings).await?;
        let spool = open_spool(settings).await?;
        let (secret, secret_generated) =
            webhook_secret(&pool, settings.webhook_secret.as_ref()).await?;
        let notify = Arc::new(Notify::new());
        let shutdown = CancellationToken::new();
        let gate = crate::db::WriteGate::for_backend(settings.database.backend());
        let prune_task = tokio::spawn(retention::run(
            pool.clone(),
            gate.clone(),
            retention::Retention::days(settings.retention_days),
            shutdown.clone(),
        ));
        let health = WriteHealth::new(pool.clone());
        let sink = Sink {
            pool: pool.clone(),
            gate: gate.clone(),
            health: health.clone(),
            spool: spool.clone(),
        };
        let (intake, writer) = Intake::start_with(sink, metrics.clone(), notify.clone());
        let mut tasks = vec![writer, prune_task];
        if gate.takes_turns() {
            tasks.push(tokio::spawn(crate::db::checkpoint::run(
                pool.clone(),
                shutdown.clone(),
            )));
        }
        if let Some(spool) = &spool {
            let drain = Drain {
                spool: spool.clone(),
                pool: pool.clone(),
                health: health.clone(),
                gate: gate.clone(),
                metrics: metrics.clone(),
                applied: notify.clone(),
            };
            tasks.push(tokio::spawn(drain.run(shutdown.clone())));
        }
        let reconciler = match &settings.api {
            Some(api) => Some(Reconciler::new(pool.clone(), api, metrics.clone())?),
            None => None,
        };
        let admin = admin::AdminOps::new(admin::Parts {
            pool: pool.clone(),
            settings: settings.clone(),
            rec: reconciler.clone(),
            gate: gate.clone(),
            applied: notify.clone(),
        });
        let history_gate = gate.clone();
        let apply_task = tokio::spawn(worker::run(
            pool.clone(),
            metrics.clone(),
            notify,
            shutdown.clone(),
            gate,
        ));
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            intake,
            secret: secret.clone(),
            admin_token: settings.admin_token.clone(),
            metrics: metrics.clone(),
            admin: Some(Arc::new(admin.clone())),
            limits: settings.http_limits,
            body_budget: http::body::BodyBudget::new(settings.http_limits.body_memory),
            health,
            spool: spool.clone(),
        });
        let tls = match &settings.tls {
            Some((cert, key)) => Some(http::tls_config(cert, key)?),
            None => None,
        };
        let (server, addr) = http::bind(settings.listen, state, workers, tls)?;
        admin.set_webhook_url(format!("{}{MASKED_WEBHOOK_PATH}", base_url(settings, addr)));
        let handle = server.handle();
        let server_task = tokio::spawn(server);
        tasks.push(apply_task);
        tasks.push(tokio::spawn(crate::webhook::history::run(
            pool.clone(),
            history_gate,
            shutdown.clone(),
        )));
        if let Some(rec) = &reconciler {
            tasks.extend(schedule::spawn(rec, settings, &shutdown));
        }
        Ok(Self {
            addr,
            pool,
            metrics,
            secret,
            secret_generated,
            spool,
            reconciler,
            shutdown,
            server: handle,
            server_task,
            tasks,
        })
    }

    /// The reconciler that the schedules and `/admin/resync` use, when the API is configured.
    pub fn reconciler(&self) -> Option<&Reconciler> {
        self.reconciler.as_ref()
    }

    /// The webhook path with the secret, e.g. `/webhooks/activecampaign/<secret>`.
    pub fn webhook_path(&self) -> String {
        format!("/webhooks/activecampaign/{}", self.secret.expose_secret())
    }

    /// Graceful stop: no new connections, in-flight deliveries committed and answered, the
    /// apply worker's batch finished, background tasks ended.
    pub async fn stop(self) {
        self.server.stop(true).await;
        let _ = self.server_task.await;
        self.shutdown.cancel();
        for task in self.tasks {
            if tokio::time::timeout(Duration::from_secs(8), task)
                .await
                .is_err()
            {
                tracing::warn!("a background task did not stop within 8 s");
            }
        }
        if let Some(spool) = &self.spool {
            let held = spool.stats();
            if held.deliveries > 0 {
                tracing::warn!(spool_dir = %spool.dir().display(), spool_deliveries = held.deliveries, "stopped with deliveries in the spool; they drain into the database at the next start");
            } else {
                spool.remove_if_empty();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Settings, SettingsArgs};

    #[test]
    fn the_banner_names_https_when_serve_terminates_tls() {
        let env = |tls: bool| {
            move |k: &str| match k {
                "ACMIRROR_TLS_CERT" if tls => Some("/etc/acmirror/cert.pem".to_owned()),
                "ACMIRROR_TLS_KEY" if tls => Some("/etc/acmirror/key.pem".to_owned()),
                _ => None,
            }
        };
        let addr: SocketAddr = "127.0.0.1:8080".parse().expect("address");
        let plain = Settings::load(&SettingsArgs::default(), &env(false)).expect("settings");
        let tls = Settings::load(&SettingsArgs::default(), &env(true)).expect("settings");
        assert_eq!(base_url(&plain, addr), "http://127.0.0.1:8080");
        assert_eq!(base_url(&tls, addr), "https://127.0.0.1:8080");
    }
}

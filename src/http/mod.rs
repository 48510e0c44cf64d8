//! The HTTP surface: the webhook endpoint, health, readiness, metrics and admin endpoints.

pub mod admin;
pub mod body;
pub mod dashboard;
pub mod limits;
pub mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, Service};
use actix_web::{web, App, HttpResponse, HttpServer};
use secrecy::SecretString;

use crate::db::Pool;
use crate::metrics::Metrics;
use crate::webhook::store::Intake;

/// Largest webhook body accepted (SPEC §3).
pub const MAX_BODY: usize = 1024 * 1024;

/// Why `POST /admin/resync` did not start a run.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// Another run holds the reconciliation lock: 409, try again later.
    #[error("{0}")]
    Busy(String),
    /// Reconciliation is not configured: 503.
    #[error("reconciliation is not configured; set ACMIRROR_AC_API_URL and ACMIRROR_AC_API_TOKEN")]
    NotConfigured,
    /// The run could not be set up (the database failed): 500.
    #[error("{0}")]
    Failed(String),
}

impl TriggerError {
    /// The answer to the request.
    pub fn response(&self) -> HttpResponse {
        let body = self.to_string();
        match self {
            TriggerError::Busy(_) => HttpResponse::Conflict().body(body),
            TriggerError::NotConfigured => HttpResponse::ServiceUnavailable().body(body),
            TriggerError::Failed(_) => HttpResponse::InternalServerError().body(body),
        }
    }
}

/// A document the dashboard reads (`GET /admin/...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// `/admin/status`: the `status --json` document.
    Status,
    /// `/admin/overview`.
    Overview,
    /// `/admin/deliveries/per-minute`.
    DeliveriesPerMinute,
    /// `/admin/apply/history`.
    ApplyHistory,
    /// `/admin/runs`.
    Runs,
    /// `/admin/deliveries/failed`, the page of ids below `before`.
    Failed {
        /// Keyset: only ids below this one.
        before: Option<i64>,
    },
}

/// What `POST /admin/replay` replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayTarget {
    /// One delivery: replayed now, its outcome answered.
    One(i64),
    /// Every failed delivery: handed to the apply worker, the count answered.
    AllFailed,
}

/// The operations behind `/admin/*`, served by the daemon.
pub trait Admin: Send + Sync {
    /// Starts a run (`full` or incremental) in the background and returns its id, or why it
    /// could not start.
    fn trigger(
        &self,
        full: bool,
        allow_mass_delete: bool,
    ) -> futures_util::future::BoxFuture<'static, Result<i64, TriggerError>>;
    /// A document, as JSON.
    fn document(
        &self,
        which: Document,
    ) -> futures_util::future::BoxFuture<'static, Result<serde_json::Value, String>>;
    /// Replays deliveries; `Ok(None)` when the one named does not exist.
    fn replay(
        &self,
        target: ReplayTarget,
    ) -> futures_util::future::BoxFuture<'static, Result<Option<serde_json::Value>, String>>;
}

/// Shared state of the handlers.
pub struct AppState {
    /// Database pool.
    pub pool: Pool,
    /// Durable intake.
    pub intake: Intake,
    /// The webhook path secret.
    pub secret: SecretString,
    /// Bearer token of `/admin/*`.
    pub admin_token: Option<SecretString>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Admin operations, when the daemon offers them.
    pub admin: Option<Arc<dyn Admin>>,
    /// Connection, time and memory bounds.
    pub limits: limits::HttpLimits,
    /// Memory that request bodies in flight may hold, shared by all workers.
    pub body_budget: body::BodyBudget,
    /// Whether the database takes writes, known fast.
    pub health: crate::db::health::WriteHealth,
    /// The spool, when enabled.
    pub spool: Option<Arc<crate::webhook::spool::Spool>>,
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

/// 200 only when the database takes a write now (a probe at most every couple of seconds,
/// bounded to about 2 s) and the schema is current; otherwise 503 with the reason, which also
/// says how many deliveries wait in the spool.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.health.check().await {
        Ok(()) => HttpResponse::Ok().body("ready"),
        Err(why) => {
            let spooled = state.spool.as_ref().map(|s| s.stats());
            let body = match spooled {
                Some(st) => format!(
                    "not ready: {why}; deliveries are kept in the spool ({} waiting, {} bytes)",
                    st.deliveries, st.bytes
                ),
                None => format!("not ready: {why}"),
            };
            tracing::warn!(reason = %why, "readiness: not ready");
            HttpResponse::ServiceUnavailable().body(body)
        }
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render())
}

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route(
            "/webhooks/activecampaign/{secret}",
            web::post().to(webhook::receive),
        )
        .route("/admin/resync", web::post().to(admin::resync))
        .route("/admin/replay", web::post().to(admin::replay))
        .route("/admin/status", web::get().to(admin::status))
        .route("/admin/overview", web::get().to(admin::overview))
        .route(
            "/admin/deliveries/per-minute",
            web::get().to(admin::deliveries_per_minute),
        )
        .route("/admin/deliveries/failed", web::get().to(admin::failed))
        .route("/admin/apply/history", web::get().to(admin::apply_history))
        .route("/admin/runs", web::get().to(admin::runs))
        .configure(dashboard::routes);
}

/// Loads a PEM certificate chain and private key for serving HTTPS.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<rustls::ServerConfig> {
    use anyhow::Context;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .with_context(|| {
            format!(
                "ACMIRROR_TLS_CERT: cannot read a PEM certificate chain from {}",
                cert.display()
            )
        })?;
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| {
        format!(
            "ACMIRROR_TLS_KEY: cannot read a PEM private key from {}",
            key.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS set-up failed")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("ACMIRROR_TLS_CERT and ACMIRROR_TLS_KEY do not form a usable certificate and key")
}

/// A request that was not finished within the request timeout, whatever it was waiting for
/// (its body, the database, a slow handler). Answered 408; the connection is closed.
#[derive(Debug, thiserror::Error)]
#[error("the request was not finished within {} s", .0.as_secs())]
pub struct RequestTimedOut(pub Duration);

impl actix_web::ResponseError for RequestTimedOut {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::REQUEST_TIMEOUT
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::RequestTimeout()
            .force_close()
            .body(self.to_string())
    }
}

/// Binds the server, over TLS when `tls` is given. Signals are handled by the caller, which
/// stops the server gracefully.
pub fn bind(
    addr: SocketAddr,
    state: web::Data<AppState>,
    workers: usize,
    tls: Option<rustls::ServerConfig>,
) -> anyhow::Result<(Server, SocketAddr)> {
    use anyhow::Context;
    let limits = state.limits;
    let (max_connections, lowered_by) = limits.effective_max_connections();
    if let Some(soft) = lowered_by {
        tracing::warn!(
            configured = limits.max_connections,
            applied = max_connections,
            open_file_limit = soft,
            "ACMIRROR_MAX_CONNECTIONS does not fit the open file limit (ulimit -n); raise the limit (LimitNOFILE= in systemd) or lower the setting"
        );
    }
    // actix counts connections per worker.
    let workers = workers.max(1);
    let per_worker = max_connections.div_ceil(workers).max(1);
    let request_timeout = limits.request_timeout;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .wrap_fn(move |req, srv| {
                // The webhook path carries the secret: only its prefix is logged.
                let path = match req.path() {
                    p if p.starts_with("/webhooks/") => "/webhooks/…".to_owned(),
                    p => p.chars().take(64).collect(),
                };
                let call = srv.call(req);
                async move {
                    match tokio::time::timeout(request_timeout, call).await {
                        Ok(res) => res,
                        Err(_) => {
                            tracing::warn!(%path, seconds = request_timeout.as_secs(), "request timed out");
                            Err(RequestTimedOut(request_timeout).into())
                        }
                    }
                }
            })
            .configure(routes)
    })
    .workers(workers)
    .max_connections(per_worker)
    .backlog(limits.backlog)
    .disable_signals()
    // Slow clients are cut off: a request's head must arrive within 5 s.
    .client_request_timeout(Duration::from_secs(5))
    .client_disconnect_timeout(Duration::from_secs(2))
    .keep_alive(Duration::from_secs(30))
    .shutdown_timeout(8);
    let server = match tls {
        Some(config) => server.bind_rustls_0_23(addr, config),
        None => server.bind(addr),
    }
    .with_context(|| {
        format!("Failed to listen on {addr} (ACMIRROR_LISTEN); is another process using it?")
    })?;
    let bound = server
        .addrs()
        .first()
        .copied()
        .context("the server bound no address")?;
    Ok((server.run(), bound))
}

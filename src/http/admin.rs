//! `/admin/*`, behind `Authorization: Bearer <ACMIRROR_ADMIN_TOKEN>`.

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::webhook::secret_matches;
use super::{AppState, Document, ReplayTarget};

/// The token of an `Authorization: Bearer <token>` value. The scheme is case-insensitive
/// (RFC 9110 §11.1), so `bearer` and `BEARER` are accepted as well.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start())
}

/// Largest body of `POST /admin/resync`.
const MAX_ADMIN_BODY: usize = 4096;

/// `None` when the request carries the admin token, else the response to send.
fn refusal(req: &HttpRequest, state: &AppState) -> Option<HttpResponse> {
    let Some(token) = &state.admin_token else {
        return Some(
            HttpResponse::NotFound().body("admin endpoints are disabled; set ACMIRROR_ADMIN_TOKEN"),
        );
    };
    let given = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .unwrap_or("");
    if secret_matches(given, token.expose_secret()) {
        None
    } else {
        Some(
            HttpResponse::Unauthorized()
                .insert_header(("WWW-Authenticate", "Bearer"))
                .force_close()
                .finish(),
        )
    }
}

/// Body of `POST /admin/resync`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResyncRequest {
    /// Full run with deletion detection.
    #[serde(default)]
    pub full: bool,
    /// Let the full run mark more than 10% of a table deleted.
    #[serde(default)]
    pub allow_mass_delete: bool,
}

/// Body of `POST /admin/replay`: `{"id": N}` or `{"failed": true}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// One delivery.
    pub id: Option<i64>,
    /// Every failed delivery.
    #[serde(default)]
    pub failed: bool,
}

/// A JSON answer that no cache keeps.
fn json(status: actix_web::http::StatusCode, value: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(value)
}

/// The answer when the daemon offers no admin operations.
fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable().body("admin operations are not available")
}

/// Reads a small JSON body once the token is accepted; an empty body is `T::default()`.
async fn read_json<T: serde::de::DeserializeOwned + Default>(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    expected: &str,
) -> Result<T, HttpResponse> {
    let body = match super::body::read(
        req,
        payload,
        MAX_ADMIN_BODY,
        state.limits.body_timeout,
        &state.body_budget,
    )
    .await
    {
        Ok(body) => body.into_parts().0,
        Err(e) => return Err(e.response()),
    };
    if body.is_empty() {
        return Ok(T::default());
    }
    serde_json::from_slice(&body)
        .map_err(|e| HttpResponse::BadRequest().body(format!("expected {expected}: {e}")))
}

/// Starts a reconciliation run; 202 with its id.
pub async fn resync(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    if let Some(resp) = refusal(&req, &state) {
        return resp;
    }
    let request: ResyncRequest = match read_json(
        &req,
        payload,
        &state,
        "{\"full\": bool, \"allow_mass_delete\": bool}",
    )
    .await
    {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let Some(admin) = state.admin.clone() else {
        return super::TriggerError::NotConfigured.response();
    };
    match admin.trigger(request.full, request.allow_mass_delete).await {
        Ok(run_id) => json(
            actix_web::http::StatusCode::ACCEPTED,
            &serde_json::json!({ "run_id": run_id }),
        ),
        Err(e) => {
            if matches!(e, super::TriggerError::Failed(_)) {
                tracing::error!(error = %e, "an admin resync could not start");
            }
            e.response()
        }
    }
}

/// Replays one delivery (200 with its outcome, 404 when it does not exist) or hands every
/// failed one to the apply worker (202 with their count).
pub async fn replay(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    if let Some(resp) = refusal(&req, &state) {
        return resp;
    }
    let expected = "{\"id\": delivery id} or {\"failed\": true}";
    let request: ReplayRequest = match read_json(&req, payload, &state, expected).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let target = match (request.id, request.failed) {
        (Some(id), false) => ReplayTarget::One(id),
        (None, true) => ReplayTarget::AllFailed,
        _ => return HttpResponse::BadRequest().body(format!("expected {expected}")),
    };
    let Some(admin) = state.admin.clone() else {
        return unavailable();
    };
    use actix_web::http::StatusCode;
    match admin.replay(target).await {
        Ok(Some(report)) => {
            let status = match target {
                ReplayTarget::One(_) => StatusCode::OK,
                ReplayTarget::AllFailed => StatusCode::ACCEPTED,
            };
            json(status, &report)
        }
        Ok(None) => HttpResponse::NotFound().body("no stored delivery has this id"),
        Err(why) => {
            tracing::error!(error = %why, "an admin replay failed");
            HttpResponse::InternalServerError().body(why)
        }
    }
}

/// Answers a document of the dashboard.
async fn document(req: HttpRequest, state: web::Data<AppState>, which: Document) -> HttpResponse {
    if let Some(resp) = refusal(&req, &state) {
        return resp;
    }
    let Some(admin) = state.admin.clone() else {
        return unavailable();
    };
    match admin.document(which).await {
        Ok(doc) => json(actix_web::http::StatusCode::OK, &doc),
        Err(why) => {
            tracing::warn!(error = %why, ?which, "an admin document could not be read");
            HttpResponse::InternalServerError().body(why)
        }
    }
}

/// The `status --json` document.
pub async fn status(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    document(req, state, Document::Status).await
}

/// `GET /admin/overview`.
pub async fn overview(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    document(req, state, Document::Overview).await
}

/// `GET /admin/deliveries/per-minute`.
pub async fn deliveries_per_minute(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    document(req, state, Document::DeliveriesPerMinute).await
}

/// `GET /admin/apply/history`.
pub async fn apply_history(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    document(req, state, Document::ApplyHistory).await
}

/// `GET /admin/runs`.
pub async fn runs(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    document(req, state, Document::Runs).await
}

/// Query of `GET /admin/deliveries/failed`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailedQuery {
    before: Option<i64>,
}

/// `GET /admin/deliveries/failed[?before=ID]`.
pub async fn failed(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(resp) = refusal(&req, &state) {
        return resp;
    }
    match web::Query::<FailedQuery>::from_query(req.query_string()) {
        Ok(q) => {
            let before = q.into_inner().before;
            document(req, state, Document::Failed { before }).await
        }
        Err(e) => HttpResponse::BadRequest().body(format!("expected ?before=<delivery id>: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in [
            "Bearer tok",
            "bearer tok",
            "BEARER tok",
            "bEaReR   tok",
            " Bearer tok ",
        ] {
            assert_eq!(bearer_token(value), Some("tok"), "{value:?}");
        }
        assert_eq!(bearer_token("Basic dG9rOg=="), None);
        assert_eq!(bearer_token("Bearertok"), None);
        assert_eq!(bearer_token("tok"), None);
    }

    #[test]
    fn a_resync_that_cannot_start_says_why_with_a_status_of_its_own() {
        use super::super::TriggerError;
        let cases = [
            (TriggerError::Busy("another run".into()), 409),
            (TriggerError::NotConfigured, 503),
            (TriggerError::Failed("database: gone".into()), 500),
        ];
        for (e, status) in cases {
            assert_eq!(e.response().status().as_u16(), status, "{e}");
        }
    }
}

//! `/admin/*`, behind `Authorization: Bearer <ACMIRROR_ADMIN_TOKEN>`.

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::webhook::secret_matches;
use super::AppState;

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
pub struct ResyncRequest {
    /// Full run with deletion detection.
    #[serde(default)]
    pub full: bool,
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
    // The body is read only once the token is accepted.
    let body = match super::body::read(
        &req,
        payload,
        MAX_ADMIN_BODY,
        state.limits.body_timeout,
        &state.body_budget,
    )
    .await
    {
        Ok(body) => body.into_parts().0,
        Err(e) => return e.response(),
    };
    let request: ResyncRequest = if body.is_empty() {
        ResyncRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return HttpResponse::BadRequest().body(format!("expected {{\"full\": bool}}: {e}"))
            }
        }
    };
    let Some(admin) = state.admin.clone() else {
        return super::TriggerError::NotConfigured.response();
    };
    match admin.trigger(request.full).await {
        Ok(run_id) => HttpResponse::Accepted().json(serde_json::json!({ "run_id": run_id })),
        Err(e) => {
            if matches!(e, super::TriggerError::Failed(_)) {
                tracing::error!(error = %e, "an admin resync could not start");
            }
            e.response()
        }
    }
}

/// The `status --json` document.
pub async fn status(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(resp) = refusal(&req, &state) {
        return resp;
    }
    let Some(admin) = state.admin.clone() else {
        return HttpResponse::ServiceUnavailable().body("status is not available");
    };
    match web::block(move || admin.status()).await {
        Ok(Ok(doc)) => HttpResponse::Ok().json(doc),
        Ok(Err(why)) => HttpResponse::InternalServerError().body(why),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
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

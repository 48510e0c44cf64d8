//! `POST /webhooks/activecampaign/{secret}`.

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;
use tracing::Instrument;

use super::AppState;
use crate::webhook::store::{NewDelivery, Stored};

/// Compares in constant time so that the secret cannot be guessed byte by byte from timing.
pub fn secret_matches(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
        .unwrap_or(false)
}

/// Stores the delivery durably, then answers 200. Never answers 410 (ActiveCampaign would
/// deactivate the webhook for good).
///
/// The secret and the content type are checked before a byte of the body is read: a request
/// that fails them costs a 404 or 415 and its connection is closed, never kept for its body.
pub async fn receive(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    if !secret_matches(&path, state.secret.expose_secret()) {
        return HttpResponse::NotFound().force_close().finish();
    }
    if !is_form(&req) {
        return HttpResponse::UnsupportedMediaType()
            .force_close()
            .body("expected application/x-www-form-urlencoded");
    }
    let limits = &state.limits;
    let body = match super::body::read(
        &req,
        payload,
        super::MAX_BODY,
        limits.body_timeout,
        &state.body_budget,
    )
    .await
    {
        Ok(body) => body,
        Err(e) => {
            tracing::warn!(reason = %e, "delivery not read");
            return e.response();
        }
    };
    // A request id ties the log lines of one delivery together (a proxy's id is kept).
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .map_or_else(|| format!("{:016x}", rand::random::<u64>()), str::to_owned);
    let span = tracing::info_span!("delivery", request_id = %request_id, bytes = body.bytes.len());
    let mut response = store(body, state).instrument(span).await;
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-request-id"),
            value,
        );
    }
    response
}

async fn store(body: super::body::Body, state: web::Data<AppState>) -> HttpResponse {
    let received_at = crate::time::now();
    // The body's share of the memory budget is held until the delivery is stored.
    let (bytes, _held) = body.into_parts();
    let delivery = NewDelivery::from_body(bytes, received_at);
    let (event_type, parse_error) = (delivery.event_type.clone(), delivery.error.clone());
    match state.intake.store(delivery).await {
        Ok(Stored::Spooled) => {
            tracing::debug!(
                event_type = event_type.as_deref().unwrap_or("-"),
                "delivery spooled; it reaches the database when the database takes writes"
            );
            HttpResponse::Ok()
                .insert_header(("X-Acmirror-Spooled", "1"))
                .body("ok")
        }
        Ok(stored) => {
            let (id, duplicate) = match stored {
                Stored::New(id) => (id, false),
                Stored::Duplicate(id) => (id, true),
                Stored::Spooled => unreachable!("handled above"),
            };
            if let Some(why) = parse_error {
                tracing::warn!(event_id = id, event_type = event_type.as_deref().unwrap_or("-"), reason = %why, "stored a delivery that cannot be parsed; replay it after a fix");
            } else {
                tracing::debug!(
                    event_id = id,
                    event_type = event_type.as_deref().unwrap_or("-"),
                    duplicate,
                    "delivery stored"
                );
            }
            HttpResponse::Ok()
                .insert_header(("X-Acmirror-Event-Id", id.to_string()))
                .body("ok")
        }
        Err(e) => {
            tracing::error!(error = %e, "delivery not stored");
            HttpResponse::ServiceUnavailable().body("the delivery could not be stored")
        }
    }
}

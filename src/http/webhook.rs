//! `POST /webhooks/activecampaign/{secret}`.

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

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
pub async fn receive(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    if !secret_matches(&path, state.secret.expose_secret()) {
        return HttpResponse::NotFound().finish();
    }
    if !is_form(&req) {
        return HttpResponse::UnsupportedMediaType()
            .body("expected application/x-www-form-urlencoded");
    }
    let received_at = crate::mirror::now();
    let delivery = NewDelivery::from_body(body.to_vec(), received_at);
    let (event_type, parse_error) = (delivery.event_type.clone(), delivery.error.clone());
    match state.intake.store(delivery).await {
        Ok(stored) => {
            let (id, duplicate) = match stored {
                Stored::New(id) => (id, false),
                Stored::Duplicate(id) => (id, true),
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

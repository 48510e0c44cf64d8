//! The REST API v3 subset, with ActiveCampaign's envelopes, string scalars and quirks.

mod campaigns;
mod contacts;
mod crm;
mod deals;
mod dims;
mod notes;
mod render;

pub(crate) use render::{option_id, option_labels};
mod sideload;
mod webhooks;

use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::query::ListQuery;
use super::rate;
use super::shared::Shared;

/// Registers `/api/3/...` behind the rate limit, token check and faults.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/3")
            .wrap(from_fn(rate::guard))
            .wrap(from_fn(super::clock::date_header))
            .configure(campaigns::configure)
            .configure(contacts::configure)
            .configure(crm::configure)
            .configure(deals::configure)
            .configure(dims::configure)
            .configure(notes::configure)
            .configure(webhooks::configure)
            .default_service(web::to(not_found)),
    );
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({ "message": "No Result found" }))
}

/// The decoded query string, keys kept as sent (`filters[updated_after]`).
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes the request's query string.
    pub(crate) fn of(req: &HttpRequest) -> Self {
        Params(
            form_urlencoded::parse(req.query_string().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The first value of `key`, if present and not empty.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// `key` as an integer; anything unparseable counts as absent.
    pub(crate) fn int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(|v| v.trim().parse().ok())
    }

    /// `limit` (default 20, at most 100) and `offset`.
    pub(crate) fn paging(&self) -> (i64, i64) {
        let limit = match self.int("limit") {
            Some(l) if l > 0 => l.min(100),
            _ => 20,
        };
        (limit, self.int("offset").unwrap_or(0).max(0))
    }

    /// Whether `orders[<field>]` asks for descending order.
    pub(crate) fn desc(&self, field: &str) -> bool {
        self.get(&format!("orders[{field}]"))
            .is_some_and(|v| v.eq_ignore_ascii_case("desc"))
    }

    /// The names listed in `include=`, comma-separated.
    pub(crate) fn includes(&self) -> Vec<String> {
        self.get("include")
            .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
            .unwrap_or_default()
    }

    /// Paging, order and the four date filters shared by contacts and deals.
    pub(crate) fn list_query(&self, order_fields: &[&str]) -> ListQuery {
        let (limit, offset) = self.paging();
        let time = |key: &str| {
            self.get(&format!("filters[{key}]"))
                .and_then(super::clock::parse_filter_time)
        };
        ListQuery {
            limit,
            offset,
            desc: order_fields.iter().any(|f| self.desc(f)),
            id_greater: None,
            id_less: None,
            created_after: time("created_after"),
            created_before: time("created_before"),
            updated_after: time("updated_after"),
            updated_before: time("updated_before"),
            by_cdate: self.get("orders[cdate]").is_some(),
        }
    }
}

/// A JSON response with the given status.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(body.to_string())
}

/// `200` with a JSON body.
pub(crate) fn ok(body: &Value) -> HttpResponse {
    json_response(StatusCode::OK, body)
}

/// The `404` ActiveCampaign sends for a missing record of `what` (`Subscriber`, `Deal`…).
pub(crate) fn no_result(what: &str, id: &str) -> HttpResponse {
    let body = json!({ "message": format!("No Result found for {what} with id {id}") });
    json_response(StatusCode::NOT_FOUND, &body)
}

/// `meta` with a string total, as most endpoints have it.
pub(crate) fn meta_total(total: impl ToString) -> Value {
    json!({ "total": total.to_string() })
}

/// Pages a fully built list of items.
pub(crate) fn page_of<T: Clone>(items: &[T], params: &Params) -> Vec<T> {
    let (limit, offset) = params.paging();
    items
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .cloned()
        .collect()
}

/// The shared state from the app data.
pub(crate) type State = web::Data<Shared>;

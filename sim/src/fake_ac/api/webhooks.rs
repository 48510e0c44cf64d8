//! `/webhooks` CRUD. Registered webhooks receive the events and sources they name.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::dims::WEBHOOK_EVENTS;
use super::{json_response, meta_total, no_result, ok, page_of, render, Params, State};
use crate::fake_ac::state::Webhook;

const SOURCES: &[&str] = &["public", "admin", "api", "system"];

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks", web::get().to(list))
        .route("/webhooks", web::post().to(create))
        .route("/webhooks/{id}", web::get().to(get))
        .route("/webhooks/{id}", web::put().to(update))
        .route("/webhooks/{id}", web::delete().to(delete));
}

/// The request body, `{"webhook": {...}}`; every field optional so PUT can merge.
#[derive(Debug, Deserialize)]
struct Body {
    webhook: Fields,
}

#[derive(Debug, Default, Deserialize)]
struct Fields {
    name: Option<String>,
    url: Option<String>,
    events: Option<Vec<String>>,
    sources: Option<Vec<String>>,
    listid: Option<Value>,
}

fn invalid(title: &str, pointer: &str) -> HttpResponse {
    let body = json!({ "errors": [{
        "title": title, "detail": "", "code": "field_invalid",
        "source": { "pointer": format!("/data/attributes/{pointer}") },
    }]});
    json_response(StatusCode::UNPROCESSABLE_ENTITY, &body)
}

/// A validation failure: the message and the attribute it points at.
type Invalid = (String, &'static str);

fn parse(bytes: &[u8]) -> Result<Fields, Invalid> {
    let body: Body = serde_json::from_slice(bytes)
        .map_err(|_| ("The webhook object is required".to_string(), "webhook"))?;
    let f = body.webhook;
    if let Some(bad) = f
        .events
        .iter()
        .flatten()
        .find(|e| !WEBHOOK_EVENTS.contains(&e.as_str()))
    {
        return Err((format!("Invalid event: {bad}"), "events"));
    }
    if let Some(bad) = f
        .sources
        .iter()
        .flatten()
        .find(|s| !SOURCES.contains(&s.as_str()))
    {
        return Err((format!("Invalid source: {bad}"), "sources"));
    }
    Ok(f)
}

fn listid(v: &Option<Value>) -> Option<i64> {
    match v {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
}

async fn create(state: State, bytes: web::Bytes) -> HttpResponse {
    let f = match parse(&bytes) {
        Ok(f) => f,
        Err((title, pointer)) => return invalid(&title, pointer),
    };
    let Some(url) = f.url.clone().filter(|u| !u.is_empty()) else {
        return invalid("The url field is required", "url");
    };
    let Some(events) = f.events.clone().filter(|e| !e.is_empty()) else {
        return invalid("At least one event is required", "events");
    };
    let mut acct = state.account();
    let hook = Webhook {
        id: acct.next_webhook,
        name: f.name.unwrap_or_default(),
        url,
        events,
        sources: f
            .sources
            .unwrap_or_else(|| SOURCES.iter().map(|s| s.to_string()).collect()),
        listid: listid(&f.listid).unwrap_or(0),
        cdate: state.clock.now_secs(),
        active: true,
    };
    acct.next_webhook += 1;
    acct.webhooks.insert(hook.id, hook.clone());
    json_response(
        StatusCode::CREATED,
        &json!({ "webhook": render::webhook(&hook) }),
    )
}

async fn list(state: State, req: HttpRequest) -> HttpResponse {
    let p = Params::of(&req);
    let (url, name, list) = (
        p.get("filters[url]"),
        p.get("filters[name]"),
        p.int("filters[listid]"),
    );
    let all: Vec<Value> = state
        .account()
        .webhooks
        .values()
        .filter(|w| url.is_none_or(|u| w.url == u))
        .filter(|w| name.is_none_or(|n| w.name.contains(n)))
        .filter(|w| list.is_none_or(|l| w.listid == l))
        .map(render::webhook)
        .collect();
    ok(&json!({ "webhooks": page_of(&all, &p), "meta": meta_total(all.len()) }))
}

async fn get(state: State, path: web::Path<String>) -> HttpResponse {
    let found = path
        .parse::<i64>()
        .ok()
        .and_then(|id| state.account().webhooks.get(&id).cloned());
    match found {
        Some(w) => ok(&json!({ "webhook": render::webhook(&w) })),
        None => no_result("Webhook", &path),
    }
}

async fn update(state: State, path: web::Path<String>, bytes: web::Bytes) -> HttpResponse {
    let f = match parse(&bytes) {
        Ok(f) => f,
        Err((title, pointer)) => return invalid(&title, pointer),
    };
    let mut acct = state.account();
    let Some(w) = path
        .parse::<i64>()
        .ok()
        .and_then(|id| acct.webhooks.get_mut(&id))
    else {
        return no_result("Webhook", &path);
    };
    if let Some(name) = f.name {
        w.name = name;
    }
    if let Some(url) = f.url.filter(|u| !u.is_empty()) {
        w.url = url;
    }
    if let Some(events) = f.events.filter(|e| !e.is_empty()) {
        w.events = events;
    }
    if let Some(sources) = f.sources {
        w.sources = sources;
    }
    if let Some(l) = listid(&f.listid) {
        w.listid = l;
    }
    ok(&json!({ "webhook": render::webhook(w) }))
}

async fn delete(state: State, path: web::Path<String>) -> HttpResponse {
    let removed = path
        .parse::<i64>()
        .ok()
        .and_then(|id| state.account().webhooks.remove(&id));
    match removed {
        Some(_) => ok(&json!({})),
        None => no_result("Webhook", &path),
    }
}

//! The small tables: `/users`, `/users/me`, `/tags`, `/fields`, `/lists`, `/webhook/events`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::{meta_total, no_result, ok, page_of, render, Params, State};
use crate::fake_ac::catalog::{self, LISTS, USERS};

/// Every event type `GET /webhook/events` lists.
pub(crate) const WEBHOOK_EVENTS: &[&str] = &[
    "account_add",
    "account_contact_add",
    "account_contact_update",
    "account_update",
    "bounce",
    "click",
    "contact_tag_added",
    "contact_tag_removed",
    "deal_add",
    "deal_note_add",
    "deal_pipeline_add",
    "deal_stage_add",
    "deal_task_add",
    "deal_task_complete",
    "deal_tasktype_add",
    "deal_update",
    "forward",
    "list_add",
    "open",
    "reply",
    "sent",
    "share",
    "sms_reply",
    "sms_sent",
    "sms_unsub",
    "subscribe",
    "subscriber_note",
    "unsubscribe",
    "update",
];

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(users))
        .route("/users/me", web::get().to(me))
        .route("/tags", web::get().to(tags))
        .route("/tags/{id}", web::get().to(tag))
        .route("/fields", web::get().to(fields))
        .route("/lists", web::get().to(lists))
        .route("/webhook/events", web::get().to(events));
}

async fn users(state: State, req: HttpRequest) -> HttpResponse {
    let p = Params::of(&req);
    let all: Vec<Value> = USERS
        .iter()
        .map(|u| render::user(u, state.base()))
        .collect();
    ok(&json!({ "users": page_of(&all, &p), "meta": meta_total(all.len()) }))
}

async fn me(state: State) -> HttpResponse {
    ok(&json!({ "user": render::user(&USERS[0], state.base()) }))
}

async fn tags(state: State, req: HttpRequest) -> HttpResponse {
    let p = Params::of(&req);
    let search = p
        .get("search")
        .or_else(|| p.get("filters[search][contains]"));
    let heavy = state.account().realism.heavy;
    let all: Vec<Value> = catalog::tags(heavy)
        .filter(|t| search.is_none_or(|s| t.name.to_lowercase().contains(&s.to_lowercase())))
        .map(|t| render::tag(t, state.base()))
        .collect();
    ok(&json!({ "tags": page_of(&all, &p), "meta": meta_total(all.len()) }))
}

async fn tag(state: State, path: web::Path<String>) -> HttpResponse {
    let heavy = state.account().realism.heavy;
    let found = path
        .parse::<i64>()
        .ok()
        .and_then(|id| catalog::tags(heavy).find(|t| t.id == id));
    match found {
        Some(t) => {
            let mut v = render::tag(t, state.base());
            v["subscriber_count"] = json!("0");
            ok(&json!({ "tag": v }))
        }
        None => no_result("Tag", &path),
    }
}

/// Fields with their options and relations sideloaded, `limit` 100 by default here.
async fn fields(state: State, req: HttpRequest) -> HttpResponse {
    let p = Params::of(&req);
    let base = state.base();
    let heavy = state.account().realism.heavy;
    let all: Vec<Value> = catalog::fields(heavy)
        .enumerate()
        .map(|(i, f)| render::field(f, i + 1, base))
        .collect();
    let (offset, limit) = (
        p.int("offset").unwrap_or(0).max(0) as usize,
        p.int("limit").unwrap_or(100).clamp(1, 100) as usize,
    );
    let options: Vec<Value> = catalog::fields(heavy)
        .flat_map(|f| {
            render::option_labels(f).iter().enumerate().map(move |(i, label)| {
                json!({
                    "field": f.id.to_string(), "orderid": (i + 1).to_string(), "value": label,
                    "label": label, "isdefault": "0", "cdate": null, "udate": null,
                    "links": { "field": format!("{base}/api/3/fieldOptions/{}/field", render::option_id(f, i)) },
                    "id": render::option_id(f, i).to_string(),
                })
            })
        })
        .collect();
    let rels: Vec<Value> = catalog::fields(heavy)
        .map(|f| json!({ "field": f.id.to_string(), "relid": "0", "dorder": "0", "cdate": null, "links": [], "id": f.id.to_string() }))
        .collect();
    let page: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
    ok(
        &json!({ "fieldOptions": options, "fieldRels": rels, "fields": page, "meta": meta_total(all.len()) }),
    )
}

async fn lists(state: State, req: HttpRequest) -> HttpResponse {
    let p = Params::of(&req);
    let all: Vec<Value> = LISTS
        .iter()
        .map(|l| render::list(l, state.base()))
        .collect();
    ok(&json!({ "lists": page_of(&all, &p), "meta": meta_total(all.len()) }))
}

/// The one list endpoint besides `/deals` whose `meta.total` is a number.
async fn events() -> HttpResponse {
    ok(&json!({ "webhookEvents": WEBHOOK_EVENTS, "meta": { "total": WEBHOOK_EVENTS.len() } }))
}

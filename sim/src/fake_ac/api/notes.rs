//! `/notes`, `/notes/{id}`, `/deals/{id}/notes`, `/contacts/{id}/notes`, `/dealTasks`,
//! `/dealTasks/{id}` and `/dealTasktypes`, in the shapes of the API reference (§5.5).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::{meta_total, no_result, ok, page_of, Params, State};
use crate::fake_ac::clock::iso;
use crate::fake_ac::model::{Note, NoteOwner, Task, TASK_TYPES};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/notes", web::get().to(list_notes))
        .route("/notes/{id}", web::get().to(get_note))
        .route("/deals/{id}/notes", web::get().to(deal_notes))
        .route("/contacts/{id}/notes", web::get().to(contact_notes))
        .route("/dealTasks", web::get().to(list_tasks))
        .route("/dealTasks/{id}", web::get().to(get_task))
        .route("/dealTasktypes", web::get().to(task_types));
}

/// A note record: string ids, `reltype` `Deal` or `Subscriber`, `owner` naming the record.
fn note(n: &Note, base: &str) -> Value {
    let (reltype, owner_type) = match n.owner {
        NoteOwner::Deal => ("Deal", "deal"),
        NoteOwner::Contact => ("Subscriber", "contact"),
    };
    let link = |rel: &str| format!("{base}/api/3/notes/{}/{rel}", n.id);
    json!({
        "relid": n.relid.to_string(), "reltype": reltype, "userid": "1", "is_draft": "0",
        "cdate": iso(n.cdate), "mdate": iso(n.mdate), "note": n.text,
        "links": { "activities": link("activities"), "mentions": link("mentions"),
                   "notes": link("notes"), "owner": link("owner"), "user": link("user") },
        "id": n.id.to_string(), "user": "1",
        "owner": { "type": owner_type, "id": n.relid.to_string() },
    })
}

/// A deal task record: `status` is a number here, unlike nearly everything else.
fn task(t: &Task, base: &str) -> Value {
    let link = |rel: &str| format!("{base}/api/3/dealTasks/{}/{rel}", t.id);
    json!({
        "id": t.id.to_string(), "duedate": iso(t.due), "edate": iso(t.due + 15 * 60),
        "status": i32::from(t.done.is_some()), "title": t.title, "note": t.note,
        "relid": t.deal.to_string(), "reltype": "Deal", "dealTasktype": t.type_id.to_string(),
        "cdate": iso(t.cdate), "udate": iso(t.udate), "automation": null,
        "doneAutomation": null, "user": "1", "assignee": "1",
        "owner": { "type": "deal", "id": t.deal.to_string() },
        "outcomeId": null, "outcomeInfo": null,
        "links": { "activities": link("activities"), "dealTasktype": link("dealTasktype"),
                   "user": link("user"), "owner": link("owner"), "assignee": link("assignee") },
    })
}

fn notes_where(state: &State, keep: impl Fn(&Note) -> bool) -> Vec<Value> {
    let acct = state.account();
    acct.notes
        .values()
        .filter(|n| keep(n))
        .map(|n| note(n, state.base()))
        .collect()
}

/// Every note in id order (no order or date filter is documented), offset-paged.
async fn list_notes(state: State, req: HttpRequest) -> HttpResponse {
    let all = notes_where(&state, |_| true);
    let p = Params::of(&req);
    ok(&json!({ "notes": page_of(&all, &p), "meta": meta_total(all.len()) }))
}

async fn get_note(state: State, path: web::Path<String>) -> HttpResponse {
    let found = path.parse::<i64>().ok().and_then(|id| {
        let acct = state.account();
        acct.notes.get(&id).map(|n| note(n, state.base()))
    });
    match found {
        Some(n) => ok(&json!({ "note": n })),
        None => no_result("Note", &path),
    }
}

async fn deal_notes(state: State, path: web::Path<String>, req: HttpRequest) -> HttpResponse {
    let id = path.parse::<i64>().unwrap_or(-1);
    let all = notes_where(&state, |n| n.owner == NoteOwner::Deal && n.relid == id);
    ok(&json!({ "notes": page_of(&all, &Params::of(&req)), "meta": meta_total(all.len()) }))
}

async fn contact_notes(state: State, path: web::Path<String>, req: HttpRequest) -> HttpResponse {
    let id = path.parse::<i64>().unwrap_or(-1);
    let all = notes_where(&state, |n| n.owner == NoteOwner::Contact && n.relid == id);
    ok(&json!({ "notes": page_of(&all, &Params::of(&req)), "meta": meta_total(all.len()) }))
}

/// Tasks in id order with the documented `filters[reltype]`, `filters[relid]` and
/// `filters[status]`; other filters are ignored, as ActiveCampaign ignores unknown ones.
async fn list_tasks(state: State, req: HttpRequest) -> HttpResponse {
    let p = Params::of(&req);
    let reltype = p.get("filters[reltype]").map(str::to_owned);
    let (relid, status) = (p.int("filters[relid]"), p.int("filters[status]"));
    let all: Vec<Value> = {
        let acct = state.account();
        acct.tasks
            .values()
            .filter(|_| {
                reltype
                    .as_deref()
                    .is_none_or(|r| r.eq_ignore_ascii_case("deal"))
            })
            .filter(|t| relid.is_none_or(|r| r == t.deal))
            .filter(|t| status.is_none_or(|s| s == i64::from(t.done.is_some())))
            .map(|t| task(t, state.base()))
            .collect()
    };
    ok(&json!({ "dealTasks": page_of(&all, &p), "meta": meta_total(all.len()) }))
}

async fn get_task(state: State, path: web::Path<String>) -> HttpResponse {
    let found = path.parse::<i64>().ok().and_then(|id| {
        let acct = state.account();
        acct.tasks.get(&id).map(|t| task(t, state.base()))
    });
    match found {
        Some(t) => ok(&json!({ "dealTask": t })),
        None => no_result("DealTask", &path),
    }
}

async fn task_types(state: State, req: HttpRequest) -> HttpResponse {
    let base = state.base();
    let all: Vec<Value> = TASK_TYPES
        .iter()
        .map(|(id, title)| {
            json!({ "title": title, "status": "1", "id": id.to_string(),
                    "links": { "dealTasks": format!("{base}/api/3/dealTasktypes/{id}/dealTasks") } })
        })
        .collect();
    ok(&json!({ "dealTasktypes": page_of(&all, &Params::of(&req)), "meta": meta_total(all.len()) }))
}

//! `/contacts`, `/contacts/{id}` and the contact association endpoints.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::sideload::{self, Sideloads};
use super::{meta_total, no_result, ok, render, Params, State};
use crate::fake_ac::model::Contact;
use crate::fake_ac::query;
use crate::fake_ac::stats::bump;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/contacts", web::get().to(list))
        .route("/contacts/{id}", web::get().to(get))
        .route("/contacts/{id}", web::delete().to(delete))
        .route("/contacts/{id}/contactTags", web::get().to(contact_tags_of))
        .route("/contacts/{id}/fieldValues", web::get().to(field_values_of))
        .route(
            "/contacts/{id}/contactLists",
            web::get().to(contact_lists_of),
        )
        .route("/contactTags", web::get().to(contact_tags))
        .route("/fieldValues", web::get().to(field_values))
        .route("/contactLists", web::get().to(contact_lists));
}

async fn list(state: State, req: HttpRequest) -> HttpResponse {
    let p = Params::of(&req);
    let mut q = p.list_query(&["id", "cdate"]);
    q.id_greater = p.int("id_greater");
    q.id_less = p.int("id_less");
    let (page, contacts) = {
        let acct = state.account();
        let page = query::contacts(&acct, &q);
        let contacts: Vec<Contact> = page.ids.iter().filter_map(|id| acct.contact(*id)).collect();
        (page, contacts)
    };
    let mut top = Map::new();
    top.insert("scoreValues".into(), json!([]));
    let rendered = sideload::contacts(
        &contacts,
        Sideloads::from_includes(&p.includes()),
        state.base(),
        &mut top,
    );
    top.insert("contacts".into(), Value::Array(rendered));
    top.insert(
        "meta".into(),
        json!({
            "page_input": {
                "segmentid": null, "formid": 0, "listid": 0, "tagid": 0, "limit": q.limit,
                "offset": q.offset, "search": null, "sort": null, "seriesid": 0, "waitid": 0,
                "status": -1, "forceQuery": 0, "cacheid": format!("{:032x}", page.total),
            },
            "total": page.total.to_string(),
            "sortable": true,
        }),
    );
    ok(&Value::Object(top))
}

fn find(state: &State, raw: &str) -> Option<Contact> {
    raw.parse::<i64>()
        .ok()
        .and_then(|id| state.account().contact(id))
}

async fn get(state: State, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let Some(c) = find(&state, &path) else {
        return no_result("Subscriber", &path);
    };
    let deals: Vec<Value> = {
        let acct = state.account();
        (1..=acct.max_deal)
            .filter_map(|id| {
                acct.deal(id)
                    .filter(|d| d.contact == c.id)
                    .map(|d| (acct.deal_is_restricted(id), d))
            })
            .map(|(stub, d)| {
                if stub {
                    render::deal_stub(&d)
                } else {
                    render::deal(&d, &acct, state.base())
                }
            })
            .collect()
    };
    // A single contact comes with its lists and field values whether asked or not.
    let defaults = Sideloads {
        contact_lists: true,
        field_values: true,
        ..Sideloads::default()
    };
    let wanted = defaults.or(Sideloads::from_includes(&Params::of(&req).includes()));
    let mut top = Map::new();
    top.insert("contactAutomations".into(), json!([]));
    let mut rendered = sideload::contacts(std::slice::from_ref(&c), wanted, state.base(), &mut top);
    let mut contact = rendered.pop().unwrap_or(Value::Null);
    if let Some(obj) = contact.as_object_mut() {
        let ids: Vec<Value> = deals.iter().map(|d| d["id"].clone()).collect();
        obj.insert("deals".into(), Value::Array(ids));
        obj.insert("geoIps".into(), json!([]));
        obj.insert("contactAutomations".into(), json!([]));
    }
    top.insert("deals".into(), Value::Array(deals));
    top.insert("geoAddresses".into(), json!([]));
    top.insert("geoIps".into(), json!([]));
    top.insert("contact".into(), contact);
    ok(&Value::Object(top))
}

async fn delete(state: State, path: web::Path<String>) -> HttpResponse {
    let deleted = path
        .parse::<i64>()
        .ok()
        .is_some_and(|id| state.account().delete_contact(id));
    if !deleted {
        return no_result("Subscriber", &path);
    }
    bump(&state.stats.contacts_deleted);
    ok(&json!({}))
}

/// Every association of one contact; `limit` and `offset` are ignored, as upstream.
async fn contact_tags_of(state: State, path: web::Path<String>) -> HttpResponse {
    let Some(c) = find(&state, &path) else {
        return no_result("Subscriber", &path);
    };
    let rows: Vec<Value> = c
        .tags
        .iter()
        .map(|(t, at)| render::contact_tag(c.id, *t, *at, state.base()))
        .collect();
    ok(&json!({ "contactTags": rows, "meta": meta_total(rows.len()) }))
}

async fn field_values_of(state: State, path: web::Path<String>) -> HttpResponse {
    let Some(c) = find(&state, &path) else {
        return no_result("Subscriber", &path);
    };
    let rows: Vec<Value> = c
        .fields
        .iter()
        .map(|(f, v)| render::field_value(c.id, *f, v, state.base()))
        .collect();
    ok(&json!({ "fieldValues": rows, "meta": meta_total(rows.len()) }))
}

async fn contact_lists_of(state: State, path: web::Path<String>) -> HttpResponse {
    let Some(c) = find(&state, &path) else {
        return no_result("Subscriber", &path);
    };
    let rows: Vec<Value> = c
        .lists
        .iter()
        .map(|(l, s)| render::contact_list(&c, *l, s, state.base()))
        .collect();
    ok(&json!({ "contactLists": rows, "meta": meta_total(rows.len()) }))
}

/// Walks the live contacts (one, with `only`), paging over the rows `rows` yields for each.
fn association_page(
    state: &State,
    p: &Params,
    only: Option<i64>,
    rows: impl Fn(&Contact) -> Vec<Value>,
) -> (usize, Vec<Value>) {
    let (limit, offset) = p.paging();
    let (mut total, mut out) = (0usize, Vec::new());
    let acct = state.account();
    let ids: Box<dyn Iterator<Item = i64>> = match only {
        Some(id) => Box::new(std::iter::once(id)),
        None => Box::new(1..=acct.max_contact),
    };
    for c in ids.filter_map(|id| acct.contact(id)) {
        for row in rows(&c) {
            if total >= offset as usize && out.len() < limit as usize {
                out.push(row);
            }
            total += 1;
        }
    }
    (total, out)
}

/// Every association, as the documented list shows it: `filters[subscriberid]`,
/// `filters[tagid]`, `filters[cdate]` (one exact time, not a range) and `orders[cdate]`;
/// anything else is ignored. Reads only the contacts' tags, never their field values.
async fn contact_tags(state: State, req: HttpRequest) -> HttpResponse {
    let p = Params::of(&req);
    let (limit, offset) = p.paging();
    let (tag, only) = (p.int("filters[tagid]"), p.int("filters[subscriberid]"));
    let at = p
        .get("filters[cdate]")
        .map(|v| crate::fake_ac::clock::parse_filter_time(v).unwrap_or(i64::MIN));
    let order = p
        .get("orders[cdate]")
        .map(|v| v.eq_ignore_ascii_case("desc"));
    let mut all: Vec<(i64, i64, i64)> = {
        let acct = state.account();
        let ids = match only {
            Some(id) => id..=id,
            None => 1..=acct.max_contact,
        };
        ids.filter_map(|id| acct.contact_tags(id).map(|tags| (id, tags)))
            .flat_map(|(id, tags)| tags.into_iter().map(move |(t, when)| (id, t, when)))
            .filter(|(_, t, when)| {
                tag.is_none_or(|want| want == *t) && at.is_none_or(|want| want == *when)
            })
            .collect()
    };
    match order {
        Some(true) => all.sort_by_key(|(c, t, when)| std::cmp::Reverse((*when, *c, *t))),
        Some(false) => all.sort_by_key(|(c, t, when)| (*when, *c, *t)),
        None => {}
    }
    let base = state.base();
    let rows: Vec<Value> = all
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|(c, t, when)| render::contact_tag(*c, *t, *when, base))
        .collect();
    ok(&json!({ "contactTags": rows, "meta": meta_total(all.len()) }))
}

async fn field_values(state: State, req: HttpRequest) -> HttpResponse {
    let p = Params::of(&req);
    let field = p.int("filters[fieldid]");
    let base = state.base().to_string();
    let (total, rows) = association_page(&state, &p, None, |c| {
        c.fields
            .iter()
            .filter(|(f, _)| field.is_none_or(|want| want == **f))
            .map(|(f, v)| render::field_value(c.id, *f, v, &base))
            .collect()
    });
    ok(&json!({ "fieldValues": rows, "meta": meta_total(total) }))
}

async fn contact_lists(state: State, req: HttpRequest) -> HttpResponse {
    let p = Params::of(&req);
    let list = p.int("filters[list]");
    let base = state.base().to_string();
    let (total, rows) = association_page(&state, &p, None, |c| {
        c.lists
            .iter()
            .filter(|(l, _)| list.is_none_or(|want| want == **l))
            .map(|(l, s)| render::contact_list(c, *l, s, &base))
            .collect()
    });
    ok(&json!({ "contactLists": rows, "meta": meta_total(total) }))
}

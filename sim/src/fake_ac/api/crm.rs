//! `/accounts`, `/accountContacts`, the custom fields of deals and accounts
//! (`/dealCustomFieldMeta`, `/dealCustomFieldData`, `/accountCustomFieldMeta`,
//! `/accountCustomFieldData`) and deals' secondary contacts (`/contactDeals`). None of them
//! filters by modification time. The collections over every deal or contact are built once
//! per change of the account.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::{meta_total, no_result, ok, Params, State};
use crate::fake_ac::catalog::{CrmFieldDef, ACCOUNT_FIELDS, DEAL_FIELDS};
use crate::fake_ac::clock::{iso, wall};
use crate::fake_ac::model::{assoc, Company};
use crate::fake_ac::state::Account;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/accounts", web::get().to(accounts))
        .route("/accounts/{id}", web::get().to(account))
        .route("/accounts/{id}", web::delete().to(delete_account))
        .route("/accountContacts", web::get().to(account_contacts))
        .route("/accountCustomFieldMeta", web::get().to(account_fields))
        .route("/accountCustomFieldData", web::get().to(account_values))
        .route("/dealCustomFieldMeta", web::get().to(deal_fields))
        .route("/dealCustomFieldData", web::get().to(deal_values))
        .route("/contactDeals", web::get().to(deal_contacts));
}

/// An account in the live shape: camelCase, times with an offset.
pub(crate) fn render_company(c: &Company, base: &str) -> Value {
    let link = |rel: &str| format!("{base}/api/3/accounts/{}/{rel}", c.id);
    json!({
        "name": c.name, "accountUrl": if c.url.is_empty() { Value::Null } else { json!(c.url) },
        "createdTimestamp": iso(c.cdate), "updatedTimestamp": iso(c.udate),
        "owner": c.owner.to_string(), "contactCount": "0", "dealCount": "0",
        "links": {
            "notes": link("notes"), "accountCustomFieldData": link("accountCustomFieldData"),
            "accountContacts": link("accountContacts"), "owner": link("owner"),
        },
        "id": c.id.to_string(),
    })
}

/// The requested page of a built collection, with `meta.total` as a string.
fn paged(key: &str, items: &[Value], req: &HttpRequest) -> HttpResponse {
    let (limit, offset) = Params::of(req).paging();
    let page: Vec<&Value> = items
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .collect();
    ok(&json!({ key: page, "meta": meta_total(items.len()) }))
}

async fn accounts(state: State, req: HttpRequest) -> HttpResponse {
    let base = state.base().to_owned();
    let items = state.account().cached("accounts", |acct| {
        (1..=acct.max_company)
            .filter_map(|id| acct.company(id))
            .map(|c| render_company(&c, &base))
            .collect()
    });
    paged("accounts", &items, &req)
}

async fn account(state: State, path: web::Path<String>) -> HttpResponse {
    let found = path
        .parse::<i64>()
        .ok()
        .and_then(|id| state.account().company(id));
    match found {
        Some(c) => ok(&json!({ "account": render_company(&c, state.base()) })),
        None => no_result("Account", &path),
    }
}

async fn delete_account(state: State, path: web::Path<String>) -> HttpResponse {
    let deleted = path
        .parse::<i64>()
        .ok()
        .is_some_and(|id| state.account().delete_company(id));
    match deleted {
        true => ok(&json!({})),
        false => no_result("Account", &path),
    }
}

async fn account_contacts(state: State, req: HttpRequest) -> HttpResponse {
    let items = state.account().cached("accountContacts", |acct| {
        (1..=acct.max_contact)
            .filter_map(|id| acct.link(id).map(|l| (id, l)))
            .map(|(id, l)| {
                json!({
                    "account": l.account.to_string(), "contact": id.to_string(),
                    "jobTitle": l.job_title,
                    "createdTimestamp": iso(l.udate), "updatedTimestamp": iso(l.udate),
                    "links": {}, "id": id.to_string(),
                })
            })
            .collect()
    });
    paged("accountContacts", &items, &req)
}

/// A custom field definition; its `fieldOptions` a list, or null for other types.
fn render_field(f: &CrmFieldDef, order: usize) -> Value {
    json!({
        "id": f.id.to_string(), "fieldLabel": f.label, "fieldType": f.field_type,
        "fieldOptions": if f.options.is_empty() { Value::Null } else { json!(f.options) },
        "fieldDefault": null, "fieldDefaultCurrency": null, "isFormVisible": 1, "isRequired": 0,
        "displayOrder": order, "personalization": "", "knownFieldId": null, "hideFieldFlag": 0,
        "createdTimestamp": "2024-03-11 10:12:41", "updatedTimestamp": "2024-03-11 10:12:41",
        "links": {},
    })
}

fn fields_of(key: &str, defs: &[CrmFieldDef], req: &HttpRequest) -> HttpResponse {
    let all: Vec<Value> = defs
        .iter()
        .enumerate()
        .map(|(i, f)| render_field(f, i + 1))
        .collect();
    paged(key, &all, req)
}

async fn deal_fields(req: HttpRequest) -> HttpResponse {
    fields_of("dealCustomFieldMeta", DEAL_FIELDS, &req)
}

async fn account_fields(req: HttpRequest) -> HttpResponse {
    fields_of("accountCustomFieldMeta", ACCOUNT_FIELDS, &req)
}

/// A custom field value record: ints for the references, zone-less times.
fn render_value(id: i64, owner_key: &str, owner: i64, field: i64, value: &str, at: i64) -> Value {
    json!({
        "id": id.to_string(), owner_key: owner, "customFieldId": field,
        "createdTimestamp": wall(at), "updatedTimestamp": wall(at), "fieldValue": value,
        "links": {},
    })
}

fn deal_values_of(acct: &Account) -> Vec<Value> {
    (1..=acct.max_deal)
        .filter(|id| !acct.deal_is_restricted(*id))
        .filter_map(|id| acct.deal(id))
        .flat_map(|d| {
            d.fields
                .iter()
                .map(|(f, v)| {
                    let id = assoc::deal_value(d.id, *f);
                    render_value(id, "dealId", d.id, *f, v, d.mdate)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

async fn deal_values(state: State, req: HttpRequest) -> HttpResponse {
    let items = state
        .account()
        .cached("dealCustomFieldData", deal_values_of);
    paged("dealCustomFieldData", &items, &req)
}

async fn account_values(state: State, req: HttpRequest) -> HttpResponse {
    let items = state.account().cached("accountCustomFieldData", |acct| {
        (1..=acct.max_company)
            .filter_map(|id| acct.company(id))
            .flat_map(|c| {
                c.fields
                    .iter()
                    .map(|(f, v)| {
                        let id = assoc::account_value(c.id, *f);
                        render_value(id, "accountId", c.id, *f, v, c.udate)
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    });
    paged("accountCustomFieldData", &items, &req)
}

async fn deal_contacts(state: State, req: HttpRequest) -> HttpResponse {
    let items = state.account().cached("contactDeals", |acct| {
        (1..=acct.max_deal)
            .filter(|id| !acct.deal_is_restricted(*id))
            .filter_map(|id| acct.deal(id))
            .flat_map(|d| {
                acct.deal_contacts(&d)
                    .into_iter()
                    .map(|(id, (contact, role))| {
                        json!({
                            "deal": d.id.to_string(), "contact": contact.to_string(),
                            "role": role.map(|r| r.to_string()), "cdate": iso(d.cdate),
                            "links": {}, "id": id.to_string(),
                        })
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    });
    paged("contactDeals", &items, &req)
}

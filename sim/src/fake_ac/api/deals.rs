//! `/deals`, `/deals/{id}`, `/dealGroups` and `/dealStages`.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::{meta_total, no_result, ok, page_of, render, Params, State};
use crate::fake_ac::catalog::{PipelineDef, PIPELINES};
use crate::fake_ac::query;
use crate::fake_ac::stats::bump;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/deals", web::get().to(list))
        .route("/deals/{id}", web::get().to(get))
        .route("/deals/{id}", web::delete().to(delete))
        .route("/dealGroups", web::get().to(pipelines))
        .route("/dealStages", web::get().to(stages));
}

/// Deals in id order, which is also `cdate` order; `meta.total` is a number here.
async fn list(state: State, req: HttpRequest) -> HttpResponse {
    let p = Params::of(&req);
    let q = p.list_query(&["cdate", "id"]);
    let (total, deals, currencies) = {
        let acct = state.account();
        let page = query::deals(&acct, &q);
        let deals: Vec<Value> = page
            .ids
            .iter()
            .filter_map(|id| acct.deal(*id).map(|d| (acct.deal_is_restricted(*id), d)))
            .map(|(stub, d)| {
                if stub {
                    render::deal_stub(&d)
                } else {
                    render::deal(&d, &acct, state.base())
                }
            })
            .collect();
        (page.total, deals, currencies(&acct, &q))
    };
    ok(&json!({ "deals": deals, "meta": { "currencies": currencies, "total": total } }))
}

/// `meta.currencies`: count and value of the matching deals the user may see, by currency.
fn currencies(acct: &crate::fake_ac::state::Account, q: &query::ListQuery) -> Value {
    let all = query::ListQuery {
        limit: i64::MAX,
        offset: 0,
        ..q.clone()
    };
    let mut sums: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for id in query::deals(acct, &all).ids {
        if acct.deal_is_restricted(id) {
            continue;
        }
        if let Some((value, currency)) = acct.deal_money(id) {
            let e = sums.entry(currency.to_uppercase()).or_default();
            *e = (e.0 + 1, e.1 + value);
        }
    }
    let map: serde_json::Map<String, Value> = sums
        .into_iter()
        .map(|(code, (n, v))| {
            let entry = json!({ "total": n.to_string(), "value": v.to_string(), "currency": code, "isDisabled": false });
            (code, entry)
        })
        .collect();
    Value::Object(map)
}

async fn get(state: State, path: web::Path<String>) -> HttpResponse {
    let found = path.parse::<i64>().ok().and_then(|id| {
        let acct = state.account();
        let d = acct.deal(id)?;
        Some(match acct.deal_is_restricted(id) {
            true => render::deal_stub(&d),
            false => render::deal(&d, &acct, state.base()),
        })
    });
    match found {
        Some(deal) => ok(&json!({ "deal": deal })),
        None => no_result("Deal", &path),
    }
}

async fn delete(state: State, path: web::Path<String>) -> HttpResponse {
    let deleted = path
        .parse::<i64>()
        .ok()
        .is_some_and(|id| state.account().delete_deal(id));
    if !deleted {
        return no_result("Deal", &path);
    }
    bump(&state.stats.deals_deleted);
    ok(&json!({}))
}

/// Pipelines with their stages sideloaded.
async fn pipelines(state: State, req: HttpRequest) -> HttpResponse {
    let p = Params::of(&req);
    let base = state.base();
    let all: Vec<&PipelineDef> = PIPELINES.iter().collect();
    let page = page_of(&all, &p);
    let groups: Vec<Value> = page.iter().map(|pl| render::pipeline(pl, base)).collect();
    let stages: Vec<Value> = page
        .iter()
        .flat_map(|pl| {
            pl.stages
                .iter()
                .enumerate()
                .map(move |(i, (id, title))| render::stage(pl, i + 1, *id, title, base))
        })
        .collect();
    ok(&json!({ "dealGroups": groups, "dealStages": stages, "meta": meta_total(all.len()) }))
}

async fn stages(state: State, req: HttpRequest) -> HttpResponse {
    let p = Params::of(&req);
    let group = p.int("filters[d_groupid]");
    let base = state.base();
    let all: Vec<Value> = PIPELINES
        .iter()
        .filter(|pl| group.is_none_or(|g| g == pl.id))
        .flat_map(|pl| {
            pl.stages
                .iter()
                .enumerate()
                .map(move |(i, (id, title))| render::stage(pl, i + 1, *id, title, base))
        })
        .collect();
    ok(&json!({ "dealStages": page_of(&all, &p), "meta": meta_total(all.len()) }))
}

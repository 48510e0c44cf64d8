//! `/__fake/...`: the simulator's own endpoints for out-of-process use. No token, no rate
//! limit: they are not part of ActiveCampaign.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::api::Params;
use super::engine::Engine;

/// Registers the control endpoints.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/__fake")
            .route("/truth", web::get().to(truth))
            .route("/stats", web::get().to(stats))
            .route("/changes", web::post().to(changes))
            .route("/import", web::post().to(import))
            .route("/delete", web::post().to(delete))
            .route("/notes-churn", web::post().to(notes_churn))
            .route("/campaigns-churn", web::post().to(campaigns_churn))
            .route("/flush", web::post().to(flush)),
    );
}

type Data = web::Data<Engine>;

/// The ground truth as JSON ([`crate::truth::Snapshot`]).
async fn truth(engine: Data) -> HttpResponse {
    let snapshot = web::block(move || engine.truth()).await;
    match snapshot {
        Ok(s) => HttpResponse::Ok().json(s),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

async fn stats(engine: Data) -> HttpResponse {
    HttpResponse::Ok().json(engine.shared.stats.snapshot())
}

/// `POST /__fake/changes?count=N`: makes N changes and queues their webhooks.
async fn changes(engine: Data, req: HttpRequest) -> HttpResponse {
    let count = Params::of(&req).int("count").unwrap_or(1).max(0) as u64;
    engine.run_changes(count).await;
    HttpResponse::Ok().json(json!({ "changes": count }))
}

/// `POST /__fake/import?count=N[&deals=M]`: a bulk import of N contacts (and M deals created
/// in the same second), which sends no webhooks.
async fn import(engine: Data, req: HttpRequest) -> HttpResponse {
    let p = Params::of(&req);
    let count = p.int("count").unwrap_or(0).max(0) as u64;
    let ids = engine.bulk_import(count);
    let deals = engine.bulk_import_deals(p.int("deals").unwrap_or(0).max(0) as u64);
    HttpResponse::Ok().json(json!({
        "first_id": ids.start(), "last_id": ids.end(),
        "first_deal_id": deals.start(), "last_deal_id": deals.end(),
    }))
}

/// `POST /__fake/delete?contacts=N&deals=M`: deletions, which send no webhooks.
async fn delete(engine: Data, req: HttpRequest) -> HttpResponse {
    let p = Params::of(&req);
    let contacts = engine.delete_contacts(p.int("contacts").unwrap_or(0).max(0) as u64);
    let deals = engine.delete_deals(p.int("deals").unwrap_or(0).max(0) as u64);
    HttpResponse::Ok().json(json!({ "contacts": contacts, "deals": deals }))
}

/// `POST /__fake/notes-churn?count=N`: note and task edits and deletions, which send no
/// webhooks.
async fn notes_churn(engine: Data, req: HttpRequest) -> HttpResponse {
    let count = Params::of(&req).int("count").unwrap_or(1).max(0) as u64;
    HttpResponse::Ok().json(engine.churn_notes_and_tasks(count))
}

/// `POST /__fake/campaigns-churn?count=N`: campaign and message edits and the odd deletion,
/// which send no webhooks.
async fn campaigns_churn(engine: Data, req: HttpRequest) -> HttpResponse {
    let count = Params::of(&req).int("count").unwrap_or(1).max(0) as u64;
    HttpResponse::Ok().json(engine.churn_campaigns(count))
}

/// `POST /__fake/flush`: returns once every queued and delayed delivery has been attempted.
async fn flush(engine: Data) -> HttpResponse {
    engine.sender.pending.wait_idle().await;
    HttpResponse::Ok().json(json!({ "flushed": true }))
}

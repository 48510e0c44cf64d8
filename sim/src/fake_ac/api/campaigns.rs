//! `/campaigns` and `/messages`, offset-paged in id order, in the shapes of the API (string
//! counters, `sdate`/`ldate` null until sent, full message bodies).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::{meta_total, ok, page_of, Params, State};
use crate::fake_ac::clock::{iso, wall};
use crate::fake_ac::model::{Campaign, Message};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/campaigns", web::get().to(campaigns))
        .route("/messages", web::get().to(messages));
}

/// A campaign record: the live 2026 key set, trimmed of the tracking and split settings.
fn campaign(c: &Campaign, base: &str) -> Value {
    let link = |rel: &str| format!("{base}/api/3/campaigns/{}/{rel}", c.id);
    let mut v = json!({
        "type": c.kind, "userid": "1", "segmentid": "0", "bounceid": "-1", "realcid": "0",
        "sendid": "0", "threadid": "0", "seriesid": "0", "formid": "0", "basetemplateid": "0",
        "basemessageid": "0", "addressid": "0", "source": "web", "name": c.name,
        "cdate": iso(c.cdate), "mdate": iso(c.mdate),
        "sdate": c.sdate.map(iso), "ldate": c.ldate.map(iso),
        "send_amt": c.send_amt.to_string(), "total_amt": c.send_amt.to_string(),
        "opens": "0", "uniqueopens": "0", "linkclicks": "0", "uniquelinkclicks": "0",
        "subscriberclicks": "0", "forwards": "0", "uniqueforwards": "0", "hardbounces": "0",
        "softbounces": "0", "unsubscribes": "0", "unsubreasons": "0", "updates": "0",
        "socialshares": "0", "replies": "0", "uniquereplies": "0",
    });
    let more = json!({
        "status": c.status.to_string(), "public": "1", "scheduleddate": null,
        "deletestamp": null, "series_send_lock_time": "0000-00-00 00:00:00",
        "created_timestamp": wall(c.cdate), "updated_timestamp": wall(c.mdate),
        "created_by": "0", "updated_by": "0", "verified_opens": "0",
        "verified_unique_opens": "0", "numberOfMessages": "1",
        "campaign_message_id": c.id.to_string(), "message_id": c.message.to_string(),
        "format": "mime", "ed_version": "3",
        "typeText": if c.kind == "recurring" { "Recurring" } else { "One-Time" },
        "statusString": if c.status == 0 { "Draft" } else { "Completed" },
        "links": { "user": link("user"), "campaignMessage": link("campaignMessage"),
                   "links": link("links"), "automation": link("automation") },
        "id": c.id.to_string(), "user": "1", "automation": null,
    });
    if let (Value::Object(v), Value::Object(more)) = (&mut v, more) {
        v.extend(more);
    }
    v
}

/// A message record, bodies included (the mirror must not need them).
fn message(m: &Message, base: &str) -> Value {
    json!({
        "userid": "1", "ed_instanceid": "0", "ed_version": "1",
        "cdate": iso(m.cdate), "mdate": iso(m.mdate), "name": m.name,
        "fromname": m.from_name, "fromemail": m.from_email, "reply2": m.from_email,
        "priority": "3", "charset": "utf-8", "encoding": "quoted-printable", "format": "mime",
        "subject": m.subject, "preheader_text": "",
        "text": format!("{}\n\nRead it online.", m.subject),
        "html": format!("<!DOCTYPE html><html><body><h1>{}</h1></body></html>", m.subject),
        "htmlfetch": "now", "textfetch": "now", "hidden": "0", "preview_mime": "",
        "preview_data": null,
        "links": { "user": format!("{base}/api/3/messages/{}/user", m.id) },
        "id": m.id.to_string(), "user": "1",
    })
}

/// Every campaign in id order, offset-paged (`meta.total` a string).
async fn campaigns(state: State, req: HttpRequest) -> HttpResponse {
    let all: Vec<Value> = {
        let acct = state.account();
        acct.campaigns
            .values()
            .map(|c| campaign(c, state.base()))
            .collect()
    };
    let p = Params::of(&req);
    ok(&json!({ "campaigns": page_of(&all, &p), "meta": meta_total(all.len()) }))
}

/// Every message in id order, offset-paged (`meta.total` a string).
async fn messages(state: State, req: HttpRequest) -> HttpResponse {
    let all: Vec<Value> = {
        let acct = state.account();
        acct.messages
            .values()
            .map(|m| message(m, state.base()))
            .collect()
    };
    let p = Params::of(&req);
    ok(&json!({ "messages": page_of(&all, &p), "meta": meta_total(all.len()) }))
}

//! Records as API v3 shows them: string ids and numbers, ISO times with the Chicago offset,
//! zone-less `*_timestamp` fields, absolute `links`.

use serde_json::{json, Value};

use crate::fake_ac::catalog::{FieldDef, ListDef, PipelineDef, TagDef, UserDef};
use crate::fake_ac::clock::{iso, wall};
use crate::fake_ac::model::{assoc, Contact, Deal, ListSub};
use crate::fake_ac::state::{Account, Webhook};

/// A contact without sideload id arrays, in the 2026 live shape.
pub(crate) fn contact(c: &Contact, base: &str) -> Value {
    let link = |rel: &str| format!("{base}/api/3/contacts/{}/{rel}", c.id);
    let domain = c.email.split('@').nth(1).unwrap_or("");
    let mut v = json!({
        "cdate": iso(c.cdate), "email": c.email, "phone": c.phone,
        "firstName": c.first_name, "lastName": c.last_name,
        "orgid": "0", "orgname": "", "segmentio_id": "", "bounced_hard": "0", "bounced_soft": "0",
        "bounced_date": null, "ip": if c.ip == "0.0.0.0" { "0".to_string() } else { c.ip.clone() },
        "ua": "", "hash": format!("{:032x}", (c.id as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)),
        "socialdata_lastcheck": null, "email_local": "", "email_domain": domain, "sentcnt": "0",
        "rating_tstamp": null, "gravatar": "0", "deleted": "0", "anonymized": "0", "adate": null,
        "udate": iso(c.udate), "edate": null, "deleted_at": null,
    });
    // The macro's recursion depth caps one literal's size, so the record is built in parts.
    merge(
        &mut v,
        json!({
            // Live data shows these "utc" fields holding the local wall time, not UTC.
            "created_utc_timestamp": wall(c.cdate), "updated_utc_timestamp": wall(c.udate),
            "created_timestamp": wall(c.cdate), "updated_timestamp": wall(c.udate),
            "created_by": "0", "updated_by": "0", "mpp_tracking": "0", "last_click_date": null,
            "last_open_date": null, "last_mpp_open_date": null, "best_send_hour": "0",
            "sms_consent": "0", "sms_consent_updated_at": "0000-00-00 00:00:00",
            "whatsapp_id": null, "whatsapp_username": null, "scoreValues": [], "accountContacts": [],
        }),
    );
    let links: serde_json::Map<String, Value> = [
        "bounceLogs",
        "contactAutomations",
        "contactData",
        "contactGoals",
        "contactLists",
        "contactLogs",
        "contactTags",
        "contactDeals",
        "deals",
        "fieldValues",
        "geoIps",
        "notes",
        "organization",
        "plusAppend",
        "trackingLogs",
        "scoreValues",
        "accountContacts",
        "automationEntryCounts",
    ]
    .iter()
    .map(|rel| (rel.to_string(), Value::String(link(rel))))
    .collect();
    merge(
        &mut v,
        json!({ "links": links, "id": c.id.to_string(), "organization": null }),
    );
    v
}

/// Copies the members of object `extra` into object `v`.
fn merge(v: &mut Value, extra: Value) {
    if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), extra) {
        obj.extend(more);
    }
}

/// One `contactTags` row.
pub(crate) fn contact_tag(contact: i64, tag: i64, at: i64, base: &str) -> Value {
    let id = assoc::contact_tag(contact, tag);
    json!({
        "contact": contact.to_string(), "tag": tag.to_string(), "cdate": iso(at),
        "created_timestamp": wall(at), "updated_timestamp": wall(at),
        "created_by": null, "updated_by": null,
        "links": {
            "tag": format!("{base}/api/3/contactTags/{id}/tag"),
            "contact": format!("{base}/api/3/contactTags/{id}/contact"),
        },
        "id": id.to_string(),
    })
}

/// One `fieldValues` row.
pub(crate) fn field_value(
    contact: i64,
    field: i64,
    v: &crate::fake_ac::model::FieldValue,
    base: &str,
) -> Value {
    let id = assoc::field_value(contact, field);
    json!({
        "contact": contact.to_string(), "field": field.to_string(), "value": v.value,
        "cdate": iso(v.cdate), "udate": iso(v.udate), "created_by": "0", "updated_by": "0",
        "links": {
            "owner": format!("{base}/api/3/fieldValues/{id}/owner"),
            "field": format!("{base}/api/3/fieldValues/{id}/field"),
        },
        "id": id.to_string(), "owner": contact.to_string(),
    })
}

/// One `contactLists` row.
pub(crate) fn contact_list(c: &Contact, list: i64, s: &ListSub, base: &str) -> Value {
    let id = assoc::contact_list(c.id, list);
    json!({
        "contact": c.id.to_string(), "list": list.to_string(), "form": null, "seriesid": "0",
        "sdate": iso(s.sdate), "udate": s.unsub_date.map(iso), "status": s.status.to_string(),
        "responder": "1", "sync": "0",
        "unsubreason": s.reason,
        "campaign": null, "message": null, "first_name": c.first_name, "last_name": c.last_name,
        "ip4Sub": "0", "sourceid": "0", "autosyncLog": null, "ip4_last": "0", "ip4Unsub": "0",
        "created_timestamp": wall(s.sdate), "updated_timestamp": wall(s.updated),
        "created_by": "0", "updated_by": "0", "unsubscribeAutomation": null, "channel": "email",
        "links": {
            "automation": format!("{base}/api/3/contactLists/{id}/automation"),
            "list": format!("{base}/api/3/contactLists/{id}/list"),
            "contact": format!("{base}/api/3/contactLists/{id}/contact"),
        },
        "id": id.to_string(), "automation": null,
    })
}

/// A tag definition.
pub(crate) fn tag(t: &TagDef, base: &str) -> Value {
    json!({
        "tagType": t.tag_type, "tag": t.name, "description": "", "cdate": t.cdate,
        "links": { "contactGoalTags": format!("{base}/api/3/tags/{}/contactGoalTags", t.id) },
        "id": t.id.to_string(),
    })
}

/// A full deal.
pub(crate) fn deal(d: &Deal, acct: &Account, base: &str) -> Value {
    let link = |rel: &str| format!("{base}/api/3/deals/{}/{rel}", d.id);
    let account = acct
        .deal_account(d)
        .map_or(Value::Null, |a| json!(a.to_string()));
    let nextdate = acct
        .next_task_due(d.id)
        .map_or(Value::Null, |t| json!(iso(t)));
    let win = d.win_probability().map_or(Value::Null, |p| json!(p));
    let mut v = json!({
        "hash": format!("{:08x}", (d.id as u64).wrapping_mul(0x9E37_79B9) as u32),
        "owner": d.owner.to_string(), "contact": if d.contact == 0 { Value::Null } else { json!(d.contact.to_string()) },
        "organization": null, "group": d.pipeline.to_string(), "stage": d.stage.to_string(),
        "title": d.title, "description": "", "percent": "0", "cdate": iso(d.cdate), "mdate": iso(d.mdate),
        "nextdate": null, "nexttaskid": "0", "value": d.value_cents.to_string(), "currency": d.currency,
        "winProbability": null, "winProbabilityMdate": null, "status": d.status.to_string(),
        "activitycount": "0", "nextdealid": d.id.to_string(),
        "edate": if d.status == 0 { Value::Null } else { json!(wall(d.mdate)) },
        "links": {
            "dealActivities": link("dealActivities"), "contact": link("contact"),
            "contactDeals": link("contactDeals"), "group": link("group"), "nextTask": link("nextTask"),
            "notes": link("notes"), "account": link("account"), "customerAccount": link("customerAccount"),
            "organization": link("organization"), "owner": link("owner"), "scoreValues": link("scoreValues"),
            "stage": link("stage"), "tasks": link("tasks"), "dealCustomFieldData": link("dealCustomFieldData"),
        },
        "id": d.id.to_string(), "isDisabled": false, "nextTask": null, "account": null, "customerAccount": null,
    });
    v["account"] = account.clone();
    v["customerAccount"] = account;
    v["nextdate"] = nextdate;
    v["winProbability"] = win;
    v
}

/// What a user without permission on the deal's pipeline sees: no dates, no values.
pub(crate) fn deal_stub(d: &Deal) -> Value {
    json!({ "title": d.title, "status": d.status.to_string(), "id": d.id.to_string(), "isDisabled": true })
}

/// A list.
pub(crate) fn list(l: &ListDef, base: &str) -> Value {
    let mut v = json!({
        "stringid": l.stringid, "userid": "1", "name": l.name, "cdate": "2024-03-11T10:12:41-05:00",
        "p_use_tracking": "1", "p_use_analytics_read": "0", "p_use_analytics_link": "0",
        "p_use_twitter": "0", "p_use_facebook": "0", "p_embed_image": "1", "p_use_captcha": "1",
        "send_last_broadcast": "0", "private": "0", "analytics_domains": null,
        "analytics_source": "", "analytics_ua": "", "twitter_token": "", "twitter_token_secret": "",
    });
    merge(
        &mut v,
        json!({
            "facebook_session": null, "carboncopy": null, "subscription_notify": null,
            "unsubscription_notify": null, "require_name": "0", "get_unsubscribe_reason": "0",
            "to_name": "Subscriber", "optinoptout": "1", "sender_name": "Example Inc",
            "sender_addr1": "1 Main St", "sender_addr2": "", "sender_city": "Chicago",
            "sender_state": "IL", "sender_zip": "60601", "sender_country": "United States",
            "sender_phone": "", "sender_url": "https://example.com", "sender_reminder": "You signed up on our website",
            "fulladdress": "Example Inc, 1 Main St, Chicago, IL 60601, United States",
        }),
    );
    merge(
        &mut v,
        json!({
            "optinmessageid": "0", "optoutconf": "0", "deletestamp": null, "udate": null,
            "created_timestamp": "2024-03-11 10:12:41", "updated_timestamp": "2024-03-11 10:12:41",
            "created_by": "1", "updated_by": "1",
            "links": {
                "contactGoalLists": format!("{base}/api/3/lists/{}/contactGoalLists", l.id),
                "user": format!("{base}/api/3/lists/{}/user", l.id),
                "addressLists": format!("{base}/api/3/lists/{}/addressLists", l.id),
            },
            "id": l.id.to_string(), "user": "1",
        }),
    );
    v
}

/// A custom field definition; option ids are `field * 10 + n`.
pub(crate) fn field(f: &FieldDef, ordernum: usize, base: &str) -> Value {
    json!({
        "title": f.title, "descript": null, "type": f.field_type, "isrequired": "0",
        "perstag": f.perstag, "defval": null, "show_in_list": "0", "rows": "0", "cols": "0",
        "visible": "1", "service": "", "ordernum": ordernum.to_string(),
        "cdate": "2024-03-11T10:20:00-05:00", "udate": "2024-03-11T10:20:00-05:00",
        "options": option_labels(f).iter().enumerate().map(|(i, _)| option_id(f, i).to_string()).collect::<Vec<_>>(),
        "relations": [f.id.to_string()],
        "links": {
            "options": format!("{base}/api/3/fields/{}/options", f.id),
            "relations": format!("{base}/api/3/fields/{}/relations", f.id),
        },
        "id": f.id.to_string(),
    })
}

/// The id of a choice field's `index`-th option (fields have fewer than ten).
pub(crate) fn option_id(f: &FieldDef, index: usize) -> i64 {
    f.id * 10 + index as i64 + 1
}

/// The option labels of a choice field.
pub(crate) fn option_labels(f: &FieldDef) -> &'static [&'static str] {
    use crate::fake_ac::catalog::FieldKind;
    match f.kind {
        FieldKind::Single(o) | FieldKind::Multi(o) => o,
        _ => &[],
    }
}

/// A pipeline (`dealGroups`).
pub(crate) fn pipeline(p: &PipelineDef, base: &str) -> Value {
    let link = |rel: &str| format!("{base}/api/3/dealGroups/{}/{rel}", p.id);
    json!({
        "allgroups": "1", "allusers": "1", "autoassign": "1", "cdate": "2024-03-11T10:30:00-05:00",
        "currency": "usd", "id": p.id.to_string(),
        "links": { "dealGroupGroups": link("dealGroupGroups"), "dealGroupUsers": link("dealGroupUsers"), "stages": link("stages") },
        "stages": p.stages.iter().map(|s| s.0.to_string()).collect::<Vec<_>>(),
        "title": p.title, "udate": "2024-03-11T10:30:00-05:00",
    })
}

/// A deal stage.
pub(crate) fn stage(p: &PipelineDef, order: usize, id: i64, title: &str, base: &str) -> Value {
    json!({
        "cardRegion1": "title", "cardRegion2": "next-action", "cardRegion3": "show-avatar",
        "cardRegion4": "contact-fullname-orgname", "cardRegion5": "value",
        "cdate": "2024-03-11T10:30:00-05:00", "color": "32B0FC", "dealOrder": "next-action DESC",
        "group": p.id.to_string(), "id": id.to_string(),
        "links": { "group": format!("{base}/api/3/dealStages/{id}/group") },
        "order": order.to_string(), "title": title, "udate": null, "width": "280",
    })
}

/// A user.
pub(crate) fn user(u: &UserDef, base: &str) -> Value {
    json!({
        "username": u.username, "firstName": u.first_name, "lastName": u.last_name,
        "email": u.email, "phone": "", "signature": null,
        "links": { "lists": format!("{base}/api/3/users/{}/lists", u.id), "userGroup": format!("{base}/api/3/users/{}/userGroup", u.id) },
        "id": u.id.to_string(),
    })
}

/// A registered webhook.
pub(crate) fn webhook(w: &Webhook) -> Value {
    json!({
        "cdate": iso(w.cdate), "listid": w.listid.to_string(), "name": w.name, "url": w.url,
        "events": w.events, "sources": w.sources, "links": [], "id": w.id.to_string(),
    })
}

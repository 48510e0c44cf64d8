//! Response bodies in the shapes recorded from the live API (shortened, `links` trimmed).

/// `GET /contacts?include=contactTags.tag,fieldValues,contactLists`: string ids, string
/// `meta.total`, mixed timestamp styles, a contact tag whose tag was deleted (no `tags` row),
/// and sideloads that belong to a contact not on the page.
pub(super) const CONTACTS_PAGE: &str = r#"{
  "scoreValues": [],
  "contacts": [
    { "cdate": "2026-05-28T03:05:54-05:00", "email": "api@nango.dev", "phone": "",
      "firstName": "API Test", "lastName": "", "orgid": "0", "bounced_date": null,
      "udate": "2026-05-28T05:07:18-05:00", "deleted_at": null,
      "created_utc_timestamp": "2026-05-28 03:05:54",
      "sms_consent_updated_at": "0000-00-00 00:00:00",
      "contactTags": ["11", "12", "13"], "fieldValues": ["21"], "contactLists": ["31"],
      "links": { "contactTags": "https://acct.api-us1.com/api/3/contacts/1/contactTags" },
      "id": "1", "organization": null },
    { "cdate": "2026-05-28T03:06:00-05:00", "email": "b@example.com", "phone": "+1 555",
      "firstName": null, "lastName": "Bee", "udate": "2026-05-28T03:06:00-05:00",
      "mpp_tracking": "0", "whatsapp_id": null, "id": 4 }
  ],
  "contactTags": [
    { "contact": "1", "tag": "2", "cdate": "2026-05-28T04:03:25-05:00",
      "created_timestamp": "2026-05-28 04:03:25", "created_by": null, "id": "11" },
    { "contact": "1", "tag": "1", "cdate": "2026-05-28T04:03:20-05:00", "id": "12" },
    { "contact": "1", "tag": "9", "cdate": null, "id": "13" },
    { "contact": "77", "tag": "1", "id": "14" }
  ],
  "tags": [
    { "tagType": "contact", "tag": "one", "description": "", "id": "1" },
    { "tagType": "contact", "tag": "VIP, gold", "description": "", "id": "2" }
  ],
  "fieldValues": [
    { "contact": "1", "field": "3", "value": "||A||B||",
      "cdate": "2021-05-12T14:19:38-05:00", "udate": "2021-05-12T14:54:57-05:00",
      "id": "21", "owner": "1" },
    { "contact": "4", "field": "3", "value": null, "udate": null, "id": "22" }
  ],
  "contactLists": [
    { "contact": "1", "list": "3", "form": null, "seriesid": "0",
      "sdate": "2026-05-28T03:05:55-05:00", "udate": null, "status": "1",
      "created_timestamp": "2026-05-28 03:05:55", "updated_timestamp": "2026-05-28 03:05:55",
      "id": "31" },
    { "contact": "4", "list": "3", "sdate": "2026-05-28T03:06:01-05:00",
      "udate": "2026-05-29T10:00:00-05:00", "status": 2, "id": "32" }
  ],
  "meta": { "page_input": { "limit": 100, "offset": 0, "status": -1 }, "total": "14",
            "sortable": true }
}"#;

/// `GET /contacts/1` with default sideloads: the contact carries id arrays, `deals` sideload
/// holds a stub.
pub(super) const ONE_CONTACT: &str = r#"{
  "contactAutomations": [],
  "contactLists": [
    { "contact": "1", "list": "3", "sdate": "2026-05-28T03:05:55-05:00", "udate": null,
      "status": "1", "id": "1" }
  ],
  "deals": [ { "title": "Nango Deal 1", "status": "0", "id": "1", "isDisabled": true } ],
  "fieldValues": [],
  "geoIps": [],
  "contact": { "cdate": "2026-05-28T03:05:54-05:00", "email": "api@nango.dev",
               "firstName": "API Test", "lastName": "", "phone": "",
               "udate": "2026-05-28T05:07:18-05:00",
               "contactLists": ["1"], "deals": ["1", "14"], "fieldValues": [], "geoIps": [],
               "contactAutomations": [], "accountContacts": [], "id": "1" }
}"#;

/// `GET /deals`: a permission stub, a full deal, number `meta.total`.
pub(super) const DEALS_PAGE: &str = r#"{
  "deals": [
    { "title": "Nango Deal 1", "status": "0", "id": "1", "isDisabled": true },
    { "hash": "6e779a71", "owner": "1", "contact": "1", "organization": null, "group": "4",
      "stage": "10", "title": "Updated Test Deal 17", "description": "", "percent": "0",
      "cdate": "2026-05-28T05:08:16-05:00", "mdate": "2026-05-28T05:10:16-05:00",
      "nextdate": null, "nexttaskid": "0", "value": "55555", "currency": "USD",
      "winProbability": null, "status": "0", "edate": "0000-00-00 00:00:00",
      "id": "17", "isDisabled": 0, "nextTask": null, "account": null }
  ],
  "meta": {
    "currencies": { "USD": { "total": "15", "value": "140655", "currency": "USD",
                             "isDisabled": false } },
    "total": 15
  }
}"#;

/// `GET /dealGroups` with sideloaded `dealStages` (relative `links`, as in the docs).
pub(super) const DEAL_GROUPS: &str = r#"{
  "dealGroups": [
    { "allgroups": "1", "allusers": "1", "autoassign": "1",
      "cdate": "2017-01-16T14:51:57-06:00", "currency": "usd", "id": "1",
      "links": { "stages": "/api/3/dealGroups/1/stages" },
      "stages": ["1", "2"], "title": "Pipeline A", "udate": "2017-03-01T11:06:32-06:00" }
  ],
  "dealStages": [
    { "cardRegion1": "title", "cdate": "2017-01-20T09:27:32-06:00", "color": "C481DF",
      "group": "1", "id": "2", "order": "2", "title": "Stage 2", "udate": null, "width": "280" },
    { "cdate": null, "group": "1", "id": "1", "order": "1", "title": "Stage 1",
      "udate": "2017-03-01T11:06:14-06:00" }
  ],
  "meta": { "total": "1" }
}"#;

/// `GET /tags`: a contact tag and a template tag.
pub(super) const TAGS: &str = r#"{
  "tags": [
    { "tagType": "contact", "tag": "one", "description": "",
      "cdate": "2018-08-17T09:43:15-05:00", "id": "1" },
    { "tagType": "template", "tag": "test1", "description": "",
      "cdate": "2018-08-28T11:54:36-05:00", "id": "4" }
  ],
  "meta": { "total": "2" }
}"#;

/// `GET /fields` with its `fieldOptions` / `fieldRels` sideloads.
pub(super) const FIELDS: &str = r#"{
  "fieldOptions": [ { "field": "1", "value": "af", "label": "Afrikaans", "id": "1" } ],
  "fieldRels": [],
  "fields": [
    { "title": "Preferred Language", "descript": null, "type": "dropdown", "isrequired": "0",
      "perstag": "PREFERRED_LANGUAGE", "defval": null, "ordernum": "1",
      "cdate": "2026-05-28T03:05:02-05:00", "udate": "2026-05-28T03:05:02-05:00",
      "options": ["1", "2", "3"], "relations": ["1"], "id": "1" }
  ],
  "meta": { "total": "1" }
}"#;

/// `GET /lists`.
pub(super) const LISTS: &str = r#"{
  "lists": [ { "stringid": "email-subscription", "userid": "1", "name": "Email Subscription",
    "cdate": "2018-08-06T16:30:41-05:00", "private": "0", "udate": null, "id": "1",
    "user": "1" } ],
  "meta": { "total": "1" }
}"#;

/// `GET /users/me`.
pub(super) const USER_ME: &str = r#"{ "user": { "username": "admin", "firstName": "Ada",
  "lastName": "Admin", "email": "ada@example.com", "phone": "", "signature": null,
  "links": {}, "id": "1" } }"#;

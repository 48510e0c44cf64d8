//! Typed view of a decoded delivery: the envelope and the blocks the mirror uses.
//!
//! Values are taken as ActiveCampaign sends them: empty free text stays empty, `0` ids mean
//! none, `date_time` carries an offset and is converted to UTC, deal values come in major
//! units in `deal[value_raw]` and are turned into cents (never from the display string
//! `deal[value]`, which has thousands separators).

use super::decode::{FormBody, Node};
use crate::time::SourceTime;

/// Why a delivery could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ParseError {
    /// The key at fault, e.g. `contact[id]`.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

fn err(field: &str, problem: impl Into<String>) -> ParseError {
    ParseError {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

/// The contact block (`contact[...]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactBlock {
    /// `contact[id]`
    pub id: i64,
    /// `contact[email]`
    pub email: Option<String>,
    /// `contact[first_name]`
    pub first_name: Option<String>,
    /// `contact[last_name]`
    pub last_name: Option<String>,
    /// `contact[phone]`
    pub phone: Option<String>,
    /// `contact[tags]` as sent (`", "`-joined names); `None` when the key is absent.
    pub tags: Option<String>,
    /// `contact[fields][<numeric id>]` values.
    pub fields: Vec<(i64, String)>,
    /// `contact[fields][<personalisation tag>]` values (automation-style keys), the tag in
    /// lower case; resolved against the known fields when applied.
    pub tagged_fields: Vec<(String, String)>,
}

/// The deal block (`deal[...]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DealBlock {
    /// `deal[id]`
    pub id: i64,
    /// `deal[title]`
    pub title: Option<String>,
    /// `deal[create_date_iso]`, else `deal[create_date]` in ActiveCampaign's zone.
    pub created_at: Option<SourceTime>,
    /// `deal[pipelineid]`
    pub pipeline_id: Option<i64>,
    /// `deal[pipeline_title]`
    pub pipeline_title: Option<String>,
    /// `deal[stageid]`
    pub stage_id: Option<i64>,
    /// `deal[stage_title]`
    pub stage_title: Option<String>,
    /// `deal[value_raw]` in cents.
    pub value_cents: Option<i64>,
    /// `deal[currency]`, lower case.
    pub currency: Option<String>,
    /// `deal[owner]`
    pub owner_id: Option<i64>,
    /// `deal[owner_firstname]`
    pub owner_first_name: Option<String>,
    /// `deal[owner_lastname]`
    pub owner_last_name: Option<String>,
    /// `deal[contactid]`
    pub contact_id: Option<i64>,
    /// `deal[contact_email]`
    pub contact_email: Option<String>,
    /// `deal[contact_firstname]`
    pub contact_first_name: Option<String>,
    /// `deal[contact_lastname]`
    pub contact_last_name: Option<String>,
    /// `deal[status]`
    pub status: Option<i32>,
    /// `deal[orgid]` (else `deal[customer_acct_id]` or `deal[account]`): the deal's account.
    pub account_id: Option<i64>,
    /// `deal[fields][N][id]` with `deal[fields][N][value]`: custom field values by field id.
    pub fields: Vec<(i64, String)>,
}

/// The account block (`account[...]`) of `account_add` and `account_update`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountBlock {
    /// `account[id]`
    pub id: i64,
    /// `account[name]`
    pub name: Option<String>,
    /// `account[account_url]`
    pub url: Option<String>,
    /// `account[created_timestamp]`, a wall-clock time in ActiveCampaign's zone.
    pub created_at: Option<SourceTime>,
    /// `account[fields][N][id]` with `account[fields][N][value]`: custom field values by
    /// field id (built-in fields without an id are left out).
    pub fields: Vec<(i64, String)>,
}

/// The block of `account_contact_add` and `account_contact_update`, sent as `accountContact`
/// or `account_contact`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountContactBlock {
    /// `accountContact[id]`
    pub id: i64,
    /// `accountContact[account]`
    pub account_id: i64,
    /// `accountContact[contact]`
    pub contact_id: i64,
    /// `accountContact[job_title]` (or `jobTitle`).
    pub job_title: Option<String>,
}

/// The task block (`task[...]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskBlock {
    /// `task[id]`
    pub id: i64,
    /// `task[type_title]`
    pub task_type: Option<String>,
    /// `task[title]`
    pub title: Option<String>,
    /// `task[note]`
    pub note: Option<String>,
    /// `task[duedate_iso]`
    pub due_at: Option<SourceTime>,
    /// `task[donedate_iso]`
    pub done_at: Option<SourceTime>,
}

/// A delivery, typed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivery {
    /// `type`; `None` for automation-format bodies.
    pub event_type: Option<String>,
    /// `date_time` in UTC.
    pub occurred_at: Option<SourceTime>,
    /// `initiated_from`
    pub initiated_from: Option<String>,
    /// `list`, when not `0`.
    pub list_id: Option<i64>,
    /// Lists named by `list[][id]` (public unsubscribes).
    pub listed_ids: Vec<i64>,
    /// The contact block, when it has an id.
    pub contact: Option<ContactBlock>,
    /// The deal block, when it has an id.
    pub deal: Option<DealBlock>,
    /// The task block.
    pub task: Option<TaskBlock>,
    /// The account block, when it has an id.
    pub account: Option<AccountBlock>,
    /// The account contact block, when it has its ids.
    pub account_contact: Option<AccountContactBlock>,
    /// `tag` (tag events).
    pub tag: Option<String>,
    /// `unsubscribe[reason]` (unsubscribes through a form that asks).
    pub unsubscribe_reason: Option<String>,
    /// `note` as a scalar (contact notes).
    pub contact_note: Option<String>,
    /// `note[id]`, `note[text]` (deal notes).
    pub deal_note: Option<(i64, String)>,
    /// `pipeline[id]`, `pipeline[title]`.
    pub pipeline: Option<(i64, String)>,
    /// `stage[id]`, its pipeline if sent, `stage[title]`.
    pub stage: Option<(i64, Option<i64>, String)>,
    /// `list[id]`, `list[name]` (`list_add`).
    pub new_list: Option<(i64, String)>,
    /// What an engagement event (`open`, `click`, `bounce`, …) says beyond the contact.
    pub engagement: Engagement,
}

/// The campaign, message, link and detail of an engagement delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Engagement {
    /// `campaign[id]`
    pub campaign_id: Option<i64>,
    /// `campaign[name]`
    pub campaign_name: Option<String>,
    /// `campaign[message][id]`
    pub message_id: Option<i64>,
    /// `campaign[message][subject]`
    pub message_subject: Option<String>,
    /// `link[url]` (clicks).
    pub link_url: Option<String>,
    /// Whatever else says what happened: a bounce's type, code and description, a reply's or
    /// an SMS reply's text, a share's network, a send's recipient count.
    pub detail: Option<String>,
}

/// Read from every delivery, used by the engagement kinds. Lenient: an id that is not a
/// positive number is left out rather than failing the delivery, so that an odd campaign id
/// neither loses an activity nor fails a delivery of another kind that happens to carry one.
fn engagement(body: &FormBody) -> Engagement {
    let text = |path: &[&str]| {
        body.get(path)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let positive = |path: &[&str]| {
        body.get(path)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|v| *v > 0)
    };
    let bounce = ["type", "code", "description"]
        .iter()
        .filter_map(|k| text(&["bounce", k]))
        .collect::<Vec<_>>();
    let detail = (!bounce.is_empty())
        .then(|| bounce.join(" "))
        .or_else(|| text(&["message"]))
        .or_else(|| text(&["sms", "reply"]))
        .or_else(|| text(&["share", "network"]))
        .or_else(|| text(&["campaign", "recipients"]));
    Engagement {
        campaign_id: positive(&["campaign", "id"]),
        campaign_name: text(&["campaign", "name"]),
        message_id: positive(&["campaign", "message", "id"]),
        message_subject: text(&["campaign", "message", "subject"]),
        link_url: text(&["link", "url"]),
        detail,
    }
}

/// Parses an id: empty or `0` is none.
pub fn id(field: &str, raw: Option<&str>) -> Result<Option<i64>, ParseError> {
    match raw.map(str::trim) {
        None | Some("") | Some("0") => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(v) if v > 0 => Ok(Some(v)),
            _ => Err(err(field, format!("{} is not a positive id", short(s)))),
        },
    }
}

fn short(s: &str) -> String {
    let cut: String = s.chars().take(40).collect();
    format!("{cut:?}")
}

/// Parses an ActiveCampaign time into UTC with the parser the API path uses
/// ([`crate::time`]): offsets, zone-less America/Chicago wall time, fractional
/// seconds, bare dates. Empty and zero dates are none.
pub fn time(field: &str, raw: Option<&str>) -> Result<Option<SourceTime>, ParseError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    crate::time::parse(raw)
        .map(|t| t.map(|t| t.naive_utc()))
        .map_err(|e| err(field, e.to_string()))
}

/// Converts a decimal amount in major units (`100`, `100.5`, `-3.25`) to cents, exactly.
pub fn cents(field: &str, raw: Option<&str>) -> Result<Option<i64>, ParseError> {
    let Some(s) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let bad = || err(field, format!("{} is not an amount", short(s)));
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let mut frac_digits = frac.bytes().map(|b| i64::from(b - b'0'));
    let tenths = frac_digits.next().unwrap_or(0);
    let hundredths = frac_digits.next().unwrap_or(0);
    // Sub-cent digits round half away from zero.
    let round = i64::from(frac_digits.next().unwrap_or(0) >= 5);
    let value = whole
        .checked_mul(100)
        .and_then(|v| v.checked_add(tenths * 10 + hundredths + round))
        .ok_or_else(|| err(field, format!("{} is too large", short(s))))?;
    Ok(Some(if negative { -value } else { value }))
}

fn text(node: &Node, key: &str) -> Option<String> {
    node.get(&[key]).map(str::to_owned)
}

fn contact_block(body: &FormBody) -> Result<Option<ContactBlock>, ParseError> {
    let Some(node) = body.at(&["contact"]) else {
        return Ok(None);
    };
    let Some(id) = id("contact[id]", node.get(&["id"]))? else {
        return Ok(None);
    };
    let mut fields = Vec::new();
    let mut tagged_fields = Vec::new();
    for (key, v) in node
        .at(&["fields"])
        .map(|f| f.children.iter())
        .into_iter()
        .flatten()
    {
        let Some(value) = v.value.clone() else {
            continue;
        };
        match key.parse::<i64>() {
            Ok(field_id) => fields.push((field_id, value)),
            Err(_) => tagged_fields.push((key.to_lowercase(), value)),
        }
    }
    Ok(Some(ContactBlock {
        id,
        email: text(node, "email"),
        first_name: text(node, "first_name"),
        last_name: text(node, "last_name"),
        phone: text(node, "phone"),
        tags: text(node, "tags"),
        fields,
        tagged_fields,
    }))
}

fn deal_block(body: &FormBody) -> Result<Option<DealBlock>, ParseError> {
    let Some(node) = body.at(&["deal"]) else {
        return Ok(None);
    };
    let Some(deal_id) = id("deal[id]", node.get(&["id"]))? else {
        return Ok(None);
    };
    let created_at = match time("deal[create_date_iso]", node.get(&["create_date_iso"]))? {
        Some(t) => Some(t),
        None => time("deal[create_date]", node.get(&["create_date"]))?,
    };
    let status = match node
        .get(&["status"])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s) => Some(
            s.parse::<i32>()
                .map_err(|_| err("deal[status]", format!("{} is not 0, 1 or 2", short(s))))?,
        ),
    };
    Ok(Some(DealBlock {
        id: deal_id,
        title: text(node, "title"),
        created_at,
        pipeline_id: id("deal[pipelineid]", node.get(&["pipelineid"]))?,
        pipeline_title: text(node, "pipeline_title"),
        stage_id: id("deal[stageid]", node.get(&["stageid"]))?,
        stage_title: text(node, "stage_title"),
        value_cents: cents("deal[value_raw]", node.get(&["value_raw"]))?,
        currency: text(node, "currency")
            .filter(|c| !c.is_empty())
            .map(|c| c.to_ascii_lowercase()),
        owner_id: id("deal[owner]", node.get(&["owner"]))?,
        owner_first_name: text(node, "owner_firstname"),
        owner_last_name: text(node, "owner_lastname"),
        contact_id: id("deal[contactid]", node.get(&["contactid"]))?,
        contact_email: text(node, "contact_email"),
        contact_first_name: text(node, "contact_firstname"),
        contact_last_name: text(node, "contact_lastname"),
        status,
        account_id: match ["orgid", "customer_acct_id", "account"]
            .into_iter()
            .find_map(|k| node.get(&[k]).map(|raw| (k, raw)))
        {
            Some((k, raw)) => id(&format!("deal[{k}]"), Some(raw))?,
            None => None,
        },
        fields: custom_fields(node, "deal")?,
    }))
}

/// `<block>[fields][N][id]` with `<block>[fields][N][value]` (positional `N`). A value sent as
/// several (`[value][M]`, a multi-value field) is joined as ActiveCampaign shows such values,
/// `||A||B||`. Entries without an id (built-in fields) are left out.
fn custom_fields(node: &Node, block: &str) -> Result<Vec<(i64, String)>, ParseError> {
    let mut out = Vec::new();
    for (n, entry) in node
        .at(&["fields"])
        .map(|f| f.children.iter())
        .into_iter()
        .flatten()
    {
        let Some(field) = id(&format!("{block}[fields][{n}][id]"), entry.get(&["id"]))? else {
            continue;
        };
        let value = match entry.at(&["value"]) {
            None => continue,
            Some(v) if v.children.is_empty() => v.value.clone().unwrap_or_default(),
            Some(v) => {
                let parts: Vec<&str> = v
                    .children
                    .values()
                    .filter_map(|c| c.value.as_deref())
                    .collect();
                format!("||{}||", parts.join("||"))
            }
        };
        out.push((field, value));
    }
    Ok(out)
}

fn account_block(body: &FormBody) -> Result<Option<AccountBlock>, ParseError> {
    let Some(node) = body.at(&["account"]) else {
        return Ok(None);
    };
    let Some(account_id) = id("account[id]", node.get(&["id"]))? else {
        return Ok(None);
    };
    Ok(Some(AccountBlock {
        id: account_id,
        name: text(node, "name"),
        url: text(node, "account_url").filter(|u| !u.is_empty()),
        created_at: time(
            "account[created_timestamp]",
            node.get(&["created_timestamp"]),
        )?,
        fields: custom_fields(node, "account")?,
    }))
}

fn account_contact_block(body: &FormBody) -> Result<Option<AccountContactBlock>, ParseError> {
    let Some((name, node)) = ["accountContact", "account_contact"]
        .into_iter()
        .find_map(|k| body.at(&[k]).map(|n| (k, n)))
    else {
        return Ok(None);
    };
    let key = |k: &str| format!("{name}[{k}]");
    let (Some(ac_id), Some(account_id), Some(contact_id)) = (
        id(&key("id"), node.get(&["id"]))?,
        id(&key("account"), node.get(&["account"]))?,
        id(&key("contact"), node.get(&["contact"]))?,
    ) else {
        return Ok(None);
    };
    Ok(Some(AccountContactBlock {
        id: ac_id,
        account_id,
        contact_id,
        job_title: text(node, "job_title").or_else(|| text(node, "jobTitle")),
    }))
}

fn task_block(body: &FormBody) -> Result<Option<TaskBlock>, ParseError> {
    let Some(node) = body.at(&["task"]) else {
        return Ok(None);
    };
    let Some(task_id) = id("task[id]", node.get(&["id"]))? else {
        return Ok(None);
    };
    Ok(Some(TaskBlock {
        id: task_id,
        task_type: text(node, "type_title"),
        title: text(node, "title"),
        note: text(node, "note"),
        due_at: match time("task[duedate_iso]", node.get(&["duedate_iso"]))? {
            Some(t) => Some(t),
            None => time("task[duedate]", node.get(&["duedate"]))?,
        },
        done_at: match time("task[donedate_iso]", node.get(&["donedate_iso"]))? {
            Some(t) => Some(t),
            None => time("task[donedate]", node.get(&["donedate"]))?,
        },
    }))
}

fn titled(
    body: &FormBody,
    name: &str,
    title_key: &str,
) -> Result<Option<(i64, String)>, ParseError> {
    let Some(node) = body.at(&[name]) else {
        return Ok(None);
    };
    let Some(obj_id) = id(&format!("{name}[id]"), node.get(&["id"]))? else {
        return Ok(None);
    };
    Ok(Some((
        obj_id,
        node.get(&[title_key]).unwrap_or_default().to_owned(),
    )))
}

impl Delivery {
    /// Reads the typed view from a decoded body.
    pub fn parse(body: &FormBody) -> Result<Self, ParseError> {
        let event_type = body
            .get(&["type"])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        let occurred_at = time("date_time", body.get(&["date_time"]))?;
        let list_node = body.at(&["list"]);
        let listed_ids = list_node
            .map(|n| {
                n.children
                    .values()
                    .filter_map(|c| c.get(&["id"]))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let listed_ids = listed_ids
            .into_iter()
            .map(|raw| id("list[][id]", Some(raw)))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        let stage = match titled(body, "stage", "title")? {
            Some((stage_id, title)) => {
                let node = body.at(&["stage"]);
                let pipeline = ["pipeline", "pipelineid", "group"]
                    .iter()
                    .find_map(|k| node.and_then(|n| n.get(&[k])))
                    .or_else(|| body.get(&["pipeline", "id"]));
                Some((stage_id, id("stage[pipeline]", pipeline)?, title))
            }
            None => None,
        };
        let deal_note = match body.at(&["note"]).filter(|n| !n.children.is_empty()) {
            Some(n) => id("note[id]", n.get(&["id"]))?
                .map(|nid| (nid, n.get(&["text"]).unwrap_or_default().to_owned())),
            None => None,
        };
        Ok(Self {
            event_type,
            occurred_at,
            initiated_from: body.get(&["initiated_from"]).map(str::to_owned),
            list_id: id("list", list_node.and_then(|n| n.value.as_deref()))?,
            listed_ids,
            contact: contact_block(body)?,
            deal: deal_block(body)?,
            task: task_block(body)?,
            account: account_block(body)?,
            account_contact: account_contact_block(body)?,
            tag: body.get(&["tag"]).map(str::to_owned),
            unsubscribe_reason: body
                .get(&["unsubscribe", "reason"])
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned),
            contact_note: body.get(&["note"]).map(str::to_owned),
            deal_note,
            pipeline: titled(body, "pipeline", "title")?,
            stage,
            new_list: titled(body, "list", "name")?,
            engagement: engagement(body),
        })
    }

    /// The contact this delivery is about, from the contact block or the deal's contact.
    pub fn contact_id(&self) -> Option<i64> {
        self.contact
            .as_ref()
            .map(|c| c.id)
            .or_else(|| self.deal.as_ref().and_then(|d| d.contact_id))
    }

    /// The deal this delivery is about.
    pub fn deal_id(&self) -> Option<i64> {
        self.deal.as_ref().map(|d| d.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::decode::decode;

    fn parse(body: &str) -> Delivery {
        Delivery::parse(&decode(body.as_bytes()).expect("decodes")).expect("parses")
    }

    #[test]
    fn date_time_offset_is_converted_to_utc() {
        let d = parse("type=update&date_time=2026-07-17T22%3A01%3A25-05%3A00");
        assert_eq!(
            d.occurred_at.map(|t| t.to_string()),
            Some("2026-07-18 03:01:25".into())
        );
    }

    #[test]
    fn an_odd_campaign_id_is_left_out_and_fails_nothing() {
        let d = parse(
            "type=unsubscribe&date_time=2024-03-01T09%3A15%3A02-05%3A00&contact%5Bid%5D=3\
             &campaign%5Bid%5D=abc&campaign%5Bmessage%5D%5Bid%5D=14",
        );
        assert_eq!(d.engagement.campaign_id, None);
        assert_eq!(d.engagement.message_id, Some(14));
        assert_eq!(d.contact.map(|c| c.id), Some(3));
    }

    #[test]
    fn amounts_become_exact_cents() {
        assert_eq!(cents("v", Some("100")), Ok(Some(10000)));
        assert_eq!(cents("v", Some("100.5")), Ok(Some(10050)));
        assert_eq!(cents("v", Some("0.07")), Ok(Some(7)));
        assert_eq!(cents("v", Some("-3.25")), Ok(Some(-325)));
        assert_eq!(cents("v", Some("1044055")), Ok(Some(104405500)));
        assert_eq!(cents("v", Some("")), Ok(None));
        assert!(cents("v", Some("1,044,055.00")).is_err());
        assert!(cents("v", Some("99999999999999999999")).is_err());
    }

    #[test]
    fn zero_ids_and_zero_dates_are_none() {
        assert_eq!(id("x", Some("0")), Ok(None));
        assert_eq!(time("x", Some("0000-00-00 00:00:00")), Ok(None));
        assert!(id("x", Some("-4")).is_err());
    }

    #[test]
    fn naive_deal_times_are_read_in_central_time() {
        assert_eq!(
            time("x", Some("2017-11-24 10:06:22")).map(|t| t.map(|t| t.to_string())),
            Ok(Some("2017-11-24 16:06:22".into()))
        );
    }

    #[test]
    fn deal_note_has_no_contact_block_but_a_contact_id() {
        let d = parse("type=deal_note_add&date_time=2024-02-28T05%3A58%3A27-06%3A00&note[id]=1&note[text]=Tst+node&deal[id]=1&deal[contactid]=3&deal[value_raw]=14055&deal[currency]=USD");
        assert!(d.contact.is_none());
        assert_eq!(d.contact_id(), Some(3));
        assert_eq!(d.deal_note, Some((1, "Tst node".into())));
        let deal = d.deal.expect("deal block");
        assert_eq!(deal.value_cents, Some(1405500));
        assert_eq!(deal.currency.as_deref(), Some("usd"));
    }

    #[test]
    fn list_add_separates_the_scalar_list_from_the_object() {
        let d = parse("type=list_add&date_time=2024-03-01T08%3A00%3A00-06%3A00&list=0&list[id]=4&list[name]=Webinar+attendees");
        assert_eq!(d.list_id, None);
        assert_eq!(d.new_list, Some((4, "Webinar attendees".into())));
    }

    #[test]
    fn automation_bodies_have_no_type() {
        let d = parse("contact[id]=903&contact[email]=ivan%40grozny.me&contact[fields][eula]=%7C%7CYes%7C%7C&seriesid=22");
        assert_eq!(d.event_type, None);
    }

    #[test]
    fn field_keys_by_tag_are_kept_apart_from_ids_in_lower_case() {
        let d = parse("type=update&contact[id]=9&contact[fields][3]=x&contact[fields][UTM_Source]=ads&contact[fields][eula]=");
        let c = d.contact.expect("contact block");
        assert_eq!(c.fields, vec![(3, "x".to_owned())]);
        let mut tagged = c.tagged_fields;
        tagged.sort();
        assert_eq!(
            tagged,
            vec![
                ("eula".to_owned(), String::new()),
                ("utm_source".to_owned(), "ads".to_owned())
            ]
        );
    }

    #[test]
    fn absent_keys_are_none_and_empty_keys_are_empty() {
        let d = parse("type=bounce&contact[id]=9&contact[email]=a%40b.c&contact[phone]=");
        let c = d.contact.expect("contact block");
        assert_eq!(c.phone.as_deref(), Some(""));
        assert_eq!(c.first_name, None);
        assert_eq!(c.last_name, None);
        assert_eq!(c.tags, None);
    }

    #[test]
    fn absurd_values_are_reported_with_their_field() {
        let e = Delivery::parse(
            &decode(b"type=update&date_time=99999-01-01T00:00:00Z").expect("decodes"),
        )
        .expect_err("bad date");
        assert_eq!(e.field, "date_time");
        let e = Delivery::parse(&decode(b"type=update&contact[id]=12abc").expect("decodes"))
            .expect_err("bad id");
        assert_eq!(e.field, "contact[id]");
    }
}

/// Webhook deliveries and API records reach the mirror by two paths that must read one
/// timestamp text as one instant.
#[cfg(test)]
mod both_paths {
    use chrono::{DateTime, Duration, NaiveDate, Utc};
    use chrono_tz::America::Chicago;

    /// The API path: a record field decoded by the deserializer every API type uses.
    fn api_path(raw: &str) -> Option<DateTime<Utc>> {
        #[derive(serde::Deserialize)]
        struct Probe {
            #[serde(deserialize_with = "crate::activecampaign::decode::timestamp")]
            at: Option<DateTime<Utc>>,
        }
        let json = serde_json::json!({ "at": raw }).to_string();
        serde_json::from_str::<Probe>(&json)
            .expect("a string always decodes")
            .at
    }

    /// The webhook path: a delivery's time field.
    fn webhook_path(raw: &str) -> Result<Option<DateTime<Utc>>, String> {
        crate::webhook::event::time("date_time", Some(raw))
            .map(|t| t.map(|t| t.and_utc()))
            .map_err(|e| e.to_string())
    }

    fn assert_paths_agree(raw: &str) -> Result<Option<DateTime<Utc>>, TestCaseError> {
        let webhook = webhook_path(raw);
        let api = api_path(raw);
        match &webhook {
            Ok(t) => prop_assert_eq!(*t, api, "{:?}", raw),
            Err(_) => prop_assert_eq!(api, None, "{:?}", raw),
        }
        Ok(webhook.ok().flatten())
    }

    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

    /// Instants from 1990 to 2060, whole seconds or with a fraction.
    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        (
            631_152_000i64..2_840_140_800,
            prop_oneof![Just(0u32), 0u32..1_000_000_000],
        )
            .prop_map(|(s, n)| DateTime::from_timestamp(s, n).expect("in range"))
    }

    proptest! {
        #[test]
        fn both_paths_read_offset_times_exactly(t in instant(), offset_min in -720i32..=840, z in any::<bool>()) {
            let zone = chrono::FixedOffset::east_opt(offset_min * 60).expect("in range");
            let raw = if z && offset_min == 0 {
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            } else {
                t.with_timezone(&zone).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
            };
            prop_assert_eq!(assert_paths_agree(&raw)?, Some(t));
        }

        #[test]
        fn both_paths_read_chicago_wall_times_alike(t in instant(), sep in prop_oneof![Just(" "), Just("T")]) {
            let wall = t.with_timezone(&Chicago);
            let raw = format!("{}{sep}{}", wall.format("%Y-%m-%d"), wall.format("%H:%M:%S%.f"));
            let read = assert_paths_agree(&raw)?.expect("a wall time is a time");
            // The same wall time, and the instant itself or (in the autumn overlap) the earlier
            // of the two.
            prop_assert_eq!(read.with_timezone(&Chicago).naive_local(), wall.naive_local());
            prop_assert!(read == t || read == t - Duration::hours(1), "{} read as {}", raw, read);
        }

        #[test]
        fn both_paths_read_any_wall_text_alike(
            day in 0i64..25_000, secs in 0u32..86_400, frac in prop_oneof![Just(String::new()), "\\.[0-9]{1,9}"],
        ) {
            // Every wall time of a day, including the ones a gap skips.
            let date = NaiveDate::from_ymd_opt(1990, 1, 1).expect("valid") + Duration::days(day);
            let naive = date.and_hms_opt(secs / 3600, secs / 60 % 60, secs % 60).expect("valid");
            let raw = format!("{}{frac}", naive.format("%Y-%m-%d %H:%M:%S"));
            let read = assert_paths_agree(&raw)?.expect("every wall time is read");
            let wall_as_utc = naive.and_utc();
            // Chicago is five or six hours behind UTC; a gap time lands within that too.
            let behind = read.signed_duration_since(wall_as_utc).num_seconds();
            prop_assert!((5 * 3600..=6 * 3600 + 1).contains(&behind), "{} read as {}", raw, read);
        }

        #[test]
        fn both_paths_agree_on_arbitrary_text(raw in ".{0,40}") {
            assert_paths_agree(&raw)?;
        }

        #[test]
        fn both_paths_agree_on_dates_alone(day in 0i64..25_000) {
            let date = NaiveDate::from_ymd_opt(1990, 1, 1).expect("valid") + Duration::days(day);
            let raw = date.format("%Y-%m-%d").to_string();
            let read = assert_paths_agree(&raw)?.expect("a date is a time");
            prop_assert_eq!(read.with_timezone(&Chicago).naive_local(), date.and_hms_opt(0, 0, 0).expect("midnight"));
        }
    }
}

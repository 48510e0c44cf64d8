//! Webhook deliveries in ActiveCampaign's wire format: one event per POST,
//! `application/x-www-form-urlencoded`, PHP bracket keys, full contact and deal blocks.

use super::catalog::{self, DEAL_FIELDS, FIELDS};
use super::clock;
use super::model::{Contact, Deal};

/// One webhook event, with the records as they were when it happened.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// `type`, e.g. `contact_tag_added`.
    pub kind: &'static str,
    /// `date_time`, Unix seconds.
    pub time: i64,
    /// `initiated_from` and `initiated_by`: `admin`, `api`, `public` or `system`.
    pub source: &'static str,
    /// `list`: the list id, 0 when the event is not about a list.
    pub list: i64,
    /// The contact the event is about, or the deal's primary contact.
    pub contact: Option<Contact>,
    /// Whether the body carries the `contact[...]` block (`deal_note_add` does not).
    pub contact_block: bool,
    /// The deal the event is about.
    pub deal: Option<Deal>,
    /// Pairs that precede the contact block (`note`, `note[...]`, `campaign[...]`).
    pub head: Vec<(String, String)>,
    /// Pairs that follow the deal block (`updated_fields[N]`, `task[...]`, `tag`, `link[...]`).
    pub tail: Vec<(String, String)>,
}

impl Event {
    /// An event with no records attached yet.
    pub(crate) fn new(kind: &'static str, time: i64, source: &'static str) -> Self {
        Event {
            kind,
            time,
            source,
            list: 0,
            contact: None,
            contact_block: true,
            deal: None,
            head: Vec::new(),
            tail: Vec::new(),
        }
    }

    /// The decoded pairs in the order ActiveCampaign sends them.
    pub(crate) fn pairs(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = vec![
            kv("type", self.kind),
            kv("date_time", clock::iso(self.time)),
            kv("initiated_from", self.source),
            kv("initiated_by", self.source),
            kv("list", self.list.to_string()),
        ];
        out.extend(self.head.iter().cloned());
        if let (true, Some(c)) = (self.contact_block, &self.contact) {
            contact_block(&mut out, c);
        }
        if let Some(d) = &self.deal {
            deal_block(&mut out, d, self.contact.as_ref());
        }
        out.extend(self.tail.iter().cloned());
        out
    }

    /// The raw body, percent-encoded (`contact%5Bid%5D=5`, `+` for spaces).
    pub(crate) fn body(&self) -> String {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.pairs() {
            ser.append_pair(&k, &v);
        }
        ser.finish()
    }
}

/// A key-value pair.
pub(crate) fn kv(k: impl Into<String>, v: impl Into<String>) -> (String, String) {
    (k.into(), v.into())
}

/// Names of the contact's tags joined with ", ", in tag-id order.
pub(crate) fn tag_names(c: &Contact) -> String {
    c.tags
        .keys()
        .filter_map(|id| catalog::tag_by_id(*id))
        .map(|t| t.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn contact_block(out: &mut Vec<(String, String)>, c: &Contact) {
    out.push(kv("contact[id]", c.id.to_string()));
    out.push(kv("contact[email]", &c.email));
    out.push(kv("contact[first_name]", &c.first_name));
    out.push(kv("contact[last_name]", &c.last_name));
    out.push(kv("contact[phone]", &c.phone));
    out.push(kv("contact[ip]", &c.ip));
    out.push(kv("contact[tags]", tag_names(c)));
    // Every field is sent, empty when unset, so that a cleared value reaches the mirror.
    for f in FIELDS {
        let value = c.fields.get(&f.id).map(|v| v.value.as_str()).unwrap_or("");
        out.push(kv(format!("contact[fields][{}]", f.id), value));
    }
    out.push(kv("contact[customer_acct_name]", ""));
    out.push(kv("contact[orgname]", ""));
    out.push(kv("customer_acct_name", ""));
    out.push(kv("customer_acct_id", "0"));
    out.push(kv("orgname", ""));
}

fn deal_block(out: &mut Vec<(String, String)>, d: &Deal, contact: Option<&Contact>) {
    let (pipeline_title, stage_title) = catalog::stage(d.stage)
        .map(|(p, s)| (p.title, s))
        .unwrap_or(("", ""));
    let owner = catalog::user(d.owner);
    let field = |f: fn(&Contact) -> &str| contact.map(f).unwrap_or("").to_string();
    out.extend([
        kv("deal[id]", d.id.to_string()),
        kv("deal[title]", &d.title),
        kv("deal[create_date]", clock::wall(d.cdate)),
        kv("deal[create_date_iso]", clock::iso(d.cdate)),
        kv("deal[orgid]", d.account.to_string()),
        kv("deal[orgname]", ""),
        kv("deal[stageid]", d.stage.to_string()),
        kv("deal[stage_title]", stage_title),
        kv("deal[pipelineid]", d.pipeline.to_string()),
        kv("deal[pipeline_title]", pipeline_title),
        kv("deal[value]", money_display(d.value_cents)),
        kv("deal[value_raw]", money_raw(d.value_cents)),
        kv("deal[currency]", &d.currency),
        kv("deal[currency_symbol]", currency_symbol(&d.currency)),
        kv("deal[owner]", d.owner.to_string()),
        kv(
            "deal[owner_firstname]",
            owner.map(|u| u.first_name).unwrap_or(""),
        ),
        kv(
            "deal[owner_lastname]",
            owner.map(|u| u.last_name).unwrap_or(""),
        ),
        kv("deal[contactid]", d.contact.to_string()),
        kv("deal[contact_email]", field(|c| &c.email)),
        kv("deal[contact_firstname]", field(|c| &c.first_name)),
        kv("deal[contact_lastname]", field(|c| &c.last_name)),
        kv("deal[status]", d.status.to_string()),
    ]);
    // Every custom field is sent, empty when unset, so that a cleared value reaches the mirror.
    for (n, f) in DEAL_FIELDS.iter().enumerate() {
        let value = d.fields.get(&f.id).map_or("", String::as_str);
        out.push(kv(format!("deal[fields][{n}][id]"), f.id.to_string()));
        out.push(kv(format!("deal[fields][{n}][key]"), f.label));
        out.push(kv(format!("deal[fields][{n}][value]"), value));
    }
}

/// `deal[value]`: a display string with thousands separators, `1,044,055.00`.
pub(crate) fn money_display(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let units = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped}.{:02}", cents % 100)
}

/// `deal[value_raw]`: major units without trailing zeros, `100`, `100.5`, `0.05`.
pub(crate) fn money_raw(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let (units, frac) = (cents / 100, cents % 100);
    match frac {
        0 => format!("{sign}{units}"),
        f if f % 10 == 0 => format!("{sign}{units}.{}", f / 10),
        f => format!("{sign}{units}.{f:02}"),
    }
}

fn currency_symbol(code: &str) -> &'static str {
    match code {
        "usd" => "$",
        "eur" => "€",
        "gbp" => "£",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_formatted_like_activecampaign() {
        assert_eq!(money_display(104_405_500), "1,044,055.00");
        assert_eq!(money_display(10_000), "100.00");
        assert_eq!(money_display(5), "0.05");
        assert_eq!(money_raw(10_050), "100.5");
        assert_eq!(money_raw(10_000), "100");
        assert_eq!(money_raw(10_005), "100.05");
        assert_eq!(money_raw(104_405_500), "1044055");
    }

    #[test]
    fn bodies_percent_encode_brackets_and_use_plus_for_spaces() {
        let mut e = Event::new("contact_tag_added", 1_784_343_685, "admin");
        e.tail.push(kv("tag", "[KRC] Registered for Challenge"));
        let body = e.body();
        assert!(body.starts_with("type=contact_tag_added&date_time=2026-07-17T22%3A01%3A25-05%3A00&initiated_from=admin&initiated_by=admin&list=0"), "{body}");
        assert!(
            body.ends_with("&tag=%5BKRC%5D+Registered+for+Challenge"),
            "{body}"
        );
    }
}

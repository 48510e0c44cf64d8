//! Deterministic base records: every contact and deal that the change driver has not touched
//! is a pure function of `(seed, id)`, so an account of a million contacts costs nothing until
//! it is read, and two simulators with the same seed hold the same account.

use std::collections::BTreeMap;

use super::catalog::{
    self, CrmFieldDef, FieldKind, ACCOUNT_FIELDS, ACCOUNT_NAMES, DEAL_FIELDS, FIELDS, FIRST_NAMES,
    JOB_TITLES, LAST_NAMES, LISTS, PIPELINES, PRODUCTS,
};
use super::clock;
use super::model::{
    assoc, Campaign, Company, CompanyLink, Contact, Deal, FieldValue, ListSub, Message,
};

/// How far back base records were created.
pub(crate) const HISTORY_SECS: i64 = 2 * 365 * 24 * 3600;

/// A small, fast, portable generator (SplitMix64) seeded from `(seed, id, salt)`.
pub(crate) struct Mix(u64);

impl Mix {
    /// A generator for one aspect (`salt`) of one record.
    pub(crate) fn new(seed: u64, id: i64, salt: u64) -> Self {
        let mut m = Mix(seed ^ salt.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        let first = m.next_u64();
        Mix(first ^ (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// True with probability `percent`/100.
    pub(crate) fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One item of a non-empty slice.
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The creation time of base contact or deal `id` out of `initial`: ids were assigned in
/// creation order, so creation times grow with the id over the two years before `anchor`.
pub(crate) fn base_cdate(id: i64, initial: i64, anchor: i64) -> i64 {
    let start = anchor - HISTORY_SECS;
    start + ((id as i128 * HISTORY_SECS as i128) / (initial as i128 + 1)) as i64
}

/// The last-update time of a base record, between its creation and `anchor`. Kept separate
/// from full generation so that date filters can scan many ids cheaply.
pub(crate) fn base_udate(seed: u64, id: i64, cdate: i64, anchor: i64) -> i64 {
    let span = (anchor - cdate).max(0) as u64;
    cdate + Mix::new(seed, id, 2).below(span + 1) as i64
}

/// Base contact `id`, created at `cdate`; `anchor` bounds its update time.
pub(crate) fn contact(seed: u64, id: i64, cdate: i64, anchor: i64) -> Contact {
    let mut m = Mix::new(seed, id, 1);
    let udate = base_udate(seed, id, cdate, anchor);
    let first_name = if m.percent(5) {
        ""
    } else {
        m.pick(FIRST_NAMES)
    }
    .to_string();
    let last_name = if m.percent(10) {
        ""
    } else {
        m.pick(LAST_NAMES)
    }
    .to_string();
    let phone = if m.percent(40) {
        String::new()
    } else {
        format!("+1 555-01{:02}-{:04}", id % 100, m.below(10_000))
    };
    let ip = if m.percent(70) {
        "0.0.0.0".to_string()
    } else {
        format!("203.0.113.{}", 1 + m.below(254))
    };
    let mut c = Contact {
        id,
        email: email_for(&first_name, &last_name, id),
        first_name,
        last_name,
        phone,
        ip,
        cdate,
        udate,
        touched: udate,
        tags: BTreeMap::new(),
        fields: BTreeMap::new(),
        lists: BTreeMap::new(),
    };
    fill_associations(&mut c, &mut m);
    c
}

fn fill_associations(c: &mut Contact, m: &mut Mix) {
    let span = (c.udate - c.cdate).max(0) as u64;
    for tag in catalog::contact_tag_ids() {
        if m.percent(22) {
            c.tags.insert(tag, c.cdate + m.below(span + 1) as i64);
        }
    }
    for field in FIELDS {
        if m.percent(50) {
            let t = c.cdate + m.below(span + 1) as i64;
            let value = field_value(field.kind, m, t);
            c.fields.insert(
                field.id,
                FieldValue {
                    value,
                    cdate: c.cdate,
                    udate: t,
                },
            );
        }
    }
    for list in LISTS {
        let chance = if list.id == 1 { 80 } else { 30 };
        if m.percent(chance) {
            c.lists.insert(list.id, base_membership(c, m));
        }
    }
}

fn base_membership(c: &Contact, m: &mut Mix) -> ListSub {
    let status = match m.below(20) {
        0..=15 => 1,
        16 | 17 => 2,
        18 => 0,
        _ => 3,
    };
    let unsub_date = (status == 2).then_some(c.udate);
    let reason = match status == 2 && m.percent(50) {
        true => m.pick(UNSUBSCRIBE_REASONS).to_string(),
        false => String::new(),
    };
    ListSub {
        status,
        sdate: c.cdate,
        updated: if status == 2 { c.udate } else { c.cdate },
        unsub_date,
        reason,
    }
}

/// What contacts say when they unsubscribe through a form that asks.
pub(crate) const UNSUBSCRIBE_REASONS: &[&str] = &[
    "Too many emails",
    "No longer interested",
    "I never signed up",
];

/// A plausible value of a custom field at time `t`.
pub(crate) fn field_value(kind: FieldKind, m: &mut Mix, t: i64) -> String {
    match kind {
        FieldKind::Text(words) => m.pick(words).to_string(),
        FieldKind::Date => clock::date(t - 86_400 * (6_000 + m.below(12_000) as i64)),
        FieldKind::DateTime => clock::iso(t - 3_600 * m.below(2_000) as i64),
        FieldKind::Single(options) => m.pick(options).to_string(),
        FieldKind::Multi(options) => {
            let chosen: Vec<&str> = options.iter().copied().filter(|_| m.percent(50)).collect();
            let chosen = if chosen.is_empty() {
                vec![options[0]]
            } else {
                chosen
            };
            format!("||{}||", chosen.join("||"))
        }
    }
}

/// A unique, valid email address built from the name.
pub(crate) fn email_for(first: &str, last: &str, id: i64) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let (f, l) = (clean(first), clean(last));
    match (f.is_empty(), l.is_empty()) {
        (true, true) => format!("contact{id}@example.com"),
        (false, true) => format!("{f}{id}@example.com"),
        (true, false) => format!("{l}{id}@example.org"),
        (false, false) => format!("{f}.{l}{id}@example.com"),
    }
}

/// What base deal generation needs to know about the account.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DealShape {
    /// Contacts that existed at the start; deals point at them.
    pub contacts: i64,
    /// Deals that existed at the start.
    pub deals: i64,
    /// How many of those sit in the restricted pipeline.
    pub restricted: i64,
}

impl DealShape {
    /// Accounts (organisations) that existed at the start: one per 40 contacts, at least 3.
    pub(crate) fn companies(&self) -> i64 {
        (self.contacts / 40).max(3)
    }

    /// Whether base deal `id` sits in the restricted pipeline: `restricted` deals spread evenly.
    pub(crate) fn is_restricted(&self, id: i64) -> bool {
        if self.restricted <= 0 || id > self.deals {
            return false;
        }
        let stride = (self.deals / self.restricted).max(1);
        id % stride == 0 && id / stride <= self.restricted
    }
}

/// Base deal `id`.
pub(crate) fn deal(seed: u64, id: i64, shape: DealShape, anchor: i64) -> Deal {
    let mut m = Mix::new(seed, id, 3);
    let (cdate, mdate) = base_deal_times(seed, id, shape, anchor);
    let (value_cents, currency) = base_deal_money(seed, id);
    let pipeline = if shape.is_restricted(id) {
        &PIPELINES[2]
    } else if m.percent(70) {
        &PIPELINES[0]
    } else {
        &PIPELINES[1]
    };
    let stage = m.pick(pipeline.stages).0;
    let status = match m.below(20) {
        0..=14 => 0,
        15..=17 => 1,
        _ => 2,
    };
    Deal {
        id,
        title: deal_title(&mut m),
        value_cents,
        currency: currency.to_string(),
        pipeline: pipeline.id,
        stage,
        owner: 1 + m.below(catalog::USERS.len() as u64) as i64,
        contact: if shape.contacts > 0 {
            1 + m.below(shape.contacts as u64) as i64
        } else {
            0
        },
        status,
        cdate,
        mdate,
        account: 0,
        fields: BTreeMap::new(),
        secondary: BTreeMap::new(),
    }
    .with_crm(seed, shape, mdate)
}

impl Deal {
    /// The base deal's account, custom field values and secondary contacts, drawn apart from
    /// the rest so that they leave the other columns as they were.
    fn with_crm(mut self, seed: u64, shape: DealShape, t: i64) -> Self {
        let mut m = Mix::new(seed, self.id, 13);
        if m.percent(50) {
            self.account = 1 + m.below(shape.companies() as u64) as i64;
        }
        for f in DEAL_FIELDS {
            if m.percent(60) {
                self.fields.insert(f.id, crm_field_value(f, &mut m, t));
            }
        }
        let extra = match m.below(20) {
            0..=3 => 1,
            4 => 2,
            _ => 0,
        };
        for slot in 0..extra {
            if shape.contacts > 0 {
                let contact = 1 + m.below(shape.contacts as u64) as i64;
                let role = m.percent(50).then(|| 1 + m.below(3) as i64);
                self.secondary
                    .insert(assoc::deal_contact(self.id, slot), (contact, role));
            }
        }
        self
    }
}

/// A plausible value of a deal or account custom field at time `t`.
pub(crate) fn crm_field_value(f: &CrmFieldDef, m: &mut Mix, t: i64) -> String {
    match f.field_type {
        "date" => clock::date(t + 86_400 * m.below(120) as i64),
        "dropdown" => m.pick(f.options).to_string(),
        "multiselect" => {
            let chosen: Vec<&str> = f
                .options
                .iter()
                .copied()
                .filter(|_| m.percent(50))
                .collect();
            let chosen = if chosen.is_empty() {
                vec![f.options[0]]
            } else {
                chosen
            };
            format!("||{}||", chosen.join("||"))
        }
        "number" => (1 + m.below(5_000)).to_string(),
        _ => format!("Call back about the {} plan", m.pick(PRODUCTS)),
    }
}

/// Base account `id` of `n`, created over the history before `anchor`.
pub(crate) fn company(seed: u64, id: i64, n: i64, anchor: i64) -> Company {
    let mut m = Mix::new(seed, id, 14);
    let cdate = base_cdate(id, n, anchor);
    let udate = base_udate(seed, id, cdate, anchor);
    let name = ACCOUNT_NAMES[(id as usize - 1) % ACCOUNT_NAMES.len()];
    let name = match (id as usize - 1) / ACCOUNT_NAMES.len() {
        0 => name.to_string(),
        k => format!("{name} {}", k + 1),
    };
    let url = if m.percent(70) {
        format!(
            "https://www.{}.example",
            name.to_lowercase().replace([' ', '&'], "")
        )
    } else {
        String::new()
    };
    let mut fields = BTreeMap::new();
    for f in ACCOUNT_FIELDS {
        if m.percent(70) {
            fields.insert(f.id, crm_field_value(f, &mut m, udate));
        }
    }
    Company {
        id,
        name,
        url,
        owner: 1 + m.below(catalog::USERS.len() as u64) as i64,
        cdate,
        udate,
        fields,
    }
}

/// The account base contact `id` works at, if any, among `companies` accounts.
pub(crate) fn company_link(seed: u64, id: i64, companies: i64, udate: i64) -> Option<CompanyLink> {
    let mut m = Mix::new(seed, id, 15);
    m.percent(35).then(|| CompanyLink {
        account: 1 + m.below(companies as u64) as i64,
        job_title: m.pick(JOB_TITLES).to_string(),
        udate,
    })
}

/// `(cdate, mdate)` of base deal `id`, cheap enough to scan a large account with.
pub(crate) fn base_deal_times(seed: u64, id: i64, shape: DealShape, anchor: i64) -> (i64, i64) {
    let cdate = base_cdate(id, shape.deals, anchor);
    let span = (anchor - cdate).max(0) as u64;
    (cdate, cdate + Mix::new(seed, id, 4).below(span + 1) as i64)
}

/// `(value in cents, currency)` of base deal `id`, cheap enough for `meta.currencies`.
pub(crate) fn base_deal_money(seed: u64, id: i64) -> (i64, &'static str) {
    let mut m = Mix::new(seed, id, 5);
    let value = deal_value(&mut m);
    (value, if m.percent(85) { "usd" } else { "eur" })
}

/// A deal title such as `Globex - Pro plan`.
pub(crate) fn deal_title(m: &mut Mix) -> String {
    let company = match FIELDS[0].kind {
        FieldKind::Text(words) => m.pick(words),
        _ => "Acme Corp",
    };
    format!("{company} - {}", m.pick(PRODUCTS))
}

/// A deal value in cents: mostly whole amounts, some with cents, a few above a million.
pub(crate) fn deal_value(m: &mut Mix) -> i64 {
    match m.below(10) {
        0 => 0,
        1..=5 => (1 + m.below(500) as i64) * 10_000,
        6..=8 => 100 + m.below(5_000_000) as i64,
        _ => 100_000_000 + m.below(10_000_000_000) as i64,
    }
}

/// Contacts per campaign: an account has one campaign per this many contacts, and at least
/// [`MIN_CAMPAIGNS`].
pub(crate) const CONTACTS_PER_CAMPAIGN: i64 = 2_000;
/// The fewest campaigns an account has.
pub(crate) const MIN_CAMPAIGNS: i64 = 3;

const CAMPAIGN_THEMES: &[&str] = &[
    "Monthly newsletter",
    "Spring sale",
    "Product update",
    "Webinar invitation",
    "Welcome series",
    "Customer stories",
];

/// The message id of campaign `id` (a range of its own, so that the two are not confused).
pub(crate) fn message_id_of(campaign: i64) -> i64 {
    campaign + 500
}

/// The account's campaigns and their messages, created over the history before `anchor`.
/// Campaign 1 is always sent and the last one a draft; of the rest, about two in three are
/// sent.
pub(crate) fn campaigns(seed: u64, contacts: i64, anchor: i64) -> Vec<(Campaign, Message)> {
    let n = (contacts / CONTACTS_PER_CAMPAIGN).max(MIN_CAMPAIGNS);
    (1..=n)
        .map(|id| {
            let mut m = Mix::new(seed, id, 31);
            let cdate = base_cdate(id, n, anchor) - 3 * 24 * 3_600;
            let sent = id == 1 || (id < n && m.percent(67));
            let kind = m.pick(&["single", "single", "recurring", "split"]);
            let theme = m.pick(CAMPAIGN_THEMES);
            let name = format!("{theme} #{id}");
            let sdate = sent.then(|| cdate + 24 * 3_600 + m.below(3_600) as i64);
            let ldate = sdate.map(|s| match kind {
                "recurring" => s + 24 * 3_600,
                _ => s,
            });
            let campaign = Campaign {
                id,
                name: name.clone(),
                kind,
                status: if sent { 5 } else { 0 },
                message: message_id_of(id),
                sdate,
                ldate,
                send_amt: if sent { 50 + m.below(5_000) as i64 } else { 0 },
                cdate,
                mdate: ldate.unwrap_or(cdate),
            };
            let message = Message {
                id: message_id_of(id),
                name: String::new(),
                subject: format!("{theme}: what is new for %FIRSTNAME%"),
                from_name: "Acme Team".to_string(),
                from_email: "news@example.com".to_string(),
                cdate,
                mdate: cdate,
            };
            (campaign, message)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_and_id_give_the_same_records() {
        let shape = DealShape {
            contacts: 100,
            deals: 50,
            restricted: 3,
        };
        assert_eq!(
            contact(7, 42, 1_000, 9_999_999),
            contact(7, 42, 1_000, 9_999_999)
        );
        assert_eq!(deal(7, 9, shape, 99_999_999), deal(7, 9, shape, 99_999_999));
        assert_ne!(
            contact(7, 42, 1_000, 9_999_999),
            contact(8, 42, 1_000, 9_999_999)
        );
    }

    #[test]
    fn restricted_deals_number_exactly_as_configured() {
        let shape = DealShape {
            contacts: 10,
            deals: 100,
            restricted: 3,
        };
        let n = (1..=100).filter(|&id| shape.is_restricted(id)).count();
        assert_eq!(n, 3);
        let none = DealShape {
            restricted: 0,
            ..shape
        };
        assert!((1..=100).all(|id| !none.is_restricted(id)));
    }

    #[test]
    fn base_update_times_stay_between_creation_and_anchor() {
        for id in 1..200 {
            let c = base_cdate(id, 200, 2_000_000_000);
            let u = base_udate(3, id, c, 2_000_000_000);
            assert!(c <= u && u <= 2_000_000_000);
        }
    }

    #[test]
    fn multi_value_fields_are_wrapped_in_double_pipes() {
        let mut m = Mix::new(1, 1, 1);
        let v = field_value(FieldKind::Multi(&["A", "B"]), &mut m, 0);
        assert!(
            v.starts_with("||") && v.ends_with("||") && v.len() > 4,
            "{v}"
        );
    }
}

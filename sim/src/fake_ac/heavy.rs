//! A heavy account (`Realism::heavy`): ~200 custom fields, some of them long textareas, and
//! ~50 tags per contact, so that a page of 100 contacts with sideloads weighs several MB.
//!
//! The extra fields and tags extend the fixed catalog; their values are generated on demand
//! from `(seed, id)` like the rest of a base contact, with their own random streams so that
//! the base part of every contact is the same as in a light account.

use std::sync::LazyLock;

use super::catalog::{FieldDef, FieldKind, TagDef};
use super::generate::Mix;
use super::model::{Contact, FieldValue};

/// Ids of the extra custom fields: with the 8 base fields, 200 in all.
pub(crate) const EXTRA_FIELDS: std::ops::RangeInclusive<i64> = 9..=200;
/// Ids of the extra contact tags: with the 10 base contact tags, 60 in all.
pub(crate) const EXTRA_TAGS: std::ops::RangeInclusive<i64> = 12..=61;
/// Longest textarea value when [`super::Realism::heavy_textarea_bytes`] is 0: 60 KB. Values run
/// from a third of the longest up to it (20-60 KB by default).
pub(crate) const DEFAULT_TEXTAREA_BYTES: usize = 60 * 1024;
/// Percentage of contacts that carry long textarea values.
const LONG_TEXT_PERCENT: u64 = 10;
/// Every this-many-th extra field is a textarea.
const TEXTAREA_EVERY: i64 = 16;

const WORDS: &[&str] = &[
    "renewal",
    "call",
    "pricing",
    "onboarding",
    "quarterly",
    "review",
    "budget",
    "Zürich",
    "follow-up",
    "demo",
    "invoice",
    "contract",
    "support",
    "ticket",
    "escalation",
    "café",
];

static FIELDS: LazyLock<Vec<FieldDef>> = LazyLock::new(|| {
    EXTRA_FIELDS
        .map(|id| {
            let textarea = is_textarea(id);
            FieldDef {
                id,
                // Built once per process and kept for its lifetime, like the fixed catalog.
                title: String::leak(format!("Extra field {id}")),
                perstag: String::leak(format!("EXTRA_FIELD_{id}")),
                field_type: if textarea { "textarea" } else { "text" },
                kind: FieldKind::Text(WORDS),
            }
        })
        .collect()
});

static TAGS: LazyLock<Vec<TagDef>> = LazyLock::new(|| {
    EXTRA_TAGS
        .map(|id| TagDef {
            id,
            name: String::leak(format!("segment-{id:02}")),
            tag_type: "contact",
            cdate: "2024-03-11T10:15:02-05:00",
        })
        .collect()
});

fn is_textarea(id: i64) -> bool {
    id % TEXTAREA_EVERY == 0
}

/// The extra custom fields.
pub(crate) fn fields() -> &'static [FieldDef] {
    &FIELDS
}

/// The extra contact tags.
pub(crate) fn tags() -> &'static [TagDef] {
    &TAGS
}

/// Adds the extra tags (~5 in 6 of them) to a base contact; times within its lifetime.
pub(crate) fn add_tags(c: &mut Contact, seed: u64) {
    let mut m = Mix::new(seed, c.id, 11);
    let span = (c.udate - c.cdate).max(0) as u64;
    for tag in EXTRA_TAGS {
        if m.percent(83) {
            c.tags.insert(tag, c.cdate + m.below(span + 1) as i64);
        }
    }
}

/// Adds the extra field values to a base contact: every field set, one in ten contacts with
/// long textarea values of up to `textarea_bytes` bytes (0 for the default).
pub(crate) fn add_fields(c: &mut Contact, seed: u64, textarea_bytes: usize) {
    let mut m = Mix::new(seed, c.id, 12);
    let longest = match textarea_bytes {
        0 => DEFAULT_TEXTAREA_BYTES,
        n => n,
    };
    let long_text = m.percent(LONG_TEXT_PERCENT);
    let span = (c.udate - c.cdate).max(0) as u64;
    for id in EXTRA_FIELDS {
        let t = c.cdate + m.below(span + 1) as i64;
        let value = if is_textarea(id) && long_text {
            let len = longest / 3 + m.below((longest - longest / 3) as u64 + 1) as usize;
            text_of(&mut m, len)
        } else {
            m.pick(WORDS).to_string()
        };
        c.fields.insert(
            id,
            FieldValue {
                value,
                cdate: c.cdate,
                udate: t,
            },
        );
    }
}

/// Words and line breaks up to `len` bytes (never cutting a character).
fn text_of(m: &mut Mix, len: usize) -> String {
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        let word = m.pick(WORDS);
        if out.len() + word.len() + 1 > len {
            break;
        }
        out.push_str(word);
        out.push(if m.percent(8) { '\n' } else { ' ' });
    }
    while out.len() < len {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_ac::generate;

    #[test]
    fn a_heavy_contact_has_about_fifty_tags_and_two_hundred_fields() {
        let mut c = generate::contact(3, 7, 1_000_000, 2_000_000);
        add_tags(&mut c, 3);
        add_fields(&mut c, 3, 0);
        assert!((40..=61).contains(&c.tags.len()), "{} tags", c.tags.len());
        assert!(c.fields.len() >= 192, "{} fields", c.fields.len());
    }

    #[test]
    fn long_textarea_values_stay_within_the_configured_size() {
        let mut longest = 0;
        for id in 1..200 {
            let mut c = generate::contact(5, id, 1_000_000, 2_000_000);
            add_fields(&mut c, 5, 2_000);
            for v in c.fields.values() {
                assert!(v.value.len() <= 2_000);
                longest = longest.max(v.value.len());
            }
        }
        assert!(longest > 666, "some contacts carry long values: {longest}");
    }
}

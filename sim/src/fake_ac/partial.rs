//! Partial webhook bodies ([`Realism::partial_webhooks`](super::Realism)): the shapes the real
//! service may send that the full-block format never shows.
//!
//! - Reporting events (`open`, `click`, `bounce`, `sms_*` …) leave some contact keys out
//!   (phone, names, tags, custom fields): absent, not empty.
//! - Some deliveries key custom fields by personalisation tag in lower case
//!   (`contact[fields][utm_source]`), as automation webhooks do, instead of by numeric id.
//!
//! Only the wire changes: the account, and so the truth, is what it was.

use rand::rngs::StdRng;
use rand::Rng;

use super::catalog::FIELDS;

/// Events whose contact block may leave keys out. They report something the contact did;
/// none of them carries a change to the keys left out.
const SPARSE_KINDS: &[&str] = &[
    "bounce",
    "click",
    "open",
    "sent",
    "forward",
    "share",
    "reply",
    "sms_reply",
    "sms_sent",
    "sms_unsub",
];

/// Contact keys a sparse block may leave out (custom fields go as a group).
const OPTIONAL_KEYS: &[&str] = &[
    "contact[phone]",
    "contact[first_name]",
    "contact[last_name]",
    "contact[tags]",
];

/// Share of sparse-kind deliveries that leave keys out.
const SPARSE_SHARE: f64 = 0.6;
/// Share of deliveries with custom fields that key them by personalisation tag.
const TAGGED_SHARE: f64 = 0.25;

/// Reshapes an encoded body of event `kind`; returns it unchanged when the draw says so.
pub(crate) fn reshape(kind: &str, body: &str, rng: &mut StdRng) -> String {
    let sparse = SPARSE_KINDS.contains(&kind) && rng.gen_bool(SPARSE_SHARE);
    let tagged = rng.gen_bool(TAGGED_SHARE);
    if !sparse && !tagged {
        return body.to_owned();
    }
    // One draw per optional key (and one for the custom fields as a group).
    let drop: Vec<bool> = (0..=OPTIONAL_KEYS.len())
        .map(|_| sparse && rng.gen_bool(0.5))
        .collect();
    let drop_fields = drop[OPTIONAL_KEYS.len()];
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(body.as_bytes()) {
        if let Some(i) = OPTIONAL_KEYS.iter().position(|k| *k == key) {
            if drop[i] {
                continue;
            }
        }
        match field_id(&key) {
            Some(_) if drop_fields => continue,
            Some(id) if tagged => match FIELDS.iter().find(|f| f.id == id) {
                Some(f) => {
                    let key = format!("contact[fields][{}]", f.perstag.to_lowercase());
                    out.append_pair(&key, &value);
                }
                None => {
                    out.append_pair(&key, &value);
                }
            },
            _ => {
                out.append_pair(&key, &value);
            }
        }
    }
    out.finish()
}

/// The field id of a `contact[fields][N]` key.
fn field_id(key: &str) -> Option<i64> {
    key.strip_prefix("contact[fields][")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn body() -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("type", "open"),
            ("contact[id]", "5"),
            ("contact[email]", "a@b.c"),
            ("contact[phone]", "+1 555"),
            ("contact[first_name]", "Ann"),
            ("contact[last_name]", "Lee"),
            ("contact[tags]", "vip"),
            ("contact[fields][1]", "Acme"),
            ("contact[fields][7]", "ads"),
        ] {
            s.append_pair(k, v);
        }
        s.finish()
    }

    fn keys(body: &str) -> Vec<String> {
        form_urlencoded::parse(body.as_bytes())
            .map(|(k, _)| k.into_owned())
            .collect()
    }

    #[test]
    fn reshaped_bodies_drop_optional_keys_or_key_fields_by_tag_and_keep_the_rest() {
        let mut rng = StdRng::seed_from_u64(3);
        let (mut dropped, mut tagged) = (0, 0);
        for _ in 0..200 {
            let out = keys(&reshape("open", &body(), &mut rng));
            for needed in ["type", "contact[id]", "contact[email]"] {
                assert!(out.iter().any(|k| k == needed), "{needed} kept: {out:?}");
            }
            if out.len() < keys(&body()).len() {
                dropped += 1;
            }
            if out.iter().any(|k| k == "contact[fields][company]") {
                tagged += 1;
                assert!(!out.iter().any(|k| k == "contact[fields][1]"));
            }
        }
        assert!(
            dropped > 40 && tagged > 20,
            "{dropped} sparse, {tagged} tagged"
        );
    }

    #[test]
    fn change_events_keep_every_key() {
        let mut rng = StdRng::seed_from_u64(4);
        let update = body().replace("type=open", "type=update");
        for _ in 0..100 {
            let out = reshape("update", &update, &mut rng);
            assert_eq!(keys(&out).len(), keys(&update).len(), "{out}");
        }
    }
}

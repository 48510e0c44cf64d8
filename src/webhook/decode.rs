//! Lossless decoding of ActiveCampaign's `application/x-www-form-urlencoded` bodies.
//!
//! Keys use PHP's bracket syntax (`contact[fields][39]`, `deal[fields][0][key]`,
//! `list[][id]`). Frameworks that build arrays from numeric segments lose the ids that
//! ActiveCampaign sends as keys, so the body is decoded from raw pairs into a tree in which
//! every segment stays a map key. A node may carry a value and children at once, because
//! `list_add` sends a scalar `list` beside `list[id]`.

use std::collections::BTreeMap;

/// Limits that keep a hostile body from costing much.
pub const MAX_PAIRS: usize = 20_000;
/// Deepest bracket nesting accepted.
pub const MAX_DEPTH: usize = 32;

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The percent-decoded bytes are not UTF-8.
    #[error("the body is not UTF-8 after percent-decoding (key or value near {0:?})")]
    NotUtf8(String),
    /// More pairs than [`MAX_PAIRS`].
    #[error("the body has more than {MAX_PAIRS} fields")]
    TooManyPairs,
    /// Deeper nesting than [`MAX_DEPTH`].
    #[error("the key {0:?} is nested deeper than {MAX_DEPTH} levels")]
    TooDeep(String),
}

/// One node of the decoded tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// The value given to this exact key, if any (the last one wins, as in PHP).
    pub value: Option<String>,
    /// Children by segment name; numeric names stay names.
    pub children: BTreeMap<String, Node>,
}

impl Node {
    /// The node at `path` below this one.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter()
            .try_fold(self, |node, seg| node.children.get(*seg))
    }

    /// The value at `path` below this one.
    pub fn get(&self, path: &[&str]) -> Option<&str> {
        self.at(path).and_then(|n| n.value.as_deref())
    }

    fn insert(&mut self, segments: &[&str], value: String) {
        let mut node = self;
        for seg in segments {
            node = if seg.is_empty() {
                // `[]` appends, as PHP does: the next free integer key.
                let key = next_index(&node.children);
                node.children.entry(key).or_default()
            } else if node.children.contains_key(*seg) {
                node.children.get_mut(*seg).expect("present")
            } else {
                node.children.entry((*seg).to_owned()).or_default()
            };
        }
        node.value = Some(value);
    }
}

fn next_index(children: &BTreeMap<String, Node>) -> String {
    let next = children
        .keys()
        .filter_map(|k| k.parse::<u64>().ok())
        .max()
        .map_or(0, |m| m.saturating_add(1));
    next.to_string()
}

/// A decoded body: the ordered raw pairs and the tree built from them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormBody {
    /// Every pair in the order sent, percent-decoded.
    pub pairs: Vec<(String, String)>,
    /// The bracket-key tree.
    pub root: Node,
}

impl FormBody {
    /// The value at a path such as `["contact", "email"]`.
    pub fn get(&self, path: &[&str]) -> Option<&str> {
        self.root.get(path)
    }

    /// The node at a path.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        self.root.at(path)
    }
}

/// Decodes a raw body. Never panics, whatever the bytes.
pub fn decode(body: &[u8]) -> Result<FormBody, DecodeError> {
    let mut out = FormBody::default();
    let mut body_has_replacement: Option<bool> = None;
    for (raw_key, raw_value) in form_urlencoded::parse(body) {
        if out.pairs.len() >= MAX_PAIRS {
            return Err(DecodeError::TooManyPairs);
        }
        // form_urlencoded replaces invalid UTF-8 with U+FFFD; the raw body is kept verbatim in
        // the store, so a lossy decode is reported rather than silently applied.
        if (raw_key.contains('\u{FFFD}') || raw_value.contains('\u{FFFD}'))
            && !*body_has_replacement.get_or_insert_with(|| raw_body_has_replacement_char(body))
        {
            return Err(DecodeError::NotUtf8(truncate(&raw_key, 40)));
        }
        let key = raw_key.into_owned();
        let value = raw_value.into_owned();
        let segments = split_key(&key);
        if segments.len() > MAX_DEPTH {
            return Err(DecodeError::TooDeep(truncate(&key, 60)));
        }
        out.root.insert(&segments, value.clone());
        out.pairs.push((key, value));
    }
    Ok(out)
}

/// True when the body itself legitimately carries U+FFFD (percent-encoded or raw), in which
/// case a replacement character after decoding is not evidence of invalid UTF-8.
fn raw_body_has_replacement_char(body: &[u8]) -> bool {
    const RAW: &[u8] = "\u{FFFD}".as_bytes();
    let upper = body.to_ascii_uppercase();
    upper.windows(9).any(|w| w == b"%EF%BF%BD") || body.windows(RAW.len()).any(|w| w == RAW)
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Splits `a[b][c]` into `["a", "b", "c"]`. A key whose brackets do not balance is one
/// segment, verbatim, as PHP treats the part after a stray bracket.
pub fn split_key(key: &str) -> Vec<&str> {
    let Some(open) = key.find('[') else {
        return vec![key];
    };
    if open == 0 {
        return vec![key];
    }
    let mut segments = vec![&key[..open]];
    let mut rest = &key[open..];
    while let Some(after_open) = rest.strip_prefix('[') {
        let Some(close) = after_open.find(']') else {
            return vec![key];
        };
        segments.push(&after_open[..close]);
        rest = &after_open[close + 1..];
    }
    if !rest.is_empty() {
        // Trailing text after the last bracket: PHP drops it; keeping the whole key verbatim
        // is lossless and still findable in `pairs`.
        return vec![key];
    }
    segments
}

/// Encodes pairs the way ActiveCampaign does (brackets percent-encoded, spaces as `+`).
pub fn encode(pairs: &[(String, String)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CAPTURED: &str = "type=contact_tag_added&date_time=2026-07-17T22%3A01%3A25-05%3A00&initiated_from=admin&initiated_by=admin&list=0&contact%5Bid%5D=123456&contact%5Bemail%5D=robert%40example.com&contact%5Bfirst_name%5D=Robert&contact%5Blast_name%5D=&contact%5Bphone%5D=%2B1+555-010-1234&contact%5Bip%5D=127.0.0.1&contact%5Btags%5D=%5BKRC%5D+Registered+for+Challenge%2C+%5BKRC%5D+Registered+-+07%2F20%2F26%2C+%5BKRC%5D+RFC+START+-+07%2F20%2F26&contact%5Bfields%5D%5B39%5D=11111111-2222-4333-8444-555555555555&tag=%5BKRC%5D+Registered+for+Challenge";

    #[test]
    fn captured_body_decodes_with_numeric_field_ids_as_keys() {
        let body = decode(CAPTURED.as_bytes()).expect("valid body");
        assert_eq!(body.get(&["type"]), Some("contact_tag_added"));
        assert_eq!(body.get(&["date_time"]), Some("2026-07-17T22:01:25-05:00"));
        assert_eq!(body.get(&["contact", "phone"]), Some("+1 555-010-1234"));
        assert_eq!(body.get(&["contact", "last_name"]), Some(""));
        assert_eq!(
            body.get(&["contact", "fields", "39"]),
            Some("11111111-2222-4333-8444-555555555555")
        );
        assert_eq!(body.get(&["tag"]), Some("[KRC] Registered for Challenge"));
        assert_eq!(body.pairs.len(), 14);
    }

    #[test]
    fn scalar_and_object_with_the_same_name_both_survive() {
        let body =
            decode(b"list=0&list%5Bid%5D=4&list%5Bname%5D=Webinar+attendees").expect("valid");
        assert_eq!(body.get(&["list"]), Some("0"));
        assert_eq!(body.get(&["list", "id"]), Some("4"));
        assert_eq!(body.get(&["list", "name"]), Some("Webinar attendees"));
    }

    #[test]
    fn empty_segments_append_like_php() {
        let body = decode(b"list[][id]=1&list[][id]=3").expect("valid");
        assert_eq!(body.get(&["list", "0", "id"]), Some("1"));
        assert_eq!(body.get(&["list", "1", "id"]), Some("3"));
    }

    #[test]
    fn deep_positional_keys_keep_their_indexes() {
        let body =
            decode(b"deal[fields][0][id]=1&deal[fields][0][key]=Close&deal[fields][7][value]=x")
                .expect("valid");
        assert_eq!(body.get(&["deal", "fields", "0", "key"]), Some("Close"));
        assert_eq!(body.get(&["deal", "fields", "7", "value"]), Some("x"));
    }

    #[test]
    fn unbalanced_keys_are_kept_verbatim() {
        assert_eq!(split_key("a[b"), vec!["a[b"]);
        assert_eq!(split_key("a[b]c"), vec!["a[b]c"]);
        assert_eq!(split_key("[x]"), vec!["[x]"]);
        assert_eq!(split_key("a[b][]"), vec!["a", "b", ""]);
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_guess() {
        assert!(matches!(
            decode(b"contact[email]=%FF%FE"),
            Err(DecodeError::NotUtf8(_))
        ));
        assert!(
            decode("note=%EF%BF%BD".as_bytes()).is_ok(),
            "a real U+FFFD is fine"
        );
    }

    #[test]
    fn nesting_and_size_limits_are_errors() {
        let deep = format!("a{}=1", "[x]".repeat(50));
        assert!(matches!(
            decode(deep.as_bytes()),
            Err(DecodeError::TooDeep(_))
        ));
        let many: String = (0..MAX_PAIRS + 1).map(|i| format!("k{i}=v&")).collect();
        assert_eq!(decode(many.as_bytes()), Err(DecodeError::TooManyPairs));
        let ten_thousand: String = (0..10_000)
            .map(|i| format!("contact[fields][{i}]=v&"))
            .collect();
        assert_eq!(
            decode(ten_thousand.as_bytes()).map(|b| b.pairs.len()),
            Ok(10_000)
        );
    }

    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "[0-9]{1,3}",
            "[a-z_]{1,8}",
            "[ -~&=+%]{0,6}".prop_filter("no brackets", |s| !s.contains('[') && !s.contains(']'))
        ]
    }

    proptest! {
        #[test]
        fn any_bytes_decode_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn encoded_pairs_round_trip(pairs in proptest::collection::vec(("[a-z]{1,6}", proptest::collection::vec(segment(), 0..4), ".{0,20}"), 0..20)) {
            let pairs: Vec<(String, String)> = pairs
                .into_iter()
                .map(|(head, segs, value)| {
                    let key = segs.iter().fold(head, |k, s| format!("{k}[{s}]"));
                    (key, value)
                })
                .collect();
            let body = decode(encode(&pairs).as_bytes()).expect("own encoding decodes");
            prop_assert_eq!(&body.pairs, &pairs);
            for (key, value) in pairs.iter().rev() {
                let segs = split_key(key);
                if segs.iter().all(|s| !s.is_empty()) {
                    // The last pair for a key wins; earlier duplicates were overwritten.
                    let last = pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
                    prop_assert_eq!(body.get(&segs), last);
                    let _ = value;
                }
            }
        }
    }
}

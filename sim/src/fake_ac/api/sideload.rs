//! `include=` sideloads: related records as extra top-level arrays, and id arrays on each
//! contact pointing into them.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::render;
use crate::fake_ac::catalog;
use crate::fake_ac::model::Contact;

/// Which related records to sideload. Unknown include names are ignored.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sideloads {
    pub contact_tags: bool,
    pub tags: bool,
    pub field_values: bool,
    pub contact_lists: bool,
}

impl Sideloads {
    /// Reads `include=contactTags.tag,fieldValues,...`.
    pub(crate) fn from_includes(names: &[String]) -> Self {
        let mut s = Sideloads::default();
        for name in names {
            match name.as_str() {
                "contactTags" => s.contact_tags = true,
                "contactTags.tag" => (s.contact_tags, s.tags) = (true, true),
                "fieldValues" => s.field_values = true,
                "contactLists" => s.contact_lists = true,
                _ => {}
            }
        }
        s
    }

    /// Adds every kind `other` asks for.
    pub(crate) fn or(self, other: Sideloads) -> Self {
        Sideloads {
            contact_tags: self.contact_tags || other.contact_tags,
            tags: self.tags || other.tags,
            field_values: self.field_values || other.field_values,
            contact_lists: self.contact_lists || other.contact_lists,
        }
    }
}

/// Renders contacts with their sideloads; the arrays go into `top`.
pub(crate) fn contacts(
    list: &[Contact],
    s: Sideloads,
    base: &str,
    top: &mut Map<String, Value>,
) -> Vec<Value> {
    let (mut tags_rows, mut values_rows, mut lists_rows) = (Vec::new(), Vec::new(), Vec::new());
    let mut tag_ids = BTreeSet::new();
    let mut out = Vec::with_capacity(list.len());
    for c in list {
        let mut v = render::contact(c, base);
        if s.contact_tags {
            let rows: Vec<Value> = c
                .tags
                .iter()
                .map(|(t, at)| render::contact_tag(c.id, *t, *at, base))
                .collect();
            set_ids(&mut v, "contactTags", &rows);
            tags_rows.extend(rows);
            tag_ids.extend(c.tags.keys().copied());
        }
        if s.field_values {
            let rows: Vec<Value> = c
                .fields
                .iter()
                .map(|(f, fv)| render::field_value(c.id, *f, fv, base))
                .collect();
            set_ids(&mut v, "fieldValues", &rows);
            values_rows.extend(rows);
        }
        if s.contact_lists {
            let rows: Vec<Value> = c
                .lists
                .iter()
                .map(|(l, sub)| render::contact_list(c, *l, sub, base))
                .collect();
            set_ids(&mut v, "contactLists", &rows);
            lists_rows.extend(rows);
        }
        out.push(v);
    }
    if s.contact_tags {
        top.insert("contactTags".into(), Value::Array(tags_rows));
    }
    if s.tags {
        let tags = tag_ids
            .iter()
            .filter_map(|id| catalog::tag_by_id(*id))
            .map(|t| render::tag(t, base));
        top.insert("tags".into(), Value::Array(tags.collect()));
    }
    if s.field_values {
        top.insert("fieldValues".into(), Value::Array(values_rows));
    }
    if s.contact_lists {
        top.insert("contactLists".into(), Value::Array(lists_rows));
    }
    out
}

fn set_ids(contact: &mut Value, key: &str, rows: &[Value]) {
    let ids: Vec<Value> = rows.iter().map(|r| r["id"].clone()).collect();
    if let Some(obj) = contact.as_object_mut() {
        obj.insert(key.to_string(), Value::Array(ids));
    }
}

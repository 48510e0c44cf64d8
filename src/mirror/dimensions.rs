//! The small dimension tables: lists, custom fields and their options, pipelines, stages, tag
//! ids, users. They carry no
//! source times; the newest write wins. Each function returns the rows that changed.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::upsert::excluded;

use crate::db::bulk::{Upsert, Val};
use crate::db::schema::{field_options, fields, tags};
use crate::db::with_backend;
use crate::db::DbConn;
use crate::time::SourceTime;

/// Of `rows` for one id the last given, in id order: what writing them one by one leaves
/// (these tables carry no source times).
pub(super) fn last_per_id<'r, T: 'r>(
    rows: impl IntoIterator<Item = &'r T>,
    id: impl Fn(&T) -> i64,
) -> Vec<&'r T> {
    super::newest_per_key(rows, |r| id(r), |_| SourceTime::default())
}

/// Writes `(id, text)` rows into a two-column dimension table whose text only changes by the
/// newest write; of rows for one id, the last wins.
fn upsert_named(
    conn: &mut DbConn,
    table: &'static str,
    columns: &'static [&'static str; 2],
    rows: &[(i64, String)],
) -> QueryResult<usize> {
    let values: Vec<Vec<Val<'_>>> = last_per_id(rows, |r| r.0)
        .into_iter()
        .map(|(id, text)| vec![Val::I64(*id), Val::Text(text)])
        .collect();
    let [id, text] = columns;
    Upsert {
        table,
        columns,
        conflict: format!(
            "ON CONFLICT ({id}) DO UPDATE SET {text} = excluded.{text} \
             WHERE {table}.{text} <> excluded.{text}"
        ),
    }
    .run(conn, &values)
}

/// Writes `(id, name)` lists; of rows for one id, the last wins.
pub fn upsert_lists(conn: &mut DbConn, rows: &[(i64, String)]) -> QueryResult<usize> {
    upsert_named(conn, "lists", &["id", "name"], rows)
}

/// Writes `(id, title)` pipelines; of rows for one id, the last wins.
pub fn upsert_pipelines(conn: &mut DbConn, rows: &[(i64, String)]) -> QueryResult<usize> {
    upsert_named(conn, "pipelines", &["id", "title"], rows)
}

/// A deal stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Stage id.
    pub id: i64,
    /// Its pipeline, when the source says.
    pub pipeline_id: Option<i64>,
    /// Title.
    pub title: String,
}

/// Writes stages; an unknown pipeline keeps the one the mirror has. Of rows for one stage, the
/// last title wins and the last pipeline given.
pub fn upsert_stages(conn: &mut DbConn, rows: &[Stage]) -> QueryResult<usize> {
    let mut merged: HashMap<i64, Stage> = HashMap::with_capacity(rows.len());
    for s in rows {
        let pipeline_id = s
            .pipeline_id
            .or_else(|| merged.get(&s.id).and_then(|m| m.pipeline_id));
        merged.insert(
            s.id,
            Stage {
                pipeline_id,
                ..s.clone()
            },
        );
    }
    let mut rows: Vec<Stage> = merged.into_values().collect();
    rows.sort_unstable_by_key(|s| s.id);
    let values: Vec<Vec<Val<'_>>> = rows
        .iter()
        .map(|s| {
            vec![
                Val::I64(s.id),
                Val::OptI64(s.pipeline_id),
                Val::Text(&s.title),
            ]
        })
        .collect();
    Upsert {
        table: "stages",
        columns: &["id", "pipeline_id", "title"],
        conflict: "ON CONFLICT (id) DO UPDATE SET \
                   pipeline_id = COALESCE(excluded.pipeline_id, stages.pipeline_id), \
                   title = excluded.title \
                   WHERE stages.title <> excluded.title \
                   OR (stages.pipeline_id IS NULL AND excluded.pipeline_id IS NOT NULL) \
                   OR stages.pipeline_id <> excluded.pipeline_id"
            .to_owned(),
    }
    .run(conn, &values)
}

/// An option of a choice field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldOption {
    /// Option id.
    pub id: i64,
    /// Its field.
    pub field_id: i64,
    /// The stored value.
    pub value: String,
    /// The label shown.
    pub label: String,
    /// Position among the field's options.
    pub ordernum: Option<i64>,
}

/// Writes field options, then removes the options of each field in `complete` (a field id
/// with every option id it has now) that it no longer lists. Options of fields not in
/// `complete` are only added or updated. Returns the rows written or removed.
pub fn replace_field_options(
    conn: &mut DbConn,
    rows: &[FieldOption],
    complete: &HashMap<i64, Vec<i64>>,
) -> QueryResult<usize> {
    let values: Vec<Vec<Val<'_>>> = last_per_id(rows, |o| o.id)
        .into_iter()
        .map(|o| {
            vec![
                Val::I64(o.id),
                Val::I64(o.field_id),
                Val::Text(&o.value),
                Val::Text(&o.label),
                Val::OptI64(o.ordernum),
            ]
        })
        .collect();
    let written = Upsert {
        table: "field_options",
        columns: &["id", "field_id", "value", "label", "ordernum"],
        conflict: "ON CONFLICT (id) DO UPDATE SET field_id = excluded.field_id, \
                   value = excluded.value, label = excluded.label, ordernum = excluded.ordernum \
                   WHERE field_options.field_id <> excluded.field_id \
                   OR field_options.value <> excluded.value \
                   OR field_options.label <> excluded.label \
                   OR field_options.ordernum IS DISTINCT FROM excluded.ordernum"
            .to_owned(),
    }
    .run(conn, &values)?;
    let held: Vec<(i64, i64)> = field_options::table
        .select((field_options::id, field_options::field_id))
        .load(conn)?;
    let gone: Vec<i64> = held
        .into_iter()
        .filter(|(id, field)| complete.get(field).is_some_and(|now| !now.contains(id)))
        .map(|(id, _)| id)
        .collect();
    let mut removed = 0;
    for chunk in gone.chunks(crate::db::CHUNK) {
        removed += diesel::delete(field_options::table.filter(field_options::id.eq_any(chunk)))
            .execute(conn)?;
    }
    Ok(written + removed)
}

/// An account user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User id (what `deals.owner_id` holds).
    pub id: i64,
    /// Login name.
    pub username: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// E-mail address.
    pub email: String,
}

/// Writes users; of rows for one id, the last wins. Returns the rows that changed.
pub fn upsert_users(conn: &mut DbConn, rows: &[User]) -> QueryResult<usize> {
    write_users(
        conn,
        last_per_id(rows, |u| u.id),
        "ON CONFLICT (id) DO UPDATE SET username = excluded.username, \
         first_name = excluded.first_name, last_name = excluded.last_name, \
         email = excluded.email \
         WHERE users.username <> excluded.username \
         OR users.first_name <> excluded.first_name \
         OR users.last_name <> excluded.last_name OR users.email <> excluded.email",
    )
}

/// Adds users the mirror does not hold yet, as deal deliveries name their owners (first and
/// last name only); a user already held is left alone, since the API's full record wins. Of
/// rows for one id, the first wins, as one-by-one writing would leave it.
pub fn add_unknown_users(conn: &mut DbConn, rows: &[User]) -> QueryResult<usize> {
    write_users(
        conn,
        last_per_id(rows.iter().rev(), |u| u.id),
        "ON CONFLICT (id) DO NOTHING",
    )
}

fn write_users(conn: &mut DbConn, rows: Vec<&User>, conflict: &str) -> QueryResult<usize> {
    let values: Vec<Vec<Val<'_>>> = rows
        .into_iter()
        .map(|u| {
            vec![
                Val::I64(u.id),
                Val::Text(&u.username),
                Val::Text(&u.first_name),
                Val::Text(&u.last_name),
                Val::Text(&u.email),
            ]
        })
        .collect();
    Upsert {
        table: "users",
        columns: &["id", "username", "first_name", "last_name", "email"],
        conflict: conflict.to_owned(),
    }
    .run(conn, &values)
}

/// A custom contact field definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Field id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Personalisation tag.
    pub perstag: Option<String>,
    /// Type (`text`, `dropdown`, `checkbox`, …).
    pub field_type: Option<String>,
}

/// Writes field definitions.
pub fn upsert_fields(conn: &mut DbConn, rows: &[Field]) -> QueryResult<usize> {
    let have: HashMap<i64, Field> = fields::table
        .select((
            fields::id,
            fields::title,
            fields::perstag,
            fields::field_type,
        ))
        .load::<(i64, String, Option<String>, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, title, perstag, field_type)| {
            (
                id,
                Field {
                    id,
                    title,
                    perstag,
                    field_type,
                },
            )
        })
        .collect();
    let changed: Vec<&Field> = rows
        .iter()
        .filter(|f| have.get(&f.id) != Some(*f))
        .collect();
    for f in &changed {
        let row = (
            fields::id.eq(f.id),
            fields::title.eq(&f.title),
            fields::perstag.eq(&f.perstag),
            fields::field_type.eq(&f.field_type),
        );
        with_backend!(&mut *conn, |c| diesel::insert_into(fields::table)
            .values(&row)
            .on_conflict(fields::id)
            .do_update()
            .set((
                fields::title.eq(excluded(fields::title)),
                fields::perstag.eq(excluded(fields::perstag)),
                fields::field_type.eq(excluded(fields::field_type)),
            ))
            .execute(c))?;
    }
    Ok(changed.len())
}

/// Records ActiveCampaign's ids for tag names. A tag renamed upstream gives up its id on the
/// old name (the unique index on `tags.id` requires it).
pub fn upsert_tag_ids(conn: &mut DbConn, rows: &[(String, i64)]) -> QueryResult<usize> {
    let have: HashMap<String, Option<i64>> = tags::table
        .select((tags::name, tags::id))
        .load(conn)?
        .into_iter()
        .collect();
    let mut changed = 0;
    for (name, id) in rows {
        if have.get(name) == Some(&Some(*id)) {
            continue;
        }
        diesel::update(
            tags::table
                .filter(tags::id.eq(id))
                .filter(tags::name.ne(name)),
        )
        .set(tags::id.eq(None::<i64>))
        .execute(conn)?;
        with_backend!(&mut *conn, |c| diesel::insert_into(tags::table)
            .values((tags::name.eq(name), tags::id.eq(id)))
            .on_conflict(tags::name)
            .do_update()
            .set(tags::id.eq(excluded(tags::id)))
            .execute(c))?;
        changed += 1;
    }
    Ok(changed)
}

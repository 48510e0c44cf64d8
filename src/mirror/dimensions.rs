//! The small dimension tables: lists, custom fields, pipelines, stages, tag ids. They carry no
//! source times; the newest write wins. Each function returns the rows that changed.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::upsert::excluded;

use super::OnlyIf;
use super::{coalesce_i64, CHUNK};
use crate::db::schema::{fields, lists, pipelines, stages, tags};
use crate::db::DbConn;
use crate::{upsert_rows, with_backend};

/// The last row given for each id, in id order: what writing them one by one leaves.
fn last_per_id(rows: &[(i64, String)]) -> Vec<(i64, String)> {
    let mut last: HashMap<i64, &String> = HashMap::with_capacity(rows.len());
    for (id, name) in rows {
        last.insert(*id, name);
    }
    let mut out: Vec<(i64, String)> = last.into_iter().map(|(id, n)| (id, n.clone())).collect();
    out.sort_unstable();
    out
}

/// Writes `(id, name)` lists; of rows for one id, the last wins.
pub fn upsert_lists(conn: &mut DbConn, rows: &[(i64, String)]) -> QueryResult<usize> {
    let rows = last_per_id(rows);
    let mut n = 0;
    for chunk in rows.chunks(CHUNK) {
        let new: Vec<_> = chunk
            .iter()
            .map(|(id, name)| (lists::id.eq(id), lists::name.eq(name)))
            .collect();
        n += upsert_rows!(&mut *conn, &new, |v| diesel::insert_into(lists::table)
            .values(v)
            .on_conflict(lists::id)
            .do_update()
            .set(lists::name.eq(excluded(lists::name)))
            .only_if(lists::name.ne(excluded(lists::name))))?;
    }
    Ok(n)
}

/// Writes `(id, title)` pipelines; of rows for one id, the last wins.
pub fn upsert_pipelines(conn: &mut DbConn, rows: &[(i64, String)]) -> QueryResult<usize> {
    let rows = last_per_id(rows);
    let mut n = 0;
    for chunk in rows.chunks(CHUNK) {
        let new: Vec<_> = chunk
            .iter()
            .map(|(id, t)| (pipelines::id.eq(id), pipelines::title.eq(t)))
            .collect();
        n += upsert_rows!(&mut *conn, &new, |v| diesel::insert_into(pipelines::table)
            .values(v)
            .on_conflict(pipelines::id)
            .do_update()
            .set(pipelines::title.eq(excluded(pipelines::title)))
            .only_if(pipelines::title.ne(excluded(pipelines::title))))?;
    }
    Ok(n)
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
    let mut n = 0;
    for chunk in rows.chunks(CHUNK) {
        let new: Vec<_> = chunk
            .iter()
            .map(|s| {
                (
                    stages::id.eq(s.id),
                    stages::pipeline_id.eq(s.pipeline_id),
                    stages::title.eq(&s.title),
                )
            })
            .collect();
        n += upsert_rows!(&mut *conn, &new, |v| diesel::insert_into(stages::table)
            .values(v)
            .on_conflict(stages::id)
            .do_update()
            .set((
                stages::pipeline_id.eq(coalesce_i64(
                    excluded(stages::pipeline_id),
                    stages::pipeline_id
                )),
                stages::title.eq(excluded(stages::title)),
            ))
            .only_if(
                stages::title
                    .ne(excluded(stages::title))
                    .or(stages::pipeline_id
                        .is_null()
                        .and(excluded(stages::pipeline_id).is_not_null()))
                    .or(stages::pipeline_id.ne(excluded(stages::pipeline_id))),
            ))?;
    }
    Ok(n)
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

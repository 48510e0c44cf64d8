//! The small dimension tables, read in full on every run (a handful of requests).

use std::collections::HashMap;

use anyhow::Context;

use crate::activecampaign::ApiClient;
use crate::activecampaign::CustomField;
use crate::db::{blocking, write_tx_retrying, Pool};
use crate::mirror::crm::{self, FieldDef, Object};
use crate::mirror::dimensions::{self, Field, FieldOption, Stage, User};

/// The rows of custom field definitions; a choice field's options as a JSON array.
fn custom_field_rows(fields: Vec<CustomField>) -> Vec<FieldDef> {
    fields
        .into_iter()
        .map(|f| FieldDef {
            id: f.id,
            label: f.label,
            field_type: f.field_type.filter(|t| !t.is_empty()),
            options: (!f.options.is_empty())
                .then(|| serde_json::to_string(&f.options).unwrap_or_default()),
            display_order: f.display_order,
        })
        .collect()
}

/// Reads tags, contact fields and their options, lists, pipelines, stages, users and the
/// custom fields of deals and accounts, and writes what changed; returns the number of
/// changed rows.
pub async fn refresh(pool: &Pool, client: &ApiClient) -> anyhow::Result<usize> {
    let tags = client
        .tags()
        .await
        .context("Failed to read tags from the API")?;
    let fields = client
        .fields()
        .await
        .context("Failed to read custom fields from the API")?;
    let lists = client
        .lists()
        .await
        .context("Failed to read lists from the API")?;
    let pipelines = client
        .pipelines()
        .await
        .context("Failed to read pipelines from the API")?;
    let users = client
        .users()
        .await
        .context("Failed to read users from the API")?;
    let deal_fields = client
        .deal_fields()
        .await
        .context("Failed to read deal custom fields from the API")?;
    let account_fields = client
        .account_fields()
        .await
        .context("Failed to read account custom fields from the API")?;
    blocking(pool, move |conn| {
        let tag_rows: Vec<(String, i64)> = tags.into_iter().map(|t| (t.name, t.id)).collect();
        let complete: HashMap<i64, Vec<i64>> = fields
            .fields
            .iter()
            .filter_map(|f| Some((f.id, f.options.clone()?)))
            .collect();
        let option_rows: Vec<FieldOption> = fields
            .options
            .into_iter()
            .map(|o| FieldOption {
                id: o.id,
                field_id: o.field_id,
                value: o.value,
                label: o.label,
                ordernum: o.order,
            })
            .collect();
        let field_rows: Vec<Field> = fields
            .fields
            .into_iter()
            .map(|f| Field {
                id: f.id,
                title: f.title,
                perstag: Some(f.perstag).filter(|s| !s.is_empty()),
                field_type: Some(f.field_type).filter(|s| !s.is_empty()),
            })
            .collect();
        let list_rows: Vec<(i64, String)> = lists.into_iter().map(|l| (l.id, l.name)).collect();
        let pipeline_rows: Vec<(i64, String)> = pipelines
            .pipelines
            .into_iter()
            .map(|p| (p.id, p.title))
            .collect();
        let stage_rows: Vec<Stage> = pipelines
            .stages
            .into_iter()
            .map(|s| Stage {
                id: s.id,
                pipeline_id: s.pipeline_id,
                title: s.title,
            })
            .collect();
        let user_rows: Vec<User> = users
            .into_iter()
            .map(|u| User {
                id: u.id,
                username: u.username,
                first_name: u.first_name,
                last_name: u.last_name,
                email: u.email,
            })
            .collect();
        let deal_field_rows = custom_field_rows(deal_fields);
        let account_field_rows = custom_field_rows(account_fields);
        let (changed, requeued) = write_tx_retrying(conn, |c| {
            let changed = dimensions::upsert_tag_ids(c, &tag_rows)?
                + dimensions::upsert_fields(c, &field_rows)?
                + dimensions::upsert_lists(c, &list_rows)?
                + dimensions::upsert_pipelines(c, &pipeline_rows)?
                + dimensions::upsert_stages(c, &stage_rows)?
                + dimensions::upsert_users(c, &user_rows)?
                + dimensions::replace_field_options(c, &option_rows, &complete)?
                + crm::replace_fields(c, Object::Deal, &deal_field_rows)?
                + crm::replace_fields(c, Object::Account, &account_field_rows)?;
            // The custom fields are current now: deliveries that named a field by a tag the
            // mirror did not know yet get another chance.
            let requeued = crate::webhook::perstag::requeue_unknown_tags(c)?;
            Ok::<_, diesel::result::Error>((changed, requeued))
        })?;
        if requeued > 0 {
            tracing::info!(
                deliveries = requeued,
                "custom fields refreshed; deliveries with unknown personalisation tags queued again"
            );
        }
        Ok(changed)
    })
    .await
}

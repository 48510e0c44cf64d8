//! Renders the mirror as a [`Snapshot`], to compare it with the truth (the simulator's state).

use std::collections::BTreeMap;

use diesel::prelude::*;

use crate::truth::{
    norm, value_key, AccountContactTruth, AccountTruth, CampaignTruth, ContactTruth,
    CustomFieldTruth, DealContactTruth, DealTruth, FieldOptionTruth, FieldTruth, ListTimes,
    MessageTruth, NoteTruth, Snapshot, StageTruth, TaskTruth, UserTruth,
};
use acmirror::db::schema::{
    account_contacts, account_field_values, account_fields, accounts, contact_field_values as cfv,
    contact_lists as cl, contact_tag_states as cts, contacts, deal_contacts, deal_field_values,
    deal_fields, deal_notes as dn, deal_tasks as dt, deals, field_options, fields, lists,
    pipelines, stages, tags, users,
};
use acmirror::db::schema::{campaigns, messages, sync_runs};
use acmirror::db::DbConn;

/// A live contact's compared columns.
#[derive(Queryable, Selectable)]
#[diesel(table_name = contacts)]
struct ContactRow {
    id: i64,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
}

/// A live deal's compared columns.
#[derive(Queryable, Selectable)]
#[diesel(table_name = deals)]
struct DealRow {
    id: i64,
    title: Option<String>,
    value_cents: Option<i64>,
    currency: Option<String>,
    pipeline_id: Option<i64>,
    stage_id: Option<i64>,
    owner_id: Option<i64>,
    contact_id: Option<i64>,
    status: Option<i32>,
    account_id: Option<i64>,
}

/// A live deal task's compared columns.
#[derive(Queryable, Selectable)]
#[diesel(table_name = dt)]
struct TaskRow {
    id: i64,
    deal_id: i64,
    task_type: Option<String>,
    title: Option<String>,
    note: Option<String>,
    due_at: Option<chrono::NaiveDateTime>,
    done_at: Option<chrono::NaiveDateTime>,
}

/// A field option's compared columns.
#[derive(Queryable, Selectable)]
#[diesel(table_name = field_options)]
struct OptionRow {
    id: i64,
    field_id: i64,
    value: String,
    label: String,
    ordernum: Option<i64>,
}

/// A user's compared columns.
#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct UserRow {
    id: i64,
    username: String,
    first_name: String,
    last_name: String,
    email: String,
}

/// Reads the live rows of the mirror.
pub fn mirror_snapshot(conn: &mut DbConn) -> QueryResult<Snapshot> {
    let mut snap = Snapshot::default();
    let rows: Vec<ContactRow> = contacts::table
        .filter(contacts::deleted_at.is_null())
        .select(ContactRow::as_select())
        .load(conn)?;
    for r in rows {
        let c = ContactTruth {
            email: norm(r.email),
            first_name: norm(r.first_name),
            last_name: norm(r.last_name),
            phone: norm(r.phone),
            ..Default::default()
        };
        snap.contacts.insert(r.id, c);
    }
    let pairs: Vec<(i64, String, Option<chrono::NaiveDateTime>)> = cts::table
        .filter(cts::present.eq(true))
        .select((cts::contact_id, cts::tag, cts::added_at))
        .load(conn)?;
    for (id, tag, added) in pairs {
        if let Some(c) = snap.contacts.get_mut(&id) {
            if let Some(at) = added {
                c.tag_times.insert(tag.clone(), at.and_utc().timestamp());
            }
            c.tags.insert(tag);
        }
    }
    let values: Vec<(i64, i64, String)> = cfv::table
        .select((cfv::contact_id, cfv::field_id, cfv::value))
        .load(conn)?;
    for (id, field, value) in values.into_iter().filter(|(_, _, v)| !v.is_empty()) {
        if let Some(c) = snap.contacts.get_mut(&id) {
            c.field_values.insert(field, value);
        }
    }
    type MembershipRow = (
        i64,
        i64,
        i32,
        Option<chrono::NaiveDateTime>,
        Option<chrono::NaiveDateTime>,
        Option<String>,
    );
    let memberships: Vec<MembershipRow> = cl::table
        .select((
            cl::contact_id,
            cl::list_id,
            cl::status,
            cl::subscribed_at,
            cl::unsubscribed_at,
            cl::unsubscribe_reason,
        ))
        .load(conn)?;
    for (id, list, status, subscribed, unsubscribed, reason) in memberships {
        if let Some(c) = snap.contacts.get_mut(&id) {
            c.lists.insert(list, status);
            let times = ListTimes {
                subscribed_at: subscribed.map(|t| t.and_utc().timestamp()),
                unsubscribed_at: unsubscribed.map(|t| t.and_utc().timestamp()),
                reason: norm(reason),
            };
            c.list_times.insert(list, times);
        }
    }
    let rows: Vec<DealRow> = deals::table
        .filter(deals::deleted_at.is_null())
        .select(DealRow::as_select())
        .load(conn)?;
    for r in rows {
        snap.deals.insert(
            r.id,
            DealTruth {
                title: r.title,
                value_cents: r.value_cents,
                currency: r.currency,
                pipeline_id: r.pipeline_id,
                stage_id: r.stage_id,
                owner_id: r.owner_id,
                contact_id: r.contact_id,
                status: r.status,
                account_id: r.account_id,
            },
        );
    }
    let tag_rows: Vec<(String, Option<i64>)> =
        tags::table.select((tags::name, tags::id)).load(conn)?;
    snap.tags = tag_rows
        .into_iter()
        .filter_map(|(n, id)| Some((n, id?)))
        .collect();
    snap.lists = lists::table
        .select((lists::id, lists::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    snap.pipelines = pipelines::table
        .select((pipelines::id, pipelines::title))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let stage_rows: Vec<(i64, Option<i64>, String)> = stages::table
        .select((stages::id, stages::pipeline_id, stages::title))
        .load(conn)?;
    snap.stages = stage_rows
        .into_iter()
        .map(|(id, pipeline_id, title)| (id, StageTruth { pipeline_id, title }))
        .collect::<BTreeMap<_, _>>();
    let field_rows: Vec<(i64, String, Option<String>, Option<String>)> = fields::table
        .select((
            fields::id,
            fields::title,
            fields::perstag,
            fields::field_type,
        ))
        .load(conn)?;
    snap.fields = field_rows
        .into_iter()
        .map(|(id, title, perstag, field_type)| {
            (
                id,
                FieldTruth {
                    title,
                    perstag,
                    field_type,
                },
            )
        })
        .collect();
    let user_rows: Vec<UserRow> = users::table.select(UserRow::as_select()).load(conn)?;
    snap.users = user_rows
        .into_iter()
        .map(|u| {
            let truth = UserTruth {
                username: u.username,
                first_name: u.first_name,
                last_name: u.last_name,
                email: u.email,
            };
            (u.id, truth)
        })
        .collect();
    let option_rows: Vec<OptionRow> = field_options::table
        .select(OptionRow::as_select())
        .load(conn)?;
    snap.field_options = option_rows
        .into_iter()
        .map(|o| {
            let truth = FieldOptionTruth {
                field_id: o.field_id,
                value: o.value,
                label: o.label,
                ordernum: o.ordernum,
            };
            (o.id, truth)
        })
        .collect();
    notes_and_tasks(conn, &mut snap)?;
    crm(conn, &mut snap)?;
    campaigns_and_messages(conn, &mut snap)?;
    Ok(snap)
}

/// Custom field definitions as `(id, label, type, options)`.
type FieldRow = (i64, String, Option<String>, Option<String>);

fn custom_fields(rows: Vec<FieldRow>) -> BTreeMap<i64, CustomFieldTruth> {
    rows.into_iter()
        .map(|(id, label, field_type, options)| {
            let truth = CustomFieldTruth {
                label,
                field_type,
                options,
            };
            (id, truth)
        })
        .collect()
}

/// Deals' custom field values and secondary contacts, live accounts with theirs, the contacts
/// at accounts, and the custom field definitions.
fn crm(conn: &mut DbConn, snap: &mut Snapshot) -> QueryResult<()> {
    let values: Vec<(i64, i64, String)> = deal_field_values::table
        .select((
            deal_field_values::deal_id,
            deal_field_values::field_id,
            deal_field_values::value,
        ))
        .load(conn)?;
    for (deal, field, value) in values.into_iter().filter(|(_, _, v)| !v.is_empty()) {
        if snap.deals.contains_key(&deal) {
            snap.deal_field_values.insert(value_key(deal, field), value);
        }
    }
    let contacts: Vec<(i64, i64, i64, Option<i64>)> = deal_contacts::table
        .select((
            deal_contacts::id,
            deal_contacts::deal_id,
            deal_contacts::contact_id,
            deal_contacts::role_id,
        ))
        .load(conn)?;
    for (id, deal_id, contact_id, role_id) in contacts {
        if snap.deals.contains_key(&deal_id) {
            let truth = DealContactTruth {
                deal_id,
                contact_id,
                role_id,
            };
            snap.deal_contacts.insert(id, truth);
        }
    }
    let rows: Vec<(i64, String, Option<String>)> = accounts::table
        .filter(accounts::deleted_at.is_null())
        .select((accounts::id, accounts::name, accounts::url))
        .load(conn)?;
    for (id, name, url) in rows {
        let truth = AccountTruth {
            name,
            url: norm(url),
            field_values: BTreeMap::new(),
        };
        snap.accounts.insert(id, truth);
    }
    let values: Vec<(i64, i64, String)> = account_field_values::table
        .select((
            account_field_values::account_id,
            account_field_values::field_id,
            account_field_values::value,
        ))
        .load(conn)?;
    for (account, field, value) in values.into_iter().filter(|(_, _, v)| !v.is_empty()) {
        if let Some(a) = snap.accounts.get_mut(&account) {
            a.field_values.insert(field, value);
        }
    }
    let links: Vec<(i64, i64, i64, Option<String>)> = account_contacts::table
        .filter(account_contacts::deleted_at.is_null())
        .select((
            account_contacts::id,
            account_contacts::account_id,
            account_contacts::contact_id,
            account_contacts::job_title,
        ))
        .load(conn)?;
    snap.account_contacts = links
        .into_iter()
        .map(|(id, account_id, contact_id, job_title)| {
            let truth = AccountContactTruth {
                account_id,
                contact_id,
                job_title: norm(job_title),
            };
            (id, truth)
        })
        .collect();
    snap.deal_fields = custom_fields(
        deal_fields::table
            .select((
                deal_fields::id,
                deal_fields::label,
                deal_fields::field_type,
                deal_fields::options,
            ))
            .load(conn)?,
    );
    snap.account_fields = custom_fields(
        account_fields::table
            .select((
                account_fields::id,
                account_fields::label,
                account_fields::field_type,
                account_fields::options,
            ))
            .load(conn)?,
    );
    Ok(())
}

/// Live deal notes, contact notes and deal tasks.
fn notes_and_tasks(conn: &mut DbConn, snap: &mut Snapshot) -> QueryResult<()> {
    let notes: Vec<(i64, i64, String)> = dn::table
        .filter(dn::deleted_at.is_null())
        .select((dn::id, dn::deal_id, dn::note))
        .load(conn)?;
    snap.deal_notes = notes
        .into_iter()
        .map(|(id, deal_id, note)| (id, NoteTruth { deal_id, note }))
        .collect();
    snap.contact_notes = acmirror::mirror::notes::contact_note_texts(conn)?
        .into_iter()
        .collect();
    let tasks: Vec<TaskRow> = dt::table
        .filter(dt::deleted_at.is_null())
        .select(TaskRow::as_select())
        .load(conn)?;
    snap.deal_tasks = tasks
        .into_iter()
        .map(|r| {
            let truth = TaskTruth {
                deal_id: r.deal_id,
                task_type: norm(r.task_type),
                title: norm(r.title),
                note: norm(r.note),
                due: r.due_at.map(|d| d.and_utc().timestamp()),
                done: r.done_at.is_some(),
            };
            (r.id, truth)
        })
        .collect();
    Ok(())
}

/// A campaign's compared columns.
#[derive(Queryable, Selectable)]
#[diesel(table_name = campaigns)]
struct CampaignRow {
    id: i64,
    name: String,
    campaign_type: Option<String>,
    status: Option<i32>,
    message_id: Option<i64>,
    sent_at: Option<chrono::NaiveDateTime>,
    last_sent_at: Option<chrono::NaiveDateTime>,
    send_amount: Option<i64>,
    created_at: Option<chrono::NaiveDateTime>,
    updated_at: Option<chrono::NaiveDateTime>,
}

/// A message's compared columns.
#[derive(Queryable, Selectable)]
#[diesel(table_name = messages)]
struct MessageRow {
    id: i64,
    name: String,
    subject: String,
    from_name: String,
    from_email: String,
    created_at: Option<chrono::NaiveDateTime>,
    updated_at: Option<chrono::NaiveDateTime>,
}

fn secs(t: Option<chrono::NaiveDateTime>) -> Option<i64> {
    t.map(|t| t.and_utc().timestamp())
}

/// Campaigns and messages, and whether a run over the whole account has read them.
fn campaigns_and_messages(conn: &mut DbConn, snap: &mut Snapshot) -> QueryResult<()> {
    // The first run over the whole account reads them, whatever its mode, and so does every
    // full one.
    let whole_runs: i64 = sync_runs::table
        .filter(sync_runs::status.eq("succeeded"))
        .filter(sync_runs::scope.eq(acmirror::reconcile::runs::WHOLE_ACCOUNT))
        .count()
        .get_result(conn)?;
    snap.campaigns_read = whole_runs > 0;
    let rows: Vec<CampaignRow> = campaigns::table
        .select(CampaignRow::as_select())
        .load(conn)?;
    for c in rows {
        let truth = CampaignTruth {
            name: c.name,
            campaign_type: c.campaign_type,
            status: c.status,
            message_id: c.message_id,
            sent_at: secs(c.sent_at),
            last_sent_at: secs(c.last_sent_at),
            send_amount: c.send_amount,
            created_at: secs(c.created_at),
            updated_at: secs(c.updated_at),
        };
        snap.campaigns.insert(c.id, truth);
    }
    let rows: Vec<MessageRow> = messages::table.select(MessageRow::as_select()).load(conn)?;
    for m in rows {
        let truth = MessageTruth {
            name: m.name,
            subject: m.subject,
            from_name: m.from_name,
            from_email: m.from_email,
            created_at: secs(m.created_at),
            updated_at: secs(m.updated_at),
        };
        snap.messages.insert(m.id, truth);
    }
    Ok(())
}

//! The account rendered as a [`Snapshot`], the ground truth a mirror is compared with.

use std::collections::BTreeMap;

use super::catalog::{
    self, tag_by_id, CrmFieldDef, ACCOUNT_FIELDS, DEAL_FIELDS, LISTS, PIPELINES, USERS,
};
use super::model::{Contact, Deal, NoteOwner, Task, TASK_TYPES};
use super::state::Account;
use crate::truth::{
    norm, value_key, AccountContactTruth, AccountTruth, CampaignTruth, ContactTruth,
    CustomFieldTruth, DealContactTruth, DealTruth, FieldOptionTruth, FieldTruth, ListTimes,
    MessageTruth, NoteTruth, Snapshot, StageTruth, TaskTruth, UserTruth,
};

/// Everything live in the account. Deals in the restricted pipeline appear as what the API
/// shows of them, a permission stub: title and status only, since no reconciliation can learn
/// more and the driver never changes them.
pub(crate) fn snapshot(acct: &Account) -> Snapshot {
    let mut s = dimensions(acct.realism.heavy);
    s.campaigns_read = true;
    for c in acct.campaigns.values() {
        let truth = CampaignTruth {
            name: c.name.clone(),
            campaign_type: Some(c.kind.to_string()),
            status: Some(c.status),
            message_id: Some(c.message),
            sent_at: c.sdate,
            last_sent_at: c.ldate,
            send_amount: Some(c.send_amt),
            created_at: Some(c.cdate),
            updated_at: Some(c.mdate),
        };
        s.campaigns.insert(c.id, truth);
    }
    for m in acct.messages.values() {
        let truth = MessageTruth {
            name: m.name.clone(),
            subject: m.subject.clone(),
            from_name: m.from_name.clone(),
            from_email: m.from_email.clone(),
            created_at: Some(m.cdate),
            updated_at: Some(m.mdate),
        };
        s.messages.insert(m.id, truth);
    }
    for id in 1..=acct.max_contact {
        if let Some(c) = acct.contact(id) {
            s.contacts.insert(id, contact_truth(&c));
        }
    }
    for id in 1..=acct.max_deal {
        if let Some(d) = acct.deal(id) {
            let truth = if acct.deal_is_restricted(id) {
                stub_truth(&d)
            } else {
                for (f, v) in d.fields.iter().filter(|(_, v)| !v.is_empty()) {
                    s.deal_field_values.insert(value_key(id, *f), v.clone());
                }
                for (link, (contact_id, role_id)) in acct.deal_contacts(&d) {
                    let truth = DealContactTruth {
                        deal_id: id,
                        contact_id,
                        role_id,
                    };
                    s.deal_contacts.insert(link, truth);
                }
                DealTruth {
                    account_id: acct.deal_account(&d),
                    ..deal_truth(&d)
                }
            };
            s.deals.insert(id, truth);
        }
    }
    for n in acct.notes.values() {
        match n.owner {
            NoteOwner::Deal => {
                let truth = NoteTruth {
                    deal_id: n.relid,
                    note: n.text.clone(),
                };
                s.deal_notes.insert(n.id, truth);
            }
            NoteOwner::Contact => s
                .contact_notes
                .entry(n.relid)
                .or_default()
                .push(n.text.clone()),
        }
    }
    for texts in s.contact_notes.values_mut() {
        texts.sort();
    }
    for t in acct.tasks.values() {
        s.deal_tasks.insert(t.id, task_truth(t));
    }
    for id in 1..=acct.max_company {
        if let Some(c) = acct.company(id) {
            let truth = AccountTruth {
                name: c.name,
                url: norm(Some(c.url)),
                field_values: c
                    .fields
                    .into_iter()
                    .filter(|(_, v)| !v.is_empty())
                    .collect(),
            };
            s.accounts.insert(id, truth);
        }
    }
    for id in 1..=acct.max_contact {
        if let Some(l) = acct.link(id) {
            let truth = AccountContactTruth {
                account_id: l.account,
                contact_id: id,
                job_title: norm(Some(l.job_title)),
            };
            s.account_contacts.insert(id, truth);
        }
    }
    s
}

/// A custom field of deals or accounts as the reporting schema shows it.
fn custom_field_truth(f: &CrmFieldDef) -> CustomFieldTruth {
    CustomFieldTruth {
        label: f.label.to_string(),
        field_type: Some(f.field_type.to_string()),
        options: (!f.options.is_empty())
            .then(|| serde_json::to_string(f.options).unwrap_or_default()),
    }
}

/// A task as the reporting schema shows it.
pub(crate) fn task_truth(t: &Task) -> TaskTruth {
    TaskTruth {
        deal_id: t.deal,
        task_type: TASK_TYPES
            .iter()
            .find(|(id, _)| *id == t.type_id)
            .map(|(_, title)| title.to_string()),
        title: norm(Some(t.title.clone())),
        note: norm(Some(t.note.clone())),
        due: Some(t.due),
        done: t.done.is_some(),
    }
}

/// The dimension tables, which never change (more of them in a heavy account).
pub(crate) fn dimensions(heavy: bool) -> Snapshot {
    let mut s = Snapshot::default();
    for t in catalog::tags(heavy).filter(|t| t.tag_type == "contact") {
        s.tags.insert(t.name.to_string(), t.id);
    }
    for l in LISTS {
        s.lists.insert(l.id, l.name.to_string());
    }
    for u in USERS {
        let truth = UserTruth {
            username: u.username.to_string(),
            first_name: u.first_name.to_string(),
            last_name: u.last_name.to_string(),
            email: u.email.to_string(),
        };
        s.users.insert(u.id, truth);
    }
    for f in catalog::fields(heavy) {
        for (i, label) in super::api::option_labels(f).iter().enumerate() {
            let option = FieldOptionTruth {
                field_id: f.id,
                value: label.to_string(),
                label: label.to_string(),
                ordernum: Some(i as i64 + 1),
            };
            s.field_options.insert(super::api::option_id(f, i), option);
        }
        let truth = FieldTruth {
            title: f.title.to_string(),
            perstag: Some(f.perstag.to_string()),
            field_type: Some(f.field_type.to_string()),
        };
        s.fields.insert(f.id, truth);
    }
    for f in DEAL_FIELDS {
        s.deal_fields.insert(f.id, custom_field_truth(f));
    }
    for f in ACCOUNT_FIELDS {
        s.account_fields.insert(f.id, custom_field_truth(f));
    }
    for p in PIPELINES {
        s.pipelines.insert(p.id, p.title.to_string());
        for (id, title) in p.stages {
            s.stages.insert(
                *id,
                StageTruth {
                    pipeline_id: Some(p.id),
                    title: title.to_string(),
                },
            );
        }
    }
    s
}

/// A contact as the reporting schema shows it.
pub(crate) fn contact_truth(c: &Contact) -> ContactTruth {
    let tags = c
        .tags
        .keys()
        .filter_map(|id| tag_by_id(*id))
        .map(|t| t.name.to_string())
        .collect();
    let tag_times = c
        .tags
        .iter()
        .filter_map(|(id, at)| Some((tag_by_id(*id)?.name.to_string(), *at)))
        .collect();
    let field_values: BTreeMap<i64, String> = c
        .fields
        .iter()
        .filter(|(_, v)| !v.value.is_empty())
        .map(|(k, v)| (*k, v.value.clone()))
        .collect();
    ContactTruth {
        email: norm(Some(c.email.clone())),
        first_name: norm(Some(c.first_name.clone())),
        last_name: norm(Some(c.last_name.clone())),
        phone: norm(Some(c.phone.clone())),
        tags,
        tag_times,
        field_values,
        lists: c.lists.iter().map(|(k, v)| (*k, v.status)).collect(),
        list_times: c
            .lists
            .iter()
            .map(|(k, v)| {
                let times = ListTimes {
                    subscribed_at: Some(v.sdate),
                    unsubscribed_at: v.unsub_date,
                    reason: norm(Some(v.reason.clone())),
                };
                (*k, times)
            })
            .collect(),
    }
}

/// A deal as the reporting schema shows it.
pub(crate) fn deal_truth(d: &Deal) -> DealTruth {
    DealTruth {
        title: norm(Some(d.title.clone())),
        value_cents: Some(d.value_cents),
        currency: norm(Some(d.currency.clone())),
        pipeline_id: Some(d.pipeline),
        stage_id: Some(d.stage),
        owner_id: Some(d.owner),
        contact_id: (d.contact != 0).then_some(d.contact),
        status: Some(d.status),
        account_id: (d.account != 0).then_some(d.account),
    }
}

fn stub_truth(d: &Deal) -> DealTruth {
    DealTruth {
        title: norm(Some(d.title.clone())),
        status: Some(d.status),
        ..DealTruth::default()
    }
}

//! Notes (`/notes`) and deal tasks (`/dealTasks`, `/dealTasktypes`). Neither collection has a
//! documented filter by modification time, so they are read whole, 100 per request.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::client::ApiClient;
use super::decode;
use super::error::ApiError;
use super::paging::offset_page;
use super::request::Call;

/// A note on a deal, a contact or an activity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Note {
    /// ActiveCampaign's note id.
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// The record the note is attached to.
    #[serde(default, deserialize_with = "decode::opt_ref")]
    pub relid: Option<i64>,
    /// `Deal`, `Subscriber` (a contact) or `Activity`.
    #[serde(default, deserialize_with = "decode::text")]
    pub reltype: String,
    /// The text.
    #[serde(default, deserialize_with = "decode::text")]
    pub note: String,
    /// Creation time.
    #[serde(default, deserialize_with = "decode::timestamp")]
    pub cdate: Option<DateTime<Utc>>,
    /// Last edit; the version to compare against.
    #[serde(default, deserialize_with = "decode::timestamp")]
    pub mdate: Option<DateTime<Utc>>,
}

impl Note {
    /// The deal this note is on, if it is a deal note.
    pub fn deal_id(&self) -> Option<i64> {
        self.relid
            .filter(|_| self.reltype.eq_ignore_ascii_case("deal"))
    }

    /// The contact this note is on, if it is a contact note.
    pub fn contact_id(&self) -> Option<i64> {
        self.relid
            .filter(|_| self.reltype.eq_ignore_ascii_case("subscriber"))
    }
}

/// A task on a deal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DealTask {
    /// ActiveCampaign's task id.
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// The deal (or contact, for `reltype` `Subscriber`).
    #[serde(default, deserialize_with = "decode::opt_ref")]
    pub relid: Option<i64>,
    /// `Deal` or `Subscriber`.
    #[serde(default, deserialize_with = "decode::text")]
    pub reltype: String,
    /// Title (often `""`).
    #[serde(default, deserialize_with = "decode::text")]
    pub title: String,
    /// Note.
    #[serde(default, deserialize_with = "decode::text")]
    pub note: String,
    /// Due time.
    #[serde(default, deserialize_with = "decode::timestamp")]
    pub duedate: Option<DateTime<Utc>>,
    /// 0 open, 1 done (a number on this endpoint).
    #[serde(default, deserialize_with = "decode::opt_i32")]
    pub status: Option<i32>,
    /// The task type's id.
    #[serde(default, rename = "dealTasktype", deserialize_with = "decode::opt_ref")]
    pub task_type_id: Option<i64>,
    /// Creation time.
    #[serde(default, deserialize_with = "decode::timestamp")]
    pub cdate: Option<DateTime<Utc>>,
    /// Last change; the version to compare against.
    #[serde(default, deserialize_with = "decode::timestamp")]
    pub udate: Option<DateTime<Utc>>,
}

impl DealTask {
    /// The deal, for a task on a deal.
    pub fn deal_id(&self) -> Option<i64> {
        self.relid
            .filter(|_| self.reltype.eq_ignore_ascii_case("deal"))
    }

    /// Whether the task is done.
    pub fn is_done(&self) -> bool {
        self.status == Some(1)
    }
}

/// A task type (`Call`, `Email`…).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskType {
    /// ActiveCampaign's task type id.
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// The title the mirror stores in `deal_tasks.task_type`.
    #[serde(default, deserialize_with = "decode::text")]
    pub title: String,
}

offset_page!(NotesPage, "notes", Note);
offset_page!(TasksPage, "dealTasks", DealTask);
offset_page!(TaskTypesPage, "dealTasktypes", TaskType);

#[derive(Deserialize)]
struct RawOneNote {
    note: Note,
}

#[derive(Deserialize)]
struct RawOneTask {
    #[serde(rename = "dealTask")]
    task: DealTask,
}

impl ApiClient {
    /// Every note of the account (deal, contact and activity notes), oldest id first.
    pub async fn notes(&self) -> Result<Vec<Note>, ApiError> {
        let pages: Vec<NotesPage> = self.fetch_all_pages(|| Call::get("notes")).await?;
        Ok(pages.into_iter().flat_map(|page| page.items).collect())
    }

    /// Every task on a deal (`filters[reltype]=Deal`).
    pub async fn deal_tasks(&self) -> Result<Vec<DealTask>, ApiError> {
        let pages: Vec<TasksPage> = self
            .fetch_all_pages(|| Call::get("dealTasks").param("filters[reltype]", "Deal"))
            .await?;
        Ok(pages
            .into_iter()
            .flat_map(|page| page.items)
            .filter(|t| t.deal_id().is_some())
            .collect())
    }

    /// Every task type.
    pub async fn deal_task_types(&self) -> Result<Vec<TaskType>, ApiError> {
        let pages: Vec<TaskTypesPage> = self.fetch_all_pages(|| Call::get("dealTasktypes")).await?;
        Ok(pages.into_iter().flat_map(|page| page.items).collect())
    }

    /// One note; `None` if it does not exist.
    pub async fn note(&self, id: i64) -> Result<Option<Note>, ApiError> {
        let call = Call::get(format!("notes/{id}"));
        Ok(self
            .fetch_optional::<RawOneNote>(call)
            .await?
            .map(|raw| raw.note))
    }

    /// One task; `None` if it does not exist.
    pub async fn deal_task(&self, id: i64) -> Result<Option<DealTask>, ApiError> {
        let call = Call::get(format!("dealTasks/{id}"));
        Ok(self
            .fetch_optional::<RawOneTask>(call)
            .await?
            .map(|raw| raw.task))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_decodes_its_numeric_status_and_string_ids() {
        let raw = r#"{"id":"7","duedate":"2017-11-25T11:00:00-06:00","status":1,"title":"",
            "note":"MY TASK","relid":"6","reltype":"Deal","dealTasktype":"2",
            "cdate":"2017-11-24T10:00:00-06:00","udate":"2017-11-28T08:59:17-06:00"}"#;
        let t: DealTask = serde_json::from_str(raw).expect("decodes");
        assert_eq!((t.id, t.deal_id(), t.task_type_id), (7, Some(6), Some(2)));
        assert!(t.is_done());
        assert_eq!(
            t.udate.map(|u| u.to_rfc3339()),
            Some("2017-11-28T14:59:17+00:00".to_owned())
        );
    }

    #[test]
    fn notes_say_what_they_are_attached_to() {
        let raw = r#"{"relid":"3","reltype":"Subscriber","note":"hi","id":"9",
            "cdate":"2024-02-28T06:58:11-06:00","mdate":null}"#;
        let n: Note = serde_json::from_str(raw).expect("decodes");
        assert_eq!((n.contact_id(), n.deal_id()), (Some(3), None));
        assert_eq!(n.mdate, None);
    }
}

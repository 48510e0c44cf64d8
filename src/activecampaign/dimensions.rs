//! The small tables read in full on every reconciliation: tags, fields, lists, pipelines,
//! stages and users.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::client::ApiClient;
use super::decode;
use super::error::ApiError;
use super::paging::{offset_page, OffsetPage};
use super::request::Call;

/// A contact tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// ActiveCampaign's tag id.
    pub id: i64,
    /// The tag's name (`tag`).
    pub name: String,
    /// Free-text description (`""` if none).
    pub description: String,
}

/// A contact custom field definition.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Field {
    /// ActiveCampaign's field id.
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// Label shown in ActiveCampaign.
    #[serde(default, deserialize_with = "decode::text")]
    pub title: String,
    /// Personalisation tag (`%PERSTAG%`), the name webhooks use for the field.
    #[serde(default, deserialize_with = "decode::text")]
    pub perstag: String,
    /// `type`: text, textarea, date, datetime, dropdown, multiselect, radio, checkbox, hidden…
    #[serde(default, rename = "type", deserialize_with = "decode::text")]
    pub field_type: String,
    /// The ids of its options (`options`), when the record lists them: then they are all of
    /// them, and an option the mirror holds beyond them was removed upstream.
    #[serde(default, deserialize_with = "decode::opt_id_list")]
    pub options: Option<Vec<i64>>,
}

/// An option of a dropdown, radio, checkbox or multiselect field (`fieldOptions`, sideloaded
/// with `/fields`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FieldOption {
    /// ActiveCampaign's option id.
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// The field it belongs to.
    #[serde(rename = "field", deserialize_with = "decode::id")]
    pub field_id: i64,
    /// The stored value (what `contact_field_values.value` holds).
    #[serde(default, deserialize_with = "decode::text")]
    pub value: String,
    /// The label shown.
    #[serde(default, deserialize_with = "decode::text")]
    pub label: String,
    /// Position among the field's options (`orderid`).
    #[serde(default, rename = "orderid", deserialize_with = "decode::opt_i64")]
    pub order: Option<i64>,
}

/// Every contact field and every option of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    /// Fields in the order the API returned them.
    pub fields: Vec<Field>,
    /// Options of all fields, by id.
    pub options: Vec<FieldOption>,
}

/// A mailing list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct List {
    /// ActiveCampaign's list id.
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// The list's name.
    #[serde(default, deserialize_with = "decode::text")]
    pub name: String,
    /// URL-safe identifier (`stringid`).
    #[serde(default, rename = "stringid", deserialize_with = "decode::text")]
    pub string_id: String,
}

/// A deal pipeline (`dealGroup`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Pipeline {
    /// ActiveCampaign's pipeline id (the deal's `group`).
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// The pipeline's title.
    #[serde(default, deserialize_with = "decode::text")]
    pub title: String,
    /// Default currency of its deals, lower case.
    #[serde(default, deserialize_with = "decode::text")]
    pub currency: String,
}

/// A stage of a pipeline (`dealStage`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Stage {
    /// ActiveCampaign's stage id (the deal's `stage`).
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// The pipeline it belongs to (`group`).
    #[serde(default, rename = "group", deserialize_with = "decode::opt_ref")]
    pub pipeline_id: Option<i64>,
    /// The stage's title.
    #[serde(default, deserialize_with = "decode::text")]
    pub title: String,
    /// Position within the pipeline.
    #[serde(default, deserialize_with = "decode::opt_i64")]
    pub order: Option<i64>,
}

/// An account user (`/users`): deal owners, note and task authors.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    /// ActiveCampaign's user id (a deal's `owner`).
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// Login name.
    #[serde(default, deserialize_with = "decode::text")]
    pub username: String,
    /// First name.
    #[serde(default, rename = "firstName", deserialize_with = "decode::text")]
    pub first_name: String,
    /// Last name.
    #[serde(default, rename = "lastName", deserialize_with = "decode::text")]
    pub last_name: String,
    /// E-mail address.
    #[serde(default, deserialize_with = "decode::text")]
    pub email: String,
}

/// Every pipeline and every stage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pipelines {
    /// Pipelines in the order the API returned them.
    pub pipelines: Vec<Pipeline>,
    /// Stages of all pipelines, by id.
    pub stages: Vec<Stage>,
}

#[derive(Deserialize)]
struct RawTag {
    #[serde(deserialize_with = "decode::id")]
    id: i64,
    #[serde(default, deserialize_with = "decode::text")]
    tag: String,
    #[serde(default, rename = "tagType", deserialize_with = "decode::opt_text")]
    tag_type: Option<String>,
    #[serde(default, deserialize_with = "decode::text")]
    description: String,
}

offset_page!(TagsPage, "tags", RawTag);
offset_page!(ListsPage, "lists", List);
offset_page!(UsersPage, "users", User);

#[derive(Deserialize)]
struct PipelinesPage {
    #[serde(default, rename = "dealGroups", deserialize_with = "decode::list")]
    pipelines: Vec<Pipeline>,
    #[serde(default, rename = "dealStages", deserialize_with = "decode::list")]
    stages: Vec<Stage>,
}

#[derive(Deserialize)]
struct FieldsPage {
    #[serde(default, deserialize_with = "decode::list")]
    fields: Vec<Field>,
    #[serde(default, rename = "fieldOptions", deserialize_with = "decode::list")]
    options: Vec<FieldOption>,
}

impl OffsetPage for FieldsPage {
    fn len(&self) -> usize {
        self.fields.len()
    }

    fn first_id(&self) -> Option<i64> {
        self.fields.first().map(|f| f.id)
    }
}

impl OffsetPage for PipelinesPage {
    fn len(&self) -> usize {
        self.pipelines.len()
    }

    fn first_id(&self) -> Option<i64> {
        self.pipelines.first().map(|p| p.id)
    }
}

impl ApiClient {
    /// Every contact tag (template tags are left out).
    pub async fn tags(&self) -> Result<Vec<Tag>, ApiError> {
        let pages: Vec<TagsPage> = self.fetch_all_pages(|| Call::get("tags")).await?;
        Ok(pages
            .into_iter()
            .flat_map(|page| page.items)
            .filter(|t| t.tag_type.as_deref().is_none_or(|kind| kind == "contact"))
            .map(|t| Tag {
                id: t.id,
                name: t.tag,
                description: t.description,
            })
            .collect())
    }

    /// Every contact custom field definition, with the options sideloaded on its pages (no
    /// separate request for options).
    pub async fn fields(&self) -> Result<Fields, ApiError> {
        let pages: Vec<FieldsPage> = self.fetch_all_pages(|| Call::get("fields")).await?;
        let mut options = BTreeMap::new();
        let mut fields = Vec::new();
        for page in pages {
            fields.extend(page.fields);
            options.extend(page.options.into_iter().map(|o| (o.id, o)));
        }
        Ok(Fields {
            fields,
            options: options.into_values().collect(),
        })
    }

    /// Every list the API user may see.
    pub async fn lists(&self) -> Result<Vec<List>, ApiError> {
        let pages: Vec<ListsPage> = self.fetch_all_pages(|| Call::get("lists")).await?;
        Ok(pages.into_iter().flat_map(|page| page.items).collect())
    }

    /// Every user of the account.
    pub async fn users(&self) -> Result<Vec<User>, ApiError> {
        let pages: Vec<UsersPage> = self.fetch_all_pages(|| Call::get("users")).await?;
        Ok(pages.into_iter().flat_map(|page| page.items).collect())
    }

    /// Every pipeline with its stages, from `/dealGroups` and its sideloaded `dealStages`
    /// (no separate request for stages).
    pub async fn pipelines(&self) -> Result<Pipelines, ApiError> {
        let pages: Vec<PipelinesPage> = self.fetch_all_pages(|| Call::get("dealGroups")).await?;
        let mut stages = BTreeMap::new();
        let mut pipelines = Vec::new();
        for page in pages {
            pipelines.extend(page.pipelines);
            stages.extend(page.stages.into_iter().map(|s| (s.id, s)));
        }
        Ok(Pipelines {
            pipelines,
            stages: stages.into_values().collect(),
        })
    }
}

//! Webhook registration, the event catalogue, and the token check.

use std::fmt;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::client::ApiClient;
use super::decode;
use super::dimensions::User;
use super::error::ApiError;
use super::paging::offset_page;
use super::request::Call;

/// A registered webhook. Its URL carries the mirror's secret, so `Debug` shows only the host.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct Webhook {
    /// ActiveCampaign's webhook id.
    #[serde(deserialize_with = "decode::id")]
    pub id: i64,
    /// Display name.
    #[serde(default, deserialize_with = "decode::text")]
    pub name: String,
    /// Where deliveries go.
    #[serde(default, deserialize_with = "decode::text")]
    pub url: String,
    /// Event types delivered.
    #[serde(default, deserialize_with = "decode::text_list")]
    pub events: Vec<String>,
    /// Initiators included: `public`, `admin`, `api`, `system`.
    #[serde(default, deserialize_with = "decode::text_list")]
    pub sources: Vec<String>,
    /// The list list-scoped events are restricted to (`listid`); `None` for all lists.
    #[serde(default, rename = "listid", deserialize_with = "decode::opt_ref")]
    pub list_id: Option<i64>,
    /// Creation time.
    #[serde(default, deserialize_with = "decode::timestamp")]
    pub cdate: Option<DateTime<Utc>>,
}

/// What to register (create) or change (update) a webhook to.
#[derive(Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// Display name.
    pub name: String,
    /// Where deliveries go (carries the secret).
    pub url: String,
    /// Event types to deliver.
    pub events: Vec<String>,
    /// Initiators to include; all four (`public`, `admin`, `api`, `system`) for a mirror.
    pub sources: Vec<String>,
    /// Restrict list-scoped events to one list; `None` for all.
    pub list_id: Option<i64>,
}

impl NewWebhook {
    fn body(&self) -> serde_json::Value {
        let mut webhook = json!({
            "name": self.name,
            "url": self.url,
            "events": self.events,
            "sources": self.sources,
        });
        if let Some(list_id) = self.list_id {
            webhook["listid"] = json!(list_id);
        }
        json!({ "webhook": webhook })
    }
}

/// Shows a URL as `scheme://host/…` so that a secret path never reaches a log.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => format!(
            "{}://{}/…",
            parsed.scheme(),
            parsed.host_str().unwrap_or_default()
        ),
        Err(_) => "(unparsable URL)".to_owned(),
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("url", &redact_url(&self.url))
            .field("events", &self.events)
            .field("sources", &self.sources)
            .field("list_id", &self.list_id)
            .field("cdate", &self.cdate)
            .finish()
    }
}

impl fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewWebhook")
            .field("name", &self.name)
            .field("url", &redact_url(&self.url))
            .field("events", &self.events)
            .field("sources", &self.sources)
            .field("list_id", &self.list_id)
            .finish()
    }
}

offset_page!(WebhooksPage, "webhooks", Webhook);

#[derive(Deserialize)]
struct OneWebhook {
    webhook: Webhook,
}

#[derive(Deserialize)]
struct OneUser {
    user: User,
}

#[derive(Deserialize)]
struct EventTypes {
    #[serde(
        default,
        rename = "webhookEvents",
        deserialize_with = "decode::text_list"
    )]
    events: Vec<String>,
}

impl ApiClient {
    /// The user the token belongs to: the cheapest way to check URL and token. One request.
    pub async fn users_me(&self) -> Result<User, ApiError> {
        Ok(self.fetch::<OneUser>(Call::get("users/me")).await?.user)
    }

    /// Registered webhooks, all or only those pointing at `url` exactly. The URL filter is
    /// also applied here, because the API silently ignores filters it does not know.
    pub async fn list_webhooks(&self, url: Option<&str>) -> Result<Vec<Webhook>, ApiError> {
        let make_call = || {
            let call = Call::get("webhooks");
            match url {
                Some(url) => call.param("filters[url]", url),
                None => call,
            }
        };
        let pages: Vec<WebhooksPage> = self.fetch_all_pages(make_call).await?;
        Ok(pages
            .into_iter()
            .flat_map(|page| page.items)
            .filter(|hook| url.is_none_or(|url| hook.url == url))
            .collect())
    }

    /// Registers a webhook.
    pub async fn create_webhook(&self, hook: &NewWebhook) -> Result<Webhook, ApiError> {
        let call = Call::new(Method::POST, "webhooks").json(hook.body());
        Ok(self.fetch::<OneWebhook>(call).await?.webhook)
    }

    /// Replaces a webhook's settings; `None` if it no longer exists.
    pub async fn update_webhook(
        &self,
        id: i64,
        hook: &NewWebhook,
    ) -> Result<Option<Webhook>, ApiError> {
        let call = Call::new(Method::PUT, format!("webhooks/{id}")).json(hook.body());
        Ok(self
            .fetch_optional::<OneWebhook>(call)
            .await?
            .map(|one| one.webhook))
    }

    /// Deletes a webhook; `false` if it did not exist.
    pub async fn delete_webhook(&self, id: i64) -> Result<bool, ApiError> {
        self.send_ignoring_body(Call::new(Method::DELETE, format!("webhooks/{id}")))
            .await
    }

    /// The event types this account can deliver (`/webhook/events`, singular `webhook`).
    pub async fn webhook_events(&self) -> Result<Vec<String>, ApiError> {
        let call = Call::get("webhook/events").param("limit", 100);
        Ok(self.fetch::<EventTypes>(call).await?.events)
    }
}

//! Pointing the account's webhook at this mirror (`acmirror register-webhook`).
//!
//! Idempotent: a webhook with exactly our URL is left alone (or updated when its events or
//! sources differ); an older acmirror webhook on the same public URL but another secret is
//! moved to the new URL; only when neither exists is one created. Running it twice never
//! makes two webhooks, which would double every delivery.

use std::collections::BTreeSet;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::activecampaign::{ApiClient, ApiError, NewWebhook, Webhook};
use crate::webhook::kind::EventKind;

/// Every initiator: a mirror wants changes whoever made them.
pub const ALL_SOURCES: &[&str] = &["public", "admin", "api", "system"];

/// The name given to the webhook this command creates.
pub const WEBHOOK_NAME: &str = "acmirror";

/// The path below the public URL where the mirror receives deliveries.
const HOOK_PATH: &str = "/webhooks/activecampaign/";

/// What to register.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The mirror's public base URL, e.g. `https://mirror.example.com`.
    pub public_url: String,
    /// The webhook secret (path segment).
    pub secret: SecretString,
    /// Event types; `None` for the kinds that change the mirror
    /// ([`EventKind::mirrored_names`]) that the account offers.
    pub events: Option<Vec<String>>,
    /// Sources; usually [`ALL_SOURCES`].
    pub sources: Vec<String>,
}

/// What `register` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A new webhook was created.
    Created,
    /// An existing webhook was changed.
    Updated,
    /// The webhook was already as wanted.
    Unchanged,
}

/// The result of a registration. Holds no secret: the URL is masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registered {
    /// Created, updated or unchanged.
    pub action: Action,
    /// ActiveCampaign's webhook id.
    pub webhook_id: i64,
    /// The webhook URL with the secret masked.
    pub masked_url: String,
    /// Event types now delivered.
    pub events: Vec<String>,
    /// Sources now included.
    pub sources: Vec<String>,
    /// Mirrored event types the account does not offer (so not subscribed).
    pub unavailable_events: Vec<String>,
    /// Other webhooks that also point at this mirror's URL prefix (duplicates to remove).
    pub other_hooks: Vec<i64>,
}

/// Why registration failed.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The request itself is wrong (bad URL, unknown event or source): fix the arguments.
    #[error("{0}")]
    Usage(String),
    /// The API refused or failed.
    #[error("Failed to register the webhook through the ActiveCampaign API: {0}")]
    Api(#[from] ApiError),
}

/// The full webhook URL: `<public URL without trailing slash>/webhooks/activecampaign/<secret>`.
pub fn webhook_url(public_url: &str, secret: &SecretString) -> String {
    format!("{}{HOOK_PATH}{}", base(public_url), secret.expose_secret())
}

/// The public base URL: `--url` may be the base or the full webhook URL that `serve` prints
/// (masked or not); the webhook path and anything after it are dropped.
fn base(public_url: &str) -> &str {
    let url = public_url.trim();
    let url = match url.find(HOOK_PATH.trim_end_matches('/')) {
        Some(i) => &url[..i],
        None => url,
    };
    url.trim_end_matches('/')
}

/// The secret segment of a full webhook URL given as `--url`, if any.
fn given_secret(public_url: &str) -> Option<&str> {
    let url = public_url.trim();
    let i = url.find(HOOK_PATH)?;
    Some(url[i + HOOK_PATH.len()..].trim_end_matches('/')).filter(|s| !s.is_empty())
}

/// A full webhook URL as `--url` must carry this mirror's secret, or its masked form.
fn check_given_secret(public_url: &str, secret: &SecretString) -> Result<(), RegisterError> {
    match given_secret(public_url) {
        Some(s) if s != secret.expose_secret() && !s.contains(['…', '*']) => {
            Err(RegisterError::Usage(
                "--url ends in a webhook secret that is not this mirror's (ACMIRROR_WEBHOOK_SECRET); give the mirror's public base URL, e.g. https://mirror.example.com".to_owned(),
            ))
        }
        _ => Ok(()),
    }
}

/// A webhook URL with its secret replaced by `****` (no character of it is shown).
pub fn mask_url(url: &str) -> String {
    match url.rfind(HOOK_PATH) {
        Some(i) => {
            let (head, _secret) = url.split_at(i + HOOK_PATH.len());
            format!("{head}****")
        }
        None => url::Url::parse(url).map_or_else(
            |_| "(unparsable URL)".to_owned(),
            |u| format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or_default()),
        ),
    }
}

/// Checks the public URL; returns a warning when ActiveCampaign will not deliver to it.
pub fn check_public_url(public_url: &str) -> Result<Option<String>, RegisterError> {
    let parsed = url::Url::parse(base(public_url)).map_err(|e| {
        RegisterError::Usage(format!(
            "--url {public_url:?} is not a URL ({e}); give the mirror's public base URL, e.g. https://mirror.example.com"
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(RegisterError::Usage(format!(
            "--url {public_url:?} must be an https:// URL with a host"
        )));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(RegisterError::Usage(
            "--url must not carry a query or fragment".to_owned(),
        ));
    }
    let https_443 = parsed.scheme() == "https" && parsed.port_or_known_default() == Some(443);
    Ok((!https_443).then(|| {
        format!(
            "{} is not https:// on port 443: ActiveCampaign only posts HTTPS to port 443, so deliveries will not arrive; put an HTTPS proxy on port 443 in front of the mirror",
            base(public_url)
        )
    }))
}

/// Registers or updates the account's webhook so that it points at this mirror.
pub async fn register(client: &ApiClient, reg: &Registration) -> Result<Registered, RegisterError> {
    check_public_url(&reg.public_url)?;
    check_given_secret(&reg.public_url, &reg.secret)?;
    check_sources(&reg.sources)?;
    let offered = client.webhook_events().await?;
    let (events, unavailable_events) = choose_events(reg.events.as_deref(), &offered)?;
    let url = webhook_url(&reg.public_url, &reg.secret);
    let wanted = NewWebhook {
        name: WEBHOOK_NAME.to_owned(),
        url: url.clone(),
        events,
        sources: reg.sources.clone(),
        list_id: None,
    };
    let hooks = client.list_webhooks(None).await?;
    let prefix = format!("{}{HOOK_PATH}", base(&reg.public_url));
    let exact = hooks.iter().find(|h| h.url == url);
    let older = hooks
        .iter()
        .find(|h| h.url != url && h.url.starts_with(&prefix));
    let (action, hook) = match exact.or(older) {
        Some(h) if h.url == url && same_settings(h, &wanted) => (Action::Unchanged, h.clone()),
        Some(h) => match client.update_webhook(h.id, &wanted).await? {
            Some(updated) => (Action::Updated, updated),
            // Deleted between our list and our update: create it afresh.
            None => (Action::Created, client.create_webhook(&wanted).await?),
        },
        None => (Action::Created, client.create_webhook(&wanted).await?),
    };
    let other_hooks = hooks
        .iter()
        .filter(|h| h.id != hook.id && h.url.starts_with(&prefix))
        .map(|h| h.id)
        .collect();
    Ok(Registered {
        action,
        webhook_id: hook.id,
        masked_url: mask_url(&url),
        events: wanted.events,
        sources: wanted.sources,
        unavailable_events,
        other_hooks,
    })
}

fn check_sources(sources: &[String]) -> Result<(), RegisterError> {
    let unknown: Vec<&str> = sources
        .iter()
        .map(String::as_str)
        .filter(|s| !ALL_SOURCES.contains(s))
        .collect();
    if sources.is_empty() || !unknown.is_empty() {
        return Err(RegisterError::Usage(format!(
            "--sources: unknown source(s) {unknown:?}; choose from {}",
            ALL_SOURCES.join(",")
        )));
    }
    Ok(())
}

/// The events to subscribe, and the mirrored ones the account does not offer. Explicitly
/// requested events must all be offered: ActiveCampaign would reject the webhook otherwise.
/// `all` is every event the account offers, engagement events (one delivery per recipient and
/// event) included.
fn choose_events(
    requested: Option<&[String]>,
    offered: &[String],
) -> Result<(Vec<String>, Vec<String>), RegisterError> {
    let is_offered = |e: &str| offered.iter().any(|o| o == e);
    match requested {
        Some([all]) if all == "all" => {
            let missing = EventKind::mirrored_names()
                .into_iter()
                .filter(|e| !is_offered(e))
                .map(String::from)
                .collect();
            Ok((offered.to_vec(), missing))
        }
        Some(events) => {
            let unknown: Vec<&str> = events
                .iter()
                .map(String::as_str)
                .filter(|e| !is_offered(e))
                .collect();
            if events.is_empty() || !unknown.is_empty() {
                return Err(RegisterError::Usage(format!(
                    "--events: the account does not offer {unknown:?}; it offers {}",
                    offered.join(",")
                )));
            }
            Ok((events.to_vec(), Vec::new()))
        }
        None => {
            let (yes, no): (Vec<&str>, Vec<&str>) = EventKind::mirrored_names()
                .into_iter()
                .partition(|e| is_offered(e));
            if yes.is_empty() {
                return Err(RegisterError::Usage(
                    "the account offers none of the event types the mirror uses".to_owned(),
                ));
            }
            let owned = |v: Vec<&str>| v.into_iter().map(String::from).collect();
            Ok((owned(yes), owned(no)))
        }
    }
}

/// Events and sources compared as sets: the API does not promise to keep their order.
fn same_settings(hook: &Webhook, wanted: &NewWebhook) -> bool {
    let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<String>>();
    set(&hook.events) == set(&wanted.events) && set(&hook.sources) == set(&wanted.sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_joins_without_a_double_slash_and_masks_the_secret() {
        let secret = SecretString::from("abcdefghij");
        let url = webhook_url("https://m.example.com/base/", &secret);
        assert_eq!(
            url,
            "https://m.example.com/base/webhooks/activecampaign/abcdefghij"
        );
        assert_eq!(
            mask_url(&url),
            "https://m.example.com/base/webhooks/activecampaign/****"
        );
    }

    #[test]
    fn the_full_webhook_url_is_taken_as_its_base() {
        let secret = SecretString::from("abcdefghijklmnopqr");
        let want = "https://m.example.com/base/webhooks/activecampaign/abcdefghijklmnopqr";
        for given in [
            "https://m.example.com/base",
            "https://m.example.com/base/webhooks/activecampaign/abcdefghijklmnopqr",
            "https://m.example.com/base/webhooks/activecampaign/abcdefghijklmnopqr/",
            "https://m.example.com/base/webhooks/activecampaign/****",
            "https://m.example.com/base/webhooks/activecampaign/",
            "https://m.example.com/base/webhooks/activecampaign",
        ] {
            assert_eq!(webhook_url(given, &secret), want, "{given}");
            assert!(check_given_secret(given, &secret).is_ok(), "{given}");
        }
        let other = "https://m.example.com/base/webhooks/activecampaign/someoneelsessecret";
        let err = check_given_secret(other, &secret).expect_err("another mirror's secret");
        assert!(!err.to_string().contains("someoneelsessecret"));
        assert!(!err.to_string().contains(secret.expose_secret()));
    }

    #[test]
    fn only_https_on_443_goes_without_a_warning() {
        let ok = |u: &str| check_public_url(u).expect("valid URL");
        assert!(ok("https://m.example.com").is_none());
        assert!(ok("https://m.example.com:443/").is_none());
        assert!(ok("https://m.example.com:8443").is_some());
        assert!(ok("http://m.example.com").is_some());
        assert!(check_public_url("not a url").is_err());
    }

    #[test]
    fn default_events_are_the_mirrored_ones_the_account_offers() {
        let offered = ["update", "open", "deal_add"].map(String::from);
        let (events, missing) = choose_events(None, &offered).expect("some offered");
        assert_eq!(events, ["update", "deal_add"]);
        assert!(missing.contains(&"subscribe".to_owned()));
        let err = choose_events(Some(&["bogus".to_owned()]), &offered).expect_err("unknown");
        assert!(err.to_string().contains("bogus"));
    }

    #[test]
    fn all_is_every_event_the_account_offers() {
        let offered = ["update", "open", "click", "deal_add"].map(String::from);
        let (events, missing) =
            choose_events(Some(&["all".to_owned()]), &offered).expect("some offered");
        assert_eq!(events, offered);
        assert!(missing.contains(&"subscribe".to_owned()));
    }
}

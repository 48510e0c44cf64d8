//! The client handle, its configuration, and base URL normalisation.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::error::ApiError;
use super::retry::RetryPolicy;
use super::stats::{ApiStats, StatsSnapshot};
use super::throttle::Throttle;
use super::upstream_clock::UpstreamClock;

/// Requests per second when `ACMIRROR_AC_RATE_LIMIT` is not set: below the account's 5/s so
/// that other integrations keep working.
pub const DEFAULT_RATE_LIMIT: f64 = 4.0;

/// Everything needed to build an [`ApiClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `ACMIRROR_AC_API_URL`: `https://acct.api-us1.com`, with or without `/api/3`.
    pub base_url: String,
    /// `ACMIRROR_AC_API_TOKEN`, sent as the `Api-Token` header.
    pub token: SecretString,
    /// `ACMIRROR_AC_RATE_LIMIT`: requests per second for the whole process (may be fractional).
    pub rate_limit: f64,
    /// How transient failures are retried.
    pub retry: RetryPolicy,
    /// Limit on establishing a connection.
    pub connect_timeout: Duration,
    /// Limit on a whole request, body included.
    pub request_timeout: Duration,
}

impl ClientConfig {
    /// A configuration with the default rate limit, retry policy and timeouts.
    pub fn new(base_url: impl Into<String>, token: SecretString) -> Self {
        Self {
            base_url: base_url.into(),
            token,
            rate_limit: DEFAULT_RATE_LIMIT,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// A client for the ActiveCampaign API v3. Cheap to clone; every clone shares one connection
/// pool, one rate limit and one set of counters.
#[derive(Clone)]
pub struct ApiClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    /// Always ends in `/api/3/`, so endpoint paths join below it.
    pub(crate) base: Url,
    pub(crate) throttle: Throttle,
    pub(crate) stats: ApiStats,
    pub(crate) retry: RetryPolicy,
    /// ActiveCampaign's clock, learnt from response `Date` headers.
    pub(crate) upstream: UpstreamClock,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.inner.base.as_str())
            .field("stats", &self.inner.stats.snapshot())
            .finish_non_exhaustive()
    }
}

impl ApiClient {
    /// Builds a client, checking the URL, token and rate limit. Sends no request; call
    /// [`ApiClient::users_me`] to check the token.
    pub fn new(config: ClientConfig) -> Result<Self, ApiError> {
        let base = normalize_base_url(&config.base_url)?;
        let throttle = Throttle::new(config.rate_limit)
            .ok_or(ApiError::InvalidRateLimit(config.rate_limit))?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("acmirror/", env!("CARGO_PKG_VERSION")))
            .default_headers(default_headers(&config.token)?)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .build()
            .map_err(ApiError::ClientSetup)?;
        let mut retry = config.retry;
        retry.max_attempts = retry.max_attempts.max(1);
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                throttle,
                stats: ApiStats::default(),
                retry,
                upstream: UpstreamClock::default(),
            }),
        })
    }

    /// The normalised API root, ending in `/api/3/`.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// ActiveCampaign's current time, from the offset of its clock that response `Date`
    /// headers showed (the host's time before the first response). Versions of what the API
    /// shows must come from this clock, never the host's: the two may be minutes apart.
    pub fn upstream_now(&self) -> DateTime<Utc> {
        self.inner.upstream.now()
    }

    /// How far ActiveCampaign's clock is ahead of the host's (negative: behind), once a
    /// response has shown it.
    pub fn upstream_offset(&self) -> Option<chrono::Duration> {
        self.inner.upstream.offset()
    }

    /// Counters of everything this client (and its clones) sent and received so far.
    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats.snapshot()
    }
}

fn default_headers(token: &SecretString) -> Result<HeaderMap, ApiError> {
    let token = token.expose_secret().trim();
    if token.is_empty() {
        return Err(ApiError::InvalidToken("empty"));
    }
    let mut value = HeaderValue::from_str(token)
        .map_err(|_| ApiError::InvalidToken("not a valid HTTP header value"))?;
    // Sensitive values are redacted by the http crate's Debug and kept out of HPACK tables.
    value.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert("Api-Token", value);
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    Ok(headers)
}

/// Turns the configured API URL into the API root: `https://host[/prefix]/api/3/`.
///
/// Accepts the URL with or without `/api/3` and trailing slashes; drops any query or
/// fragment. Refuses other schemes and embedded credentials (the token has its own setting).
pub fn normalize_base_url(raw: &str) -> Result<Url, ApiError> {
    let trimmed = raw.trim();
    let refuse = |reason: &str| ApiError::InvalidBaseUrl {
        url: trimmed.to_owned(),
        reason: reason.to_owned(),
    };
    let mut url = Url::parse(trimmed).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => {
            refuse("it must start with https:// (or http:// for a local simulator)")
        }
        other => refuse(&other.to_string()),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse("only http and https URLs are supported"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refuse("it has no host name"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiError::InvalidBaseUrl {
            url: "(redacted: contains credentials)".to_owned(),
            reason: "credentials in the URL are not supported; put the key in \
                     ACMIRROR_AC_API_TOKEN"
                .to_owned(),
        });
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/');
    let prefix = path.strip_suffix("/api/3").unwrap_or(path).to_owned();
    url.set_path(&format!("{prefix}/api/3/"));
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(raw: &str) -> String {
        normalize_base_url(raw)
            .expect("URL is accepted")
            .to_string()
    }

    #[test]
    fn base_urls_are_normalised_with_or_without_api_3() {
        let want = "https://acct.api-us1.com/api/3/";
        for raw in [
            "https://acct.api-us1.com",
            "https://acct.api-us1.com/",
            "https://acct.api-us1.com/api/3",
            "https://acct.api-us1.com/api/3/",
            "  https://acct.api-us1.com/api/3//  ",
            "https://acct.api-us1.com/api/3?x=1#frag",
        ] {
            assert_eq!(normalized(raw), want, "{raw}");
        }
        assert_eq!(
            normalized("http://127.0.0.1:9000/proxy/"),
            "http://127.0.0.1:9000/proxy/api/3/"
        );
    }

    #[test]
    fn unusable_base_urls_are_refused_naming_the_setting() {
        for raw in [
            "ftp://acct.api-us1.com",
            "acct.api-us1.com",
            "",
            "https://user:pw@acct.api-us1.com",
        ] {
            let err = normalize_base_url(raw).expect_err("URL is refused");
            let message = err.to_string();
            assert!(message.contains("ACMIRROR_AC_API_URL"), "{message}");
            assert!(!message.contains("pw@"), "{message}");
        }
    }

    #[test]
    fn bad_tokens_and_rates_are_refused_without_echoing_the_token() {
        let config = |token: &str| ClientConfig::new("https://a.api-us1.com", token.into());
        let err = ApiClient::new(config("")).expect_err("empty token");
        assert!(err.to_string().contains("ACMIRROR_AC_API_TOKEN"));
        let err = ApiClient::new(config("sec\nret")).expect_err("newline in token");
        assert!(!err.to_string().contains("sec"));
        let mut slow = config("token");
        slow.rate_limit = 0.0;
        let err = ApiClient::new(slow).expect_err("zero rate");
        assert!(err.to_string().contains("ACMIRROR_AC_RATE_LIMIT"));
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let config = ClientConfig::new("https://a.api-us1.com", "s3cr3t-token".into());
        assert!(!format!("{config:?}").contains("s3cr3t-token"));
        let client = ApiClient::new(config).expect("valid config");
        assert!(!format!("{client:?}").contains("s3cr3t-token"));
    }
}

//! Sending one API call: throttle, send, classify, retry.

use std::error::Error as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use super::client::ApiClient;
use super::error::{message_suffix, ApiError};
use super::retry::{classify, StatusClass};
use super::upstream_clock::date_header;

/// One logical API call, which may take several requests. Deliberately not `Debug`: its query
/// or body may carry the webhook URL with the mirror's secret.
pub(crate) struct Call {
    pub(crate) method: Method,
    /// Relative to the API root, without a leading slash (`contacts/5`).
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<serde_json::Value>,
    /// Fail at once with [`ApiError::PageTooHeavy`] on a timeout or a cut-off body, so that
    /// the caller can ask for a smaller page instead of the same one again.
    pub(crate) shrinkable: bool,
}

impl Call {
    /// A GET of `path` with no parameters yet.
    pub(crate) fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    pub(crate) fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            shrinkable: false,
        }
    }

    /// Marks a page request whose size the caller can lower (see [`Call::shrinkable`]).
    pub(crate) fn shrinkable(mut self) -> Self {
        self.shrinkable = true;
        self
    }

    /// Adds a query parameter.
    pub(crate) fn param(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }

    /// Sets a JSON body.
    pub(crate) fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// The verdict on one request.
enum Step<T> {
    Done(Option<T>),
    Fail(ApiError),
    Retry(Retry),
}

/// A transient failure, and what it allows.
struct Retry {
    reason: String,
    /// Server-requested wait (`Retry-After`), applied to the whole client.
    pause_all: Option<Duration>,
    /// The server surely did not act on the request, so even a POST may be repeated.
    unprocessed: bool,
    /// A timeout, or a body cut off or unreadable: what a response too big for the
    /// connection looks like.
    heavy: bool,
}

impl Retry {
    fn after(reason: String) -> Self {
        Self {
            reason,
            pause_all: None,
            unprocessed: false,
            heavy: false,
        }
    }
}

impl From<reqwest::Error> for Retry {
    fn from(error: reqwest::Error) -> Self {
        let heavy =
            !error.is_connect() && (error.is_timeout() || error.is_body() || error.is_decode());
        Self {
            unprocessed: error.is_connect(),
            heavy,
            ..Retry::after(describe(error))
        }
    }
}

/// How a 2xx response body becomes a value.
type Decoder<T> = fn(&[u8]) -> Result<T, serde_json::Error>;

/// What came back from one request.
struct Reply {
    status: StatusCode,
    retry_after: Option<Duration>,
    /// When ActiveCampaign's clock says it answered: the `Date` header, or the client's
    /// estimate of that clock when the header is missing.
    served_at: DateTime<Utc>,
    body: Vec<u8>,
}

impl ApiClient {
    /// Sends `call` and decodes a 2xx JSON body into `T`; a 404 is an error.
    pub(crate) async fn fetch<T: DeserializeOwned>(&self, call: Call) -> Result<T, ApiError> {
        let path = call.path.clone();
        let method = call.method.clone();
        self.fetch_optional(call)
            .await?
            .ok_or_else(|| ApiError::Rejected {
                method: method.to_string(),
                path: self.display_path(&path),
                status: 404,
                message: ": not found".to_owned(),
            })
    }

    /// Sends `call` and decodes a 2xx JSON body into `T`; a 404 is `Ok(None)`.
    pub(crate) async fn fetch_optional<T: DeserializeOwned>(
        &self,
        call: Call,
    ) -> Result<Option<T>, ApiError> {
        self.execute(&call, |body| serde_json::from_slice(body))
            .await
            .map(|(value, _)| value)
    }

    /// Like [`ApiClient::fetch`], also returning when ActiveCampaign served the answer, by its
    /// own clock (see [`Reply::served_at`]).
    pub(crate) async fn fetch_dated<T: DeserializeOwned>(
        &self,
        call: Call,
    ) -> Result<(T, DateTime<Utc>), ApiError> {
        let path = call.path.clone();
        let method = call.method.clone();
        match self
            .execute(&call, |body| serde_json::from_slice(body))
            .await?
        {
            (Some(value), served_at) => Ok((value, served_at)),
            (None, _) => Err(ApiError::Rejected {
                method: method.to_string(),
                path: self.display_path(&path),
                status: 404,
                message: ": not found".to_owned(),
            }),
        }
    }

    /// Sends `call` ignoring any 2xx body; `Ok(false)` on 404.
    pub(crate) async fn send_ignoring_body(&self, call: Call) -> Result<bool, ApiError> {
        let (done, _) = self.execute(&call, |_| Ok(())).await?;
        Ok(done.is_some())
    }

    async fn execute<T>(
        &self,
        call: &Call,
        decode: Decoder<T>,
    ) -> Result<(Option<T>, DateTime<Utc>), ApiError> {
        let url = self.url_for(call);
        let mut auth_failures = 0;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.inner.throttle.acquire().await;
            self.inner.stats.request_sent();
            let retry = match self.send_once(call, &url).await {
                Ok(reply) => match self.judge(&reply, decode, &mut auth_failures) {
                    Step::Done(value) => return Ok((value, reply.served_at)),
                    Step::Fail(error) => return Err(error.at(call.method.as_str(), url.path())),
                    Step::Retry(retry) => retry,
                },
                Err(retry) => retry,
            };
            self.prepare_retry(call, &url, attempt, retry).await?;
        }
    }

    /// Gives up, or waits (alone, or with the whole client on `Retry-After`) before the next
    /// attempt.
    async fn prepare_retry(
        &self,
        call: &Call,
        url: &Url,
        attempt: u32,
        retry: Retry,
    ) -> Result<(), ApiError> {
        let method = call.method.to_string();
        let path = url.path().to_owned();
        let Retry {
            reason,
            pause_all,
            unprocessed,
            heavy,
        } = retry;
        if heavy && call.shrinkable {
            return Err(ApiError::PageTooHeavy {
                method,
                path,
                last: reason,
            });
        }
        if !unprocessed && !call.method.is_idempotent() {
            return Err(ApiError::Uncertain {
                method,
                path,
                last: reason,
            });
        }
        let policy = &self.inner.retry;
        if attempt >= policy.max_attempts {
            return Err(ApiError::Exhausted {
                method,
                path,
                attempts: attempt,
                last: reason,
            });
        }
        let wait = pause_all.unwrap_or_else(|| policy.backoff(attempt));
        tracing::warn!(
            %method, %path, attempt, %reason,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            whole_client = pause_all.is_some(),
            "ActiveCampaign request failed, retrying"
        );
        self.inner.stats.retried();
        match pause_all {
            Some(wait) => self.inner.throttle.pause_for(wait),
            None => tokio::time::sleep(wait).await,
        }
        Ok(())
    }

    /// Sends one request and reads the whole body. A failure is described without the URL
    /// (which never carries the token anyway).
    async fn send_once(&self, call: &Call, url: &Url) -> Result<Reply, Retry> {
        let mut request = self.inner.http.request(call.method.clone(), url.clone());
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let retry_after = self.inner.retry.retry_after(response.headers());
        let served_at = match date_header(response.headers()) {
            Some(date) => {
                self.inner.upstream.observe(date, chrono::Utc::now());
                date
            }
            None => self.inner.upstream.now(),
        };
        tracing::debug!(
            method = %call.method, path = url.path(), status = status.as_u16(),
            "ActiveCampaign response"
        );
        let body = response.bytes().await?.to_vec();
        Ok(Reply {
            status,
            retry_after,
            served_at,
            body,
        })
    }

    /// Decides what a response means. Errors are returned without method and path, which
    /// [`ApiError::at`] fills in.
    fn judge<T>(&self, reply: &Reply, decode: Decoder<T>, auth_failures: &mut u32) -> Step<T> {
        let code = reply.status.as_u16();
        let class = classify(reply.status);
        if class == StatusClass::Success {
            return decode_step(code, &reply.body, decode);
        }
        // Only error bodies carry a message; parsing a 100-contact page for one cost about a
        // tenth of a full reconciliation's CPU.
        let message = message_suffix(&reply.body);
        match class {
            StatusClass::Success => decode_step(code, &reply.body, decode),
            StatusClass::NotFound => Step::Done(None),
            StatusClass::RateLimited => {
                self.inner.stats.rate_limited();
                let wait = reply
                    .retry_after
                    .unwrap_or_else(|| self.inner.retry.backoff(1));
                Step::Retry(Retry {
                    pause_all: Some(wait),
                    // ActiveCampaign refuses over-limit requests before acting on them.
                    unprocessed: true,
                    ..Retry::after(format!("HTTP 429{message}"))
                })
            }
            StatusClass::ServerError => {
                if reply.status.is_server_error() {
                    self.inner.stats.server_error();
                }
                Step::Retry(Retry {
                    pause_all: reply.retry_after,
                    // 503 is how the rate limit shows under bursts; nothing was done.
                    unprocessed: code == 503,
                    ..Retry::after(format!("HTTP {code}{message}"))
                })
            }
            StatusClass::Auth => {
                *auth_failures += 1;
                // ActiveCampaign answers 403 intermittently; one repeat tells that from a bad
                // key. A refused request was not acted upon.
                if *auth_failures >= 2 || self.inner.retry.max_attempts < 2 {
                    return Step::Fail(ApiError::unauthorized(code, message));
                }
                Step::Retry(Retry {
                    unprocessed: true,
                    ..Retry::after(format!("HTTP {code}{message}"))
                })
            }
            StatusClass::Payment => Step::Fail(ApiError::payment_required(message)),
            StatusClass::Fatal => Step::Fail(ApiError::rejected(code, message)),
        }
    }

    fn url_for(&self, call: &Call) -> Url {
        let mut url = self.endpoint(&call.path);
        if !call.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&call.query);
        }
        url
    }

    fn endpoint(&self, path: &str) -> Url {
        self.inner
            .base
            .join(path.trim_start_matches('/'))
            .expect("a relative path always joins onto an http(s) base URL")
    }

    /// The absolute path of an endpoint, as error messages show it.
    pub(crate) fn display_path(&self, path: &str) -> String {
        self.endpoint(path).path().to_owned()
    }
}

/// Decodes a 2xx body. Broken JSON (cut off, an HTML page from a proxy) is worth another
/// request; well-formed JSON of the wrong shape is not, the answer would be the same.
fn decode_step<T>(code: u16, body: &[u8], decode: Decoder<T>) -> Step<T> {
    match decode(body) {
        Ok(value) => Step::Done(Some(value)),
        Err(e) if e.is_data() => Step::Fail(ApiError::unexpected_shape(e.to_string())),
        Err(e) => Step::Retry(Retry {
            heavy: true,
            ..Retry::after(format!("HTTP {code} with an unreadable body ({e})"))
        }),
    }
}

/// A transport error with its causes ("error sending request: connection refused"), without
/// the URL.
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activecampaign::{ClientConfig, RetryPolicy};

    fn client() -> ApiClient {
        ApiClient::new(ClientConfig::new("https://acct.api-us1.com", "t".into()))
            .expect("valid config")
    }

    fn reply(status: u16, retry_after: Option<u64>) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).expect("valid status"),
            retry_after: retry_after.map(Duration::from_secs),
            served_at: Utc::now(),
            body: b"{}".to_vec(),
        }
    }

    fn verdict(status: u16, retry_after: Option<u64>) -> Retry {
        let mut auth_failures = 0;
        match client().judge::<()>(&reply(status, retry_after), |_| Ok(()), &mut auth_failures) {
            Step::Retry(retry) => retry,
            Step::Done(_) | Step::Fail(_) => panic!("HTTP {status} should be retried"),
        }
    }

    #[test]
    fn retry_after_on_429_pauses_the_whole_client_for_that_long() {
        let retry = verdict(429, Some(30));
        assert_eq!(retry.pause_all, Some(Duration::from_secs(30)));
        assert!(retry.unprocessed);
    }

    #[test]
    fn a_429_without_retry_after_still_pauses_everyone_briefly() {
        let pause = verdict(429, None).pause_all.expect("a pause");
        assert!(pause > Duration::ZERO && pause <= RetryPolicy::default().base_delay);
    }

    #[test]
    fn server_errors_back_off_alone_unless_told_how_long() {
        assert_eq!(verdict(502, None).pause_all, None);
        assert!(!verdict(502, None).unprocessed);
        assert!(verdict(503, None).unprocessed);
        assert_eq!(
            verdict(503, Some(4)).pause_all,
            Some(Duration::from_secs(4))
        );
    }
}

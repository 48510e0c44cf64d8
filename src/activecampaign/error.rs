//! The client's error type and the lenient reading of ActiveCampaign error bodies.
//!
//! Every message names the endpoint and says what to do next. None of them can contain the
//! API token: it only ever travels in a sensitive header, and reqwest errors are stripped of
//! their URL before they are kept.

use serde_json::Value;

/// Everything that can go wrong when talking to the ActiveCampaign API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The configured base URL cannot be used.
    #[error(
        "ACMIRROR_AC_API_URL {url:?} is not usable: {reason}; copy the API URL from \
         ActiveCampaign's Settings > Developer page (e.g. https://youraccount.api-us1.com)"
    )]
    InvalidBaseUrl {
        /// The URL as configured.
        url: String,
        /// Why it was refused.
        reason: String,
    },

    /// The configured API token cannot be sent as a header (empty or with control characters).
    #[error(
        "ACMIRROR_AC_API_TOKEN is {0}; copy the key from ActiveCampaign's Settings > Developer page"
    )]
    InvalidToken(&'static str),

    /// The configured rate limit is not a positive, finite number.
    #[error("ACMIRROR_AC_RATE_LIMIT must be a positive number of requests per second, got {0}")]
    InvalidRateLimit(f64),

    /// The HTTP client could not be built (TLS backend initialisation).
    #[error("could not set up the HTTP client for the ActiveCampaign API: {0}")]
    ClientSetup(#[source] reqwest::Error),

    /// 401 or 403 twice in a row: the token is wrong, revoked or lacks permissions.
    #[error(
        "ActiveCampaign refused the API token on {method} {path} (HTTP {status}{message}); \
         check that ACMIRROR_AC_API_TOKEN is a valid key of a user with permission to read \
         contacts, deals, lists and settings (an admin user's key is best)"
    )]
    Unauthorized {
        /// HTTP method.
        method: String,
        /// Endpoint path below `/api/3`.
        path: String,
        /// 401 or 403.
        status: u16,
        /// The API's own message, prefixed with ": ", or empty.
        message: String,
    },

    /// 402: the account cannot be used until its billing is fixed. Never retried.
    #[error(
        "the ActiveCampaign account has a payment problem (HTTP 402 on {method} {path}{message}); \
         resolve billing in ActiveCampaign, then run again"
    )]
    PaymentRequired {
        /// HTTP method.
        method: String,
        /// Endpoint path below `/api/3`.
        path: String,
        /// The API's own message, prefixed with ": ", or empty.
        message: String,
    },

    /// A 4xx other than 401/402/403/429 (and 404 where absence is not an answer).
    #[error(
        "ActiveCampaign rejected {method} {path} (HTTP {status}{message}); this is not \
         retried, check the request parameters and the account's configuration"
    )]
    Rejected {
        /// HTTP method.
        method: String,
        /// Endpoint path below `/api/3`.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The API's own message, prefixed with ": ", or empty.
        message: String,
    },

    /// A 2xx answer whose JSON does not have the documented shape. Not retried: the same
    /// request would get the same answer.
    #[error(
        "ActiveCampaign answered {method} {path} with JSON of an unexpected shape ({detail}); \
         the API may have changed, please report this"
    )]
    UnexpectedShape {
        /// HTTP method.
        method: String,
        /// Endpoint path below `/api/3`.
        path: String,
        /// The decoder's complaint.
        detail: String,
    },

    /// Transient failures (429, 5xx, timeouts, broken bodies) outlasted every retry.
    #[error(
        "ActiveCampaign kept failing on {method} {path} after {attempts} attempts (last: \
         {last}); the API may be down or the account's rate limit used up by other \
         integrations, try again later or lower ACMIRROR_AC_RATE_LIMIT"
    )]
    Exhausted {
        /// HTTP method.
        method: String,
        /// Endpoint path below `/api/3`.
        path: String,
        /// How many requests were sent.
        attempts: u32,
        /// The last failure.
        last: String,
    },

    /// A page request timed out or came back cut off or unreadable, and the caller asked to
    /// hear of it at once (to ask for a smaller page) rather than repeat the same request.
    #[error(
        "ActiveCampaign did not deliver {method} {path} whole ({last}); the page is probably \
         too heavy for the connection, ask for fewer records per page"
    )]
    PageTooHeavy {
        /// HTTP method.
        method: String,
        /// Endpoint path below `/api/3`.
        path: String,
        /// The failure.
        last: String,
    },

    /// A transient failure of a request that is not safe to repeat (a POST that may have been
    /// applied).
    #[error(
        "ActiveCampaign may or may not have applied {method} {path} ({last}); it was not \
         repeated to avoid a duplicate, run the command again (it looks at what exists first)"
    )]
    Uncertain {
        /// HTTP method.
        method: String,
        /// Endpoint path below `/api/3`.
        path: String,
        /// The failure.
        last: String,
    },
}

impl ApiError {
    pub(crate) fn unauthorized(status: u16, message: String) -> Self {
        ApiError::Unauthorized {
            method: String::new(),
            path: String::new(),
            status,
            message,
        }
    }

    pub(crate) fn payment_required(message: String) -> Self {
        ApiError::PaymentRequired {
            method: String::new(),
            path: String::new(),
            message,
        }
    }

    pub(crate) fn rejected(status: u16, message: String) -> Self {
        ApiError::Rejected {
            method: String::new(),
            path: String::new(),
            status,
            message,
        }
    }

    pub(crate) fn unexpected_shape(detail: String) -> Self {
        ApiError::UnexpectedShape {
            method: String::new(),
            path: String::new(),
            detail,
        }
    }

    /// Names the endpoint in an error made where it was not known.
    pub(crate) fn at(mut self, method_name: &str, endpoint: &str) -> Self {
        if let ApiError::Unauthorized { method, path, .. }
        | ApiError::PaymentRequired { method, path, .. }
        | ApiError::Rejected { method, path, .. }
        | ApiError::UnexpectedShape { method, path, .. } = &mut self
        {
            *method = method_name.to_owned();
            *path = endpoint.to_owned();
        }
        self
    }

    /// True for a 403 that outlasted its retry: the token's user may not read this endpoint
    /// (for instance an account whose plan has no campaigns).
    pub fn is_forbidden(&self) -> bool {
        matches!(self, ApiError::Unauthorized { status: 403, .. })
    }

    /// True when retrying later cannot help without a change of configuration or account.
    pub fn is_permanent(&self) -> bool {
        !matches!(
            self,
            ApiError::Exhausted { .. } | ApiError::Uncertain { .. } | ApiError::PageTooHeavy { .. }
        )
    }
}

/// Extracts a human-readable message from any of the error body shapes the API uses:
/// `{"message": ...}`, `{"errors": [{"title", "detail", ...}]}`, `{"errors": "..."}`, `{}`.
/// Returns `None` when there is nothing useful (or the body is not JSON).
pub(crate) fn api_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    if let Some(message) = value.get("message").and_then(Value::as_str) {
        return non_empty(message);
    }
    match value.get("errors")? {
        Value::String(text) => non_empty(text),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(error_item_text).collect();
            non_empty(&parts.join("; "))
        }
        Value::Object(_) => error_item_text(value.get("errors")?),
        _ => None,
    }
}

fn error_item_text(item: &Value) -> Option<String> {
    if let Some(text) = item.as_str() {
        return non_empty(text);
    }
    let field = |name: &str| item.get(name).and_then(Value::as_str).and_then(non_empty);
    match (field("title"), field("detail")) {
        (Some(title), Some(detail)) => Some(format!("{title}: {detail}")),
        (Some(one), None) | (None, Some(one)) => Some(one),
        (None, None) => field("message").or_else(|| field("code")),
    }
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    // Bodies are echoed into error messages; a runaway HTML page would drown the message.
    const MAX: usize = 300;
    if text.is_empty() {
        return None;
    }
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => Some(format!("{}…", &text[..cut])),
        None => Some(text.to_owned()),
    }
}

/// Formats an optional API message for the `{message}` slot of an error: ": text" or "".
pub(crate) fn message_suffix(body: &[u8]) -> String {
    api_message(body).map_or_else(String::new, |m| format!(": {m}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_plain_message() {
        let body = br#"{"message":"No Result found for Subscriber with id 1"}"#;
        assert_eq!(
            api_message(body).as_deref(),
            Some("No Result found for Subscriber with id 1")
        );
    }

    #[test]
    fn reads_an_errors_array_with_title_and_detail() {
        let body = br#"{"errors":[{"status":403,"title":"Forbidden","detail":"You do not have permission to view lists."}]}"#;
        assert_eq!(
            api_message(body).as_deref(),
            Some("Forbidden: You do not have permission to view lists.")
        );
    }

    #[test]
    fn reads_a_validation_error_with_empty_detail() {
        let body = br#"{"errors":[{"title":"Email address already exists in the system","detail":"","code":"duplicate","source":{"pointer":"/data/attributes/email"}}]}"#;
        assert_eq!(
            api_message(body).as_deref(),
            Some("Email address already exists in the system")
        );
    }

    #[test]
    fn reads_an_errors_string_and_tolerates_empty_or_foreign_bodies() {
        assert_eq!(
            api_message(br#"{"errors":"bad filter"}"#).as_deref(),
            Some("bad filter")
        );
        assert_eq!(api_message(b"{}"), None);
        assert_eq!(api_message(b"<html>502</html>"), None);
        assert_eq!(api_message(b""), None);
        assert_eq!(message_suffix(b"{}"), "");
    }

    #[test]
    fn long_messages_are_cut() {
        let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(1000));
        let message = api_message(long.as_bytes()).expect("message present");
        assert!(message.chars().count() <= 301);
    }
}

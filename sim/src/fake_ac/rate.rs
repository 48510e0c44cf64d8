//! The account's request budget and the API's injected faults, applied to every `/api/3`
//! request before it reaches a handler.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use rand::Rng;
use serde_json::json;

use super::shared::Shared;
use super::stats::bump;

/// A token bucket refilled at `rate` per second, holding at most one second's worth.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    rate: u32,
    tokens: f64,
    last: Instant,
}

/// The limiter's verdict on one request.
pub(crate) enum Verdict {
    /// Go ahead; so many requests are left in this second.
    Allowed { limit: u32, remaining: u32 },
    /// Over the limit; retry after so many seconds.
    Throttled { limit: u32, retry_after: u64 },
    /// No limit configured.
    Unlimited,
}

impl RateLimiter {
    /// A limiter of `rate` requests per second; 0 disables it.
    pub(crate) fn new(rate: u32) -> Self {
        let bucket = Bucket {
            rate,
            tokens: f64::from(rate),
            last: Instant::now(),
        };
        RateLimiter {
            bucket: Mutex::new(bucket),
        }
    }

    /// Changes the rate; the bucket starts full.
    pub(crate) fn set_rate(&self, rate: u32) {
        let mut b = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        *b = Bucket {
            rate,
            tokens: f64::from(rate),
            last: Instant::now(),
        };
    }

    /// Takes one token if there is one.
    pub(crate) fn check(&self) -> Verdict {
        let mut b = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        if b.rate == 0 {
            return Verdict::Unlimited;
        }
        let now = Instant::now();
        let refill = now.duration_since(b.last).as_secs_f64() * f64::from(b.rate);
        b.tokens = (b.tokens + refill).min(f64::from(b.rate));
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Verdict::Allowed {
                limit: b.rate,
                remaining: b.tokens as u32,
            }
        } else {
            let wait = (1.0 - b.tokens) / f64::from(b.rate);
            Verdict::Throttled {
                limit: b.rate,
                retry_after: wait.ceil().max(1.0) as u64,
            }
        }
    }
}

/// What the fault dice decided for one request.
enum Fault {
    None {
        slow: Option<Duration>,
        truncate: bool,
    },
    Unavailable,
    Forbidden,
}

fn roll_faults(shared: &Shared) -> Fault {
    let mut f = shared.faults();
    if f.burst_left > 0 {
        f.burst_left -= 1;
        return Fault::Unavailable;
    }
    let knobs = f.knobs.clone();
    if knobs.burst_503 > 0.0 && f.rng.gen_bool(knobs.burst_503.min(1.0)) {
        f.burst_left = knobs.burst_503_len.max(1) - 1;
        return Fault::Unavailable;
    }
    if knobs.forbidden > 0.0 && f.rng.gen_bool(knobs.forbidden.min(1.0)) {
        return Fault::Forbidden;
    }
    let slow = (knobs.slow > 0.0 && f.rng.gen_bool(knobs.slow.min(1.0))).then_some(knobs.latency);
    let truncate = knobs.truncate > 0.0 && f.rng.gen_bool(knobs.truncate.min(1.0));
    Fault::None { slow, truncate }
}

/// The body ActiveCampaign sends with a 403.
pub(crate) fn forbidden() -> HttpResponse {
    HttpResponse::Forbidden().json(json!({ "message": "Forbidden" }))
}

/// What happens to a request before it reaches its handler.
enum Admission {
    /// Answered here: throttled, refused or an injected 503.
    Refused(Box<HttpResponse>),
    /// Passed on, with the rate-limit headers to add and the faults to apply.
    Admitted {
        limit: Option<(u32, u32)>,
        slow: Option<Duration>,
        truncate: bool,
    },
}

fn admit(shared: &Shared, req: &ServiceRequest) -> Admission {
    let refuse = |res: HttpResponse| Admission::Refused(Box::new(res));
    let limit = match shared.limiter.check() {
        Verdict::Throttled { limit, retry_after } => {
            bump(&shared.stats.api_throttled);
            return refuse(
                HttpResponse::TooManyRequests()
                    .insert_header(("Retry-After", retry_after.to_string()))
                    .insert_header(("RateLimit-Limit", limit.to_string()))
                    .insert_header(("RateLimit-Remaining", "0"))
                    .json(json!({ "message": "Too Many Requests" })),
            );
        }
        Verdict::Allowed { limit, remaining } => Some((limit, remaining)),
        Verdict::Unlimited => None,
    };
    let token_ok = req
        .headers()
        .get("Api-Token")
        .is_some_and(|v| v.as_bytes() == shared.token.as_bytes());
    if !token_ok {
        bump(&shared.stats.api_forbidden);
        return refuse(forbidden());
    }
    let collection = req.path().trim_start_matches("/api/3/");
    let collection = collection.split('/').next().unwrap_or_default();
    let refused = shared
        .faults()
        .knobs
        .forbidden_collections
        .iter()
        .any(|c| c == collection);
    if refused {
        bump(&shared.stats.api_forbidden);
        return refuse(forbidden());
    }
    match roll_faults(shared) {
        Fault::Unavailable => {
            bump(&shared.stats.api_unavailable);
            refuse(
                HttpResponse::ServiceUnavailable()
                    .content_type("text/html")
                    .body("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"),
            )
        }
        Fault::Forbidden => {
            bump(&shared.stats.api_forbidden);
            refuse(forbidden())
        }
        Fault::None { slow, truncate } => Admission::Admitted {
            limit,
            slow,
            truncate,
        },
    }
}

/// Rate limit, token check and faults around every API handler.
pub(crate) async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let shared = req
        .app_data::<web::Data<Shared>>()
        .cloned()
        .ok_or_else(|| actix_web::error::ErrorInternalServerError("simulator state missing"))?;
    bump(&shared.stats.api_requests);
    let (limit, slow, truncate) = match admit(&shared, &req) {
        Admission::Refused(res) => return Ok(req.into_response(*res)),
        Admission::Admitted {
            limit,
            slow,
            truncate,
        } => (limit, slow, truncate),
    };
    if let Some(delay) = slow {
        bump(&shared.stats.api_slowed);
        tokio::time::sleep(delay).await;
    }
    bump(&shared.stats.api_served);
    let max_bytes = shared.account().realism.max_response_bytes;
    let mut res = next.call(req).await?.map_into_boxed_body();
    if truncate && res.status() == StatusCode::OK {
        bump(&shared.stats.api_truncated);
        res = cut_body(res, |len| len / 2).await?.0;
    } else if max_bytes > 0 && res.status() == StatusCode::OK {
        // A proxy or a timeout cuts a long response off at a size, whatever its content.
        let (cut, was_cut) = cut_body(res, |len| len.min(max_bytes)).await?;
        if was_cut {
            bump(&shared.stats.api_truncated);
        }
        res = cut;
    }
    if let Some((limit, remaining)) = limit {
        let headers = res.headers_mut();
        headers.insert(
            HeaderName::from_static("ratelimit-limit"),
            HeaderValue::from(limit),
        );
        headers.insert(
            HeaderName::from_static("ratelimit-remaining"),
            HeaderValue::from(remaining),
        );
    }
    Ok(res)
}

/// Keeps the first `keep(len)` bytes of the body; says whether anything was cut.
async fn cut_body(
    res: ServiceResponse<BoxBody>,
    keep: impl Fn(usize) -> usize,
) -> Result<(ServiceResponse<BoxBody>, bool), actix_web::Error> {
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = body::to_bytes(body)
        .await
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.to_string()))?;
    let kept = keep(bytes.len()).min(bytes.len());
    let was_cut = kept < bytes.len();
    let cut = bytes.slice(..kept);
    Ok((
        ServiceResponse::new(req, head.set_body(cut).map_into_boxed_body()),
        was_cut,
    ))
}

//! Reading a request body after the request is authenticated: bounded in size, in time, and in
//! the memory all bodies in flight hold together.
//!
//! The buffer grows as bytes arrive (nothing is reserved for the size a client announces), and
//! every byte of its capacity is covered by permits of a [`BodyBudget`] shared by all workers.
//! When the budget is spent, the request is answered 503 after a short wait instead of being
//! buffered without limit.

use std::sync::Arc;
use std::time::Duration;

use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use futures_util::{Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a request waits for memory held by other bodies before it is answered 503.
const BUDGET_WAIT: Duration = Duration::from_secs(1);

/// The bytes that request bodies may hold at once, shared by every worker.
#[derive(Clone, Debug)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    total: usize,
}

impl BodyBudget {
    /// A budget of `total` bytes (at most `u32::MAX`).
    pub fn new(total: usize) -> Self {
        let total = total.min(u32::MAX as usize);
        Self {
            bytes: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// Bytes not held by any body now.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }

    /// The budget's size.
    pub fn total(&self) -> usize {
        self.total
    }

    async fn take(&self, bytes: usize) -> Result<OwnedSemaphorePermit, BodyError> {
        let n = u32::try_from(bytes).map_err(|_| BodyError::Busy)?;
        if bytes > self.total {
            return Err(BodyError::Busy);
        }
        match tokio::time::timeout(BUDGET_WAIT, self.bytes.clone().acquire_many_owned(n)).await {
            Ok(Ok(permit)) => Ok(permit),
            // Timed out, or the semaphore was closed (never done): both mean no memory now.
            _ => Err(BodyError::Busy),
        }
    }
}

/// A body read in full, with the share of the budget it holds until it is dropped.
#[derive(Debug)]
pub struct Body {
    /// The bytes as received.
    pub bytes: Vec<u8>,
    _held: Option<OwnedSemaphorePermit>,
}

/// The share of the budget a body held, released when dropped.
#[derive(Debug)]
pub struct Held {
    _permit: Option<OwnedSemaphorePermit>,
}

impl Body {
    /// The bytes, and the budget they hold: keep it until the bytes are no longer in memory.
    pub fn into_parts(self) -> (Vec<u8>, Held) {
        (
            self.bytes,
            Held {
                _permit: self._held,
            },
        )
    }
}

/// Why a body was not read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    /// Larger than the limit (by its `Content-Length` or by what arrived).
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    /// Did not arrive in time.
    #[error("the body did not arrive within {0} s")]
    TimedOut(u64),
    /// Other bodies hold all the memory set aside for bodies.
    #[error("too many request bodies in flight")]
    Busy,
    /// The client went away or sent a malformed body.
    #[error("the body could not be read: {0}")]
    Broken(String),
}

impl BodyError {
    /// The answer to send. The connection is closed: its remaining bytes are not read.
    pub fn response(&self) -> HttpResponse {
        let mut resp = match self {
            Self::TooLarge(_) => HttpResponse::PayloadTooLarge(),
            Self::TimedOut(_) => HttpResponse::RequestTimeout(),
            Self::Busy => {
                let mut r = HttpResponse::ServiceUnavailable();
                r.insert_header((header::RETRY_AFTER, "1"));
                r
            }
            Self::Broken(_) => HttpResponse::BadRequest(),
        };
        resp.force_close().body(self.to_string())
    }
}

/// The `Content-Length` the client announced, if any and well-formed.
pub fn announced_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Reads a whole body of at most `limit` bytes within `timeout`, holding budget for the
/// buffer's capacity as it grows.
pub async fn read<S>(
    req: &HttpRequest,
    payload: S,
    limit: usize,
    timeout: Duration,
    budget: &BodyBudget,
) -> Result<Body, BodyError>
where
    S: Stream<Item = Result<actix_web::web::Bytes, PayloadError>> + Unpin,
{
    if announced_length(req).is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge(limit));
    }
    match tokio::time::timeout(timeout, collect(payload, limit, budget)).await {
        Ok(result) => result,
        Err(_) => Err(BodyError::TimedOut(timeout.as_secs())),
    }
}

async fn collect<S>(mut payload: S, limit: usize, budget: &BodyBudget) -> Result<Body, BodyError>
where
    S: Stream<Item = Result<actix_web::web::Bytes, PayloadError>> + Unpin,
{
    let mut bytes: Vec<u8> = Vec::new();
    let mut held: Option<OwnedSemaphorePermit> = None;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            PayloadError::Overflow => BodyError::TooLarge(limit),
            other => BodyError::Broken(other.to_string()),
        })?;
        let needed = bytes.len() + chunk.len();
        if needed > limit {
            return Err(BodyError::TooLarge(limit));
        }
        if needed > bytes.capacity() {
            // Doubling keeps copies few; the cap keeps a body from holding more than the limit.
            let capacity = needed
                .max((bytes.capacity() * 2).min(limit))
                .max(4096.min(limit));
            let extra = capacity - held.as_ref().map_or(0, |p| p.num_permits());
            if extra > 0 {
                let permit = budget.take(extra).await?;
                match held.as_mut() {
                    Some(h) => h.merge(permit),
                    None => held = Some(permit),
                }
            }
            bytes.reserve_exact(capacity - bytes.len());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body { bytes, _held: held })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::web::Bytes;

    fn chunks(
        parts: Vec<&'static [u8]>,
    ) -> impl Stream<Item = Result<Bytes, PayloadError>> + Unpin {
        futures_util::stream::iter(parts.into_iter().map(|p| Ok(Bytes::from_static(p))))
    }

    fn request() -> HttpRequest {
        actix_web::test::TestRequest::default().to_http_request()
    }

    #[tokio::test]
    async fn a_body_is_read_whole_and_its_memory_returned_when_dropped() {
        let budget = BodyBudget::new(64 * 1024);
        let body = read(
            &request(),
            chunks(vec![b"type=update&", b"contact[id]=1"]),
            1024,
            Duration::from_secs(5),
            &budget,
        )
        .await
        .expect("read");
        assert_eq!(body.bytes, b"type=update&contact[id]=1");
        assert!(budget.available() < budget.total());
        drop(body);
        assert_eq!(budget.available(), budget.total());
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_and_holds_nothing() {
        let budget = BodyBudget::new(64 * 1024);
        let err = read(
            &request(),
            chunks(vec![&[b'a'; 700], &[b'b'; 700]]),
            1000,
            Duration::from_secs(5),
            &budget,
        )
        .await
        .expect_err("too large");
        assert_eq!(err, BodyError::TooLarge(1000));
        assert_eq!(budget.available(), budget.total());
        assert_eq!(err.response().status(), 413);
    }

    #[tokio::test]
    async fn an_announced_length_over_the_limit_is_refused_before_reading() {
        let budget = BodyBudget::new(64 * 1024);
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::CONTENT_LENGTH, "2000000"))
            .to_http_request();
        let never = futures_util::stream::pending::<Result<Bytes, PayloadError>>();
        let err = read(&req, never, 1000, Duration::from_secs(5), &budget)
            .await
            .expect_err("too large");
        assert_eq!(err, BodyError::TooLarge(1000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_times_out() {
        let budget = BodyBudget::new(64 * 1024);
        let stalled = chunks(vec![b"type=upd"]).chain(futures_util::stream::pending());
        let err = read(&request(), stalled, 1000, Duration::from_secs(3), &budget)
            .await
            .expect_err("stalled");
        assert_eq!(err, BodyError::TimedOut(3));
        assert_eq!(err.response().status(), 408);
        assert_eq!(budget.available(), budget.total());
    }

    #[tokio::test(start_paused = true)]
    async fn when_bodies_in_flight_hold_the_budget_the_next_is_answered_busy() {
        let budget = BodyBudget::new(8 * 1024);
        let first = read(
            &request(),
            chunks(vec![&[b'a'; 6000]]),
            8 * 1024,
            Duration::from_secs(5),
            &budget,
        )
        .await
        .expect("fits");
        let err = read(
            &request(),
            chunks(vec![&[b'b'; 6000]]),
            8 * 1024,
            Duration::from_secs(5),
            &budget,
        )
        .await
        .expect_err("no memory left");
        assert_eq!(err, BodyError::Busy);
        assert_eq!(err.response().status(), 503);
        drop(first);
        let again = read(
            &request(),
            chunks(vec![&[b'b'; 6000]]),
            8 * 1024,
            Duration::from_secs(5),
            &budget,
        )
        .await
        .expect("memory was returned");
        assert_eq!(again.bytes.len(), 6000);
    }

    #[tokio::test]
    async fn the_buffer_grows_with_the_bytes_not_the_limit() {
        let budget = BodyBudget::new(4 * 1024 * 1024);
        let body = read(
            &request(),
            chunks(vec![&[b'a'; 100]]),
            1024 * 1024,
            Duration::from_secs(5),
            &budget,
        )
        .await
        .expect("read");
        assert!(body.bytes.capacity() <= 4096, "{}", body.bytes.capacity());
        assert_eq!(budget.total() - budget.available(), body.bytes.capacity());
    }
}

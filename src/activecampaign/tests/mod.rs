//! Tests of the client against a mock ActiveCampaign server on 127.0.0.1.
//!
//! Backoff is made tiny and the rate limit high so that no test waits on the real clock for
//! long; rate spacing and shared pauses are tested with paused time in `throttle.rs`.

mod campaigns;
mod endpoints;
mod failures;
mod fixtures;
mod webhooks;

use std::time::Duration;

use wiremock::MockServer;

use super::{ApiClient, ClientConfig, RetryPolicy};

/// The token every test client sends; tests check that no error or log line shows it.
const TOKEN: &str = "tok-S3CRET-7f1e9a";

/// A policy that retries quickly.
fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(2),
    }
}

fn config_for(server: &MockServer) -> ClientConfig {
    let mut config = ClientConfig::new(server.uri(), TOKEN.into());
    config.rate_limit = 1000.0;
    config.retry = fast_retry(5);
    config.request_timeout = Duration::from_secs(10);
    config
}

fn client_for(server: &MockServer) -> ApiClient {
    ApiClient::new(config_for(server)).expect("test configuration is valid")
}

/// How many requests the server has seen.
async fn request_count(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .len()
}

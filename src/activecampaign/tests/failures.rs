//! Failure handling: what is retried, what is fatal, and what errors say.

use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::fixtures::USER_ME;
use super::{client_for, config_for, fast_retry, request_count, TOKEN};
use crate::activecampaign::{ApiClient, ApiError, ClientConfig};

fn ok_user() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(USER_ME, "application/json")
}

/// Mounts `first` for the first `times` requests to `/users/me`, then a good answer.
async fn fail_then_succeed(server: &MockServer, first: ResponseTemplate, times: u64) {
    Mock::given(path("/api/3/users/me"))
        .respond_with(first)
        .up_to_n_times(times)
        .mount(server)
        .await;
    Mock::given(path("/api/3/users/me"))
        .respond_with(ok_user())
        .mount(server)
        .await;
}

fn assert_no_token(err: &ApiError) {
    assert!(!err.to_string().contains(TOKEN), "Display leaks: {err}");
    assert!(!format!("{err:?}").contains(TOKEN), "Debug leaks: {err:?}");
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_and_counted() {
    let server = MockServer::start().await;
    let limited = ResponseTemplate::new(429)
        .insert_header("Retry-After", "1")
        .insert_header("RateLimit-Limit", "5");
    fail_then_succeed(&server, limited, 1).await;
    let client = client_for(&server);

    client.users_me().await.expect("second attempt succeeds");

    let stats = client.clone().stats();
    assert_eq!(
        (stats.requests, stats.rate_limited, stats.retries),
        (2, 1, 1)
    );
    assert_eq!(request_count(&server).await, 2);
}

#[tokio::test]
async fn a_burst_of_503s_is_ridden_out() {
    let server = MockServer::start().await;
    fail_then_succeed(&server, ResponseTemplate::new(503), 3).await;
    let client = client_for(&server);

    client.users_me().await.expect("fourth attempt succeeds");

    let stats = client.stats();
    assert_eq!(
        (stats.requests, stats.server_errors, stats.retries),
        (4, 3, 3)
    );
}

#[tokio::test]
async fn endless_server_errors_give_up_after_the_configured_attempts() {
    let server = MockServer::start().await;
    Mock::given(path("/api/3/users/me"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "boom"})))
        .mount(&server)
        .await;

    let err = client_for(&server).users_me().await.expect_err("gives up");

    assert!(
        matches!(err, ApiError::Exhausted { attempts: 5, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("/api/3/users/me") && text.contains("HTTP 500: boom"),
        "{text}"
    );
    assert!(!err.is_permanent());
    assert_eq!(request_count(&server).await, 5);
}

#[tokio::test]
async fn a_rejected_token_is_retried_once_then_named_without_its_value() {
    for status in [403, 401] {
        let server = MockServer::start().await;
        Mock::given(path("/api/3/users/me"))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_json(json!({"errors": [{"status": status, "title": "Forbidden"}]})),
            )
            .mount(&server)
            .await;

        let err = client_for(&server).users_me().await.expect_err("refused");

        assert!(matches!(err, ApiError::Unauthorized { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("ACMIRROR_AC_API_TOKEN"), "{text}");
        assert!(
            text.contains("Forbidden") && text.contains("/api/3/users/me"),
            "{text}"
        );
        assert_no_token(&err);
        assert_eq!(request_count(&server).await, 2, "HTTP {status}");
    }
}

#[tokio::test]
async fn an_intermittent_403_is_forgiven() {
    let server = MockServer::start().await;
    fail_then_succeed(&server, ResponseTemplate::new(403), 1).await;

    client_for(&server)
        .users_me()
        .await
        .expect("second attempt succeeds");
}

#[tokio::test]
async fn a_payment_problem_is_fatal_at_once() {
    let server = MockServer::start().await;
    Mock::given(path("/api/3/users/me"))
        .respond_with(ResponseTemplate::new(402).set_body_json(json!({})))
        .mount(&server)
        .await;

    let err = client_for(&server).users_me().await.expect_err("fatal");

    assert!(err.to_string().contains("payment problem"), "{err}");
    assert!(err.is_permanent());
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn a_validation_error_is_fatal_with_the_api_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/3/webhooks"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({"errors": [
            {"title": "Invalid URL", "detail": "", "code": "invalid"}]})))
        .mount(&server)
        .await;
    let hook = crate::activecampaign::NewWebhook {
        name: "m".into(),
        url: "ftp://x".into(),
        events: vec![],
        sources: vec![],
        list_id: Some(2),
    };

    let err = client_for(&server)
        .create_webhook(&hook)
        .await
        .expect_err("rejected");

    assert!(
        matches!(err, ApiError::Rejected { status: 422, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("Invalid URL"), "{err}");
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn a_truncated_body_is_fetched_again() {
    let server = MockServer::start().await;
    let cut =
        ResponseTemplate::new(200).set_body_raw(r#"{"user":{"id":"1","usern"#, "application/json");
    fail_then_succeed(&server, cut, 1).await;

    let user = client_for(&server)
        .users_me()
        .await
        .expect("second attempt succeeds");

    assert_eq!(user.id, 1);
    assert_eq!(request_count(&server).await, 2);
}

#[tokio::test]
async fn well_formed_json_of_the_wrong_shape_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/api/3/users/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"user": {"id": "x"}})))
        .mount(&server)
        .await;

    let err = client_for(&server).users_me().await.expect_err("bad shape");

    assert!(matches!(err, ApiError::UnexpectedShape { .. }), "{err:?}");
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let server = MockServer::start().await;
    fail_then_succeed(&server, ok_user().set_delay(Duration::from_secs(5)), 1).await;
    let mut config = config_for(&server);
    config.request_timeout = Duration::from_millis(300);
    let client = ApiClient::new(config).expect("valid config");

    client.users_me().await.expect("second attempt succeeds");

    assert_eq!(client.stats().retries, 1);
}

#[tokio::test]
async fn an_unreachable_server_gives_up_without_showing_the_token() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        listener.local_addr().expect("bound").port()
    };
    let mut config = ClientConfig::new(format!("http://127.0.0.1:{port}"), TOKEN.into());
    config.retry = fast_retry(2);
    let client = ApiClient::new(config).expect("valid config");

    let err = client.users_me().await.expect_err("nobody listens");

    assert!(
        matches!(err, ApiError::Exhausted { attempts: 2, .. }),
        "{err:?}"
    );
    assert_no_token(&err);
}

#[tokio::test]
async fn a_post_is_repeated_after_a_429_but_not_after_a_500() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let hook = crate::activecampaign::NewWebhook {
        name: "m".into(),
        url: "https://x.example.com/h".into(),
        events: vec![],
        sources: vec![],
        list_id: None,
    };

    let err = client_for(&server)
        .create_webhook(&hook)
        .await
        .expect_err("uncertain");

    assert!(matches!(err, ApiError::Uncertain { .. }), "{err:?}");
    assert_eq!(request_count(&server).await, 2);
}

#[tokio::test]
async fn clones_share_their_counters() {
    let server = MockServer::start().await;
    Mock::given(path("/api/3/users/me"))
        .respond_with(ok_user())
        .mount(&server)
        .await;
    let client = client_for(&server);
    let clone = client.clone();
    let before = client.stats();

    let (a, b) = tokio::join!(client.users_me(), clone.users_me());
    a.expect("first");
    b.expect("second");

    assert_eq!(client.stats().since(&before).requests, 2);
    assert_eq!(clone.stats().requests, 2);
}

//! Operations endpoints: readiness and Prometheus metrics that name routes,
//! never the ids or tokens in paths.

use crate::common::{api_client, Options, TestServer};
use crate::support::*;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn ready_when_the_database_answers() {
    let server = TestServer::spawn().await;
    let response = api_client().get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ready");
    server.stop().await;
}

const METRICS_TOKEN: &str = "metrics-token-for-the-monitoring-system-0123456789";

async fn server_with_metrics_token() -> TestServer {
    TestServer::spawn_with(Options {
        adjust: Box::new(|s| s.http.metrics_token = Some(METRICS_TOKEN.parse().unwrap())),
        ..Options::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn metrics_are_not_served_to_the_public() {
    // No token configured: /metrics does not exist on the public listener.
    let server = TestServer::spawn().await;
    let response = api_client().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(!response.text().await.unwrap().contains("rapport_http_requests_total"));
    server.stop().await;

    // With a token, only its bearer gets them.
    let server = server_with_metrics_token().await;
    for auth in [None, Some("Bearer wrong-token-wrong-token-wrong-token-wrong"), Some("Basic abc")] {
        let mut request = api_client().get(server.url("/metrics"));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{auth:?}");
    }
    let response = api_client().get(server.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn metrics_can_be_served_on_a_separate_listener() {
    let server = TestServer::spawn_with(Options {
        adjust: Box::new(|s| s.metrics_listen = Some("127.0.0.1:0".parse().unwrap())),
        ..Options::default()
    })
    .await
    .unwrap();
    assert_eq!(me_status(&server, "not-a-token").await, StatusCode::UNAUTHORIZED);
    let metrics = server.metrics_base.clone().expect("a metrics listener");
    let text = api_client().get(format!("{metrics}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        text.lines().any(|l| l == r#"rapport_http_requests_total{method="GET",route="/api/v1/me",status="401"} 1"#),
        "{text}"
    );
    // The public listener still does not serve them.
    let response = api_client().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_without_ids_or_tokens() {
    let server = server_with_metrics_token().await;
    sign_up(&server, "metrics@example.org", "Metrics").await;
    let token = sign_in(&server, "metrics@example.org", PASSWORD).await;
    for _ in 0..3 {
        assert_eq!(me_status(&server, &token).await, StatusCode::OK);
    }
    let session_id = uuid::Uuid::now_v7().to_string();
    let response =
        authed(&server, Method::DELETE, &format!("/api/v1/me/sessions/{session_id}"), &token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // A path that is all secret: a token pasted into an unknown address.
    let response = api_client().get(server.url(&format!("/api/v1/reset/{token}"))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = api_client().get(server.url(&format!("/assets/{session_id}.js"))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let response = api_client().get(server.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();

    let lines: Vec<&str> = text.lines().collect();
    let has_line = |line: &str| lines.contains(&line);
    assert!(has_line("# TYPE rapport_http_requests_total counter"), "{text}");
    assert!(has_line(r#"rapport_http_requests_total{method="GET",route="/api/v1/me",status="200"} 3"#), "{text}");
    assert!(
        has_line(r#"rapport_http_requests_total{method="POST",route="/api/v1/accounts",status="201"} 1"#),
        "{text}"
    );
    assert!(
        has_line(r#"rapport_http_requests_total{method="DELETE",route="/api/v1/me/sessions/{id}",status="404"} 1"#),
        "{text}"
    );
    assert!(lines.iter().any(|l| l.starts_with("rapport_http_requests_total{") && l.contains(r#"route="unmatched""#)));
    assert!(!text.contains(&session_id), "a session id leaked into metrics:\n{text}");
    assert!(!text.contains(&token), "a token leaked into metrics:\n{text}");
    assert!(!text.contains("/api/v1/reset"), "an unmatched raw path became a label:\n{text}");

    // The latency histogram: buckets, +Inf equal to the count, and a sum.
    assert!(has_line("# TYPE rapport_http_request_duration_seconds histogram"), "{text}");
    let me_buckets: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with(r#"rapport_http_request_duration_seconds_bucket{route="/api/v1/me","#))
        .collect();
    assert!(me_buckets.len() > 2, "{text}");
    assert!(has_line(r#"rapport_http_request_duration_seconds_bucket{route="/api/v1/me",le="+Inf"} 3"#), "{text}");
    assert!(has_line(r#"rapport_http_request_duration_seconds_count{route="/api/v1/me"} 3"#), "{text}");
    assert!(lines.iter().any(|l| l.starts_with(r#"rapport_http_request_duration_seconds_sum{route="/api/v1/me"} "#)));
    // Buckets are cumulative.
    let counts: Vec<u64> =
        me_buckets.iter().map(|l| l.rsplit(' ').next().unwrap().parse().expect("a bucket count")).collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    server.stop().await;
}

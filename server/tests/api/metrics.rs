//! `/metrics` and `/readyz` as a Prometheus server and an orchestrator read them: the
//! metrics parsed by Prometheus's own Python client, and moving after traffic.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

const TOKEN: &str = "metrics-token-for-tests";

/// Parses the text format with `prometheus_client.parser`: (name, labels) → value.
fn parse(text: &str) -> BTreeMap<(String, BTreeMap<String, String>), f64> {
    const SCRIPT: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([s.name, s.labels, s.value])
print(json.dumps(out))
"#;
    let out = crate::helpers::python(SCRIPT, text, "the Prometheus parser");
    let samples: Vec<(String, BTreeMap<String, String>, f64)> = serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}"));
    samples.into_iter().map(|(name, labels, value)| ((name, labels), value)).collect()
}

async fn scrape(app: &TestApp) -> BTreeMap<(String, BTreeMap<String, String>), f64> {
    let r = app.client.get(app.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/plain; version=0.0.4")));
    parse(&r.text().await.unwrap_or_default())
}

/// The value of `name` with `labels` (those given; others may be there too), summed.
fn value(samples: &BTreeMap<(String, BTreeMap<String, String>), f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|((n, l), _)| n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
        .map(|(_, v)| *v)
        .sum()
}

#[tokio::test]
async fn metrics_are_served_to_the_token_only_and_not_at_all_without_one() {
    let without = spawn_app().await;
    let r = without.client.get(without.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "not served unless configured");

    let app = spawn_app_with(|c| c.metrics_token = Some(server::config::SecretText(TOKEN.into()))).await;
    for auth in [None, Some("nope-nope-nope-nope"), Some("")] {
        let mut req = app.client.get(app.url("/metrics"));
        if let Some(a) = auth {
            req = req.bearer_auth(a);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
    }
}

#[tokio::test]
async fn metrics_move_with_checks_usage_sign_ins_and_changes_and_parse_as_prometheus_text() {
    let app = spawn_app_with(|c| c.metrics_token = Some(server::config::SecretText(TOKEN.into()))).await;
    let before = scrape(&app).await;

    let api = |path: &str, body: Value| app.client.post(app.url(path)).bearer_auth("tsk_demo_acme").json(&body).send();
    for _ in 0..3 {
        api("/api/v1/check", json!({"customer": "initech", "feature": "reports.export", "user": "ada@initech.example"})).await.ok();
    }
    api("/api/v1/check", json!({"customer": "initech", "feature": "sso", "user": "ada@initech.example"})).await.ok();
    let usage = json!({"events": [{"event_id": "metrics-1", "customer": "initech", "feature": "api.calls", "quantity": 5},
                                  {"event_id": "metrics-2", "customer": "initech", "feature": "api.calls", "quantity": 5}]});
    api("/api/v1/usage", usage.clone()).await.ok();
    api("/api/v1/usage", usage).await.ok();
    app.call("sign_in", &[("email", "ada@initech.example"), ("password", "not the password")]).await;
    // A webhook endpoint that answers every delivery 204, for the customer made next.
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let port = receiver.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = receiver.accept().await {
            tokio::spawn(async move {
                // One answer, then the connection is closed: the dispatcher opens another.
                let mut buf = [0u8; 16 * 1024];
                if socket.read(&mut buf).await.is_ok_and(|n| n > 0) {
                    let _ = socket.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n").await;
                }
            });
        }
    });
    let hook = json!({"url": format!("http://127.0.0.1:{port}/hook"), "event_types": ["customer.created"]});
    assert!(api("/api/v1/webhooks", hook).await.is_ok_and(|r| r.status() == StatusCode::CREATED));
    api("/api/v1/customers", json!({"slug": "metrics-co", "name": "Metrics Co"})).await.ok();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while value(&scrape(&app).await, "tessera_webhook_deliveries_total", &[("outcome", "delivered")])
        <= value(&before, "tessera_webhook_deliveries_total", &[("outcome", "delivered")])
        && std::time::Instant::now() < until
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let after = scrape(&app).await;
    let moved = |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);
    // Other tests run in this process too: their traffic only adds.
    assert!(moved("tessera_http_requests_total", &[("route", "/api/v1/check"), ("method", "POST"), ("status", "200")]) >= 4.0);
    assert!(moved("tessera_http_request_duration_seconds_count", &[("route", "/api/v1/check")]) >= 4.0);
    assert!(moved("tessera_check_decisions_total", &[("code", "ok")]) >= 3.0);
    assert!(moved("tessera_check_decisions_total", &[("code", "feature_not_in_plan")]) >= 1.0);
    assert!(moved("tessera_engine_evaluation_seconds_count", &[]) >= 4.0);
    assert!(moved("tessera_usage_events_total", &[("outcome", "counted")]) >= 2.0);
    assert!(moved("tessera_usage_events_total", &[("outcome", "duplicate")]) >= 2.0);
    assert!(moved("tessera_sign_in_failures_total", &[("method", "password")]) >= 1.0);
    assert!(moved("tessera_events_total", &[("type", "customer.created")]) >= 1.0);
    assert!(moved("tessera_snapshot_reloads_total", &[("what", "customer")]) >= 1.0);
    assert!(after.keys().any(|(n, l)| n == "tessera_db_pool_connections" && l.get("state").is_some_and(|s| s == "idle")));
    assert!(moved("tessera_webhook_deliveries_total", &[("outcome", "delivered")]) >= 1.0);
    assert!(moved("tessera_webhook_attempt_duration_seconds_count", &[]) >= 1.0);
    assert!(after.keys().any(|(n, l)| n == "tessera_webhook_backlog" && l.get("stage").is_some_and(|s| s == "pending")));
    // Routes are patterns, never paths with ids in them.
    assert!(after.keys().all(|(_, l)| l.get("route").is_none_or(|r| !r.contains("ins_") && !r.contains("metrics-co"))));
    let buckets = after
        .keys()
        .filter(|(n, l)| n == "tessera_http_request_duration_seconds_bucket" && l.get("route").is_some_and(|r| r == "/api/v1/check"));
    assert!(buckets.count() > 5, "a histogram with buckets");
}

#[tokio::test]
async fn readyz_says_ready_only_with_every_migration_applied() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/readyz")).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap_or_default()["status"], "ready");

    // A database behind this build (its newest migration not applied) is not ready.
    app.sql("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)", &[]).await;
    let r = app.client.get(app.url("/readyz")).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap_or_default();
    assert_eq!(body["status"], "not_ready");
    assert!(body["reason"].as_str().is_some_and(|r| r.contains("1 migration")), "{body}");
}

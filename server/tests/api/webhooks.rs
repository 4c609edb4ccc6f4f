//! Webhooks over real HTTP to a real receiver: a Python process that verifies every
//! delivery with the Standard Webhooks reference library, holding only the endpoint's
//! secret, and fails the first attempts when told to. What the receiver keeps is compared
//! with the event feed: every published event, verified, once per webhook-id.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{drop_postgres, postgres_database, spawn_app_with, TestApp};
use app::store::webhooks::WebhookPolicy;

const KEY: &str = "tsk_demo_acme";

/// The receiver process; killed when dropped.
struct Receiver {
    child: std::process::Child,
    port: u16,
    client: reqwest::Client,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    fn start() -> Receiver {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/webhook_receiver.py");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("python3 {script}: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("the receiver's output"));
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).unwrap_or_else(|e| panic!("the receiver's port: {e}"));
        let port = line.trim().parse().unwrap_or_else(|e| panic!("the receiver printed {line:?}: {e}"));
        Receiver { child, port, client: reqwest::Client::new() }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Tells the receiver which secrets it holds and how many attempts of each message
    /// it fails.
    async fn set(&self, settings: Value) {
        let r = self.client.put(format!("http://127.0.0.1:{}/control", self.port)).json(&settings).send().await;
        assert!(r.unwrap_or_else(|e| panic!("{e}")).status().is_success());
    }

    async fn state(&self) -> Value {
        let r = self.client.get(format!("http://127.0.0.1:{}/control", self.port)).send().await.unwrap_or_else(|e| panic!("{e}"));
        r.json().await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// The messages kept (verified and answered 2xx), by webhook-id.
    async fn kept(&self) -> BTreeMap<String, Value> {
        let state = self.state().await;
        state["kept"].as_object().map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
    }

    /// Waits until the receiver has kept every id of `ids`, or `secs` pass.
    async fn wait_for(&self, ids: &BTreeSet<String>, secs: u64) -> BTreeMap<String, Value> {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let kept = self.kept().await;
            if ids.iter().all(|id| kept.contains_key(id)) || Instant::now() > until {
                return kept;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn api(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    api_as(app, KEY, method, path, body).await
}

async fn api_as(app: &TestApp, key: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = app.client.request(method, app.url(&format!("/api/v1{path}"))).bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Adds an endpoint for `receiver` through the API; its id and secret.
async fn add_endpoint(app: &TestApp, receiver: &Receiver, types: &[&str]) -> (i64, String) {
    let (status, made) =
        api(app, Method::POST, "/webhooks", Some(json!({"url": receiver.url(), "description": "CRM", "event_types": types}))).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let secret = made["secret"].as_str().unwrap_or_default().to_owned();
    assert!(secret.starts_with("whsec_"), "{made}");
    (made["endpoint"]["id"].as_i64().unwrap_or_default(), secret)
}

/// Makes published events through the API: renames Initech, suspends and resumes its
/// entitlement; returns the feed's ids of the events they made.
async fn make_events(app: &TestApp, rounds: usize) -> BTreeSet<String> {
    let (_, start) = api(app, Method::GET, "/events?limit=1", None).await;
    let cursor = start["next"].as_str().unwrap_or("0").to_owned();
    let (_, list) = api(app, Method::GET, "/entitlements?customer=initech", None).await;
    let ent = list["data"][0]["id"].as_i64().unwrap_or_default();
    static NAMES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    for _ in 0..rounds {
        let name = format!("Initech {}", NAMES.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let (s, b) = api(app, Method::PATCH, "/customers/initech", Some(json!({"name": name}))).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, b) = api(app, Method::POST, &format!("/entitlements/{ent}/suspend"), Some(json!({"reason": "unpaid invoice"}))).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, b) = api(app, Method::POST, &format!("/entitlements/{ent}/resume"), Some(json!({"reason": "paid"}))).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let (_, events) = api(app, Method::GET, &format!("/events?after={cursor}&limit=200"), None).await;
    let ids: BTreeSet<String> =
        events["data"].as_array().into_iter().flatten().map(|e| format!("evt_{}", e["id"].as_str().unwrap_or(""))).collect();
    assert_eq!(ids.len(), rounds * 3, "{events}");
    ids
}

fn quick(policy: &mut WebhookPolicy) {
    policy.first_retry = Duration::from_millis(200);
    policy.timeout = Duration::from_secs(5);
}

#[tokio::test]
async fn a_receiver_that_fails_at_first_gets_every_event_verified_once_it_recovers() {
    let app = spawn_app_with(|c| quick(&mut c.webhooks)).await;
    let receiver = Receiver::start();
    let (endpoint, secret) = add_endpoint(&app, &receiver, &[]).await;
    receiver.set(json!({"secrets": [secret], "fail_first": 2, "status": 503})).await;

    let ids = make_events(&app, 4).await;
    let kept = receiver.wait_for(&ids, 30).await;
    let missing: Vec<&String> = ids.iter().filter(|id| !kept.contains_key(*id)).collect();
    assert!(missing.is_empty(), "every event arrives once the receiver recovers; missing {missing:?}");
    assert_eq!(kept.keys().collect::<BTreeSet<_>>(), ids.iter().collect(), "nothing but the published events arrives");

    // Each message was refused twice and kept on the third attempt, with one id throughout.
    let state = receiver.state().await;
    for id in &ids {
        assert_eq!(state["attempts"][id], 3, "{id}: {state}");
    }
    assert_eq!(state["refused"], 0, "every attempt verified under the secret");
    // The body is the feed's event: type, timestamp and data as Standard Webhooks suggests.
    let (_, feed) = api(
        &app,
        Method::GET,
        &format!("/events?after={}&limit=1", ids.iter().next().map_or(0, |i| i[4..].parse::<i64>().unwrap_or(1) - 1)),
        None,
    )
    .await;
    let first = &kept[ids.iter().next().unwrap_or_else(|| panic!("an id"))];
    assert_eq!(first, &feed["data"][0], "the delivery is the feed's event");
    assert!(first["type"].is_string() && first["timestamp"].is_string() && first["data"].is_object(), "{first}");

    // The delivery log says the same: delivered on the third attempt, after two 503s.
    let (status, log) = api(&app, Method::GET, &format!("/webhooks/{endpoint}/deliveries?limit=200"), None).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let deliveries = log["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(deliveries.len(), ids.len(), "one delivery per event: {log}");
    for d in &deliveries {
        assert_eq!(
            (d["status"].as_str(), d["attempts"].as_i64(), d["last_status"].as_i64()),
            (Some("delivered"), Some(3), Some(204)),
            "{d}"
        );
    }
    let one = deliveries[0]["id"].as_i64().unwrap_or_default();
    let (_, detail) = api(&app, Method::GET, &format!("/webhooks/{endpoint}/deliveries/{one}"), None).await;
    let codes: Vec<i64> = detail["attempts"].as_array().into_iter().flatten().filter_map(|a| a["status"].as_i64()).collect();
    assert_eq!(codes, vec![503, 503, 204], "{detail}");
    let (_, read) = api(&app, Method::GET, &format!("/webhooks/{endpoint}"), None).await;
    assert_eq!(read["deliveries"], json!({"pending": 0, "delivered": 12, "failed": 0}), "{read}");
    assert_eq!(read["failing_since"], Value::Null, "a success clears the failures: {read}");
    assert!(read.get("secret").is_none(), "the secret is shown once: {read}");

    // Resent by hand: the same webhook-id again, which the receiver recognises.
    let (status, resent) = api(&app, Method::POST, &format!("/webhooks/{endpoint}/deliveries/{one}/resend"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{resent}");
    let id = format!("evt_{}", resent["event_id"].as_str().unwrap_or_default());
    let until = Instant::now() + Duration::from_secs(10);
    while receiver.state().await["attempts"][&id] != 4 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(receiver.state().await["attempts"][&id], 4, "the resend arrived with the same id");
    assert_eq!(receiver.kept().await.len(), ids.len(), "and was kept once");
    let kinds = app.sql_strings("SELECT kind FROM audit_events WHERE kind LIKE 'webhook.%' ORDER BY seq").await;
    assert_eq!(kinds, vec!["webhook.endpoint_created", "webhook.delivery_resent"]);
}

#[tokio::test]
async fn an_endpoint_gets_only_its_types_and_none_of_the_audit_logs_private_kinds() {
    let app = spawn_app_with(|c| quick(&mut c.webhooks)).await;
    let receiver = Receiver::start();
    let (_, secret) = add_endpoint(&app, &receiver, &["entitlement.suspended"]).await;
    receiver.set(json!({"secrets": [secret]})).await;
    // A sign-in is in the audit log, never in a delivery.
    app.sign_in_as(&app.client, "ada@initech.example").await;
    let ids = make_events(&app, 2).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let kept = receiver.kept().await;
    assert_eq!(kept.len(), 2, "the two suspensions only: {kept:?}");
    assert!(kept.values().all(|e| e["type"] == "entitlement.suspended"), "{kept:?}");
    assert!(kept.keys().all(|id| ids.contains(id)));

    // Types outside the catalog, or that the feed does not publish, are refused.
    for types in [json!(["user.signed_in"]), json!(["seat.stolen"])] {
        let (status, body) = api(&app, Method::POST, "/webhooks", Some(json!({"url": receiver.url(), "event_types": types}))).await;
        assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("event_types")), "{body}");
    }
}

#[tokio::test]
async fn an_endpoint_failing_for_the_set_time_is_disabled_with_a_published_notice_and_resumes_where_it_stopped() {
    let app = spawn_app_with(|c| {
        quick(&mut c.webhooks);
        c.webhooks.disable_after = Duration::from_secs(2);
        c.webhooks.first_retry = Duration::from_millis(300);
    })
    .await;
    let failing = Receiver::start();
    let watching = Receiver::start();
    let (broken, secret) = add_endpoint(&app, &failing, &[]).await;
    failing.set(json!({"secrets": [secret], "fail_first": 1_000_000, "status": 500})).await;
    let (_, watcher_secret) = add_endpoint(&app, &watching, &["webhook.endpoint_disabled"]).await;
    watching.set(json!({"secrets": [watcher_secret]})).await;

    let ids = make_events(&app, 1).await;
    let until = Instant::now() + Duration::from_secs(20);
    let mut read = Value::Null;
    while Instant::now() < until {
        read = api(&app, Method::GET, &format!("/webhooks/{broken}"), None).await.1;
        if read["enabled"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(read["enabled"], false, "disabled after failing for two seconds: {read}");
    assert_eq!(read["disabled_reason"], "every attempt failed for 2 seconds", "{read}");

    // The notice is audited, published in the feed and delivered to the other endpoint.
    let until = Instant::now() + Duration::from_secs(10);
    let mut notices = watching.kept().await;
    while notices.is_empty() && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
        notices = watching.kept().await;
    }
    let notice = notices.values().next().cloned().unwrap_or_default();
    assert_eq!(notice["type"], "webhook.endpoint_disabled", "{notices:?}");
    assert_eq!(notice["subject"], format!("webhook_endpoint:{broken}"));
    assert_eq!(notice["actor"], "system:webhooks");
    assert_eq!(notice["data"]["after"]["last_status"], 500, "{notice}");

    // While disabled nothing is tried; enabled again (by the API key, audited) it goes
    // on from the event it had reached and, the receiver mended, everything arrives.
    let tried = failing.state().await["seen"].as_array().map_or(0, Vec::len);
    let more = make_events(&app, 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(failing.state().await["seen"].as_array().map_or(0, Vec::len), tried, "a disabled endpoint is not called");
    failing.set(json!({"fail_first": 0})).await;
    let (status, enabled) = api(&app, Method::PATCH, &format!("/webhooks/{broken}"), Some(json!({"enabled": true}))).await;
    assert_eq!((status, &enabled["enabled"], &enabled["failing_since"]), (StatusCode::OK, &json!(true), &Value::Null), "{enabled}");
    let all: BTreeSet<String> = ids.union(&more).cloned().collect();
    let kept = failing.wait_for(&all, 20).await;
    assert!(all.iter().all(|id| kept.contains_key(id)), "nothing was lost while it was disabled: {:?} of {all:?}", kept.keys());
    let kinds = app.sql_strings("SELECT kind FROM audit_events WHERE kind LIKE 'webhook.endpoint_%abled' ORDER BY seq").await;
    assert_eq!(kinds, vec!["webhook.endpoint_disabled", "webhook.endpoint_enabled"]);
}

#[tokio::test]
async fn a_delivery_is_given_up_after_its_retry_window_and_a_resend_starts_it_again() {
    let app = spawn_app_with(|c| {
        quick(&mut c.webhooks);
        c.webhooks.retry_for = Duration::from_secs(1);
    })
    .await;
    let receiver = Receiver::start();
    let (endpoint, secret) = add_endpoint(&app, &receiver, &["entitlement.suspended"]).await;
    receiver.set(json!({"secrets": [secret], "fail_first": 1_000_000})).await;
    make_events(&app, 1).await;
    let until = Instant::now() + Duration::from_secs(20);
    let mut failed = Value::Null;
    while Instant::now() < until {
        failed = api(&app, Method::GET, &format!("/webhooks/{endpoint}/deliveries?status=failed"), None).await.1;
        if failed["data"].as_array().is_some_and(|d| !d.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let delivery = failed["data"][0].clone();
    assert_eq!(delivery["status"], "failed", "given up after a second of retries: {failed}");
    assert!(delivery["attempts"].as_i64().unwrap_or_default() >= 2, "{delivery}");
    assert_eq!(delivery["next_attempt_at"], Value::Null);

    receiver.set(json!({"fail_first": 0})).await;
    let id = delivery["id"].as_i64().unwrap_or_default();
    let (status, _) = api(&app, Method::POST, &format!("/webhooks/{endpoint}/deliveries/{id}/resend"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let until = Instant::now() + Duration::from_secs(10);
    let mut detail = Value::Null;
    while Instant::now() < until {
        detail = api(&app, Method::GET, &format!("/webhooks/{endpoint}/deliveries/{id}"), None).await.1;
        if detail["delivery"]["status"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(detail["delivery"]["status"], "delivered", "{detail}");
    let attempts = detail["attempts"].as_array().cloned().unwrap_or_default();
    assert_eq!(attempts.last().map(|a| a["status"].clone()), Some(json!(204)), "{detail}");
    assert!(attempts.len() >= 3, "the earlier attempts stay in the log: {detail}");
    assert_eq!(receiver.kept().await.len(), 1);

    // Unknown deliveries and endpoints are 404s of their own.
    let (status, body) = api(&app, Method::POST, &format!("/webhooks/{endpoint}/deliveries/999999/resend"), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_delivery")));
    let (status, body) = api(&app, Method::GET, "/webhooks/999999/deliveries", None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_webhook")));
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_old_one_for_the_overlap_only() {
    let app = spawn_app_with(|c| quick(&mut c.webhooks)).await;
    let receiver = Receiver::start();
    let (endpoint, old) = add_endpoint(&app, &receiver, &["entitlement.suspended"]).await;
    let (status, rotated) =
        api(&app, Method::POST, &format!("/webhooks/{endpoint}/rotate-secret"), Some(json!({"overlap_seconds": 3600}))).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["secret"].as_str().unwrap_or_default().to_owned();
    assert!(new.starts_with("whsec_") && new != old);
    assert!(rotated["previous_secret_until"].is_string(), "{rotated}");

    // During the overlap a receiver still holding the old secret verifies, and so does
    // one that moved to the new secret.
    receiver.set(json!({"secrets": [old.clone()]})).await;
    let first = make_events(&app, 1).await;
    let until = Instant::now() + Duration::from_secs(10);
    while receiver.kept().await.is_empty() && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kept = receiver.kept().await;
    assert_eq!(kept.len(), 1, "the old secret verifies during the overlap");
    assert!(kept.keys().all(|id| first.contains(id)));
    let seen = receiver.state().await["seen"].clone();
    assert_eq!(seen[0][2].as_str().map(|s| s.split(' ').count()), Some(2), "two signatures: {seen}");

    receiver.set(json!({"secrets": [new.clone()]})).await;
    make_events(&app, 1).await;
    let until = Instant::now() + Duration::from_secs(10);
    while receiver.kept().await.len() < 2 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(receiver.kept().await.len(), 2, "the new secret verifies");

    // Rotated again without an overlap, the old secret stops at once.
    let (_, again) = api(&app, Method::POST, &format!("/webhooks/{endpoint}/rotate-secret"), Some(json!({"overlap_seconds": 0}))).await;
    assert_eq!(again["previous_secret_until"], Value::Null, "{again}");
    make_events(&app, 1).await;
    let until = Instant::now() + Duration::from_secs(10);
    while receiver.state().await["refused"] == 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(receiver.state().await["refused"].as_i64().unwrap_or_default() >= 1, "a secret rotated away no longer verifies");
    let (status, body) =
        api(&app, Method::POST, &format!("/webhooks/{endpoint}/rotate-secret"), Some(json!({"overlap_seconds": 9_999_999}))).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("overlap_seconds")));
}

#[tokio::test]
async fn endpoints_need_a_vendor_key_with_the_scope_and_never_show_or_take_a_private_address() {
    let app = spawn_app_with(|c| c.webhooks.allow_private = false).await;
    // Loopback, private and metadata addresses are refused when the deployment does not
    // allow them; so are credentials in the address.
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest",
        "http://[::1]/h",
        "https://u:p@hooks.example.com/",
    ] {
        let (status, body) = api(&app, Method::POST, "/webhooks", Some(json!({"url": url}))).await;
        assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("url")), "{url}: {body}");
    }
    let (status, made) = api(&app, Method::POST, "/webhooks", Some(json!({"url": "https://hooks.example.com/tessera"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["endpoint"]["id"].as_i64().unwrap_or_default();

    // A license key, an unknown key and a key without the scope are refused; reading
    // takes `read`, changing `provision`.
    let license = app::store::seed::demo_license_key().to_string();
    for key in [license.as_str(), "tsk_nothing"] {
        let (status, _) = api_as(&app, key, Method::GET, "/webhooks", None).await;
        assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN, "{key}: {status}");
    }
    let reader = key_with(&app, app::store::keys::api_keys::Scopes { enforce: false, provision: false, read: true }).await;
    let (status, list) = api_as(&app, &reader, Method::GET, "/webhooks", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));
    assert!(list["data"][0].get("secret").is_none());
    for (method, path, body) in [
        (Method::POST, "/webhooks".to_owned(), Some(json!({"url": "https://hooks.example.com/x"}))),
        (Method::PATCH, format!("/webhooks/{id}"), Some(json!({"enabled": false}))),
        (Method::POST, format!("/webhooks/{id}/rotate-secret"), Some(json!({}))),
        (Method::DELETE, format!("/webhooks/{id}"), None),
    ] {
        let (status, body) = api_as(&app, &reader, method, &path, body).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("missing_scope")), "{path}");
    }
    let enforcer = key_with(&app, app::store::keys::api_keys::Scopes { enforce: true, provision: false, read: false }).await;
    let (status, _) = api_as(&app, &enforcer, Method::GET, "/webhooks", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Another product's keys see none of this product's endpoints, and change none.
    let admin = app::store::audit::Actor::system("test");
    let other = app.state.store.add_product(&admin, "other", "Other", "test", app::store::now()).await.unwrap_or_else(|e| panic!("{e}"));
    let other_key = "tsk_test_other_product_provision";
    let all = app::store::keys::api_keys::Scopes { enforce: false, provision: true, read: true };
    app.state.store.issue_api_key(&admin, other, "other", other_key, all, None, app::store::now()).await.unwrap_or_else(|e| panic!("{e}"));
    let (status, list) = api_as(&app, other_key, Method::GET, "/webhooks", None).await;
    assert_eq!((status, list["data"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)), "{list}");
    for (method, path, body) in [
        (Method::GET, format!("/webhooks/{id}"), None),
        (Method::GET, format!("/webhooks/{id}/deliveries"), None),
        (Method::PATCH, format!("/webhooks/{id}"), Some(json!({"enabled": false}))),
        (Method::POST, format!("/webhooks/{id}/rotate-secret"), Some(json!({}))),
        (Method::DELETE, format!("/webhooks/{id}"), None),
    ] {
        let (status, body) = api_as(&app, other_key, method, &path, body).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_webhook")), "{path}");
    }

    // Removed with the provision key, audited; then gone.
    let (status, _) = api(&app, Method::DELETE, &format!("/webhooks/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = api(&app, Method::GET, &format!("/webhooks/{id}"), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_webhook")));
    let kinds = app.sql_strings("SELECT kind FROM audit_events WHERE kind LIKE 'webhook.%' ORDER BY seq").await;
    assert_eq!(kinds, vec!["webhook.endpoint_created", "webhook.endpoint_removed"]);
}

#[tokio::test]
async fn a_name_that_resolves_to_the_deployments_own_network_is_never_called() {
    let app = spawn_app_with(|c| {
        quick(&mut c.webhooks);
        c.webhooks.allow_private = false;
    })
    .await;
    let receiver = Receiver::start();
    // Made behind the API's back (as if the name had resolved elsewhere when it was set):
    // the dispatcher still refuses what `localhost` resolves to.
    let actor = app::store::audit::Actor::system("test");
    let url = format!("http://localhost:{}/hook", receiver.port);
    let product = app.state.store.list_products().await.unwrap_or_else(|e| panic!("{e}"))[0].0;
    let new = app::store::webhooks::NewEndpoint {
        product_id: Some(product),
        url: &url,
        description: "",
        event_types: &[app::store::EventKind::EntitlementSuspended],
    };
    let (endpoint, _) = app.state.store.create_webhook_endpoint(&actor, &new, app::store::now()).await.unwrap_or_else(|e| panic!("{e}"));
    make_events(&app, 1).await;
    let until = Instant::now() + Duration::from_secs(10);
    let mut log = Value::Null;
    while Instant::now() < until {
        log = api(&app, Method::GET, &format!("/webhooks/{}/deliveries", endpoint.id), None).await.1;
        // An attempt is counted when taken and its outcome recorded when it ends: wait for that.
        if log["data"][0]["attempts"].as_i64().unwrap_or_default() >= 1 && !log["data"][0]["last_error"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let error = log["data"][0]["last_error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("no public address"), "{log}");
    assert_eq!(receiver.state().await["seen"], json!([]), "the receiver was never called");
}

#[tokio::test]
async fn two_replicas_on_postgresql_deliver_each_event_once() {
    let Some((url, name)) = postgres_database().await else { return };
    let a = spawn_app_with(|c| {
        c.database_url = url.clone();
        quick(&mut c.webhooks);
    })
    .await;
    let b = spawn_app_with(|c| {
        c.database_url = url.clone();
        quick(&mut c.webhooks);
    })
    .await;
    let receiver = Receiver::start();
    let (_, secret) = add_endpoint(&a, &receiver, &[]).await;
    receiver.set(json!({"secrets": [secret]})).await;
    // Changes through both replicas; both dispatchers run.
    let mut ids = make_events(&a, 3).await;
    ids.extend(make_events(&b, 3).await);
    let kept = receiver.wait_for(&ids, 30).await;
    assert_eq!(kept.keys().cloned().collect::<BTreeSet<_>>(), ids, "every event, from either replica");
    let state = receiver.state().await;
    let repeated: Vec<(&String, &Value)> = state["attempts"].as_object().into_iter().flatten().filter(|(_, n)| **n != 1).collect();
    assert!(repeated.is_empty(), "each event was delivered by one dispatcher, once: {repeated:?}");
    drop(a);
    drop(b);
    drop_postgres(&name).await;
}

/// A new API key of the demo product with `scopes`.
async fn key_with(app: &TestApp, scopes: app::store::keys::api_keys::Scopes) -> String {
    use rand::RngCore;
    let mut b = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut b);
    let key = format!("tsk_test_{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>());
    let admin = app::store::audit::Actor::system("test");
    let product = app.state.store.list_products().await.unwrap_or_else(|e| panic!("{e}"))[0].0;
    app.state
        .store
        .issue_api_key(&admin, product, "test key", &key, scopes, None, app::store::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    key
}

/// The kinds recorded after event `seq` that are notices, with what they say.
async fn notices_since(app: &TestApp, seq: i64) -> Vec<(String, Value)> {
    let events = app.state.store.list_audit_events(None, 1_000).await.unwrap_or_else(|e| panic!("{e}"));
    events
        .into_iter()
        .rev()
        .filter(|e| e.seq > seq && e.actor == "system:notices")
        .map(|e| (e.kind, e.after_json.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or(Value::Null)))
        .collect()
}

#[tokio::test]
async fn notices_of_quotas_trials_terms_and_caps_are_recorded_once_each_and_published() {
    let app = spawn_app_with(|_| {}).await;
    let now = app::store::now();
    let (_, list) = api(&app, Method::GET, "/entitlements?customer=globex", None).await;
    let globex = list["data"][0]["id"].as_i64().unwrap_or_default();
    let month = app::engine::Period::Month.start(now);
    let used: i64 = app
        .sql_strings(&format!(
            "SELECT CAST(COALESCE(SUM(quantity), 0) AS TEXT) FROM usage_daily WHERE entitlement_id = {globex} AND day >= {month}"
        ))
        .await[0]
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    // Globex's Business trial: 100,000 API calls a month.
    let record = |n: i64, id: &str| {
        let body = json!({"events": [{"event_id": id, "customer": "globex", "feature": "api.calls", "quantity": n}]});
        let app = &app;
        async move {
            let (status, b) = api(app, Method::POST, "/usage", Some(body)).await;
            assert_eq!(status, StatusCode::OK, "{b}");
        }
    };
    let start = crate::helpers::audit_head(&app).await;
    let head = start;
    record(80_000 - used - 1, "n-1").await;
    assert_eq!(notices_since(&app, head).await, vec![], "just under 80%");
    record(1, "n-2").await;
    let quota = notices_since(&app, head).await;
    assert_eq!(quota.len(), 1, "{quota:?}");
    assert_eq!(quota[0].0, "quota.threshold_reached");
    assert_eq!((quota[0].1["feature"].as_str(), quota[0].1["percent"].as_i64()), (Some("api.calls"), Some(80)));
    assert_eq!(
        (quota[0].1["used"].as_i64(), quota[0].1["quota"].as_i64(), quota[0].1["period"].as_str()),
        (Some(80_000), Some(100_000), Some("month"))
    );
    record(5, "n-3").await;
    assert_eq!(notices_since(&app, head).await.len(), 1, "once a period");
    record(20_000, "n-4").await;
    let quota = notices_since(&app, head).await;
    assert_eq!(quota.iter().map(|(_, a)| a["percent"].as_i64().unwrap_or_default()).collect::<Vec<_>>(), vec![80, 100]);
    record(1, "n-5").await;
    server::startup::sweep_once(&app.state, now).await;
    let quota: Vec<_> = notices_since(&app, head)
        .await
        .into_iter()
        .filter(|(k, a)| k == "quota.threshold_reached" && a["used"].as_i64() >= Some(80_000))
        .collect();
    assert_eq!(quota.len(), 2, "neither more use nor the sweep tells again: {quota:?}");

    // Globex's trial and term end in ten days: the sweep (above) told of the term's end (the
    // 30 days' notice), once; four days on, of the trial's end and the 7 days' notice.
    let ending = |v: Vec<(String, Value)>| -> Vec<(String, i64)> {
        v.into_iter()
            .filter(|(k, a)| k.starts_with("entitlement.") && a.get("days").is_some())
            .map(|(k, a)| (k, a["days"].as_i64().unwrap_or_default()))
            .collect()
    };
    let first = ending(notices_since(&app, start).await);
    assert_eq!(first, vec![("entitlement.ending".to_owned(), 30)], "the first sweep tells of the term's end");
    let head = crate::helpers::audit_head(&app).await;
    server::startup::sweep_once(&app.state, now).await;
    assert_eq!(ending(notices_since(&app, head).await), vec![], "told once");
    server::startup::sweep_once(&app.state, now + 4 * 86_400).await;
    let later = ending(notices_since(&app, head).await);
    server::startup::sweep_once(&app.state, now + 5 * 86_400).await;
    assert_eq!(ending(notices_since(&app, head).await), later, "and each once");
    let all: Vec<(String, i64)> = first.into_iter().chain(later).collect();
    assert!(all.contains(&("entitlement.ending".to_owned(), 30)), "{all:?}");
    assert!(all.contains(&("entitlement.ending".to_owned(), 7)), "{all:?}");
    assert!(all.iter().any(|(k, d)| k == "entitlement.trial_ending" && *d <= 7), "{all:?}");

    // Initech's last seat and instance slot: its caps lowered through the API to three seats
    // (two are taken) and one instance (the sweeps above lapsed the seed's), then taken.
    let (_, list) = api(&app, Method::GET, "/entitlements?customer=initech", None).await;
    let initech = list["data"][0]["id"].as_i64().unwrap_or_default();
    let (status, body) = api(&app, Method::PATCH, &format!("/entitlements/{initech}"), Some(json!({"seats": 3, "instances": 1}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ada = app.client_for("ada@initech.example").await;
    let head = crate::helpers::audit_head(&app).await;
    let ent = initech.to_string();
    let r = app.call_as(&ada, "assign_seat", &[("entitlement", &ent), ("email", "cy@initech.example")]).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap_or_default());
    assert_eq!(crate::helpers::audit_kinds_since(&app, head).await, vec!["seat.assigned", "seat.cap_reached"], "in the same write");

    let head = crate::helpers::audit_head(&app).await;
    let (status, body) = api(&app, Method::POST, "/instances", Some(json!({"customer": "initech", "fingerprint": "fp-last-one"}))).await;
    assert!(status.is_success(), "{body}");
    assert_eq!(crate::helpers::audit_kinds_since(&app, head).await, vec!["instance.activated", "instance.cap_reached"]);

    // All of them are in the feed.
    let (_, feed) = api(&app, Method::GET, "/events?after=0&limit=200&types=quota.threshold_reached,seat.cap_reached,instance.cap_reached,entitlement.ending,entitlement.trial_ending", None).await;
    let types: BTreeSet<&str> = feed["data"].as_array().into_iter().flatten().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types.len(), 5, "{feed}");
}

#[tokio::test]
async fn a_receiver_that_never_answers_holds_up_no_other_endpoint() {
    let app = spawn_app_with(|c| {
        quick(&mut c.webhooks);
        c.webhooks.timeout = Duration::from_secs(60);
    })
    .await;
    // A receiver that takes connections and never answers: each attempt to it waits out
    // the minute's timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let silent_port = silent.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let (status, made) = api(&app, Method::POST, "/webhooks", Some(json!({"url": format!("http://127.0.0.1:{silent_port}/hook")}))).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let silent_id = made["endpoint"]["id"].as_i64().unwrap_or_default();
    let receiver = Receiver::start();
    let (_, secret) = add_endpoint(&app, &receiver, &[]).await;
    receiver.set(json!({"secrets": [secret]})).await;

    let ids = make_events(&app, 5).await;
    let kept = receiver.wait_for(&ids, 30).await;
    assert!(ids.iter().all(|id| kept.contains_key(id)), "{:?} of {ids:?}", kept.keys());
    // Every one of the fifteen arrived while the silent endpoint's first attempts were
    // still waiting for an answer: none of them has ended yet.
    let until = Instant::now() + Duration::from_secs(10);
    let (log, deliveries) = loop {
        let (_, log) = api(&app, Method::GET, &format!("/webhooks/{silent_id}/deliveries"), None).await;
        let deliveries = log["data"].as_array().cloned().unwrap_or_default();
        if deliveries.len() == 15 || Instant::now() > until {
            break (log, deliveries);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(deliveries.len(), 15, "{log}");
    assert!(deliveries.iter().all(|d| d["last_attempt_at"].is_null() && d["status"] == "pending"), "{log}");
    assert!(deliveries.iter().filter(|d| d["attempts"] == 1).count() <= 4, "at most four at once to one endpoint: {log}");
}

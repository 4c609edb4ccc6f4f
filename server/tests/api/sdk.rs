//! The client SDK (`tessera-client`) against a real server: activation, online checks, the
//! offline licence answering while the server is out of reach, queued usage counted once,
//! the air-gapped exchange, and licences it must refuse.
//!
//! Between the SDK and the server sits a relay the test switches, so that the server can
//! vanish (every connection refused) or fail after acting (requests pass, answers are lost).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_client::{Client, Config, Error, Jwks, ReasonCode, Source, UsageStatus};
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{json as body_of, spawn_app_with, TestApp};

const PRODUCT: &str = "acme-analytics";
const ADA: &str = "ada@initech.example";
const DAY: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Everything passes.
    Up,
    /// Every connection is closed at once, as by a server that is gone.
    Down,
    /// Requests reach the server; its answers never reach the client.
    LoseAnswers,
    /// Every request is answered with this status by the relay itself, as a proxy in front
    /// of a server that is overloaded or failing answers it.
    Answer(u16),
}

/// A TCP relay in front of the server; switching it closes the connections it holds.
struct Relay {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
}

impl Relay {
    async fn bind() -> (Relay, TcpListener) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        (Relay { addr, mode: watch::channel(Mode::Up).0 }, listener)
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Relays what `listener` accepts to `target`.
    fn start(&self, listener: TcpListener, target: SocketAddr) {
        let modes = self.mode.subscribe();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut modes = modes.clone();
                tokio::spawn(async move {
                    let mode = *modes.borrow_and_update();
                    if mode == Mode::Down {
                        return;
                    }
                    if let Mode::Answer(status) = mode {
                        use tokio::io::AsyncWriteExt as _;
                        let mut request = [0u8; 8192];
                        let _ = client.read(&mut request).await;
                        let body = format!("<html><body>{status}: the service is not available</body></html>");
                        let answer = format!(
                            "HTTP/1.1 {status} Unavailable\r\nContent-Type: text/html\r\nRetry-After: 1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = client.write_all(answer.as_bytes()).await;
                        return;
                    }
                    let Ok(mut server) = TcpStream::connect(target).await else { return };
                    if mode == Mode::Up {
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = modes.changed() => {}
                        }
                        return;
                    }
                    let (mut from_client, _) = client.split();
                    let (mut from_server, mut to_server) = server.split();
                    let mut first = [0u8; 1];
                    tokio::select! {
                        _ = tokio::io::copy(&mut from_client, &mut to_server) => {}
                        _ = from_server.read(&mut first) => {}
                    }
                });
            }
        });
    }

    fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

/// The server behind a relay whose URL is the server's public URL (the licences' issuer).
async fn server_behind_relay() -> (TestApp, Relay) {
    let (relay, listener) = Relay::bind().await;
    let url = relay.url();
    let app = spawn_app_with(|c| c.public_url = Some(url)).await;
    relay.start(listener, app.addr);
    (app, relay)
}

/// The server's JWKS, as the vendor ships it with the software.
async fn jwks_of(app: &TestApp) -> String {
    let r = app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap_or_else(|e| panic!("jwks: {e}"));
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap_or_default()
}

/// A clock the test moves: the system's, plus an offset.
fn movable_clock() -> (Arc<AtomicI64>, tessera_client::Clock) {
    let offset = Arc::new(AtomicI64::new(0));
    let shared = offset.clone();
    let clock: tessera_client::Clock = Arc::new(move || chrono::Utc::now().timestamp() + shared.load(Ordering::Relaxed));
    (offset, clock)
}

/// An SDK client for Initech's demo license key, talking to `server` (none: an air-gapped
/// machine, which knows the server's public URL `issuer`).
async fn sdk(app: &TestApp, server: &str, region: Option<&str>, clock: Option<tessera_client::Clock>) -> Client {
    let key = app::store::seed::demo_license_key().to_string();
    let mut config = Config::new(server, PRODUCT, key, jwks_of(app).await);
    config.issuer = Some(app.state.public_url.clone());
    config.region = region.map(str::to_owned);
    config.now = clock;
    Client::new(config).unwrap_or_else(|e| panic!("client: {e}"))
}

/// The ids of the instances Initech's portal lists to `admin`.
async fn instances_listed(app: &TestApp, admin: &reqwest::Client) -> Vec<String> {
    let listed = body_of(app.call_as(admin, "list_instances", &[]).await).await;
    let rows = listed["instances"].as_array().cloned().unwrap_or_default();
    rows.iter().filter_map(|i| i["public_id"].as_str().map(str::to_owned)).collect()
}

/// The units of `feature` left to Initech's entitlement in the current period, as the
/// server answers a check of it.
async fn remaining_online(client: &Client, feature: &str) -> i64 {
    let answer = client.check(feature, None).await.unwrap_or_else(|e| panic!("check {feature}: {e}"));
    assert_eq!(answer.source, Source::Online, "{answer:?}");
    answer.remaining.unwrap_or_else(|| panic!("{feature} is metered: {answer:?}"))
}

#[tokio::test]
async fn the_sdk_answers_from_its_licence_while_the_server_is_away_and_sends_queued_usage_once() {
    let (app, relay) = server_behind_relay().await;
    let (offset, clock) = movable_clock();
    let client = sdk(&app, &relay.url(), None, Some(clock)).await;

    // Activation takes a slot and brings a licence for this machine.
    let activation = client.activate("sdk-host-1", Some("Build server")).await.unwrap_or_else(|e| panic!("activate: {e}"));
    assert!(activation.created && activation.instance.starts_with("ins_"), "{activation:?}");
    assert_eq!(activation.customer, "initech");
    let licence = activation.licence.clone().unwrap_or_else(|| panic!("no licence: {activation:?}"));
    assert_eq!((licence.instance.as_str(), licence.fingerprint.as_str()), (activation.instance.as_str(), "sdk-host-1"));
    assert_eq!((licence.iss.as_str(), licence.aud.as_str()), (relay.url().as_str(), PRODUCT));
    let ada = app.client_for(ADA).await;
    let listed = instances_listed(&app, &ada).await;
    assert!(listed.contains(&activation.instance), "the portal lists the new instance: {listed:?}");

    // Online: the server's answers, Team's features allowed, Business's single sign-on not.
    let online = client.check("dashboards", Some(ADA)).await.unwrap_or_else(|e| panic!("check: {e}"));
    assert_eq!((online.allowed, online.code, online.source), (true, ReasonCode::Ok, Source::Online), "{online:?}");
    let stranger = client.check("sso", Some(ADA)).await.unwrap_or_else(|e| panic!("check: {e}"));
    assert_eq!((stranger.allowed, stranger.code), (false, ReasonCode::FeatureNotInPlan), "{stranger:?}");
    client.heartbeat().await.unwrap_or_else(|e| panic!("heartbeat: {e}"));
    let sent = client.report_usage("api.calls", 5).await.unwrap_or_else(|e| panic!("usage: {e}"));
    assert_eq!(sent, UsageStatus::Sent { accepted: 1, duplicates: 0, dropped: 0 });
    let before = remaining_online(&client, "api.calls").await;

    // The server vanishes: the licence answers as the server did, counting usage queued
    // since.
    relay.set(Mode::Down);
    let offline = client.check("dashboards", Some(ADA)).await.unwrap_or_else(|e| panic!("offline check: {e}"));
    assert_eq!((offline.allowed, offline.code, offline.source), (true, ReasonCode::Ok, Source::Licence), "{offline:?}");
    let offline_stranger = client.check("sso", Some(ADA)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((offline_stranger.allowed, offline_stranger.code), (false, stranger.code), "the same refusal as online");
    assert!(matches!(client.heartbeat().await, Err(Error::Offline(_))));
    assert_eq!(client.report_usage("api.calls", 3).await.unwrap_or_else(|e| panic!("{e}")), UsageStatus::Queued { queued: 1 });
    let metered = client.check("api.calls", None).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((metered.source, metered.remaining), (Source::Licence, Some(before - 3)), "{metered:?}");

    // A clock set back before the licence was issued is not believed.
    offset.store(-2 * DAY, Ordering::Relaxed);
    assert!(matches!(client.check("dashboards", Some(ADA)).await, Err(Error::ClockSetBack)));
    // Past the licence's expiry, nothing answers.
    offset.store(licence.exp - chrono::Utc::now().timestamp() + 60, Ordering::Relaxed);
    match client.check("dashboards", Some(ADA)).await {
        Err(Error::Offline(why)) => assert!(why.contains("expired"), "{why}"),
        other => panic!("past expiry: {other:?}"),
    }
    offset.store(0, Ordering::Relaxed);

    // Queued while the server was away, the events go when it answers again; here the
    // server acts but its answer is lost, so they stay queued…
    relay.set(Mode::LoseAnswers);
    assert_eq!(client.report_usage("api.calls", 4).await.unwrap_or_else(|e| panic!("{e}")), UsageStatus::Queued { queued: 2 });
    assert_eq!(client.flush_usage().await.unwrap_or_else(|e| panic!("{e}")), UsageStatus::Queued { queued: 2 });
    // …and are sent again with the same ids once answers come through: the server had
    // counted them, so they are duplicates, and the units are counted once.
    relay.set(Mode::Up);
    let flushed = client.flush_usage().await.unwrap_or_else(|e| panic!("flush: {e}"));
    assert_eq!(flushed, UsageStatus::Sent { accepted: 0, duplicates: 2, dropped: 0 });
    assert_eq!(client.queued_usage(), 0);
    assert_eq!(remaining_online(&client, "api.calls").await, before - 3 - 4);

    // Deactivating gives the slot back on the server.
    let instance = activation.instance.clone();
    client.deactivate().await.unwrap_or_else(|e| panic!("deactivate: {e}"));
    assert_eq!(client.instance(), None);
    let listed = instances_listed(&app, &ada).await;
    assert!(!listed.contains(&instance), "{listed:?}");
}

#[tokio::test]
async fn a_busy_or_failing_server_is_answered_from_the_licence_but_a_refusal_is_final() {
    let (app, relay) = server_behind_relay().await;
    let client = sdk(&app, &relay.url(), None, None).await;
    let activation = client.activate("sdk-host-busy", None).await.unwrap_or_else(|e| panic!("activate: {e}"));
    assert!(activation.licence.is_some(), "{activation:?}");

    // A proxy answering 503 (the server failing) or 429 (over its rate): the licence answers.
    for status in [503, 502, 429] {
        relay.set(Mode::Answer(status));
        let answer = client.check("dashboards", Some(ADA)).await.unwrap_or_else(|e| panic!("{status}: {e}"));
        assert_eq!((answer.allowed, answer.code, answer.source), (true, ReasonCode::Ok, Source::Licence), "{status}: {answer:?}");
    }

    // The server refuses the key (regenerated by Initech's admin): that is the answer, and
    // the licence does not stand in for it.
    relay.set(Mode::Up);
    let ada = app.client_for(ADA).await;
    let entitlement = body_of(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    let r = app.call_as(&ada, "regenerate_license_key", &[("entitlement", &entitlement)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    match client.check("dashboards", Some(ADA)).await {
        Err(Error::Refused { status: 401, code, .. }) => assert_eq!(code, "unauthorized"),
        other => panic!("a refused key is a refusal, not a reason to read the licence: {other:?}"),
    }
}

#[tokio::test]
async fn after_the_vendor_rotates_its_signing_key_the_sdk_reads_the_new_key_and_its_licence_still_answers() {
    let (app, relay) = server_behind_relay().await;
    // The snapshot shipped with the software holds the old key only.
    let client = sdk(&app, &relay.url(), None, None).await;
    let first = client.activate("sdk-host-rotation", None).await.unwrap_or_else(|e| panic!("activate: {e}"));
    let first = first.licence.unwrap_or_else(|| panic!("no licence"));

    let admin = app.client_for("admin@tessera.example").await;
    let r = app.call_as(&admin, "rotate_signing_key", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let kid = body_of(r).await.as_str().unwrap_or_default().to_owned();
    let published: Value = serde_json::from_str(&jwks_of(&app).await).unwrap_or_default();
    assert!(published["keys"].as_array().is_some_and(|k| k.len() == 2 && k.iter().any(|k| k["kid"] == json!(kid))), "{published}");

    // The next licence is signed with the new key: the SDK fetches the server's keys for it.
    let renewed = client.refresh_licence().await.unwrap_or_else(|e| panic!("a licence signed with the new key: {e}"));
    assert_ne!(renewed.jti, first.jti);
    assert_eq!(client.licence().map(|l| l.jti), Some(renewed.jti.clone()));
    relay.set(Mode::Down);
    let answer = client.check("dashboards", Some(ADA)).await.unwrap_or_else(|e| panic!("offline: {e}"));
    assert_eq!((answer.allowed, answer.source), (true, Source::Licence), "{answer:?}");
}

/// The licence the server issues for `instance`, fetched with the license key.
async fn fetch_licence(app: &TestApp, instance: &str) -> String {
    let key = app::store::seed::demo_license_key().to_string();
    let r = app.client.post(app.url(&format!("/api/v1/instances/{instance}/licence"))).bearer_auth(key).send().await;
    let v = body_of(r.unwrap_or_else(|e| panic!("licence: {e}"))).await;
    v["licence"].as_str().unwrap_or_else(|| panic!("no licence: {v}")).to_owned()
}

/// `jwt` with its claims changed by `change`, the signature kept.
fn tampered(jwt: &str, change: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    change(&mut claims);
    format!("{}.{}.{}", parts[0], B64.encode(claims.to_string()), parts[2])
}

#[tokio::test]
async fn the_sdk_refuses_a_tampered_licence_and_one_for_another_machine_and_imports_its_own() {
    let (app, relay) = server_behind_relay().await;
    let jwks = Jwks::parse(&jwks_of(&app).await).unwrap_or_else(|e| panic!("{e}"));
    let now = chrono::Utc::now().timestamp();
    let online = sdk(&app, &relay.url(), None, None).await;
    let activation = online.activate("sdk-host-2", None).await.unwrap_or_else(|e| panic!("activate: {e}"));
    let jwt = fetch_licence(&app, &activation.instance).await;
    let issuer = relay.url();

    let verified = tessera_client::verify_licence(&jwt, &jwks, PRODUCT, &issuer, now).unwrap_or_else(|e| panic!("verify: {e}"));
    assert_eq!(verified.fingerprint, "sdk-host-2");
    let more_seats = tampered(&jwt, |c| c["seats"] = json!(1000));
    assert!(matches!(tessera_client::verify_licence(&more_seats, &jwks, PRODUCT, &issuer, now), Err(Error::BadSignature)));
    let mut flipped = jwt.clone();
    let last = if flipped.ends_with('A') { "B" } else { "A" };
    flipped.replace_range(flipped.len() - 1.., last);
    assert!(matches!(tessera_client::verify_licence(&flipped, &jwks, PRODUCT, &issuer, now), Err(Error::BadSignature)));
    let other_product = tessera_client::verify_licence(&jwt, &jwks, "another-product", &issuer, now);
    assert!(matches!(other_product, Err(Error::WrongAudience { .. })), "{other_product:?}");
    online.deactivate().await.unwrap_or_else(|e| panic!("{e}"));

    // The air-gapped exchange: the machine writes a request, the portal answers it, the
    // machine imports the answer.
    let air_gapped = sdk(&app, "", None, None).await;
    assert!(matches!(air_gapped.check("dashboards", Some(ADA)).await, Err(Error::Offline(_))), "no licence yet");
    let request = air_gapped.offline_request("vault-7", Some("Vault")).unwrap_or_else(|e| panic!("request: {e}"));
    let ada = app.client_for(ADA).await;
    let answer = app.call_as(&ada, "activate_offline", &[("customer", "initech"), ("request", &request)]).await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text().await.unwrap_or_default());
    let answer = body_of(answer).await;
    let licence = answer["licence"].as_str().unwrap_or_else(|| panic!("{answer}")).to_owned();

    // Another machine with a request of its own cannot import it, nor can a tampered copy
    // be imported here.
    let elsewhere = sdk(&app, "", None, None).await;
    elsewhere.offline_request("vault-8", None).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(elsewhere.import_licence(&licence), Err(Error::NonceMismatch)));
    let forged = tampered(&licence, |c| c["fingerprint"] = json!("vault-8"));
    assert!(matches!(elsewhere.import_licence(&forged), Err(Error::BadSignature)));
    assert!(matches!(air_gapped.import_licence(&tampered(&licence, |c| c["seats"] = json!(1000))), Err(Error::BadSignature)));

    let claims = air_gapped.import_licence(&format!("\n{licence}\n")).unwrap_or_else(|e| panic!("import: {e}"));
    assert_eq!(claims.fingerprint, "vault-7");
    let offline = air_gapped.check("dashboards", Some(ADA)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((offline.allowed, offline.source), (true, Source::Licence), "{offline:?}");
    // The same licence again: no request is pending any more.
    assert!(matches!(air_gapped.import_licence(&licence), Err(Error::NoPendingRequest)));

    // The receipt frees the slot.
    let receipt = air_gapped.deactivation_receipt().unwrap_or_else(|e| panic!("receipt: {e}"));
    let freed = app.call_as(&ada, "deactivate_offline", &[("customer", "initech"), ("receipt", &receipt)]).await;
    assert_eq!(freed.status(), StatusCode::OK, "{}", freed.text().await.unwrap_or_default());
    assert!(matches!(air_gapped.check("dashboards", Some(ADA)).await, Err(Error::Offline(_))), "the licence is gone");
}

#[tokio::test]
async fn a_region_the_entitlement_does_not_allow_is_blocked_online_and_from_the_licence() {
    let (app, relay) = server_behind_relay().await;
    let staff = app.client_for("staff@tessera.example").await;
    let ada = app.client_for(ADA).await;
    let ent = body_of(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    let amend = [("entitlement", ent.as_str()), ("plan", "team"), ("regions", "EU"), ("reason", "EU data residency")];
    let r = app.call_as(&staff, "amend_entitlement", &amend).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());

    // The EU host keeps its licence in a state file, as a vendor's software would.
    let dir = std::env::temp_dir().join(format!("tessera-sdk-region-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let state = dir.join("state.json");
    let in_eu = sdk_with_state(&app, &relay.url(), "eu", &state).await;
    let activation = in_eu.activate("eu-host", None).await.unwrap_or_else(|e| panic!("activate: {e}"));
    let licence = activation.licence.unwrap_or_else(|| panic!("no licence"));
    let regions = licence.regions.map(|r| r.iter().map(|r| r.to_ascii_lowercase()).collect::<Vec<_>>());
    assert_eq!(regions, Some(vec!["eu".to_owned()]));
    let in_us = sdk(&app, &relay.url(), Some("us"), None).await;
    let a = in_us.check("dashboards", Some(ADA)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((a.allowed, a.code, a.source), (false, ReasonCode::RegionBlocked, Source::Online), "{a:?}");

    relay.set(Mode::Down);
    let eu = in_eu.check("dashboards", Some(ADA)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((eu.allowed, eu.source), (true, Source::Licence), "{eu:?}");
    // The same state file, and so the same licence, on a host configured in another region.
    drop(in_eu);
    let moved = sdk_with_state(&app, &relay.url(), "us", &state).await;
    let us = moved.check("dashboards", Some(ADA)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((us.allowed, us.code, us.source), (false, ReasonCode::RegionBlocked, Source::Licence), "{us:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An SDK client in `region` that keeps its state in `state`.
async fn sdk_with_state(app: &TestApp, server: &str, region: &str, state: &std::path::Path) -> Client {
    let key = app::store::seed::demo_license_key().to_string();
    let mut config = Config::new(server, PRODUCT, key, jwks_of(app).await);
    config.region = Some(region.to_owned());
    config.state_file = Some(state.to_path_buf());
    Client::new(config).unwrap_or_else(|e| panic!("client: {e}"))
}

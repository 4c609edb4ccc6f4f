//! License keys, scoped API keys, offline licences and the air-gapped flow, tried as an
//! attacker holding a copy of the vendor's software would: every credential against every
//! endpoint, across customers; licences verified by an independent JWT library.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tessera_engine::licensing::{ActivationRequest, DeactivationReceipt, OfflineDocument};
use tessera_engine::LicenseKey;

use crate::helpers::{audit_head, audit_kinds_since, json as body_of, spawn_app, spawn_app_with, TestApp};

const VENDOR: &str = "tsk_demo_acme";
const ADA: &str = "ada@initech.example";

/// `method` `path` of the enforcement API with `key`: the status and the JSON answer.
async fn api(app: &TestApp, method: Method, path: &str, key: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(key);
    if let Some(b) = body {
        request = request.json(&b);
    }
    let r = request.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = r.status();
    (status, serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null))
}

async fn post(app: &TestApp, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
    api(app, Method::POST, path, key, Some(body)).await
}

/// Initech's demo license key, as printed at start.
fn initech_key() -> String {
    app::store::seed::demo_license_key().to_string()
}

/// The live license key of `customer`'s Acme Analytics entitlement.
async fn key_of(app: &TestApp, customer: &str) -> String {
    let snapshot = app.state.enforcer.customer(customer).await.unwrap_or_else(|e| panic!("{e}"));
    let ent = snapshot.entitlements["acme-analytics"].entitlement_id;
    app.state.store.license_key(tessera_engine::EntitlementId(ent)).await.unwrap_or_else(|e| panic!("{e}")).key.to_string()
}

/// An instance activated with `key` (and `customer` when given): its id.
async fn activate(app: &TestApp, key: &str, customer: Option<&str>, fingerprint: &str) -> String {
    let mut body = json!({ "fingerprint": fingerprint });
    if let Some(c) = customer {
        body["customer"] = json!(c);
    }
    let (s, v) = post(app, "/api/v1/instances", key, body).await;
    assert!(s == StatusCode::CREATED || s == StatusCode::OK, "{s} {v}");
    v["id"].as_str().unwrap_or_default().to_owned()
}

fn code(v: &Value) -> Option<&str> {
    v["code"].as_str()
}

#[tokio::test]
async fn a_license_key_acts_for_its_own_entitlement_and_nothing_else() {
    let app = spawn_app().await;
    let initech = initech_key();
    let globex = key_of(&app, "globex").await;
    let feature = json!({"feature": "dashboards", "user": ADA});

    // Its own customer, named or not.
    let (s, v) = post(&app, "/api/v1/check", &initech, feature.clone()).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::OK, Some("ok")), "{v}");
    let (s, _) = post(&app, "/api/v1/check", &initech, json!({"customer": "initech", "feature": "dashboards", "user": ADA})).await;
    assert_eq!(s, StatusCode::OK);

    // Another customer, however named, in every body that names one.
    let globex_id = app.state.enforcer.customer("globex").await.unwrap_or_else(|e| panic!("{e}")).customer_id.to_string();
    for other in ["globex", globex_id.as_str()] {
        let asks = [
            ("/api/v1/check", json!({"customer": other, "feature": "dashboards"})),
            ("/api/v1/checks", json!({"checks": [{"feature": "dashboards"}, {"customer": other, "feature": "dashboards"}]})),
            ("/api/v1/instances", json!({"customer": other, "fingerprint": "stolen"})),
            ("/api/v1/usage", json!({"events": [{"event_id": "x1", "customer": other, "feature": "api.calls", "quantity": 5}]})),
        ];
        for (path, body) in asks {
            let (s, v) = post(&app, path, &initech, body).await;
            assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, Some("wrong_customer")), "{path} naming {other}: {v}");
        }
    }

    // Globex's instances, activated by the vendor or by Globex's own key, are not Initech's.
    let by_vendor = activate(&app, VENDOR, Some("globex"), "globex-1").await;
    let by_globex = activate(&app, &globex, None, "globex-2").await;
    for id in [&by_vendor, &by_globex] {
        for (method, path) in [
            (Method::POST, format!("/api/v1/instances/{id}/heartbeat")),
            (Method::POST, format!("/api/v1/instances/{id}/licence")),
            (Method::DELETE, format!("/api/v1/instances/{id}")),
        ] {
            let (s, v) = api(&app, method.clone(), &path, &initech, None).await;
            assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, Some("unknown_instance")), "{method} {path}: {v}");
        }
        // Asked about in a check of Initech, another's instance is no instance.
        let (_, v) = post(&app, "/api/v1/check", &initech, json!({"feature": "dashboards", "instance": id})).await;
        assert_eq!(v["allowed"], false, "{v}");
    }
    // ...and they are still alive.
    let (s, _) = api(&app, Method::POST, &format!("/api/v1/instances/{by_vendor}/heartbeat"), VENDOR, None).await;
    assert_eq!(s, StatusCode::OK);

    // What only a vendor key may do.
    let vendor_only = [
        ("/api/v1/tokens", json!({"customer": "initech"})),
        ("/api/v1/offline/activations", json!({"document": "x"})),
        ("/api/v1/offline/deactivations", json!({"document": "x"})),
    ];
    for (path, body) in vendor_only {
        let (s, v) = post(&app, path, &initech, body).await;
        assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, Some("missing_scope")), "{path}: {v}");
    }

    // Its own instances, usage and licences work.
    let mine = activate(&app, &initech, None, "initech-host").await;
    let (s, _) = api(&app, Method::POST, &format!("/api/v1/instances/{mine}/heartbeat"), &initech, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) =
        post(&app, "/api/v1/usage", &initech, json!({"events": [{"event_id": "i1", "feature": "api.calls", "quantity": 5}]})).await;
    assert_eq!((s, v["accepted"].as_i64()), (StatusCode::OK, Some(1)), "{v}");
    let (s, v) = api(&app, Method::POST, &format!("/api/v1/instances/{mine}/licence"), &initech, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = api(&app, Method::DELETE, &format!("/api/v1/instances/{mine}"), &initech, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn keys_that_are_not_valid_are_refused_with_a_code() {
    let app = spawn_app().await;
    let key = initech_key();
    // One character changed: the checksum catches it before any lookup.
    let last = key.chars().last().unwrap_or('0');
    let typo = format!("{}{}", &key[..key.len() - 1], if last == '0' { '1' } else { '0' });
    let unknown = LicenseKey::from_bytes([9; 16]).to_string();
    let body = json!({"feature": "dashboards"});
    for (bearer, expected) in [
        (typo.as_str(), "invalid_license_key"),
        ("TLK-SHORT", "invalid_license_key"),
        (unknown.as_str(), "unauthorized"),
        ("tsk_nope", "unauthorized"),
    ] {
        let (s, v) = post(&app, "/api/v1/check", bearer, body.clone()).await;
        assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, Some(expected)), "{bearer}: {v}");
    }
    let r = app.client.post(app.url("/api/v1/check")).json(&body).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_api_key_without_a_scope_is_refused_what_the_scope_allows() {
    use app::store::keys::api_keys::Scopes;
    let app = spawn_app().await;
    let admin = app::store::audit::Actor::system("test");
    let product = app.state.store.list_products().await.unwrap_or_else(|e| panic!("{e}"))[0].0;
    let read_only = Scopes { enforce: false, provision: false, read: true };
    let now = app::store::now();
    app.state.store.issue_api_key(&admin, product, "reader", "tsk_reader", read_only, None, now).await.unwrap_or_else(|e| panic!("{e}"));
    app.state.enforcer.reload_keys_and_catalog().await.unwrap_or_else(|e| panic!("{e}"));
    let id = activate(&app, VENDOR, Some("initech"), "scoped").await;
    let calls = [
        (Method::POST, "/api/v1/check".to_owned(), Some(json!({"customer": "initech", "feature": "dashboards"}))),
        (Method::POST, "/api/v1/checks".to_owned(), Some(json!({"checks": []}))),
        (Method::POST, "/api/v1/instances".to_owned(), Some(json!({"customer": "initech", "fingerprint": "r"}))),
        (Method::POST, format!("/api/v1/instances/{id}/heartbeat"), None),
        (Method::POST, format!("/api/v1/instances/{id}/licence"), None),
        (Method::DELETE, format!("/api/v1/instances/{id}"), None),
        (
            Method::POST,
            "/api/v1/usage".to_owned(),
            Some(json!({"events": [{"event_id": "r", "customer": "initech", "feature": "api.calls", "quantity": 1}]})),
        ),
        (Method::POST, "/api/v1/tokens".to_owned(), Some(json!({"customer": "initech"}))),
        (Method::POST, "/api/v1/offline/activations".to_owned(), Some(json!({"document": "x"}))),
        (Method::POST, "/api/v1/offline/deactivations".to_owned(), Some(json!({"document": "x"}))),
    ];
    for (method, path, body) in calls {
        let (s, v) = api(&app, method.clone(), &path, "tsk_reader", body).await;
        assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, Some("missing_scope")), "{method} {path}: {v}");
    }
    // The demo key holds every scope.
    let keys = app.state.store.list_api_keys().await.unwrap_or_else(|e| panic!("{e}"));
    let demo = keys.iter().find(|k| k.name == "Demo key").unwrap_or_else(|| panic!("no demo key"));
    assert_eq!(demo.scopes, Scopes::ALL);
}

/// Verifies `licence` with PyJWT holding only `jwks`: the claims, or PyJWT's complaint.
fn verify_with_pyjwt(licence: &str, jwks: &Value, audience: &str, issuer: &str) -> Result<Value, String> {
    let script = r#"
import json, sys
import jwt
token, jwks, audience, issuer = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
kid = jwt.get_unverified_header(token)["kid"]
key = next(jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == kid)
claims = jwt.decode(token, key=key, algorithms=["EdDSA"], audience=audience, issuer=issuer,
                    options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]})
print(json.dumps({"header": jwt.get_unverified_header(token), "claims": claims}))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script, licence, &jwks.to_string(), audience, issuer])
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[tokio::test]
async fn a_licence_is_a_standard_jwt_that_an_independent_library_verifies_with_the_jwks_alone() {
    let app = spawn_app_with(|c| c.public_url = Some("https://licensing.acme.example".into())).await;
    let key = initech_key();
    let id = activate(&app, &key, None, "host-42").await;
    let (s, v) = api(&app, Method::POST, &format!("/api/v1/instances/{id}/licence"), &key, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let licence = v["licence"].as_str().unwrap_or_default().to_owned();
    let jwks =
        reqwest::get(app.url("/.well-known/jwks.json")).await.unwrap_or_else(|e| panic!("{e}")).json::<Value>().await.unwrap_or_default();

    let verified = verify_with_pyjwt(&licence, &jwks, "acme-analytics", "https://licensing.acme.example").unwrap_or_else(|e| panic!("{e}"));
    let (header, claims) = (&verified["header"], &verified["claims"]);
    assert_eq!((header["alg"].as_str(), header["typ"].as_str()), (Some("EdDSA"), Some("tessera-licence+jwt")));
    assert!(header["kid"].is_string());
    assert_eq!(claims["instance"], json!(id));
    assert_eq!(claims["fingerprint"], "host-42");
    assert_eq!(claims["customer"], "initech");
    assert_eq!(claims["plan"], "team");
    assert_eq!(claims["status"], "active");
    assert!(claims["plan_version"].as_i64().is_some_and(|v| v >= 1));
    assert_eq!(claims["seats"], 10);
    assert_eq!(claims["instances"], 3);
    assert!(claims["features"]["dashboards"]["requires"].is_object() || claims["features"]["dashboards"]["requires"].is_string());
    assert!(claims["features"]["api.calls"]["quota"]["limit"].as_i64().is_some(), "{claims}");
    assert_eq!(claims["seat_holders"].as_array().map(Vec::len), Some(2), "Ada and Bob hold seats: {claims}");
    // Team's default: thirty days offline, Initech renews later than that.
    let (iat, exp) = (claims["iat"].as_i64().unwrap_or_default(), claims["exp"].as_i64().unwrap_or_default());
    assert_eq!(exp - iat, 30 * 86_400);
    assert!(claims["refresh_at"].as_i64().is_some_and(|r| r > iat && r <= iat + 86_400));
    assert_eq!(claims["jti"].as_str().map(str::len), Some(32));

    // The audience, the issuer and the signature are what they say.
    assert!(verify_with_pyjwt(&licence, &jwks, "another-product", "https://licensing.acme.example").is_err());
    assert!(verify_with_pyjwt(&licence, &jwks, "acme-analytics", "https://elsewhere.example").is_err());
    let mut parts: Vec<String> = licence.split('.').map(str::to_owned).collect();
    {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut forged: Value = serde_json::from_slice(&b64.decode(&parts[1]).unwrap_or_default()).unwrap_or_default();
        forged["instances"] = json!(300);
        parts[1] = b64.encode(forged.to_string());
    }
    let err = verify_with_pyjwt(&parts.join("."), &jwks, "acme-analytics", "https://licensing.acme.example").err().unwrap_or_default();
    assert!(err.contains("Signature"), "a tampered licence fails verification: {err}");
}

#[tokio::test]
async fn a_licence_lasts_the_plans_offline_days_never_past_the_entitlement_and_none_when_not_usable() {
    let app = spawn_app().await;
    // Globex's trial ends in ten days: its licence ends with it.
    let globex = key_of(&app, "globex").await;
    let id = activate(&app, &globex, None, "globex-host").await;
    let (s, v) = api(&app, Method::POST, &format!("/api/v1/instances/{id}/licence"), &globex, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let snapshot = app.state.enforcer.customer("globex").await.unwrap_or_else(|e| panic!("{e}"));
    let trial_end = snapshot.entitlements["acme-analytics"].expires_at().unwrap_or_default();
    let exp = chrono::DateTime::parse_from_rfc3339(v["expires_at"].as_str().unwrap_or_default()).map(|t| t.timestamp()).unwrap_or_default();
    assert_eq!(exp, trial_end);

    // A plan that is online only issues none.
    let key = initech_key();
    let mine = activate(&app, &key, None, "online-only").await;
    let admin = app.client_for("admin@tessera.example").await;
    set_team_offline_days(&app, &admin, "0").await;
    let (s, v) = api(&app, Method::POST, &format!("/api/v1/instances/{mine}/licence"), &key, None).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, Some("online_only")), "{v}");
    set_team_offline_days(&app, &admin, "7").await;
    let (_, v) = api(&app, Method::POST, &format!("/api/v1/instances/{mine}/licence"), &key, None).await;
    let exp = chrono::DateTime::parse_from_rfc3339(v["expires_at"].as_str().unwrap_or_default()).map(|t| t.timestamp()).unwrap_or_default();
    assert!((exp - app::store::now() - 7 * 86_400).abs() < 60, "seven days: {v}");

    // A suspended entitlement gets none.
    let staff = app::store::audit::Actor::system("test");
    let ent = app.state.enforcer.customer("initech").await.unwrap_or_else(|e| panic!("{e}")).entitlements["acme-analytics"].entitlement_id;
    let now = app::store::now();
    app.state
        .store
        .set_suspended(&staff, ent, None, true, "unpaid", now)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let (s, v) = api(&app, Method::POST, &format!("/api/v1/instances/{mine}/licence"), &key, None).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, Some("suspended")), "{v}");
}

/// The vendor admin saves Team with `days` offline days and moves everyone on Team to it.
async fn set_team_offline_days(app: &TestApp, admin: &reqwest::Client, days: &str) {
    let plan = [
        ("product", "acme-analytics"),
        ("key", "team"),
        ("name", "Team"),
        ("rank", "1"),
        ("seats", "10"),
        ("instances", "3"),
        ("trial_days", "14"),
        ("grace_days", "7"),
        ("offline_days", days),
        ("features[0]", "dashboards"),
        ("features[1]", "reports.export"),
        ("features[2]", "api.calls"),
        ("quotas[api.calls]", "10000"),
        ("reason", "Offline terms"),
    ];
    let r = app.call_as(admin, "save_plan", &plan).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap_or_default());
    let r = app.call_as(admin, "move_plan_version", &[("product", "acme-analytics"), ("plan", "team"), ("reason", "Offline terms")]).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap_or_default());
}

/// An activation request of machine `fingerprint`, written `age` seconds ago with `key`.
fn request(key: &LicenseKey, fingerprint: &str, nonce: &str, age: i64) -> String {
    let r = ActivationRequest {
        key: key.id(),
        fingerprint: fingerprint.into(),
        name: Some("lab".into()),
        nonce: nonce.into(),
        issued_at: app::store::now() - age,
    };
    OfflineDocument::Activation(r).seal(key)
}

#[tokio::test]
async fn an_air_gapped_machine_is_activated_once_per_request_and_freed_by_its_receipt() {
    let app = spawn_app().await;
    let key = app::store::seed::demo_license_key();
    let path = "/api/v1/offline/activations";
    let head = audit_head(&app).await;
    let (s, v) = post(&app, path, VENDOR, json!({"document": request(&key, "vault-1", "n-1", 60)})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Initech runs two of Team's three instances: this one takes the last slot.
    assert_eq!(audit_kinds_since(&app, head).await, vec!["instance.activated", "instance.cap_reached"]);
    let instance = v["instance"].as_str().unwrap_or_default().to_owned();
    let licence = v["licence"].as_str().unwrap_or_default();
    let jwks =
        reqwest::get(app.url("/.well-known/jwks.json")).await.unwrap_or_else(|e| panic!("{e}")).json::<Value>().await.unwrap_or_default();
    let issuer = app.state.public_url.clone();
    let claims = verify_with_pyjwt(licence, &jwks, "acme-analytics", &issuer).unwrap_or_else(|e| panic!("{e}"))["claims"].clone();
    assert_eq!((claims["nonce"].as_str(), claims["fingerprint"].as_str()), (Some("n-1"), Some("vault-1")));
    assert_eq!(claims["instance"], json!(instance));

    // Refused: used already, too old, dated ahead, altered, another key's, not a document.
    let head = audit_head(&app).await;
    let other = LicenseKey::from_bytes([7; 16]);
    let forged = {
        let real = request(&key, "vault-2", "n-3", 0);
        let (signed, _) = real.rsplit_once('.').unwrap_or_default();
        let (_, tag) = request(&key, "vault-3", "n-4", 0).rsplit_once('.').map(|(a, b)| (a.to_owned(), b.to_owned())).unwrap_or_default();
        format!("{signed}.{tag}")
    };
    let foreign = {
        let r = ActivationRequest {
            key: key.id(),
            fingerprint: "vault-5".into(),
            name: None,
            nonce: "n-5".into(),
            issued_at: app::store::now(),
        };
        OfflineDocument::Activation(r).seal(&other)
    };
    for (document, status, expected) in [
        (request(&key, "vault-1", "n-1", 60), StatusCode::CONFLICT, "replayed"),
        (request(&key, "vault-2", "n-2", 4 * 86_400), StatusCode::UNPROCESSABLE_ENTITY, "document_expired"),
        (request(&key, "vault-2", "n-2b", -3_600), StatusCode::UNPROCESSABLE_ENTITY, "clock_skew"),
        (forged, StatusCode::UNPROCESSABLE_ENTITY, "bad_signature"),
        (foreign, StatusCode::UNPROCESSABLE_ENTITY, "bad_signature"),
        (request(&other, "vault-6", "n-6", 0), StatusCode::NOT_FOUND, "unknown_license_key"),
        ("not a request".to_owned(), StatusCode::UNPROCESSABLE_ENTITY, "malformed_document"),
    ] {
        let (s, v) = post(&app, path, VENDOR, json!({ "document": document })).await;
        assert_eq!((s, code(&v)), (status, Some(expected)), "{v}");
    }
    assert!(audit_kinds_since(&app, head).await.is_empty(), "a refusal changes nothing");

    // The slot is held without heartbeats, then freed by the receipt, once.
    app.state.enforcer.refresh(app.state.enforcer.customer("initech").await.unwrap_or_else(|e| panic!("{e}")).customer_id).await.ok();
    let (_, v) = post(&app, "/api/v1/check", VENDOR, json!({"customer": "initech", "feature": "dashboards", "instance": instance})).await;
    assert_eq!(v["code"], "ok", "{v}");
    let receipt = |nonce: &str, fingerprint: &str| {
        let r = DeactivationReceipt {
            key: key.id(),
            instance: instance.clone(),
            fingerprint: fingerprint.into(),
            nonce: nonce.into(),
            issued_at: app::store::now(),
        };
        json!({ "document": OfflineDocument::Deactivation(r).seal(&key) })
    };
    let path = "/api/v1/offline/deactivations";
    let (s, v) = post(&app, path, VENDOR, receipt("r-0", "another-machine")).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, Some("unknown_instance")), "another machine's receipt: {v}");
    let (s, v) = post(&app, path, VENDOR, receipt("r-1", "vault-1")).await;
    assert_eq!((s, v["instance"].as_str()), (StatusCode::OK, Some(instance.as_str())), "{v}");
    let (s, v) = post(&app, path, VENDOR, receipt("r-1", "vault-1")).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, Some("replayed")), "{v}");
    let (_, v) = post(&app, "/api/v1/check", VENDOR, json!({"customer": "initech", "feature": "dashboards", "instance": instance})).await;
    assert_eq!(v["allowed"], false, "{v}");
}

#[tokio::test]
async fn another_organisations_activation_request_is_refused_in_the_portal_and_takes_no_slot() {
    let app = spawn_app().await;
    let initechs = request(&app::store::seed::demo_license_key(), "vault-9", "n-9", 0);
    let grace = app.client_for("grace@globex.example").await;
    let staff = app.client_for("staff@tessera.example").await;
    let head = audit_head(&app).await;
    for (client, customer) in [(&grace, None), (&staff, Some("globex"))] {
        let mut args = vec![("request", initechs.as_str())];
        args.extend(customer.map(|c| ("customer", c)));
        let r = app.call_as(client, "activate_offline", &args).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{customer:?}");
        let text = r.text().await.unwrap_or_default();
        assert!(text.contains("belongs to another organisation"), "{customer:?}: {text}");
    }
    assert!(audit_kinds_since(&app, head).await.is_empty(), "a refusal changes nothing");
    // The request is still good where it belongs.
    let ada = app.client_for(ADA).await;
    let head = audit_head(&app).await;
    let r = app.call_as(&ada, "activate_offline", &[("request", initechs.as_str())]).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    assert_eq!(audit_kinds_since(&app, head).await, vec!["instance.activated", "instance.cap_reached"], "the last of three slots");
}

#[tokio::test]
async fn the_portal_shows_the_key_to_admins_and_staff_and_a_regenerated_key_replaces_it_at_once() {
    let app = spawn_app().await;
    let ada = app.client_for(ADA).await;
    let entitlement = body_of(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    let shown = body_of(app.call_as(&ada, "get_license_key", &[("entitlement", &entitlement)]).await).await;
    assert_eq!(shown["key"].as_str(), Some(initech_key().as_str()));
    let staff = app.client_for("staff@tessera.example").await;
    let to_staff = body_of(app.call_as(&staff, "get_license_key", &[("entitlement", &entitlement)]).await).await;
    assert_eq!(to_staff["key"], shown["key"]);
    for who in ["bob@initech.example", "grace@globex.example"] {
        let client = app.client_for(who).await;
        let r = app.call_as(&client, "get_license_key", &[("entitlement", &entitlement)]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who}");
        let r = app.call_as(&client, "regenerate_license_key", &[("entitlement", &entitlement)]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who}");
    }
    let head = audit_head(&app).await;
    let new = body_of(app.call_as(&ada, "regenerate_license_key", &[("entitlement", &entitlement)]).await).await;
    let new_key = new["key"].as_str().unwrap_or_default().to_owned();
    assert!(LicenseKey::parse(&new_key).is_ok() && new_key != initech_key(), "{new}");
    assert_eq!(audit_kinds_since(&app, head).await, vec!["license_key.regenerated"]);
    let feature = json!({"feature": "dashboards", "user": ADA});
    let (s, v) = post(&app, "/api/v1/check", &initech_key(), feature.clone()).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, Some("unauthorized")), "the old key stops at once");
    let (s, _) = post(&app, "/api/v1/check", &new_key, feature).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn a_copy_of_the_database_alone_can_neither_find_nor_read_a_license_key() {
    let app = spawn_app().await;
    let key = initech_key();
    let parsed = LicenseKey::parse(&key).unwrap_or_else(|e| panic!("{e}"));
    let db =
        app::store::Store::connect(&app.database_url(), app::store::secret::Secret::from_bytes(app::store::secret::Secret::generate()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    let pool = sqlx::AnyPool::connect(&app.database_url()).await.unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<String> = sqlx::query_scalar("SELECT key_id || ' ' || lookup || ' ' || sealed FROM license_keys")
        .fetch_all(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!rows.is_empty());
    let body = &key[4..];
    let sha256: String = {
        use sha2::Digest;
        sha2::Sha256::digest(parsed.secret()).iter().map(|b| format!("{b:02x}")).collect()
    };
    for row in &rows {
        assert!(!row.contains(body) && !row.contains(&body.replace('-', "")), "the key in the clear: {row}");
        assert!(!row.contains(&sha256), "an unkeyed hash of the key: {row}");
    }
    // Under another secret, a stored key is not readable and a presented one not found.
    let ent = app.state.enforcer.customer("initech").await.unwrap_or_else(|e| panic!("{e}")).entitlements["acme-analytics"].entitlement_id;
    assert!(db.license_key(tessera_engine::EntitlementId(ent)).await.is_err());
    assert!(!rows.iter().any(|r| r.contains(&db.license_key_lookup(&parsed))));
}

#[tokio::test]
async fn freeing_licensed_instances_early_cannot_multiply_the_cap() {
    let app = spawn_app().await;
    let key = initech_key();
    let ada = app.client_for(ADA).await;
    // Team allows 3 instances; Initech runs 2. Each round takes the third slot, takes a
    // licence for it and frees it at once, as a script would to license machine after machine.
    let mut freed = Vec::new();
    for round in 0..3 {
        let id = activate(&app, &key, None, &format!("looped-{round}")).await;
        let (s, v) = api(&app, Method::POST, &format!("/api/v1/instances/{id}/licence"), &key, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = api(&app, Method::DELETE, &format!("/api/v1/instances/{id}"), &key, None).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "round {round}: {v}");
        freed.push(id);
    }
    // The fourth licensed instance keeps its slot until its licence expires, whoever asks.
    let id = activate(&app, &key, None, "looped-3").await;
    let (s, _) = api(&app, Method::POST, &format!("/api/v1/instances/{id}/licence"), &key, None).await;
    assert_eq!(s, StatusCode::OK);
    let before = audit_head(&app).await;
    let (s, v) = api(&app, Method::DELETE, &format!("/api/v1/instances/{id}"), &key, None).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, Some("held_by_licence")), "{v}");
    assert!(v["message"].as_str().unwrap_or_default().contains("frees when the licence expires"), "{v}");
    let (s, v) = api(&app, Method::DELETE, &format!("/api/v1/instances/{id}"), VENDOR, None).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, Some("held_by_licence")), "{v}");
    let listed = body_of(app.call_as(&ada, "list_instances", &[]).await).await;
    let row = listed["instances"].as_array().and_then(|rows| rows.iter().find(|r| r["public_id"] == json!(id)).cloned());
    let internal = row.unwrap_or_else(|| panic!("still listed: {listed}"))["id"].to_string();
    let r = app.call_as(&ada, "deactivate_instance", &[("id", internal.as_str())]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap_or_default().contains("frees when the licence expires"));
    assert!(audit_kinds_since(&app, before).await.is_empty(), "nothing changed");
    // The slot is still taken: no fifth machine.
    let (s, v) = post(&app, "/api/v1/instances", &key, json!({"fingerprint": "looped-4"})).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, Some("instance_limit")), "{v}");
    // An instance without a licence is freed as before.
    let seeded = listed["instances"][0]["public_id"].as_str().unwrap_or_default().to_owned();
    assert!(!freed.contains(&seeded) && seeded != id);
    let (s, v) = api(&app, Method::DELETE, &format!("/api/v1/instances/{seeded}"), &key, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
}

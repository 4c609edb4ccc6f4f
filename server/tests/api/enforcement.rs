//! The enforcement API over real HTTP against a real SQLite database.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

const KEY: &str = "tsk_demo_acme";

impl TestApp {
    async fn api(&self, method: reqwest::Method, path: &str, key: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(&format!("/api/v1{path}")));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn check(&self, body: Value) -> Value {
        let (status, v) = self.api(reqwest::Method::POST, "/check", Some(KEY), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }
}

#[tokio::test]
async fn checks_answer_with_the_stable_reason_codes() {
    let app = spawn_app().await;
    let ok = app.check(json!({"customer": "initech", "feature": "reports.export", "user": "ada@initech.example"})).await;
    assert_eq!((ok["allowed"].as_bool(), ok["code"].as_str(), ok["plan"].as_str()), (Some(true), Some("ok"), Some("team")));
    assert_eq!(ok["limits"]["seats"], 10);
    assert_eq!(ok["remaining"], Value::Null);

    let no_seat = app.check(json!({"customer": "initech", "feature": "reports.export", "user": "cy@initech.example"})).await;
    assert_eq!((no_seat["allowed"].as_bool(), no_seat["code"].as_str()), (Some(false), Some("no_seat")));

    let not_in_plan = app.check(json!({"customer": "initech", "feature": "sso", "user": "ada@initech.example"})).await;
    assert_eq!(not_in_plan["code"], "feature_not_in_plan");

    let suspended = app.check(json!({"customer": "umbrella", "feature": "dashboards", "user": "al@umbrella.example"})).await;
    assert_eq!(suspended["code"], "suspended");

    let metered = app.check(json!({"customer": "initech", "feature": "api.calls"})).await;
    // The demo has used part of this month's 10,000 already.
    assert_eq!(metered["code"], "ok");
    assert!(metered["remaining"].as_i64().is_some_and(|r| (1..10_000).contains(&r)), "{metered}");

    let trial = app.check(json!({"customer": "globex", "feature": "sso", "user": "grace@globex.example"})).await;
    assert_eq!(trial["code"], "no_seat", "grace holds no seat yet");
    assert!(trial["expires_at"].as_str().is_some_and(|t| t.len() >= 20));
}

#[tokio::test]
async fn bad_requests_get_json_problems_with_the_right_status() {
    let app = spawn_app().await;
    let post = reqwest::Method::POST;
    let (s, v) = app.api(post.clone(), "/check", None, Some(json!({"customer": "initech", "feature": "sso"}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    let (s, _) = app.api(post.clone(), "/check", Some("tsk_wrong"), Some(json!({"customer": "initech", "feature": "sso"}))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = app.api(post.clone(), "/check", Some(KEY), Some(json!({"customer": "nobody", "feature": "sso"}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_customer")));
    let (s, v) = app.api(post.clone(), "/check", Some(KEY), Some(json!({"customer": "initech", "feature": "teleport"}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_feature")));
    let (s, v) =
        app.api(post.clone(), "/check", Some(KEY), Some(json!({"customer": "initech", "feature": "sso", "product": "other"}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("wrong_scope")));
    let (s, v) = app.api(post.clone(), "/check", Some(KEY), Some(json!({"customer": "initech"}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
    let (s, v) =
        app.api(post.clone(), "/check", Some(KEY), Some(json!({"customer": "initech", "feature": "api.calls", "quantity": -5}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
    let r = app
        .client
        .post(app.url("/api/v1/check"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(v["code"], "bad_request");
    let (s, v) = app.api(reqwest::Method::GET, "/nothing-here", Some(KEY), None).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    // An endpoint asked with a method it does not take: a JSON problem naming the ones it does.
    for (method, path) in
        [(reqwest::Method::GET, "/check"), (reqwest::Method::GET, "/offline/activations"), (reqwest::Method::DELETE, "/usage")]
    {
        let r = app.client.request(method.clone(), app.url(&format!("/api/v1{path}"))).bearer_auth(KEY).send().await;
        let r = r.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(r.headers().get("allow").is_some_and(|a| a.to_str().unwrap_or_default().contains("POST")), "{method} {path}");
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(v["code"], "method_not_allowed", "{method} {path}: {v}");
    }
}

#[tokio::test]
async fn a_batch_of_checks_is_answered_in_order_and_capped() {
    let app = spawn_app().await;
    let checks: Vec<Value> = ["ada@initech.example", "cy@initech.example", "bob@initech.example"]
        .iter()
        .map(|u| json!({"customer": "initech", "feature": "dashboards", "user": u}))
        .collect();
    let (s, v) = app.api(reqwest::Method::POST, "/checks", Some(KEY), Some(json!({"checks": checks}))).await;
    assert_eq!(s, StatusCode::OK);
    let codes: Vec<_> = v["results"].as_array().map(|a| a.iter().map(|r| r["code"].clone()).collect()).unwrap_or_default();
    assert_eq!(codes, [json!("ok"), json!("no_seat"), json!("ok")]);
    let too_many: Vec<Value> = (0..1_001).map(|_| json!({"customer": "initech", "feature": "dashboards"})).collect();
    let (s, _) = app.api(reqwest::Method::POST, "/checks", Some(KEY), Some(json!({"checks": too_many}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn instances_are_capped_and_a_deactivated_slot_is_free_at_once() {
    let app = spawn_app().await;
    let post = reqwest::Method::POST;
    // Initech (Team, three slots) runs two servers in the demo data: one slot is left.
    let mut ids = Vec::new();
    for n in 0..1 {
        let (s, v) =
            app.api(post.clone(), "/instances", Some(KEY), Some(json!({"customer": "initech", "fingerprint": format!("host-{n}")}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["id"].as_str().unwrap_or_default().to_owned();
        assert!(id.len() == 36 && id.starts_with("ins_") && id[4..].chars().all(|c| c.is_ascii_hexdigit()), "an opaque id: {id}");
        ids.push(id);
    }
    let (s, v) = app.api(post.clone(), "/instances", Some(KEY), Some(json!({"customer": "initech", "fingerprint": "host-3"}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("instance_limit")));
    // Activating a live fingerprint again is the same instance, not a new slot.
    let (s, v) = app.api(post.clone(), "/instances", Some(KEY), Some(json!({"customer": "initech", "fingerprint": "host-0"}))).await;
    assert_eq!((s, v["id"].as_str()), (StatusCode::OK, Some(ids[0].as_str())));

    let by_instance = app.check(json!({"customer": "initech", "feature": "dashboards", "instance": ids[0]})).await;
    assert_eq!(by_instance["code"], "ok");
    let (s, _) = app.api(post.clone(), &format!("/instances/{}/heartbeat", ids[0]), Some(KEY), None).await;
    assert_eq!(s, StatusCode::OK);

    let (s, _) = app.api(reqwest::Method::DELETE, &format!("/instances/{}", ids[0]), Some(KEY), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let gone = app.check(json!({"customer": "initech", "feature": "dashboards", "instance": ids[0]})).await;
    assert_eq!(gone["allowed"], false);
    let (s, _) = app.api(post.clone(), "/instances", Some(KEY), Some(json!({"customer": "initech", "fingerprint": "host-3"}))).await;
    assert_eq!(s, StatusCode::CREATED);
    for unknown in ["999999", "1", "ins_00000000000000000000000000000000"] {
        let (s, v) = app.api(reqwest::Method::DELETE, &format!("/instances/{unknown}"), Some(KEY), None).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_instance")), "{unknown}");
    }
    let (s, v) = app.api(post.clone(), "/instances/not-a-number/heartbeat", Some(KEY), None).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_instance")));
}

#[tokio::test]
async fn a_lapsed_instance_frees_its_slot() {
    let app = spawn_app_with(|c| c.instance_ttl = 1).await;
    let post = reqwest::Method::POST;
    // Initech (Team) has three slots; the demo's two servers may have lapsed already
    // (one second is short): fill whatever is free until the cap answers.
    let mut filled = 0;
    let mut first = None;
    loop {
        let (s, v) =
            app.api(post.clone(), "/instances", Some(KEY), Some(json!({"customer": "initech", "fingerprint": format!("h{filled}")}))).await;
        if s == StatusCode::CONFLICT {
            break;
        }
        assert_eq!(s, StatusCode::CREATED);
        first.get_or_insert(v["id"].as_str().unwrap_or_default().to_owned());
        filled += 1;
        assert!(filled <= 3, "more than three instances were activated");
    }
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let (s, v) = app.api(post.clone(), "/instances", Some(KEY), Some(json!({"customer": "initech", "fingerprint": "late"}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let first = first.unwrap_or_else(|| panic!("no slot was free"));
    let (s, v) = app.api(post.clone(), &format!("/instances/{first}/heartbeat"), Some(KEY), None).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::GONE, Some("instance_lapsed")));
}

#[tokio::test]
async fn activating_a_live_fingerprint_again_keeps_it_alive_for_the_next_check() {
    let app = spawn_app_with(|c| c.instance_ttl = 3).await;
    let post = reqwest::Method::POST;
    let activate = || app.api(post.clone(), "/instances", Some(KEY), Some(json!({"customer": "globex", "fingerprint": "kept"})));
    let (s, v) = activate().await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].clone();
    tokio::time::sleep(std::time::Duration::from_millis(2_000)).await;
    let (s, again) = activate().await;
    assert_eq!((s, &again["id"]), (StatusCode::OK, &id), "the same instance, not a new slot");
    // Past the first activation's lease, within the second's.
    tokio::time::sleep(std::time::Duration::from_millis(1_800)).await;
    let by_instance = app.check(json!({"customer": "globex", "feature": "dashboards", "instance": id})).await;
    assert_eq!(by_instance["code"], "ok", "{by_instance}");
}

#[tokio::test]
async fn a_retried_usage_batch_counts_once_and_the_next_check_sees_it() {
    let app = spawn_app().await;
    let before = app.check(json!({"customer": "initech", "feature": "api.calls"})).await["remaining"].as_i64().unwrap_or_default();
    let batch = json!({"events": [
        {"event_id": "e-1", "customer": "initech", "feature": "api.calls", "quantity": 1200},
        {"event_id": "e-2", "customer": "initech", "feature": "api.calls", "quantity": 300},
        {"event_id": "e-3", "customer": "globex", "feature": "api.calls", "quantity": 7},
    ]});
    let (s, v) = app.api(reqwest::Method::POST, "/usage", Some(KEY), Some(batch.clone())).await;
    assert_eq!((s, v["accepted"].as_i64(), v["duplicates"].as_i64()), (StatusCode::OK, Some(3), Some(0)));
    let (s, v) = app.api(reqwest::Method::POST, "/usage", Some(KEY), Some(batch)).await;
    assert_eq!((s, v["accepted"].as_i64(), v["duplicates"].as_i64()), (StatusCode::OK, Some(0), Some(3)));

    let left = app.check(json!({"customer": "initech", "feature": "api.calls"})).await;
    assert_eq!(left["remaining"].as_i64(), Some(before - 1_500));
    let over = app.check(json!({"customer": "initech", "feature": "api.calls", "quantity": before - 1_500 + 1})).await;
    assert_eq!(over["code"], "quota_exceeded");
    let (s, v) = app
        .api(
            reqwest::Method::POST,
            "/usage",
            Some(KEY),
            Some(json!({"events": [{"event_id": "x", "customer": "initech", "feature": "api.calls", "quantity": 1, "at": "yesterday"}]})),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
}

#[tokio::test]
async fn a_license_token_verifies_with_only_the_published_jwks() {
    use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
    let app = spawn_app().await;
    let (s, v) = app.api(reqwest::Method::POST, "/tokens", Some(KEY), Some(json!({"customer": "initech"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let token = v["token"].as_str().unwrap_or_default().to_owned();
    let jwks: Value = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or(Value::Null);
    let header = decode_header(&token).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header.alg, Algorithm::EdDSA);
    let kid = header.kid.unwrap_or_default();
    let jwk = jwks["keys"].as_array().and_then(|k| k.iter().find(|k| k["kid"] == kid.as_str())).cloned().unwrap_or(Value::Null);
    assert_eq!((jwk["kty"].as_str(), jwk["crv"].as_str()), (Some("OKP"), Some("Ed25519")));
    let key = DecodingKey::from_ed_components(jwk["x"].as_str().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["acme-analytics"]);
    validation.set_issuer(&["tessera"]);
    let data = decode::<Value>(&token, &key, &validation).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(data.claims["sub"], "initech");
    assert_eq!(data.claims["plan"], "team");
    assert_eq!(data.claims["seats"], 10);
    assert_eq!(data.claims["features"]["api.calls"]["quota"], 10_000);
    assert!(data.claims["features"].get("sso").is_none());

    // One changed character of the payload and the signature no longer holds.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].replacen(|c: char| c.is_ascii_alphanumeric(), "A", 1).replacen('A', "B", 1);
    assert!(decode::<Value>(&parts.join("."), &key, &validation).is_err());

    let (s, v) = app.api(reqwest::Method::POST, "/tokens", Some(KEY), Some(json!({"customer": "umbrella"}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("suspended")));
}

#[tokio::test]
async fn rotated_keys_keep_old_tokens_verifiable() {
    let app = spawn_app().await;
    let first = app.api(reqwest::Method::POST, "/tokens", Some(KEY), Some(json!({"customer": "initech"}))).await.1["token"].clone();
    let old_kid = jsonwebtoken::decode_header(first.as_str().unwrap_or_default()).ok().and_then(|h| h.kid).unwrap_or_default();
    app.state.tokens.rotate(&app.state.store, &app::store::audit::Actor::system("test")).await.unwrap_or_else(|e| panic!("{e}"));
    let second = app.api(reqwest::Method::POST, "/tokens", Some(KEY), Some(json!({"customer": "initech"}))).await.1["token"].clone();
    let new_kid = jsonwebtoken::decode_header(second.as_str().unwrap_or_default()).ok().and_then(|h| h.kid).unwrap_or_default();
    assert_ne!(old_kid, new_kid);
    let jwks: Value = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or(Value::Null);
    let kids: Vec<_> =
        jwks["keys"].as_array().map(|k| k.iter().map(|k| k["kid"].as_str().unwrap_or_default().to_owned()).collect()).unwrap_or_default();
    assert!(kids.contains(&old_kid) && kids.contains(&new_kid), "{kids:?}");
}

#[tokio::test]
async fn a_seat_freed_in_the_portal_is_what_the_very_next_check_sees() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let ent = json_of(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].as_i64().unwrap_or_default().to_string();
    let bob = json!({"customer": "initech", "feature": "reports.export", "user": "bob@initech.example"});
    assert_eq!(app.check(bob.clone()).await["code"], "ok");

    let r = app.call_as(&ada, "free_seat", &[("entitlement", &ent), ("email", "bob@initech.example")]).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    assert_eq!(app.check(bob.clone()).await["code"], "no_seat");

    let r = app.call_as(&ada, "assign_seat", &[("entitlement", &ent), ("email", "cy@initech.example")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cy = json!({"customer": "initech", "feature": "reports.export", "user": "cy@initech.example"});
    assert_eq!(app.check(cy).await["code"], "ok");
    let again = app.call_as(&ada, "assign_seat", &[("entitlement", &ent), ("email", "cy@initech.example")]).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn seats_are_changed_only_by_their_own_admins() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let ent = json_of(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].as_i64().unwrap_or_default().to_string();
    for (email, expect) in [
        ("grace@globex.example", StatusCode::FORBIDDEN),
        ("bob@initech.example", StatusCode::FORBIDDEN),
        ("sales@tessera.example", StatusCode::FORBIDDEN),
    ] {
        let client = app.client_for(email).await;
        for f in ["assign_seat", "free_seat"] {
            let r = app.call_as(&client, f, &[("entitlement", &ent), ("email", "ada@initech.example")]).await;
            assert_eq!(r.status(), expect, "{email} {f}");
        }
    }
    // A user of another organisation cannot be given a seat, even by the right admin.
    let r = app.call_as(&ada, "assign_seat", &[("entitlement", &ent), ("email", "grace@globex.example")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app.call_as(&ada, "assign_seat", &[("entitlement", "999999"), ("email", "cy@initech.example")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let staff = app.client_for("staff@tessera.example").await;
    let r = app.call_as(&staff, "free_seat", &[("entitlement", &ent), ("email", "bob@initech.example")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.check(json!({"customer": "initech", "feature": "dashboards", "user": "bob@initech.example"})).await["code"], "no_seat");
}

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.unwrap_or(Value::Null)
}

#[tokio::test]
async fn the_openapi_document_describes_every_endpoint() {
    let app = spawn_app().await;
    let (s, doc) = app.api(reqwest::Method::GET, "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        "/api/v1/check",
        "/api/v1/checks",
        "/api/v1/instances",
        "/api/v1/instances/{id}/heartbeat",
        "/api/v1/instances/{id}",
        "/api/v1/instances/{id}/licence",
        "/api/v1/offline/activations",
        "/api/v1/offline/deactivations",
        "/api/v1/usage",
        "/api/v1/tokens",
        "/.well-known/jwks.json",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    let codes = &doc["components"]["schemas"]["ReasonCode"]["enum"];
    assert!(codes.as_array().is_some_and(|c| c.contains(&json!("in_grace_period")) && c.contains(&json!("quota_exceeded"))), "{codes}");
    assert_eq!(doc["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");
}

#[tokio::test]
async fn a_key_over_its_rate_gets_429_with_retry_after() {
    let app = spawn_app_with(|c| c.api_rate = server::api::rate_limit::RateLimit { per_second: 0.5, burst: 3.0 }).await;
    let body = json!({"customer": "initech", "feature": "dashboards"});
    for _ in 0..3 {
        let (s, _) = app.api(reqwest::Method::POST, "/check", Some(KEY), Some(body.clone())).await;
        assert_eq!(s, StatusCode::OK);
    }
    let r = app.client.post(app.url("/api/v1/check")).bearer_auth(KEY).json(&body).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("2"));
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(v["code"], "rate_limited");
    // Another caller without a valid key is refused as unauthorised, not limited.
    let (s, _) = app.api(reqwest::Method::POST, "/check", Some("tsk_other"), Some(body)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_ended_trial_answers_trial_ended_at_the_next_check() {
    let app = spawn_app().await;
    let grace = json!({"customer": "globex", "feature": "dashboards", "instance": "ins_0"});
    assert_eq!(app.check(grace.clone()).await["code"], "no_seat", "an unknown instance and no user: no seat");
    let customer = app.state.enforcer.customer("globex").await.unwrap_or_else(|e| panic!("{e}"));
    let ent = customer.entitlements["acme-analytics"].entitlement_id;
    let staff = app::store::audit::Actor::system("test");
    let now = app::store::now();
    app.state.store.set_trial_end(&staff, ent, None, now - 60, "trial over", now).await.unwrap_or_else(|e| panic!("{e}"));
    app.state.enforcer.refresh(customer.customer_id).await.unwrap_or_else(|e| panic!("{e}"));
    let ended = app.check(grace).await;
    assert_eq!((ended["allowed"].as_bool(), ended["code"].as_str()), (Some(false), Some("trial_ended")));
    let (s, v) = app.api(reqwest::Method::POST, "/tokens", Some(KEY), Some(json!({"customer": "globex"}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("trial_ended")));
}

//! The provisioning API over real HTTP: customers, people, entitlements, orders, change
//! requests and the event feed, as the vendor's CRM and billing use them; idempotency
//! keys, `If-Match`, scopes and credentials as an integrator and an attacker try them.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{audit_head, audit_kinds_since, spawn_app, TestApp};

const KEY: &str = "tsk_demo_acme";

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl TestApp {
    async fn provision(&self, method: Method, path: &str, key: &str, headers: &[(&str, &str)], body: Option<Value>) -> Answer {
        let mut req = self.client.request(method, self.url(&format!("/api/v1{path}"))).bearer_auth(key);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let (status, headers) = (r.status(), r.headers().clone());
        let text = r.text().await.unwrap_or_default();
        Answer { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
    }

    async fn get(&self, path: &str) -> Answer {
        self.provision(Method::GET, path, KEY, &[], None).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.provision(Method::POST, path, KEY, &[], Some(body)).await
    }

    /// A new API key of the demo product with `scopes`.
    async fn key_with(&self, scopes: app::store::keys::api_keys::Scopes) -> String {
        let key = format!("tsk_test_{}", uuid_like());
        let admin = app::store::audit::Actor::system("test");
        let product = self.state.store.list_products().await.unwrap_or_else(|e| panic!("{e}"))[0].0;
        self.state
            .store
            .issue_api_key(&admin, product, "test key", &key, scopes, None, app::store::now())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        key
    }
}

fn uuid_like() -> String {
    use rand::RngCore;
    let mut b = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn hooli_order() -> Value {
    json!({
        "customer": {"external_id": "crm-4711", "name": "Hooli", "admin": {"email": "gavin@hooli.example", "name": "Gavin Belson"}},
        "sku": "ACME-BUSINESS", "quantity": 25, "term_months": 12, "external_id": "sub-4711"
    })
}

#[tokio::test]
async fn an_order_makes_the_customer_and_its_entitlement_and_the_next_check_sees_it() {
    let app = spawn_app().await;
    let before = app.post("/check", json!({"customer": "hooli", "feature": "api.calls"})).await;
    assert_eq!((before.status, before.body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_customer")));
    let seq = audit_head(&app).await;

    let placed = app.post("/orders", hooli_order()).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.body);
    let e = &placed.body["entitlement"];
    assert_eq!((e["plan"].as_str(), e["status"].as_str(), e["seats"]["cap"].as_i64()), (Some("business"), Some("active"), Some(25)));
    assert_eq!((e["external_id"].as_str(), e["customer"]["slug"].as_str()), (Some("sub-4711"), Some("hooli")));
    assert!(e["renews_at"].as_str().is_some_and(|r| r.ends_with('Z')), "{e}");
    assert_eq!(placed.headers["etag"].to_str().ok(), Some(format!("\"{}\"", e["version"]).as_str()));
    let link = placed.body["invitation"]["url"].as_str().unwrap_or_default();
    let token = link.split_once("/invite/").map(|(_, t)| t).unwrap_or_default();
    assert!(link.starts_with("http://127.0.0.1:") && token.len() > 20, "an absolute link at the public URL: {link}");
    assert_eq!(
        audit_kinds_since(&app, seq).await,
        ["customer.created", "user.invited", "entitlement.granted", "order.placed"],
        "one transaction, every event"
    );
    let actors = app.sql_strings(&format!("SELECT actor FROM audit_events WHERE seq > {seq}")).await;
    assert!(actors.iter().all(|a| a == "api-key:1"), "audited as the API key: {actors:?}");

    let check = app.post("/check", json!({"customer": "hooli", "feature": "api.calls"})).await;
    assert_eq!((check.body["allowed"].as_bool(), check.body["plan"].as_str()), (Some(true), Some("business")), "{}", check.body);

    // The admin joins by the link and sees the entitlement in the portal.
    let gavin = crate::helpers::new_client();
    let form = [("token", token), ("password", "hooli hooli hooli"), ("confirm", "hooli hooli hooli")];
    let joined = app.call_as(&gavin, "accept_invitation", &form).await;
    assert!(joined.status().is_success() || joined.status().is_redirection(), "{}", joined.status());
    let seen = crate::helpers::json(app.call_as(&gavin, "list_entitlements", &[]).await).await;
    assert_eq!((seen[0]["plan"].as_str(), seen[0]["seats_cap"].as_i64()), (Some("Business"), Some(25)), "{seen}");

    // A second order for the same customer moves it to another plan and renews it.
    let seq = audit_head(&app).await;
    let upgrade = json!({"customer": {"external_id": "crm-4711"}, "sku": "ACME-ENTERPRISE", "quantity": 40, "term_months": 12});
    let changed = app.post("/orders", upgrade).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(
        (changed.body["entitlement"]["plan"].as_str(), changed.body["entitlement"]["seats"]["cap"].as_i64()),
        (Some("enterprise"), Some(40))
    );
    assert_eq!(changed.body["invitation"], Value::Null);
    assert_eq!(audit_kinds_since(&app, seq).await, ["entitlement.amended", "entitlement.renewed", "order.placed"]);

    // An add-on, then refusals that change nothing.
    let addon = app.post("/orders", json!({"customer": {"external_id": "crm-4711"}, "sku": "ACME-AUDIT", "quantity": 1})).await;
    assert_eq!(addon.body["entitlement"]["addons"], json!(["audit-log"]), "{}", addon.body);
    let seq = audit_head(&app).await;
    for (body, code, field) in [
        (json!({"customer": {"external_id": "crm-4711"}, "sku": "NOPE", "quantity": 1}), "invalid", "sku"),
        (json!({"customer": {"external_id": "crm-9999"}, "sku": "ACME-TEAM", "quantity": 3}), "invalid", "customer.name"),
        (json!({"customer": {"external_id": "crm-4711"}, "sku": "ACME-AUDIT", "quantity": 2}), "invalid", "quantity"),
        (json!({"customer": {"external_id": "crm-4711"}, "sku": "ACME-TEAM", "quantity": 0}), "invalid", "quantity"),
        (json!({"customer": {"external_id": "crm-4712", "name": "Hooli"}, "sku": "ACME-TEAM", "quantity": 3}), "invalid", "customer.slug"),
        (json!({"customer": {"external_id": "crm-7", "name": "Pied Piper"}, "sku": "ACME-AUDIT", "quantity": 1}), "invalid", "sku"),
    ] {
        let refused = app.post("/orders", body.clone()).await;
        assert!(refused.status.is_client_error(), "{body}: {}", refused.status);
        assert_eq!((refused.body["code"].as_str(), refused.body["field"].as_str()), (Some(code), Some(field)), "{body}: {}", refused.body);
    }
    assert_eq!(audit_head(&app).await, seq, "a refused order changes nothing");
    assert!(app.get("/customers?search=pied").await.body["data"].as_array().is_some_and(|d| d.is_empty()), "no half-made customer");
}

#[tokio::test]
async fn customers_are_created_found_by_their_crm_id_paged_and_changed() {
    let app = spawn_app().await;
    let made = app
        .post(
            "/customers",
            json!({"slug": "hooli", "name": "Hooli", "external_id": "crm-1", "admin": {"email": "Gavin@Hooli.example", "name": "Gavin"}}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(made.body["invitation"]["email"], "gavin@hooli.example");
    let id = made.body["customer"]["id"].as_i64().unwrap_or_default();

    let found = app.get("/customers?search=crm-1").await;
    assert_eq!(found.body["data"][0]["slug"], "hooli", "{}", found.body);
    assert_eq!(app.get("/customers/hooli").await.body["external_id"], "crm-1");
    assert_eq!(app.get(&format!("/customers/{id}")).await.body["name"], "Hooli");
    assert_eq!(app.get("/customers/nobody").await.body["code"], "unknown_customer");

    // Pages: every customer once, in order, then an empty next.
    let (mut seen, mut after) = (Vec::new(), String::new());
    loop {
        let page = app.get(&format!("/customers?limit=2{after}")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        seen.extend(page.body["data"].as_array().into_iter().flatten().filter_map(|c| c["id"].as_i64()));
        match page.body["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(seen, sorted, "in order, none twice");
    assert_eq!(seen.len(), 5, "the four demo customers and Hooli: {seen:?}");

    let taken = app.post("/customers", json!({"slug": "hooli-2", "name": "Other", "external_id": "crm-1"})).await;
    assert_eq!((taken.status, taken.body["field"].as_str()), (StatusCode::CONFLICT, Some("external_id")), "{}", taken.body);
    let bad = app.post("/customers", json!({"slug": "Not A Slug", "name": "x"})).await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("slug")));

    let seq = audit_head(&app).await;
    let renamed = app.provision(Method::PATCH, "/customers/hooli", KEY, &[], Some(json!({"name": "Hooli XYZ", "external_id": null}))).await;
    assert_eq!((renamed.body["name"].as_str(), &renamed.body["external_id"]), (Some("Hooli XYZ"), &Value::Null), "{}", renamed.body);
    assert_eq!(audit_kinds_since(&app, seq).await, ["customer.updated"]);
    let same = app.provision(Method::PATCH, "/customers/hooli", KEY, &[], Some(json!({"name": "Hooli XYZ"}))).await;
    assert_eq!(same.status, StatusCode::OK);
    assert_eq!(audit_kinds_since(&app, seq).await, ["customer.updated"], "nothing changed, nothing recorded");
}

#[tokio::test]
async fn people_are_invited_made_admins_and_removed_but_never_the_last_admin() {
    let app = spawn_app().await;
    let invited = app.post("/customers/initech/users", json!({"email": "eve@initech.example", "name": "Eve"})).await;
    assert_eq!(invited.status, StatusCode::CREATED, "{}", invited.body);
    assert_eq!(
        (invited.body["user"]["role"].as_str(), invited.body["user"]["status"].as_str()),
        (Some("customer_member"), Some("invited"))
    );
    let eve = invited.body["user"]["id"].as_i64().unwrap_or_default();
    assert!(invited.body["invitation"]["url"].as_str().is_some_and(|u| u.contains("/invite/")));

    let again = app.post("/customers/initech/users", json!({"email": "eve@initech.example", "name": "Eve"})).await;
    assert_eq!((again.status, again.body["field"].as_str()), (StatusCode::CONFLICT, Some("email")));
    let elsewhere = app.post("/customers/initech/users", json!({"email": "grace@globex.example", "name": "G"})).await;
    assert_eq!(elsewhere.status, StatusCode::CONFLICT, "another organisation's person is not moved");

    let promoted =
        app.provision(Method::PATCH, &format!("/customers/initech/users/{eve}"), KEY, &[], Some(json!({"role": "customer_admin"}))).await;
    assert_eq!(promoted.body["role"], "customer_admin", "{}", promoted.body);

    // Globex has one admin: demoting them is refused.
    let users = app.get("/customers/globex/users").await;
    let admins: Vec<i64> = users.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|u| u["role"] == "customer_admin")
        .filter_map(|u| u["id"].as_i64())
        .collect();
    assert_eq!(admins.len(), 1, "{}", users.body);
    let last = app
        .provision(Method::PATCH, &format!("/customers/globex/users/{}", admins[0]), KEY, &[], Some(json!({"role": "customer_member"})))
        .await;
    assert_eq!((last.status, last.body["code"].as_str()), (StatusCode::CONFLICT, Some("last_admin")));
    let removed = app.provision(Method::DELETE, &format!("/customers/globex/users/{}", admins[0]), KEY, &[], None).await;
    assert_eq!((removed.status, removed.body["code"].as_str()), (StatusCode::CONFLICT, Some("last_admin")), "nor removed");

    // Someone of another organisation is not reached through this one.
    let other = app.provision(Method::DELETE, &format!("/customers/initech/users/{}", admins[0]), KEY, &[], None).await;
    assert_eq!((other.status, other.body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_user")));
    let gone = app.provision(Method::DELETE, &format!("/customers/initech/users/{eve}"), KEY, &[], None).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let listed = app.get("/customers/initech/users").await;
    assert!(listed.body["data"].as_array().into_iter().flatten().all(|u| u["id"] != eve));
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_refuses_another_body_and_lets_one_of_two_run() {
    let app = spawn_app().await;
    let key = [("Idempotency-Key", "order-4711")];
    let first = app.provision(Method::POST, "/orders", KEY, &key, Some(hooli_order())).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let seq = audit_head(&app).await;
    let again = app.provision(Method::POST, "/orders", KEY, &key, Some(hooli_order())).await;
    assert_eq!((again.status, &again.body), (StatusCode::CREATED, &first.body), "the same answer, link and all");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.headers["etag"], first.headers["etag"]);
    assert_eq!(audit_head(&app).await, seq, "made once");

    let mut other = hooli_order();
    other["quantity"] = json!(30);
    let reused = app.provision(Method::POST, "/orders", KEY, &key, Some(other)).await;
    assert_eq!((reused.status, reused.body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency_key_reused")));

    // Keys are per API key: another key's same string is its own.
    let second_key = app.key_with(app::store::keys::api_keys::Scopes::ALL).await;
    let theirs =
        app.provision(Method::POST, "/customers", &second_key, &key, Some(json!({"slug": "pied-piper", "name": "Pied Piper"}))).await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.body);

    // Two at once with one key: one runs; the other is told it is in use, or gets its answer.
    let race = [("Idempotency-Key", "race-1")];
    let body = || Some(json!({"slug": "raviga", "name": "Raviga"}));
    let (a, b) = tokio::join!(
        app.provision(Method::POST, "/customers", KEY, &race, body()),
        app.provision(Method::POST, "/customers", KEY, &race, body())
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert!(
        statuses == [StatusCode::CREATED, StatusCode::CONFLICT] || (statuses == [StatusCode::CREATED; 2] && a.body == b.body),
        "{statuses:?}: {} / {}",
        a.body,
        b.body
    );
    for r in [&a, &b].into_iter().filter(|r| r.status == StatusCode::CONFLICT) {
        assert_eq!(r.body["code"], "idempotency_key_in_use");
        assert_eq!(r.headers["retry-after"], "1");
    }
    assert_eq!(app.get("/customers?search=raviga").await.body["data"].as_array().map(Vec::len), Some(1));

    // A call still unanswered holds its key: the store says so to the second.
    use app::store::provisioning::idempotency::Claim;
    let store = &app.state.store;
    let now = app::store::now();
    assert_eq!(store.claim_idempotency_key(1, "held", "f1", now).await.ok(), Some(Claim::Fresh(now)));
    assert_eq!(store.claim_idempotency_key(1, "held", "f1", now).await.ok(), Some(Claim::InFlight));
    assert_eq!(store.claim_idempotency_key(1, "held", "f2", now).await.ok(), Some(Claim::Reused));
    // A day later it is forgotten.
    assert_eq!(store.claim_idempotency_key(1, "held", "f2", now + 86_401).await.ok(), Some(Claim::Fresh(now + 86_401)));

    // A replayed answer holding a secret (a new license key) is kept sealed.
    let id = app.get("/entitlements?customer=initech").await.body["data"][0]["id"].clone();
    let path = format!("/entitlements/{id}/license-key/regenerate");
    let fresh = app.provision(Method::POST, &path, KEY, &[("Idempotency-Key", "regen-1")], None).await;
    let again = app.provision(Method::POST, &path, KEY, &[("Idempotency-Key", "regen-1")], None).await;
    let new_key = fresh.body["key"].as_str().unwrap_or_default();
    assert!(new_key.starts_with("TLK-") && again.body["key"] == new_key, "{} / {}", fresh.body, again.body);
    let kept = app.sql_strings("SELECT body FROM idempotency_keys WHERE key = 'regen-1'").await;
    assert!(kept.len() == 1 && !kept[0].contains("TLK-") && !kept[0].contains(&new_key[4..12]), "sealed at rest: {kept:?}");

    let bad = app.provision(Method::POST, "/customers", KEY, &[("Idempotency-Key", "")], body()).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_change_with_a_stale_if_match_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let list = app.get("/entitlements?customer=initech").await;
    let id = list.body["data"][0]["id"].as_i64().unwrap_or_default();
    let read = app.get(&format!("/entitlements/{id}")).await;
    let etag = read.headers["etag"].to_str().unwrap_or_default().to_owned();
    assert_eq!(etag, format!("\"{}\"", read.body["version"]));

    let changed = app
        .provision(
            Method::PATCH,
            &format!("/entitlements/{id}"),
            KEY,
            &[("If-Match", &etag)],
            Some(json!({"seats": 12, "reason": "bought two"})),
        )
        .await;
    assert_eq!((changed.status, changed.body["seats"]["cap"].as_i64()), (StatusCode::OK, Some(12)), "{}", changed.body);
    assert_ne!(changed.headers["etag"].to_str().unwrap_or_default(), etag);

    let seq = audit_head(&app).await;
    for (method, path, body) in [
        (Method::PATCH, format!("/entitlements/{id}"), json!({"seats": 20})),
        (Method::POST, format!("/entitlements/{id}/suspend"), json!({"reason": "unpaid"})),
        (Method::POST, format!("/entitlements/{id}/renew"), json!({"days": 30})),
        (Method::POST, format!("/entitlements/{id}/cancel"), json!({"reason": "gone"})),
    ] {
        let stale = app.provision(method, &path, KEY, &[("If-Match", &etag)], Some(body)).await;
        assert_eq!((stale.status, stale.body["code"].as_str()), (StatusCode::PRECONDITION_FAILED, Some("version_mismatch")), "{path}");
    }
    assert_eq!(audit_head(&app).await, seq, "nothing changed");
    assert_eq!(app.get(&format!("/entitlements/{id}")).await.body["seats"]["cap"], 12);

    // Without If-Match the change is made; a state that does not allow it is a conflict.
    let suspended = app.post(&format!("/entitlements/{id}/suspend"), json!({"reason": "unpaid invoice"})).await;
    assert_eq!((suspended.status, suspended.body["status"].as_str()), (StatusCode::OK, Some("suspended")));
    let check = app.post("/check", json!({"customer": "initech", "feature": "api.calls"})).await;
    assert_eq!(check.body["code"], "suspended", "the next check sees it");
    let twice = app.post(&format!("/entitlements/{id}/suspend"), json!({"reason": "again"})).await;
    assert_eq!((twice.status, twice.body["code"].as_str()), (StatusCode::CONFLICT, Some("invalid_state")));
    let resumed = app.post(&format!("/entitlements/{id}/resume"), json!({})).await;
    assert_eq!(resumed.body["status"], "active");
}

#[tokio::test]
async fn entitlements_are_granted_read_with_their_keys_and_usage_and_only_of_the_keys_product() {
    let app = spawn_app().await;
    app.post("/customers", json!({"slug": "hooli", "name": "Hooli"})).await;
    let granted = app
        .post(
            "/entitlements",
            json!({"customer": "hooli", "plan": "team", "addons": ["api-boost"], "trial_days": 14, "regions": ["eu", "US"], "external_id": "c-9"}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
    assert_eq!((granted.body["status"].as_str(), granted.body["regions"].clone()), (Some("trial"), json!(["eu", "us"])));
    let id = granted.body["id"].as_i64().unwrap_or_default();
    let twice = app.post("/entitlements", json!({"customer": "hooli", "plan": "team"})).await;
    assert_eq!((twice.status, twice.body["field"].as_str()), (StatusCode::CONFLICT, Some("product")));
    let no_plan = app.post("/entitlements", json!({"customer": "hooli", "plan": "platinum"})).await;
    assert_eq!((no_plan.status, no_plan.body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("plan")));

    let extended = app.post(&format!("/entitlements/{id}/extend-trial"), json!({"days": 10})).await;
    assert_eq!(extended.status, StatusCode::OK, "{}", extended.body);
    assert!(extended.body["trial_ends_at"].as_str() > granted.body["trial_ends_at"].as_str(), "{}", extended.body);

    let seq = audit_head(&app).await;
    let key = app.get(&format!("/entitlements/{id}/license-key")).await;
    let old = key.body["key"].as_str().unwrap_or_default().to_owned();
    assert!(old.starts_with("TLK-"), "{}", key.body);
    assert_eq!(audit_kinds_since(&app, seq).await, ["license_key.viewed"]);
    let fresh = app.post(&format!("/entitlements/{id}/license-key/regenerate"), json!({})).await;
    assert_ne!(fresh.body["key"], key.body["key"]);
    let stale = app.provision(Method::POST, "/check", &old, &[], Some(json!({"feature": "dashboards"}))).await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED, "the old key stopped at once");

    // Usage recorded through enforcement rolls up per day and per month.
    let initech = app.get("/entitlements?customer=initech").await.body["data"][0]["id"].as_i64().unwrap_or_default();
    let days = app.get(&format!("/entitlements/{initech}/usage")).await;
    assert_eq!(days.status, StatusCode::OK, "{}", days.body);
    let by_day: i64 = days.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["feature"] == "api.calls")
        .filter_map(|t| t["quantity"].as_i64())
        .sum();
    assert!(by_day > 0, "the demo's usage: {}", days.body);
    let months = app.get(&format!("/entitlements/{initech}/usage?per=month&from=2000-01-01")).await;
    assert!(months.body["data"].as_array().into_iter().flatten().all(|t| t["period"].as_str().is_some_and(|p| p.ends_with("-01"))));

    // Only the key's product: another product's key finds none of this one's.
    let other_product = {
        let admin = app::store::audit::Actor::system("test");
        let product =
            app.state.store.add_product(&admin, "other", "Other", "test", app::store::now()).await.unwrap_or_else(|e| panic!("{e}"));
        let key = format!("tsk_other_{}", uuid_like());
        app.state
            .store
            .issue_api_key(&admin, product, "other", &key, app::store::keys::api_keys::Scopes::ALL, None, app::store::now())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        key
    };
    for (method, path) in [
        (Method::GET, format!("/entitlements/{id}")),
        (Method::GET, format!("/entitlements/{id}/license-key")),
        (Method::POST, format!("/entitlements/{id}/cancel")),
    ] {
        let r = app.provision(method, &path, &other_product, &[], Some(json!({}))).await;
        assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_entitlement")), "{path}");
    }
    let none = app.provision(Method::GET, "/entitlements", &other_product, &[], None).await;
    assert_eq!(none.body["data"], json!([]));
}

#[tokio::test]
async fn only_a_vendor_key_with_the_right_scope_provisions_and_a_license_key_never_does() {
    use app::store::keys::api_keys::Scopes;
    let app = spawn_app().await;
    let enforce = app.key_with(Scopes::ENFORCE).await;
    let read = app.key_with(Scopes { read: true, ..Scopes::default() }).await;
    let license = app.get(&format!("/entitlements/{}/license-key", 1)).await.body["key"].as_str().unwrap_or_default().to_owned();
    let seq = audit_head(&app).await;
    let calls = [
        (Method::GET, "/customers", None),
        (Method::POST, "/customers", Some(json!({"slug": "evil", "name": "Evil"}))),
        (Method::GET, "/entitlements", None),
        (Method::POST, "/orders", Some(hooli_order())),
        (Method::GET, "/events?after=0", None),
        (Method::GET, "/requests", None),
        (Method::PUT, "/skus/EVIL", Some(json!({"plan": "enterprise"}))),
    ];
    for (method, path, body) in &calls {
        for key in [&enforce, &license] {
            let r = app.provision(method.clone(), path, key, &[], body.clone()).await;
            assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::FORBIDDEN, Some("missing_scope")), "{method} {path}");
        }
        let r = app.provision(method.clone(), path, &read, &[], body.clone()).await;
        let expected = if *method == Method::GET { StatusCode::OK } else { StatusCode::FORBIDDEN };
        assert_eq!(r.status, expected, "read key: {method} {path}: {}", r.body);
        let none = app.provision(method.clone(), path, "tsk_nope", &[], body.clone()).await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(audit_head(&app).await, seq, "nothing was recorded");
}

#[tokio::test]
async fn a_request_is_decided_by_the_api_under_the_approval_rules_and_needs_a_person_for_the_second_approval() {
    let app = spawn_app().await;
    // Ada asks for Initech to jump two tiers: the demo's rules want two approvals.
    let ada = app.client_for("ada@initech.example").await;
    let initech = app.get("/entitlements?customer=initech").await.body["data"][0]["id"].as_i64().unwrap_or_default();
    let filed = app
        .call_as(
            &ada,
            "file_request",
            &[("entitlement", &initech.to_string()), ("kind", "plan"), ("plan", "enterprise"), ("reason", "growing")],
        )
        .await;
    assert_eq!(filed.status(), StatusCode::OK, "{}", filed.text().await.unwrap_or_default());
    let pending = app.get("/requests").await;
    let request =
        pending.body["data"].as_array().into_iter().flatten().find(|r| r["target_plan"] == "Enterprise").cloned().unwrap_or_default();
    assert_eq!((request["approvals_needed"].as_i64(), request["customer"].as_str()), (Some(2), Some("initech")), "{}", pending.body);
    let id = request["id"].as_i64().unwrap_or_default();

    let first = app.post(&format!("/requests/{id}/approve"), json!({"comment": "paid"})).await;
    assert_eq!((first.status, first.body["approvals"].as_i64()), (StatusCode::ACCEPTED, Some(1)), "{}", first.body);
    let other_key = app.key_with(app::store::keys::api_keys::Scopes::ALL).await;
    let second = app.provision(Method::POST, &format!("/requests/{id}/approve"), &other_key, &[], Some(json!({}))).await;
    assert_eq!(
        (second.status, second.body["code"].as_str()),
        (StatusCode::CONFLICT, Some("approved_already")),
        "another key is not another person"
    );

    let staff = app.client_for("staff@tessera.example").await;
    let decided = app.call_as(&staff, "decide_request", &[("id", &id.to_string()), ("decision", "approve"), ("comment", "ok")]).await;
    assert_eq!(decided.status(), StatusCode::OK, "{}", decided.text().await.unwrap_or_default());
    assert_eq!(app.get(&format!("/entitlements/{initech}")).await.body["plan"], "enterprise");
    let late = app.post(&format!("/requests/{id}/reject"), json!({"comment": "no"})).await;
    assert_eq!((late.status, late.body["code"].as_str()), (StatusCode::CONFLICT, Some("not_pending")));
    let no_comment = app.post(&format!("/requests/{id}/reject"), json!({})).await;
    assert_eq!(no_comment.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_event_feed_gives_every_change_in_order_filtered_and_waits_for_the_next() {
    let app = spawn_app().await;
    let start = app.get("/events").await;
    let cursor = start.body["next"].as_str().unwrap_or_default().to_owned();
    assert_eq!(start.body["data"], json!([]), "from now on by default");

    app.post("/orders", hooli_order()).await;
    let page = app.get(&format!("/events?after={cursor}")).await;
    let types: Vec<&str> = page.body["data"].as_array().into_iter().flatten().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["customer.created", "user.invited", "entitlement.granted", "order.placed"]);
    let granted = &page.body["data"][2];
    assert_eq!((granted["customer"]["slug"].as_str(), granted["actor"].as_str()), (Some("hooli"), Some("api-key:1")));
    assert_eq!(granted["data"]["after"]["terms"]["plan"], "business", "{granted}");
    let ids: Vec<i64> = page.body["data"].as_array().into_iter().flatten().filter_map(|e| e["id"].as_str()?.parse().ok()).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");

    let only = app.get(&format!("/events?after={cursor}&types=entitlement.granted,order.placed&limit=1")).await;
    assert_eq!(only.body["data"][0]["type"], "entitlement.granted");
    let rest =
        app.get(&format!("/events?after={}&types=entitlement.granted,order.placed", only.body["next"].as_str().unwrap_or_default())).await;
    assert_eq!(
        rest.body["data"].as_array().map(|d| d.iter().map(|e| e["type"].clone()).collect::<Vec<_>>()),
        Some(vec![json!("order.placed")])
    );
    app.call("sign_in", &[("email", "ada@initech.example"), ("password", "not the password")]).await;
    let quiet = app.get(&format!("/events?after={}", page.body["next"].as_str().unwrap_or_default())).await;
    assert_eq!(quiet.body["data"], json!([]), "sign-ins stay in the audit log: {}", quiet.body);
    let private = app.get("/events?types=user.sign_in_failed").await;
    assert_eq!(private.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = app.get("/events?types=seat.stolen").await;
    assert_eq!((unknown.status, unknown.body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("types")));

    // A waiting reader is answered by the next commit, not by its timeout.
    let next = page.body["next"].as_str().unwrap_or_default().to_owned();
    let path = format!("/events?after={next}&wait=20");
    let waiting = app.get(&path);
    let change = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        app.post("/customers", json!({"slug": "raviga", "name": "Raviga"})).await
    };
    let (woken, _) = tokio::join!(waiting, change);
    assert_eq!(woken.body["data"][0]["type"], "customer.created", "woken by the commit: {}", woken.body);
}

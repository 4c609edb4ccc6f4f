//! The vendor console over HTTP: customers and entitlements made and changed by staff,
//! held-back seats, the catalog's plan versions, and API and signing keys, each followed
//! at once by the enforcement API.

use reqwest::StatusCode;
use serde_json::{json as j, Value};

use crate::helpers::{json, spawn_app, TestApp};

async fn check_with(app: &TestApp, key: &str, customer: &str, feature: &str, user: &str) -> (StatusCode, Value) {
    let r = app
        .client
        .post(app.url("/api/v1/check"))
        .bearer_auth(key)
        .json(&j!({"customer": customer, "feature": feature, "user": user}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn code(app: &TestApp, customer: &str, feature: &str, user: &str) -> String {
    let (status, v) = check_with(app, "tsk_demo_acme", customer, feature, user).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["code"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn staff_create_a_customer_whose_admin_accepts_and_sees_the_granted_entitlement() {
    let app = spawn_app().await;
    let staff = app.client_for("staff@tessera.example").await;
    let form = [
        ("slug", "hooli"),
        ("name", "Hooli"),
        ("admin_email", "gavin@hooli.example"),
        ("admin_name", "Gavin Belson"),
        ("reason", "Signed the order form"),
    ];
    let r = app.call_as(&staff, "create_customer", &form).await;
    assert_eq!(r.status(), StatusCode::OK);
    let created = json(r).await;
    let path = created["path"].as_str().unwrap_or_default().to_owned();
    assert!(path.starts_with("/invite/"), "{created}");
    let again = app.call_as(&staff, "create_customer", &form).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.text().await.unwrap_or_default().contains("Another customer has this address"));
    let bad = app
        .call_as(
            &staff,
            "create_customer",
            &[("slug", "Hoo li"), ("name", "x"), ("admin_email", "a@b.example"), ("admin_name", "A"), ("reason", "r")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // Business with the API boost add-on, in the EU only, 20 seats.
    let grant = [
        ("customer", "hooli"),
        ("product", "acme-analytics"),
        ("plan", "business"),
        ("addons[0]", "api-boost"),
        ("seats", "20"),
        ("regions", "EU"),
        ("renews", "2031-01-31"),
        ("auto_renew", "on"),
        ("reason", "Year one"),
    ];
    let r = app.call_as(&staff, "grant_entitlement", &grant).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    let twice = app.call_as(&staff, "grant_entitlement", &grant).await;
    assert!(twice.text().await.unwrap_or_default().contains("has this product already"));

    let token = path.trim_start_matches("/invite/");
    let gavin = crate::helpers::new_client();
    let r = app
        .call_as(
            &gavin,
            "accept_invitation",
            &[("token", token), ("password", "a long enough password"), ("confirm", "a long enough password")],
        )
        .await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.text().await.unwrap_or_default());
    let mine = json(app.call_as(&gavin, "list_entitlements", &[]).await).await;
    assert_eq!(
        (mine[0]["customer"].as_str(), mine[0]["plan"].as_str(), mine[0]["seats_cap"].as_i64()),
        (Some("Hooli"), Some("Business"), Some(20)),
        "{mine}"
    );
    assert_eq!(mine[0]["addons"], j!(["API boost"]));
    assert_eq!(mine[0]["renews_on"], "2031-01-31");

    // The API follows at once: the entitlement is there, and Gavin holds no seat yet.
    assert_eq!(code(&app, "hooli", "sso", "gavin@hooli.example").await, "no_seat");
    let audit = json(app.call_as(&staff, "list_audit", &[("customer", "hooli")]).await).await;
    let kinds: Vec<_> = audit["events"].as_array().map(|e| e.iter().map(|e| e["kind"].clone()).collect()).unwrap_or_default();
    assert!(kinds.contains(&j!("customer.created")) && kinds.contains(&j!("entitlement.granted")), "{kinds:?}");
}

#[tokio::test]
async fn cutting_seats_holds_back_the_last_assigned_until_the_admin_chooses() {
    let app = spawn_app().await;
    let staff = app.client_for("staff@tessera.example").await;
    let ada = app.client_for("ada@initech.example").await;
    let ent = json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    let r = app
        .call_as(
            &staff,
            "amend_entitlement",
            &[("entitlement", &ent), ("plan", "team"), ("seats", "1"), ("reason", "Contract cut to one seat")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());

    // Ada and Bob were seated together; Bob's seat (the later one) is held back.
    let seats = json(app.call_as(&ada, "get_seats", &[("entitlement", &ent)]).await).await;
    let held: Vec<_> = seats["members"]
        .as_array()
        .map(|m| m.iter().filter(|m| m["held_back"] == true).map(|m| m["email"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(held, [j!("bob@initech.example")]);
    let e = &json(app.call_as(&staff, "list_entitlements", &[("customer", "initech")]).await).await[0];
    assert_eq!((e["seats_used"].as_i64(), e["seats_cap"].as_i64()), (Some(2), Some(1)), "staff see it too: {e}");
    assert_eq!(code(&app, "initech", "reports.export", "bob@initech.example").await, "no_seat");
    assert_eq!(code(&app, "initech", "reports.export", "ada@initech.example").await, "ok");

    // Ada chooses Bob over herself: she frees her own seat, and Bob's works at once.
    let r = app.call_as(&ada, "free_seat", &[("entitlement", &ent), ("email", "ada@initech.example")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(code(&app, "initech", "reports.export", "bob@initech.example").await, "ok");

    let same =
        app.call_as(&staff, "amend_entitlement", &[("entitlement", &ent), ("plan", "team"), ("seats", "1"), ("reason", "again")]).await;
    assert!(same.text().await.unwrap_or_default().contains("terms it has already"));
}

#[tokio::test]
async fn renewing_and_cancelling_are_followed_by_the_next_check() {
    let app = spawn_app().await;
    let staff = app.client_for("staff@tessera.example").await;
    let ada = app.client_for("ada@initech.example").await;
    let ent = json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    let r =
        app.call_as(&staff, "change_entitlement", &[("entitlement", &ent), ("action", "renew"), ("days", "2000"), ("reason", "x")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "over 1,100 days");
    let r =
        app.call_as(&staff, "change_entitlement", &[("entitlement", &ent), ("action", "renew"), ("reason", "Paid for next year")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["days_left"], 45 + 365);

    let r = app
        .call_as(&staff, "change_entitlement", &[("entitlement", &ent), ("action", "cancel"), ("reason", "Moved to a competitor")])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(code(&app, "initech", "dashboards", "ada@initech.example").await, "not_entitled");
    let e = &json(app.call_as(&ada, "list_entitlements", &[]).await).await[0];
    assert_eq!((e["status"].as_str(), e["status_reason"].as_str()), (Some("cancelled"), Some("Moved to a competitor")));
    let r = app.call_as(&staff, "change_entitlement", &[("entitlement", &ent), ("action", "cancel"), ("reason", "again")]).await;
    assert!(r.text().await.unwrap_or_default().contains("cannot be cancelled in its present state"));
}

#[tokio::test]
async fn a_new_plan_version_reaches_customers_only_when_they_are_moved() {
    let app = spawn_app().await;
    let admin = app.client_for("admin@tessera.example").await;
    let form = [
        ("product", "acme-analytics"),
        ("key", "team"),
        ("name", "Team"),
        ("rank", "1"),
        ("seats", "12"),
        ("instances", "3"),
        ("trial_days", "14"),
        ("grace_days", "7"),
        ("features[0]", "dashboards"),
        ("features[1]", "reports.export"),
        ("features[4]", "sso"),
        ("features[7]", "api.calls"),
        ("quotas[api.calls]", "20000"),
        ("rules[dashboards]", "always"),
        ("rules[sso]", "seat"),
        ("reason", "SSO for every team"),
    ];
    let r = app.call_as(&admin, "save_plan", &form).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    assert_eq!(json(r).await, 2, "version 2");
    assert_eq!(code(&app, "initech", "sso", "ada@initech.example").await, "feature_not_in_plan", "Initech stays on version 1");
    assert_eq!(code(&app, "initech", "dashboards", "cy@initech.example").await, "no_seat");

    let catalog = json(app.call_as(&admin, "get_catalog", &[]).await).await;
    let team =
        catalog["products"][0]["plans"].as_array().and_then(|p| p.iter().find(|p| p["key"] == "team")).cloned().unwrap_or(Value::Null);
    assert_eq!(
        (team["version"].as_i64(), team["seats"].as_i64(), team["on_this_version"].as_i64()),
        (Some(2), Some(12), Some(0)),
        "{team}"
    );
    assert!(team["on_older_versions"].as_i64().is_some_and(|n| n >= 1));

    let r =
        app.call_as(&admin, "move_plan_version", &[("product", "acme-analytics"), ("plan", "team"), ("reason", "Everyone on v2")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(code(&app, "initech", "sso", "ada@initech.example").await, "ok");
    assert_eq!(code(&app, "initech", "sso", "cy@initech.example").await, "no_seat", "SSO needs a seat");
    assert_eq!(code(&app, "initech", "dashboards", "cy@initech.example").await, "ok", "dashboards need nothing more now");
    let ada = app.client_for("ada@initech.example").await;
    let e = &json(app.call_as(&ada, "list_entitlements", &[]).await).await[0];
    assert_eq!(e["seats_cap"], 12);
    let calls = e["features"].as_array().and_then(|f| f.iter().find(|f| f["key"] == "api.calls")).cloned().unwrap_or(Value::Null);
    assert_eq!(calls["quota"], 20_000);

    let r = app
        .call_as(
            &admin,
            "save_plan",
            &[
                ("product", "acme-analytics"),
                ("key", "team"),
                ("name", "Team"),
                ("rank", "1"),
                ("seats", "1"),
                ("instances", "1"),
                ("trial_days", "0"),
                ("grace_days", "0"),
                ("features[0]", "sso"),
                ("rules[sso]", "quota"),
                ("reason", "r"),
            ],
        )
        .await;
    assert!(r.text().await.unwrap_or_default().contains("not metered"));
    let r = app.call_as(&admin, "add_product", &[("key", "acme-reports"), ("name", "Acme Reports"), ("reason", "New line")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.call_as(&admin, "add_product", &[("key", "acme-reports"), ("name", "Again"), ("reason", "twice")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let catalog = json(app.call_as(&admin, "get_catalog", &[]).await).await;
    assert_eq!(catalog["products"].as_array().map(Vec::len), Some(2));
    let r = app
        .call_as(
            &admin,
            "save_plan",
            &[
                ("product", "acme-analytics"),
                ("key", "Bad Key"),
                ("name", "x"),
                ("rank", "1"),
                ("seats", "1"),
                ("instances", "1"),
                ("trial_days", "0"),
                ("grace_days", "0"),
                ("reason", "r"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_new_api_key_works_at_once_and_stops_when_rotated_or_revoked() {
    let app = spawn_app().await;
    let admin = app.client_for("admin@tessera.example").await;
    let issued =
        json(app.call_as(&admin, "create_api_key", &[("product", "acme-analytics"), ("name", "Production"), ("enforce", "on")]).await)
            .await;
    let key = issued["key"].as_str().unwrap_or_default().to_owned();
    assert!(key.starts_with("tsk_"), "{issued}");
    assert_eq!(check_with(&app, &key, "initech", "dashboards", "ada@initech.example").await.0, StatusCode::OK);
    let listed = json(app.call_as(&admin, "get_keys", &[]).await).await;
    assert!(!listed.to_string().contains(&key), "the key itself is never listed again");
    let id = listed["api_keys"]
        .as_array()
        .and_then(|k| k.iter().find(|k| k["name"] == "Production"))
        .map(|k| k["id"].to_string())
        .unwrap_or_default();

    let rotated = json(app.call_as(&admin, "rotate_api_key", &[("id", &id)]).await).await;
    let new_key = rotated["key"].as_str().unwrap_or_default().to_owned();
    assert_eq!(check_with(&app, &key, "initech", "dashboards", "ada@initech.example").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(check_with(&app, &new_key, "initech", "dashboards", "ada@initech.example").await.0, StatusCode::OK);

    let listed = json(app.call_as(&admin, "get_keys", &[]).await).await;
    let live = listed["api_keys"]
        .as_array()
        .and_then(|k| k.iter().find(|k| k["name"] == "Production" && k["revoked_at"].is_null()))
        .map(|k| k["id"].to_string())
        .unwrap_or_default();
    assert_eq!(app.call_as(&admin, "revoke_api_key", &[("id", &live)]).await.status(), StatusCode::OK);
    assert_eq!(check_with(&app, &new_key, "initech", "dashboards", "ada@initech.example").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_retired_signing_key_leaves_the_jwks_and_the_signing_one_cannot_be_retired() {
    let app = spawn_app().await;
    let admin = app.client_for("admin@tessera.example").await;
    let kids = |v: Value| -> Vec<String> {
        v["keys"].as_array().map(|k| k.iter().map(|k| k["kid"].as_str().unwrap_or_default().to_owned()).collect()).unwrap_or_default()
    };
    let jwks = || async {
        app.client
            .get(app.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json::<Value>()
            .await
            .unwrap_or(Value::Null)
    };
    let first = kids(jwks().await);
    assert_eq!(first.len(), 1);
    let new = json(app.call_as(&admin, "rotate_signing_key", &[]).await).await;
    let new = new.as_str().unwrap_or_default().to_owned();
    assert_eq!(kids(jwks().await).len(), 2, "the old key still verifies older tokens");

    let r = app.call_as(&admin, "retire_signing_key", &[("kid", &new)]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "the key that signs now");
    let r = app.call_as(&admin, "retire_signing_key", &[("kid", &first[0])]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(kids(jwks().await), [new]);
    let audit = json(app.call_as(&admin, "list_audit", &[("kind", "signing_key.")]).await).await;
    let actors: Vec<_> = audit["events"].as_array().map(|e| e.iter().map(|e| e["actor"].clone()).collect()).unwrap_or_default();
    assert!(actors.contains(&j!("admin@tessera.example")), "{actors:?}");
}

#[tokio::test]
async fn approval_rules_are_added_and_retired_from_the_catalog() {
    let app = spawn_app().await;
    let admin = app.client_for("admin@tessera.example").await;
    let ada = app.client_for("ada@initech.example").await;
    let ent = json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    let r = app
        .call_as(&admin, "add_rule", &[("product", "acme-analytics"), ("effect", "auto_approve"), ("kind", "addon"), ("plan", "team")])
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    let rule = json(r).await.to_string();
    let bad = app
        .call_as(&admin, "add_rule", &[("product", "acme-analytics"), ("effect", "auto_approve"), ("kind", "addon"), ("max_seats", "3")])
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let file = |addon: &'static str| {
        let (app, ada, ent) = (&app, &ada, ent.clone());
        async move {
            let r = app
                .call_as(ada, "file_request", &[("entitlement", &ent), ("kind", "addon"), ("addon", addon), ("reason", "Auditors")])
                .await;
            assert!(r.status().is_success() || r.status().is_redirection());
        }
    };
    file("audit-log").await;
    assert_eq!(json(app.call_as(&ada, "list_requests", &[]).await).await[0]["status"], "approved");
    assert_eq!(code(&app, "initech", "audit.log", "ada@initech.example").await, "ok", "approved and applied at once");

    assert_eq!(app.call_as(&admin, "retire_rule", &[("id", &rule)]).await.status(), StatusCode::OK);
    assert_eq!(app.call_as(&admin, "retire_rule", &[("id", &rule)]).await.status(), StatusCode::NOT_FOUND);
    file("api-boost").await;
    assert_eq!(json(app.call_as(&ada, "list_requests", &[]).await).await[0]["status"], "pending");
}

#[tokio::test]
async fn a_staff_change_the_rules_send_to_two_people_waits_for_a_second_member_of_staff() {
    let app = spawn_app().await;
    let staff = app.client_for("staff@tessera.example").await;
    let admin = app.client_for("admin@tessera.example").await;
    let ada = app.client_for("ada@initech.example").await;
    let ent = json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    let enterprise = [("entitlement", ent.as_str()), ("plan", "enterprise"), ("reason", "Enterprise deal")];

    // Team to Enterprise is two tiers: proposed, not applied.
    let r = app.call_as(&staff, "amend_entitlement", &enterprise).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await, "Proposed");
    assert_eq!(code(&app, "initech", "sso", "ada@initech.example").await, "feature_not_in_plan", "nothing changed yet");
    let pending = json(app.call_as(&admin, "list_proposed_amendments", &[("customer", "initech")]).await).await;
    assert_eq!(pending.as_array().map(Vec::len), Some(1));
    assert_eq!(pending[0]["proposed_by"], "staff@tessera.example");
    assert!(pending[0]["summary"].as_str().is_some_and(|s| s.starts_with("Enterprise plan")), "{pending}");
    let id = pending[0]["id"].to_string();

    // Not a second time while it waits, and not by the one who proposed it.
    let again = app.call_as(&admin, "amend_entitlement", &enterprise).await;
    assert_eq!(json(again).await["Invalid"]["field"], "plan");
    let own = app.call_as(&staff, "decide_amendment", &[("id", id.as_str()), ("decision", "approve")]).await;
    let own = json(own).await;
    assert!(own["Invalid"]["message"].as_str().is_some_and(|m| m.contains("someone else on the staff")), "{own}");
    assert_eq!(code(&app, "initech", "sso", "ada@initech.example").await, "feature_not_in_plan");

    // A second member of staff approves: it applies at once, with both names in the log.
    let r = app.call_as(&admin, "decide_amendment", &[("id", id.as_str()), ("decision", "approve"), ("comment", "Signed")]).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    assert_eq!(code(&app, "initech", "sso", "ada@initech.example").await, "ok");
    let log = app.state.store.list_audit_events(None, 2).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(log[0].kind, "entitlement.amended");
    assert_eq!(log[0].actor, "admin@tessera.example");
    let after = log[0].after_json.clone().unwrap_or_default();
    assert!(after.contains("proposed by staff@tessera.example") && after.contains("approved by admin@tessera.example"), "{after}");
    let r = app.call_as(&admin, "decide_amendment", &[("id", id.as_str()), ("decision", "approve")]).await;
    assert_eq!(json(r).await["Invalid"]["field"], "decision", "decided once");

    // One tier needs one person.
    let business = [("entitlement", ent.as_str()), ("plan", "business"), ("reason", "One tier down")];
    assert_eq!(json(app.call_as(&staff, "amend_entitlement", &business).await).await, "Applied");
}

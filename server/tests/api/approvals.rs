//! Vendor staff deciding change requests: the change applies with the decision, the next
//! check sees it, and every way a decision can go wrong is refused cleanly.

use reqwest::StatusCode;
use serde_json::{json as j, Value};

use crate::helpers::{json, new_client, spawn_app, TestApp};

async fn check(app: &TestApp, feature: &str) -> Value {
    let r = app
        .client
        .post(app.url("/api/v1/check"))
        .bearer_auth("tsk_demo_acme")
        .json(&j!({"customer": "initech", "feature": feature, "user": "ada@initech.example"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    json(r).await
}

/// Ada files a request; returns its id.
async fn file(app: &TestApp, ada: &reqwest::Client, form: &[(&str, &str)]) -> String {
    let list = json(app.call_as(ada, "list_entitlements", &[]).await).await;
    let ent = list[0]["id"].to_string();
    let mut form = form.to_vec();
    form.push(("entitlement", &ent));
    let r = app.call_as(ada, "file_request", &form).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.text().await.unwrap_or_default());
    json(app.call_as(ada, "list_requests", &[]).await).await[0]["id"].to_string()
}

#[tokio::test]
async fn an_approved_upgrade_applies_at_once_and_the_next_check_sees_it() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let staff = app.client_for("staff@tessera.example").await;
    assert_eq!(check(&app, "sso").await["code"], "feature_not_in_plan");
    let id = file(&app, &ada, &[("kind", "plan"), ("plan", "business"), ("reason", "We need SSO")]).await;

    let queue = json(app.call_as(&staff, "list_pending_requests", &[]).await).await["requests"].clone();
    assert_eq!((queue[0]["summary"].as_str(), queue[0]["customer_slug"].as_str()), (Some("Change plan to Business"), Some("initech")));
    let detail = json(app.call_as(&staff, "get_request_detail", &[("id", &id)]).await).await;
    assert_eq!(detail["entitlement"]["plan"], "Team");
    let gained: Vec<_> = detail["preview"]["gained"].as_array().map(|g| g.iter().map(|f| f["key"].clone()).collect()).unwrap_or_default();
    assert_eq!(gained, [j!("sso"), j!("audit.log")]);

    let r = app.call_as(&staff, "decide_request", &[("id", &id), ("decision", "approve"), ("comment", "Welcome to Business")]).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    assert_eq!(check(&app, "sso").await["code"], "ok", "the very next check");
    assert_eq!(check(&app, "sso").await["plan"], "business");
    let mine = json(app.call_as(&ada, "list_requests", &[]).await).await;
    assert_eq!((mine[0]["status"].as_str(), mine[0]["comment"].as_str()), (Some("approved"), Some("Welcome to Business")));
    assert_eq!(json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["plan"], "Business");

    // Twice is refused, and so is the customer's withdrawal afterwards.
    let r = app.call_as(&staff, "decide_request", &[("id", &id), ("decision", "approve"), ("comment", "again")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap_or_default().contains("approved already"));
    assert_eq!(app.call_as(&ada, "withdraw_request", &[("id", &id)]).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(app.call_as(&staff, "list_pending_requests", &[]).await).await, j!({"requests": [], "next_after": null}));
}

#[tokio::test]
async fn a_rejection_changes_nothing_and_a_withdrawn_request_cannot_be_approved() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let staff = app.client_for("staff@tessera.example").await;
    let id = file(&app, &ada, &[("kind", "seats"), ("seats", "8"), ("reason", "New hires")]).await;
    let r = app.call_as(&staff, "decide_request", &[("id", &id), ("decision", "reject"), ("comment", "   ")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a decision needs a comment");
    let r = app.call_as(&staff, "decide_request", &[("id", &id), ("decision", "reject"), ("comment", "Not this quarter")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["seats_cap"], 10);
    assert_eq!(json(app.call_as(&ada, "list_requests", &[]).await).await[0]["status"], "rejected");

    let id = file(&app, &ada, &[("kind", "addon"), ("addon", "audit-log"), ("reason", "Auditors")]).await;
    assert_eq!(app.call_as(&ada, "withdraw_request", &[("id", &id)]).await.status(), StatusCode::OK);
    let r = app.call_as(&staff, "decide_request", &[("id", &id), ("decision", "approve"), ("comment", "ok")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap_or_default().contains("withdrawn already"));
    assert_eq!(check(&app, "audit.log").await["code"], "feature_not_in_plan");
}

#[tokio::test]
async fn approving_against_a_changed_entitlement_asks_to_confirm_the_new_state() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let staff = app.client_for("staff@tessera.example").await;
    let seats = file(&app, &ada, &[("kind", "seats"), ("seats", "8"), ("reason", "New hires")]).await;
    let addon = file(&app, &ada, &[("kind", "addon"), ("addon", "api-boost"), ("reason", "More calls")]).await;
    let r = app.call_as(&staff, "decide_request", &[("id", &seats), ("decision", "approve"), ("comment", "Granted")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["seats_cap"], 18);

    // The add-on was asked for against the version before the seats.
    let r = app.call_as(&staff, "decide_request", &[("id", &addon), ("decision", "approve"), ("comment", "Granted")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap_or_default().contains("changed since this request was made"));
    let detail = json(app.call_as(&staff, "get_request_detail", &[("id", &addon)]).await).await;
    let current = detail["current_version"].to_string();
    assert_ne!(detail["filed_version"], detail["current_version"]);
    let r = app
        .call_as(
            &staff,
            "decide_request",
            &[("id", &addon), ("decision", "approve"), ("comment", "Granted"), ("confirm_version", &current)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    let calls = check(&app, "api.calls").await;
    assert_eq!(calls["limits"]["quota"], 60_000, "{calls}");
}

#[tokio::test]
async fn only_vendor_admins_and_staff_see_the_queue_and_decide() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let id = file(&app, &ada, &[("kind", "renewal"), ("reason", "Another year")]).await;
    let anonymous = new_client();
    for (client, who, status) in [
        (ada.clone(), "customer admin", StatusCode::FORBIDDEN),
        (app.client_for("bob@initech.example").await, "member", StatusCode::FORBIDDEN),
        (app.client_for("grace@globex.example").await, "another customer", StatusCode::FORBIDDEN),
        (app.client_for("sales@tessera.example").await, "sales", StatusCode::FORBIDDEN),
        (anonymous, "visitor", StatusCode::UNAUTHORIZED),
    ] {
        for (name, form) in [
            ("list_pending_requests", vec![]),
            ("get_request_detail", vec![("id", id.as_str())]),
            ("decide_request", vec![("id", id.as_str()), ("decision", "approve"), ("comment", "mine")]),
        ] {
            assert_eq!(app.call_as(&client, name, &form).await.status(), status, "{who} calling {name}");
        }
    }
    let admin = app.client_for("admin@tessera.example").await;
    let r = app.call_as(&admin, "decide_request", &[("id", &id), ("decision", "approve"), ("comment", "Renewed")]).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    let e = &json(app.call_as(&ada, "list_entitlements", &[]).await).await[0];
    assert_eq!(e["days_left"], 45 + 365, "renewed for another year: {e}");
}

#[tokio::test]
async fn a_change_approved_for_the_renewal_waits_for_it_and_then_the_checks_follow() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let staff = app.client_for("staff@tessera.example").await;
    let id = file(&app, &ada, &[("kind", "plan"), ("plan", "business"), ("at_renewal", "on"), ("reason", "From next term")]).await;
    let r = app.call_as(&staff, "decide_request", &[("id", &id), ("decision", "approve"), ("comment", "From the renewal")]).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    let outcome = json(r).await;
    let renewal = json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["renews_on"].clone();
    assert_eq!(outcome["Scheduled"]["on"], renewal, "approved for the renewal date: {outcome}");
    assert_eq!(check(&app, "sso").await["code"], "feature_not_in_plan", "not before the renewal");
    let request = &json(app.call_as(&ada, "list_requests", &[]).await).await[0];
    assert_eq!((request["status"].as_str(), request["applied_at"].is_null()), (Some("approved"), true), "{request}");

    // The periodic sweep applies it once its date has come; the next check sees Business.
    let due = request["applies_at"].as_i64().unwrap_or_else(|| panic!("no date: {request}"));
    server::startup::sweep_once(&app.state, due - 60).await;
    assert_eq!(check(&app, "sso").await["code"], "feature_not_in_plan");
    server::startup::sweep_once(&app.state, due).await;
    assert_eq!(check(&app, "sso").await["code"], "ok");
    assert_eq!(json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["plan_key"], "business");
}

#[tokio::test]
async fn staff_suspend_resume_and_extend_a_trial_with_a_reason_and_checks_follow() {
    let app = spawn_app().await;
    let staff = app.client_for("staff@tessera.example").await;
    let ada = app.client_for("ada@initech.example").await;
    let ent = json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    let r = app.call_as(&staff, "change_entitlement", &[("entitlement", &ent), ("action", "suspend"), ("reason", " ")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a reason is required");
    let r = app.call_as(&staff, "change_entitlement", &[("entitlement", &ent), ("action", "suspend"), ("reason", "Payment overdue")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(check(&app, "dashboards").await["code"], "suspended");
    let e = &json(app.call_as(&ada, "list_entitlements", &[]).await).await[0];
    assert_eq!((e["status"].as_str(), e["status_reason"].as_str()), (Some("suspended"), Some("Payment overdue")));
    let r = app.call_as(&staff, "change_entitlement", &[("entitlement", &ent), ("action", "suspend"), ("reason", "again")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "suspended already");
    let r = app.call_as(&staff, "change_entitlement", &[("entitlement", &ent), ("action", "resume"), ("reason", "Paid")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(check(&app, "dashboards").await["code"], "ok");

    // Globex's trial, ten days left, gets seven more.
    let grace = app.client_for("grace@globex.example").await;
    let g = json(app.call_as(&grace, "list_entitlements", &[]).await).await[0].clone();
    let gid = g["id"].to_string();
    let r = app
        .call_as(
            &staff,
            "change_entitlement",
            &[("entitlement", &gid), ("action", "extend_trial"), ("days", "7"), ("reason", "Evaluation")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    let g2 = json(app.call_as(&grace, "list_entitlements", &[]).await).await[0].clone();
    assert_eq!(g2["days_left"], 17);
    let r = app
        .call_as(&staff, "change_entitlement", &[("entitlement", &ent), ("action", "extend_trial"), ("days", "7"), ("reason", "x")])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "Initech is not on a trial");

    for email in ["ada@initech.example", "sales@tessera.example"] {
        let client = app.client_for(email).await;
        let r = app.call_as(&client, "change_entitlement", &[("entitlement", &ent), ("action", "suspend"), ("reason", "mine")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{email}");
    }
    assert_eq!(check(&app, "dashboards").await["code"], "ok");
}

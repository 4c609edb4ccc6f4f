//! Customer self-service through the server functions the portal calls: seats,
//! invitations, instances, usage, renewals and change requests; and every one of them
//! refused to other tenants and to roles that must not call it.

use reqwest::StatusCode;
use serde_json::{json as j, Value};

use crate::helpers::{json, new_client, spawn_app, TestApp};

const KEY: &str = "tsk_demo_acme";

/// Initech's entitlement id, as its admin sees it.
async fn initech_entitlement(app: &TestApp, ada: &reqwest::Client) -> String {
    let list = json(app.call_as(ada, "list_entitlements", &[]).await).await;
    list[0]["id"].as_i64().unwrap_or_default().to_string()
}

async fn check(app: &TestApp, body: Value) -> Value {
    let r = app.client.post(app.url("/api/v1/check")).bearer_auth(KEY).json(&body).send().await.unwrap_or_else(|e| panic!("{e}"));
    json(r).await
}

#[tokio::test]
async fn an_admin_invites_a_user_who_sets_a_password_once_and_gets_the_seat() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let ent = initech_entitlement(&app, &ada).await;
    let r = app
        .call_as(&ada, "invite_user", &[("entitlement", &ent), ("email", "Dee@Initech.example"), ("name", "Dee Dee"), ("seat", "on")])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let invitation = json(r).await;
    assert_eq!((invitation["email"].as_str(), invitation["seated"].as_bool()), (Some("dee@initech.example"), Some(true)));
    let path = invitation["path"].as_str().unwrap_or_default().to_owned();
    let token = path.trim_start_matches("/invite/").to_owned();
    assert!(token.len() >= 40, "a long random token: {path}");

    let seats = json(app.call_as(&ada, "get_seats", &[("entitlement", &ent)]).await).await;
    assert_eq!(seats["seats_used"], 3);
    let dee = seats["members"].as_array().and_then(|m| m.iter().find(|m| m["email"] == "dee@initech.example").cloned()).unwrap_or_default();
    assert_eq!((dee["invited"].as_bool(), dee["seat_since"].is_null()), (Some(true), false));

    // The invitee opens the link in their own browser.
    let browser = new_client();
    let info = json(app.call_as(&browser, "get_invitation", &[("token", &token)]).await).await;
    assert_eq!((info["organisation"].as_str(), info["name"].as_str()), (Some("Initech"), Some("Dee Dee")));
    assert!(info["sso"].is_null(), "without single sign-on, the invitee chooses a password: {info}");
    let r = app.call_as(&browser, "accept_invitation", &[("token", &token), ("password", "short"), ("confirm", "short")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "too short a password");
    let r = app
        .call_as(&browser, "accept_invitation", &[("token", &token), ("password", "a long passphrase"), ("confirm", "another one!!")])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "the two differ");
    let r = app
        .call_as(&browser, "accept_invitation", &[("token", &token), ("password", "a long passphrase"), ("confirm", "a long passphrase")])
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    let me = json(app.call_as(&browser, "whoami", &[]).await).await;
    assert_eq!(me["email"], "dee@initech.example", "signed in by accepting");
    // Used once: the link no longer works, for anyone.
    let r = app
        .call_as(&new_client(), "accept_invitation", &[("token", &token), ("password", "hijacked pass"), ("confirm", "hijacked pass")])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app.call_as(&new_client(), "get_invitation", &[("token", "not-a-token")]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // And the new user passes a check for a seated feature.
    assert_eq!(check(&app, j!({"customer": "initech", "feature": "reports.export", "user": "dee@initech.example"})).await["code"], "ok");
}

#[tokio::test]
async fn inviting_bad_or_taken_emails_gets_a_clear_message() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let ent = initech_entitlement(&app, &ada).await;
    for (email, name, field) in [
        ("grace@globex.example", "Grace", "another organisation"),
        ("bob@initech.example", "Bob", "already"),
        ("not-an-email", "X", "email address"),
        ("new@initech.example", "  ", "name"),
    ] {
        let r = app.call_as(&ada, "invite_user", &[("entitlement", &ent), ("email", email), ("name", name)]).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{email}");
        let body = r.text().await.unwrap_or_default();
        assert!(body.contains(field), "{email}: {body}");
    }
    let seats = json(app.call_as(&ada, "get_seats", &[("entitlement", &ent)]).await).await;
    assert_eq!(seats["members"].as_array().map(Vec::len), Some(3), "nobody was added");
}

#[tokio::test]
async fn a_seat_for_someone_outside_the_organisation_is_refused_with_a_clear_message() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let ent = initech_entitlement(&app, &ada).await;
    for email in ["grace@globex.example", "nobody@initech.example"] {
        let r = app.call_as(&ada, "assign_seat", &[("entitlement", &ent), ("email", email)]).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{email}");
        assert!(r.text().await.unwrap_or_default().contains("No user with this email in the organisation"));
    }
    assert_eq!(json(app.call_as(&ada, "get_seats", &[("entitlement", &ent)]).await).await["seats_used"], 2);
}

#[tokio::test]
async fn removing_a_user_frees_their_seat_and_ends_their_session() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let bob = app.client_for("bob@initech.example").await;
    let ent = initech_entitlement(&app, &ada).await;
    let seats = json(app.call_as(&ada, "get_seats", &[("entitlement", &ent)]).await).await;
    let id_of = |email: &str| {
        seats["members"].as_array().and_then(|m| m.iter().find(|m| m["email"] == email)).map(|m| m["id"].to_string()).unwrap_or_default()
    };
    let r = app.call_as(&ada, "remove_user", &[("entitlement", &ent), ("user", &id_of("ada@initech.example"))]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "not oneself");
    let r = app.call_as(&ada, "remove_user", &[("entitlement", &ent), ("user", &id_of("bob@initech.example"))]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(app.call_as(&ada, "get_seats", &[("entitlement", &ent)]).await).await["seats_used"], 1);
    assert_eq!(json(app.call_as(&bob, "whoami", &[]).await).await, Value::Null, "Bob's session ends");
    assert_eq!(
        check(&app, j!({"customer": "initech", "feature": "reports.export", "user": "bob@initech.example"})).await["code"],
        "no_seat"
    );
}

#[tokio::test]
async fn a_deactivated_instance_frees_its_slot_for_the_next_activation() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let activate = |fp: &'static str| {
        app.client.post(app.url("/api/v1/instances")).bearer_auth(KEY).json(&j!({"customer": "initech", "fingerprint": fp})).send()
    };
    // Two demo servers run; the third slot is taken now.
    let r = activate("host-a").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(activate("host-b").await.unwrap_or_else(|e| panic!("{e}")).status(), StatusCode::CONFLICT);
    let view = json(app.call_as(&ada, "list_instances", &[]).await).await;
    let instances = view["instances"].as_array().cloned().unwrap_or_default();
    assert_eq!(instances.len(), 3);
    assert_eq!(view["caps"][0], j!(["Acme Analytics", 3, 3]));
    let first = instances[0]["id"].to_string();
    let r = app.call_as(&ada, "deactivate_instance", &[("id", &first)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(activate("host-b").await.unwrap_or_else(|e| panic!("{e}")).status(), StatusCode::CREATED, "the slot is free at once");
    let r = app.call_as(&ada, "deactivate_instance", &[("id", &first)]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "already deactivated");
}

#[tokio::test]
async fn usage_shows_each_day_and_what_remains_as_the_api_counts_it() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let report = json(app.call_as(&ada, "get_usage", &[("days", "30")]).await).await;
    let calls = &report["entitlements"][0]["features"][0];
    assert_eq!(calls["key"], "api.calls");
    assert_eq!(calls["days"].as_array().map(Vec::len), Some(30));
    assert!(calls["chart"].as_str().unwrap_or_default().starts_with("<svg"));
    let remaining = calls["remaining"].as_i64();
    let api = check(&app, j!({"customer": "initech", "feature": "api.calls", "user": "ada@initech.example"})).await;
    assert_eq!(api["remaining"].as_i64(), remaining, "the portal and the API agree");
    assert_eq!(calls["period_total"].as_i64().zip(remaining).map(|(t, r)| t + r), Some(10_000));
    let ninety = json(app.call_as(&ada, "get_usage", &[("days", "90")]).await).await;
    assert_eq!(ninety["entitlements"][0]["capacity"].as_array().map(Vec::len), Some(90));
    let r = app.call_as(&ada, "get_usage", &[("days", "7")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_trial_ending_within_thirty_days_is_announced_to_its_organisation_only() {
    let app = spawn_app().await;
    let grace = app.client_for("grace@globex.example").await;
    let notices = json(app.call_as(&grace, "renewal_notices", &[]).await).await;
    assert_eq!((notices[0]["what"].as_str(), notices[0]["days_left"].as_i64()), (Some("Trial ends"), Some(10)));
    let ada = app.client_for("ada@initech.example").await;
    assert_eq!(json(app.call_as(&ada, "renewal_notices", &[]).await).await, j!([]), "Initech renews by itself in 45 days");
}

#[tokio::test]
async fn a_request_shows_what_it_unlocks_then_is_filed_listed_and_withdrawn() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let ent = initech_entitlement(&app, &ada).await;
    let options = json(app.call_as(&ada, "get_change_options", &[("entitlement", &ent)]).await).await;
    let plans: Vec<_> = options["plans"].as_array().map(|p| p.iter().map(|p| p["key"].clone()).collect()).unwrap_or_default();
    assert_eq!(plans, [j!("free"), j!("team"), j!("business"), j!("enterprise")]);

    let preview = json(app.call_as(&ada, "preview_change", &[("entitlement", &ent), ("kind", "plan"), ("plan", "business")]).await).await;
    let gained: Vec<_> = preview["gained"].as_array().map(|g| g.iter().map(|f| f["key"].clone()).collect()).unwrap_or_default();
    assert_eq!(gained, [j!("sso"), j!("audit.log")]);
    assert_eq!(preview["summary"], "Upgrade from Team to Business");
    assert!(preview["limits"].as_array().is_some_and(|l| l.iter().any(|c| c == &j!({"what": "Seats", "from": 10, "to": 50}))));

    for (form, field) in [
        (vec![("kind", "plan"), ("plan", "team"), ("reason", "x")], "already"),
        (vec![("kind", "plan"), ("plan", "platinum"), ("reason", "x")], "no such plan"),
        (vec![("kind", "seats"), ("seats", "0"), ("reason", "x")], "1 to"),
        (vec![("kind", "plan"), ("plan", "business"), ("reason", "  ")], "why"),
        (vec![("kind", "discount"), ("reason", "x")], "Choose"),
    ] {
        let mut form = form;
        form.push(("entitlement", &ent));
        let r = app.call_as(&ada, "file_request", &form).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{form:?}");
        let body = r.text().await.unwrap_or_default();
        assert!(body.contains(field), "{form:?}: {body}");
    }
    assert_eq!(json(app.call_as(&ada, "list_requests", &[]).await).await, j!([]), "nothing half-written");

    let filed = [("entitlement", ent.as_str()), ("kind", "plan"), ("plan", "business"), ("reason", "We need single sign-on")];
    let r = app.call_as(&ada, "file_request", &filed).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let r = app.call_as(&ada, "file_request", &filed).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "the same change pending twice");
    let list = json(app.call_as(&ada, "list_requests", &[]).await).await;
    assert_eq!((list[0]["status"].as_str(), list[0]["target_plan"].as_str()), (Some("pending"), Some("Business")));
    let id = list[0]["id"].to_string();
    assert_eq!(app.call_as(&ada, "withdraw_request", &[("id", &id)]).await.status(), StatusCode::OK);
    assert_eq!(app.call_as(&ada, "withdraw_request", &[("id", &id)]).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(app.call_as(&ada, "list_requests", &[]).await).await[0]["status"], "withdrawn");
    // The plan did not change: requests wait for vendor staff.
    assert_eq!(
        check(&app, j!({"customer": "initech", "feature": "sso", "user": "ada@initech.example"})).await["code"],
        "feature_not_in_plan"
    );
}

/// Every self-service function with arguments naming Initech's things, and whether a
/// vendor admin/staff may call it too.
async fn initech_calls(app: &TestApp) -> Vec<(&'static str, Vec<(&'static str, String)>, bool)> {
    let ada = app.client_for("ada@initech.example").await;
    let ent = initech_entitlement(app, &ada).await;
    // A pending request and an instance of Initech's to aim at.
    let r = app.call_as(&ada, "file_request", &[("entitlement", &ent), ("kind", "seats"), ("seats", "8"), ("reason", "growing")]).await;
    assert!(r.status().is_success() || r.status().is_redirection());
    let request = json(app.call_as(&ada, "list_requests", &[]).await).await[0]["id"].to_string();
    let instance = json(app.call_as(&ada, "list_instances", &[]).await).await["instances"][0]["id"].to_string();
    let r = app.call_as(&ada, "invite_user", &[("entitlement", &ent), ("email", "newbie@initech.example"), ("name", "Newbie")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let seats = json(app.call_as(&ada, "get_seats", &[("entitlement", &ent)]).await).await;
    let id_of = |email: &str| {
        seats["members"].as_array().and_then(|m| m.iter().find(|m| m["email"] == email)).map(|m| m["id"].to_string()).unwrap_or_default()
    };
    let (bob, newbie) = (id_of("bob@initech.example"), id_of("newbie@initech.example"));
    let e = || ("entitlement", ent.clone());
    vec![
        ("get_seats", vec![e()], true),
        ("assign_seat", vec![e(), ("email", "cy@initech.example".into())], true),
        ("free_seat", vec![e(), ("email", "bob@initech.example".into())], true),
        ("invite_user", vec![e(), ("email", "mallory@initech.example".into()), ("name", "Mallory".into())], true),
        ("reissue_invitation", vec![e(), ("user", newbie)], true),
        ("remove_user", vec![e(), ("user", bob)], true),
        ("deactivate_instance", vec![("id", instance)], true),
        ("get_change_options", vec![e()], false),
        ("preview_change", vec![e(), ("kind", "plan".into()), ("plan", "business".into())], false),
        ("file_request", vec![e(), ("kind", "plan".into()), ("plan", "business".into()), ("reason", "mine now".into())], false),
        ("withdraw_request", vec![("id", request)], false),
    ]
}

#[tokio::test]
async fn every_self_service_function_refuses_other_tenants_members_sales_and_visitors() {
    let app = spawn_app().await;
    let calls = initech_calls(&app).await;
    let before =
        json(app.call_as(&app.client_for("ada@initech.example").await, "get_seats", &[("entitlement", &calls[0].1[0].1)]).await).await;
    let anonymous = new_client();
    for email in ["grace@globex.example", "al@umbrella.example", "bob@initech.example", "sales@tessera.example"] {
        let client = app.client_for(email).await;
        for (name, args, _) in &calls {
            let form: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = app.call_as(&client, name, &form).await;
            assert!(
                matches!(r.status(), StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                "{email} calling {name}: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            );
            let r = app.call_as(&anonymous, name, &form).await;
            assert!(matches!(r.status(), StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND), "a visitor calling {name}: {}", r.status());
        }
        // Lists name a customer: another one is refused.
        for name in ["list_requests", "list_instances"] {
            let r = app.call_as(&client, name, &[("customer", "initech")]).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{email} listing {name} of Initech");
        }
        let r = app.call_as(&client, "get_usage", &[("customer", "initech"), ("days", "30")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{email} reading Initech's usage");
    }
    let after =
        json(app.call_as(&app.client_for("ada@initech.example").await, "get_seats", &[("entitlement", &calls[0].1[0].1)]).await).await;
    assert_eq!(before, after, "nothing of Initech's changed");
    let requests = json(app.call_as(&app.client_for("ada@initech.example").await, "list_requests", &[]).await).await;
    assert_eq!((requests.as_array().map(Vec::len), requests[0]["status"].as_str()), (Some(1), Some("pending")));
}

#[tokio::test]
async fn vendor_staff_manage_seats_and_instances_but_file_no_requests_for_customers() {
    let app = spawn_app().await;
    let calls = initech_calls(&app).await;
    let staff = app.client_for("staff@tessera.example").await;
    for (name, args, staff_may) in &calls {
        let form: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app.call_as(&staff, name, &form).await;
        if *staff_may {
            assert!(r.status().is_success(), "staff calling {name}: {} {}", r.status(), r.text().await.unwrap_or_default());
        } else {
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "staff calling {name}");
        }
    }
    let r = app.call_as(&staff, "list_requests", &[("customer", "initech")]).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_tier_comparison_is_built_from_the_catalog() {
    let app = spawn_app().await;
    let sales = app.client_for("sales@tessera.example").await;
    let tiers = json(app.call_as(&sales, "compare_tiers", &[]).await).await;
    assert_eq!(tiers[0]["product"], "Acme Analytics");
    assert_eq!(tiers[0]["plans"], j!(["Free", "Team", "Business", "Enterprise"]));
    let row = |name: &str| tiers[0]["rows"].as_array().and_then(|r| r.iter().find(|r| r[0] == name).cloned()).unwrap_or_default();
    assert_eq!(row("Seats")[1], j!(["1", "10", "50", "500"]));
    assert_eq!(row("Single sign-on")[1], j!(["—", "—", "✓", "✓"]));
    assert_eq!(row("API calls")[1], j!(["1,000 a month", "10,000 a month", "100,000 a month", "1,000,000 a month"]));
    assert_eq!(app.call_as(&new_client(), "compare_tiers", &[]).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sales_switch_the_demo_customer_live_and_reset_it_without_touching_real_customers() {
    let app = spawn_app().await;
    let sales = app.client_for("sales@tessera.example").await;
    let sso = |customer: &'static str, user: &'static str| {
        let app = &app;
        async move { check(app, j!({"customer": customer, "feature": "sso", "user": user})).await["code"].clone() }
    };
    let demo = json(app.call_as(&sales, "get_demo", &[]).await).await;
    assert_eq!(demo["plan"], "Team");
    let answer =
        |d: &Value, key: &str| d["answers"].as_array().and_then(|a| a.iter().find(|x| x["key"] == key).cloned()).unwrap_or_default();
    assert_eq!(answer(&demo, "sso")["code"], "feature_not_in_plan");

    let demo = json(app.call_as(&sales, "switch_demo_plan", &[("plan", "business")]).await).await;
    assert_eq!((demo["plan"].as_str(), answer(&demo, "sso")["allowed"].as_bool()), (Some("Business"), Some(true)));
    assert_eq!(sso("demo", "pat@demo.example").await, "ok", "the enforcement API agrees at once");
    assert_eq!(sso("initech", "ada@initech.example").await, "feature_not_in_plan", "real customers untouched");
    let r = app.call_as(&sales, "switch_demo_plan", &[("plan", "platinum")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let demo = json(app.call_as(&sales, "reset_demo", &[]).await).await;
    assert_eq!(demo["plan"], "Team");
    assert_eq!(sso("demo", "pat@demo.example").await, "feature_not_in_plan");

    for email in ["ada@initech.example", "bob@initech.example", "staff@tessera.example"] {
        let client = app.client_for(email).await;
        for (name, form) in [("get_demo", vec![]), ("switch_demo_plan", vec![("plan", "business")]), ("reset_demo", vec![])] {
            assert_eq!(app.call_as(&client, name, &form).await.status(), StatusCode::FORBIDDEN, "{email} calling {name}");
        }
    }
    assert_eq!(app.call_as(&new_client(), "reset_demo", &[]).await.status(), StatusCode::UNAUTHORIZED);
}

//! The browser boundary tried as an attacker would: requests from another site carrying a
//! signed-in user's cookie, guessed passwords, floods of sign-ins, sessions that outlive
//! their welcome, and the headers every page must carry.

use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::helpers::{audit_head, audit_kinds_since, json, new_client, spawn_app, spawn_app_with, TestApp, PASSWORD};

const ADA: &str = "ada@initech.example";

/// Calls server function `name` from `client` as a browser on another site would.
async fn call_cross_site(app: &TestApp, client: &Client, name: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = client.post(app.url(&format!("/api/{name}"))).header("accept", "application/json").form(form);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap_or_else(|e| panic!("{name}: {e}"))
}

async fn seats_used(app: &TestApp, ada: &Client, entitlement: &str) -> i64 {
    json(app.call_as(ada, "get_seats", &[("entitlement", entitlement)]).await).await["seats_used"].as_i64().unwrap_or(-1)
}

#[tokio::test]
async fn a_server_function_called_from_another_site_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let ada = app.client_for(ADA).await;
    let entitlement = json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    let before = seats_used(&app, &ada, &entitlement).await;
    let head = audit_head(&app).await;
    let invite = [("entitlement", entitlement.as_str()), ("email", "mallory@initech.example"), ("name", "Mallory"), ("seat", "on")];
    for headers in [
        vec![("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")],
        vec![("origin", "https://evil.example")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "null")],
    ] {
        let r = call_cross_site(&app, &ada, "invite_user", &invite, &headers).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{headers:?}");
        let body = json(r).await;
        assert_eq!(body["code"], "cross_site", "{headers:?}");
        assert!(body["message"].as_str().unwrap_or_default().contains("another site"), "{body}");
    }
    assert_eq!(seats_used(&app, &ada, &entitlement).await, before);
    assert_eq!(audit_kinds_since(&app, head).await, Vec::<String>::new(), "nothing was recorded");

    // The site's own pages (and clients that are no browser) go through.
    let own = app.url("");
    let r = call_cross_site(&app, &ada, "invite_user", &invite, &[("origin", own.as_str()), ("sec-fetch-site", "same-origin")]).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    assert_eq!(audit_kinds_since(&app, head).await, ["user.invited", "seat.assigned"]);
}

#[tokio::test]
async fn a_sign_in_from_another_site_sets_no_session() {
    let app = spawn_app().await;
    let browser = new_client();
    let r = call_cross_site(
        &app,
        &browser,
        "sign_in",
        &[("email", ADA), ("password", PASSWORD)],
        &[("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get("set-cookie").is_none(), "no session cookie");
    assert_eq!(json(app.call_as(&browser, "whoami", &[]).await).await, Value::Null);
}

#[tokio::test]
async fn pages_carry_a_csp_whose_nonce_their_scripts_hold_and_the_other_security_headers() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/signin")).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::OK);
    let header = |name: &str| r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let csp = header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("object-src 'none'") && csp.contains("base-uri 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"), "{csp}");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("referrer-policy"), "same-origin");
    assert_eq!(header("strict-transport-security"), "", "no HSTS over plain http");
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).unwrap_or_default().to_owned();
    assert!(nonce.len() >= 22, "a nonce of 128 bits: {csp}");
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the page's own scripts carry the nonce");
    let tags: Vec<&str> = html.split("<script").skip(1).map(|rest| rest.split('>').next().unwrap_or_default()).collect();
    assert!(!tags.is_empty());
    for tag in tags {
        assert!(tag.contains(&format!("nonce=\"{nonce}\"")), "every script carries the nonce: <script{tag}>");
    }

    let again = app.client.get(app.url("/signin")).send().await.unwrap_or_else(|e| panic!("{e}"));
    let other = again.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_ne!(other, csp, "a fresh nonce for every page");
}

#[tokio::test]
async fn over_https_the_cookie_is_host_only_and_secure_and_pages_ask_for_hsts() {
    let app = spawn_app_with(|c| c.public_url = Some("https://licences.example.com".into())).await;
    let r = app.call("sign_in", &[("email", ADA), ("password", PASSWORD)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(cookie.starts_with("__Host-tessera_session="), "{cookie}");
    assert!(cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"), "{cookie}");
    let page = app.client.get(app.url("/signin")).send().await.unwrap_or_else(|e| panic!("{e}"));
    let hsts = page.headers().get("strict-transport-security").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(hsts.starts_with("max-age=31536000"), "{hsts}");
    // A browser on the public origin is the site's own; any other is not.
    let ada = new_client();
    let own =
        call_cross_site(&app, &ada, "sign_in", &[("email", ADA), ("password", PASSWORD)], &[("origin", "https://licences.example.com")])
            .await;
    assert_eq!(own.status(), StatusCode::OK);
    let other =
        call_cross_site(&app, &ada, "sign_in", &[("email", ADA), ("password", PASSWORD)], &[("origin", "http://licences.example.com")])
            .await;
    assert_eq!(other.status(), StatusCode::FORBIDDEN, "another scheme is another origin");
}

/// Signs in as `email` with `password` from a fresh browser.
async fn attempt(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.call_as(&new_client(), "sign_in", &[("email", email), ("password", password)]).await
}

#[tokio::test]
async fn guessing_a_password_slows_down_then_locks_the_account_and_the_owner_is_told() {
    let app = spawn_app().await;
    let head = audit_head(&app).await;
    for _ in 0..3 {
        assert_eq!(attempt(&app, ADA, "guess").await.status(), StatusCode::UNAUTHORIZED);
    }
    // The fourth comes too soon: answered at once, with when to come back.
    let r = attempt(&app, ADA, "guess").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(json(r).await["SignInHeld"]["locked"], false);
    // Even the right password waits its turn: the guesser cannot tell. (Its wait counts in
    // whole seconds from the last failure: that failure is put at this second, four in a
    // row, so that the wait of two seconds cannot have passed on a slow machine.)
    app.sql(
        "UPDATE sign_in_failures SET failures = 4, last_failure_at = $1 WHERE subject = 'account:ada@initech.example'",
        &[app::store::now()],
    )
    .await;
    assert_eq!(attempt(&app, ADA, PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
    let kinds = audit_kinds_since(&app, head).await;
    assert_eq!(kinds, ["user.sign_in_failed"; 3], "each failure is audited, a held attempt is not a failure");

    // Nine failures in a row, the last a minute ago: the tenth locks the account.
    let now = app::store::now();
    app.sql("UPDATE sign_in_failures SET failures = 9, last_failure_at = $1 WHERE subject = 'account:ada@initech.example'", &[now - 61])
        .await;
    let r = attempt(&app, ADA, "guess-10").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!(retry > 14 * 60, "locked for 15 minutes: {retry}");
    let body = json(r).await;
    assert_eq!(body["SignInHeld"]["locked"], true, "{body}");
    let r = attempt(&app, ADA, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "locked against the right password too");
    assert_eq!(json(r).await["SignInHeld"]["locked"], true);
    let ada_log = app.state.store.list_audit_events(None, 3).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ada_log[0].kind, "user.sign_in_locked");
    assert_eq!(ada_log[1].kind, "user.sign_in_failed");
    let initech = app.state.store.find_customer_by_slug("initech").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ada_log[0].customer_id, Some(initech.id), "Initech's admins see it in their audit log");

    // Another account from elsewhere is not held by Ada's lock.
    let bob = attempt(&app, "bob@initech.example", PASSWORD).await;
    assert_eq!(bob.status(), StatusCode::OK);

    // When the lock has run out, the right password works and the count starts again.
    app.sql("UPDATE sign_in_failures SET locked_until = $1 WHERE subject = 'account:ada@initech.example'", &[now - 1]).await;
    assert_eq!(attempt(&app, ADA, PASSWORD).await.status(), StatusCode::OK);
    let left = app.sql_strings("SELECT subject FROM sign_in_failures WHERE subject = 'account:ada@initech.example'").await;
    assert_eq!(left, Vec::<String>::new(), "a successful sign-in forgets the failures");
}

#[tokio::test]
async fn unknown_emails_are_held_and_locked_like_real_ones() {
    let app = spawn_app().await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(attempt(&app, "nobody@initech.example", "guess").await.status());
    }
    assert_eq!(statuses, [StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS]);
}

#[tokio::test]
async fn a_flood_of_sign_ins_is_answered_busy_beyond_a_bounded_queue_and_never_fails() {
    let app = spawn_app().await;
    // Many accounts at once, as a credential-stuffing run would try them.
    let tries: Vec<_> = (0..80)
        .map(|i| {
            let (client, url) = (new_client(), app.url("/api/sign_in"));
            tokio::spawn(async move {
                let email = format!("user{i}@flood.example");
                let r = client
                    .post(url)
                    .header("accept", "application/json")
                    .form(&[("email", email.as_str()), ("password", "guess")])
                    .send()
                    .await;
                let r = r.unwrap_or_else(|e| panic!("{e}"));
                let (status, headers) = (r.status(), r.headers().clone());
                let body = r.text().await.unwrap_or_default();
                (status, headers, body)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tries {
        answers.push(t.await.unwrap_or_else(|e| panic!("{e}")));
    }
    let seen: Vec<StatusCode> = answers.iter().map(|(s, ..)| *s).collect();
    assert!(seen.iter().all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS), "{seen:?}");
    let turned_away: Vec<_> = answers.iter().filter(|(s, ..)| *s == StatusCode::TOO_MANY_REQUESTS).collect();
    assert!(!turned_away.is_empty(), "beyond the queue, the flood is turned away: {seen:?}");
    for (_, headers, body) in turned_away {
        assert!(headers.get("retry-after").is_some(), "a turned-away sign-in says when to try again");
        assert!(headers.get("set-cookie").is_none(), "a turned-away sign-in starts no session");
        // Busy (the hashing budget spent), or held back (this address failed too often).
        assert!(body.contains("Busy") || body.contains("SignInHeld"), "the answer is the sign-in's own error: {body}");
    }
    // The enforcement API answers meanwhile and after.
    let r = app
        .client
        .post(app.url("/api/v1/check"))
        .bearer_auth("tsk_demo_acme")
        .json(&serde_json::json!({"customer": "initech", "feature": "reports.export", "user": ADA}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::OK);
}

/// Moves the times of every live sign-in of Ada's by `started` and `seen` seconds.
async fn age_sign_ins(app: &TestApp, started: i64, seen: i64) {
    app.sql(
        "UPDATE sign_ins SET started_at = started_at - $1, last_seen_at = last_seen_at - $2
         WHERE user_id = (SELECT id FROM users WHERE email = 'ada@initech.example')",
        &[started, seen],
    )
    .await;
}

async fn who(app: &TestApp, client: &Client) -> Value {
    json(app.call_as(client, "whoami", &[]).await).await["email"].clone()
}

#[tokio::test]
async fn a_sign_in_ends_after_the_idle_timeout_unless_used_and_after_its_lifetime_in_any_case() {
    let app = spawn_app().await;
    let ada = app.client_for(ADA).await;
    // 55 minutes idle of the hour allowed: still signed in, and using it starts the hour again.
    age_sign_ins(&app, 55 * 60, 55 * 60).await;
    assert_eq!(who(&app, &ada).await, ADA);
    age_sign_ins(&app, 10 * 60, 10 * 60).await;
    assert_eq!(who(&app, &ada).await, ADA, "65 minutes after sign-in, 10 after the last use");
    // An hour without use ends it.
    age_sign_ins(&app, 61 * 60, 61 * 60).await;
    assert_eq!(who(&app, &ada).await, Value::Null);

    // However active, a week after sign-in it ends.
    let ada = app.client_for(ADA).await;
    age_sign_ins(&app, 7 * 86_400 + 1, 0).await;
    assert_eq!(who(&app, &ada).await, Value::Null);
}

#[tokio::test]
async fn a_user_sees_their_sign_ins_and_signs_out_everywhere_else_or_everywhere() {
    let app = spawn_app().await;
    let laptop = app.client_for(ADA).await;
    let phone = app.client_for(ADA).await;
    let tablet = app.client_for(ADA).await;
    let listed = json(app.call_as(&laptop, "list_sign_ins", &[]).await).await;
    let listed = listed.as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed.iter().filter(|s| s["current"] == true).count(), 1);
    assert_eq!(listed.iter().find(|s| s["current"] == true).map(|s| s["address"].clone()), Some(Value::from("127.0.0.1")));

    let head = audit_head(&app).await;
    assert_eq!(json(app.call_as(&laptop, "sign_out_everywhere", &[]).await).await, 2);
    assert_eq!(who(&app, &laptop).await, ADA, "this browser stays signed in");
    assert_eq!(who(&app, &phone).await, Value::Null);
    assert_eq!(who(&app, &tablet).await, Value::Null);
    assert_eq!(json(app.call_as(&laptop, "list_sign_ins", &[]).await).await.as_array().map(Vec::len), Some(1));

    let phone = app.client_for(ADA).await;
    let r = app.call_as(&laptop, "sign_out_everywhere", &[("everywhere", "1")]).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    assert_eq!(who(&app, &laptop).await, Value::Null);
    assert_eq!(who(&app, &phone).await, Value::Null);
    let kinds = audit_kinds_since(&app, head).await;
    assert_eq!(kinds, ["user.signed_out_everywhere", "user.signed_in", "user.signed_out_everywhere"]);
}

#[tokio::test]
async fn signing_out_ends_the_sign_in_for_good_and_is_audited() {
    let app = spawn_app().await;
    let ada = app.client_for(ADA).await;
    // The cookie as it was, kept by someone who copied it.
    let copied = new_client();
    let cookie = {
        let r = app.call_as(&copied, "sign_in", &[("email", ADA), ("password", PASSWORD)]).await;
        r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().split(';').next().unwrap_or_default().to_owned()
    };
    let head = audit_head(&app).await;
    let r = app.call_as(&copied, "sign_out", &[]).await;
    assert!(r.status().is_success() || r.status().is_redirection());
    assert_eq!(audit_kinds_since(&app, head).await, ["user.signed_out"]);
    let replayed = app
        .client
        .post(app.url("/api/whoami"))
        .header("cookie", &cookie)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json(replayed).await, Value::Null, "the copied cookie signs no one in");
    assert_eq!(who(&app, &ada).await, ADA, "the other browser is untouched");
}

#[tokio::test]
async fn a_removed_user_re_invited_does_not_get_their_old_session_back() {
    let app = spawn_app().await;
    let ada = app.client_for(ADA).await;
    let bob = app.client_for("bob@initech.example").await;
    let entitlement = json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    let seats = json(app.call_as(&ada, "get_seats", &[("entitlement", &entitlement)]).await).await;
    let bob_id = seats["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["email"] == "bob@initech.example"))
        .map(|m| m["id"].to_string())
        .unwrap_or_default();
    let r = app.call_as(&ada, "remove_user", &[("entitlement", &entitlement), ("user", &bob_id)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .call_as(
            &ada,
            "invite_user",
            &[("entitlement", &entitlement), ("email", "bob@initech.example"), ("name", "Bob"), ("admin", "on"), ("seat", "on")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    assert_eq!(who(&app, &bob).await, Value::Null, "no way back in but the new invitation");
    let r = app.call_as(&bob, "list_pending_requests", &[]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn opening_a_customer_portal_by_a_link_records_nothing_and_the_button_records_it() {
    let app = spawn_app().await;
    let staff = app.client_for("staff@tessera.example").await;
    let head = audit_head(&app).await;
    let page = staff.get(app.url("/customers/initech/portal")).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("Open the customer"), "asks before opening");
    assert!(!html.contains("You are viewing"), "shows nothing yet");
    assert_eq!(audit_kinds_since(&app, head).await, Vec::<String>::new(), "a GET writes nothing");

    let r = app.call_as(&staff, "open_customer_portal", &[("customer", "initech")]).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    assert_eq!(audit_kinds_since(&app, head).await, ["customer.viewed_as"]);
    let html =
        staff.get(app.url("/customers/initech/portal")).send().await.unwrap_or_else(|e| panic!("{e}")).text().await.unwrap_or_default();
    assert!(html.contains("You are viewing Initech"), "opened");
    let r = call_cross_site(&app, &staff, "open_customer_portal", &[("customer", "initech")], &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "nor from another site");
}

#[tokio::test]
async fn a_body_too_large_for_the_api_is_413_with_a_json_problem() {
    let app = spawn_app().await;
    let big = format!("{{\"events\": [{{\"event_id\": \"{}\"}}]}}", "x".repeat(3 << 20));
    let r = app
        .client
        .post(app.url("/api/v1/usage"))
        .bearer_auth("tsk_demo_acme")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json(r).await["code"], "payload_too_large");
}

#[tokio::test]
async fn signing_keys_are_sealed_at_rest_and_a_wrong_secret_stops_the_server_with_a_clear_message() {
    let app = spawn_app().await;
    let stored = app.sql_strings("SELECT secret_key FROM signing_keys").await;
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|s| s.starts_with("sealed:")), "{stored:?}");

    let mut config = server::config::Config::from_env_and_args(std::iter::empty()).unwrap_or_else(|e| panic!("{e}"));
    config.database_url = app.database_url();
    config.seed_demo = false;
    config.secret = Some(server::config::SecretText("0123abcd".repeat(8)));
    let refused = server::startup::Application::build(config).await.err().map(|e| format!("{e:#}")).unwrap_or_default();
    assert!(refused.contains("is not the one this database was set up with"), "{refused}");
    assert!(!format!("{:?}", server::config::SecretText("0123abcd".repeat(8))).contains("0123abcd"), "no secret in Debug output");
}

#[tokio::test]
async fn a_user_changes_their_password_and_their_other_sign_ins_end() {
    let app = spawn_app().await;
    let laptop = app.client_for(ADA).await;
    let phone = app.client_for(ADA).await;
    let change = |current: &'static str, password: &'static str, confirm: &'static str| {
        let laptop = laptop.clone();
        let app = &app;
        async move { app.call_as(&laptop, "change_password", &[("current", current), ("password", password), ("confirm", confirm)]).await }
    };
    let field = |v: Value| v["Invalid"]["field"].as_str().unwrap_or_default().to_owned();
    assert_eq!(field(json(change("not it", "a long new passphrase", "a long new passphrase").await).await), "current");
    assert_eq!(field(json(change(PASSWORD, "password123", "password123").await).await), "password", "a common password");
    assert_eq!(field(json(change(PASSWORD, "ada@initech.example", "ada@initech.example").await).await), "password");
    assert_eq!(field(json(change(PASSWORD, "a long new passphrase", "a long new passphrase!").await).await), "confirm");
    assert_eq!(who(&app, &phone).await, ADA, "nothing changed yet");

    let r = change(PASSWORD, "a long new passphrase", "a long new passphrase").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await, 1, "the phone's sign-in ended");
    assert_eq!(who(&app, &laptop).await, ADA, "this browser stays signed in");
    assert_eq!(who(&app, &phone).await, Value::Null);
    assert_eq!(attempt(&app, ADA, PASSWORD).await.status(), StatusCode::UNAUTHORIZED, "the old password is gone");
    assert_eq!(attempt(&app, ADA, "a long new passphrase").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_admin_makes_a_reset_link_that_works_once_and_ends_the_old_sign_ins() {
    let app = spawn_app().await;
    let ada = app.client_for(ADA).await;
    let bob = app.client_for("bob@initech.example").await;
    let entitlement = json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    let seats = json(app.call_as(&ada, "get_seats", &[("entitlement", &entitlement)]).await).await;
    let id_of = |email: &str| {
        seats["members"].as_array().and_then(|m| m.iter().find(|m| m["email"] == email)).map(|m| m["id"].to_string()).unwrap_or_default()
    };
    // Another organisation's admin cannot make one for Bob.
    let grace = app.client_for("grace@globex.example").await;
    let r = app.call_as(&grace, "issue_password_reset", &[("entitlement", &entitlement), ("user", &id_of("bob@initech.example"))]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let r = app.call_as(&ada, "issue_password_reset", &[("entitlement", &entitlement), ("user", &id_of("bob@initech.example"))]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let link = json(r).await;
    let token = link["path"].as_str().unwrap_or_default().trim_start_matches("/invite/").to_owned();
    assert_eq!(who(&app, &bob).await, "bob@initech.example", "nothing ends until the link is used");
    let info = json(app.call("get_invitation", &[("token", &token)]).await).await;
    assert_eq!(info["reset"], true);

    let stranger = new_client();
    let new_password = "correct horse battery staple";
    let form = [("token", token.as_str()), ("password", new_password), ("confirm", new_password)];
    let r = app
        .call_as(&stranger, "accept_invitation", &[("token", token.as_str()), ("password", "1234567890"), ("confirm", "1234567890")])
        .await;
    assert_eq!(json(r).await["Invalid"]["field"], "password", "a common password is refused here too");
    let r = app.call_as(&stranger, "accept_invitation", &form).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    assert_eq!(who(&app, &stranger).await, "bob@initech.example", "signed in with the new password");
    assert_eq!(who(&app, &bob).await, Value::Null, "the old sign-in ended");
    assert_eq!(attempt(&app, "bob@initech.example", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    let again = app.call_as(&new_client(), "accept_invitation", &form).await;
    assert_eq!(json(again).await["Invalid"]["field"], "token", "a link works once");
    // An invited user without a password gets a new invitation, not a reset link.
    let r = app.call_as(&ada, "invite_user", &[("entitlement", &entitlement), ("email", "new@initech.example"), ("name", "New")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let seats = json(app.call_as(&ada, "get_seats", &[("entitlement", &entitlement)]).await).await;
    let new_id =
        seats["members"].as_array().and_then(|m| m.iter().find(|m| m["email"] == "new@initech.example")).map(|m| m["id"].to_string());
    let r = app.call_as(&ada, "issue_password_reset", &[("entitlement", &entitlement), ("user", &new_id.unwrap_or_default())]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn usage_dated_too_far_back_or_before_the_entitlement_is_422_and_totals_never_overflow() {
    let app = spawn_app().await;
    let usage = |customer: &'static str, at: Option<String>, quantity: i64, id: String| {
        let app = &app;
        async move {
            let mut event = serde_json::json!({"event_id": id, "customer": customer, "feature": "api.calls", "quantity": quantity});
            if let Some(at) = at {
                event["at"] = Value::from(at);
            }
            let r = app
                .client
                .post(app.url("/api/v1/usage"))
                .bearer_auth("tsk_demo_acme")
                .json(&serde_json::json!({ "events": [event] }))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            (r.status(), json(r).await)
        }
    };
    let days_ago = |d: i64| chrono::DateTime::from_timestamp(app::store::now() - d * 86_400, 0).map(|t| t.to_rfc3339());
    let (status, body) = usage("initech", days_ago(36), 1, "old".into()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("usage_too_old")), "{body}");
    let (status, body) = usage("initech", Some("0001-01-01T00:00:00Z".into()), 1, "year-one".into()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("usage_too_old")), "{body}");
    // Demo Co's entitlement began when the demo was seeded, moments ago.
    let (status, body) = usage("demo", days_ago(2), 1, "early".into()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("usage_before_entitlement")), "{body}");
    let (status, _) = usage("initech", days_ago(34), 1, "late-but-fine".into()).await;
    assert_eq!(status, StatusCode::OK);

    // Today's total a hair below the largest number the database holds, read into memory
    // (a seat change reloads Initech); the largest quantities, again and again, stop there.
    let (status, _) = usage("initech", None, 1, "today".into()).await;
    assert_eq!(status, StatusCode::OK);
    app.sql(
        "UPDATE usage_daily SET quantity = 9223372036854775000 WHERE day = (SELECT MAX(day) FROM usage_daily)
         AND entitlement_id = (SELECT e.id FROM entitlements e JOIN customers c ON c.id = e.customer_id WHERE c.slug = 'initech')",
        &[],
    )
    .await;
    let ada = app.client_for(ADA).await;
    let entitlement = json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    let r = app.call_as(&ada, "assign_seat", &[("entitlement", entitlement.as_str()), ("email", "cy@initech.example")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    for i in 0..3 {
        let (status, body) = usage("initech", None, 1_000_000_000_000, format!("big-{i}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let totals = app.sql_strings("SELECT CAST(MAX(quantity) AS TEXT) FROM usage_daily").await;
    assert_eq!(totals, [i64::MAX.to_string()]);
    let check = app
        .client
        .post(app.url("/api/v1/check"))
        .bearer_auth("tsk_demo_acme")
        .json(&serde_json::json!({"customer": "initech", "feature": "api.calls", "user": ADA}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(check.status(), StatusCode::OK);
    assert_eq!(json(check).await["code"], "quota_exceeded");
}

#[tokio::test]
async fn the_bundle_is_served_by_content_named_files_precompressed_and_cached_for_a_year_while_pages_are_never_kept() {
    let site = std::env::temp_dir().join(format!("tessera-site-{}", std::process::id()));
    let pkg = site.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap_or_else(|e| panic!("{e}"));
    let hash = "0123456789abcdef";
    for (name, body) in [
        (format!("tessera.{hash}.js"), "export default function () {}"),
        (format!("tessera.{hash}.js.br"), "brotli bytes"),
        (format!("tessera.{hash}.js.gz"), "gzip bytes"),
        (format!("tessera.{hash}.css"), "body {}"),
    ] {
        std::fs::write(pkg.join(name), body).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(site.join("hash.txt"), format!("js: {hash}\nwasm: {hash}\ncss: {hash}\n")).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_app_with(|c| c.site_root = site.display().to_string()).await;

    let page = app.client.get(app.url("/signin")).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let html = page.text().await.unwrap_or_default();
    for file in [format!("/pkg/tessera.{hash}.js"), format!("/pkg/tessera.{hash}.wasm"), format!("/pkg/tessera.{hash}.css")] {
        assert!(html.contains(&file), "the page asks for {file}");
    }

    let get = |encoding: &'static str| {
        let request = app.client.get(app.url(&format!("/pkg/tessera.{hash}.js"))).header("accept-encoding", encoding);
        async move { request.send().await.unwrap_or_else(|e| panic!("{e}")) }
    };
    for (accepts, encoding, body) in [
        ("br, gzip", Some("br"), "brotli bytes"),
        ("gzip", Some("gzip"), "gzip bytes"),
        ("identity", None, "export default function () {}"),
    ] {
        let r = get(accepts).await;
        assert_eq!(r.status(), StatusCode::OK);
        let header = |name: &str| r.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(header("cache-control").as_deref(), Some("public, max-age=31536000, immutable"));
        assert_eq!(header("content-encoding").as_deref(), encoding, "{accepts}");
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(r.bytes().await.unwrap_or_default().as_ref(), body.as_bytes());
    }
    let missing = app.client.get(app.url("/pkg/tessera.ffffffffffffffff.js")).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"), "a miss is never kept");
    drop(app);
    let _ = std::fs::remove_dir_all(&site);
}

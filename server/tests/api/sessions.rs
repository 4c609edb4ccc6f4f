//! Sign-in, sessions and sign-out over HTTP.

use reqwest::StatusCode;

use crate::helpers::{json, new_client, spawn_app, PASSWORD};

#[tokio::test]
async fn sign_in_with_the_right_password_starts_a_session() {
    let app = spawn_app().await;
    let r = app.call("sign_in", &[("email", "Ada@Initech.example "), ("password", PASSWORD)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(cookie.starts_with("tessera_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http on loopback: {cookie}");
    let user = json(r).await;
    assert_eq!(user["email"], "ada@initech.example");
    assert_eq!(user["role"], "customer_admin");
    assert_eq!(user["customer"]["slug"], "initech");

    let me = json(app.call("whoami", &[]).await).await;
    assert_eq!(me["email"], "ada@initech.example");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    let wrong = app.call("sign_in", &[("email", "ada@initech.example"), ("password", "nope")]).await;
    let unknown = app.call("sign_in", &[("email", "nobody@initech.example"), ("password", "nope")]).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(wrong).await, json(unknown).await);
    assert_eq!(json(app.call("whoami", &[]).await).await, serde_json::Value::Null);
}

#[tokio::test]
async fn empty_and_malformed_fields_are_reported_on_their_field() {
    let app = spawn_app().await;
    let r = app.call("sign_in", &[("email", ""), ("password", "x")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["Invalid"]["field"], "email");
    let r = app.call("sign_in", &[("email", "ada@initech.example"), ("password", "")]).await;
    assert_eq!(json(r).await["Invalid"]["field"], "password");
}

#[tokio::test]
async fn malformed_requests_get_an_error_response_not_a_crash() {
    let app = spawn_app().await;
    let r = app.call("sign_in", &[("password", "x")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .client
        .post(app.url("/api/sign_in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', 0x00])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.status().is_client_error(), "{}", r.status());
    let r = app.call("list_entitlements", &[("customer", "initech"), ("customer", "globex")]).await;
    assert!(r.status().is_client_error(), "{}", r.status());
    // The server is still there.
    assert_eq!(app.client.get(app.url("/health")).send().await.map(|r| r.status()).ok(), Some(StatusCode::OK));
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in_and_the_old_one_stops_working() {
    let app = spawn_app().await;
    let first = app.call("sign_in", &[("email", "ada@initech.example"), ("password", PASSWORD)]).await;
    let first_cookie = session_cookie(&first);
    let second = app.call("sign_in", &[("email", "bob@initech.example"), ("password", PASSWORD)]).await;
    let second_cookie = session_cookie(&second);
    assert_ne!(first_cookie, second_cookie);

    let stale = new_client();
    let r = stale
        .post(app.url("/api/whoami"))
        .header("cookie", format!("tessera_session={first_cookie}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json(r).await, serde_json::Value::Null);
    assert_eq!(json(app.call("whoami", &[]).await).await["email"], "bob@initech.example");
}

#[tokio::test]
async fn sign_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    let r = app.call("sign_in", &[("email", "ada@initech.example"), ("password", PASSWORD)]).await;
    let cookie = session_cookie(&r);
    let r = app.call("sign_out", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Replaying the old cookie from another client finds no session.
    let other = new_client();
    let r = other
        .post(app.url("/api/list_entitlements"))
        .header("cookie", format!("tessera_session={cookie}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sign_in_audits_who_signed_in() {
    let app = spawn_app().await;
    let client = app.client_for("grace@globex.example").await;
    drop(client);
    let store = &app.state.store;
    let events = store.list_audit_events(None, 10).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(events.iter().any(|e| e.kind == "user.signed_in" && e.actor == "grace@globex.example"));
    assert_eq!(store.verify_audit_chain().await.ok(), Some(None));
}

fn session_cookie(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("tessera_session=").and_then(|rest| rest.split(';').next()))
        .unwrap_or_else(|| panic!("no session cookie"))
        .to_owned()
}

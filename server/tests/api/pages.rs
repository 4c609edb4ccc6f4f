//! Server-rendered pages: redirects for visitors, content for the signed in.

use reqwest::StatusCode;

use crate::helpers::{new_client, spawn_app};

#[tokio::test]
async fn a_visitor_asking_for_a_portal_page_is_redirected_to_sign_in_with_the_way_back() {
    let app = spawn_app().await;
    let r = new_client().get(app.url("/entitlements")).header("accept", "text/html").send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers().get("location").and_then(|v| v.to_str().ok()), Some("/signin?next=/entitlements"));
}

#[tokio::test]
async fn the_entitlements_page_is_rendered_on_the_server_for_a_signed_in_admin() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let r = ada.get(app.url("/entitlements")).header("accept", "text/html").send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains("Acme Analytics"), "{html}");
    assert!(html.contains("2 of 10 used"));
    assert!(!html.contains("Globex"));
}

#[tokio::test]
async fn the_front_door_sends_each_user_home() {
    let app = spawn_app().await;
    let get = |c: reqwest::Client, path: &'static str| {
        let url = app.url(path);
        async move {
            let r = c.get(url).header("accept", "text/html").send().await.unwrap_or_else(|e| panic!("{e}"));
            r.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned)
        }
    };
    assert_eq!(get(new_client(), "/").await.as_deref(), Some("/signin"));
    assert_eq!(get(app.client_for("ada@initech.example").await, "/").await.as_deref(), Some("/entitlements"));
    assert_eq!(get(app.client_for("staff@tessera.example").await, "/").await.as_deref(), Some("/dashboard"));
    assert_eq!(get(app.client_for("sales@tessera.example").await, "/").await.as_deref(), Some("/demo"), "sales land on the demo");
}

#[tokio::test]
async fn unknown_addresses_are_404_and_health_answers() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/no/such/page")).header("accept", "text/html").send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app.client.get(app.url("/health")).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.text().await.ok().as_deref(), Some("ok"));
}

#[tokio::test]
async fn an_invitation_works_before_the_page_is_interactive() {
    let app = spawn_app().await;
    let staff = app.client_for("staff@tessera.example").await;
    let form = [("slug", "hooli"), ("name", "Hooli"), ("admin_email", "gavin@hooli.example"), ("admin_name", "Gavin"), ("reason", "New")];
    let created = crate::helpers::json(app.call_as(&staff, "create_customer", &form).await).await;
    let path = created["path"].as_str().unwrap_or_default().to_owned();
    let token = path.trim_start_matches("/invite/").to_owned();
    let html = app
        .client
        .get(app.url(&path))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    // The server-rendered form carries the token, so a submit before the script runs works.
    assert!(html.contains(&format!("name=\"token\" value=\"{token}\"")), "{html}");
    let gavin = crate::helpers::new_client();
    let r = gavin
        .post(app.url("/api/accept_invitation"))
        .header("referer", app.url(&path))
        .header("accept", "text/html")
        .form(&[("token", token.as_str()), ("password", "hooli hooli hooli"), ("confirm", "hooli hooli hooli")])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(r.headers().get("location").and_then(|l| l.to_str().ok()), Some("/entitlements"));
    let mine = crate::helpers::json(app.call_as(&gavin, "list_entitlements", &[]).await).await;
    assert_eq!(mine, serde_json::json!([]), "signed in as Gavin, whose Hooli has no entitlement yet");
}

#[tokio::test]
async fn every_answer_carries_a_request_id_a_proxys_own_is_kept_and_a_forged_one_is_replaced() {
    let app = spawn_app().await;
    let id_of = |r: &reqwest::Response| r.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let client = new_client();
    let page = client.get(app.url("/signin")).header("accept", "text/html").send().await.unwrap_or_else(|e| panic!("{e}"));
    let refused = client.post(app.url("/api/v1/check")).json(&serde_json::json!({})).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let (a, b) = (id_of(&page), id_of(&refused));
    assert_eq!((a.len(), b.len()), (36, 36), "a page and an API refusal each get a UUID: {a:?} {b:?}");
    assert_ne!(a, b, "each request its own id");
    let kept = client.get(app.url("/health")).header("x-request-id", "lb-1:42").send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id_of(&kept), "lb-1:42");
    let forged = client.get(app.url("/health")).header("x-request-id", "x\" level=error").send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id_of(&forged).len(), 36, "an id with quotes or spaces is replaced");
}

/// Posts `form` to server function `name` as a browser's plain form does (asking for a
/// page back), from the page at `from`.
async fn post_form(
    app: &crate::helpers::TestApp,
    client: &reqwest::Client,
    name: &str,
    from: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(app.url(&format!("/api/{name}")))
        .header("accept", "text/html,application/xhtml+xml")
        .header("referer", app.url(from))
        .form(form)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

async fn page(app: &crate::helpers::TestApp, client: &reqwest::Client, path: &str) -> String {
    let r = client.get(app.url(path)).header("accept", "text/html").send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.unwrap_or_default()
}

#[tokio::test]
async fn a_plain_form_comes_back_to_its_page_with_its_answer_shown_once() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let mine = crate::helpers::json(app.call_as(&ada, "list_entitlements", &[]).await).await;
    let id = mine[0]["id"].as_i64().unwrap_or_else(|| panic!("{mine}")).to_string();
    let seats = format!("/entitlements/{id}/seats");

    // Refused: back to the page, the error in the session rather than in the address.
    let bad = [("entitlement", id.as_str()), ("email", "not an address"), ("name", "Mallory Typed"), ("seat", "on")];
    let expected = crate::helpers::json(app.call_as(&ada, "invite_user", &bad).await).await;
    let message = expected["Invalid"]["message"].as_str().unwrap_or_else(|| panic!("{expected}")).to_owned();
    let r = post_form(&app, &ada, "invite_user", &seats, &bad).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers().get("location").and_then(|l| l.to_str().ok()), Some(app.url(&seats).as_str()));
    let html = page(&app, &ada, &seats).await;
    assert!(html.contains(&message), "the error is on the page: {html}");
    assert!(html.contains("id=\"form-retained\"") && html.contains("Mallory Typed"), "what was typed goes back to the form");
    let again = page(&app, &ada, &seats).await;
    assert!(!again.contains(&message) && !again.contains("Mallory Typed"), "shown once");

    // Done: the answer (the invitation's link) is on the page once.
    let good = [("entitlement", id.as_str()), ("email", "grace@initech.example"), ("name", "Grace"), ("seat", "on")];
    let r = post_form(&app, &ada, "invite_user", &seats, &good).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = page(&app, &ada, &seats).await;
    assert!(html.contains("/invite/") && html.contains("grace@initech.example"), "{html}");
    assert!(!html.contains("id=\"form-retained\""), "nothing to put back after a success");
    assert!(!page(&app, &ada, &seats).await.contains("/invite/"), "the link is shown once");
}

#[tokio::test]
async fn a_refused_password_form_keeps_no_password() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let form = [("current", "not-my-password-1"), ("password", "a long new passphrase 2"), ("confirm", "a long new passphrase 2")];
    let r = post_form(&app, &ada, "change_password", "/account", &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = page(&app, &ada, "/account").await;
    for (_, typed) in form {
        assert!(!html.contains(typed), "{typed} is not sent back");
    }
}

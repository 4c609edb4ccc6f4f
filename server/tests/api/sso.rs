//! Single sign-on for vendor staff through a real OpenID Connect provider (npm's
//! `oidc-provider`, started per test on loopback): the whole authorization code flow as a
//! browser walks it, and each answer that must be refused, refused with its reason,
//! audited, and no one signed in.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::{Client, StatusCode};
use serde_json::{json as j, Value};

use crate::helpers::{audit_head, audit_kinds_since, json, new_client, spawn_app_at, TestApp};

const CLIENT_ID: &str = "tessera";
const CLIENT_SECRET: &str = "tessera-sso-test-secret";

/// The provider, stopped when dropped.
pub struct Provider {
    child: Child,
    pub issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The provider's people: each signs in with `password` + their name.
fn accounts() -> Value {
    j!([
        { "sub": "sam", "email": "staff@tessera.example", "email_verified": true, "name": "Sam Staff", "password": "sam-at-the-idp" },
        { "sub": "una", "email": "una@tessera.example", "email_verified": false, "name": "Una Verified", "password": "una-at-the-idp" },
        { "sub": "nobody", "email": "nobody@tessera.example", "email_verified": true, "name": "No Body", "password": "nobody-at-the-idp" },
        { "sub": "ada", "email": "ada@initech.example", "email_verified": true, "name": "Ada Lovelace", "password": "ada-at-the-idp" },
    ])
}

/// Starts the provider with Tessera at `tessera` (`http://host:port`) as each of its
/// `clients` (client id, client secret), answering to `callback` (a path: the vendor's
/// `/auth/sso/callback`, an organisation's `/auth/sso/callback/<slug>`), and `accounts` as
/// its people.
pub fn start_provider(tessera: &str, callback: &str, clients: &[(&str, &str)], accounts: Value) -> Provider {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let callback = format!("{tessera}{callback}");
    let clients: Vec<Value> =
        clients.iter().map(|(id, secret)| j!({ "client_id": id, "client_secret": secret, "redirect_uris": [callback] })).collect();
    let config = j!({ "port": 0, "clients": clients, "accounts": accounts });
    let mut child = Command::new("node")
        .arg(root.join("end2end/oidc/provider.mjs"))
        .env("OIDC_CONFIG", config.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("node end2end/oidc/provider.mjs (run `make build` to install it): {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("the provider's output"));
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap_or_else(|e| panic!("the provider's first line: {e}"));
    let announced: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("the provider did not start ({e}): {line:?}"));
    let issuer = announced["issuer"].as_str().unwrap_or_else(|| panic!("no issuer in {line:?}")).to_owned();
    Provider { child, issuer }
}

/// Tessera with the provider as the vendor's, and the provider.
async fn tessera_with_provider() -> (TestApp, Provider) {
    let mut provider = None;
    let app = spawn_app_at(|config, addr| {
        let tessera = format!("http://{addr}");
        let started = start_provider(&tessera, "/auth/sso/callback", &[(CLIENT_ID, CLIENT_SECRET)], accounts());
        config.public_url = Some(tessera);
        config.sso = Some(app::ssr::sso::SsoSettings {
            issuer: started.issuer.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            name: "Tessera Staff ID".into(),
        });
        provider = Some(started);
    })
    .await;
    (app, provider.unwrap_or_else(|| panic!("the provider")))
}

/// The `Location` of redirect `r`.
pub fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no Location in {r:?}")).to_owned()
}

/// `location` made absolute against `base`.
fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http") {
        location.to_owned()
    } else {
        format!("{base}{location}")
    }
}

/// Starts a sign-in in `browser` and walks it through the provider's login as `login`:
/// the callback address the provider sends the browser back to (not yet followed).
async fn walk_to_callback(app: &TestApp, provider: &Provider, browser: &Client, login: &str) -> String {
    let r = browser.get(app.url("/auth/sso/start?next=/audit")).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "start sends the browser to the provider");
    login_at_provider(app, provider, browser, &location(&r), login).await
}

/// Walks `browser`, sent to the provider's `authorize` address, through its login as
/// `login` (password: `login` + `-at-the-idp`): the callback address the provider sends
/// the browser back to (not yet followed).
pub async fn login_at_provider(app: &TestApp, provider: &Provider, browser: &Client, authorize: &str, login: &str) -> String {
    assert!(authorize.starts_with(&format!("{}/auth?", provider.issuer)), "{authorize}");
    for part in ["code_challenge_method=S256", "code_challenge=", "state=", "nonce=", "response_type=code", "scope=openid"] {
        assert!(authorize.contains(part), "{part} in {authorize}");
    }
    // Through the provider: its login form when this browser has not signed in there yet.
    let (mut next, mut hops) = (authorize.to_owned(), 0);
    while !next.starts_with(&app.url("/auth/sso/callback?")) && !next.starts_with(&app.url("/auth/sso/callback/")) {
        hops += 1;
        assert!(hops < 8, "the provider never sent the browser back: {next}");
        let r = if next.contains("/interaction/") {
            let password = format!("{login}-at-the-idp");
            let r = browser.post(&next).form(&[("prompt", "login"), ("login", login), ("password", &password)]).send().await;
            r.unwrap_or_else(|e| panic!("{e}"))
        } else {
            browser.get(&next).send().await.unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "at {next} as {login}: {}", r.text().await.unwrap_or_default());
        next = absolute(&provider.issuer, &location(&r));
    }
    next
}

/// The value of query parameter `name` in `url`.
pub fn param(url: &str, name: &str) -> String {
    let after = url.split(&format!("{name}=")).nth(1).unwrap_or_else(|| panic!("no {name} in {url}"));
    after.split('&').next().unwrap_or_default().to_owned()
}

/// Who `browser` is signed in as (`null` for no one).
pub async fn who(app: &TestApp, browser: &Client) -> Value {
    json(app.call_as(browser, "whoami", &[]).await).await
}

/// Where Tessera sends `browser` from `url` (a redirect, asserted).
pub async fn follow(browser: &Client, url: &str) -> String {
    let r = browser.get(url).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    location(&r)
}

/// The reasons of the refused sign-ins recorded after event `seq`.
pub async fn refusals_since(app: &TestApp, seq: i64) -> Vec<String> {
    let events = app.state.store.list_audit_events(None, 100).await.unwrap_or_else(|e| panic!("{e}"));
    let reason = |after: Option<String>| serde_json::from_str::<Value>(after.as_deref().unwrap_or("null")).map(|a| a["reason"].to_string());
    events
        .into_iter()
        .rev()
        .filter(|e| e.seq > seq && e.kind == "user.sso_refused")
        .map(|e| reason(e.after_json).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[tokio::test]
async fn vendor_staff_sign_in_through_the_vendors_provider_once_per_answer() {
    let (app, provider) = tessera_with_provider().await;
    let options = json(app.call_as(&new_client(), "sign_in_options", &[]).await).await;
    assert_eq!(options, j!({ "vendor": "Tessera Staff ID", "by_email": false }), "no staff domain and no customer's domain yet");

    let browser = new_client();
    let head = audit_head(&app).await;
    let callback = walk_to_callback(&app, &provider, &browser, "sam").await;
    assert_eq!(who(&app, &browser).await, Value::Null, "nobody is signed in before the answer comes back");
    assert_eq!(follow(&browser, &callback).await, "/audit", "back where the sign-in started");
    let me = who(&app, &browser).await;
    assert_eq!(me["email"], "staff@tessera.example");
    assert_eq!(me["role"], "vendor_staff");
    let events = app.state.store.list_audit_events(None, 10).await.unwrap_or_else(|e| panic!("{e}"));
    let signed_in = events.iter().find(|e| e.seq > head && e.kind == "user.signed_in").unwrap_or_else(|| panic!("audited"));
    let after: Value = serde_json::from_str(signed_in.after_json.as_deref().unwrap_or("null")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((after["method"].as_str(), after["provider"].as_str()), (Some("sso"), Some(provider.issuer.as_str())));

    // The same answer again, in the same browser or another: no sign-in is under way there
    // (its state was used), so it is refused, and only logged.
    let head = audit_head(&app).await;
    assert_eq!(follow(&browser, &callback).await, "/signin?sso=state");
    let thief = new_client();
    assert_eq!(follow(&thief, &callback).await, "/signin?sso=state");
    assert_eq!(who(&app, &thief).await, Value::Null);
    assert_eq!(audit_kinds_since(&app, head).await, Vec::<String>::new(), "an answer to no sign-in writes nothing");
    // The code brought back under a sign-in of the thief's own: the provider refuses it
    // (used already, and bound to another sign-in's PKCE verifier).
    let code = param(&callback, "code");
    let fresh = walk_to_callback(&app, &provider, &thief, "sam").await;
    let state = param(&fresh, "state");
    assert_eq!(follow(&thief, &app.url(&format!("/auth/sso/callback?code={code}&state={state}"))).await, "/signin?sso=code");
    assert_eq!(who(&app, &thief).await, Value::Null);
    assert_eq!(refusals_since(&app, head).await, ["\"code\""]);
}

#[tokio::test]
async fn answers_that_do_not_hold_are_refused_with_their_reason_and_sign_no_one_in() {
    let (app, provider) = tessera_with_provider().await;
    let head = audit_head(&app).await;
    let users = app.sql_strings("SELECT email FROM users ORDER BY email").await;

    // A state that is not the one this browser started with.
    let browser = new_client();
    let callback = walk_to_callback(&app, &provider, &browser, "sam").await;
    let forged = callback.replace("state=", "state=x");
    assert_eq!(follow(&browser, &forged).await, "/signin?sso=state");
    // The answer was for a sign-in started in another browser, brought to one with its own
    // under way.
    let other = new_client();
    let callback = walk_to_callback(&app, &provider, &other, "sam").await;
    let stranger = new_client();
    walk_to_callback(&app, &provider, &stranger, "sam").await;
    assert_eq!(follow(&stranger, &callback).await, "/signin?sso=state");
    // The provider's own refusal (the user cancelled) counts under the browser's state only.
    let state = param(&follow(&stranger, &app.url("/auth/sso/start")).await, "state");
    assert_eq!(follow(&stranger, &app.url("/auth/sso/callback?error=access_denied&state=forged")).await, "/signin?sso=state");
    let state_again = param(&follow(&stranger, &app.url("/auth/sso/start")).await, "state");
    assert_ne!(state, state_again, "every sign-in has its own state");
    let denied = app.url(&format!("/auth/sso/callback?error=access_denied&state={state_again}"));
    assert_eq!(follow(&stranger, &denied).await, "/signin?sso=denied");
    // An email the provider has not verified.
    let una = new_client();
    let callback = walk_to_callback(&app, &provider, &una, "una").await;
    assert_eq!(follow(&una, &callback).await, "/signin?sso=unverified");
    // Verified, but no vendor user has it; and a customer's user, who is not the vendor's.
    for login in ["nobody", "ada"] {
        let browser = new_client();
        let callback = walk_to_callback(&app, &provider, &browser, login).await;
        assert_eq!(follow(&browser, &callback).await, "/signin?sso=unknown", "{login}");
        assert_eq!(who(&app, &browser).await, Value::Null, "{login}");
    }
    for browser in [&browser, &stranger, &una] {
        assert_eq!(who(&app, browser).await, Value::Null);
    }
    assert_eq!(
        refusals_since(&app, head).await,
        ["\"state\"", "\"state\"", "\"state\"", "\"denied\"", "\"unverified\"", "\"unknown\"", "\"unknown\""]
    );
    let kinds = audit_kinds_since(&app, head).await;
    assert!(kinds.iter().all(|k| k == "user.sso_refused"), "nothing but the refusals: {kinds:?}");
    assert_eq!(app.sql_strings("SELECT email FROM users ORDER BY email").await, users, "no user was made");
    assert!(app::auth::sso_refusal("unverified").is_some_and(|m| m.contains("not verified")));
}

#[tokio::test]
async fn without_a_provider_the_sign_in_page_offers_none_and_the_flow_leads_back() {
    let app = spawn_app_at(|_, _| {}).await;
    assert_eq!(json(app.call("sign_in_options", &[]).await).await, j!({ "vendor": null, "by_email": false }));
    // Back to the sign-in page: plainly from the start, and from an answer to no sign-in
    // under way (organisations' own providers answer there too), saying so.
    for (path, to) in [("/auth/sso/start", "/signin"), ("/auth/sso/callback?code=a&state=b", "/signin?sso=state")] {
        let r = app.client.get(app.url(path)).send().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.status(), location(&r)), (StatusCode::SEE_OTHER, to.to_owned()), "{path}");
    }
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_sends_the_browser_back_saying_so() {
    // Nothing listens on port 9 of this machine.
    let app = spawn_app_at(|config, addr| {
        config.public_url = Some(format!("http://{addr}"));
        config.sso = Some(app::ssr::sso::SsoSettings {
            issuer: "http://127.0.0.1:9".into(),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            name: "Tessera Staff ID".into(),
        });
    })
    .await;
    let browser = new_client();
    assert_eq!(follow(&browser, &app.url("/auth/sso/start?next=/audit")).await, "/signin?sso=provider");
    assert_eq!(who(&app, &browser).await, Value::Null);
    assert!(app::auth::sso_refusal("provider").is_some_and(|m| m.contains("could not be reached")));
}

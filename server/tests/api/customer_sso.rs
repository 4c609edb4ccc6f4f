//! Single sign-on for a customer's own people through the customer's own OpenID Connect
//! provider (npm's `oidc-provider`, started per test on loopback as Initech's): connected
//! by Initech's admin, its domain confirmed by the vendor's staff, and found at sign-in by
//! the domain of the email typed. Whom it signs in, links, makes or refuses, and what the
//! audit log and the seats page say of it.

use reqwest::{Client, StatusCode};
use serde_json::{json as j, Value};

use crate::helpers::{audit_head, audit_kinds_since, json, new_client, spawn_app, spawn_app_at, TestApp, PASSWORD};
use crate::sso::{follow, login_at_provider, param, refusals_since, start_provider, who, Provider};

const INITECH_CLIENT: &str = "initech-tessera";
const INITECH_SECRET: &str = "initech-sso-secret-5be2c1";

/// Initech's provider's people: each signs in there with `<sub>-at-the-idp`.
fn initech_accounts() -> Value {
    let account = |sub: &str, email: &str, verified: bool, name: &str| j!({ "sub": sub, "email": email, "email_verified": verified, "name": name, "password": format!("{sub}-at-the-idp") });
    Value::Array(vec![
        account("bob", "bob@initech.example", true, "Bob Porter"),
        account("newcomer", "newcomer@initech.example", true, "Nell Newcomer"),
        account("dee", "dee@initech.example", true, "Dee Dee"),
        account("una", "una@initech.example", false, "Una Verified"),
        account("grace", "grace@globex.example", true, "Grace Hopper"),
        account("sam", "staff@tessera.example", true, "Sam Staff"),
    ])
}

/// Tessera at `http://{addr}` without a vendor's provider, and a provider for Initech with
/// Tessera as its client (not connected yet).
async fn tessera_with_initech_provider() -> (TestApp, Provider) {
    let mut provider = None;
    let app = spawn_app_at(|config, addr| {
        let tessera = format!("http://{addr}");
        provider = Some(start_provider(&tessera, "/auth/sso/callback/initech", &[(INITECH_CLIENT, INITECH_SECRET)], initech_accounts()));
        config.public_url = Some(tessera);
        config.sso = None;
    })
    .await;
    (app, provider.unwrap_or_else(|| panic!("the provider")))
}

/// Calls server function `name` as `client`, asserting that it succeeded.
pub async fn ok(app: &TestApp, client: &Client, name: &str, form: &[(&str, &str)]) {
    let r = app.call_as(client, name, form).await;
    assert_eq!(r.status(), StatusCode::OK, "{name} {form:?}: {}", r.text().await.unwrap_or_default());
}

/// Ada saves Initech's provider "Initech ID" at `issuer` as client `client_id` with
/// `secret` (empty keeps the one saved), the checkboxes `ticked` (`create_users`,
/// `passwords_allowed`) on and the others off.
pub async fn save_initech_provider(app: &TestApp, ada: &Client, issuer: &str, client_id: &str, secret: &str, ticked: &[&str]) {
    let mut form = vec![("issuer", issuer), ("client_id", client_id), ("client_secret", secret), ("name", "Initech ID")];
    form.extend(ticked.iter().map(|t| (*t, "on")));
    ok(app, ada, "save_sso_provider", &form).await;
}

/// Initech's provider at `issuer` (client `client_id`, `secret`) saved by Ada with the
/// checkboxes `ticked`, and initech.example claimed by her and confirmed by the vendor's
/// staff: Ada's and the staff member's browsers, signed in with their passwords.
pub async fn connect_initech(app: &TestApp, issuer: &str, client_id: &str, secret: &str, ticked: &[&str]) -> (Client, Client) {
    let ada = app.client_for("ada@initech.example").await;
    let staff = app.client_for("staff@tessera.example").await;
    save_initech_provider(app, &ada, issuer, client_id, secret, ticked).await;
    ok(app, &ada, "add_sso_domain", &[("domain", "initech.example")]).await;
    ok(app, &staff, "confirm_sso_domain", &[("customer", "initech"), ("domain", "initech.example")]).await;
    (ada, staff)
}

/// Posts the sign-in page's single sign-on form with `email` in `browser`.
pub async fn post_start(app: &TestApp, browser: &Client, email: &str) -> reqwest::Response {
    let r = browser.post(app.url("/auth/sso/start")).form(&[("email", email), ("next", "")]).send().await;
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// Where the sign-in page's single sign-on form with `email` sends a fresh browser back to
/// when it is refused.
pub async fn refused_start(app: &TestApp, email: &str) -> String {
    let r = post_start(app, &new_client(), email).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{email}");
    r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// Starts single sign-on in `browser` with `email`, as the sign-in page's form does: the
/// provider's address that the page Tessera answers with moves on to.
pub async fn start_by_email(app: &TestApp, browser: &Client, email: &str) -> String {
    let r = post_start(app, browser, email).await;
    assert_eq!(r.status(), StatusCode::OK, "a page that moves on to the provider for {email}, not {:?}", r.headers().get("location"));
    let kind = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(kind.starts_with("text/html"), "{kind}");
    refresh_target(&r.text().await.unwrap_or_else(|e| panic!("{e}")))
}

/// Where page `body` moves on to by itself: the address of its `<meta http-equiv="refresh">`,
/// its HTML escapes undone.
fn refresh_target(body: &str) -> String {
    let after = body.split("<meta http-equiv=\"refresh\" content=\"0;url=").nth(1).unwrap_or_else(|| panic!("no refresh in {body}"));
    let raw = after.split('"').next().unwrap_or_default();
    assert!(!raw.replace("&amp;", "").contains('&'), "`&` is written `&amp;` in {raw}");
    raw.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// A single sign-on in a fresh browser: started with `email` typed, signed in at the
/// provider as its account `login`, and the provider's answer brought back; the browser and
/// where Tessera sent it.
async fn through_provider(app: &TestApp, provider: &Provider, email: &str, login: &str) -> (Client, String) {
    let browser = new_client();
    let authorize = start_by_email(app, &browser, email).await;
    let callback = login_at_provider(app, provider, &browser, &authorize, login).await;
    let to = follow(&browser, &callback).await;
    (browser, to)
}

/// What the sign-in page offers a visitor.
async fn sign_in_options(app: &TestApp) -> Value {
    json(app.call_as(&new_client(), "sign_in_options", &[]).await).await
}

/// Initech's entitlement's seats page, as Ada sees it.
async fn initech_seats(app: &TestApp, ada: &Client) -> Value {
    let entitlement = json(app.call_as(ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    json(app.call_as(ada, "get_seats", &[("entitlement", &entitlement)]).await).await
}

/// The user with `email` among the members of seats page `seats`.
fn member(seats: &Value, email: &str) -> Option<Value> {
    seats["members"].as_array().and_then(|m| m.iter().find(|m| m["email"] == email).cloned())
}

/// Every user's email, in order.
async fn user_emails(app: &TestApp) -> Vec<String> {
    app.sql_strings("SELECT email FROM users ORDER BY email").await
}

/// The audit events recorded after event `seq`, oldest first.
async fn events_since(app: &TestApp, seq: i64) -> Vec<app::store::audit::AuditRow> {
    let events = app.state.store.list_audit_events(None, 1_000).await.unwrap_or_else(|e| panic!("audit log: {e}"));
    events.into_iter().rev().filter(|e| e.seq > seq).collect()
}

/// The `after` of each audit event of `kind` recorded after event `seq`, oldest first.
async fn afters_since(app: &TestApp, seq: i64, kind: &str) -> Vec<Value> {
    events_since(app, seq)
        .await
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| serde_json::from_str::<Value>(e.after_json.as_deref().unwrap_or("null")).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[tokio::test]
async fn initech_people_sign_in_through_initechs_provider_once_staff_confirm_its_domain() {
    let (app, idp) = tessera_with_initech_provider().await;
    let ada = app.client_for("ada@initech.example").await;
    let staff = app.client_for("staff@tessera.example").await;
    save_initech_provider(&app, &ada, &idp.issuer, INITECH_CLIENT, INITECH_SECRET, &["passwords_allowed"]).await;
    ok(&app, &ada, "add_sso_domain", &[("domain", "initech.example")]).await;
    assert_eq!(sign_in_options(&app).await, j!({ "vendor": null, "by_email": false }), "a claimed domain routes no one");

    // Claimed, not confirmed: the domain's people are not sent to Initech's provider.
    let browser = new_client();
    let head = audit_head(&app).await;
    assert_eq!(refused_start(&app, "bob@initech.example").await, "/signin?sso=nodomain");
    assert_eq!(refused_start(&app, "not-an-email").await, "/signin?sso=email");
    assert_eq!(who(&app, &browser).await, Value::Null);
    assert_eq!(audit_kinds_since(&app, head).await, Vec::<String>::new(), "a start refused writes nothing");

    ok(&app, &staff, "confirm_sso_domain", &[("customer", "initech"), ("domain", "initech.example")]).await;
    assert_eq!(sign_in_options(&app).await, j!({ "vendor": null, "by_email": true }));
    let sso = json(app.call_as(&ada, "get_sso", &[]).await).await;
    assert_eq!(sso["provider"]["issuer"], idp.issuer.as_str(), "{sso}");
    assert_eq!(sso["redirect_uri"], app.url("/auth/sso/callback/initech"), "{sso}");
    let domain = &sso["domains"][0];
    assert_eq!((domain["domain"].as_str(), domain["confirmed_at"].is_i64()), (Some("initech.example"), true), "{sso}");
    // Another organisation's domain is still no one's.
    assert_eq!(refused_start(&app, "grace@globex.example").await, "/signin?sso=nodomain");

    let head = audit_head(&app).await;
    let authorize = start_by_email(&app, &browser, " Bob@Initech.Example ").await;
    assert!(authorize.contains(&format!("client_id={INITECH_CLIENT}")), "{authorize}");
    assert!(authorize.contains("redirect_uri="), "{authorize}");
    let callback = login_at_provider(&app, &idp, &browser, &authorize, "bob").await;
    assert_eq!(param(&callback, "state"), param(&authorize, "state"));
    assert_eq!(who(&app, &browser).await, Value::Null, "nobody is signed in before the answer comes back");
    assert_eq!(follow(&browser, &callback).await, "/entitlements", "a customer member's home");
    let me = who(&app, &browser).await;
    assert_eq!(
        (me["email"].as_str(), me["role"].as_str(), me["customer"]["slug"].as_str()),
        (Some("bob@initech.example"), Some("customer_member"), Some("initech")),
        "{me}"
    );
    assert_eq!(audit_kinds_since(&app, head).await, ["user.signed_in"]);
    let signed_in = afters_since(&app, head, "user.signed_in").await;
    assert_eq!((signed_in[0]["method"].as_str(), signed_in[0]["provider"].as_str()), (Some("sso"), Some(idp.issuer.as_str())));
    // In Initech's own audit log.
    let initech = me["customer"]["id"].as_i64().unwrap_or_else(|| panic!("{me}"));
    let own = app.state.store.list_audit_events(Some(initech), 10).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(own.iter().any(|e| e.seq > head && e.kind == "user.signed_in"), "Initech's log shows Bob's sign-in");
}

#[tokio::test]
async fn an_unknown_person_of_the_domain_is_made_a_member_only_when_initech_allows_it() {
    let (app, idp) = tessera_with_initech_provider().await;
    let (ada, _staff) = connect_initech(&app, &idp.issuer, INITECH_CLIENT, INITECH_SECRET, &["passwords_allowed"]).await;
    let users = user_emails(&app).await;
    let seats = initech_seats(&app, &ada).await;
    let entitlement = seats["entitlement_id"].to_string();
    let seats_used = seats["seats_used"].clone();

    let head = audit_head(&app).await;
    let (browser, to) = through_provider(&app, &idp, "newcomer@initech.example", "newcomer").await;
    assert_eq!(to, "/signin?sso=unknown");
    assert_eq!(who(&app, &browser).await, Value::Null);
    assert_eq!(refusals_since(&app, head).await, ["\"unknown\""]);
    assert_eq!(audit_kinds_since(&app, head).await, ["user.sso_refused"]);
    assert_eq!(user_emails(&app).await, users, "no user was made");
    assert_eq!(member(&initech_seats(&app, &ada).await, "newcomer@initech.example"), None);

    // Ada lets the provider make members, leaving the secret empty to keep the one saved.
    let head = audit_head(&app).await;
    save_initech_provider(&app, &ada, &idp.issuer, INITECH_CLIENT, "", &["create_users", "passwords_allowed"]).await;
    let saved = afters_since(&app, head, "sso.provider_saved").await;
    assert_eq!((saved[0]["create_users"].as_bool(), saved[0]["secret_changed"].as_bool()), (Some(true), Some(false)), "{saved:?}");

    let head = audit_head(&app).await;
    let (browser, to) = through_provider(&app, &idp, "newcomer@initech.example", "newcomer").await;
    assert_eq!(to, "/entitlements", "signed in, with the secret kept");
    let me = who(&app, &browser).await;
    assert_eq!(
        (me["email"].as_str(), me["name"].as_str(), me["role"].as_str(), me["customer"]["slug"].as_str()),
        (Some("newcomer@initech.example"), Some("Nell Newcomer"), Some("customer_member"), Some("initech")),
        "{me}"
    );
    assert_eq!(audit_kinds_since(&app, head).await, ["user.joined_by_sso", "user.signed_in"]);
    let joined = afters_since(&app, head, "user.joined_by_sso").await;
    assert_eq!(
        joined,
        [j!({ "email": "newcomer@initech.example", "name": "Nell Newcomer", "role": "customer_member", "provider": idp.issuer })]
    );
    let seats = initech_seats(&app, &ada).await;
    let newcomer = member(&seats, "newcomer@initech.example").unwrap_or_else(|| panic!("a member now: {seats}"));
    assert_eq!(
        (newcomer["role"].as_str(), newcomer["seat_since"].is_null(), newcomer["invited"].as_bool()),
        (Some("customer_member"), true, Some(false)),
        "a member without a seat, not waiting on an invitation: {newcomer}"
    );
    assert_eq!(seats["seats_used"], seats_used, "no seat was taken");

    // Made once: the next sign-in makes no one.
    let head = audit_head(&app).await;
    let (_, to) = through_provider(&app, &idp, "newcomer@initech.example", "newcomer").await;
    assert_eq!(to, "/entitlements");
    assert_eq!(audit_kinds_since(&app, head).await, ["user.signed_in"]);

    // Removed by Ada, they are not made again.
    ok(&app, &ada, "remove_user", &[("entitlement", &entitlement), ("user", &newcomer["id"].to_string())]).await;
    let users = user_emails(&app).await;
    let head = audit_head(&app).await;
    let (browser, to) = through_provider(&app, &idp, "newcomer@initech.example", "newcomer").await;
    assert_eq!(to, "/signin?sso=unknown");
    assert_eq!(who(&app, &browser).await, Value::Null);
    assert_eq!(refusals_since(&app, head).await, ["\"unknown\""]);
    assert_eq!(user_emails(&app).await, users, "no user was made");
    assert_eq!(member(&initech_seats(&app, &ada).await, "newcomer@initech.example"), None);
}

#[tokio::test]
async fn an_invited_person_signing_in_through_the_provider_first_accepts_the_invitation() {
    let (app, idp) = tessera_with_initech_provider().await;
    let (ada, _staff) = connect_initech(&app, &idp.issuer, INITECH_CLIENT, INITECH_SECRET, &["passwords_allowed"]).await;
    let entitlement = initech_seats(&app, &ada).await["entitlement_id"].to_string();
    let r = app.call_as(&ada, "invite_user", &[("entitlement", &entitlement), ("email", "dee@initech.example"), ("name", "Dee Dee")]).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    let invitation = json(r).await;
    let token = invitation["path"].as_str().unwrap_or_default().trim_start_matches("/invite/").to_owned();
    let dee = member(&initech_seats(&app, &ada).await, "dee@initech.example").unwrap_or_else(|| panic!("dee is listed"));
    assert_eq!((dee["invited"].as_bool(), dee["invitation_expires_on"].is_null()), (Some(true), false), "{dee}");

    let head = audit_head(&app).await;
    let (browser, to) = through_provider(&app, &idp, "dee@initech.example", "dee").await;
    assert_eq!(to, "/entitlements");
    let me = who(&app, &browser).await;
    assert_eq!((me["email"].as_str(), me["customer"]["slug"].as_str()), (Some("dee@initech.example"), Some("initech")), "{me}");
    assert_eq!(audit_kinds_since(&app, head).await, ["user.invitation_accepted", "user.signed_in"]);
    assert_eq!(afters_since(&app, head, "user.invitation_accepted").await, [j!({ "method": "sso", "provider": idp.issuer })]);
    let dee = member(&initech_seats(&app, &ada).await, "dee@initech.example").unwrap_or_else(|| panic!("dee is listed"));
    assert_eq!((dee["invited"].as_bool(), dee["invitation_expires_on"].is_null()), (Some(false), true), "no longer invited: {dee}");
    // The link sent to them is used up.
    let r = app.call_as(&new_client(), "get_invitation", &[("token", &token)]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["Invalid"]["field"], "token");

    // Accepted once: the next sign-in accepts nothing.
    let head = audit_head(&app).await;
    let (_, to) = through_provider(&app, &idp, "dee@initech.example", "dee").await;
    assert_eq!(to, "/entitlements");
    assert_eq!(audit_kinds_since(&app, head).await, ["user.signed_in"]);
}

#[tokio::test]
async fn initechs_provider_vouches_for_initechs_confirmed_domain_only() {
    let (app, idp) = tessera_with_initech_provider().await;
    // Making members on: it still makes none of another domain.
    let (_ada, staff) = connect_initech(&app, &idp.issuer, INITECH_CLIENT, INITECH_SECRET, &["create_users", "passwords_allowed"]).await;
    let grace = app.client_for("grace@globex.example").await;
    let users = user_emails(&app).await;
    let head = audit_head(&app).await;

    // Grace of Globex, globex.example being no one's; then confirmed as Globex's.
    let (first, to) = through_provider(&app, &idp, "bob@initech.example", "grace").await;
    assert_eq!(to, "/signin?sso=domain");
    ok(&app, &grace, "add_sso_domain", &[("domain", "globex.example")]).await;
    ok(&app, &staff, "confirm_sso_domain", &[("customer", "globex"), ("domain", "globex.example")]).await;
    let mut browsers = vec![first];
    // Grace again; a vendor's email; an email the provider has not verified.
    for (login, code) in [("grace", "domain"), ("sam", "domain"), ("una", "unverified")] {
        let (browser, to) = through_provider(&app, &idp, "bob@initech.example", login).await;
        assert_eq!(to, format!("/signin?sso={code}"), "{login}");
        browsers.push(browser);
    }
    for browser in &browsers {
        assert_eq!(who(&app, browser).await, Value::Null);
    }
    assert_eq!(refusals_since(&app, head).await, ["\"domain\"", "\"domain\"", "\"domain\"", "\"unverified\""]);
    assert_eq!(
        audit_kinds_since(&app, head).await,
        ["user.sso_refused", "sso.domain_claimed", "sso.domain_confirmed", "user.sso_refused", "user.sso_refused", "user.sso_refused"]
    );
    let events = events_since(&app, head).await;
    let refused: Vec<String> = events.into_iter().filter(|e| e.kind == "user.sso_refused").map(|e| e.subject).collect();
    let vouched_for = ["grace@globex.example", "grace@globex.example", "staff@tessera.example", "una@initech.example"];
    assert_eq!(refused, vouched_for.map(|email| format!("email:{email}")), "the audit log names whom the provider vouched for");
    assert_eq!(user_emails(&app).await, users, "no user was made");
    // Globex's domain leads to no provider (Globex has none); the vendor's people and Globex's
    // keep their passwords; Bob still comes in through Initech's.
    assert_eq!(refused_start(&app, "grace@globex.example").await, "/signin?sso=nodomain");
    app.client_for("grace@globex.example").await;
    app.client_for("staff@tessera.example").await;
    let (browser, to) = through_provider(&app, &idp, "bob@initech.example", "bob").await;
    assert_eq!(to, "/entitlements");
    assert_eq!(who(&app, &browser).await["email"], "bob@initech.example");
}

#[tokio::test]
async fn with_passwords_not_allowed_initech_people_are_sent_to_single_sign_on() {
    let (app, idp) = tessera_with_initech_provider().await;
    let (ada, _staff) = connect_initech(&app, &idp.issuer, INITECH_CLIENT, INITECH_SECRET, &[]).await;
    let sso = json(app.call_as(&ada, "get_sso", &[]).await).await;
    assert_eq!(sso["provider"]["passwords_allowed"], false, "{sso}");

    // Any email of Initech's domain is sent to the provider before a password is checked:
    // the answer is the same for a right password, a wrong one and an account that does not
    // exist, so it tells a guesser nothing.
    let head = audit_head(&app).await;
    let tries = [
        ("ada@initech.example", PASSWORD),
        ("bob@initech.example", PASSWORD),
        ("bob@initech.example", "not it"),
        ("no.one@initech.example", "x"),
    ];
    for (email, password) in tries {
        let browser = new_client();
        let r = app.call_as(&browser, "sign_in", &[("email", email), ("password", password)]).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{email} with {password:?}");
        let refused = json(r).await;
        assert_eq!(refused["Invalid"]["field"], "password", "{refused}");
        let message = refused["Invalid"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("single sign-on") && message.contains("Initech ID"), "{message}");
        assert_eq!(who(&app, &browser).await, Value::Null, "{email}");
    }
    assert!(audit_kinds_since(&app, head).await.is_empty(), "no failure counted against anyone: no password was tried");
    // An invitation gives no password either: the invited person signs in at the provider.
    let entitlement = initech_seats(&app, &ada).await["entitlement_id"].to_string();
    let invite = [("entitlement", entitlement.as_str()), ("email", "dee@initech.example"), ("name", "Dee Dee")];
    let invitation = json(app.call_as(&ada, "invite_user", &invite).await).await;
    let token = invitation["path"].as_str().unwrap_or_default().trim_start_matches("/invite/").to_owned();
    let shown = json(app.call_as(&new_client(), "get_invitation", &[("token", token.as_str())]).await).await;
    assert_eq!(shown["sso"], "Initech ID", "the invitation's page sends them to the provider: {shown}");
    let form = [("token", token.as_str()), ("password", "a long new passphrase"), ("confirm", "a long new passphrase")];
    let r = app.call_as(&new_client(), "accept_invitation", &form).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let refused = json(r).await;
    assert!(refused["Invalid"]["message"].as_str().is_some_and(|m| m.contains("Initech ID")), "{refused}");
    let dee = member(&initech_seats(&app, &ada).await, "dee@initech.example").unwrap_or_else(|| panic!("dee is listed"));
    assert_eq!(dee["invited"].as_bool(), Some(true), "still invited, with no password: {dee}");
    let (browser, to) = through_provider(&app, &idp, "dee@initech.example", "dee").await;
    assert_eq!(to, "/entitlements");
    assert_eq!(who(&app, &browser).await["email"], "dee@initech.example");
    // Other organisations' people and the vendor's keep their passwords.
    app.client_for("grace@globex.example").await;
    app.client_for("admin@tessera.example").await;
    // Initech's come in through its provider.
    let (browser, to) = through_provider(&app, &idp, "bob@initech.example", "bob").await;
    assert_eq!(to, "/entitlements");
    assert_eq!(who(&app, &browser).await["email"], "bob@initech.example");
    // Ada, still signed in, allows passwords again.
    save_initech_provider(&app, &ada, &idp.issuer, INITECH_CLIENT, "", &["passwords_allowed"]).await;
    app.client_for("bob@initech.example").await;
}

#[tokio::test]
async fn a_domain_is_confirmed_for_one_organisation_and_provider_changes_are_audited_without_the_secret() {
    const FIRST: &str = "first-initech-secret-9d1e";
    const SECOND: &str = "second-initech-secret-47ab";
    const ISSUER: &str = "https://login.initech.example";
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let grace = app.client_for("grace@globex.example").await;
    let staff = app.client_for("staff@tessera.example").await;
    let head = audit_head(&app).await;

    // An issuer in clear to another machine, and a new provider without its secret: refused.
    let form = [("issuer", "http://login.initech.example"), ("client_id", "tessera"), ("client_secret", FIRST), ("name", "Initech ID")];
    let r = app.call_as(&ada, "save_sso_provider", &form).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["Invalid"]["field"], "issuer");
    let form = [("issuer", ISSUER), ("client_id", "tessera"), ("client_secret", ""), ("name", "Initech ID")];
    let r = app.call_as(&ada, "save_sso_provider", &form).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["Invalid"]["field"], "client_secret");
    save_initech_provider(&app, &ada, ISSUER, "tessera", FIRST, &["passwords_allowed"]).await;

    // Globex claims Initech's domain too, and the staff confirm it for Globex first.
    ok(&app, &grace, "add_sso_domain", &[("domain", "initech.example")]).await;
    ok(&app, &ada, "add_sso_domain", &[("domain", "initech.example")]).await;
    ok(&app, &staff, "confirm_sso_domain", &[("customer", "globex"), ("domain", "initech.example")]).await;
    let r = app.call_as(&staff, "confirm_sso_domain", &[("customer", "initech"), ("domain", "initech.example")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let refused = json(r).await;
    assert!(refused["Invalid"]["message"].as_str().is_some_and(|m| m.contains("another organisation")), "{refused}");
    let sso = json(app.call_as(&ada, "get_sso", &[]).await).await;
    assert_eq!(sso["domains"][0]["confirmed_at"], Value::Null, "not confirmed for Initech: {sso}");
    // Meanwhile the domain leads to Globex, which has no provider.
    assert_eq!(refused_start(&app, "bob@initech.example").await, "/signin?sso=nodomain");

    // Globex's claim removed, the staff confirm Initech's; then Globex's cannot be confirmed.
    ok(&app, &staff, "remove_sso_domain", &[("customer", "globex"), ("domain", "initech.example")]).await;
    ok(&app, &staff, "confirm_sso_domain", &[("customer", "initech"), ("domain", "initech.example")]).await;
    ok(&app, &grace, "add_sso_domain", &[("domain", "initech.example")]).await;
    let r = app.call_as(&staff, "confirm_sso_domain", &[("customer", "globex"), ("domain", "initech.example")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let refused = json(r).await;
    assert!(refused["Invalid"]["message"].as_str().is_some_and(|m| m.contains("another organisation")), "{refused}");

    // A new secret; then a change that keeps it.
    save_initech_provider(&app, &ada, ISSUER, "tessera", SECOND, &["passwords_allowed"]).await;
    save_initech_provider(&app, &ada, ISSUER, "tessera", "", &[]).await;
    let shown = app.call_as(&ada, "get_sso", &[]).await.text().await.unwrap_or_default();
    assert!(shown.contains(ISSUER) && !shown.contains(FIRST) && !shown.contains(SECOND), "{shown}");
    for stored in app.sql_strings("SELECT client_secret FROM identity_providers").await {
        assert!(!stored.contains(SECOND) && !stored.contains(FIRST), "the secret is stored sealed: {stored}");
    }
    ok(&app, &ada, "remove_sso_provider", &[]).await;
    assert_eq!(json(app.call_as(&ada, "get_sso", &[]).await).await["provider"], Value::Null);

    assert_eq!(
        audit_kinds_since(&app, head).await,
        [
            "sso.provider_saved",
            "sso.domain_claimed",
            "sso.domain_claimed",
            "sso.domain_confirmed",
            "sso.domain_removed",
            "sso.domain_confirmed",
            "sso.domain_claimed",
            "sso.provider_saved",
            "sso.provider_saved",
            "sso.provider_removed",
        ]
    );
    let saved = afters_since(&app, head, "sso.provider_saved").await;
    let shape = |passwords: bool, secret_changed: bool| {
        j!({
            "issuer": ISSUER, "client_id": "tessera", "name": "Initech ID",
            "create_users": false, "passwords_allowed": passwords, "secret_changed": secret_changed,
        })
    };
    assert_eq!(saved, [shape(true, true), shape(true, true), shape(false, false)]);
    for e in app.state.store.list_audit_events(None, 1_000).await.unwrap_or_else(|e| panic!("{e}")) {
        let row = format!("{} {} {} {:?} {:?}", e.actor, e.kind, e.subject, e.before_json, e.after_json);
        assert!(!row.contains(FIRST) && !row.contains(SECOND), "a secret in the audit log: {row}");
    }
}

#[tokio::test]
async fn an_answer_from_initechs_provider_is_used_once() {
    let (app, idp) = tessera_with_initech_provider().await;
    connect_initech(&app, &idp.issuer, INITECH_CLIENT, INITECH_SECRET, &["passwords_allowed"]).await;
    let browser = new_client();
    let authorize = start_by_email(&app, &browser, "bob@initech.example").await;
    let callback = login_at_provider(&app, &idp, &browser, &authorize, "bob").await;
    assert_eq!(follow(&browser, &callback).await, "/entitlements");

    // The same answer again, in the same browser or another: no sign-in is under way there.
    let head = audit_head(&app).await;
    assert_eq!(follow(&browser, &callback).await, "/signin?sso=state");
    assert_eq!(who(&app, &browser).await["email"], "bob@initech.example", "the sign-in made before stays");
    let thief = new_client();
    assert_eq!(follow(&thief, &callback).await, "/signin?sso=state");
    assert_eq!(who(&app, &thief).await, Value::Null);
    assert_eq!(audit_kinds_since(&app, head).await, Vec::<String>::new(), "an answer to no sign-in writes nothing");
    // The code brought back under a sign-in of the thief's own: the provider refuses it.
    let code = param(&callback, "code");
    let state = param(&start_by_email(&app, &thief, "bob@initech.example").await, "state");
    assert_eq!(follow(&thief, &app.url(&format!("/auth/sso/callback/initech?code={code}&state={state}"))).await, "/signin?sso=code");
    assert_eq!(who(&app, &thief).await, Value::Null);
    assert_eq!(refusals_since(&app, head).await, ["\"code\""]);
    assert_eq!(audit_kinds_since(&app, head).await, ["user.sso_refused"]);
}

//! Single sign-on against a provider the test crafts, connected as Initech's: its discovery
//! document, its one Ed25519 key, and a token endpoint answering with whatever ID token the
//! test signed. A token that holds signs Bob in (the crafted provider is a right one); each
//! that does not, in one way, is refused as `token`, audited once, and signs no one in.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signer, SigningKey};
use reqwest::{Client, StatusCode};
use serde_json::{json as j, Value};

use crate::customer_sso::{connect_initech, start_by_email};
use crate::helpers::{audit_head, audit_kinds_since, new_client, spawn_app_at, TestApp};
use crate::sso::{location, param, refusals_since, who};

const CLIENT_ID: &str = "initech-crafted";
const CLIENT_SECRET: &str = "initech-crafted-secret";
/// The id of the one key the provider publishes.
const KID: &str = "k1";

/// What the crafted provider serves, and what it was asked.
#[derive(Clone)]
struct Served {
    issuer: String,
    jwks: Value,
    /// The ID token its token endpoint answers with.
    id_token: Arc<Mutex<Option<String>>>,
    /// Each token request: its form body and its `Authorization` header.
    token_requests: Arc<Mutex<Vec<(String, String)>>>,
    /// How many times its keys were read.
    key_reads: Arc<AtomicUsize>,
}

impl Served {
    /// Starts serving on a free loopback port, publishing `key` as [`KID`], until the test ends.
    async fn start(key: &SigningKey) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
        let issuer = format!("http://{}", listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
        let x = URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
        let served = Served {
            issuer,
            jwks: j!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": x, "kid": KID, "alg": "EdDSA", "use": "sig" }] }),
            id_token: Arc::default(),
            token_requests: Arc::default(),
            key_reads: Arc::default(),
        };
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(keys))
            .route("/token", post(token))
            .with_state(served.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        served
    }

    /// The ID token the token endpoint answers with from now on.
    fn answer_with(&self, id_token: String) {
        *self.id_token.lock().unwrap_or_else(PoisonError::into_inner) = Some(id_token);
    }

    /// The token requests so far.
    fn token_requests(&self) -> Vec<(String, String)> {
        self.token_requests.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// How many times its keys were read so far.
    fn key_reads(&self) -> usize {
        self.key_reads.load(Ordering::SeqCst)
    }
}

async fn discovery(State(served): State<Served>) -> Json<Value> {
    let issuer = &served.issuer;
    Json(j!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
    }))
}

async fn keys(State(served): State<Served>) -> Json<Value> {
    served.key_reads.fetch_add(1, Ordering::SeqCst);
    Json(served.jwks.clone())
}

async fn token(State(served): State<Served>, headers: HeaderMap, body: String) -> Json<Value> {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    served.token_requests.lock().unwrap_or_else(PoisonError::into_inner).push((body, authorization));
    let id_token = served.id_token.lock().unwrap_or_else(PoisonError::into_inner).clone();
    Json(j!({ "access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": id_token }))
}

/// A compact JWS of `claims`, its header naming key `kid`, signed with `key`.
fn signed(key: &SigningKey, kid: &str, claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!("{}.{}", part(&j!({ "alg": "EdDSA", "kid": kid, "typ": "JWT" })), part(claims));
    let signature: ed25519_dalek::Signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// What a provider at `issuer` that holds says of Bob in answer to the sign-in with
/// `nonce`, issued now, for five minutes.
fn bob(issuer: &str, nonce: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    j!({
        "iss": issuer, "aud": CLIENT_ID, "sub": "bob-at-crafted", "email": "bob@initech.example", "email_verified": true,
        "name": "Bob Porter", "nonce": nonce, "iat": now, "exp": now + 300,
    })
}

/// Tessera at `http://{addr}` with a crafted provider publishing `key` connected as
/// Initech's (initech.example confirmed).
async fn tessera_with_crafted_provider(key: &SigningKey) -> (TestApp, Served) {
    let idp = Served::start(key).await;
    let app = spawn_app_at(|config, addr| {
        config.public_url = Some(format!("http://{addr}"));
        config.sso = None;
    })
    .await;
    connect_initech(&app, &idp.issuer, CLIENT_ID, CLIENT_SECRET, &["passwords_allowed"]).await;
    (app, idp)
}

/// A sign-in started with Bob's email in a fresh browser, which the provider answers with
/// the ID token `id_token` makes of the sign-in's nonce, brought back to Tessera with code
/// `c`, the sign-in's state and the `extra` query parameters: the browser, and where
/// Tessera sent it.
async fn answered(app: &TestApp, idp: &Served, extra: &[(&str, &str)], id_token: impl FnOnce(&str) -> String) -> (Client, String) {
    let browser = new_client();
    let authorize = start_by_email(app, &browser, "bob@initech.example").await;
    assert!(authorize.starts_with(&format!("{}/authorize?", idp.issuer)), "{authorize}");
    let client = format!("client_id={CLIENT_ID}");
    for part in [client.as_str(), "code_challenge_method=S256", "response_type=code", "scope=openid"] {
        assert!(authorize.contains(part), "{part} in {authorize}");
    }
    let (state, nonce) = (param(&authorize, "state"), param(&authorize, "nonce"));
    idp.answer_with(id_token(&nonce));
    let mut query = vec![("code", "c"), ("state", state.as_str())];
    query.extend_from_slice(extra);
    let r = browser.get(app.url("/auth/sso/callback/initech")).query(&query).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    (browser, location(&r))
}

/// A refused case: what it is, the key that signs it, its key id, and the claims it
/// changes, made of the time it is signed at.
type Crafted<'a> = (&'a str, &'a SigningKey, &'a str, fn(i64) -> Value);

#[tokio::test]
async fn an_id_token_that_holds_signs_bob_in_and_each_that_does_not_is_refused() {
    let key = SigningKey::from_bytes(&[7; 32]);
    let unpublished = SigningKey::from_bytes(&[8; 32]);
    let (app, idp) = tessera_with_crafted_provider(&key).await;
    let issuer = idp.issuer.clone();

    // One that holds: Bob is signed in, the code exchanged with PKCE by an authenticated client.
    let head = audit_head(&app).await;
    let (browser, to) = answered(&app, &idp, &[], |nonce| signed(&key, KID, &bob(&issuer, nonce))).await;
    assert_eq!(to, "/entitlements");
    let me = who(&app, &browser).await;
    assert_eq!((me["email"].as_str(), me["customer"]["slug"].as_str()), (Some("bob@initech.example"), Some("initech")), "{me}");
    assert_eq!(audit_kinds_since(&app, head).await, ["user.signed_in"]);
    let requests = idp.token_requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let (body, authorization) = &requests[0];
    for part in ["grant_type=authorization_code", "code=c", "code_verifier=", "redirect_uri="] {
        assert!(body.contains(part), "{part} in {body}");
    }
    assert!(authorization.starts_with("Basic "), "the client authenticates itself: {authorization:?}");

    // What is changed in a token that holds, made of the time it is signed at.
    let cases: [Crafted; 7] = [
        ("another sign-in's nonce", &key, KID, |_| j!({ "nonce": "not-this-sign-ins-nonce" })),
        ("another client's audience", &key, KID, |_| j!({ "aud": "another-client" })),
        ("expired ten minutes ago", &key, KID, |now| j!({ "iat": now - 610, "exp": now - 600 })),
        ("issued ten minutes from now", &key, KID, |now| j!({ "iat": now + 600, "exp": now + 900 })),
        ("signed by a key not published, under the published key's id", &unpublished, KID, |_| j!({})),
        ("signed by a key not published, under an id not published", &unpublished, "k2", |_| j!({})),
        ("claiming another provider as its issuer", &key, KID, |_| j!({ "iss": "http://127.0.0.1:9" })),
    ];
    for (what, signer, kid, changes) in cases {
        let (reads, head) = (idp.key_reads(), audit_head(&app).await);
        let (browser, to) = answered(&app, &idp, &[], |nonce| {
            let mut claims = bob(&issuer, nonce);
            let changes = changes(chrono::Utc::now().timestamp());
            if let (Some(claims), Some(changes)) = (claims.as_object_mut(), changes.as_object()) {
                claims.extend(changes.clone());
            }
            signed(signer, kid, &claims)
        })
        .await;
        assert_eq!(to, "/signin?sso=token", "{what}");
        assert_eq!(who(&app, &browser).await, Value::Null, "{what}");
        assert_eq!(refusals_since(&app, head).await, ["\"token\""], "{what}");
        assert_eq!(audit_kinds_since(&app, head).await, ["user.sso_refused"], "{what}");
        // Keys are read again for a key id not seen yet (the provider may have rotated), only.
        assert_eq!(idp.key_reads() - reads, usize::from(kid != KID), "{what}");
    }
    assert_eq!(idp.token_requests().len(), 1 + cases.len(), "every answer's code was exchanged");
}

#[tokio::test]
async fn an_answer_naming_another_issuer_is_refused_before_its_code_is_used() {
    let key = SigningKey::from_bytes(&[9; 32]);
    let (app, idp) = tessera_with_crafted_provider(&key).await;
    let issuer = idp.issuer.clone();

    // Its own issuer named with the answer (RFC 9207) is as good as none.
    let (browser, to) = answered(&app, &idp, &[("iss", &issuer)], |nonce| signed(&key, KID, &bob(&issuer, nonce))).await;
    assert_eq!(to, "/entitlements");
    assert_eq!(who(&app, &browser).await["email"], "bob@initech.example");

    let (exchanged, head) = (idp.token_requests().len(), audit_head(&app).await);
    let (browser, to) = answered(&app, &idp, &[("iss", "http://127.0.0.1:9")], |nonce| signed(&key, KID, &bob(&issuer, nonce))).await;
    assert_eq!(to, "/signin?sso=state", "another provider's answer (a mix-up)");
    assert_eq!(who(&app, &browser).await, Value::Null);
    assert_eq!(refusals_since(&app, head).await, ["\"state\""]);
    assert_eq!(audit_kinds_since(&app, head).await, ["user.sso_refused"]);
    assert_eq!(idp.token_requests().len(), exchanged, "its code was not sent to the provider");

    // An answer brought back to another provider's callback (the vendor's) than the one this
    // sign-in went to: refused before its code is used, whatever state it carries.
    let browser = new_client();
    let authorize = start_by_email(&app, &browser, "bob@initech.example").await;
    assert!(authorize.contains(&format!("redirect_uri={}", urlencoding_of(&app.url("/auth/sso/callback/initech")))), "{authorize}");
    let state = param(&authorize, "state");
    let (exchanged, head) = (idp.token_requests().len(), audit_head(&app).await);
    let r = browser.get(app.url("/auth/sso/callback")).query(&[("code", "c"), ("state", state.as_str())]).send().await;
    let r = r.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((r.status(), location(&r)), (StatusCode::SEE_OTHER, "/signin?sso=state".to_owned()));
    assert_eq!(who(&app, &browser).await, Value::Null);
    assert_eq!(refusals_since(&app, head).await, ["\"state\""]);
    assert_eq!(idp.token_requests().len(), exchanged, "its code was not sent to the provider");
}

/// `text` as a query string carries it (the characters of a URL escaped).
fn urlencoding_of(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

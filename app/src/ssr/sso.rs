//! Single sign-on through OpenID Connect: the vendor's provider (from the environment) for
//! its staff, and each customer's own provider (saved in the portal) for the people of the
//! email domains the vendor's staff confirmed as the customer's. The authorization code
//! flow with PKCE (S256), a `state` that is used once and bound to the browser's session
//! and to the provider it went to, a `nonce`, and the ID token checked against the
//! provider's keys (signature, issuer, audience, expiry, issue time). The user the
//! provider vouches for is signed in as after a password (made or linked first when the
//! rules allow); every refusal is audited and changes nothing else.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::request::Parts as RequestParts;
use axum::response::{IntoResponse, Redirect, Response};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::AppState;
use crate::engine::CustomerId;
use crate::store::members::providers::{Arrival, ArrivalRefusal, Vouched};
use crate::store::members::sign_ins::Client;

/// Where a single sign-on starts: `GET` for the vendor's provider (`?next=/path` to return
/// there), `POST` with `email` for the provider of the organisation of its confirmed domain.
pub const START_PATH: &str = "/auth/sso/start";
/// Where the vendor's provider sends the browser back: register
/// `<TESSERA_PUBLIC_URL>/auth/sso/callback` with it as the redirect URI, exactly. Each
/// organisation's provider has its own, [`customer_callback_path`], so that an answer can
/// only come back to the sign-in that went to its provider (no mix-up between providers).
pub const CALLBACK_PATH: &str = "/auth/sso/callback";
/// The route of the organisations' callbacks.
pub const CUSTOMER_CALLBACK_ROUTE: &str = "/auth/sso/callback/{slug}";

/// Where organisation `slug`'s provider sends the browser back.
pub fn customer_callback_path(slug: &str) -> String {
    format!("{CALLBACK_PATH}/{slug}")
}
/// The session key holding the sign-in under way.
const PENDING_KEY: &str = "sso_pending";
/// How long a sign-in may take at the provider.
const PENDING_SECS: i64 = 600;
/// Clock difference allowed with the provider, each way.
const SKEW_SECS: i64 = 60;
/// How long the provider's metadata and keys are used before they are read again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// How long a provider that could not be read is not asked again.
const FAILURE_TTL: Duration = Duration::from_secs(30);

/// A provider, as configured (the vendor's) or saved (a customer's). Its `Debug` shows no
/// secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SsoSettings {
    /// The issuer, exactly as the provider names itself.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The provider's name on the sign-in page ("Sign in with …").
    pub name: String,
}

impl std::fmt::Debug for SsoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("name", &self.name)
            .finish()
    }
}

/// The algorithms an ID token may be signed with: the provider's keys, never a secret
/// shared with it.
const ALGORITHMS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

type OidcClient = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet, EndpointMaybeSet>;

/// A provider and what was learnt of it (metadata and keys, read at first use and again
/// after an hour or when a token names a key not seen yet; a failure is remembered for
/// [`FAILURE_TTL`]).
pub struct Provider {
    settings: SsoSettings,
    reach: Reach,
    redirect: RedirectUrl,
    http: openidconnect::reqwest::Client,
    discovered: tokio::sync::Mutex<Discovered>,
}

#[derive(Default)]
struct Discovered {
    metadata: Option<(CoreProviderMetadata, Instant)>,
    failed_at: Option<Instant>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider").field("issuer", &self.settings.issuer).field("name", &self.settings.name).finish_non_exhaustive()
    }
}

/// The customers' providers, made from what the store holds at first use and again after
/// it changes (each keeps what it learnt of its provider meanwhile).
#[derive(Debug, Default)]
pub struct CustomerProviders {
    made: std::sync::Mutex<HashMap<i64, Arc<Provider>>>,
}

impl CustomerProviders {
    /// The provider `customer` saved, or `None`.
    pub async fn get(&self, state: &AppState, customer: CustomerId) -> Result<Option<Arc<Provider>>, Refusal> {
        let saved = state.store.identity_provider_secret(customer).await.map_err(|e| {
            tracing::error!(customer = customer.get(), "single sign-on: the customer's provider could not be read: {e}");
            Refusal::Internal
        })?;
        let Some(saved) = saved else {
            self.made.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&customer.get());
            return Ok(None);
        };
        let settings = SsoSettings {
            issuer: saved.row.issuer.clone(),
            client_id: saved.row.client_id.clone(),
            client_secret: saved.client_secret,
            name: saved.row.name.clone(),
        };
        let callback = customer_callback_path(&saved.slug);
        let mut made = self.made.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(provider) = made.get(&customer.get()).filter(|p| p.settings == settings && p.redirect_path() == callback) {
            return Ok(Some(provider.clone()));
        }
        let reach = Reach::organisation(state.public_url.starts_with("https://"));
        let provider = Arc::new(Provider::new(settings, reach, &state.public_url, &callback).map_err(|e| {
            tracing::error!(customer = customer.get(), "single sign-on: the customer's provider: {e}");
            Refusal::Provider
        })?);
        made.insert(customer.get(), provider.clone());
        Ok(Some(provider))
    }
}

/// Why a single sign-on was refused: the code the sign-in page explains (see
/// [`crate::auth::sso_refusal`]), and what the audit log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The provider could not be reached or described itself wrongly.
    Provider,
    /// The provider answered with an error (the user cancelled, say).
    Denied,
    /// No sign-in under way in this browser, an expired one, or a `state` (or `iss`) that
    /// is not its own.
    State,
    /// The code was refused by the provider (used already, or not issued for us).
    Code,
    /// The ID token did not hold: signature, issuer, audience, times or nonce.
    Token,
    /// The provider does not vouch for the email.
    Unverified,
    /// No user may sign in with that identity here, or the user is disabled.
    Unknown,
    /// The email's domain is not one this provider answers for.
    Domain,
    /// The email typed at the start is not one of a domain with single sign-on.
    NoDomain,
    /// The email typed at the start is not an email.
    Email,
    /// Tessera could not finish the sign-in (its database, say).
    Internal,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Provider => "provider",
            Refusal::Denied => "denied",
            Refusal::State => "state",
            Refusal::Code => "code",
            Refusal::Token => "token",
            Refusal::Unverified => "unverified",
            Refusal::Unknown => "unknown",
            Refusal::Domain => "domain",
            Refusal::NoDomain => "nodomain",
            Refusal::Email => "email",
            Refusal::Internal => "internal",
        }
    }
}

/// The sign-in under way, kept in the browser's session until the provider answers.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    next: Option<String>,
    at: i64,
    /// The provider it went to: a customer's (its id), else the vendor's; and its issuer.
    customer: Option<i64>,
    issuer: String,
    /// The path the provider's answer must come back to.
    callback: String,
}

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct StartForm {
    /// The email typed on the sign-in page: its domain names the organisation's provider.
    email: Option<String>,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    /// The provider's issuer (RFC 9207), when it says it.
    iss: Option<String>,
}

/// Who the provider vouched for.
#[derive(Debug, Clone)]
struct Identity {
    email: String,
    name: Option<String>,
}

impl Provider {
    /// The provider of `settings`, answering to `callback` (a path) under `public_url`.
    pub fn new(settings: SsoSettings, reach: Reach, public_url: &str, callback: &str) -> Result<Provider, String> {
        IssuerUrl::new(settings.issuer.clone()).map_err(|e| format!("the issuer is not a URL: {e}"))?;
        let redirect = RedirectUrl::new(format!("{}{callback}", public_url.trim_end_matches('/')))
            .map_err(|e| format!("the single sign-on callback is not a URL: {e}"))?;
        // The provider's answers are read as they come: a redirect is never followed.
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("the single sign-on HTTP client: {e}"))?;
        Ok(Provider { settings, reach, redirect, http, discovered: Default::default() })
    }

    /// The path its answers come back to.
    fn redirect_path(&self) -> String {
        self.redirect.url().path().to_owned()
    }

    /// The provider's name on the sign-in page.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// The issuer, as audit events name the provider.
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// The provider's metadata and keys: read now when never read, older than an hour,
    /// or `fresh` is asked for; not asked again for a while after it could not be read.
    async fn metadata(&self, fresh: bool) -> Result<CoreProviderMetadata, Refusal> {
        let mut discovered = self.discovered.lock().await;
        if let Some((metadata, at)) = discovered.metadata.as_ref() {
            if !fresh && at.elapsed() < METADATA_TTL {
                return Ok(metadata.clone());
            }
        }
        if discovered.failed_at.is_some_and(|at| at.elapsed() < FAILURE_TTL) {
            return Err(Refusal::Provider);
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(|_| Refusal::Provider)?;
        match CoreProviderMetadata::discover_async(issuer, &self.http).await {
            Ok(metadata) => {
                *discovered = Discovered { metadata: Some((metadata.clone(), Instant::now())), failed_at: None };
                Ok(metadata)
            }
            Err(e) => {
                tracing::error!(issuer = %self.settings.issuer, "single sign-on discovery failed: {e}");
                discovered.failed_at = Some(Instant::now());
                Err(Refusal::Provider)
            }
        }
    }

    fn client(&self, metadata: CoreProviderMetadata) -> Result<OidcClient, Refusal> {
        let token = metadata.token_endpoint().cloned().ok_or_else(|| {
            tracing::error!(issuer = %self.settings.issuer, "the provider names no token endpoint");
            Refusal::Provider
        })?;
        // What Tessera itself calls (keys, token) is held to the issuer's own rules: https,
        // never an address inside a private network.
        for endpoint in [token.as_str(), metadata.jwks_uri().as_str()] {
            if !issuer_allowed(endpoint, self.reach) {
                tracing::error!(issuer = %self.settings.issuer, %endpoint, "the provider names an endpoint Tessera does not call");
                return Err(Refusal::Provider);
            }
        }
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect.clone())
        .set_token_uri(token))
    }

    /// The provider's address to send the browser to, and the sign-in now under way
    /// (for `customer`'s provider, or the vendor's).
    async fn authorization(&self, next: Option<String>, customer: Option<i64>, now: i64) -> Result<(String, Pending), Refusal> {
        let client = self.client(self.metadata(false).await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let pending = Pending {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            next,
            at: now,
            customer,
            issuer: self.settings.issuer.clone(),
            callback: self.redirect_path(),
        };
        Ok((url.to_string(), pending))
    }

    /// Who the provider's answer `code` to the sign-in `pending` vouches for.
    async fn verified_identity(&self, pending: Pending, code: String, now: i64) -> Result<Identity, (Refusal, Option<String>)> {
        let client = self.client(self.metadata(false).await.map_err(|r| (r, None))?).map_err(|r| (r, None))?;
        let answer = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| {
                tracing::warn!(issuer = %self.settings.issuer, "single sign-on code refused: {e}");
                (Refusal::Code, None)
            })?;
        let token = answer.id_token().ok_or((Refusal::Token, None))?;
        let nonce = Nonce::new(pending.nonce);
        let check = |client: &OidcClient| {
            let verifier = client
                .id_token_verifier()
                .set_allowed_algs(ALGORITHMS)
                .set_time_fn(move || at(now - SKEW_SECS))
                .set_issue_time_verifier_fn(move |issued| {
                    let issued = issued.timestamp();
                    if issued > now + SKEW_SECS {
                        Err(format!("issued {} s in the future", issued - now))
                    } else if issued < now - PENDING_SECS - SKEW_SECS {
                        Err(format!("issued {} s ago", now - issued))
                    } else {
                        Ok(())
                    }
                });
            token.claims(&verifier, &nonce).map(|c| {
                let name = c.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_owned());
                (c.email().map(|e| e.as_str().to_owned()), c.email_verified(), name)
            })
        };
        let claims = match check(&client) {
            // A key not seen yet: the provider may have rotated its keys since they were read.
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
                let client = self.client(self.metadata(true).await.map_err(|r| (r, None))?).map_err(|r| (r, None))?;
                check(&client)
            }
            other => other,
        };
        let (email, verified, name) = claims.map_err(|e| {
            tracing::warn!(issuer = %self.settings.issuer, "single sign-on ID token refused: {e}");
            (Refusal::Token, None)
        })?;
        let email = email.map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty()).ok_or((Refusal::Unverified, None))?;
        if verified != Some(true) {
            return Err((Refusal::Unverified, Some(email)));
        }
        // An address Tessera would take from a person too, or none.
        let email = crate::engine::Email::parse(&email).map_err(|_| (Refusal::Unknown, None))?.into_inner();
        Ok(Identity { email, name })
    }
}

/// The host (and port) of `url`.
pub fn host_of(url: &str) -> &str {
    url.split("://").nth(1).unwrap_or_default().split(['/', '?', '#']).next().unwrap_or_default()
}

/// Where a provider may be: over https, or, when `loopback_http`, over http on this machine
/// only (keys, secret, code and token would travel in clear); at an address of a private,
/// link-local or shared network only when `private_networks` (the vendor's own provider,
/// configured by the deployment; never an organisation's, whose answers must not be a way
/// into the deployment's network).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    pub loopback_http: bool,
    pub private_networks: bool,
}

impl Reach {
    /// The vendor's provider, from the deployment's own configuration.
    pub const VENDOR: Reach = Reach { loopback_http: true, private_networks: true };

    /// An organisation's provider, on a deployment served over https (`https`) or not.
    pub fn organisation(https: bool) -> Reach {
        Reach { loopback_http: !https, private_networks: false }
    }
}

/// Whether `url` may name a provider or one of its endpoints, within `reach`. Never a user
/// name or password in it; a host name is not resolved here.
pub fn issuer_allowed(url: &str, reach: Reach) -> bool {
    let Reach { loopback_http, private_networks } = reach;
    use std::net::IpAddr;
    let Ok(parsed) = openidconnect::url::Url::parse(url) else { return false };
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.query().is_some() || parsed.fragment().is_some() {
        return false;
    }
    let ip = match parsed.host() {
        Some(openidconnect::url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(openidconnect::url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(openidconnect::url::Host::Domain(_)) => None,
        None => return false,
    };
    let ip = ip.map(|ip| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    });
    let loopback = ip.map_or(parsed.host_str() == Some("localhost"), |ip| ip.is_loopback());
    let private = ip.is_some_and(|ip| match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private() || v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast() || (a == 100 && (b & 0xc0) == 64)
        }
        IpAddr::V6(v6) => v6.is_unspecified() || (v6.segments()[0] & 0xfe00) == 0xfc00 || (v6.segments()[0] & 0xffc0) == 0xfe80,
    });
    match parsed.scheme() {
        "https" => (!private || private_networks) && (!loopback || loopback_http),
        "http" => loopback_http && loopback,
        _ => false,
    }
}

fn at(secs: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// Whether `a` and `b` are equal, in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// `GET /auth/sso/start`: sends the browser to the vendor's provider (the sign-in page's
/// "Sign in with …" link).
pub async fn start(State(state): State<AppState>, session: Session, Query(query): Query<StartQuery>) -> Response {
    let Some(sso) = state.sso.clone() else { return Redirect::to("/signin").into_response() };
    let next = query.next.as_deref().and_then(crate::auth::local_path).map(str::to_owned);
    match begin(&session, &sso, None, next).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(refusal) => refused_page(refusal),
    }
}

/// `POST /auth/sso/start` (the sign-in page's single sign-on form, `email` and `next`):
/// sends the browser to the provider of the organisation whose confirmed domain the email
/// is of, or to the vendor's for a vendor domain whose new people may join. A form posted,
/// so that no other site can start a sign-in in someone's browser (the boundary refuses a
/// cross-site post). The answer is a page that moves on by itself, since the page's
/// Content-Security-Policy (`form-action 'self'`) stops a form's redirect to another site.
pub async fn start_by_email(State(state): State<AppState>, session: Session, axum::Form(form): axum::Form<StartForm>) -> Response {
    let next = form.next.as_deref().and_then(crate::auth::local_path).map(str::to_owned);
    let (provider, customer) = match provider_for_email(&state, form.email.as_deref().unwrap_or_default()).await {
        Ok(found) => found,
        Err(refusal) => return refused_page(refusal),
    };
    match begin(&session, &provider, customer, next).await {
        Ok(url) => moving_on(&url, provider.name()),
        Err(refusal) => refused_page(refusal),
    }
}

/// Starts a sign-in at `provider` (`customer`'s own, or the vendor's) in `session`: the
/// provider's address to send the browser to.
async fn begin(session: &Session, provider: &Provider, customer: Option<CustomerId>, next: Option<String>) -> Result<String, Refusal> {
    let (url, pending) = provider.authorization(next, customer.map(CustomerId::get), crate::store::now()).await?;
    session.insert(PENDING_KEY, &pending).await.map_err(|e| {
        tracing::error!("session write: {e}");
        Refusal::Internal
    })?;
    Ok(url)
}

/// The provider that signs in the owner of `email`: the provider of the customer whose
/// confirmed domain it is, else the vendor's for a vendor domain whose new people may join
/// (by the domain alone, so that the answer tells nothing of which accounts exist).
async fn provider_for_email(state: &AppState, email: &str) -> Result<(Arc<Provider>, Option<CustomerId>), Refusal> {
    let email = crate::engine::Email::parse(email).map_err(|_| Refusal::Email)?;
    let domain = crate::store::members::providers::domain_of(email.as_str()).ok_or(Refusal::Email)?;
    let internal = |e: crate::store::StoreError| {
        tracing::error!("single sign-on routing: {e}");
        Refusal::Internal
    };
    if let Some(customer) = state.store.customer_of_domain(domain).await.map_err(internal)? {
        let provider = state.customer_sso.get(state, customer).await?.ok_or(Refusal::NoDomain)?;
        return Ok((provider, Some(customer)));
    }
    let Some(vendor) = state.sso.clone() else { return Err(Refusal::NoDomain) };
    if state.store.staff_domains().await.map_err(internal)?.iter().any(|d| d == domain) {
        Ok((vendor, None))
    } else {
        Err(Refusal::NoDomain)
    }
}

/// `GET /auth/sso/callback` (the vendor's provider) and `/auth/sso/callback/{slug}` (an
/// organisation's): the provider's answer. Signs the user in, or sends them back to the
/// sign-in page with the reason. The sign-in under way is used once, whatever comes of it;
/// an answer that comes back to another provider's callback than the one it went to, or
/// without its `state`, is refused before any code is used. A refusal is audited when this
/// browser had a sign-in under way (once per sign-in); an answer to none is only logged,
/// so that no one can write to the audit log without starting a sign-in.
pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    parts: RequestParts,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let client = super::auth::client_of(&parts);
    let Some(pending) = session.remove::<Pending>(PENDING_KEY).await.ok().flatten() else {
        tracing::warn!(address = %client.address, "a single sign-on answer came to a browser with none under way");
        return refused_page(Refusal::State);
    };
    let (issuer, customer) = (pending.issuer.clone(), pending.customer);
    let refused = |refusal: Refusal, email: Option<String>| {
        let (state, client) = (state.clone(), client.clone());
        let (issuer, now) = (issuer.clone(), crate::store::now());
        async move {
            if let Err(e) = state.store.record_sso_refusal(&issuer, customer, email.as_deref(), refusal.code(), &client, now).await {
                tracing::error!("audit of a refused single sign-on: {e}");
            }
            refused_page(refusal)
        }
    };
    // Not this sign-in's answer: without its `state`, or come back to another provider's
    // callback (a provider that sends its users' answers to another's address).
    let own_state = query.state.as_deref().is_some_and(|returned| same(&pending.state, returned));
    if !own_state || parts.uri.path() != pending.callback {
        return refused(Refusal::State, None).await;
    }
    match sign_in(&state, &session, &client, pending, query).await {
        Ok(to) => Redirect::to(&to).into_response(),
        Err((refusal, email)) => refused(refusal, email).await,
    }
}

/// The provider a sign-in under way went to, as it is now: refused when it was removed or
/// changed its issuer since.
async fn provider_of(state: &AppState, pending: &Pending) -> Result<(Arc<Provider>, Arrival), Refusal> {
    let (provider, arrival) = match pending.customer {
        Some(customer) => {
            let customer = CustomerId(customer);
            (state.customer_sso.get(state, customer).await?.ok_or(Refusal::Provider)?, Arrival::Customer(customer))
        }
        None => (state.sso.clone().ok_or(Refusal::Provider)?, Arrival::Vendor),
    };
    if provider.issuer() != pending.issuer {
        return Err(Refusal::Provider);
    }
    Ok((provider, arrival))
}

async fn sign_in(
    state: &AppState,
    session: &Session,
    client: &Client,
    pending: Pending,
    query: CallbackQuery,
) -> Result<String, (Refusal, Option<String>)> {
    let now = crate::store::now();
    // The provider's answers, an error among them, count only under this browser's state
    // (compared by the caller), and only for a while.
    if now - pending.at > PENDING_SECS {
        return Err((Refusal::State, None));
    }
    // An answer that names another issuer than the one this sign-in went to is another
    // provider's (a mix-up).
    if query.iss.as_deref().is_some_and(|iss| iss != pending.issuer) {
        return Err((Refusal::State, None));
    }
    let Some(code) = query.code.filter(|_| query.error.is_none()) else { return Err((Refusal::Denied, None)) };
    let (provider, arrival) = provider_of(state, &pending).await.map_err(|r| (r, None))?;
    let next = pending.next.clone();
    let identity = provider.verified_identity(pending, code, now).await?;
    let email = identity.email.clone();
    let failed = |e: &dyn std::fmt::Display| {
        tracing::error!("single sign-on: {e}");
        (Refusal::Internal, Some(email.clone()))
    };
    let vouched = Vouched { arrival, issuer: provider.issuer(), email: &identity.email, name: identity.name.as_deref() };
    let handle = super::auth::new_sign_in_handle();
    let arrived = state.store.arrive_through_sso(&vouched, &handle, client, now).await.map_err(|e| failed(&e))?;
    let arrived = arrived.map_err(|refusal| {
        let refusal = match refusal {
            ArrivalRefusal::Domain => Refusal::Domain,
            ArrivalRefusal::Unknown => Refusal::Unknown,
        };
        (refusal, Some(email.clone()))
    })?;
    super::auth::attach_sign_in(session, &handle, now).await.map_err(|e| failed(&e))?;
    let current = state.store.find_current_user(arrived.user_id).await.map_err(|e| failed(&e))?.ok_or_else(|| failed(&"user gone"))?;
    tracing::info!(user.id = current.id, created = arrived.created, "signed in through single sign-on");
    Ok(next.unwrap_or_else(|| current.home().to_owned()))
}

fn refused_page(refusal: Refusal) -> Response {
    Redirect::to(&format!("/signin?sso={}", refusal.code())).into_response()
}

/// A page that moves on to `url` by itself, with a link for a browser that does not.
fn moving_on(url: &str, name: &str) -> Response {
    let (url, name) = (escape(url), escape(name));
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url={url}\">\
         <title>Signing in with {name}</title></head><body><p>Taking you to {name}\u{2026} <a href=\"{url}\">Continue</a></p></body></html>"
    );
    axum::response::Html(page).into_response()
}

/// `text` safe inside HTML text and double-quoted attributes.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_organisations_provider_is_https_at_a_public_address() {
        let organisation = Reach::organisation(true);
        assert!(issuer_allowed("https://login.initech.example", organisation));
        assert!(issuer_allowed("https://login.initech.example/realms/initech", organisation));
        for refused in [
            "http://login.initech.example",
            "https://10.0.0.5/",
            "https://192.168.1.2",
            "https://169.254.169.254/latest",
            "https://100.64.0.1",
            "https://[fd00::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://127.0.0.1:8443",
            "https://localhost",
            "http://localhost:1@evil.example",
            "https://user:pw@login.initech.example",
            "https://login.initech.example/?a=b",
            "ftp://login.initech.example",
            "not a url",
        ] {
            assert!(!issuer_allowed(refused, organisation), "{refused}");
        }
        // A deployment served over http, on this machine, may use a provider on this machine.
        let local = Reach::organisation(false);
        assert!(issuer_allowed("http://localhost:4000", local));
        assert!(issuer_allowed("http://127.0.0.1:4000", local));
        assert!(!issuer_allowed("http://10.0.0.5", local));
        // The vendor's own provider, configured by the deployment, may be inside its network.
        assert!(issuer_allowed("https://10.0.0.5/realms/staff", Reach::VENDOR));
        assert!(!issuer_allowed("http://10.0.0.5/realms/staff", Reach::VENDOR));
    }
}

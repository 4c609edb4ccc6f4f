//! Single sign-on through the vendor's OpenID Connect provider: the authorization code
//! flow with PKCE (S256), a `state` that is used once and bound to the browser's session,
//! a `nonce`, and the ID token checked against the provider's keys (signature, issuer,
//! audience, expiry, issue time). A vendor user whose verified email the provider names
//! is signed in as after a password; every refusal is audited and changes nothing else.

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
use crate::store::members::sign_ins::Client;

/// Where a sign-in through the vendor's provider starts (`?next=/path` to return there).
pub const START_PATH: &str = "/auth/sso/start";
/// Where the provider sends the browser back: register `<TESSERA_PUBLIC_URL>/auth/sso/callback`
/// with the provider as the redirect URI, exactly.
pub const CALLBACK_PATH: &str = "/auth/sso/callback";
/// The session key holding the sign-in under way.
const PENDING_KEY: &str = "sso_pending";
/// How long a sign-in may take at the provider.
const PENDING_SECS: i64 = 600;
/// Clock difference allowed with the provider, each way.
const SKEW_SECS: i64 = 60;
/// How long the provider's metadata and keys are used before they are read again.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// The vendor's provider, as configured. Its `Debug` shows no secret.
#[derive(Clone)]
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

/// The vendor's provider and what was learnt of it (metadata and keys, read at first use
/// and again after an hour or when a token names a key not seen yet).
pub struct VendorSso {
    settings: SsoSettings,
    redirect: RedirectUrl,
    http: openidconnect::reqwest::Client,
    discovered: tokio::sync::Mutex<Option<(CoreProviderMetadata, Instant)>>,
}

impl std::fmt::Debug for VendorSso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VendorSso").field("issuer", &self.settings.issuer).field("name", &self.settings.name).finish_non_exhaustive()
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
    /// No sign-in under way in this browser, an expired one, or a `state` that is not its own.
    State,
    /// The code was refused by the provider (used already, or not issued for us).
    Code,
    /// The ID token did not hold: signature, issuer, audience, times or nonce.
    Token,
    /// The provider does not vouch for the email.
    Unverified,
    /// No vendor user has that email, or the user is disabled.
    Unknown,
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
}

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

impl VendorSso {
    /// The provider of `settings`, answering to `public_url`'s callback.
    pub fn new(settings: SsoSettings, public_url: &str) -> Result<VendorSso, String> {
        IssuerUrl::new(settings.issuer.clone()).map_err(|e| format!("TESSERA_OIDC_ISSUER is not a URL: {e}"))?;
        let redirect = RedirectUrl::new(format!("{}{CALLBACK_PATH}", public_url.trim_end_matches('/')))
            .map_err(|e| format!("the single sign-on callback is not a URL: {e}"))?;
        // The provider's answers are read as they come: a redirect is never followed.
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("the single sign-on HTTP client: {e}"))?;
        Ok(VendorSso { settings, redirect, http, discovered: tokio::sync::Mutex::new(None) })
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
    /// or `fresh` is asked for.
    async fn metadata(&self, fresh: bool) -> Result<CoreProviderMetadata, Refusal> {
        let mut discovered = self.discovered.lock().await;
        if let Some((metadata, at)) = discovered.as_ref() {
            if !fresh && at.elapsed() < METADATA_TTL {
                return Ok(metadata.clone());
            }
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(|_| Refusal::Provider)?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http).await.map_err(|e| {
            tracing::error!(issuer = %self.settings.issuer, "single sign-on discovery failed: {e}");
            Refusal::Provider
        })?;
        *discovered = Some((metadata.clone(), Instant::now()));
        Ok(metadata)
    }

    fn client(&self, metadata: CoreProviderMetadata) -> Result<OidcClient, Refusal> {
        let token = metadata.token_endpoint().cloned().ok_or_else(|| {
            tracing::error!(issuer = %self.settings.issuer, "the provider names no token endpoint");
            Refusal::Provider
        })?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect.clone())
        .set_token_uri(token))
    }

    /// The provider's address to send the browser to, and the sign-in now under way.
    async fn authorization(&self, next: Option<String>, now: i64) -> Result<(String, Pending), Refusal> {
        let client = self.client(self.metadata(false).await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let pending =
            Pending { state: state.secret().clone(), nonce: nonce.secret().clone(), verifier: verifier.secret().clone(), next, at: now };
        Ok((url.to_string(), pending))
    }

    /// The verified email of the provider's answer `code` to the sign-in `pending`.
    async fn verified_email(&self, pending: Pending, code: String, now: i64) -> Result<String, (Refusal, Option<String>)> {
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
            token.claims(&verifier, &nonce).map(|c| (c.email().map(|e| e.as_str().to_owned()), c.email_verified()))
        };
        let claims = match check(&client) {
            // A key not seen yet: the provider may have rotated its keys since they were read.
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
                let client = self.client(self.metadata(true).await.map_err(|r| (r, None))?).map_err(|r| (r, None))?;
                check(&client)
            }
            other => other,
        };
        let (email, verified) = claims.map_err(|e| {
            tracing::warn!(issuer = %self.settings.issuer, "single sign-on ID token refused: {e}");
            (Refusal::Token, None)
        })?;
        let email = email.map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty()).ok_or((Refusal::Unverified, None))?;
        if verified != Some(true) {
            return Err((Refusal::Unverified, Some(email)));
        }
        Ok(email)
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

/// `GET /auth/sso/start`: sends the browser to the vendor's provider.
pub async fn start(State(state): State<AppState>, session: Session, Query(query): Query<StartQuery>) -> Response {
    let Some(sso) = state.sso.clone() else { return Redirect::to("/signin").into_response() };
    let now = crate::store::now();
    let next = query.next.as_deref().and_then(crate::auth::local_path).map(str::to_owned);
    match sso.authorization(next, now).await {
        Ok((url, pending)) => match session.insert(PENDING_KEY, &pending).await {
            Ok(()) => Redirect::to(&url).into_response(),
            Err(e) => {
                tracing::error!("session write: {e}");
                refused_page(Refusal::Provider)
            }
        },
        Err(refusal) => refused_page(refusal),
    }
}

/// `GET /auth/sso/callback`: the provider's answer. Signs the user in, or sends them back
/// to the sign-in page with the reason. A refusal is audited when this browser had a
/// sign-in under way; an answer to none is only logged, so that no one can write to the
/// audit log without starting a sign-in.
pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    parts: RequestParts,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let Some(sso) = state.sso.clone() else { return Redirect::to("/signin").into_response() };
    let client = super::auth::client_of(&parts);
    // Used once, whatever comes of it.
    let Some(pending) = session.remove::<Pending>(PENDING_KEY).await.ok().flatten() else {
        tracing::warn!(address = %client.address, "a single sign-on answer came to a browser with none under way");
        return refused_page(Refusal::State);
    };
    match sign_in(&state, &sso, &session, &client, pending, query).await {
        Ok(to) => Redirect::to(&to).into_response(),
        Err((refusal, email)) => {
            if let Err(e) =
                state.store.record_sso_refusal(sso.issuer(), email.as_deref(), refusal.code(), &client, crate::store::now()).await
            {
                tracing::error!("audit of a refused single sign-on: {e}");
            }
            refused_page(refusal)
        }
    }
}

async fn sign_in(
    state: &AppState,
    sso: &Arc<VendorSso>,
    session: &Session,
    client: &Client,
    pending: Pending,
    query: CallbackQuery,
) -> Result<String, (Refusal, Option<String>)> {
    let now = crate::store::now();
    // The provider's answers, an error among them, count only under this browser's state.
    let Some(returned) = query.state else { return Err((Refusal::State, None)) };
    if now - pending.at > PENDING_SECS || !same(&pending.state, &returned) {
        return Err((Refusal::State, None));
    }
    let Some(code) = query.code.filter(|_| query.error.is_none()) else { return Err((Refusal::Denied, None)) };
    let next = pending.next.clone();
    let email = sso.verified_email(pending, code, now).await?;
    let failed = |e: &dyn std::fmt::Display| {
        tracing::error!("single sign-on: {e}");
        (Refusal::Internal, Some(email.clone()))
    };
    let unknown = || (Refusal::Unknown, Some(email.clone()));
    let user = state.store.find_credentials(&email).await.map_err(|e| failed(&e))?.ok_or_else(unknown)?;
    // The vendor's provider signs in the vendor's people only.
    if user.disabled || user.customer_id.is_some() {
        return Err(unknown());
    }
    let current = state.store.find_current_user(user.id).await.map_err(|e| failed(&e))?.ok_or_else(unknown)?;
    // The last step: a sign-in that has started is not then refused.
    super::auth::begin_sign_in(session, state, user.id, client, Some(sso.issuer())).await.map_err(|e| failed(&e))?;
    tracing::info!(user.id = current.id, "signed in through single sign-on");
    Ok(next.unwrap_or_else(|| current.home().to_owned()))
}

fn refused_page(refusal: Refusal) -> Response {
    Redirect::to(&format!("/signin?sso={}", refusal.code())).into_response()
}

//! The state every handler and server function reaches.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::enforcer::Enforcer;
use super::tokens::TokenSigner;
use crate::store::Store;

/// Shared application state: the site options, the store, the enforcement cache and the
/// token signer. Cloned per request, so it is one `Arc`.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Parts>);

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct Parts {
    pub leptos_options: LeptosOptions,
    pub store: Store,
    pub enforcer: Arc<Enforcer>,
    pub tokens: Arc<TokenSigner>,
    /// The enforcement API's per-key request budgets.
    pub limiter: super::rate_limit::RateLimiter,
    /// Where this deployment is reached (`https://licensing.example.com`): the issuer of
    /// its licences.
    pub public_url: String,
    /// How long sign-ins last: idle and in all.
    pub sessions: crate::store::members::sign_ins::SessionPolicy,
    /// The turns of password hashing.
    pub hashing: super::password::HashGate,
    /// The vendor's single sign-on provider, when one is configured.
    pub sso: Option<Arc<super::sso::Provider>>,
    /// The customers' own single sign-on providers, made as they are used.
    pub customer_sso: super::sso::CustomerProviders,
    /// How webhook deliveries are retried and where endpoints may be.
    pub webhooks: crate::store::webhooks::WebhookPolicy,
    /// The dashboard's charts, drawn in the background.
    pub activity: super::activity::Kept<crate::dashboard::Activity>,
    /// The customers near a limit, read from memory in the background.
    pub near_limit: super::activity::Kept<super::activity::NearLimitReading>,
}

impl AppState {
    /// Bundles the parts.
    pub fn new(parts: Parts) -> AppState {
        AppState(Arc::new(parts))
    }

    /// The state of the current request, as `leptos_routes` provides it.
    pub fn current() -> Result<AppState, crate::error::AppError> {
        leptos::prelude::use_context::<AppState>().ok_or_else(|| super::internal("state", "AppState missing from the request context"))
    }
}

impl Deref for AppState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

//! The state every handler and server function reaches.

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::store::Store;

/// Shared application state: the site options, the store and the enforcement cache.
#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: Store,
    pub enforcer: std::sync::Arc<super::enforcer::Enforcer>,
    pub tokens: std::sync::Arc<super::tokens::TokenSigner>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// The state of the current request, as `leptos_routes` provides it.
    pub fn current() -> Result<AppState, crate::error::AppError> {
        leptos::prelude::use_context::<AppState>()
            .ok_or_else(|| super::internal("state", "AppState missing from the request context"))
    }
}

//! Server-side helpers: the application state, sessions, passwords and the
//! authorisation checks every server function starts with.

pub mod auth;
pub mod changes;
pub mod enforcer;
pub mod password;
pub mod rate_limit;
pub mod session;
pub mod state;
pub mod tokens;

pub use state::AppState;

use crate::error::AppError;
use crate::store::StoreError;

/// Logs an internal failure once, with its chain, and returns the opaque error the
/// client sees.
pub fn internal(context: &str, err: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %err, "{context}");
    AppError::Internal
}

/// Maps a store error to what the client may know: `NotFound` keeps its noun, the rest
/// is logged and made opaque.
pub fn from_store(what: &str, err: StoreError) -> AppError {
    match err {
        StoreError::NotFound => AppError::NotFound(what.to_owned()),
        other => internal(what, other),
    }
}

/// A fresh random token for a link (an invitation) and the hash that is stored of it.
pub fn new_token() -> (String, String) {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = crate::store::api_keys::hash_api_key(&token);
    (token, hash)
}

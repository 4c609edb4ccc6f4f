//! Server-side helpers: the application state, sessions, passwords, the guard every
//! server function starts with and the parsing of what forms send.

pub mod activity;
pub mod auth;
pub mod changes;
pub mod checkpoints;
pub mod csv;
pub mod enforcer;
pub mod exports;
pub mod forms;
pub mod licences;
pub mod outcome;
pub mod password;
pub mod rate_limit;
pub mod session;
pub mod sso;
pub mod state;
pub mod tokens;
pub mod webhooks;

pub use state::AppState;

use crate::error::AppError;
use crate::store::StoreError;

/// Logs an internal failure once, with its chain, and returns the opaque error the
/// client sees.
pub fn internal(context: &str, err: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %err, "{context}");
    AppError::Internal
}

/// What a server function makes of a store result whose row may be missing; every other
/// store error goes as [`AppError::from`] says.
pub trait StoreResultExt<T> {
    /// `NotFound(noun)` when the row is missing.
    fn or_not_found(self, noun: &str) -> Result<T, AppError>;

    /// `refusal()` when the row is missing (a form's lookup: the field at fault).
    fn or_when_missing(self, refusal: impl FnOnce() -> AppError) -> Result<T, AppError>;
}

impl<T> StoreResultExt<T> for Result<T, StoreError> {
    #[track_caller]
    fn or_not_found(self, noun: &str) -> Result<T, AppError> {
        self.or_when_missing(|| AppError::NotFound(noun.to_owned()))
    }

    #[track_caller]
    fn or_when_missing(self, refusal: impl FnOnce() -> AppError) -> Result<T, AppError> {
        match self {
            Ok(value) => Ok(value),
            Err(StoreError::NotFound) => Err(refusal()),
            Err(other) => Err(AppError::from(other)),
        }
    }
}

/// A fresh random token for a link (an invitation) and the hash that is stored of it.
pub fn new_token() -> (String, String) {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = crate::store::keys::api_keys::hash_api_key(&token);
    (token, hash)
}

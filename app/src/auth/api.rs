//! Sign-in, sign-out and "who am I", as server functions.

use leptos::prelude::*;

use super::CurrentUser;
use crate::error::AppError;

/// The signed-in user, or `None` for a visitor.
#[server(prefix = "/api", endpoint = "whoami")]
pub async fn get_current_user() -> Result<Option<CurrentUser>, AppError> {
    crate::ssr::auth::current_user().await
}

/// Signs in with email and password, starts a new session (a fresh id) and sends the
/// browser to `next` when it is a local path, else to the user's home page.
/// Errors: `Invalid` for an empty or malformed field; `BadCredentials`, the same for
/// an unknown email, a wrong password or a disabled account.
#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String, next: Option<String>) -> Result<CurrentUser, AppError> {
    use crate::ssr::auth::start_session;
    use crate::ssr::password::{verify_nothing, verify_password};
    use crate::ssr::{internal, AppState};

    let email = crate::ssr::forms::email("email", &email)?;
    if password.is_empty() {
        return Err(AppError::invalid("password", "Enter your password."));
    }
    if password.len() > 1024 {
        return Err(AppError::invalid("password", "That password is too long."));
    }
    let state = AppState::current()?;
    let credentials = state.store.find_credentials(email.as_str()).await?;

    // Verification is slow on purpose: keep it off the async workers.
    let user = tokio::task::spawn_blocking(move || match credentials {
        Some(c) if !c.disabled => match &c.password_hash {
            Some(hash) if verify_password(&password, hash) => Some(c),
            _ => None,
        },
        _ => {
            verify_nothing(&password);
            None
        }
    })
    .await
    .map_err(|e| internal("password check", e))?;
    let Some(user) = user else {
        tracing::info!(email = %email, "sign-in refused");
        return Err(AppError::BadCredentials);
    };

    start_session(user.id).await?;
    state.store.record_sign_in(&user, crate::store::now()).await?;
    let current = state.store.find_current_user(user.id).await?.ok_or(AppError::BadCredentials)?;
    tracing::info!(user.id = current.id, "signed in");
    let target = next.as_deref().and_then(super::local_path).unwrap_or(current.home());
    leptos_axum::redirect(target);
    Ok(current)
}

/// Ends the session on the server and sends the browser to the sign-in page.
#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let session = crate::ssr::auth::session().await?;
    session.flush().await.map_err(|e| crate::ssr::internal("session flush", e))?;
    leptos_axum::redirect("/signin");
    Ok(())
}

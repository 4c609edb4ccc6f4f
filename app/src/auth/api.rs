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
    use crate::ssr::auth::{session, USER_ID_KEY};
    use crate::ssr::password::{verify_nothing, verify_password};
    use crate::ssr::{internal, AppState};

    let email = parse_email(&email)?;
    if password.is_empty() {
        return Err(AppError::invalid("password", "Enter your password."));
    }
    if password.len() > 1024 {
        return Err(AppError::invalid("password", "That password is too long."));
    }
    let state = AppState::current()?;
    let credentials = state.store.find_credentials(&email).await.map_err(|e| internal("find credentials", e))?;

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

    let session = session().await?;
    // A new id at sign-in: a session id planted before sign-in is worthless after it.
    session.cycle_id().await.map_err(|e| internal("session cycle", e))?;
    session.insert(USER_ID_KEY, user.id).await.map_err(|e| internal("session write", e))?;
    state.store.record_sign_in(&user, crate::store::now()).await.map_err(|e| internal("audit sign-in", e))?;
    let current = state.store.find_current_user(user.id).await.map_err(|e| internal("load user", e))?.ok_or(AppError::BadCredentials)?;
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

/// Trims and checks an email address; `Invalid` on the `email` field when it is empty
/// or not shaped like `name@domain`.
pub fn parse_email(raw: &str) -> Result<String, AppError> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err(AppError::invalid("email", "Enter your email address."));
    }
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.'))
        && !email.chars().any(char::is_whitespace)
        && email.matches('@').count() == 1;
    if valid {
        Ok(email)
    } else {
        Err(AppError::invalid("email", "Enter an email address like name@example.com."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(parse_email("  Ada@Initech.Example ").ok().as_deref(), Some("ada@initech.example"));
    }

    #[test]
    fn malformed_emails_are_refused_on_the_email_field() {
        for bad in ["", "   ", "ada", "ada@", "@initech.example", "ada@initech", "a b@x.example", "a@b@c.example", "ada@.example"] {
            let err = parse_email(bad).err();
            assert!(err.as_ref().and_then(|e| e.for_field("email")).is_some(), "{bad:?} gave {err:?}");
        }
    }
}

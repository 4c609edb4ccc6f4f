//! Sign-in, sign-out and "who am I", as server functions.

use leptos::prelude::*;

use super::CurrentUser;
use crate::error::AppError;

/// The signed-in user, or `None` for a visitor.
#[server(prefix = "/api", endpoint = "whoami")]
pub async fn get_current_user() -> Result<Option<CurrentUser>, AppError> {
    crate::ssr::auth::current_user().await
}

/// What the sign-in page offers beside a password: "Sign in with" the vendor's provider
/// (its name) when one is configured, and single sign-on by email when any customer has
/// a provider with a confirmed domain (or the vendor's provider lets new staff join).
#[server(prefix = "/api", endpoint = "sign_in_options")]
pub async fn sign_in_options() -> Result<super::SignInOptions, AppError> {
    let state = crate::ssr::AppState::current()?;
    let by_email = state.store.any_sso_domain().await? || (state.sso.is_some() && !state.store.staff_domains().await?.is_empty());
    Ok(super::SignInOptions { vendor: state.sso.as_ref().map(|sso| sso.name().to_owned()), by_email })
}

/// Signs in with email and password, starts a new session (a fresh id) and sends the
/// browser to `next` when it is a local path, else to the user's home page.
/// Errors: `Invalid` for an empty or malformed field, and on `password` for an email of a
/// domain whose organisation signs in through its own provider only; `BadCredentials`, the
/// same for an unknown email, a wrong password or a disabled account; `SignInHeld` (429)
/// after failures in a row for the account or from the client's address, before any
/// password is checked; `Busy` (429) when too many passwords are being checked at once.
#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String, next: Option<String>) -> Result<CurrentUser, AppError> {
    use crate::ssr::auth::{client, start_session};
    use crate::ssr::password::{verify_nothing, verify_password};
    use crate::ssr::AppState;
    use crate::store::members::throttle::{FailedSignIn, Hold};

    let email = crate::ssr::forms::email("email", &email)?;
    if password.is_empty() {
        return Err(AppError::invalid("password", "Enter your password."));
    }
    if password.len() > 1024 {
        return Err(AppError::invalid("password", "That password is too long."));
    }
    let state = AppState::current()?;
    if state.hashing.is_spent() {
        tracing::warn!("password hashing budget spent: a sign-in was answered busy");
        return Err(AppError::Busy);
    }
    let address = client().address;
    let held = |hold: Hold| AppError::SignInHeld { secs: hold.secs(), locked: matches!(hold, Hold::Locked { .. }) };
    if let Some(hold) = state.store.sign_in_hold(email.as_str(), &address, crate::store::now()).await? {
        tracing::info!(email = %email, address = %address, "sign-in held back");
        return Err(held(hold));
    }
    let credentials = state.store.find_credentials(email.as_str()).await?;
    let known = credentials.as_ref().map(|c| (c.id, c.customer_id));
    // An organisation may keep its people to its own provider: an email of its confirmed
    // domains is told so before any password is checked, whether or not it names an
    // account (so that this tells no one which exist).
    if let Some(provider) = state.store.password_barred(email.as_str(), known.map(|(_, customer)| customer)).await? {
        return Err(AppError::invalid("password", super::sso_only_message(&provider)));
    }

    // Verification is slow on purpose: off the async workers, a bounded number at once.
    let user = state
        .hashing
        .run(move || match credentials {
            Some(c) if !c.disabled => match &c.password_hash {
                Some(hash) if verify_password(&password, hash) => Some(c),
                _ => None,
            },
            _ => {
                verify_nothing(&password);
                None
            }
        })
        .await?;
    let Some(user) = user else {
        tracing::info!(email = %email, "sign-in refused");
        let failed = FailedSignIn { email: email.as_str(), user: known, address: &address };
        return Err(match state.store.record_sign_in_failure(&failed, crate::store::now()).await? {
            Some(hold @ Hold::Locked { .. }) => held(hold),
            _ => AppError::BadCredentials,
        });
    };

    start_session(user.id).await?;
    let current = state.store.find_current_user(user.id).await?.ok_or(AppError::BadCredentials)?;
    tracing::info!(user.id = current.id, "signed in");
    let target = next.as_deref().and_then(super::local_path).unwrap_or(current.home());
    leptos_axum::redirect(target);
    Ok(current)
}

/// Ends this sign-in (audited) and sends the browser to the sign-in page.
#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::ssr::auth::{session, signed_in};
    use crate::store::audit::Actor;
    use crate::store::members::sign_ins::Ending;
    if let Some((user, handle)) = signed_in().await? {
        let state = crate::ssr::AppState::current()?;
        let actor = Actor::user(user.id, &user.email);
        state.store.end_sign_ins(&actor, user.customer.map(|c| c.id), Ending::One(&handle), crate::store::now()).await?;
    }
    session().await?.flush().await.map_err(|e| crate::ssr::internal("session flush", e))?;
    leptos_axum::redirect("/signin");
    Ok(())
}

/// The caller's live sign-ins, the most recently used first; `current` marks this one.
#[server(prefix = "/api", endpoint = "list_sign_ins")]
pub async fn list_sign_ins() -> Result<Vec<super::SignInView>, AppError> {
    let (user, handle) = crate::ssr::auth::signed_in().await?.ok_or(AppError::Unauthenticated)?;
    let state = crate::ssr::AppState::current()?;
    let rows = state.store.list_sign_ins(user.id, crate::store::now(), state.sessions).await?;
    Ok(rows
        .into_iter()
        .map(|r| super::SignInView {
            current: r.handle == handle,
            started_at: r.started_at,
            last_seen_at: r.last_seen_at,
            address: r.address,
            browser: super::browser_name(&r.user_agent),
        })
        .collect())
}

/// Ends the caller's sign-ins on every other browser, or with `everywhere` on this one
/// too (then the browser goes to the sign-in page); audited. Returns how many ended.
#[server(prefix = "/api", endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere(everywhere: Option<String>) -> Result<u64, AppError> {
    use crate::store::audit::Actor;
    use crate::store::members::sign_ins::Ending;
    let (user, handle) = crate::ssr::auth::signed_in().await?.ok_or(AppError::Unauthenticated)?;
    let state = crate::ssr::AppState::current()?;
    let actor = Actor::user(user.id, &user.email);
    let all = everywhere.is_some_and(|v| !v.is_empty());
    let ending = if all { Ending::All } else { Ending::AllBut(&handle) };
    let ended = state.store.end_sign_ins(&actor, user.customer.map(|c| c.id), ending, crate::store::now()).await?;
    if all {
        crate::ssr::auth::session().await?.flush().await.map_err(|e| crate::ssr::internal("session flush", e))?;
        leptos_axum::redirect("/signin");
    }
    Ok(ended)
}

/// Changes the caller's password: `current` must be right (a wrong one counts as a failed
/// sign-in), and the new one passes the same rules as an invitation's. Every other sign-in
/// of theirs ends; audited. Returns how many ended. Errors: `Invalid` on `current`,
/// `password` or `confirm`; `SignInHeld` while the account is held back.
#[server(prefix = "/api", endpoint = "change_password")]
pub async fn change_password(current: String, password: String, confirm: String) -> Result<u64, AppError> {
    use crate::ssr::password::{check_new_password, hash_password, verify_password};
    use crate::store::audit::Actor;
    use crate::store::members::throttle::{FailedSignIn, Hold};
    let (user, handle) = crate::ssr::auth::signed_in().await?.ok_or(AppError::Unauthenticated)?;
    let state = crate::ssr::AppState::current()?;
    if current.is_empty() || current.len() > 1024 {
        return Err(AppError::invalid("current", "Enter your current password."));
    }
    check_new_password(&password, &confirm, &user.email, crate::seats::api::MIN_PASSWORD)?;
    let address = crate::ssr::auth::client().address;
    let now = crate::store::now();
    if let Some(hold) = state.store.sign_in_hold(&user.email, &address, now).await? {
        return Err(AppError::SignInHeld { secs: hold.secs(), locked: matches!(hold, Hold::Locked { .. }) });
    }
    let stored = state.store.find_credentials(&user.email).await?.and_then(|c| c.password_hash);
    let hashed = state
        .hashing
        .run(move || match stored {
            Some(stored) if verify_password(&current, &stored) => hash_password(&password).map(Some),
            _ => Ok(None),
        })
        .await?
        .map_err(|e| crate::ssr::internal("password hash", e))?;
    let Some(hash) = hashed else {
        let failed = FailedSignIn { email: &user.email, user: Some((user.id, user.customer.as_ref().map(|c| c.id))), address: &address };
        state.store.record_sign_in_failure(&failed, crate::store::now()).await?;
        return Err(AppError::invalid("current", "That is not your current password."));
    };
    let actor = Actor::user(user.id, &user.email);
    Ok(state.store.change_password(&actor, user.customer.map(|c| c.id), &hash, &handle, crate::store::now()).await?)
}

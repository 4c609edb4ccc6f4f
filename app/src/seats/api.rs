//! The seats page's data, invitations and removing users.

use leptos::prelude::*;

use super::{Invitation, InvitationInfo, SeatsView};
use crate::error::AppError;

/// Days an invitation link works.
pub const INVITATION_DAYS: i64 = 7;

/// The shortest password an invited user may set.
pub const MIN_PASSWORD: usize = 10;

/// Entitlement `entitlement`'s seats and the organisation's users. Customer admins of
/// that organisation and vendor admins/staff. Errors: `Forbidden` for anyone else,
/// another tenant's or an unknown entitlement included.
#[server(prefix = "/api", endpoint = "get_seats")]
pub async fn get_seats(entitlement: i64) -> Result<SeatsView, AppError> {
    use crate::ssr::auth::Caller;
    use crate::store::day_of;
    let Caller { state, user, scope: facts, .. } = ssr_seats::managed_entitlement(entitlement).await?;
    let customer = facts.customer_id;
    let now = crate::store::now();
    let view = state
        .store
        .list_entitlements(customer, day_of(now))
        .await?
        .into_iter()
        .find(|e| e.id == entitlement)
        .ok_or_else(|| AppError::NotFound("Entitlement".into()))?;
    let members = state.store.list_members(crate::engine::CustomerId(customer), crate::engine::EntitlementId(entitlement), now).await?;
    Ok(SeatsView {
        entitlement_id: entitlement,
        customer: view.customer,
        product: view.product,
        plan: view.plan,
        seats_used: view.seats_used,
        seats_cap: view.seats_cap,
        members: members
            .into_iter()
            .map(|m| super::Member {
                id: m.id,
                email: m.email,
                name: m.name,
                role: m.role,
                seat_since: m.seat_since.map(day_of),
                held_back: m.seats_before.is_some_and(|n| n >= view.seats_cap),
                invited: m.invited,
                invitation_expires_on: m.invitation_expires_at.map(day_of),
            })
            .collect(),
        me: user.id,
    })
}

/// Adds `email` to the organisation of `entitlement` as a member (or, with `admin`, an
/// admin) and returns an invitation link valid for [`INVITATION_DAYS`] days, usable once;
/// with `seat`, the new user also gets a seat of `entitlement` when one is free.
/// Errors: `Forbidden` as [`get_seats`]; `Invalid` on `email` (malformed, already a
/// member, or a user of another organisation) or `name` (empty or too long).
#[server(prefix = "/api", endpoint = "invite_user")]
pub async fn invite_user(
    entitlement: i64,
    email: String,
    name: String,
    admin: Option<String>,
    seat: Option<String>,
) -> Result<Invitation, AppError> {
    use crate::auth::Role;
    use crate::ssr::auth::Caller;
    use crate::ssr::forms;
    use crate::store::members::invitations::Invite;
    let Caller { state, actor, scope: facts, .. } = ssr_seats::managed_entitlement(entitlement).await?;
    let customer = facts.customer_id;
    let email = forms::email("email", &email)?;
    let name = forms::text("name", &name, 120, "Enter the person's name (up to 120 characters).")?;
    let role = if forms::checkbox(admin.as_deref()) { Role::CustomerAdmin } else { Role::CustomerMember };
    let (token, hash) = crate::ssr::new_token();
    let now = crate::store::now();
    let expires_at = now + INVITATION_DAYS * 86_400;
    let invited = state.store.invite_user(&actor, customer, email.as_str(), &name, role, &hash, expires_at, now).await?;
    let user_id = match invited {
        Invite::Invited(id) => id,
        Invite::AlreadyMember => return Err(AppError::invalid("email", "This person is in your organisation already.")),
        Invite::TakenElsewhere => return Err(AppError::invalid("email", "This email belongs to a user of another organisation.")),
    };
    let mut seated = false;
    if forms::checkbox(seat.as_deref()) {
        // A seat is a second change with its own audit event; at the cap the invitation stands.
        let change = state
            .store
            .assign_seat(
                &actor,
                crate::engine::CustomerId(customer),
                crate::engine::EntitlementId(entitlement),
                crate::engine::UserId(user_id),
                now,
            )
            .await?;
        seated = change == crate::store::entitlements::seats::SeatChange::Done;
    }
    Ok(Invitation { email: email.into_inner(), path: format!("/invite/{token}"), expires_on: crate::store::day_of(expires_at), seated })
}

/// A new invitation link for invited user `user` (the old link stops working). Same
/// rules as [`invite_user`]; `NotFound` when `user` is not an invited user of the
/// organisation.
#[server(prefix = "/api", endpoint = "reissue_invitation")]
pub async fn reissue_invitation(entitlement: i64, user: i64) -> Result<Invitation, AppError> {
    use crate::ssr::auth::Caller;
    use crate::ssr::StoreResultExt;
    let Caller { state, actor, scope: facts, .. } = ssr_seats::managed_entitlement(entitlement).await?;
    let (token, hash) = crate::ssr::new_token();
    let now = crate::store::now();
    let expires_at = now + INVITATION_DAYS * 86_400;
    let email =
        state.store.reissue_invitation(&actor, facts.customer_id, user, &hash, expires_at, now).await.or_not_found("Invited user")?;
    Ok(Invitation { email, path: format!("/invite/{token}"), expires_on: crate::store::day_of(expires_at), seated: false })
}

/// Hours a password reset link works.
pub const RESET_HOURS: i64 = 24;

/// A password reset link for user `user` of the organisation of `entitlement`, who has a
/// password: it lets them set a new one, once, within [`RESET_HOURS`] hours, and then every
/// sign-in they had ends. Same rules as [`get_seats`]. Errors: `NotFound` when `user` is
/// not a user of the organisation with a password (an invited user gets a new invitation).
#[server(prefix = "/api", endpoint = "issue_password_reset")]
pub async fn issue_password_reset(entitlement: i64, user: i64) -> Result<Invitation, AppError> {
    use crate::ssr::auth::Caller;
    use crate::ssr::StoreResultExt;
    let Caller { state, actor, scope: facts, .. } = ssr_seats::managed_entitlement(entitlement).await?;
    let (token, hash) = crate::ssr::new_token();
    let now = crate::store::now();
    let expires_at = now + RESET_HOURS * 3600;
    let email = state.store.issue_password_reset(&actor, facts.customer_id, user, &hash, expires_at, now).await.or_not_found("User")?;
    Ok(Invitation { email, path: format!("/invite/{token}"), expires_on: crate::store::day_of(expires_at), seated: false })
}

/// Removes user `user` from the organisation of `entitlement`: every seat they hold is
/// freed and they can no longer sign in. Same rules as [`get_seats`]. Errors: `Invalid`
/// on `user` for oneself or the organisation's last admin; `NotFound` for a user not in
/// the organisation.
#[server(prefix = "/api", endpoint = "remove_user")]
pub async fn remove_user(entitlement: i64, user: i64) -> Result<(), AppError> {
    use crate::ssr::auth::Caller;
    use crate::ssr::StoreResultExt;
    let Caller { state, user: me, actor, scope: facts } = ssr_seats::managed_entitlement(entitlement).await?;
    if user == me.id {
        return Err(AppError::invalid("user", "You cannot remove yourself."));
    }
    state
        .store
        .remove_user(&actor, crate::engine::CustomerId(facts.customer_id), crate::engine::UserId(user), crate::store::now())
        .await
        .or_not_found("User")?
        .map_err(|_| AppError::invalid("user", "They are the organisation's last admin: make someone else an admin first."))?;
    Ok(())
}

/// What invitation `token` is for. Anyone with the link. Errors: `NotFound` for an
/// unknown token; `Invalid` on `token` when it was used, replaced or has expired.
#[server(prefix = "/api", endpoint = "get_invitation")]
pub async fn get_invitation(token: String) -> Result<InvitationInfo, AppError> {
    let state = crate::ssr::AppState::current()?;
    let row = ssr_seats::open_invitation(&state, &token).await?;
    let sso = state.store.password_barred(&row.email, Some(Some(row.customer_id))).await?;
    Ok(InvitationInfo {
        email: row.email,
        name: row.name,
        organisation: row.organisation,
        expires_on: crate::store::day_of(row.expires_at),
        reset: row.reset,
        sso,
    })
}

/// Sets the password of invitation `token`'s user, uses the invitation up and signs
/// them in. Errors as [`get_invitation`]; `Invalid` on `password` (shorter than
/// [`MIN_PASSWORD`] or too long) or `confirm` (different).
#[server(prefix = "/api", endpoint = "accept_invitation")]
pub async fn accept_invitation(token: String, password: String, confirm: String) -> Result<(), AppError> {
    use crate::ssr::auth::start_session;
    use crate::ssr::{internal, StoreResultExt};
    let state = crate::ssr::AppState::current()?;
    let invitation = ssr_seats::open_invitation(&state, &token).await?;
    // An organisation that signs the people of its domains in through its own provider
    // gives them no password: they sign in there, and the invitation is taken up then.
    if let Some(provider) = state.store.password_barred(&invitation.email, Some(Some(invitation.customer_id))).await? {
        return Err(AppError::invalid("password", crate::auth::sso_only_message(&provider)));
    }
    crate::ssr::password::check_new_password(&password, &confirm, &invitation.email, MIN_PASSWORD)?;
    let hash =
        state.hashing.run(move || crate::ssr::password::hash_password(&password)).await?.map_err(|e| internal("password hash", e))?;
    let user_id = state
        .store
        .accept_invitation(&crate::store::keys::api_keys::hash_api_key(token.trim()), &hash, crate::store::now())
        .await
        .or_when_missing(ssr_seats::spent_link)?;
    start_session(user_id).await?;
    leptos_axum::redirect("/entitlements");
    Ok(())
}

#[cfg(feature = "ssr")]
mod ssr_seats {
    use crate::error::AppError;
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::{AppState, StoreResultExt};
    use crate::store::entitlements::EntitlementFacts;
    use crate::store::members::invitations::InvitationRow;

    /// The caller, when they may manage entitlement `id`'s organisation (its admins,
    /// vendor admins and staff), with the entitlement's facts. Errors: `Unauthenticated`;
    /// `Forbidden` for anyone else, another tenant's and an unknown entitlement alike.
    pub async fn managed_entitlement(id: i64) -> Result<Caller<EntitlementFacts>, AppError> {
        Guard::new().role(Roles::MANAGERS).entitlement(id).await
    }

    /// `Invalid` on `token`: the invitation was used, replaced or has expired.
    pub fn spent_link() -> AppError {
        AppError::invalid("token", "This invitation link has been used or has expired. Ask your admin for a new one.")
    }

    /// The invitation `token` opens, if it still works. Errors: `NotFound` for an unknown
    /// token; `Invalid` on `token` when it was used, replaced or has expired.
    pub async fn open_invitation(state: &AppState, token: &str) -> Result<InvitationRow, AppError> {
        let token = token.trim();
        if token.is_empty() || token.len() > 100 {
            return Err(AppError::NotFound("Invitation".into()));
        }
        let row = state.store.find_invitation(&crate::store::keys::api_keys::hash_api_key(token)).await.or_not_found("Invitation")?;
        if row.accepted_at.is_some() || row.revoked_at.is_some() || row.expires_at <= crate::store::now() {
            return Err(spent_link());
        }
        Ok(row)
    }
}

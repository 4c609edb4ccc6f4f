//! Filing, previewing, listing and withdrawing change requests.

use leptos::prelude::*;

use super::{ChangeOptions, ChangePreview, ChangeRequestView};
use crate::error::AppError;

/// The longest reason a request may carry.
pub const MAX_REASON: usize = 2_000;

/// The plans and add-ons entitlement `entitlement` may ask for. Customer admins of its
/// organisation only. Errors: `Forbidden` for anyone else (another tenant's id included).
#[server(prefix = "/api", endpoint = "get_change_options")]
pub async fn get_change_options(entitlement: i64) -> Result<ChangeOptions, AppError> {
    let (_, ctx) = ssr_requests::own_entitlement(entitlement).await?;
    Ok(ctx.options())
}

/// What a change would do (features gained and lost, limits before and after), shown
/// before the request is sent. `kind` is `plan`, `seats`, `addon` or `renewal`, with
/// `plan` (a plan key), `seats` (how many more) or `addon` (an add-on key) as it needs.
/// Errors: `Forbidden` as [`get_change_options`]; `Invalid` on the field at fault.
#[server(prefix = "/api", endpoint = "preview_change")]
pub async fn preview_change(
    entitlement: i64,
    kind: String,
    plan: Option<String>,
    seats: Option<i64>,
    addon: Option<String>,
) -> Result<ChangePreview, AppError> {
    let kind = ssr_requests::parse_kind(&kind)?;
    let (_, ctx) = ssr_requests::own_entitlement(entitlement).await?;
    Ok(ctx.resolve(kind, plan.as_deref(), seats, addon.as_deref())?.preview)
}

/// Files a change request (it stays pending until vendor staff decide) and sends the
/// browser to the requests list. Checks as [`preview_change`]; `reason` is required.
/// Errors: `Invalid` on `reason` when empty or too long, on `kind` when the same change
/// is pending already.
#[server(prefix = "/api", endpoint = "file_request")]
#[allow(clippy::too_many_arguments)]
pub async fn file_request(
    entitlement: i64,
    kind: String,
    plan: Option<String>,
    seats: Option<i64>,
    addon: Option<String>,
    at_renewal: Option<String>,
    reason: String,
) -> Result<i64, AppError> {
    use crate::ssr::StoreResultExt;
    use crate::store::requests::filing::NewRequest;

    let kind = ssr_requests::parse_kind(&kind)?;
    let reason = ssr_requests::parse_reason(&reason)?;
    let (caller, ctx) = ssr_requests::own_entitlement(entitlement).await?;
    let resolved = ctx.resolve(kind, plan.as_deref(), seats, addon.as_deref())?;
    let request = NewRequest {
        customer_id: ctx.facts.customer_id,
        entitlement_id: entitlement,
        kind,
        target_plan_id: resolved.target_plan_id,
        seats: resolved.seats,
        addon_id: resolved.addon_id,
        at_renewal: crate::ssr::forms::checkbox(at_renewal.as_deref()),
        reason,
        requested_by: caller.user.id,
    };
    let id = caller.state.store.file_request(&caller.actor, &request, crate::store::now()).await.or_not_found("Entitlement")??;
    // A catalog rule may have approved it at once: the next check must see that.
    leptos_axum::redirect(&format!("/requests?filed={id}"));
    Ok(id)
}

/// The change requests of `customer` (a slug; a customer admin's own when `None`),
/// newest first. Customer admins of that organisation and vendor admins/staff.
#[server(prefix = "/api", endpoint = "list_requests")]
pub async fn list_requests(customer: Option<String>) -> Result<Vec<ChangeRequestView>, AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    let Caller { state, scope: customer, .. } = Guard::new().role(Roles::MANAGERS).customer(customer.as_deref()).await?;
    Ok(state.store.list_requests(customer.id).await?)
}

/// Withdraws pending request `id` of the caller's organisation. Customer admins only.
/// Errors: `NotFound` for an unknown id or another organisation's; `Invalid` on `id`
/// when it was decided or withdrawn already.
#[server(prefix = "/api", endpoint = "withdraw_request")]
pub async fn withdraw_request(id: i64) -> Result<(), AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::StoreResultExt;
    // A customer admin who names no customer asks about their own organisation.
    let Caller { state, actor, scope: own, .. } = Guard::new().role(Roles::CUSTOMER_ADMIN).customer(None).await?;
    Ok(state.store.withdraw_request(&actor, own.id, id, crate::store::now()).await.or_not_found("Request")??)
}

#[cfg(feature = "ssr")]
mod ssr_requests {
    use super::super::change::{context, Context};
    use super::super::RequestKind;
    use super::MAX_REASON;
    use crate::error::AppError;
    use crate::ssr::auth::{Caller, Guard, Roles};

    /// `kind` as a [`RequestKind`]; `Invalid` on `kind` otherwise.
    pub fn parse_kind(kind: &str) -> Result<RequestKind, AppError> {
        RequestKind::parse(kind.trim()).ok_or_else(|| AppError::invalid("kind", "Choose what to ask for."))
    }

    /// Why the customer asks, trimmed; `Invalid` on `reason` when it is empty or longer
    /// than [`MAX_REASON`] characters.
    pub fn parse_reason(raw: &str) -> Result<String, AppError> {
        let reason = raw.trim();
        if reason.is_empty() {
            return Err(AppError::invalid("reason", "Say why you need this change."));
        }
        if reason.chars().count() > MAX_REASON {
            return Err(AppError::invalid("reason", format!("Keep the reason under {MAX_REASON} characters.")));
        }
        Ok(reason.to_owned())
    }

    /// The signed-in customer admin and entitlement `id` of their organisation, with its
    /// catalog. Errors: `Unauthenticated`; `Forbidden` for anyone but a customer admin, and
    /// for another organisation's entitlement and an unknown one alike.
    pub async fn own_entitlement(id: i64) -> Result<(Caller, Context), AppError> {
        let Caller { state, user, actor, scope: facts } = Guard::new().role(Roles::CUSTOMER_ADMIN).entitlement(id).await?;
        let ctx = context(&state, facts).await?;
        Ok((Caller { state, user, actor, scope: () }, ctx))
    }
}

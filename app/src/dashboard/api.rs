//! The dashboard's figures, for vendor admins and staff.

use leptos::prelude::*;

use super::Dashboard;
use crate::error::AppError;

/// Latest audit events on the dashboard.
pub const LATEST: i64 = 10;

/// What needs the vendor's staff now, the latest changes and the charts of the book.
/// Vendor admins and staff only. Errors: `Unauthenticated`, `Forbidden`.
#[server(prefix = "/api", endpoint = "get_dashboard")]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    use crate::ssr::auth::{Guard, Roles};
    let caller = Guard::new().role(Roles::STAFF).caller().await?;
    let state = &caller.state;
    let now = crate::store::now();
    let (pending, overdue) = state.store.pending_request_counts(now - crate::approvals::OVERDUE_DAYS * 86_400).await?;
    let coming = state.store.coming_dates(now).await?;
    let near_limit = crate::ssr::activity::near_limit(state, now).await.len() as i64;
    let rows = state.store.list_audit_events(None, LATEST).await?;
    let latest = crate::audit::api::views(&state.store, rows).await?;
    let activity = crate::ssr::activity::charts(state, now).await;
    Ok(Dashboard {
        pending,
        overdue,
        trials_ending: coming.trials_ending,
        terms_ending: coming.terms_ending,
        renewing: coming.renewing,
        near_limit,
        latest,
        activity,
    })
}

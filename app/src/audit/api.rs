//! Reading the audit log.

use leptos::prelude::*;

use super::AuditPage;
use crate::error::AppError;

/// Events per page.
pub const PAGE: i64 = 50;

/// Audit events, newest first, filtered by `customer` (a slug), part of the `actor`, the
/// start of the `kind`, and the days `from`..=`to` (YYYY-MM-DD); `before` pages on.
/// Vendor admins and staff read every event; a customer admin reads their organisation's
/// only (naming another is `Forbidden`); members and sales are `Forbidden`.
/// Errors: `Invalid` on `from`/`to` for a date that is not one.
#[server(prefix = "/api", endpoint = "list_audit")]
pub async fn list_audit(
    customer: Option<String>,
    actor: Option<String>,
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
) -> Result<AuditPage, AppError> {
    use crate::auth::Role;
    use crate::store::audit::AuditFilter;
    let user = crate::ssr::auth::require_user().await?;
    let state = crate::ssr::AppState::current()?;
    let customer = customer.filter(|c| !c.trim().is_empty());
    let scope = match (user.role, &user.customer) {
        (Role::VendorAdmin | Role::VendorStaff, None) => match customer.as_deref() {
            Some(slug) => Some(state.store.find_customer_by_slug(slug.trim()).await.map_err(|e| crate::ssr::from_store("Customer", e))?),
            None => None,
        },
        (Role::CustomerAdmin, Some(own)) => match customer.as_deref() {
            Some(slug) if slug.trim() != own.slug => return Err(AppError::Forbidden),
            _ => Some(own.clone()),
        },
        _ => return Err(AppError::Forbidden),
    };
    let day = |field: &str, v: Option<String>, end: bool| -> Result<Option<i64>, AppError> {
        let Some(v) = v.filter(|v| !v.trim().is_empty()) else { return Ok(None) };
        let d =
            chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").map_err(|_| AppError::invalid(field, "Give a date as YYYY-MM-DD."))?;
        let d = if end { d.succ_opt().unwrap_or(d) } else { d };
        Ok(d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()))
    };
    let filter = AuditFilter {
        customer_id: scope.as_ref().map(|c| c.id),
        actor,
        kind,
        from: day("from", from, false)?,
        to: day("to", to, true)?,
        before_seq: before,
    };
    let rows = state.store.search_audit_events(&filter, PAGE + 1).await.map_err(|e| crate::ssr::internal("audit", e))?;
    let names: std::collections::HashMap<i64, String> =
        state.store.list_customers().await.map_err(|e| crate::ssr::internal("customers", e))?.into_iter().map(|c| (c.id, c.name)).collect();
    let more = rows.len() as i64 > PAGE;
    let events: Vec<super::AuditEventView> = rows
        .into_iter()
        .take(PAGE as usize)
        .map(|r| super::AuditEventView {
            seq: r.seq,
            at: r.at,
            actor: r.actor,
            customer: r.customer_id.and_then(|c| names.get(&c).cloned()),
            kind: r.kind,
            subject: r.subject,
            before: r.before_json,
            after: r.after_json,
        })
        .collect();
    let next_before = if more { events.last().map(|e| e.seq) } else { None };
    Ok(AuditPage { events, next_before })
}

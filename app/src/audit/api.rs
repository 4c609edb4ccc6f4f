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
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::forms;
    use crate::store::audit::AuditFilter;
    const NOT_A_DATE: &str = "Give a date as YYYY-MM-DD.";
    let Caller { state, scope, .. } = Guard::new().role(Roles::MANAGERS).customer_or_all(forms::optional(customer.as_deref())).await?;
    let from = forms::date("from", from.as_deref(), NOT_A_DATE)?;
    // Up to the end of the last day: the start of the day after it.
    let to = forms::date("to", to.as_deref(), NOT_A_DATE)?.map(|d| d.succ_opt().unwrap_or(d));
    let filter = AuditFilter {
        customer_id: scope.as_ref().map(|c| c.id),
        actor,
        kind,
        from: from.map(crate::engine::dates::start_of_day),
        to: to.map(crate::engine::dates::start_of_day),
        before_seq: before,
    };
    let rows = state.store.search_audit_events(&filter, PAGE + 1).await?;
    let more = rows.len() as i64 > PAGE;
    let events = views(&state.store, rows.into_iter().take(PAGE as usize).collect()).await?;
    let next_before = if more { events.last().map(|e| e.seq) } else { None };
    Ok(AuditPage { events, next_before })
}

/// Audit rows as pages show them, each with its customer's name.
#[cfg(feature = "ssr")]
pub(crate) async fn views(
    store: &crate::store::Store,
    rows: Vec<crate::store::audit::AuditRow>,
) -> Result<Vec<super::AuditEventView>, crate::store::StoreError> {
    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.customer_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = store.customer_names(&ids).await?;
    Ok(rows
        .into_iter()
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
        .collect())
}

//! The approval queue and decisions, for vendor admins and staff.

use leptos::prelude::*;

use super::{DecisionOutcome, QueuePage, RequestDetail};
use crate::error::AppError;

/// Pending change requests, oldest first, optionally of one customer (slug) and kind, and
/// only the overdue ones (waiting more than two days) when `overdue` is true; a page at a
/// time, starting after request `after`. Vendor admins and staff only.
#[server(prefix = "/api", endpoint = "list_pending_requests")]
pub async fn list_pending_requests(
    customer: Option<String>,
    kind: Option<String>,
    overdue: Option<bool>,
    after: Option<i64>,
) -> Result<QueuePage, AppError> {
    use super::QueueItem;
    use crate::requests::RequestKind;
    use crate::ssr::auth::{Guard, Roles};
    use crate::ssr::forms;
    use crate::store::requests::QueueQuery;
    let caller = Guard::new().role(Roles::STAFF).caller().await?;
    let kind = match forms::optional(kind.as_deref()) {
        Some(k) => Some(RequestKind::parse(k).ok_or_else(|| AppError::invalid("kind", "No such kind of request."))?),
        None => None,
    };
    let now = crate::store::now();
    let overdue_from = now - super::OVERDUE_DAYS * 86_400;
    let page = QueueQuery { created_before: overdue.unwrap_or(false).then_some(overdue_from), after, limit: super::QUEUE_PAGE + 1 };
    let rows = caller.state.store.list_pending_requests(forms::optional(customer.as_deref()), kind, &page).await?;
    let more = rows.len() as i64 > super::QUEUE_PAGE;
    let requests: Vec<QueueItem> = rows
        .into_iter()
        .take(super::QUEUE_PAGE as usize)
        .map(|(view, facts)| QueueItem {
            id: view.id,
            customer: facts.customer_name,
            customer_slug: facts.customer_slug,
            kind: view.kind,
            summary: view.summary(),
            requested_by: view.requested_by,
            created_at: view.created_at,
            overdue: view.created_at < overdue_from,
            approvals: view.approvals,
            approvals_needed: view.approvals_needed,
        })
        .collect();
    let next_after = if more { requests.last().map(|r| r.id) } else { None };
    Ok(QueuePage { requests, next_after })
}

/// Request `id` with the customer's entitlement and what approving would change.
/// Vendor admins and staff only. Errors: `NotFound` for an unknown request.
#[server(prefix = "/api", endpoint = "get_request_detail")]
pub async fn get_request_detail(id: i64) -> Result<RequestDetail, AppError> {
    use crate::ssr::auth::{Guard, Roles};
    let caller = Guard::new().role(Roles::STAFF).caller().await?;
    ssr_approvals::detail(&caller.state, id).await
}

/// Approves (`decision` = `approve`) or rejects (`reject`) pending request `id` with
/// `comment`. An approval applies the change to the entitlement at once (the next check
/// through the API sees it). When the entitlement changed since the request was filed, the
/// approval must name its current version in `confirm_version`. Vendor admins and staff
/// only. Errors: `Invalid` on `comment` (empty or too long), on `decision` (unknown), on
/// `id` (no longer pending, or one's own request), on `confirm_version` (the entitlement
/// moved); `NotFound` for an unknown request.
#[server(prefix = "/api", endpoint = "decide_request")]
pub async fn decide_request(id: i64, decision: String, comment: String, confirm_version: Option<i64>) -> Result<DecisionOutcome, AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::StoreResultExt;
    use crate::store::requests::decisions::Decided;
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::invalid("decision", "Approve or reject.")),
    };
    let comment = crate::ssr::forms::text("comment", &comment, 2_000, "Say why, in up to 2,000 characters: the customer reads it.")?;
    let Caller { state, actor, .. } = Guard::new().role(Roles::STAFF).caller().await?;
    let detail = ssr_approvals::detail(&state, id).await?;
    let not_pending = |status: crate::requests::RequestStatus| {
        AppError::invalid("id", format!("This request is {} already.", status.label().to_lowercase()))
    };
    if detail.request.status != crate::requests::RequestStatus::Pending {
        return Err(not_pending(detail.request.status));
    }
    if approve && detail.preview.is_none() {
        // The change must still make sense against the entitlement as it is now.
        return Err(AppError::invalid("id", "This change no longer applies to the entitlement as it is now; reject it with a comment."));
    }
    let (decided, _) =
        state.store.decide_request(&actor, id, approve, &comment, confirm_version, crate::store::now()).await.or_not_found("Request")?;
    match decided {
        Decided::Done => {
            if !approve {
                return Ok(DecisionOutcome::Rejected);
            }
            let (after, _) = state.store.find_request(id).await.or_not_found("Request")?;
            Ok(match after.applies_at.filter(|_| after.scheduled()) {
                Some(at) => DecisionOutcome::Scheduled { on: crate::store::day_of(at) },
                None => DecisionOutcome::Approved,
            })
        }
        Decided::Recorded { have, needed } => Ok(DecisionOutcome::Recorded { have, needed }),
        Decided::NotPending(status) => Err(not_pending(status)),
        Decided::OwnRequest => Err(AppError::invalid("id", "Someone else must decide on a request you filed.")),
        Decided::OwnOrganisation => Err(AppError::invalid("id", "Someone outside the customer's organisation must decide on this request.")),
        Decided::ApprovedAlready => Err(AppError::invalid("id", "You approved this request already; the second approval must come from someone else.")),
        Decided::Moved { requested, current } => Err(AppError::invalid(
            "confirm_version",
            format!("The entitlement changed since this request was made (version {requested}, now {current}). Check the change against it and confirm."),
        )),
    }
}

#[cfg(feature = "ssr")]
mod ssr_approvals {
    use crate::error::AppError;
    use crate::requests::change::context;
    use crate::ssr::{AppState, StoreResultExt};

    /// Request `id` with its customer's entitlement and the change's preview. Errors:
    /// `NotFound` for an unknown request.
    pub async fn detail(state: &AppState, id: i64) -> Result<super::RequestDetail, AppError> {
        let (request, facts) = state.store.find_request(id).await.or_not_found("Request")?;
        let entitlement_facts = state.store.entitlement_facts(request.entitlement_id).await.or_not_found("Entitlement")?;
        let current_version = entitlement_facts.version;
        let ctx = context(state, entitlement_facts).await?;
        // By key: a newer version of the plan may have been saved since the request.
        let plan = facts.target_plan_key.clone();
        let addon = facts.addon_id.and_then(|a| ctx.addons.iter().find(|x| x.id == a)).map(|a| a.key.clone());
        let preview = ctx.resolve(request.kind, plan.as_deref(), request.seats, addon.as_deref()).ok().map(|r| r.preview);
        let approvals = state.store.list_request_approvals(id).await?;
        Ok(super::RequestDetail {
            entitlement: ctx.view,
            preview,
            customer: facts.customer_name,
            customer_slug: facts.customer_slug,
            filed_version: facts.entitlement_version,
            current_version,
            approvals,
            request,
        })
    }
}

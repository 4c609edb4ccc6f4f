//! Change requests: what a customer admin asks for (another plan, more seats, an add-on,
//! a renewal) and its life from `pending` to a decision or withdrawal. Here, what the
//! stages share: a request as lists show it, the lists, and applying an approved change.

pub mod decisions;
pub mod filing;
pub mod rules;
pub mod scheduled;

use sqlx::Row;

use super::entitlements::lifecycle;
use super::write::Write;
use super::{Store, StoreError};
use crate::engine::dates::DAY;
use crate::engine::{RequestKind, RequestStatus};
use crate::requests::ChangeRequestView;

/// The ids a request names, beside its view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    pub customer_id: i64,
    pub customer_name: String,
    pub customer_slug: String,
    pub target_plan_id: Option<i64>,
    /// The key of the plan asked for (any of its versions).
    pub target_plan_key: Option<String>,
    pub addon_id: Option<i64>,
    pub requested_by: i64,
    /// The entitlement's version when the request was filed.
    pub entitlement_version: i64,
}

pub(super) const REQUEST_SELECT: &str = "SELECT r.id, r.customer_id, r.entitlement_id, p.name AS product, cur.name AS current_plan, tp.name AS target_plan,
        r.kind, r.seats, a.name AS addon, r.at_renewal, r.reason, r.status, r.created_at, r.decided_at, r.comment,
        ru.name AS requested_by, du.name AS decided_by, r.target_plan_id, r.addon_id, r.requested_by AS requested_by_id, r.entitlement_version,
        r.applies_at, r.applied_at, r.approvals_needed, (SELECT COUNT(*) FROM request_approvals ra WHERE ra.request_id = r.id) AS approvals,
        c.name AS customer_name, c.slug AS customer_slug, tp.key AS target_plan_key
     FROM change_requests r
     JOIN customers c ON c.id = r.customer_id
     JOIN entitlements e ON e.id = r.entitlement_id
     JOIN products p ON p.id = e.product_id
     JOIN plans cur ON cur.id = e.plan_id
     LEFT JOIN plans tp ON tp.id = r.target_plan_id
     LEFT JOIN addons a ON a.id = r.addon_id
     JOIN users ru ON ru.id = r.requested_by
     LEFT JOIN users du ON du.id = r.decided_by";

pub(super) fn request_view(r: &sqlx::any::AnyRow) -> Result<(ChangeRequestView, RequestFacts), StoreError> {
    let bad = |what: &str| StoreError::Db(sqlx::Error::Decode(format!("stored request {what}").into()));
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    let view = ChangeRequestView {
        id: r.try_get("id")?,
        entitlement_id: r.try_get("entitlement_id")?,
        product: r.try_get("product")?,
        current_plan: r.try_get("current_plan")?,
        kind: RequestKind::parse(&kind).ok_or_else(|| bad("kind"))?,
        target_plan: r.try_get("target_plan")?,
        seats: r.try_get("seats")?,
        addon: r.try_get("addon")?,
        at_renewal: super::flag(r, "at_renewal")?,
        reason: r.try_get("reason")?,
        status: RequestStatus::parse(&status).ok_or_else(|| bad("status"))?,
        created_at: r.try_get("created_at")?,
        decided_at: r.try_get("decided_at")?,
        comment: r.try_get("comment")?,
        requested_by: r.try_get("requested_by")?,
        decided_by: r.try_get("decided_by")?,
        applies_at: r.try_get("applies_at")?,
        applied_at: r.try_get("applied_at")?,
        approvals: r.try_get("approvals")?,
        approvals_needed: r.try_get("approvals_needed")?,
    };
    let facts = RequestFacts {
        customer_id: r.try_get("customer_id")?,
        customer_name: r.try_get("customer_name")?,
        customer_slug: r.try_get("customer_slug")?,
        target_plan_id: r.try_get("target_plan_id")?,
        target_plan_key: r.try_get("target_plan_key")?,
        addon_id: r.try_get("addon_id")?,
        requested_by: r.try_get("requested_by_id")?,
        entitlement_version: r.try_get("entitlement_version")?,
    };
    Ok((view, facts))
}

impl Store {
    /// The requests of customer `customer_id`, newest first.
    pub async fn list_requests(&self, customer_id: i64) -> Result<Vec<ChangeRequestView>, StoreError> {
        let sql = format!("{REQUEST_SELECT} WHERE r.customer_id = $1 ORDER BY r.created_at DESC, r.id DESC");
        let rows = sqlx::query(&sql).bind(customer_id).fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok(request_view(r)?.0)).collect()
    }

    /// Request `id` as lists show it, with the ids it names; `NotFound` when there is none.
    pub async fn find_request(&self, id: i64) -> Result<(ChangeRequestView, RequestFacts), StoreError> {
        let sql = format!("{REQUEST_SELECT} WHERE r.id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(self.pool()).await?.ok_or(StoreError::NotFound)?;
        request_view(&row)
    }

    /// Pending requests, oldest first, optionally of one customer (slug) and kind, a page at a time.
    pub async fn list_pending_requests(
        &self,
        customer: Option<&str>,
        kind: Option<RequestKind>,
        page: &QueueQuery,
    ) -> Result<Vec<(ChangeRequestView, RequestFacts)>, StoreError> {
        let sql = format!(
            "{REQUEST_SELECT} WHERE r.status = 'pending' AND ($1 = '' OR c.slug = $1) AND ($2 = '' OR r.kind = $2)
               AND r.created_at < $3
               AND ($4 = 0 OR r.created_at > (SELECT a.created_at FROM change_requests a WHERE a.id = $4)
                    OR (r.created_at = (SELECT a.created_at FROM change_requests a WHERE a.id = $4) AND r.id > $4))
             ORDER BY r.created_at, r.id LIMIT $5"
        );
        let rows = sqlx::query(&sql)
            .bind(customer.unwrap_or(""))
            .bind(kind.map(RequestKind::as_str).unwrap_or(""))
            .bind(page.created_before.unwrap_or(i64::MAX))
            .bind(page.after.unwrap_or(0))
            .bind(page.limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(request_view).collect()
    }

    /// Who approved request `id` so far: (name, when), oldest first.
    pub async fn list_request_approvals(&self, id: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT COALESCE(u.name, 'API key ' || k.name) AS name, ra.at FROM request_approvals ra
             LEFT JOIN users u ON u.id = ra.user_id LEFT JOIN api_keys k ON k.id = ra.api_key_id
             WHERE ra.request_id = $1 ORDER BY ra.at, ra.approver",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("at")?))).collect()
    }
}

/// A page of the approval queue: requests filed before `created_before` (the overdue),
/// starting after request `after` in the order they were filed, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueQuery {
    pub created_before: Option<i64>,
    pub after: Option<i64>,
    pub limit: i64,
}

/// What an approval changes, as the audit event records it before and after.
async fn entitlement_state(tx: &mut Write<'_>, entitlement: i64) -> Result<serde_json::Value, StoreError> {
    let r = sqlx::query(
        "SELECT e.plan_id, pl.key AS plan, e.status, e.seats_override, e.renews_at, e.ends_at, e.version,
                (SELECT COUNT(*) FROM entitlement_addons ea WHERE ea.entitlement_id = e.id) AS addons
         FROM entitlements e JOIN plans pl ON pl.id = e.plan_id WHERE e.id = $1",
    )
    .bind(entitlement)
    .fetch_one(&mut **tx)
    .await?;
    Ok(serde_json::json!({
        "plan": r.try_get::<String, _>("plan")?,
        "status": r.try_get::<String, _>("status")?,
        "seats_override": r.try_get::<Option<i64>, _>("seats_override")?,
        "renews_at": r.try_get::<Option<i64>, _>("renews_at")?,
        "ends_at": r.try_get::<Option<i64>, _>("ends_at")?,
        "addons": r.try_get::<i64, _>("addons")?,
        "version": r.try_get::<i64, _>("version")?,
    }))
}

/// Applies an approved change to the entitlement and moves its version on.
async fn apply(
    tx: &mut Write<'_>,
    entitlement: i64,
    kind: RequestKind,
    plan: Option<i64>,
    seats: Option<i64>,
    addon: Option<i64>,
    now: i64,
) -> Result<(), StoreError> {
    match kind {
        RequestKind::Plan => {
            // The newest version of the plan asked for: what the decision's preview showed.
            let plan = plan.ok_or(StoreError::NotFound)?;
            sqlx::query(
                "UPDATE entitlements SET plan_id = (SELECT n.id FROM plans p JOIN plans n ON n.product_id = p.product_id AND n.key = p.key
                                                    WHERE p.id = $2 ORDER BY n.version DESC LIMIT 1)
                 WHERE id = $1",
            )
            .bind(entitlement)
            .bind(plan)
            .execute(&mut **tx)
            .await?;
        }
        RequestKind::Seats => {
            // More seats on top of what the entitlement has now (its override, or its plan's).
            sqlx::query(
                "UPDATE entitlements SET seats_override = COALESCE(seats_override, (SELECT seats FROM plans WHERE plans.id = entitlements.plan_id)) + $2
                 WHERE id = $1",
            )
            .bind(entitlement)
            .bind(seats.unwrap_or(0))
            .execute(&mut **tx)
            .await?;
        }
        RequestKind::Addon => {
            let addon = addon.ok_or(StoreError::NotFound)?;
            lifecycle::add_addon(tx, entitlement, addon, now).await?;
        }
        RequestKind::Renewal => {
            // Another year from the date that would have ended it (or from today), active.
            sqlx::query(
                "UPDATE entitlements SET
                    renews_at = COALESCE(renews_at, ends_at, trial_ends_at, $2) + $3,
                    ends_at = CASE WHEN ends_at IS NULL THEN NULL ELSE COALESCE(renews_at, ends_at) + $3 END,
                    trial_ends_at = NULL,
                    status = 'active'
                 WHERE id = $1 AND status <> 'cancelled'",
            )
            .bind(entitlement)
            .bind(now)
            .bind(365 * DAY)
            .execute(&mut **tx)
            .await?;
        }
    }
    sqlx::query("UPDATE entitlements SET version = version + 1, updated_at = $2 WHERE id = $1")
        .bind(entitlement)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

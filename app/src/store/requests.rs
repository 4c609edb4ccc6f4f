//! Change requests: what a customer admin asks for (another plan, more seats, an add-on,
//! a renewal) and its life from `pending` to a decision or withdrawal.

use sqlx::Row;

use super::approvals::Claimed;
use super::audit::{self, Actor, NewAuditEvent};
use super::events::EventKind;
use super::{Store, StoreError};
use crate::catalog::{route, Ask};
use crate::requests::{ChangeRequestView, RequestKind, RequestStatus};

/// A request to file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub customer_id: i64,
    pub entitlement_id: i64,
    pub kind: RequestKind,
    pub target_plan_id: Option<i64>,
    pub seats: Option<i64>,
    pub addon_id: Option<i64>,
    pub at_renewal: bool,
    pub reason: String,
    pub requested_by: i64,
}

/// Why a customer admin could not file a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FileRefusal {
    /// The same change is pending already.
    #[error("the same change is pending already")]
    SamePending,
}

/// Why a customer admin could not withdraw a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WithdrawRefusal {
    /// It was decided or withdrawn already.
    #[error("the request is no longer pending")]
    NotPending,
}

/// An entitlement's facts a request is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementFacts {
    pub id: i64,
    pub customer_id: i64,
    pub product_id: i64,
    pub plan_id: i64,
    pub version: i64,
    pub addon_ids: Vec<i64>,
}

impl Store {
    /// The facts of entitlement `entitlement_id`; `NotFound` when there is none.
    pub async fn entitlement_facts(&self, entitlement_id: i64) -> Result<EntitlementFacts, StoreError> {
        let r = sqlx::query("SELECT id, customer_id, product_id, plan_id, version FROM entitlements WHERE id = $1")
            .bind(entitlement_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        let addon_ids = sqlx::query_scalar("SELECT addon_id FROM entitlement_addons WHERE entitlement_id = $1 ORDER BY addon_id")
            .bind(entitlement_id)
            .fetch_all(self.pool())
            .await?;
        Ok(EntitlementFacts {
            id: r.try_get("id")?,
            customer_id: r.try_get("customer_id")?,
            product_id: r.try_get("product_id")?,
            plan_id: r.try_get("plan_id")?,
            version: r.try_get("version")?,
            addon_ids,
        })
    }

    /// Files a request against the entitlement's current version, with its audit event.
    /// Refused with [`FileRefusal::SamePending`] when the same change is pending already;
    /// `NotFound` when the entitlement is not the customer's.
    pub async fn file_request(&self, actor: &Actor, r: &NewRequest, now: i64) -> Result<Result<i64, FileRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT e.version, e.product_id, pl.key AS plan_key, pl.rank FROM entitlements e JOIN plans pl ON pl.id = e.plan_id
             WHERE e.id = $1 AND e.customer_id = $2",
        )
        .bind(r.entitlement_id)
        .bind(r.customer_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        };
        let version: i64 = row.try_get("version")?;
        let plan_key: String = row.try_get("plan_key")?;
        let rank: i64 = row.try_get("rank")?;
        let target_rank: Option<i64> = match r.target_plan_id {
            Some(plan) => Some(sqlx::query_scalar("SELECT rank FROM plans WHERE id = $1").bind(plan).fetch_one(&mut *tx).await?),
            None => None,
        };
        let rules = super::rules::rules_of(&mut *tx, row.try_get("product_id")?).await?;
        let ask = Ask { kind: r.kind, plan_key: &plan_key, seats: r.seats, rank_jump: target_rank.map(|t| t - rank) };
        let (approvals_needed, auto) = route(&rules, &ask);
        let same: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM change_requests
             WHERE entitlement_id = $1 AND kind = $2 AND status = 'pending'
               AND COALESCE(target_plan_id, 0) = $3 AND COALESCE(addon_id, 0) = $4",
        )
        .bind(r.entitlement_id)
        .bind(r.kind.as_str())
        .bind(r.target_plan_id.unwrap_or(0))
        .bind(r.addon_id.unwrap_or(0))
        .fetch_optional(&mut *tx)
        .await?;
        if same.is_some() {
            return tx.roll_back(Ok(Err(FileRefusal::SamePending))).await;
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO change_requests (customer_id, entitlement_id, kind, target_plan_id, seats, addon_id, at_renewal, reason,
                                          entitlement_version, requested_by, created_at, updated_at, approvals_needed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) RETURNING id",
        )
        .bind(r.customer_id)
        .bind(r.entitlement_id)
        .bind(r.kind.as_str())
        .bind(r.target_plan_id)
        .bind(r.seats)
        .bind(r.addon_id)
        .bind(i64::from(r.at_renewal))
        .bind(&r.reason)
        .bind(version)
        .bind(r.requested_by)
        .bind(now)
        .bind(approvals_needed)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(r.customer_id),
                kind: EventKind::RequestFiled,
                subject: format!("request:{id}"),
                before: None,
                after: Some(serde_json::json!({
                    "entitlement": r.entitlement_id, "kind": r.kind.as_str(), "plan": r.target_plan_id, "seats": r.seats,
                    "addon": r.addon_id, "at_renewal": r.at_renewal, "reason": r.reason, "version": version,
                    "approvals_needed": approvals_needed,
                })),
            },
            now,
        )
        .await?;
        if let Some(rule) = auto {
            // A catalog rule approves it: the same approval, audited, with the rule as actor.
            let request = Claimed {
                id,
                customer_id: r.customer_id,
                entitlement_id: r.entitlement_id,
                kind: r.kind,
                target_plan_id: r.target_plan_id,
                seats: r.seats,
                addon_id: r.addon_id,
                at_renewal: r.at_renewal,
            };
            let comment = format!("Approved automatically by a catalog rule: {}.", rule.describe());
            let by_rule = Actor::system(&format!("rule:{}", rule.id));
            super::approvals::approve_in(&mut tx, &by_rule, &request, &comment, EventKind::RequestAutoApproved, now).await?;
        }
        tx.commit().await?;
        Ok(Ok(id))
    }

    /// Withdraws pending request `id` of customer `customer_id`, with its audit event.
    /// `NotFound` when the customer has no such request; refused with
    /// [`WithdrawRefusal::NotPending`] when it was decided or withdrawn already.
    pub async fn withdraw_request(
        &self,
        actor: &Actor,
        customer_id: i64,
        id: i64,
        now: i64,
    ) -> Result<Result<(), WithdrawRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE change_requests SET status = 'withdrawn', updated_at = $3
             WHERE id = $1 AND customer_id = $2 AND status = 'pending' RETURNING id",
        )
        .bind(id)
        .bind(customer_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if done.is_none() {
            let status: Option<String> = sqlx::query_scalar("SELECT status FROM change_requests WHERE id = $1 AND customer_id = $2")
                .bind(id)
                .bind(customer_id)
                .fetch_optional(&mut *tx)
                .await?;
            let outcome = match status {
                Some(_) => Ok(Err(WithdrawRefusal::NotPending)),
                None => Err(StoreError::NotFound),
            };
            return tx.roll_back(outcome).await;
        }
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer_id),
                kind: EventKind::RequestWithdrawn,
                subject: format!("request:{id}"),
                before: Some(serde_json::json!({ "status": "pending" })),
                after: Some(serde_json::json!({ "status": "withdrawn" })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

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
}

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

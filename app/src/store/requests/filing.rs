//! Filing a change request, and withdrawing it while it is pending. A request that a
//! catalog rule approves is approved as it is filed.

use sqlx::Row;

use super::decisions::{self, Claimed};
use super::rules;
use crate::engine::{route, Ask, RequestKind};
use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::EventKind;
use crate::store::{Store, StoreError};

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

impl Store {
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
        let rules = rules::rules_of(&mut *tx, row.try_get("product_id")?).await?;
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
            decisions::approve_in(&mut tx, &by_rule, &request, &comment, EventKind::RequestAutoApproved, now).await?;
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
}

//! Vendor staff deciding change requests: the queue, and approving (the change applied to
//! the entitlement in the same transaction as the request's status and its audit event)
//! or rejecting, each with a comment.

use sqlx::{Any, Row, Transaction};

use super::audit::{self, Actor, NewAuditEvent};
use super::{Store, StoreError};
use crate::requests::{RequestKind, RequestStatus};

const DAY: i64 = 86_400;

/// How a decision went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// Applied (approved) or recorded (rejected).
    Done,
    /// The request is not pending any more (decided or withdrawn): nothing changed.
    NotPending(RequestStatus),
    /// The entitlement changed since the request was made (its version moved from the
    /// request's to `current`): confirm against the new state by passing `current`.
    Moved { requested: i64, current: i64 },
    /// Staff may not decide on a request they filed themselves.
    OwnRequest,
}

/// A request as the approval queue lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRow {
    pub id: i64,
    pub customer: String,
    pub customer_slug: String,
    pub kind: RequestKind,
    pub created_at: i64,
}

impl Store {
    /// Decides pending request `id`: approve (apply the change) or reject, with `comment`.
    /// `confirm_version` must name the entitlement's current version when it moved since
    /// the request was filed. One transaction: the request's status, the entitlement's
    /// change and version, and the audit event. `NotFound` for an unknown request.
    pub async fn decide_request(
        &self,
        actor: &Actor,
        id: i64,
        approve: bool,
        comment: &str,
        confirm_version: Option<i64>,
        now: i64,
    ) -> Result<(Decided, i64), StoreError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool().begin().await?;
        // Claiming the request first locks it: a second decision waits, then sees it decided.
        let claimed = sqlx::query("UPDATE change_requests SET updated_at = $2 WHERE id = $1 RETURNING status, customer_id, entitlement_id, kind, target_plan_id, seats, addon_id, entitlement_version, requested_by")
            .bind(id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(claimed) = claimed else { return super::roll_back(tx, Err(StoreError::NotFound)).await };
        let customer: i64 = claimed.try_get("customer_id")?;
        let status: String = claimed.try_get("status")?;
        let status = RequestStatus::parse(&status).unwrap_or(RequestStatus::Withdrawn);
        if status != RequestStatus::Pending {
            return super::roll_back(tx, Ok((Decided::NotPending(status), customer))).await;
        }
        if actor.user_id.is_some() && actor.user_id == claimed.try_get::<Option<i64>, _>("requested_by")? {
            return super::roll_back(tx, Ok((Decided::OwnRequest, customer))).await;
        }
        let entitlement: i64 = claimed.try_get("entitlement_id")?;
        let requested: i64 = claimed.try_get("entitlement_version")?;
        let current: i64 = sqlx::query_scalar("SELECT version FROM entitlements WHERE id = $1")
            .bind(entitlement)
            .fetch_one(&mut *tx)
            .await?;
        if approve && current != requested && confirm_version != Some(current) {
            return super::roll_back(tx, Ok((Decided::Moved { requested, current }, customer))).await;
        }
        let kind: String = claimed.try_get("kind")?;
        let kind = RequestKind::parse(&kind).ok_or_else(|| StoreError::Db(sqlx::Error::Decode("stored request kind".into())))?;
        let before = if approve { Some(entitlement_state(&mut tx, entitlement).await?) } else { None };
        if approve {
            apply(
                &mut tx,
                entitlement,
                kind,
                claimed.try_get("target_plan_id")?,
                claimed.try_get("seats")?,
                claimed.try_get("addon_id")?,
                now,
            )
            .await?;
            super::usage_history::record_day(&mut tx, entitlement, now).await?;
        }
        let new_status = if approve { RequestStatus::Approved } else { RequestStatus::Rejected };
        sqlx::query("UPDATE change_requests SET status = $2, decided_by = $3, decided_at = $4, comment = $5 WHERE id = $1")
            .bind(id)
            .bind(new_status.as_str())
            .bind(actor.user_id)
            .bind(now)
            .bind(comment)
            .execute(&mut *tx)
            .await?;
        let after = if approve { Some(entitlement_state(&mut tx, entitlement).await?) } else { None };
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer),
                kind: if approve { "request.approved" } else { "request.rejected" },
                subject: format!("request:{id}"),
                before: Some(serde_json::json!({ "status": "pending", "entitlement": before })),
                after: Some(serde_json::json!({ "status": new_status.as_str(), "comment": comment, "entitlement": after })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok((Decided::Done, customer))
    }

    /// Pending requests, oldest first, optionally of one customer (slug) and kind.
    pub async fn list_pending_requests(&self, customer: Option<&str>, kind: Option<RequestKind>) -> Result<Vec<QueueRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, c.name, c.slug, r.kind, r.created_at FROM change_requests r JOIN customers c ON c.id = r.customer_id
             WHERE r.status = 'pending' AND ($1 = '' OR c.slug = $1) AND ($2 = '' OR r.kind = $2)
             ORDER BY r.created_at, r.id",
        )
        .bind(customer.unwrap_or(""))
        .bind(kind.map(RequestKind::as_str).unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(QueueRow {
                    id: r.try_get("id")?,
                    customer: r.try_get("name")?,
                    customer_slug: r.try_get("slug")?,
                    kind: RequestKind::parse(&kind).ok_or_else(|| StoreError::Db(sqlx::Error::Decode("stored request kind".into())))?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}

/// What an approval changes, as the audit event records it before and after.
async fn entitlement_state(tx: &mut Transaction<'_, Any>, entitlement: i64) -> Result<serde_json::Value, StoreError> {
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
    tx: &mut Transaction<'_, Any>,
    entitlement: i64,
    kind: RequestKind,
    plan: Option<i64>,
    seats: Option<i64>,
    addon: Option<i64>,
    now: i64,
) -> Result<(), StoreError> {
    match kind {
        RequestKind::Plan => {
            let plan = plan.ok_or(StoreError::NotFound)?;
            sqlx::query("UPDATE entitlements SET plan_id = $2 WHERE id = $1").bind(entitlement).bind(plan).execute(&mut **tx).await?;
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
            super::catalog::add_addon(tx, entitlement, addon, now).await?;
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

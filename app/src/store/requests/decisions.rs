//! Vendor staff deciding change requests: approving (the change applied to the
//! entitlement in the same transaction as the request's status and its audit event, or
//! scheduled for the renewal date) or rejecting, each with a comment; a second approval
//! from someone else where a catalog rule asks for two.

use sqlx::Row;

use super::{apply, entitlement_state};
use crate::engine::{RequestKind, RequestStatus};
use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::EventKind;
use crate::store::usage::history;
use crate::store::write::Write;
use crate::store::{flag, Store, StoreError, Unique};

/// How a decision went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// Applied or scheduled for the renewal date (approved), or recorded (rejected).
    Done,
    /// The approval was recorded; the request needs `needed` approvals and has `have`.
    Recorded { have: i64, needed: i64 },
    /// The request is not pending any more (decided or withdrawn): nothing changed.
    NotPending(RequestStatus),
    /// The entitlement changed since the request was made (its version moved from the
    /// request's to `current`): confirm against the new state by passing `current`.
    Moved { requested: i64, current: i64 },
    /// Staff may not decide on a request they filed themselves.
    OwnRequest,
    /// Nobody decides on a request that concerns their own organisation.
    OwnOrganisation,
    /// This person approved already; the second approval must come from someone else.
    ApprovedAlready,
}

/// A pending request as a decision reads it.
pub(super) struct Claimed {
    pub id: i64,
    pub customer_id: i64,
    pub entitlement_id: i64,
    pub kind: RequestKind,
    pub target_plan_id: Option<i64>,
    pub seats: Option<i64>,
    pub addon_id: Option<i64>,
    pub at_renewal: bool,
}

impl Store {
    /// Decides pending request `id`: approve (apply the change, or schedule it for the
    /// renewal date when it was asked for at renewal) or reject, with `comment`.
    /// `confirm_version` must name the entitlement's current version when it moved since
    /// the request was filed. A request that needs two approvals records the first and
    /// waits for another person's. One transaction: the request's status, the
    /// entitlement's change and version, and the audit event. `NotFound` for an unknown
    /// request.
    pub async fn decide_request(
        &self,
        actor: &Actor,
        id: i64,
        approve: bool,
        comment: &str,
        confirm_version: Option<i64>,
        now: i64,
    ) -> Result<(Decided, i64), StoreError> {
        let mut tx = self.begin_write().await?;
        // Claiming the request first locks it: a second decision waits, then sees it decided.
        let claimed = sqlx::query(
            "UPDATE change_requests SET updated_at = $2 WHERE id = $1
             RETURNING status, customer_id, entitlement_id, kind, target_plan_id, seats, addon_id, entitlement_version, requested_by,
                       at_renewal, approvals_needed",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(claimed) = claimed else {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        };
        let customer: i64 = claimed.try_get("customer_id")?;
        let status: String = claimed.try_get("status")?;
        let status = RequestStatus::parse(&status).unwrap_or(RequestStatus::Withdrawn);
        if status != RequestStatus::Pending {
            return tx.roll_back(Ok((Decided::NotPending(status), customer))).await;
        }
        if actor.user_id.is_some() && actor.user_id == claimed.try_get::<Option<i64>, _>("requested_by")? {
            return tx.roll_back(Ok((Decided::OwnRequest, customer))).await;
        }
        if let Some(user) = actor.user_id {
            let own: Option<i64> = sqlx::query_scalar("SELECT customer_id FROM users WHERE id = $1").bind(user).fetch_one(&mut *tx).await?;
            if own == Some(customer) {
                return tx.roll_back(Ok((Decided::OwnOrganisation, customer))).await;
            }
        }
        let entitlement: i64 = claimed.try_get("entitlement_id")?;
        let requested: i64 = claimed.try_get("entitlement_version")?;
        let current: i64 =
            sqlx::query_scalar("SELECT version FROM entitlements WHERE id = $1").bind(entitlement).fetch_one(&mut *tx).await?;
        if approve && current != requested && confirm_version != Some(current) {
            return tx.roll_back(Ok((Decided::Moved { requested, current }, customer))).await;
        }
        let kind: String = claimed.try_get("kind")?;
        let request = Claimed {
            id,
            customer_id: customer,
            entitlement_id: entitlement,
            kind: RequestKind::parse(&kind).ok_or_else(|| StoreError::Db(sqlx::Error::Decode("stored request kind".into())))?,
            target_plan_id: claimed.try_get("target_plan_id")?,
            seats: claimed.try_get("seats")?,
            addon_id: claimed.try_get("addon_id")?,
            at_renewal: flag(&claimed, "at_renewal")?,
        };
        if !approve {
            set_status(&mut tx, id, RequestStatus::Rejected, actor.user_id, comment, now).await?;
            audit::record(
                &mut tx,
                NewAuditEvent {
                    actor,
                    customer_id: Some(customer),
                    kind: EventKind::RequestRejected,
                    subject: format!("request:{id}"),
                    before: Some(serde_json::json!({ "status": "pending" })),
                    after: Some(serde_json::json!({ "status": "rejected", "comment": comment })),
                },
                now,
            )
            .await?;
            tx.commit().await?;
            return Ok((Decided::Done, customer));
        }
        let needed: i64 = claimed.try_get("approvals_needed")?;
        let given = sqlx::query(
            "INSERT INTO request_approvals (request_id, approver, user_id, api_key_id, comment, at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(actor.approver())
        .bind(actor.user_id)
        .bind(actor.api_key_id())
        .bind(comment)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match given.map_err(StoreError::from) {
            Ok(_) => {}
            Err(StoreError::Duplicate(Unique::RequestApproval)) => return tx.roll_back(Ok((Decided::ApprovedAlready, customer))).await,
            Err(e) => return Err(e),
        }
        let have: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM request_approvals WHERE request_id = $1").bind(id).fetch_one(&mut *tx).await?;
        if have < needed {
            audit::record(
                &mut tx,
                NewAuditEvent {
                    actor,
                    customer_id: Some(customer),
                    kind: EventKind::RequestApprovalRecorded,
                    subject: format!("request:{id}"),
                    before: Some(serde_json::json!({ "status": "pending", "approvals": have - 1 })),
                    after: Some(serde_json::json!({ "status": "pending", "approvals": have, "needed": needed, "comment": comment })),
                },
                now,
            )
            .await?;
            tx.commit().await?;
            return Ok((Decided::Recorded { have, needed }, customer));
        }
        approve_in(&mut tx, actor, &request, comment, EventKind::RequestApproved, now).await?;
        tx.commit().await?;
        Ok((Decided::Done, customer))
    }
}

async fn set_status(
    tx: &mut Write<'_>,
    id: i64,
    status: RequestStatus,
    by: Option<i64>,
    comment: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE change_requests SET status = $2, decided_by = $3, decided_at = $4, comment = $5 WHERE id = $1")
        .bind(id)
        .bind(status.as_str())
        .bind(by)
        .bind(now)
        .bind(comment)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Approves `request` inside `tx`: applies its change now, or, when it was asked for at
/// renewal, schedules it for the entitlement's renewal (or end) date; sets its status and
/// records the audit event of `kind` (`request.approved`, `request.auto_approved`).
pub(super) async fn approve_in(
    tx: &mut Write<'_>,
    actor: &Actor,
    request: &Claimed,
    comment: &str,
    kind: EventKind,
    now: i64,
) -> Result<(), StoreError> {
    let entitlement = request.entitlement_id;
    let applies_at: Option<i64> = if request.at_renewal && request.kind != RequestKind::Renewal {
        sqlx::query_scalar("SELECT COALESCE(renews_at, ends_at, trial_ends_at) FROM entitlements WHERE id = $1")
            .bind(entitlement)
            .fetch_one(&mut **tx)
            .await?
    } else {
        None
    };
    let scheduled = applies_at.is_some_and(|at| at > now);
    let before = entitlement_state(tx, entitlement).await?;
    if !scheduled {
        apply(tx, entitlement, request.kind, request.target_plan_id, request.seats, request.addon_id, now).await?;
        history::record_day(tx, entitlement, now).await?;
    }
    set_status(tx, request.id, RequestStatus::Approved, actor.user_id, comment, now).await?;
    sqlx::query("UPDATE change_requests SET applies_at = $2, applied_at = $3 WHERE id = $1")
        .bind(request.id)
        .bind(applies_at.filter(|_| scheduled).unwrap_or(now))
        .bind((!scheduled).then_some(now))
        .execute(&mut **tx)
        .await?;
    let after = entitlement_state(tx, entitlement).await?;
    audit::record(
        tx,
        NewAuditEvent {
            actor,
            customer_id: Some(request.customer_id),
            kind,
            subject: format!("request:{}", request.id),
            before: Some(serde_json::json!({ "status": "pending", "entitlement": before })),
            after: Some(serde_json::json!({
                "status": "approved", "comment": comment, "entitlement": after,
                "applies_at": applies_at.filter(|_| scheduled),
            })),
        },
        now,
    )
    .await?;
    Ok(())
}

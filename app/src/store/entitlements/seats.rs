//! Assigning and freeing seats, each with its audit event in the same transaction; the
//! cap is checked in the statement that assigns.

use sqlx::Row;

use crate::engine::{CustomerId, EntitlementId, UserId};
use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::EventKind;
use crate::store::usage::history;
use crate::store::write::Write;
use crate::store::{Store, StoreError};

/// What a seat change came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatChange {
    Done,
    /// Every seat is taken.
    AtCap,
    /// The user already holds a seat (assign) or holds none (free).
    Unchanged,
}

/// Assigns a seat of `entitlement` to `user` unless the cap is reached; the cap is checked
/// in the same statement that inserts, so concurrent assignments cannot overshoot it.
/// Returns false when the cap was reached.
pub async fn assign_seat(tx: &mut Write<'_>, entitlement: EntitlementId, user: UserId, at: i64) -> Result<bool, StoreError> {
    let (entitlement_id, user_id) = (entitlement.get(), user.get());
    // Touching the entitlement first takes its row lock on PostgreSQL (and the write
    // lock on SQLite), so two assignments never count the same free seat.
    sqlx::query("UPDATE entitlements SET updated_at = updated_at WHERE id = $1").bind(entitlement_id).execute(&mut **tx).await?;
    let sql = format!(
        "INSERT INTO seats (entitlement_id, user_id, assigned_at)
         SELECT e.id, $2, $3 FROM entitlements e JOIN plans pl ON pl.id = e.plan_id
         WHERE e.id = $1 AND (SELECT COUNT(*) FROM seats s WHERE s.entitlement_id = e.id) < {}",
        crate::store::SEATS_CAP
    );
    let done = sqlx::query(&sql).bind(entitlement_id).bind(user_id).bind(at).execute(&mut **tx).await?;
    Ok(done.rows_affected() == 1)
}

impl Store {
    /// Gives `user` a seat of `entitlement` (of `customer`) unless the cap is reached.
    pub async fn assign_seat(
        &self,
        actor: &Actor,
        customer: CustomerId,
        entitlement: EntitlementId,
        user: UserId,
        now: i64,
    ) -> Result<SeatChange, StoreError> {
        let (customer_id, entitlement_id, user_id) = (customer.get(), entitlement.get(), user.get());
        let mut tx = self.begin_write().await?;
        // Write first: it takes the entitlement's lock before anything is read.
        sqlx::query("UPDATE entitlements SET updated_at = updated_at WHERE id = $1").bind(entitlement_id).execute(&mut *tx).await?;
        let held: Option<i64> = sqlx::query_scalar("SELECT id FROM seats WHERE entitlement_id = $1 AND user_id = $2")
            .bind(entitlement_id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        if held.is_some() {
            return tx.roll_back(Ok(SeatChange::Unchanged)).await;
        }
        if !assign_seat(&mut tx, entitlement, user, now).await? {
            return tx.roll_back(Ok(SeatChange::AtCap)).await;
        }
        history::record_day(&mut tx, entitlement_id, now).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer_id),
                kind: EventKind::SeatAssigned,
                subject: format!("entitlement:{entitlement_id}"),
                before: None,
                after: Some(serde_json::json!({ "user": user_id })),
            },
            now,
        )
        .await?;
        crate::store::notices::seat_cap(&mut tx, customer_id, entitlement_id, now).await?;
        tx.commit().await?;
        Ok(SeatChange::Done)
    }

    /// Frees the seat `user` holds in `entitlement` (of `customer`).
    pub async fn free_seat(
        &self,
        actor: &Actor,
        customer: CustomerId,
        entitlement: EntitlementId,
        user: UserId,
        now: i64,
    ) -> Result<SeatChange, StoreError> {
        let (customer_id, entitlement_id, user_id) = (customer.get(), entitlement.get(), user.get());
        let mut tx = self.begin_write().await?;
        let freed = sqlx::query("DELETE FROM seats WHERE entitlement_id = $1 AND user_id = $2 RETURNING id")
            .bind(entitlement_id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = freed else { return tx.roll_back(Ok(SeatChange::Unchanged)).await };
        let seat: i64 = row.try_get("id")?;
        history::record_day(&mut tx, entitlement_id, now).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer_id),
                kind: EventKind::SeatFreed,
                subject: format!("entitlement:{entitlement_id}"),
                before: Some(serde_json::json!({ "user": user_id, "seat": seat })),
                after: None,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(SeatChange::Done)
    }
}

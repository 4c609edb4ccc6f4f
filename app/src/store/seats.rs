//! Assigning and freeing seats, each with its audit event in the same transaction.

use sqlx::Row;

use super::audit::{self, Actor, NewAuditEvent};
use super::events::EventKind;
use super::{Store, StoreError};

/// What a seat change came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatChange {
    Done,
    /// Every seat is taken.
    AtCap,
    /// The user already holds a seat (assign) or holds none (free).
    Unchanged,
}

impl Store {
    /// The customer an entitlement belongs to; `NotFound` when there is none.
    pub async fn entitlement_customer(&self, entitlement_id: i64) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT customer_id FROM entitlements WHERE id = $1")
            .bind(entitlement_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// The id of the user with `email` in customer `customer_id`; `NotFound` otherwise.
    pub async fn find_customer_user(&self, customer_id: i64, email: &str) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT id FROM users WHERE customer_id = $1 AND email = $2")
            .bind(customer_id)
            .bind(email.trim().to_lowercase())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Gives `user_id` a seat of `entitlement_id` unless the cap is reached.
    pub async fn assign_seat(
        &self,
        actor: &Actor,
        customer_id: i64,
        entitlement_id: i64,
        user_id: i64,
        now: i64,
    ) -> Result<SeatChange, StoreError> {
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
        if !super::entitlements::assign_seat(&mut tx, entitlement_id, user_id, now).await? {
            return tx.roll_back(Ok(SeatChange::AtCap)).await;
        }
        super::usage_history::record_day(&mut tx, entitlement_id, now).await?;
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
        tx.commit().await?;
        Ok(SeatChange::Done)
    }

    /// Frees the seat `user_id` holds in `entitlement_id`.
    pub async fn free_seat(
        &self,
        actor: &Actor,
        customer_id: i64,
        entitlement_id: i64,
        user_id: i64,
        now: i64,
    ) -> Result<SeatChange, StoreError> {
        let mut tx = self.begin_write().await?;
        let freed = sqlx::query("DELETE FROM seats WHERE entitlement_id = $1 AND user_id = $2 RETURNING id")
            .bind(entitlement_id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = freed else { return tx.roll_back(Ok(SeatChange::Unchanged)).await };
        let seat: i64 = row.try_get("id")?;
        super::usage_history::record_day(&mut tx, entitlement_id, now).await?;
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

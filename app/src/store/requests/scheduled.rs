//! Changes approved for the renewal date: each applied when its date comes, in its own
//! transaction with its audit event.

use sqlx::Row;

use super::{apply, entitlement_state};
use crate::engine::RequestKind;
use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::EventKind;
use crate::store::usage::history;
use crate::store::{Store, StoreError};

impl Store {
    /// Applies every approved change whose renewal date has come, each in its own
    /// transaction with its audit event; returns the customers whose entitlements changed.
    pub async fn apply_due_changes(&self, now: i64) -> Result<Vec<i64>, StoreError> {
        let due: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM change_requests WHERE status = 'approved' AND applied_at IS NULL AND applies_at IS NOT NULL AND applies_at <= $1
             ORDER BY applies_at, id",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        let actor = Actor::system("schedule");
        let mut customers = Vec::new();
        for id in due {
            let mut tx = self.begin_write().await?;
            // Claimed by the update: a second replica sweeping at once finds nothing to do.
            let row = sqlx::query(
                "UPDATE change_requests SET applied_at = $2, updated_at = $2 WHERE id = $1 AND applied_at IS NULL
                 RETURNING customer_id, entitlement_id, kind, target_plan_id, seats, addon_id",
            )
            .bind(id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                tx.roll_back(Ok(())).await?;
                continue;
            };
            let kind: String = row.try_get("kind")?;
            let Some(kind) = RequestKind::parse(&kind) else {
                tx.roll_back(Ok(())).await?;
                continue;
            };
            let entitlement: i64 = row.try_get("entitlement_id")?;
            let customer: i64 = row.try_get("customer_id")?;
            let before = entitlement_state(&mut tx, entitlement).await?;
            apply(&mut tx, entitlement, kind, row.try_get("target_plan_id")?, row.try_get("seats")?, row.try_get("addon_id")?, now).await?;
            history::record_day(&mut tx, entitlement, now).await?;
            let after = entitlement_state(&mut tx, entitlement).await?;
            audit::record(
                &mut tx,
                NewAuditEvent {
                    actor: &actor,
                    customer_id: Some(customer),
                    kind: EventKind::RequestApplied,
                    subject: format!("request:{id}"),
                    before: Some(serde_json::json!({ "entitlement": before })),
                    after: Some(serde_json::json!({ "entitlement": after })),
                },
                now,
            )
            .await?;
            tx.commit().await?;
            if !customers.contains(&customer) {
                customers.push(customer);
            }
        }
        Ok(customers)
    }
}

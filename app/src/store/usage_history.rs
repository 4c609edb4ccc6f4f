//! What the charts read: metered usage per day, and seats used and live instances per
//! day (kept by every seat and instance change, in its transaction).

use sqlx::Row;

use super::audit::{self, Actor, NewAuditEvent};
use super::events::EventKind;
use super::write::Write;
use super::{Store, StoreError};

const DAY: i64 = 86_400;

/// Seats and instances of one entitlement on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacityDay {
    /// 00:00 UTC of the day, Unix seconds.
    pub day: i64,
    pub seats_peak: i64,
    pub seats_end: i64,
    pub instances_peak: i64,
    pub instances_end: i64,
}

/// Writes today's seats used and live instances of `entitlement_id` (the day's peak and
/// its latest value). Call it inside the transaction of every change to either.
pub async fn record_day(tx: &mut Write<'_>, entitlement_id: i64, now: i64) -> Result<(), StoreError> {
    let seats: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM seats WHERE entitlement_id = $1").bind(entitlement_id).fetch_one(&mut **tx).await?;
    let instances: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM instances WHERE entitlement_id = $1 AND deactivated_at IS NULL")
        .bind(entitlement_id)
        .fetch_one(&mut **tx)
        .await?;
    write_day(tx, entitlement_id, now.div_euclid(DAY) * DAY, seats, instances).await
}

/// Upserts one day's figures, keeping the larger peak.
pub(crate) async fn write_day(tx: &mut Write<'_>, entitlement_id: i64, day: i64, seats: i64, instances: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO entitlement_daily (entitlement_id, day, seats_peak, seats_end, instances_peak, instances_end)
         VALUES ($1, $2, $3, $3, $4, $4)
         ON CONFLICT (entitlement_id, day) DO UPDATE SET
            seats_peak = CASE WHEN excluded.seats_end > entitlement_daily.seats_peak THEN excluded.seats_end ELSE entitlement_daily.seats_peak END,
            seats_end = excluded.seats_end,
            instances_peak = CASE WHEN excluded.instances_end > entitlement_daily.instances_peak THEN excluded.instances_end ELSE entitlement_daily.instances_peak END,
            instances_end = excluded.instances_end",
    )
    .bind(entitlement_id)
    .bind(day)
    .bind(seats)
    .bind(instances)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Units used per feature and day of `entitlement_id` from day `from` (00:00 UTC):
    /// (feature id, day, quantity), by day.
    pub async fn usage_by_day(&self, entitlement_id: i64, from: i64) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT feature_id, day, quantity FROM usage_daily WHERE entitlement_id = $1 AND day >= $2 ORDER BY day, feature_id",
        )
        .bind(entitlement_id)
        .bind(from)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("feature_id")?, r.try_get("day")?, r.try_get("quantity")?))).collect()
    }

    /// Seats and instances of `entitlement_id` per day from day `from`, preceded by the
    /// last day before it (if any), whose end values carry into the days without a change.
    pub async fn capacity_by_day(&self, entitlement_id: i64, from: i64) -> Result<Vec<CapacityDay>, StoreError> {
        let rows = sqlx::query(
            "SELECT day, seats_peak, seats_end, instances_peak, instances_end FROM entitlement_daily
             WHERE entitlement_id = $1 AND day >= (SELECT COALESCE(MAX(day), $2) FROM entitlement_daily WHERE entitlement_id = $1 AND day < $2)
             ORDER BY day",
        )
        .bind(entitlement_id)
        .bind(from)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CapacityDay {
                    day: r.try_get("day")?,
                    seats_peak: r.try_get("seats_peak")?,
                    seats_end: r.try_get("seats_end")?,
                    instances_peak: r.try_get("instances_peak")?,
                    instances_end: r.try_get("instances_end")?,
                })
            })
            .collect()
    }

    /// Deactivates every instance whose heartbeat is older than `ttl` seconds, each with
    /// its audit event, and returns the customers whose instances lapsed.
    pub async fn sweep_lapsed_instances(&self, now: i64, ttl: i64) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let lapsed = sqlx::query(
            "UPDATE instances SET deactivated_at = $1 WHERE deactivated_at IS NULL AND last_heartbeat_at < $2
             RETURNING id, entitlement_id, last_heartbeat_at",
        )
        .bind(now)
        .bind(now - ttl)
        .fetch_all(&mut *tx)
        .await?;
        let mut customers = Vec::new();
        let mut entitlements = Vec::new();
        for r in &lapsed {
            let id: i64 = r.try_get("id")?;
            let entitlement: i64 = r.try_get("entitlement_id")?;
            let customer: i64 =
                sqlx::query_scalar("SELECT customer_id FROM entitlements WHERE id = $1").bind(entitlement).fetch_one(&mut *tx).await?;
            audit::record(
                &mut tx,
                NewAuditEvent {
                    actor: &Actor::system("heartbeat-sweep"),
                    customer_id: Some(customer),
                    kind: EventKind::InstanceLapsed,
                    subject: format!("instance:{id}"),
                    before: Some(serde_json::json!({ "last_heartbeat_at": r.try_get::<i64, _>("last_heartbeat_at")? })),
                    after: None,
                },
                now,
            )
            .await?;
            if !entitlements.contains(&entitlement) {
                entitlements.push(entitlement);
            }
            if !customers.contains(&customer) {
                customers.push(customer);
            }
        }
        for entitlement in entitlements {
            record_day(&mut tx, entitlement, now).await?;
        }
        tx.commit().await?;
        Ok(customers)
    }
}

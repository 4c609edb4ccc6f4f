//! What the charts read: metered usage per day, and seats used and live instances per
//! day (kept by every seat and instance change, in its transaction).

use sqlx::Row;

use crate::engine::dates::DAY;
use crate::store::write::Write;
use crate::store::{Store, StoreError};

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
}

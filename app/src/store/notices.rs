//! Notices derived from the state of entitlements, recorded as events of their own so
//! that the feed and webhooks carry them: a quota's use at 80% and at 100% (once each a
//! period), a trial ending within 7 days (once a trial end), an entitlement ending within
//! 30 and within 7 days (once each an end date), and the last seat or instance slot
//! taken (with the change that took it). Each notice's key is kept in `notices` in the
//! same transaction as its event, so that two replicas looking at once record it once.

use sqlx::Row;

use super::audit::{self, Actor, NewAuditEvent};
use super::events::EventKind;
use super::write::Write;
use super::{Store, StoreError};
use crate::engine::dates::DAY;
use crate::engine::Period;

/// The shares of a quota that are noticed, in percent.
pub const QUOTA_THRESHOLDS: [i64; 2] = [80, 100];
/// How long before a trial ends it is noticed.
pub const TRIAL_NOTICE_DAYS: i64 = 7;
/// How long before an entitlement ends it is noticed: the first, then the second.
pub const ENDING_NOTICE_DAYS: [i64; 2] = [30, 7];

/// Records `kind` about entitlement `entitlement` of `customer` unless notice `key` was
/// recorded before; whether it was recorded now.
async fn notice(
    tx: &mut Write<'_>,
    key: &str,
    kind: EventKind,
    customer: i64,
    entitlement: i64,
    after: serde_json::Value,
    now: i64,
) -> Result<bool, StoreError> {
    let fresh = sqlx::query("INSERT INTO notices (key, at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING key")
        .bind(key)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
    if fresh.is_none() {
        return Ok(false);
    }
    record(tx, kind, customer, entitlement, after, now).await?;
    Ok(true)
}

/// Records `seat.cap_reached` when entitlement `entitlement`'s seats are all taken; called
/// in the write that took the last one.
pub(crate) async fn seat_cap(tx: &mut Write<'_>, customer: i64, entitlement: i64, now: i64) -> Result<(), StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {} AS cap, (SELECT COUNT(*) FROM seats s WHERE s.entitlement_id = e.id) AS used
         FROM entitlements e JOIN plans pl ON pl.id = e.plan_id WHERE e.id = $1",
        super::SEATS_CAP
    ))
    .bind(entitlement)
    .fetch_one(&mut **tx)
    .await?;
    let (cap, used): (i64, i64) = (row.try_get("cap")?, row.try_get("used")?);
    if used >= cap {
        record(tx, EventKind::SeatCapReached, customer, entitlement, serde_json::json!({ "seats": cap, "used": used }), now).await?;
    }
    Ok(())
}

/// Records `instance.cap_reached` for entitlement `entitlement`, whose last slot (of
/// `cap`) was just taken.
pub(crate) async fn instance_cap(tx: &mut Write<'_>, customer: i64, entitlement: i64, cap: i64, now: i64) -> Result<(), StoreError> {
    let after = serde_json::json!({ "instances": cap, "active": cap });
    record(tx, EventKind::InstanceCapReached, customer, entitlement, after, now).await
}

/// Records notice `kind` about entitlement `entitlement` of `customer`, by the system.
async fn record(
    tx: &mut Write<'_>,
    kind: EventKind,
    customer: i64,
    entitlement: i64,
    after: serde_json::Value,
    now: i64,
) -> Result<(), StoreError> {
    let event = NewAuditEvent {
        actor: &Actor::system("notices"),
        customer_id: Some(customer),
        kind,
        subject: format!("entitlement:{entitlement}"),
        before: None,
        after: Some(after),
    };
    audit::record(tx, event, now).await.map(|_| ())
}

/// A date as the notices write it.
fn date(secs: i64) -> String {
    crate::store::day_of(secs).to_string()
}

impl Store {
    /// Records every notice due at `now`: trials and terms ending, and quotas reached by
    /// the entitlements with use this year. Returns how many were recorded.
    pub async fn record_notices(&self, now: i64) -> Result<usize, StoreError> {
        let mut recorded = self.ending_notices(now).await?;
        let year = Period::Year.start(now);
        let used: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT entitlement_id FROM usage_daily WHERE day >= $1 ORDER BY entitlement_id")
            .bind(year)
            .fetch_all(self.pool())
            .await?;
        recorded += self.quota_notices(&used, now).await?;
        Ok(recorded)
    }

    /// Trials ending within [`TRIAL_NOTICE_DAYS`] and terms within [`ENDING_NOTICE_DAYS`].
    async fn ending_notices(&self, now: i64) -> Result<usize, StoreError> {
        let trials = sqlx::query(
            "SELECT id, customer_id, trial_ends_at FROM entitlements
             WHERE status = 'trial' AND trial_ends_at > $1 AND trial_ends_at <= $2 ORDER BY id",
        )
        .bind(now)
        .bind(now + TRIAL_NOTICE_DAYS * DAY)
        .fetch_all(self.pool())
        .await?;
        let ending = sqlx::query(
            "SELECT id, customer_id, ends_at FROM entitlements
             WHERE status IN ('trial', 'active', 'suspended') AND ends_at > $1 AND ends_at <= $2 ORDER BY id",
        )
        .bind(now)
        .bind(now + ENDING_NOTICE_DAYS[0] * DAY)
        .fetch_all(self.pool())
        .await?;
        if trials.is_empty() && ending.is_empty() {
            return Ok(0);
        }
        let mut recorded = 0;
        let mut tx = self.begin_write().await?;
        for row in &trials {
            let (id, customer, end): (i64, i64, i64) = (row.try_get("id")?, row.try_get("customer_id")?, row.try_get("trial_ends_at")?);
            let after = serde_json::json!({ "trial_ends": date(end), "days": (end - now).div_euclid(DAY) });
            let key = format!("trial_ending:{id}:{end}");
            recorded += usize::from(notice(&mut tx, &key, EventKind::EntitlementTrialEnding, customer, id, after, now).await?);
        }
        for row in &ending {
            let (id, customer, end): (i64, i64, i64) = (row.try_get("id")?, row.try_get("customer_id")?, row.try_get("ends_at")?);
            // The nearest notice due; one first seen within 7 days is not also told it
            // has 30 left.
            let due: Vec<i64> = ENDING_NOTICE_DAYS.iter().copied().filter(|d| end <= now + d * DAY).collect();
            let Some(&days) = due.last() else { continue };
            let keys: Vec<String> = due.iter().map(|d| format!("ending:{id}:{end}:{d}")).collect();
            let after = serde_json::json!({ "ends": date(end), "days": days, "days_left": (end - now).div_euclid(DAY) });
            if notice(&mut tx, &format!("ending:{id}:{end}:{days}"), EventKind::EntitlementEnding, customer, id, after, now).await? {
                recorded += 1;
                for key in keys.iter().filter(|k| !k.ends_with(&format!(":{days}"))) {
                    sqlx::query("INSERT INTO notices (key, at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                        .bind(key)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(recorded)
    }

    /// Quota notices of `entitlements` at `now`: for each metered feature with a quota,
    /// this period's use against it, each of [`QUOTA_THRESHOLDS`] once a period.
    pub async fn quota_notices(&self, entitlements: &[i64], now: i64) -> Result<usize, StoreError> {
        let mut recorded = 0;
        for &entitlement in entitlements {
            let Some(customer) =
                sqlx::query_scalar::<_, i64>("SELECT customer_id FROM entitlements WHERE id = $1 AND status IN ('trial', 'active')")
                    .bind(entitlement)
                    .fetch_optional(self.pool())
                    .await?
            else {
                continue;
            };
            let features = super::catalog::entitlement_features(self.pool(), customer).await?.remove(&entitlement).unwrap_or_default();
            // Each threshold reached this period and not told of yet: its key and what it
            // says. Those told of already are left out before a write is begun for them.
            let mut due = Vec::new();
            for f in features.into_values().filter(|f| f.metered) {
                let Some(quota) = f.quota.filter(|q| *q > 0) else { continue };
                let period = f.quota_period.as_deref().and_then(Period::parse).unwrap_or(Period::Month);
                let start = period.start(now);
                let used: i64 = sqlx::query_scalar(
                    "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM usage_daily WHERE entitlement_id = $1 AND feature_id = $2 AND day >= $3",
                )
                .bind(entitlement)
                .bind(f.feature_id)
                .bind(start)
                .fetch_one(self.pool())
                .await?;
                let period_name = match period {
                    Period::Day => "day",
                    Period::Month => "month",
                    Period::Year => "year",
                };
                for percent in QUOTA_THRESHOLDS {
                    if i128::from(used) * 100 < i128::from(quota) * i128::from(percent) {
                        continue;
                    }
                    let key = format!("quota:{entitlement}:{}:{start}:{percent}", f.feature_id);
                    let given =
                        sqlx::query_scalar::<_, String>("SELECT key FROM notices WHERE key = $1").bind(&key).fetch_optional(self.pool());
                    if given.await?.is_none() {
                        let after = serde_json::json!({
                            "feature": f.key, "percent": percent, "used": used, "quota": quota,
                            "period": period_name, "period_start": date(start),
                        });
                        due.push((key, after));
                    }
                }
            }
            if due.is_empty() {
                continue;
            }
            let mut tx = self.begin_write().await?;
            for (key, after) in due {
                recorded += usize::from(notice(&mut tx, &key, EventKind::QuotaThresholdReached, customer, entitlement, after, now).await?);
            }
            tx.commit().await?;
        }
        Ok(recorded)
    }

    /// Forgets notices older than `before` (their events stay in the audit log).
    pub async fn purge_notices(&self, before: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let gone = sqlx::query("DELETE FROM notices WHERE at < $1").bind(before).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(gone.rows_affected())
    }
}

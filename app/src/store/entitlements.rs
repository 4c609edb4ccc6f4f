//! Entitlements (customer × product) and their seats.

use chrono::NaiveDate;
use sqlx::Row;

use super::events::EventKind;
use super::write::Write;
use super::{day_of, flag, Store, StoreError};
use crate::entitlements::{days_between, EntitlementStatus, EntitlementView};

/// An entitlement to grant.
#[derive(Debug, Clone)]
pub struct NewEntitlement {
    pub customer_id: i64,
    pub product_id: i64,
    pub plan_id: i64,
    pub status: EntitlementStatus,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
    pub renews_at: Option<i64>,
    pub trial_ends_at: Option<i64>,
    pub grace_days: i64,
    pub auto_renew: bool,
    pub status_reason: Option<String>,
}

/// Grants an entitlement; `Duplicate(Unique::CustomerProduct)` when the customer has one for
/// that product already.
pub async fn create_entitlement(tx: &mut Write<'_>, e: &NewEntitlement, at: i64) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO entitlements (customer_id, product_id, plan_id, status, starts_at, ends_at, renews_at,
                                   trial_ends_at, grace_days, auto_renew, status_reason, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
    )
    .bind(e.customer_id)
    .bind(e.product_id)
    .bind(e.plan_id)
    .bind(e.status.as_str())
    .bind(e.starts_at)
    .bind(e.ends_at)
    .bind(e.renews_at)
    .bind(e.trial_ends_at)
    .bind(e.grace_days)
    .bind(i64::from(e.auto_renew))
    .bind(e.status_reason.as_deref())
    .bind(at)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

/// Assigns a seat of `entitlement_id` to `user_id` unless the cap is reached; the cap
/// is checked in the same statement that inserts, so concurrent assignments cannot
/// overshoot it. Returns false when the cap was reached.
pub async fn assign_seat(tx: &mut Write<'_>, entitlement_id: i64, user_id: i64, at: i64) -> Result<bool, StoreError> {
    // Touching the entitlement first takes its row lock on PostgreSQL (and the write
    // lock on SQLite), so two assignments never count the same free seat.
    sqlx::query("UPDATE entitlements SET updated_at = updated_at WHERE id = $1").bind(entitlement_id).execute(&mut **tx).await?;
    let sql = format!(
        "INSERT INTO seats (entitlement_id, user_id, assigned_at)
         SELECT e.id, $2, $3 FROM entitlements e JOIN plans pl ON pl.id = e.plan_id
         WHERE e.id = $1 AND (SELECT COUNT(*) FROM seats s WHERE s.entitlement_id = e.id) < {}",
        super::SEATS_CAP
    );
    let done = sqlx::query(&sql).bind(entitlement_id).bind(user_id).bind(at).execute(&mut **tx).await?;
    Ok(done.rows_affected() == 1)
}

impl Store {
    /// The entitlements of customer `customer_id`, by product name, as seen on day `today`,
    /// with the features of their plan and add-ons.
    pub async fn list_entitlements(&self, customer_id: i64, today: NaiveDate) -> Result<Vec<EntitlementView>, StoreError> {
        let sql = format!(
            "SELECT e.id, c.name AS customer, p.name AS product, pl.name AS plan, pl.key AS plan_key, pl.rank AS plan_rank,
                    e.plan_id, e.status, e.status_reason,
                    (SELECT COUNT(*) FROM seats s WHERE s.entitlement_id = e.id) AS seats_used,
                    {} AS seats_cap, {} AS instances_cap,
                    e.starts_at, e.ends_at, e.renews_at, e.trial_ends_at, e.auto_renew, e.grace_days, e.version
             FROM entitlements e
             JOIN customers c ON c.id = e.customer_id
             JOIN products p ON p.id = e.product_id
             JOIN plans pl ON pl.id = e.plan_id
             WHERE e.customer_id = $1
             ORDER BY p.name, e.id",
            super::SEATS_CAP,
            super::INSTANCES_CAP
        );
        let rows = sqlx::query(&sql).bind(customer_id).fetch_all(self.pool()).await?;
        let grants = super::catalog::entitlement_features(self.pool(), customer_id).await?;
        let addons = sqlx::query(
            "SELECT ea.entitlement_id, a.name FROM entitlement_addons ea JOIN addons a ON a.id = ea.addon_id
             JOIN entitlements e ON e.id = ea.entitlement_id WHERE e.customer_id = $1 ORDER BY a.name",
        )
        .bind(customer_id)
        .fetch_all(self.pool())
        .await?;

        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: i64 = r.try_get("id")?;
            let status: String = r.try_get("status")?;
            let status = EntitlementStatus::parse(&status)
                .ok_or_else(|| StoreError::Db(sqlx::Error::Decode(format!("unknown status {status}").into())))?;
            let date = |col: &str| -> Result<Option<NaiveDate>, sqlx::Error> { Ok(r.try_get::<Option<i64>, _>(col)?.map(day_of)) };
            let mut view = EntitlementView {
                id,
                customer: r.try_get("customer")?,
                product: r.try_get("product")?,
                plan: r.try_get("plan")?,
                plan_key: r.try_get("plan_key")?,
                plan_rank: r.try_get("plan_rank")?,
                addons: addons
                    .iter()
                    .filter(|a| a.try_get::<i64, _>("entitlement_id").ok() == Some(id))
                    .map(|a| a.try_get("name"))
                    .collect::<Result<_, _>>()?,
                status,
                status_reason: r.try_get("status_reason")?,
                seats_used: r.try_get("seats_used")?,
                seats_cap: r.try_get("seats_cap")?,
                instances_cap: r.try_get("instances_cap")?,
                features: grants.get(&id).map(|g| g.values().map(super::catalog::GrantedFeature::grant).collect()).unwrap_or_default(),
                starts_on: day_of(r.try_get("starts_at")?),
                ends_on: date("ends_at")?,
                renews_on: date("renews_at")?,
                trial_ends_on: date("trial_ends_at")?,
                auto_renew: flag(&r, "auto_renew")?,
                grace_days: r.try_get("grace_days")?,
                version: r.try_get("version")?,
                days_left: None,
            };
            view.days_left = view.next_date().map(|d| days_between(today, d));
            out.push(view);
        }
        Ok(out)
    }
}

impl Store {
    /// Moves the trial end of entitlement `entitlement_id` (staff extending or ending a
    /// trial), bumping its version, with its audit event. `NotFound` when there is none.
    pub async fn set_trial_end(
        &self,
        actor: &super::audit::Actor,
        entitlement_id: i64,
        trial_ends_at: i64,
        reason: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let before =
            sqlx::query("UPDATE entitlements SET updated_at = $2 WHERE id = $1 RETURNING customer_id, trial_ends_at, ends_at, version")
                .bind(entitlement_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(before) = before else { return tx.roll_back(Err(StoreError::NotFound)).await };
        let customer: i64 = before.try_get("customer_id")?;
        let old: Option<i64> = before.try_get("trial_ends_at")?;
        let ends_at: Option<i64> = before.try_get("ends_at")?;
        let new_end = crate::engine::dates::end_after_trial_move(ends_at, old, trial_ends_at);
        sqlx::query("UPDATE entitlements SET trial_ends_at = $2, ends_at = $3, version = version + 1 WHERE id = $1")
            .bind(entitlement_id)
            .bind(trial_ends_at)
            .bind(new_end)
            .execute(&mut *tx)
            .await?;
        super::audit::record(
            &mut tx,
            super::audit::NewAuditEvent {
                actor,
                customer_id: Some(customer),
                kind: EventKind::EntitlementTrialEndSet,
                subject: format!("entitlement:{entitlement_id}"),
                before: Some(serde_json::json!({ "trial_ends_at": old })),
                after: Some(serde_json::json!({ "trial_ends_at": trial_ends_at, "reason": reason })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Why an entitlement's status could not change as staff asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StatusRefusal {
    /// Suspending: only an active entitlement is suspended.
    #[error("only an active entitlement can be suspended")]
    NotActive,
    /// Resuming: only a suspended entitlement is resumed.
    #[error("only a suspended entitlement can be resumed")]
    NotSuspended,
    /// Renewing: a cancelled entitlement is not renewed.
    #[error("a cancelled entitlement cannot be renewed")]
    RenewingCancelled,
    /// Cancelling: it is cancelled already.
    #[error("the entitlement is cancelled already")]
    CancelledAlready,
}

impl Store {
    /// Suspends (`suspend`) or resumes entitlement `entitlement_id` with staff's `reason`,
    /// bumping its version, with its audit event. Returns the customer, or `NotFound`;
    /// refused with [`StatusRefusal::NotActive`] (suspend) or
    /// [`StatusRefusal::NotSuspended`] (resume) when its status does not allow it.
    pub async fn set_suspended(
        &self,
        actor: &super::audit::Actor,
        entitlement_id: i64,
        suspend: bool,
        reason: &str,
        now: i64,
    ) -> Result<Result<i64, StatusRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let (from, to, why) = if suspend { ("active", "suspended", Some(reason)) } else { ("suspended", "active", None) };
        let row = sqlx::query(
            "UPDATE entitlements SET status = $3, status_reason = $4, version = version + 1, updated_at = $5
             WHERE id = $1 AND status = $2 RETURNING customer_id",
        )
        .bind(entitlement_id)
        .bind(from)
        .bind(to)
        .bind(why)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT id FROM entitlements WHERE id = $1").bind(entitlement_id).fetch_optional(&mut *tx).await?;
            if exists.is_none() {
                return tx.roll_back(Err(StoreError::NotFound)).await;
            }
            let refusal = if suspend { StatusRefusal::NotActive } else { StatusRefusal::NotSuspended };
            return tx.roll_back(Ok(Err(refusal))).await;
        };
        let customer: i64 = row.try_get("customer_id")?;
        super::audit::record(
            &mut tx,
            super::audit::NewAuditEvent {
                actor,
                customer_id: Some(customer),
                kind: if suspend { EventKind::EntitlementSuspended } else { EventKind::EntitlementResumed },
                subject: format!("entitlement:{entitlement_id}"),
                before: Some(serde_json::json!({ "status": from })),
                after: Some(serde_json::json!({ "status": to, "reason": reason })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(customer))
    }
}

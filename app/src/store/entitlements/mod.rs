//! Entitlements (customer × product): what a customer has, as the portal and the checks
//! read it, and why staff's change to one can be refused. What happens to one over its
//! life is in [`lifecycle`]; its [`seats`], its [`instances`] and the [`snapshots`]
//! enforcement loads have modules of their own.

pub mod instances;
pub mod lifecycle;
pub mod seats;
pub mod snapshots;

use chrono::NaiveDate;
use sqlx::Row;

use super::{day_of, flag, Store, StoreError};
use crate::engine::{days_between, EntitlementStatus};
use crate::entitlements::EntitlementView;

/// An entitlement's facts a request is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementFacts {
    pub id: i64,
    pub customer_id: i64,
    pub product_id: i64,
    pub plan_id: i64,
    pub version: i64,
    pub addon_ids: Vec<i64>,
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

    /// The facts of entitlement `entitlement_id`; `NotFound` when there is none.
    pub async fn entitlement_facts(&self, entitlement_id: i64) -> Result<EntitlementFacts, StoreError> {
        let r = sqlx::query("SELECT id, customer_id, product_id, plan_id, version FROM entitlements WHERE id = $1")
            .bind(entitlement_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        let addon_ids = sqlx::query_scalar("SELECT addon_id FROM entitlement_addons WHERE entitlement_id = $1 ORDER BY addon_id")
            .bind(entitlement_id)
            .fetch_all(self.pool())
            .await?;
        Ok(EntitlementFacts {
            id: r.try_get("id")?,
            customer_id: r.try_get("customer_id")?,
            product_id: r.try_get("product_id")?,
            plan_id: r.try_get("plan_id")?,
            version: r.try_get("version")?,
            addon_ids,
        })
    }

    /// The customer an entitlement belongs to; `NotFound` when there is none.
    pub async fn entitlement_customer(&self, entitlement_id: i64) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT customer_id FROM entitlements WHERE id = $1")
            .bind(entitlement_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)
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

/// Why staff could not amend an entitlement's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmendRefusal {
    /// The terms asked for are the ones it has.
    #[error("the entitlement has these terms already")]
    Unchanged,
    /// A change proposed for it waits for a second approval: decide that one first.
    #[error("a proposed change of this entitlement waits for a second approval")]
    ProposalPending,
}

/// Why staff could not decide a proposed change of terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecideAmendRefusal {
    /// It was decided already.
    #[error("the proposal was decided already")]
    NotPending,
    /// The one who proposed it cannot be its second approver.
    #[error("the proposal is the caller's own")]
    OwnProposal,
}

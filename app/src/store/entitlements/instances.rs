//! Instances: running copies activated under an entitlement, kept alive by heartbeats
//! and freed when their heartbeats lapse.

use sqlx::Row;

use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::{Changes, EventKind};
use crate::store::usage::history;
use crate::store::{Store, StoreError};

/// What an activation came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activation {
    /// A new instance (or the live one with the same fingerprint) with its id.
    Active { id: i64, created: bool },
    /// Every slot is taken by a live instance.
    AtCap,
}

/// What a heartbeat came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    Alive,
    /// The instance lapsed (or was deactivated); it must activate again.
    Lapsed,
    NotFound,
}

/// An instance as the API and the portal show it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InstanceRow {
    pub id: i64,
    pub entitlement_id: i64,
    pub fingerprint: String,
    pub name: Option<String>,
    pub activated_at: i64,
    pub last_heartbeat_at: i64,
}

impl Store {
    /// Activates an instance under `entitlement_id` unless `cap` live instances exist;
    /// instances whose heartbeat lapsed more than `ttl` seconds ago are freed first. The
    /// entitlement's row is locked first, so concurrent activations cannot overshoot.
    #[allow(clippy::too_many_arguments)]
    pub async fn activate_instance(
        &self,
        actor: &Actor,
        customer_id: i64,
        entitlement_id: i64,
        cap: i64,
        fingerprint: &str,
        name: Option<&str>,
        now: i64,
        ttl: i64,
    ) -> Result<Activation, StoreError> {
        let mut tx = self.begin_write().await?;
        let locked =
            sqlx::query("UPDATE entitlements SET updated_at = updated_at WHERE id = $1").bind(entitlement_id).execute(&mut *tx).await?;
        if locked.rows_affected() == 0 {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        }
        sqlx::query(
            "UPDATE instances SET deactivated_at = $2
             WHERE entitlement_id = $1 AND deactivated_at IS NULL AND last_heartbeat_at < $3",
        )
        .bind(entitlement_id)
        .bind(now)
        .bind(now - ttl)
        .execute(&mut *tx)
        .await?;
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM instances WHERE entitlement_id = $1 AND fingerprint = $2 AND deactivated_at IS NULL")
                .bind(entitlement_id)
                .bind(fingerprint)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(id) = existing {
            sqlx::query("UPDATE instances SET last_heartbeat_at = $2 WHERE id = $1").bind(id).bind(now).execute(&mut *tx).await?;
            // No event (the instance was active already), but its heartbeat is what checks read.
            tx.touch_customer(customer_id);
            tx.commit().await?;
            return Ok(Activation::Active { id, created: false });
        }
        let live: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM instances WHERE entitlement_id = $1 AND deactivated_at IS NULL")
            .bind(entitlement_id)
            .fetch_one(&mut *tx)
            .await?;
        if live >= cap {
            return tx.roll_back(Ok(Activation::AtCap)).await;
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO instances (entitlement_id, fingerprint, name, activated_at, last_heartbeat_at)
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(entitlement_id)
        .bind(fingerprint)
        .bind(name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        history::record_day(&mut tx, entitlement_id, now).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer_id),
                kind: EventKind::InstanceActivated,
                subject: format!("instance:{id}"),
                before: None,
                after: Some(serde_json::json!({"entitlement": entitlement_id, "fingerprint": fingerprint, "name": name})),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Activation::Active { id, created: true })
    }

    /// Records a heartbeat of instance `id` of an entitlement of `product_id`.
    pub async fn heartbeat_instance(&self, product_id: i64, id: i64, now: i64, ttl: i64) -> Result<(Heartbeat, Option<i64>), StoreError> {
        let row = sqlx::query(
            "SELECT i.deactivated_at, i.last_heartbeat_at, e.customer_id FROM instances i JOIN entitlements e ON e.id = i.entitlement_id
             WHERE i.id = $1 AND e.product_id = $2",
        )
        .bind(id)
        .bind(product_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok((Heartbeat::NotFound, None)) };
        let customer: i64 = row.try_get("customer_id")?;
        let gone = row.try_get::<Option<i64>, _>("deactivated_at")?.is_some() || row.try_get::<i64, _>("last_heartbeat_at")? < now - ttl;
        if gone {
            self.publish(&Changes::of_customer(customer)).await?;
            return Ok((Heartbeat::Lapsed, Some(customer)));
        }
        // A heartbeat is liveness, not a change anyone made: no audit event, but the
        // snapshot's last-seen time moves.
        sqlx::query("UPDATE instances SET last_heartbeat_at = $2 WHERE id = $1 AND deactivated_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(self.pool())
            .await?;
        self.publish(&Changes::of_customer(customer)).await?;
        Ok((Heartbeat::Alive, Some(customer)))
    }

    /// Deactivates instance `id` of an entitlement of `product_id` (when `product_id` is
    /// given) and frees its slot; returns the customer, or `NotFound`.
    pub async fn deactivate_instance(
        &self,
        actor: &Actor,
        product_id: Option<i64>,
        customer_id: Option<i64>,
        id: i64,
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE instances SET deactivated_at = $2 WHERE id = $1 AND deactivated_at IS NULL
             RETURNING entitlement_id",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return tx.roll_back(Err(StoreError::NotFound)).await };
        let entitlement: i64 = row.try_get("entitlement_id")?;
        let owner =
            sqlx::query("SELECT customer_id, product_id FROM entitlements WHERE id = $1").bind(entitlement).fetch_one(&mut *tx).await?;
        let owner_customer: i64 = owner.try_get("customer_id")?;
        let owner_product: i64 = owner.try_get("product_id")?;
        if product_id.is_some_and(|p| p != owner_product) || customer_id.is_some_and(|c| c != owner_customer) {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        }
        history::record_day(&mut tx, entitlement, now).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(owner_customer),
                kind: EventKind::InstanceDeactivated,
                subject: format!("instance:{id}"),
                before: None,
                after: None,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(owner_customer)
    }

    /// The live (not deactivated) instances of customer `customer_id`.
    pub async fn list_instances(&self, customer_id: i64) -> Result<Vec<InstanceRow>, StoreError> {
        Ok(sqlx::query_as::<_, InstanceRow>(
            "SELECT i.id, i.entitlement_id, i.fingerprint, i.name, i.activated_at, i.last_heartbeat_at
             FROM instances i JOIN entitlements e ON e.id = i.entitlement_id
             WHERE e.customer_id = $1 AND i.deactivated_at IS NULL ORDER BY i.id",
        )
        .bind(customer_id)
        .fetch_all(self.pool())
        .await?)
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
            history::record_day(&mut tx, entitlement, now).await?;
        }
        tx.commit().await?;
        Ok(customers)
    }
}

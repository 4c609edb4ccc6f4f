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
    /// A new instance (or the live one with the same fingerprint) with its ids.
    Active { id: i64, public_id: String, created: bool },
    /// Every slot is taken by a live instance.
    AtCap,
    /// The air-gapped request was used before.
    Replayed,
}

/// An instance to activate under an entitlement.
#[derive(Debug, Clone)]
pub struct NewInstance<'a> {
    pub customer_id: i64,
    pub entitlement_id: i64,
    /// Live instances allowed.
    pub cap: i64,
    pub fingerprint: &'a str,
    pub name: Option<&'a str>,
    /// For an air-gapped machine: the request it came with, and until when its offline
    /// licence holds the slot.
    pub offline: Option<OfflineHold<'a>>,
}

/// An air-gapped activation's request (taken once) and the hold of its licence.
#[derive(Debug, Clone)]
pub struct OfflineHold<'a> {
    pub key_id: &'a str,
    pub nonce: &'a str,
    pub until: i64,
}

/// An instance as found by its public id, with what it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRef {
    pub id: i64,
    pub public_id: String,
    pub entitlement_id: i64,
    pub customer_id: i64,
    pub product_id: i64,
    pub fingerprint: String,
}

/// A new opaque instance id: `ins_` and 128 random bits in hex.
pub fn new_public_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("ins_{}", crate::engine::licensing::hex(&bytes))
}

/// SQL: instance `i` neither heartbeats nor holds an offline licence any more at `$now`
/// with heartbeats due every `$ttl` seconds (the two given as `now` and `cutoff = now - ttl`).
const LAPSED: &str = "i.last_heartbeat_at < {cutoff} AND (i.offline_until IS NULL OR i.offline_until < {now})";

fn lapsed_sql(now: &str, cutoff: &str) -> String {
    LAPSED.replace("{cutoff}", cutoff).replace("{now}", now)
}

/// Which of a customer's instances to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct InstanceQuery<'a> {
    /// Part of the name, the fingerprint or the instance id, any case.
    pub search: Option<&'a str>,
    /// Only the instances activated after this one (the next page).
    pub after: Option<i64>,
    pub limit: i64,
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
    pub public_id: String,
    pub entitlement_id: i64,
    pub fingerprint: String,
    pub name: Option<String>,
    pub activated_at: i64,
    pub last_heartbeat_at: i64,
    /// Until when an offline licence holds the slot.
    pub offline_until: Option<i64>,
}

/// The window over which early releases of licensed instances are counted: 30 days.
pub const EARLY_RELEASE_WINDOW: i64 = 30 * 86_400;

/// What became of a deactivation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deactivation {
    /// The slot is free; the customer the instance belonged to.
    Done(i64),
    /// The air-gapped receipt was used before.
    Replayed,
    /// The instance holds an offline licence valid until `until`, and its entitlement has
    /// already freed as many licensed instances early within [`EARLY_RELEASE_WINDOW`] as
    /// its cap: the slot frees when the licence expires.
    HeldByLicence { until: i64 },
}

impl Store {
    /// Activates an instance under its entitlement unless `cap` live instances exist;
    /// instances whose heartbeat lapsed more than `ttl` seconds ago (and hold no offline
    /// licence) are freed first. The entitlement's row is locked first, so concurrent
    /// activations cannot overshoot. An air-gapped activation takes its request's nonce
    /// in the same transaction ([`Activation::Replayed`] the second time).
    pub async fn activate_instance(&self, actor: &Actor, new: &NewInstance<'_>, now: i64, ttl: i64) -> Result<Activation, StoreError> {
        let mut tx = self.begin_write().await?;
        let locked =
            sqlx::query("UPDATE entitlements SET updated_at = updated_at WHERE id = $1").bind(new.entitlement_id).execute(&mut *tx).await?;
        if locked.rows_affected() == 0 {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        }
        if let Some(hold) = &new.offline {
            let fresh = sqlx::query(
                "INSERT INTO offline_nonces (key_id, nonce, used_at) VALUES ($1, $2, $3) ON CONFLICT (key_id, nonce) DO NOTHING RETURNING nonce",
            )
            .bind(hold.key_id)
            .bind(hold.nonce)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if fresh.is_none() {
                return tx.roll_back(Ok(Activation::Replayed)).await;
            }
        }
        sqlx::query(&format!(
            "UPDATE instances SET deactivated_at = $2 WHERE id IN (SELECT i.id FROM instances i WHERE i.entitlement_id = $1
             AND i.deactivated_at IS NULL AND {})",
            lapsed_sql("$2", "$3")
        ))
        .bind(new.entitlement_id)
        .bind(now)
        .bind(now - ttl)
        .execute(&mut *tx)
        .await?;
        let hold_until = new.offline.as_ref().map(|h| h.until);
        let existing =
            sqlx::query("SELECT id, public_id FROM instances WHERE entitlement_id = $1 AND fingerprint = $2 AND deactivated_at IS NULL")
                .bind(new.entitlement_id)
                .bind(new.fingerprint)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(row) = existing {
            let (id, public_id): (i64, String) = (row.try_get("id")?, row.try_get("public_id")?);
            sqlx::query("UPDATE instances SET last_heartbeat_at = $2, offline_until = COALESCE($3, offline_until) WHERE id = $1")
                .bind(id)
                .bind(now)
                .bind(hold_until)
                .execute(&mut *tx)
                .await?;
            // Active already: no activation, but a licence that now holds its slot is
            // audited; its heartbeat is what checks read.
            if let Some(until) = hold_until {
                audit::record(
                    &mut tx,
                    NewAuditEvent {
                        actor,
                        customer_id: Some(new.customer_id),
                        kind: EventKind::InstanceLicensed,
                        subject: format!("instance:{public_id}"),
                        before: None,
                        after: Some(serde_json::json!({ "until": until, "fingerprint": new.fingerprint })),
                    },
                    now,
                )
                .await?;
            }
            tx.touch_customer(new.customer_id);
            tx.commit().await?;
            return Ok(Activation::Active { id, public_id, created: false });
        }
        let live: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM instances WHERE entitlement_id = $1 AND deactivated_at IS NULL")
            .bind(new.entitlement_id)
            .fetch_one(&mut *tx)
            .await?;
        if live >= new.cap {
            return tx.roll_back(Ok(Activation::AtCap)).await;
        }
        let public_id = new_public_id();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO instances (entitlement_id, public_id, fingerprint, name, activated_at, last_heartbeat_at, offline_until)
             VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id",
        )
        .bind(new.entitlement_id)
        .bind(&public_id)
        .bind(new.fingerprint)
        .bind(new.name)
        .bind(now)
        .bind(hold_until)
        .fetch_one(&mut *tx)
        .await?;
        history::record_day(&mut tx, new.entitlement_id, now).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(new.customer_id),
                kind: EventKind::InstanceActivated,
                subject: format!("instance:{public_id}"),
                before: None,
                after: Some(serde_json::json!({
                    "entitlement": new.entitlement_id, "fingerprint": new.fingerprint, "name": new.name,
                    "offline_until": hold_until,
                })),
            },
            now,
        )
        .await?;
        if live + 1 >= new.cap {
            crate::store::notices::instance_cap(&mut tx, new.customer_id, new.entitlement_id, new.cap, now).await?;
        }
        tx.commit().await?;
        Ok(Activation::Active { id, public_id, created: true })
    }

    /// The instance with public id `public_id` (live or not); `NotFound` when there is none.
    /// Callers compare what it belongs to with what they may reach.
    pub async fn find_instance(&self, public_id: &str) -> Result<InstanceRef, StoreError> {
        let row = sqlx::query(
            "SELECT i.id, i.public_id, i.entitlement_id, i.fingerprint, e.customer_id, e.product_id
             FROM instances i JOIN entitlements e ON e.id = i.entitlement_id WHERE i.public_id = $1",
        )
        .bind(public_id)
        .fetch_one(self.pool())
        .await?;
        Ok(InstanceRef {
            id: row.try_get("id")?,
            public_id: row.try_get("public_id")?,
            entitlement_id: row.try_get("entitlement_id")?,
            customer_id: row.try_get("customer_id")?,
            product_id: row.try_get("product_id")?,
            fingerprint: row.try_get("fingerprint")?,
        })
    }

    /// Notes that live instance `id` holds an offline licence `jti` until `until`: its slot
    /// stays taken until then, heartbeats or not. Audited; `NotFound` when it is not live.
    pub async fn hold_instance_offline(
        &self,
        actor: &Actor,
        instance: &InstanceRef,
        jti: &str,
        until: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE instances SET offline_until = CASE WHEN offline_until IS NULL OR offline_until < $2 THEN $2 ELSE offline_until END
             WHERE id = $1 AND deactivated_at IS NULL RETURNING id",
        )
        .bind(instance.id)
        .bind(until)
        .fetch_optional(&mut *tx)
        .await?;
        if done.is_none() {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        }
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(instance.customer_id),
                kind: EventKind::InstanceLicensed,
                subject: format!("instance:{}", instance.public_id),
                before: None,
                after: Some(serde_json::json!({ "licence": jti, "until": until })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a heartbeat of instance `id` of an entitlement of `product_id`.
    pub async fn heartbeat_instance(&self, product_id: i64, id: i64, now: i64, ttl: i64) -> Result<(Heartbeat, Option<i64>), StoreError> {
        let row = sqlx::query(
            "SELECT i.deactivated_at, i.last_heartbeat_at, i.offline_until, e.customer_id FROM instances i
             JOIN entitlements e ON e.id = i.entitlement_id WHERE i.id = $1 AND e.product_id = $2",
        )
        .bind(id)
        .bind(product_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok((Heartbeat::NotFound, None)) };
        let customer: i64 = row.try_get("customer_id")?;
        let held = row.try_get::<Option<i64>, _>("offline_until")?.is_some_and(|until| until >= now);
        let gone = row.try_get::<Option<i64>, _>("deactivated_at")?.is_some()
            || (row.try_get::<i64, _>("last_heartbeat_at")? < now - ttl && !held);
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
    /// given) and frees its slot, unless an offline licence holds it (see [`Deactivation`]);
    /// `NotFound` when there is no such live instance.
    pub async fn deactivate_instance(
        &self,
        actor: &Actor,
        product_id: Option<i64>,
        customer_id: Option<i64>,
        id: i64,
        now: i64,
    ) -> Result<Deactivation, StoreError> {
        self.deactivate_instance_with(actor, product_id, customer_id, id, None, now).await
    }

    /// [`deactivate_instance`](Store::deactivate_instance), or with an air-gapped receipt
    /// `(key id, nonce)`: [`Deactivation::Replayed`] when the receipt was used before.
    pub async fn deactivate_instance_with(
        &self,
        actor: &Actor,
        product_id: Option<i64>,
        customer_id: Option<i64>,
        id: i64,
        receipt: Option<(&str, &str)>,
        now: i64,
    ) -> Result<Deactivation, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some((key_id, nonce)) = receipt {
            let fresh = sqlx::query(
                "INSERT INTO offline_nonces (key_id, nonce, used_at) VALUES ($1, $2, $3) ON CONFLICT (key_id, nonce) DO NOTHING RETURNING nonce",
            )
            .bind(key_id)
            .bind(nonce)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if fresh.is_none() {
                return tx.roll_back(Ok(Deactivation::Replayed)).await;
            }
        }
        let row = sqlx::query(
            "UPDATE instances SET deactivated_at = $2 WHERE id = $1 AND deactivated_at IS NULL
             RETURNING entitlement_id, public_id, offline_until",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return tx.roll_back(Err(StoreError::NotFound)).await };
        let entitlement: i64 = row.try_get("entitlement_id")?;
        let public_id: String = row.try_get("public_id")?;
        let owner =
            sqlx::query("SELECT customer_id, product_id FROM entitlements WHERE id = $1").bind(entitlement).fetch_one(&mut *tx).await?;
        let owner_customer: i64 = owner.try_get("customer_id")?;
        let owner_product: i64 = owner.try_get("product_id")?;
        if product_id.is_some_and(|p| p != owner_product) || customer_id.is_some_and(|c| c != owner_customer) {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        }
        // Freeing a slot whose licence is still valid takes the software's word that it
        // deleted the licence; an entitlement may do so at most as often as its cap within
        // EARLY_RELEASE_WINDOW, so that the cap cannot be multiplied by freeing and asking
        // again.
        let held_until: Option<i64> = row.try_get("offline_until")?;
        if let Some(until) = held_until.filter(|u| *u > now) {
            let early: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM instances WHERE entitlement_id = $1 AND id <> $2 AND deactivated_at >= $3
                   AND offline_until > deactivated_at",
            )
            .bind(entitlement)
            .bind(id)
            .bind(now - EARLY_RELEASE_WINDOW)
            .fetch_one(&mut *tx)
            .await?;
            let cap: i64 = sqlx::query_scalar(&format!(
                "SELECT {} FROM entitlements e JOIN plans pl ON pl.id = e.plan_id WHERE e.id = $1",
                crate::store::INSTANCES_CAP
            ))
            .bind(entitlement)
            .fetch_one(&mut *tx)
            .await?;
            if early >= cap.max(1) {
                return tx.roll_back(Ok(Deactivation::HeldByLicence { until })).await;
            }
        }
        history::record_day(&mut tx, entitlement, now).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(owner_customer),
                kind: EventKind::InstanceDeactivated,
                subject: format!("instance:{public_id}"),
                before: None,
                after: None,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Deactivation::Done(owner_customer))
    }

    /// A page of the live (not deactivated) instances of customer `customer_id`, in the
    /// order they were activated.
    pub async fn list_instances(&self, customer_id: i64, query: &InstanceQuery<'_>) -> Result<Vec<InstanceRow>, StoreError> {
        let search = crate::store::console::like_pattern(query.search, false);
        Ok(sqlx::query_as::<_, InstanceRow>(
            "SELECT i.id, i.public_id, i.entitlement_id, i.fingerprint, i.name, i.activated_at, i.last_heartbeat_at, i.offline_until
             FROM instances i JOIN entitlements e ON e.id = i.entitlement_id
             WHERE e.customer_id = $1 AND i.deactivated_at IS NULL AND i.id > $2
               AND ($3 = '' OR LOWER(COALESCE(i.name, '')) LIKE $3 ESCAPE '\\' OR LOWER(i.fingerprint) LIKE $3 ESCAPE '\\'
                    OR LOWER(i.public_id) LIKE $3 ESCAPE '\\')
             ORDER BY i.id LIMIT $4",
        )
        .bind(customer_id)
        .bind(query.after.unwrap_or(0))
        .bind(search.unwrap_or_default())
        .bind(query.limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// How many instances hold a slot of each of customer `customer_id`'s entitlements at
    /// `now` (a heartbeat within `ttl` seconds, or an offline licence), by entitlement.
    pub async fn live_instance_counts(&self, customer_id: i64, now: i64, ttl: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT i.entitlement_id, COUNT(*) AS live FROM instances i JOIN entitlements e ON e.id = i.entitlement_id
             WHERE e.customer_id = $1 AND i.deactivated_at IS NULL AND NOT ({})
             GROUP BY i.entitlement_id",
            lapsed_sql("$2", "$3")
        ))
        .bind(customer_id)
        .bind(now)
        .bind(now - ttl)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("entitlement_id")?, r.try_get("live")?))).collect()
    }

    /// Deactivates every instance whose heartbeat is older than `ttl` seconds, each with
    /// its audit event, and returns the customers whose instances lapsed.
    pub async fn sweep_lapsed_instances(&self, now: i64, ttl: i64) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let lapsed = sqlx::query(&format!(
            "UPDATE instances SET deactivated_at = $1 WHERE id IN (SELECT i.id FROM instances i WHERE i.deactivated_at IS NULL AND {})
             RETURNING id, public_id, entitlement_id, last_heartbeat_at",
            lapsed_sql("$1", "$2")
        ))
        .bind(now)
        .bind(now - ttl)
        .fetch_all(&mut *tx)
        .await?;
        let mut customers = Vec::new();
        let mut entitlements = Vec::new();
        for r in &lapsed {
            let id: String = r.try_get("public_id")?;
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

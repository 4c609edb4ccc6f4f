//! License keys: one live key per entitlement, the credential a customer's admin types
//! into the vendor's software. A key is kept as a keyed hash under the deployment's
//! secret (what a request's key is found by) and sealed under it (so that the portal can
//! show it again); a copy of the database without the secret can do neither.

use rand::RngCore;
use sqlx::Row;

use crate::engine::{CustomerId, EntitlementId, LicenseKey};
use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::EventKind;
use crate::store::write::Write;
use crate::store::{Store, StoreError};

/// An entitlement's live license key, readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseKeyRow {
    pub entitlement_id: i64,
    pub key: LicenseKey,
    pub created_at: i64,
}

/// A live license key as enforcement finds it: by its keyed hash, what it acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseGrant {
    pub lookup: String,
    pub key_id: String,
    pub entitlement_id: i64,
    pub customer_id: i64,
    pub product_id: i64,
}

/// A new random key.
pub fn random_key() -> LicenseKey {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    LicenseKey::from_bytes(bytes)
}

/// Stores `key` as the live license key of `entitlement_id` (which must have none).
pub async fn create_license_key(tx: &mut Write<'_>, entitlement_id: i64, key: &LicenseKey, at: i64) -> Result<(), StoreError> {
    let secret = tx.store().secret();
    let (lookup, sealed) = (secret.lookup(key.secret()), secret.seal(key.to_string().as_bytes()));
    sqlx::query("INSERT INTO license_keys (entitlement_id, key_id, lookup, sealed, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(entitlement_id)
        .bind(key.id())
        .bind(lookup)
        .bind(sealed)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Makes `key` the live license key of `entitlement_id` in place of the one it has (which
/// stops working when the write commits); returns the old key's id.
pub async fn replace_license_key(tx: &mut Write<'_>, entitlement_id: i64, key: &LicenseKey, at: i64) -> Result<Option<String>, StoreError> {
    let old: Option<String> =
        sqlx::query_scalar("UPDATE license_keys SET revoked_at = $2 WHERE entitlement_id = $1 AND revoked_at IS NULL RETURNING key_id")
            .bind(entitlement_id)
            .bind(at)
            .fetch_optional(&mut **tx)
            .await?;
    create_license_key(tx, entitlement_id, key, at).await?;
    Ok(old)
}

impl Store {
    /// The keyed hash a presented license key is found by.
    pub fn license_key_lookup(&self, key: &LicenseKey) -> String {
        self.secret().lookup(key.secret())
    }

    /// The live license key of `entitlement`; `NotFound` when it has none. A key sealed
    /// under another secret (the deployment's secret was replaced) is an error, not a key.
    pub async fn license_key(&self, entitlement: EntitlementId) -> Result<LicenseKeyRow, StoreError> {
        let row = sqlx::query("SELECT sealed, created_at FROM license_keys WHERE entitlement_id = $1 AND revoked_at IS NULL")
            .bind(entitlement.get())
            .fetch_one(self.pool())
            .await?;
        let key = self.open_key(&row.try_get::<String, _>("sealed")?)?;
        Ok(LicenseKeyRow { entitlement_id: entitlement.get(), key, created_at: row.try_get("created_at")? })
    }

    /// The live key with public id `key_id` and what it acts for: the air-gapped
    /// documents name their key this way. `NotFound` for an unknown or replaced key.
    pub async fn license_key_by_id(&self, key_id: &str) -> Result<(LicenseKey, LicenseGrant), StoreError> {
        let row = sqlx::query(
            "SELECT k.sealed, k.lookup, k.key_id, k.entitlement_id, e.customer_id, e.product_id
             FROM license_keys k JOIN entitlements e ON e.id = k.entitlement_id
             WHERE k.key_id = $1 AND k.revoked_at IS NULL",
        )
        .bind(key_id)
        .fetch_one(self.pool())
        .await?;
        Ok((self.open_key(&row.try_get::<String, _>("sealed")?)?, grant(&row)?))
    }

    /// Every live key, for enforcement's in-memory index.
    pub async fn list_license_grants(&self) -> Result<Vec<LicenseGrant>, StoreError> {
        let rows = sqlx::query(
            "SELECT k.lookup, k.key_id, k.entitlement_id, e.customer_id, e.product_id
             FROM license_keys k JOIN entitlements e ON e.id = k.entitlement_id WHERE k.revoked_at IS NULL",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok(grant(r)?)).collect()
    }

    fn open_key(&self, sealed: &str) -> Result<LicenseKey, StoreError> {
        let text = self.secret().open(sealed).ok_or_else(|| {
            StoreError::Db(sqlx::Error::Protocol(
                "a license key is sealed under another secret: is TESSERA_SECRET the deployment's?".into(),
            ))
        })?;
        LicenseKey::parse(&String::from_utf8_lossy(&text))
            .map_err(|e| StoreError::Db(sqlx::Error::Protocol(format!("stored license key: {e}"))))
    }

    /// Replaces the license key of `entitlement` (of `customer`) with a new random one:
    /// the old key stops working when this commits. Audited; `NotFound` when the
    /// entitlement is not the customer's.
    pub async fn regenerate_license_key(
        &self,
        actor: &Actor,
        customer: CustomerId,
        entitlement: EntitlementId,
        now: i64,
    ) -> Result<LicenseKeyRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let owned = sqlx::query("SELECT id FROM entitlements WHERE id = $1 AND customer_id = $2")
            .bind(entitlement.get())
            .bind(customer.get())
            .fetch_optional(&mut *tx)
            .await?;
        if owned.is_none() {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        }
        let key = random_key();
        let old = replace_license_key(&mut tx, entitlement.get(), &key, now).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer.get()),
                kind: EventKind::LicenseKeyRegenerated,
                subject: format!("entitlement:{}", entitlement.get()),
                before: old.map(|id| serde_json::json!({ "key_id": id })),
                after: Some(serde_json::json!({ "key_id": key.id() })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(LicenseKeyRow { entitlement_id: entitlement.get(), key, created_at: now })
    }

    /// The live license key of `entitlement` of `customer`, read by vendor staff: audited.
    /// `NotFound` when it has none (or is another customer's).
    pub async fn reveal_license_key(
        &self,
        actor: &Actor,
        customer: CustomerId,
        entitlement: EntitlementId,
        now: i64,
    ) -> Result<LicenseKeyRow, StoreError> {
        let row = self.license_key(entitlement).await?;
        let mut tx = self.begin_write().await?;
        let owned = sqlx::query("SELECT id FROM entitlements WHERE id = $1 AND customer_id = $2")
            .bind(entitlement.get())
            .bind(customer.get())
            .fetch_optional(&mut *tx)
            .await?;
        if owned.is_none() {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        }
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer.get()),
                kind: EventKind::LicenseKeyViewed,
                subject: format!("entitlement:{}", entitlement.get()),
                before: None,
                after: Some(serde_json::json!({ "key_id": row.key.id() })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Gives every entitlement without a live key one (those granted before license
    /// keys existed), each with its audit event; returns how many.
    pub async fn ensure_license_keys(&self, now: i64) -> Result<usize, StoreError> {
        let missing = sqlx::query(
            "SELECT e.id, e.customer_id FROM entitlements e
             WHERE NOT EXISTS (SELECT 1 FROM license_keys k WHERE k.entitlement_id = e.id AND k.revoked_at IS NULL) ORDER BY e.id",
        )
        .fetch_all(self.pool())
        .await?;
        if missing.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        for row in &missing {
            let (entitlement, customer): (i64, i64) = (row.try_get("id")?, row.try_get("customer_id")?);
            let key = random_key();
            create_license_key(&mut tx, entitlement, &key, now).await?;
            audit::record(
                &mut tx,
                NewAuditEvent {
                    actor: &Actor::system("license-keys"),
                    customer_id: Some(customer),
                    kind: EventKind::LicenseKeyCreated,
                    subject: format!("entitlement:{entitlement}"),
                    before: None,
                    after: Some(serde_json::json!({ "key_id": key.id() })),
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(missing.len())
    }
}

fn grant(r: &sqlx::any::AnyRow) -> Result<LicenseGrant, sqlx::Error> {
    Ok(LicenseGrant {
        lookup: r.try_get("lookup")?,
        key_id: r.try_get("key_id")?,
        entitlement_id: r.try_get("entitlement_id")?,
        customer_id: r.try_get("customer_id")?,
        product_id: r.try_get("product_id")?,
    })
}

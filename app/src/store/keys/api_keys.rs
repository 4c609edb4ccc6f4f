//! API keys: the vendor's software authenticates with them. Only a hash is stored; the
//! vendor admin issues, rotates and revokes them, each with its audit event.

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::EventKind;
use crate::store::write::Write;
use crate::store::{Store, StoreError};

/// What an API key may do: `enforce` (checks, instances, usage and licences for any
/// customer of its product), `provision` (the provisioning API), `read` (read-only calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes {
    pub enforce: bool,
    pub provision: bool,
    pub read: bool,
}

impl Scopes {
    pub const ENFORCE: Scopes = Scopes { enforce: true, provision: false, read: false };
    pub const ALL: Scopes = Scopes { enforce: true, provision: true, read: true };

    /// Every scope's name, in order.
    pub const NAMES: [&'static str; 3] = ["enforce", "provision", "read"];

    /// Reads the space-separated names as stored; unknown names are ignored.
    pub fn parse(text: &str) -> Scopes {
        let has = |name: &str| text.split_whitespace().any(|s| s == name);
        Scopes { enforce: has("enforce"), provision: has("provision"), read: has("read") }
    }

    /// The names of the scopes held, in order.
    pub fn names(self) -> Vec<&'static str> {
        let held = [self.enforce, self.provision, self.read];
        Self::NAMES.iter().zip(held).filter(|(_, on)| *on).map(|(name, _)| *name).collect()
    }

    /// As stored: the names, space-separated.
    pub fn as_text(self) -> String {
        self.names().join(" ")
    }

    pub fn is_empty(self) -> bool {
        self.names().is_empty()
    }
}

/// An API key as enforcement needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: i64,
    pub product_id: i64,
    /// Shared, so that handing the key to each request copies no string.
    pub product_key: std::sync::Arc<str>,
    pub scopes: Scopes,
}

/// The stored hash of an API key: SHA-256, hex. Keys are long random strings, so a
/// fast hash is enough (unlike passwords).
pub fn hash_api_key(key: &str) -> String {
    crate::engine::licensing::hex(&Sha256::digest(key.as_bytes()))
}

/// Stores a key for `product_id`; returns its id. `Duplicate(Unique::ApiKey)` if the key
/// exists.
pub async fn create_api_key(
    tx: &mut Write<'_>,
    product_id: i64,
    name: &str,
    key: &str,
    scopes: Scopes,
    at: i64,
) -> Result<i64, StoreError> {
    let prefix: String = key.chars().take(8).collect();
    let row = sqlx::query(
        "INSERT INTO api_keys (product_id, name, prefix, key_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(product_id)
    .bind(name)
    .bind(prefix)
    .bind(hash_api_key(key))
    .bind(scopes.as_text())
    .bind(at)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

/// An API key as the catalog page lists it (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: i64,
    pub product: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Scopes,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl Store {
    /// Every key that is not revoked, by hash.
    pub async fn list_active_api_keys(&self) -> Result<Vec<(String, ApiKey)>, StoreError> {
        let rows = sqlx::query(
            "SELECT k.id, k.product_id, k.key_hash, k.scopes, p.key AS product FROM api_keys k JOIN products p ON p.id = k.product_id
             WHERE k.revoked_at IS NULL",
        )
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    r.try_get("key_hash")?,
                    ApiKey {
                        id: r.try_get("id")?,
                        product_id: r.try_get("product_id")?,
                        product_key: r.try_get::<String, _>("product")?.into(),
                        scopes: Scopes::parse(&r.try_get::<String, _>("scopes")?),
                    },
                ))
            })
            .collect()
    }

    /// Every API key, newest first, without the keys themselves.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT k.id, p.name AS product, k.name, k.prefix, k.scopes, k.created_at, k.revoked_at FROM api_keys k JOIN products p ON p.id = k.product_id
             ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC, k.id DESC",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ApiKeyRow {
                    id: r.try_get("id")?,
                    product: r.try_get("product")?,
                    name: r.try_get("name")?,
                    prefix: r.try_get("prefix")?,
                    scopes: Scopes::parse(&r.try_get::<String, _>("scopes")?),
                    created_at: r.try_get("created_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            })
            .collect()
    }

    /// Stores API key `key` (only its hash and prefix) named `name` for `product_id` with
    /// `scopes`; with `replaces`, revokes that key in the same transaction (a rotation).
    /// Audited; returns the new key's id. `NotFound` when `replaces` is not a live key.
    #[allow(clippy::too_many_arguments)]
    pub async fn issue_api_key(
        &self,
        actor: &Actor,
        product_id: i64,
        name: &str,
        key: &str,
        scopes: Scopes,
        replaces: Option<i64>,
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(old) = replaces {
            let done =
                sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND product_id = $3 AND revoked_at IS NULL RETURNING id")
                    .bind(old)
                    .bind(now)
                    .bind(product_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_none() {
                return tx.roll_back(Err(StoreError::NotFound)).await;
            }
        }
        let id = create_api_key(&mut tx, product_id, name, key, scopes, now).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: None,
                kind: if replaces.is_some() { EventKind::ApiKeyRotated } else { EventKind::ApiKeyCreated },
                subject: format!("api_key:{id}"),
                before: replaces.map(|old| serde_json::json!({ "revoked": old })),
                after: Some(serde_json::json!({
                    "product": product_id, "name": name, "prefix": key.chars().take(8).collect::<String>(), "scopes": scopes.names(),
                })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Sets what live API key `id` may do, audited; `NotFound` when it is not a live key.
    pub async fn set_api_key_scopes(&self, actor: &Actor, id: i64, scopes: Scopes, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let before: Option<String> = sqlx::query_scalar("SELECT scopes FROM api_keys WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(before) = before else {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        };
        sqlx::query("UPDATE api_keys SET scopes = $2 WHERE id = $1").bind(id).bind(scopes.as_text()).execute(&mut *tx).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: None,
                kind: EventKind::ApiKeyScopesChanged,
                subject: format!("api_key:{id}"),
                before: Some(serde_json::json!({ "scopes": Scopes::parse(&before).names() })),
                after: Some(serde_json::json!({ "scopes": scopes.names() })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes API key `id` at once, audited; `NotFound` when it is not a live key.
    pub async fn revoke_api_key(&self, actor: &Actor, id: i64, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING name, prefix")
            .bind(id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = done else {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        };
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: None,
                kind: EventKind::ApiKeyRevoked,
                subject: format!("api_key:{id}"),
                before: Some(
                    serde_json::json!({ "name": row.try_get::<String, _>("name")?, "prefix": row.try_get::<String, _>("prefix")? }),
                ),
                after: None,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

//! API keys: the vendor's software authenticates with them. Only a hash is stored.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::write::Write;
use super::{Store, StoreError};

/// An API key as enforcement needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: i64,
    pub product_id: i64,
    /// Shared, so that handing the key to each request copies no string.
    pub product_key: std::sync::Arc<str>,
}

/// The stored hash of an API key: SHA-256, hex. Keys are long random strings, so a
/// fast hash is enough (unlike passwords).
pub fn hash_api_key(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Stores a key for `product_id`; returns its id. `Duplicate(Unique::ApiKey)` if the key
/// exists.
pub async fn create_api_key(tx: &mut Write<'_>, product_id: i64, name: &str, key: &str, at: i64) -> Result<i64, StoreError> {
    let prefix: String = key.chars().take(8).collect();
    let row = sqlx::query("INSERT INTO api_keys (product_id, name, prefix, key_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
        .bind(product_id)
        .bind(name)
        .bind(prefix)
        .bind(hash_api_key(key))
        .bind(at)
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get("id")?)
}

impl Store {
    /// Every key that is not revoked, by hash.
    pub async fn list_active_api_keys(&self) -> Result<Vec<(String, ApiKey)>, StoreError> {
        let rows = sqlx::query(
            "SELECT k.id, k.product_id, k.key_hash, p.key AS product FROM api_keys k JOIN products p ON p.id = k.product_id
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
                    },
                ))
            })
            .collect()
    }
}

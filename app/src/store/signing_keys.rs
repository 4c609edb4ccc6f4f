//! Ed25519 signing keys for offline license tokens.

use sqlx::Row;

use super::events::EventKind;
use super::{Store, StoreError};

/// A stored signing key: `secret` is the 32-byte seed and `public` the 32-byte public
/// key, both base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub kid: String,
    pub secret: String,
    pub public: String,
    pub created_at: i64,
    pub active: bool,
}

impl Store {
    /// Every key not retired, newest first.
    pub async fn list_signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, secret_key, public_key, created_at, active FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid",
        )
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(StoredKey {
                    kid: r.try_get("kid")?,
                    secret: r.try_get("secret_key")?,
                    public: r.try_get("public_key")?,
                    created_at: r.try_get("created_at")?,
                    active: super::flag(&r, "active")?,
                })
            })
            .collect()
    }

    /// Stores `key` as the one that signs from now on; earlier keys keep verifying.
    pub async fn add_signing_key(&self, actor: &super::audit::Actor, key: &StoredKey) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE signing_keys SET active = 0 WHERE active = 1").execute(&mut *tx).await?;
        sqlx::query("INSERT INTO signing_keys (kid, secret_key, public_key, created_at, active) VALUES ($1, $2, $3, $4, 1)")
            .bind(&key.kid)
            .bind(&key.secret)
            .bind(&key.public)
            .bind(key.created_at)
            .execute(&mut *tx)
            .await?;
        super::audit::record(
            &mut tx,
            super::audit::NewAuditEvent {
                actor,
                customer_id: None,
                kind: EventKind::SigningKeyCreated,
                subject: format!("signing_key:{}", key.kid),
                before: None,
                after: None,
            },
            key.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

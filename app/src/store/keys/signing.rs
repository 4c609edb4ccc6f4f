//! Ed25519 signing keys for offline license tokens: the one that signs, the ones that
//! still verify, and retiring them.

use sqlx::Row;

use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::EventKind;
use crate::store::{flag, Store, StoreError};

/// A signing key: `secret` is the 32-byte seed and `public` the 32-byte public key, both
/// base64url without padding. The database holds the seed sealed under the deployment's
/// secret (`sealed:` and [`Secret::seal`](crate::store::secret::Secret::seal)'s text), so a
/// copy of a backup cannot sign; the store seals and opens it. Its `Debug` leaves the seed out.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub kid: String,
    pub secret: String,
    pub public: String,
    pub created_at: i64,
    pub active: bool,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("secret", &"***")
            .field("public", &self.public)
            .field("created_at", &self.created_at)
            .field("active", &self.active)
            .finish()
    }
}

/// How a sealed seed is marked in the database.
const SEALED: &str = "sealed:";

/// A signing key as the catalog page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRow {
    pub kid: String,
    pub created_at: i64,
    pub active: bool,
    pub retired_at: Option<i64>,
}

/// Why a vendor admin could not retire a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RetireKeyRefusal {
    /// It is the key that signs tokens now: rotate to a new one first.
    #[error("the key signs tokens now")]
    SigningNow,
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
                let stored: String = r.try_get("secret_key")?;
                Ok(StoredKey {
                    kid: r.try_get("kid")?,
                    secret: self.open_seed(&stored)?,
                    public: r.try_get("public_key")?,
                    created_at: r.try_get("created_at")?,
                    active: flag(&r, "active")?,
                })
            })
            .collect()
    }

    /// Stores `key` as the one that signs from now on; earlier keys keep verifying.
    pub async fn add_signing_key(&self, actor: &Actor, key: &StoredKey) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE signing_keys SET active = 0 WHERE active = 1").execute(&mut *tx).await?;
        sqlx::query("INSERT INTO signing_keys (kid, secret_key, public_key, created_at, active) VALUES ($1, $2, $3, $4, 1)")
            .bind(&key.kid)
            .bind(format!("{SEALED}{}", self.secret().seal(key.secret.as_bytes())))
            .bind(&key.public)
            .bind(key.created_at)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
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

    /// A stored seed as it was given: opened when sealed (`WrongSecret` when the
    /// deployment's secret does not open it), as it is when written before sealing.
    fn open_seed(&self, stored: &str) -> Result<String, StoreError> {
        match stored.strip_prefix(SEALED) {
            Some(sealed) => self.secret().open(sealed).and_then(|b| String::from_utf8(b).ok()).ok_or(StoreError::WrongSecret),
            None => Ok(stored.to_owned()),
        }
    }

    /// Seals the seeds written before they were sealed; returns how many. Run at start.
    pub async fn seal_signing_keys(&self) -> Result<usize, StoreError> {
        let plain: Vec<(String, String)> = sqlx::query("SELECT kid, secret_key FROM signing_keys WHERE secret_key NOT LIKE 'sealed:%'")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("kid")?, r.try_get("secret_key")?)))
            .collect::<Result<_, StoreError>>()?;
        for (kid, seed) in &plain {
            sqlx::query("UPDATE signing_keys SET secret_key = $2 WHERE kid = $1 AND secret_key = $3")
                .bind(kid)
                .bind(format!("{SEALED}{}", self.secret().seal(seed.as_bytes())))
                .bind(seed)
                .execute(self.pool())
                .await?;
        }
        Ok(plain.len())
    }

    /// The public key of every signing key ever made, retired ones too (`kid`, base64url):
    /// what old signatures, such as audit checkpoints, are verified with.
    pub async fn list_public_keys(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT kid, public_key FROM signing_keys ORDER BY created_at").fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("kid")?, r.try_get("public_key")?))).collect()
    }

    /// Every signing key, the active one first, then by age.
    pub async fn list_signing_key_rows(&self) -> Result<Vec<SigningKeyRow>, StoreError> {
        let rows = sqlx::query("SELECT kid, created_at, active, retired_at FROM signing_keys ORDER BY active DESC, retired_at IS NOT NULL, created_at DESC, kid")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRow {
                    kid: r.try_get("kid")?,
                    created_at: r.try_get("created_at")?,
                    active: flag(r, "active")?,
                    retired_at: r.try_get("retired_at")?,
                })
            })
            .collect()
    }

    /// Retires signing key `kid`: it leaves the JWKS, so tokens it signed stop verifying.
    /// Audited. `NotFound` for an unknown or retired key; refused with
    /// [`RetireKeyRefusal::SigningNow`] for the key that signs now (rotate first).
    pub async fn retire_signing_key(&self, actor: &Actor, kid: &str, now: i64) -> Result<Result<(), RetireKeyRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row =
            sqlx::query("SELECT active FROM signing_keys WHERE kid = $1 AND retired_at IS NULL").bind(kid).fetch_optional(&mut *tx).await?;
        let Some(row) = row else {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        };
        if flag(&row, "active")? {
            return tx.roll_back(Ok(Err(RetireKeyRefusal::SigningNow))).await;
        }
        sqlx::query("UPDATE signing_keys SET retired_at = $2 WHERE kid = $1").bind(kid).bind(now).execute(&mut *tx).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: None,
                kind: EventKind::SigningKeyRetired,
                subject: format!("signing_key:{kid}"),
                before: None,
                after: None,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}

//! Idempotency keys: a call retried with the same `Idempotency-Key` (per API key, for a
//! day) is answered with the first call's response instead of being made again.

use sqlx::Row;

use crate::store::{Store, StoreError};

/// How long a key is remembered.
pub const KEPT_SECS: i64 = 86_400;
/// A call still unanswered after this long is taken to have died with its server: its
/// key may be used again.
pub const ABANDONED_SECS: i64 = 120;

/// A response as stored for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    /// The headers worth replaying (content type, `ETag`, `Location`), as name and value.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// What a key's first use came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new (or forgotten): the call goes ahead and its response is kept under
    /// this claim (the second it was claimed), which only this call may answer or release.
    Fresh(i64),
    /// The same call was answered already: this is its response.
    Replay(StoredResponse),
    /// The key was used for another call (method, path or body).
    Reused,
    /// The first call with this key is still being answered.
    InFlight,
}

impl Store {
    /// Claims `key` of API key `api_key` for the call whose fingerprint is `fingerprint`.
    pub async fn claim_idempotency_key(&self, api_key: i64, key: &str, fingerprint: &str, now: i64) -> Result<Claim, StoreError> {
        let mut tx = self.begin_write().await?;
        // A key past its day, or whose call died unanswered, is forgotten first.
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE api_key_id = $1 AND key = $2 AND (started_at < $3 OR (status IS NULL AND started_at < $4))",
        )
        .bind(api_key)
        .bind(key)
        .bind(now - KEPT_SECS)
        .bind(now - ABANDONED_SECS)
        .execute(&mut *tx)
        .await?;
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (api_key_id, key, fingerprint, started_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (api_key_id, key) DO NOTHING",
        )
        .bind(api_key)
        .bind(key)
        .bind(fingerprint)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 1 {
            tx.commit().await?;
            return Ok(Claim::Fresh(now));
        }
        let row = sqlx::query("SELECT fingerprint, status, headers, body FROM idempotency_keys WHERE api_key_id = $1 AND key = $2")
            .bind(api_key)
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
        let claim = if row.try_get::<String, _>("fingerprint")? != fingerprint {
            Claim::Reused
        } else {
            match row.try_get::<Option<i64>, _>("status")? {
                None => Claim::InFlight,
                Some(status) => {
                    let headers: Option<String> = row.try_get("headers")?;
                    // The body may hold secrets (a new license key, an invitation link):
                    // it is kept sealed under the deployment's secret.
                    let body: Option<String> = row.try_get("body")?;
                    let body = body.and_then(|b| self.secret().open(&b)).and_then(|b| String::from_utf8(b).ok()).unwrap_or_default();
                    Claim::Replay(StoredResponse {
                        status: u16::try_from(status).unwrap_or(500),
                        headers: headers.and_then(|h| serde_json::from_str(&h).ok()).unwrap_or_default(),
                        body,
                    })
                }
            }
        };
        tx.roll_back(Ok(claim)).await
    }

    /// Keeps `response` (its body sealed) as the answer to `key`'s call made under
    /// `claim`; a claim taken over since (its call abandoned) is left alone.
    pub async fn answer_idempotency_key(&self, api_key: i64, key: &str, claim: i64, response: &StoredResponse) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE idempotency_keys SET status = $4, headers = $5, body = $6
             WHERE api_key_id = $1 AND key = $2 AND started_at = $3 AND status IS NULL",
        )
        .bind(api_key)
        .bind(key)
        .bind(claim)
        .bind(i64::from(response.status))
        .bind(serde_json::to_string(&response.headers).unwrap_or_default())
        .bind(self.secret().seal(response.body.as_bytes()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets `key`'s call made under `claim`: it was refused before it ran (too many
    /// requests), so a retry makes the call.
    pub async fn release_idempotency_key(&self, api_key: i64, key: &str, claim: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE api_key_id = $1 AND key = $2 AND started_at = $3 AND status IS NULL")
            .bind(api_key)
            .bind(key)
            .bind(claim)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets every key older than a day; returns how many.
    pub async fn purge_idempotency_keys(&self, now: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let gone = sqlx::query("DELETE FROM idempotency_keys WHERE started_at < $1").bind(now - KEPT_SECS).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(gone.rows_affected())
    }
}

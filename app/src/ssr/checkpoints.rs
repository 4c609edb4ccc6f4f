//! Signed checkpoints of the audit chain. A checkpoint is a JWT (EdDSA, `typ`
//! [`CHECKPOINT_TYP`]) saying "event N's link was H", signed with the signing key that signs
//! licences. Kept outside the database, it shows whether the log was cut short or rewritten
//! after it: the hash chain alone cannot, since a log cut back to an earlier state is a
//! chain that verifies.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::tokens::TokenSigner;
use crate::store::{Store, StoreError};

/// The `typ` of a checkpoint.
pub const CHECKPOINT_TYP: &str = "tessera-audit-checkpoint+jwt";

/// What a checkpoint says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointClaims {
    /// The deployment that wrote it.
    pub iss: String,
    /// When it was written.
    pub iat: i64,
    /// The newest event then, and its link.
    pub seq: i64,
    pub hash: String,
}

/// A checkpoint written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub claims: CheckpointClaims,
    pub token: String,
}

/// Signs and keeps a checkpoint of the chain's tip as of `now`; `None` when the log is
/// empty or there is no signing key.
pub async fn write(store: &Store, signer: &TokenSigner, issuer: &str, now: i64) -> Result<Option<Checkpoint>, StoreError> {
    let (seq, hash) = store.audit_tip().await?;
    if seq == 0 {
        return Ok(None);
    }
    let claims = CheckpointClaims { iss: issuer.to_owned(), iat: now, seq, hash };
    let Some(token) = signer.sign_checkpoint(&claims) else { return Ok(None) };
    store.record_audit_checkpoint(seq, &claims.hash, now, &token).await?;
    Ok(Some(Checkpoint { claims, token }))
}

/// Writes a checkpoint when the newest is older than `every` seconds and events came since.
pub async fn write_if_due(
    store: &Store,
    signer: &TokenSigner,
    issuer: &str,
    now: i64,
    every: i64,
) -> Result<Option<Checkpoint>, StoreError> {
    let (tip, _) = store.audit_tip().await?;
    match store.latest_audit_checkpoint().await? {
        Some((seq, at)) if seq >= tip || now - at < every => Ok(None),
        _ => write(store, signer, issuer, now).await,
    }
}

/// Why a checkpoint could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("this is not a Tessera audit checkpoint")]
    Malformed,
    #[error("the checkpoint was signed with a key this database does not have ({0})")]
    UnknownKey(String),
    #[error("the checkpoint's signature does not verify: it was altered or forged")]
    BadSignature,
}

/// The claims of checkpoint `token`, once its signature verifies with one of `keys`
/// (`kid`, base64url public key).
pub fn verify(token: &str, keys: &[(String, String)]) -> Result<CheckpointClaims, CheckpointError> {
    use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
    #[derive(Deserialize)]
    struct Header {
        alg: String,
        typ: String,
        kid: String,
    }
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(CheckpointError::Malformed);
    };
    let header: Header = B64.decode(header).ok().and_then(|h| serde_json::from_slice(&h).ok()).ok_or(CheckpointError::Malformed)?;
    if header.alg != "EdDSA" || header.typ != CHECKPOINT_TYP {
        return Err(CheckpointError::Malformed);
    }
    let public =
        keys.iter().find(|(kid, _)| *kid == header.kid).map(|(_, p)| p).ok_or_else(|| CheckpointError::UnknownKey(header.kid.clone()))?;
    let public: [u8; 32] = B64.decode(public).ok().and_then(|b| b.try_into().ok()).ok_or(CheckpointError::BadSignature)?;
    let key = VerifyingKey::from_bytes(&public).map_err(|_| CheckpointError::BadSignature)?;
    let signature: [u8; 64] = B64.decode(signature).ok().and_then(|b| b.try_into().ok()).ok_or(CheckpointError::BadSignature)?;
    let signed = &token[..token.len() - token.rsplit('.').next().map_or(0, |s| s.len() + 1)];
    key.verify(signed.as_bytes(), &Signature::from_bytes(&signature)).map_err(|_| CheckpointError::BadSignature)?;
    B64.decode(claims).ok().and_then(|c| serde_json::from_slice(&c).ok()).ok_or(CheckpointError::Malformed)
}

/// How the log stands against a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// The checkpoint's event is there with the link it had.
    Holds,
    /// The checkpoint's event is gone: the log was cut back before it.
    Truncated,
    /// The checkpoint's event has another link: the log was rewritten at or before it.
    Rewritten,
}

/// Where the log stands against checkpoint `claims`.
pub async fn standing(store: &Store, claims: &CheckpointClaims) -> Result<Standing, StoreError> {
    Ok(match store.audit_event_hash(claims.seq).await? {
        None => Standing::Truncated,
        Some(hash) if hash == claims.hash => Standing::Holds,
        Some(_) => Standing::Rewritten,
    })
}

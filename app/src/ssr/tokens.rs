//! Signed license tokens: standard JWTs signed with Ed25519 (`alg: EdDSA`) with a `kid`,
//! verifiable offline by anyone holding the JWKS.

use std::sync::RwLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use serde::Serialize;

use crate::store::audit::Actor;
use crate::store::keys::signing::StoredKey;
use crate::store::{Store, StoreError};

/// The keys that sign (the newest) and verify (all not retired).
#[derive(Debug)]
pub struct TokenSigner {
    keys: RwLock<Vec<(StoredKey, SigningKey)>>,
}

/// A public key as JWKS publishes it (RFC 8037).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub x: String,
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
}

/// A JSON Web Key Set.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

fn decode_key(k: &StoredKey) -> Option<SigningKey> {
    let seed: [u8; 32] = B64.decode(&k.secret).ok()?.try_into().ok()?;
    Some(SigningKey::from_bytes(&seed))
}

impl TokenSigner {
    /// Creates the first key when there is none; whether it did. A server starting does it
    /// under the start lock, so that replicas starting together make one.
    pub async fn first_key(store: &Store) -> Result<bool, StoreError> {
        if !store.list_signing_keys().await?.is_empty() {
            return Ok(false);
        }
        rotate_in(store, &Actor::system("keys")).await?;
        Ok(true)
    }

    /// Loads the keys, creating the first one when there is none.
    pub async fn load(store: &Store) -> Result<TokenSigner, StoreError> {
        Self::first_key(store).await?;
        let signer = TokenSigner { keys: RwLock::default() };
        signer.reload(store).await?;
        Ok(signer)
    }

    /// Re-reads the keys (after a rotation or retirement).
    pub async fn reload(&self, store: &Store) -> Result<(), StoreError> {
        let keys = store.list_signing_keys().await?.into_iter().filter_map(|k| decode_key(&k).map(|s| (k, s))).collect();
        *self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner) = keys;
        Ok(())
    }

    /// Makes a new key the signing one, for `actor`; tokens signed before keep verifying.
    pub async fn rotate(&self, store: &Store, actor: &Actor) -> Result<String, StoreError> {
        // The store's listener re-reads the keys once the new one has committed.
        rotate_in(store, actor).await
    }

    /// The public keys.
    pub fn jwks(&self) -> Jwks {
        let keys = self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        Jwks {
            keys: keys
                .iter()
                .map(|(k, _)| Jwk { kty: "OKP", crv: "Ed25519", x: k.public.clone(), kid: k.kid.clone(), alg: "EdDSA", use_: "sig" })
                .collect(),
        }
    }

    /// Whether there is a key to sign with: asked before anything is written for a
    /// signature, so that a write is never left without the licence it was for.
    pub fn can_sign(&self) -> bool {
        !self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).is_empty()
    }

    /// Signs `claims` as a compact JWT with the active key; `None` when there is no key.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Option<String> {
        self.sign_typed(claims, "JWT")
    }

    /// Signs an offline licence: a JWT whose `typ` says it is one.
    pub fn sign_licence(&self, claims: &crate::engine::LicenceClaims) -> Option<String> {
        self.sign_typed(claims, crate::engine::licensing::LICENCE_TYP)
    }

    /// Signs an audit checkpoint: a JWT whose `typ` says it is one.
    pub fn sign_checkpoint(&self, claims: &super::checkpoints::CheckpointClaims) -> Option<String> {
        self.sign_typed(claims, super::checkpoints::CHECKPOINT_TYP)
    }

    fn sign_typed<C: Serialize>(&self, claims: &C, typ: &str) -> Option<String> {
        let keys = self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (stored, key) = keys.iter().find(|(k, _)| k.active).or_else(|| keys.first())?;
        let header = serde_json::json!({"alg": "EdDSA", "typ": typ, "kid": stored.kid});
        let signing_input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(serde_json::to_vec(claims).ok()?));
        let signature = key.sign(signing_input.as_bytes());
        Some(format!("{signing_input}.{}", B64.encode(signature.to_bytes())))
    }
}

async fn rotate_in(store: &Store, actor: &Actor) -> Result<String, StoreError> {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let now = crate::store::now();
    let kid = format!("k{}-{}", now, &B64.encode(key.verifying_key().to_bytes())[..8]);
    store
        .add_signing_key(
            actor,
            &StoredKey {
                kid: kid.clone(),
                secret: B64.encode(key.to_bytes()),
                public: B64.encode(key.verifying_key().to_bytes()),
                created_at: now,
                active: true,
            },
        )
        .await?;
    Ok(kid)
}

//! Licences as the client reads them: a compact JWT (EdDSA, Ed25519) whose verifying key
//! comes from a JWKS, the one shipped with the software or one fetched from the server,
//! never from the licence itself.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::Deserialize;
use tessera_engine::licensing::{LicenceClaims, LICENCE_TYP};

use crate::Error;

/// How far (seconds) the local clock may be behind a licence's `iat` and `nbf`, or behind
/// the latest time this client has seen, before it counts as set back.
pub const CLOCK_TOLERANCE: i64 = 300;

/// The longest licence read, in bytes.
const MAX_LICENCE_LEN: usize = 64 * 1024;

/// The Ed25519 public keys of a JSON Web Key Set (RFC 8037), by key id. Keys of other
/// types, or marked for another use or algorithm, are left out.
#[derive(Clone, Default)]
pub struct Jwks {
    keys: Vec<(String, VerifyingKey)>,
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<RawJwk>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
}

impl Jwks {
    /// Reads a JWKS (`{"keys": [...]}`). Empty text is an empty set. An `OKP`/`Ed25519` key
    /// whose `x` is not a 32-byte public key in base64url is an error, so that a broken
    /// snapshot is caught when the software starts.
    pub fn parse(json: &str) -> Result<Jwks, Error> {
        if json.trim().is_empty() {
            return Ok(Jwks::default());
        }
        let raw: RawJwks = serde_json::from_str(json).map_err(|e| Error::InvalidJwks(e.to_string()))?;
        let mut jwks = Jwks::default();
        for jwk in raw.keys {
            let ed25519 = jwk.kty.as_deref() == Some("OKP") && jwk.crv.as_deref() == Some("Ed25519");
            let signs = jwk.alg.as_deref().is_none_or(|a| a == "EdDSA") && jwk.use_.as_deref().is_none_or(|u| u == "sig");
            let (true, true, Some(kid)) = (ed25519, signs, jwk.kid) else { continue };
            let bad = || Error::InvalidJwks(format!("key {kid:?} is not an Ed25519 public key in base64url"));
            let x = jwk.x.ok_or_else(bad)?;
            let bytes = B64.decode(x.trim_end_matches('=')).ok().and_then(|b| <[u8; 32]>::try_from(b).ok()).ok_or_else(bad)?;
            let key = VerifyingKey::from_bytes(&bytes).map_err(|_| bad())?;
            jwks.insert(kid, key);
        }
        Ok(jwks)
    }

    /// Adds (or replaces) the key `kid`.
    pub fn insert(&mut self, kid: impl Into<String>, key: VerifyingKey) {
        let kid = kid.into();
        self.keys.retain(|(k, _)| *k != kid);
        self.keys.push((kid, key));
    }

    /// The key ids, in order.
    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|(kid, _)| kid.as_str()).collect()
    }

    /// Whether the set holds no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn key(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.iter().find(|(k, _)| k == kid).map(|(_, key)| key)
    }
}

impl fmt::Debug for Jwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwks").field("kids", &self.kids()).finish()
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
}

fn not_a_licence(why: impl Into<String>) -> Error {
    Error::NotALicence(why.into())
}

/// Verifies `jwt` as a licence for `product` issued by `issuer` (the licensing server's
/// public URL; a trailing slash is ignored) at `now` (Unix seconds), with a key of `jwks`,
/// and returns its claims. Checks, in order: the compact form, the header (`alg` EdDSA,
/// `typ` [`LICENCE_TYP`]), the key id, the signature (strict Ed25519), `aud`, `iss`, then
/// `nbf` (with [`CLOCK_TOLERANCE`]) and `exp`.
///
/// It does not check the fingerprint, the nonce or a clock set back: [`Client`](crate::Client)
/// does, against what it has stored.
pub fn verify_licence(jwt: &str, jwks: &Jwks, product: &str, issuer: &str, now: i64) -> Result<LicenceClaims, Error> {
    let claims = verify_signature(jwt, jwks)?;
    check_audience(&claims, product, issuer)?;
    check_dates(&claims, now)?;
    Ok(claims)
}

/// The claims of `jwt` when it is a licence signed by a key of `jwks`; nothing about whom
/// it is for or when.
pub(crate) fn verify_signature(jwt: &str, jwks: &Jwks) -> Result<LicenceClaims, Error> {
    let jwt = jwt.trim();
    if jwt.len() > MAX_LICENCE_LEN {
        return Err(not_a_licence("it is too long"));
    }
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(not_a_licence("it is not a compact JWT (three base64url parts separated by dots)"));
    };
    let signed = jwt.get(..header.len() + 1 + payload.len()).ok_or_else(|| not_a_licence("it is not a compact JWT"))?;
    let header: Header = B64
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or_else(|| not_a_licence("its header is not base64url JSON with an `alg`"))?;
    if header.alg != "EdDSA" {
        return Err(not_a_licence(format!("it is signed with {:?}, not EdDSA", header.alg)));
    }
    if !header.typ.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(LICENCE_TYP)) {
        return Err(not_a_licence(format!("its type is {:?}, not {LICENCE_TYP:?}", header.typ.unwrap_or_default())));
    }
    let kid = header.kid.ok_or_else(|| not_a_licence("its header names no signing key (`kid`)"))?;
    let key = jwks.key(&kid).ok_or(Error::UnknownSigningKey(kid))?;
    let signature = B64.decode(signature).ok().and_then(|s| Signature::from_slice(&s).ok()).ok_or(Error::BadSignature)?;
    key.verify_strict(signed.as_bytes(), &signature).map_err(|_| Error::BadSignature)?;
    let payload = B64.decode(payload).map_err(|_| not_a_licence("its claims are not base64url"))?;
    serde_json::from_slice(&payload).map_err(|e| not_a_licence(format!("its claims are not a licence's: {e}")))
}

/// `aud` must be `product`, `iss` must be `issuer` (trailing slashes aside).
pub(crate) fn check_audience(claims: &LicenceClaims, product: &str, issuer: &str) -> Result<(), Error> {
    if claims.aud != product {
        return Err(Error::WrongAudience { expected: product.to_owned(), found: claims.aud.clone() });
    }
    if claims.iss.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(Error::WrongIssuer { expected: issuer.to_owned(), found: claims.iss.clone() });
    }
    Ok(())
}

/// `nbf` must have come (within [`CLOCK_TOLERANCE`]) and `exp` not.
pub(crate) fn check_dates(claims: &LicenceClaims, now: i64) -> Result<(), Error> {
    if now < claims.nbf.saturating_sub(CLOCK_TOLERANCE) {
        return Err(Error::NotYetValid { nbf: claims.nbf });
    }
    if now >= claims.exp {
        return Err(Error::Expired { exp: claims.exp });
    }
    Ok(())
}

/// The clock was set back when `now` is before the licence's `iat`, or before `seen` (the
/// latest time this client has seen), by more than [`CLOCK_TOLERANCE`].
pub(crate) fn check_clock(claims: &LicenceClaims, now: i64, seen: i64) -> Result<(), Error> {
    if now < claims.iat.saturating_sub(CLOCK_TOLERANCE) || now < seen.saturating_sub(CLOCK_TOLERANCE) {
        return Err(Error::ClockSetBack);
    }
    Ok(())
}

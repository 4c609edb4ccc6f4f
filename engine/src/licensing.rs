//! What the vendor's software holds at a customer's site, shared by the server and the
//! client SDK so that both read and write it the same way:
//!
//! - [`LicenseKey`]: the credential a customer's admin types in, `TLK-` and 32 characters of
//!   Crockford base32 (128 random bits and a CRC-32), so a typo is caught before any call;
//! - [`LicenceClaims`]: what a signed offline licence says, and how to answer a check
//!   from it with the engine's own [`evaluate`](crate::evaluate);
//! - [`OfflineDocument`]: the air-gapped activation request and deactivation receipt,
//!   authenticated with the license key itself (HMAC-SHA-256).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{evaluate, CheckRequest, Decision, EntitlementStatus, FeatureRule, Snapshot, Usage};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Crockford base32 of `bytes`, upper case, without padding.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The value of one Crockford base32 character (case-insensitive; `O` reads as 0,
/// `I` and `L` as 1).
fn base32_digit(c: char) -> Option<u32> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        c => c,
    };
    ALPHABET.iter().position(|&a| char::from(a) == c).map(|p| p as u32)
}

/// CRC-32 (IEEE 802.3), as zip and PNG use it.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Why a typed license key is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// It does not start with `TLK-`.
    Prefix,
    /// Too short or too long.
    Length,
    /// A character that is not in the key alphabet.
    Character(char),
    /// Every character is valid but the checksum does not match: a typo.
    Checksum,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Prefix => write!(f, "a license key starts with {}", LicenseKey::PREFIX),
            KeyError::Length => write!(f, "a license key has {} characters after {}", LicenseKey::BODY_LEN, LicenseKey::PREFIX),
            KeyError::Character(c) => write!(f, "{c:?} cannot appear in a license key"),
            KeyError::Checksum => write!(f, "the license key has a typo: its checksum does not match"),
        }
    }
}

impl std::error::Error for KeyError {}

/// A license key: 128 random bits. Written `TLK-XXXXXXXX-XXXXXXXX-XXXXXXXX-XXXXXXXX`, the
/// last 7 characters carrying a CRC-32 of the random part. Parsing ignores case, dashes
/// and spaces, so what a person types back is accepted as long as it is the same key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LicenseKey([u8; 16]);

impl LicenseKey {
    pub const PREFIX: &'static str = "TLK-";
    /// Characters after the prefix, dashes aside.
    pub const BODY_LEN: usize = 32;

    /// The key made of these 16 random bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> LicenseKey {
        LicenseKey(bytes)
    }

    /// Reads a key as typed; checks the checksum, so no call is needed to catch a typo.
    pub fn parse(typed: &str) -> Result<LicenseKey, KeyError> {
        let typed = typed.trim();
        // `TLK`, then the body, with or without the separator (`-`, or `_`).
        let body = match typed.get(..3) {
            Some(p) if p.eq_ignore_ascii_case("TLK") => typed[3..].strip_prefix('_').unwrap_or(&typed[3..]),
            _ => return Err(KeyError::Prefix),
        };
        let mut digits = Vec::with_capacity(Self::BODY_LEN);
        for c in body.chars().filter(|c| *c != '-' && *c != ' ') {
            digits.push(base32_digit(c).ok_or(KeyError::Character(c))?);
        }
        if digits.len() != Self::BODY_LEN {
            return Err(KeyError::Length);
        }
        let mut raw = [0u8; 20];
        let (mut buffer, mut bits, mut at) = (0u64, 0u32, 0usize);
        for d in digits {
            buffer = (buffer << 5) | u64::from(d);
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                raw[at] = (buffer >> bits) as u8;
                at += 1;
            }
        }
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&raw[..16]);
        let sum = u32::from_be_bytes([raw[16], raw[17], raw[18], raw[19]]);
        if crc32(&bytes) != sum {
            return Err(KeyError::Checksum);
        }
        Ok(LicenseKey(bytes))
    }

    /// The 16 random bytes: what the server looks keys up by and what authenticates
    /// offline documents.
    pub fn secret(&self) -> &[u8; 16] {
        &self.0
    }

    /// The key's public id (`lk_` and 16 hex digits): names the key in offline documents
    /// and on screen without revealing it.
    pub fn id(&self) -> String {
        let digest = Sha256::new().chain_update(b"tessera license key id\0").chain_update(self.0).finalize();
        format!("lk_{}", hex(&digest[..8]))
    }
}

impl fmt::Display for LicenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = [0u8; 20];
        raw[..16].copy_from_slice(&self.0);
        raw[16..].copy_from_slice(&crc32(&self.0).to_be_bytes());
        let body = base32(&raw);
        let groups: Vec<&str> = (0..4).map(|i| &body[i * 8..i * 8 + 8]).collect();
        write!(f, "{}{}", Self::PREFIX, groups.join("-"))
    }
}

impl fmt::Debug for LicenseKey {
    /// Never the key itself: only its id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LicenseKey({})", self.id())
    }
}

/// The `typ` header of a licence: an explicit type, so that no other JWT signed by the
/// same keys can pass for a licence.
pub const LICENCE_TYP: &str = "tessera-licence+jwt";

/// `bytes` in lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// The hash a licence carries for a seat holder's email: SHA-256 of the licence's `jti`, a
/// zero byte and the lower-cased address, hex. Salted by the licence, so that the same
/// address hashes differently in every licence and no table of likely addresses serves
/// them all. A check names the user, and the SDK compares hashes.
pub fn user_hash(jti: &str, email: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(jti.as_bytes());
    hash.update([0u8]);
    hash.update(email.trim().to_lowercase().as_bytes());
    hex(&hash.finalize())
}

/// The claims of an offline licence: a JWT (EdDSA) bound to one instance of one
/// entitlement, verifiable with the deployment's JWKS alone.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenceClaims {
    /// The deployment's public URL.
    pub iss: String,
    /// The product's key.
    pub aud: String,
    /// The entitlement's id.
    pub sub: String,
    /// This licence's unique id.
    pub jti: String,
    pub iat: i64,
    pub nbf: i64,
    /// When it stops being valid: the plan's offline days, never past the entitlement's
    /// end (plus grace when already in it).
    pub exp: i64,
    /// When a client that is online should fetch a fresh licence.
    pub refresh_at: i64,
    /// The customer's slug.
    pub customer: String,
    /// The instance's id.
    pub instance: String,
    /// The instance's fingerprint, as the device sent it.
    pub fingerprint: String,
    pub plan: String,
    pub plan_version: i64,
    pub status: EntitlementStatus,
    /// When the entitlement ends (null: open-ended) and its trial end, if on trial.
    pub ends_at: Option<i64>,
    pub trial_ends_at: Option<i64>,
    pub grace_days: i64,
    /// When the grace period after the end closes; null when open-ended.
    pub grace_ends_at: Option<i64>,
    /// Feature key → what it requires and its quota.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub features: BTreeMap<String, FeatureRule>,
    pub seats: i64,
    pub instances: i64,
    /// Allowed regions; null means anywhere.
    pub regions: Option<Vec<String>>,
    /// [`user_hash`] of each seat holder.
    pub seat_holders: Vec<String>,
    /// Metered usage as of issue: feature key → the period's start and units used.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub usage: BTreeMap<String, Usage>,
    /// The nonce of the air-gapped activation request this licence answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// The instance id an offline snapshot gives the licensed instance.
const LICENSED_INSTANCE: i64 = 1;

impl LicenceClaims {
    /// The entitlement as the licence describes it, for the engine. `extra_usage` is usage
    /// counted locally since the licence was issued (feature key → units), added to the
    /// licence's own figures for the current period.
    pub fn snapshot(&self, now: i64, extra_usage: &HashMap<String, i64>) -> Snapshot {
        let mut usage: HashMap<String, Usage> = HashMap::new();
        for (feature, rule) in &self.features {
            let Some(quota) = &rule.quota else { continue };
            let start = quota.period.start(now);
            let base = self.usage.get(feature).filter(|u| u.period_start == start).map_or(0, |u| u.used);
            let used = base + extra_usage.get(feature).copied().unwrap_or(0);
            usage.insert(feature.clone(), Usage { period_start: start, used });
        }
        Snapshot {
            entitlement_id: self.sub.parse().unwrap_or(0),
            customer_id: 0,
            plan: self.plan.clone(),
            status: self.status,
            ends_at: self.ends_at,
            trial_ends_at: self.trial_ends_at,
            grace_days: self.grace_days,
            seats_cap: self.seats,
            instances_cap: self.instances,
            regions: self.regions.clone(),
            features: self.features.clone(),
            seat_holders: (0..self.seat_holders.len() as i64).collect::<HashSet<i64>>(),
            instances: HashMap::from([(LICENSED_INSTANCE, now)]),
            usage,
        }
    }

    /// Answers a check from the licence alone, as the server would have: the licensed
    /// instance is this machine, `user` (an email) holds a seat when the licence lists
    /// it, and `region` is where the host runs.
    pub fn check(
        &self,
        feature: &str,
        user: Option<&str>,
        region: Option<&str>,
        quantity: Option<i64>,
        now: i64,
        extra_usage: &HashMap<String, i64>,
    ) -> Decision {
        let user_id = user.map(|u| user_hash(&self.jti, u)).and_then(|h| self.seat_holders.iter().position(|s| *s == h)).map(|i| i as i64);
        let request = CheckRequest {
            feature: feature.to_owned(),
            user_id,
            instance_id: Some(LICENSED_INSTANCE),
            region: region.map(str::to_owned),
            quantity,
        };
        evaluate(&self.snapshot(now, extra_usage), &request, now, i64::MAX / 4)
    }
}

/// The two kinds of air-gapped document, as the first part of their text names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OfflineDocument {
    /// A machine asks for a slot and a licence.
    Activation(ActivationRequest),
    /// A machine gave its slot back and deleted its licence.
    Deactivation(DeactivationReceipt),
}

/// What an air-gapped machine asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationRequest {
    /// The license key's id ([`LicenseKey::id`]).
    pub key: String,
    pub fingerprint: String,
    pub name: Option<String>,
    /// Random, base64url; the licence echoes it, and the server takes each once.
    pub nonce: String,
    /// When the machine wrote it (Unix seconds, its own clock).
    pub issued_at: i64,
}

/// What an air-gapped machine writes when it gives its slot back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeactivationReceipt {
    pub key: String,
    /// The instance id from its licence.
    pub instance: String,
    pub fingerprint: String,
    pub nonce: String,
    pub issued_at: i64,
}

impl OfflineDocument {
    fn label(&self) -> &'static str {
        match self {
            OfflineDocument::Activation(_) => "tessera-activation-v1",
            OfflineDocument::Deactivation(_) => "tessera-deactivation-v1",
        }
    }

    /// The license key id the document names.
    pub fn key_id(&self) -> &str {
        match self {
            OfflineDocument::Activation(a) => &a.key,
            OfflineDocument::Deactivation(d) => &d.key,
        }
    }

    /// The document's nonce.
    pub fn nonce(&self) -> &str {
        match self {
            OfflineDocument::Activation(a) => &a.nonce,
            OfflineDocument::Deactivation(d) => &d.nonce,
        }
    }

    /// When the machine wrote it.
    pub fn issued_at(&self) -> i64 {
        match self {
            OfflineDocument::Activation(a) => a.issued_at,
            OfflineDocument::Deactivation(d) => d.issued_at,
        }
    }

    /// The document as text: `<label>.<payload>.<mac>`, payload and MAC in base64url, the
    /// MAC an HMAC-SHA-256 under the license key of everything before the last dot.
    pub fn seal(&self, key: &LicenseKey) -> String {
        let payload = match self {
            OfflineDocument::Activation(a) => serde_json::to_vec(a),
            OfflineDocument::Deactivation(d) => serde_json::to_vec(d),
        }
        .unwrap_or_default();
        let signed = format!("{}.{}", self.label(), B64.encode(payload));
        let tag = mac(key).chain_update(signed.as_bytes()).finalize().into_bytes();
        format!("{signed}.{}", B64.encode(tag))
    }
}

fn mac(key: &LicenseKey) -> Hmac<Sha256> {
    // HMAC takes a key of any length; this cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(key.secret()).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

/// Why an offline document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentError {
    /// Not `<label>.<payload>.<mac>` of a known label, or its payload is not the JSON
    /// that label carries.
    Malformed(String),
    /// The MAC does not match: altered, or written with another key.
    Signature,
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocumentError::Malformed(why) => write!(f, "this is not a Tessera offline document: {why}"),
            DocumentError::Signature => f.write_str("the document's signature does not match its license key"),
        }
    }
}

impl std::error::Error for DocumentError {}

/// A document read from text whose MAC is not checked yet: look its key up by
/// [`OfflineDocument::key_id`], then [`verify`](SealedDocument::verify).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedDocument {
    pub document: OfflineDocument,
    signed: String,
    tag: Vec<u8>,
}

impl SealedDocument {
    /// Reads the text of a document; surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<SealedDocument, DocumentError> {
        let bad = |why: &str| DocumentError::Malformed(why.to_owned());
        let text = text.trim();
        if text.len() > 8 * 1024 {
            return Err(bad("it is too long"));
        }
        let (signed, tag) = text.rsplit_once('.').ok_or_else(|| bad("it has no signature"))?;
        let (label, payload) = signed.split_once('.').ok_or_else(|| bad("it has no payload"))?;
        let payload = B64.decode(payload).map_err(|_| bad("its payload is not base64url"))?;
        let tag = B64.decode(tag).map_err(|_| bad("its signature is not base64url"))?;
        let json = |e: serde_json::Error| DocumentError::Malformed(format!("its payload is not valid: {e}"));
        let document = match label {
            "tessera-activation-v1" => OfflineDocument::Activation(serde_json::from_slice(&payload).map_err(json)?),
            "tessera-deactivation-v1" => OfflineDocument::Deactivation(serde_json::from_slice(&payload).map_err(json)?),
            _ => return Err(bad("it is neither an activation request nor a deactivation receipt")),
        };
        Ok(SealedDocument { document, signed: signed.to_owned(), tag })
    }

    /// The document, when its MAC is right for `key` (compared in constant time).
    pub fn verify(&self, key: &LicenseKey) -> Result<&OfflineDocument, DocumentError> {
        mac(key).chain_update(self.signed.as_bytes()).verify_slice(&self.tag).map_err(|_| DocumentError::Signature)?;
        Ok(&self.document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LicenseKey {
        LicenseKey::from_bytes(*b"initech-demo-key")
    }

    #[test]
    fn a_key_reads_back_as_itself_however_it_is_typed() {
        let k = key();
        let text = k.to_string();
        assert!(text.starts_with("TLK-"), "{text}");
        assert_eq!(text.len(), 4 + 32 + 3);
        for typed in [text.clone(), text.to_lowercase(), text.replace('-', ""), format!("  {text} "), text.replace("TLK-", "tlk_")] {
            assert_eq!(LicenseKey::parse(&typed), Ok(k.clone()), "{typed}");
        }
        let other = LicenseKey::from_bytes([7; 16]);
        assert_ne!(other.to_string(), text);
        assert_ne!(other.id(), k.id());
        assert!(k.id().starts_with("lk_") && k.id().len() == 19);
        assert!(!format!("{k:?}").contains(&text[4..12]), "Debug must not show the key");
    }

    #[test]
    fn every_single_character_typo_is_caught() {
        let text = key().to_string();
        for (i, c) in text.char_indices().skip(4).filter(|(_, c)| *c != '-') {
            for replacement in ALPHABET.iter().map(|&b| char::from(b)).filter(|r| *r != c) {
                let typo: String = text.char_indices().map(|(j, x)| if j == i { replacement } else { x }).collect();
                assert_eq!(LicenseKey::parse(&typo), Err(KeyError::Checksum), "{typo}");
            }
        }
        // Two neighbours swapped.
        let mut swapped: Vec<char> = text.chars().collect();
        let at = (5..swapped.len() - 1).find(|&i| swapped[i] != swapped[i + 1] && swapped[i] != '-' && swapped[i + 1] != '-');
        if let Some(i) = at {
            swapped.swap(i, i + 1);
            assert_eq!(LicenseKey::parse(&swapped.into_iter().collect::<String>()), Err(KeyError::Checksum));
        }
    }

    #[test]
    fn what_is_not_a_key_says_why() {
        assert_eq!(LicenseKey::parse("tsk_demo_acme"), Err(KeyError::Prefix));
        assert_eq!(LicenseKey::parse(""), Err(KeyError::Prefix));
        assert_eq!(LicenseKey::parse("TLK-ABC"), Err(KeyError::Length));
        assert_eq!(LicenseKey::parse("TLK-UUUUUUUU-00000000-00000000-00000000"), Err(KeyError::Character('U')));
        assert_eq!(LicenseKey::parse(&format!("{}0", key())), Err(KeyError::Length));
        assert_eq!(LicenseKey::parse("TLK-é"), Err(KeyError::Character('é')));
        assert!(KeyError::Checksum.to_string().contains("typo"));
    }

    #[test]
    fn crc32_and_base32_match_their_standards() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(base32(b"f"), "CR");
        assert_eq!(base32(&[0xff; 5]), "ZZZZZZZZ");
    }

    fn activation() -> OfflineDocument {
        OfflineDocument::Activation(ActivationRequest {
            key: key().id(),
            fingerprint: "host-7".into(),
            name: Some("lab".into()),
            nonce: "bm9uY2U".into(),
            issued_at: 1_800_000_000,
        })
    }

    #[test]
    fn an_offline_document_verifies_with_its_key_only() {
        let text = activation().seal(&key());
        assert!(text.starts_with("tessera-activation-v1."), "{text}");
        let sealed = SealedDocument::parse(&format!("\n{text}\n")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sealed.document.key_id(), key().id());
        assert_eq!(sealed.verify(&key()), Ok(&activation()));
        assert_eq!(sealed.verify(&LicenseKey::from_bytes([1; 16])), Err(DocumentError::Signature));
    }

    #[test]
    fn a_tampered_or_malformed_document_is_refused() {
        let text = activation().seal(&key());
        let (signed, tag) = text.rsplit_once('.').unwrap_or_else(|| panic!("no dot"));
        let forged = OfflineDocument::Activation(ActivationRequest {
            fingerprint: "host-8".into(),
            ..match activation() {
                OfflineDocument::Activation(a) => a,
                OfflineDocument::Deactivation(_) => unreachable!(),
            }
        })
        .seal(&LicenseKey::from_bytes([2; 16]));
        let (forged_signed, _) = forged.rsplit_once('.').unwrap_or_else(|| panic!("no dot"));
        let spliced = SealedDocument::parse(&format!("{forged_signed}.{tag}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spliced.verify(&key()), Err(DocumentError::Signature));
        let relabelled = signed.replacen("activation", "deactivation", 1);
        assert!(matches!(SealedDocument::parse(&format!("{relabelled}.{tag}")), Err(DocumentError::Malformed(_))));
        for junk in ["", "hello", "tessera-activation-v1.e30.AA", "x.y.z", "tessera-activation-v1.!!!.AA"] {
            assert!(matches!(SealedDocument::parse(junk), Err(DocumentError::Malformed(_))), "{junk}");
        }
    }

    #[test]
    fn a_licence_answers_as_the_engine_does() {
        use crate::{Period, Quota, ReasonCode, Requirement};
        let now = 1_800_000_000;
        let claims = LicenceClaims {
            iss: "https://licensing.example".into(),
            aud: "analytics".into(),
            sub: "12".into(),
            jti: "j1".into(),
            iat: now,
            nbf: now,
            exp: now + 86_400,
            refresh_at: now + 3_600,
            customer: "initech".into(),
            instance: "ins_x".into(),
            fingerprint: "host-7".into(),
            plan: "team".into(),
            plan_version: 1,
            status: EntitlementStatus::Active,
            ends_at: None,
            trial_ends_at: None,
            grace_days: 7,
            grace_ends_at: None,
            features: BTreeMap::from([
                ("dashboards".to_owned(), FeatureRule { requires: Requirement::Seat, quota: None }),
                ("agent".to_owned(), FeatureRule { requires: Requirement::Instance, quota: None }),
                (
                    "api.calls".to_owned(),
                    FeatureRule { requires: Requirement::Quota, quota: Some(Quota { limit: 10, period: Period::Month }) },
                ),
            ]),
            seats: 5,
            instances: 2,
            regions: Some(vec!["eu".into()]),
            seat_holders: vec![user_hash("j1", "Ann@Initech.example")],
            usage: BTreeMap::from([("api.calls".to_owned(), Usage { period_start: Period::Month.start(now), used: 8 })]),
            nonce: None,
        };
        let none = HashMap::new();
        let ask = |feature: &str, user: Option<&str>, region: Option<&str>, extra: &HashMap<String, i64>| {
            claims.check(feature, user, region, None, now, extra).code
        };
        assert_eq!(ask("dashboards", Some("ann@initech.example"), None, &none), ReasonCode::Ok);
        assert_eq!(ask("dashboards", Some("bob@initech.example"), None, &none), ReasonCode::NoSeat);
        assert_eq!(ask("agent", None, Some("EU"), &none), ReasonCode::Ok);
        assert_eq!(ask("agent", None, Some("us"), &none), ReasonCode::RegionBlocked);
        assert_eq!(ask("api.calls", None, None, &none), ReasonCode::Ok);
        assert_eq!(ask("api.calls", None, None, &HashMap::from([("api.calls".to_owned(), 2)])), ReasonCode::QuotaExceeded);
        assert_eq!(ask("exports", None, None, &none), ReasonCode::FeatureNotInPlan);
        let suspended = LicenceClaims { status: EntitlementStatus::Suspended, ..claims.clone() };
        assert_eq!(suspended.check("agent", None, None, None, now, &none).code, ReasonCode::Suspended);
        let json = serde_json::to_value(&claims).unwrap_or_else(|e| panic!("{e}"));
        assert!(json.get("nonce").is_none(), "no nonce unless answering an air-gapped request");
        assert_eq!(serde_json::from_value::<LicenceClaims>(json).ok(), Some(claims));
    }
}

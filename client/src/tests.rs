//! The client without a server: licences signed here with a fixed Ed25519 key.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use tessera_engine::licensing::{OfflineDocument, SealedDocument, LICENCE_TYP};
use tessera_engine::{EntitlementStatus, FeatureRule, Period, Quota, Requirement, Usage};

use crate::{verify_licence, Client, Clock, Config, Error, Jwks, KeyError, LicenceClaims, LicenseKey, ReasonCode, Source, UsageStatus};

const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;
const ISSUER: &str = "https://licensing.example";
const PRODUCT: &str = "acme-analytics";

fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn jwks_json(kid: &str, key: &SigningKey) -> String {
    let x = B64.encode(key.verifying_key().to_bytes());
    serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}]}).to_string()
}

fn jwks() -> Jwks {
    Jwks::parse(&jwks_json("k1", &signing_key())).unwrap_or_else(|e| panic!("{e}"))
}

/// `claims` as a compact JWT with this header `typ` and `kid`, signed by `key`.
fn sign(claims: &LicenceClaims, typ: &str, kid: &str, key: &SigningKey) -> String {
    let header = serde_json::json!({"alg": "EdDSA", "typ": typ, "kid": kid});
    let payload = serde_json::to_vec(claims).unwrap_or_else(|e| panic!("{e}"));
    let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(payload));
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", B64.encode(signature.to_bytes()))
}

fn licence(claims: &LicenceClaims) -> String {
    sign(claims, LICENCE_TYP, "k1", &signing_key())
}

fn claims() -> LicenceClaims {
    LicenceClaims {
        iss: ISSUER.into(),
        aud: PRODUCT.into(),
        sub: "12".into(),
        jti: "lic_1".into(),
        iat: NOW,
        nbf: NOW,
        exp: NOW + 7 * DAY,
        refresh_at: NOW + DAY,
        customer: "initech".into(),
        instance: "ins_1".into(),
        fingerprint: "host-7".into(),
        plan: "team".into(),
        plan_version: 1,
        status: EntitlementStatus::Active,
        ends_at: None,
        trial_ends_at: None,
        grace_days: 7,
        grace_ends_at: None,
        features: BTreeMap::from([
            ("agent".to_owned(), FeatureRule { requires: Requirement::Instance, quota: None }),
            ("api.calls".to_owned(), FeatureRule { requires: Requirement::Quota, quota: Some(Quota { limit: 10, period: Period::Month }) }),
        ]),
        seats: 5,
        instances: 2,
        regions: Some(vec!["eu".into()]),
        seat_holders: vec![],
        usage: BTreeMap::from([("api.calls".to_owned(), Usage { period_start: Period::Month.start(NOW), used: 8 })]),
        nonce: None,
    }
}

fn key() -> LicenseKey {
    LicenseKey::from_bytes([3; 16])
}

/// A client with no server (every call is offline at once), the test key's JWKS and a
/// clock the test moves.
fn config(now: &Arc<AtomicI64>) -> Config {
    let mut config = Config::new("", PRODUCT, key().to_string(), jwks_json("k1", &signing_key()));
    config.issuer = Some(ISSUER.to_owned());
    let now = Arc::clone(now);
    let clock: Clock = Arc::new(move || now.load(Ordering::SeqCst));
    config.now = Some(clock);
    config
}

fn client(config: Config) -> Client {
    Client::new(config).unwrap_or_else(|e| panic!("{e}"))
}

/// Writes an activation request for `fingerprint` and returns its nonce.
fn request(client: &Client, fingerprint: &str) -> String {
    let text = client.offline_request(fingerprint, Some("lab")).unwrap_or_else(|e| panic!("{e}"));
    let sealed = SealedDocument::parse(&text).unwrap_or_else(|e| panic!("{e}"));
    match sealed.verify(&key()).unwrap_or_else(|e| panic!("{e}")) {
        OfflineDocument::Activation(a) => {
            assert_eq!(a.fingerprint, fingerprint);
            assert_eq!(a.key, key().id());
            a.nonce.clone()
        }
        OfflineDocument::Deactivation(_) => panic!("an activation request was expected"),
    }
}

/// The licence answering the request with `nonce`, for `fingerprint`.
fn answer(fingerprint: &str, nonce: &str) -> String {
    licence(&LicenceClaims { fingerprint: fingerprint.into(), nonce: Some(nonce.into()), ..claims() })
}

fn state_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tessera-client-{}-{name}.json", std::process::id()))
}

#[test]
fn a_licence_signed_by_a_key_of_the_jwks_verifies() {
    let jwt = licence(&claims());
    assert_eq!(verify_licence(&jwt, &jwks(), PRODUCT, ISSUER, NOW + 60), Ok(claims()));
    assert_eq!(verify_licence(&format!(" {jwt}\n"), &jwks(), PRODUCT, &format!("{ISSUER}/"), NOW), Ok(claims()));
    assert_eq!(verify_licence(&jwt, &jwks(), PRODUCT, ISSUER, NOW + 7 * DAY), Err(Error::Expired { exp: NOW + 7 * DAY }));
    assert_eq!(verify_licence(&jwt, &jwks(), PRODUCT, ISSUER, NOW - 3_600), Err(Error::NotYetValid { nbf: NOW }));
    assert!(matches!(verify_licence(&jwt, &jwks(), PRODUCT, "https://other.example", NOW), Err(Error::WrongIssuer { .. })));
}

#[test]
fn a_tampered_claim_or_signature_is_refused() {
    let jwt = licence(&claims());
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let forged = B64.encode(serde_json::to_vec(&LicenceClaims { seats: 500, ..claims() }).unwrap_or_else(|e| panic!("{e}")));
    let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
    assert_eq!(verify_licence(&tampered, &jwks(), PRODUCT, ISSUER, NOW), Err(Error::BadSignature));
    let mut signature = B64.decode(parts[2]).unwrap_or_else(|e| panic!("{e}"));
    signature[0] ^= 1;
    let tampered = format!("{}.{}.{}", parts[0], parts[1], B64.encode(signature));
    assert_eq!(verify_licence(&tampered, &jwks(), PRODUCT, ISSUER, NOW), Err(Error::BadSignature));
    // Signed by another key under the same key id.
    let impostor = sign(&claims(), LICENCE_TYP, "k1", &SigningKey::from_bytes(&[8u8; 32]));
    assert_eq!(verify_licence(&impostor, &jwks(), PRODUCT, ISSUER, NOW), Err(Error::BadSignature));
}

#[test]
fn another_type_audience_or_key_is_refused() {
    let as_plain_jwt = sign(&claims(), "JWT", "k1", &signing_key());
    assert!(matches!(verify_licence(&as_plain_jwt, &jwks(), PRODUCT, ISSUER, NOW), Err(Error::NotALicence(_))));
    let other_product = licence(&LicenceClaims { aud: "other-product".into(), ..claims() });
    assert_eq!(
        verify_licence(&other_product, &jwks(), PRODUCT, ISSUER, NOW),
        Err(Error::WrongAudience { expected: PRODUCT.into(), found: "other-product".into() })
    );
    let unknown_kid = sign(&claims(), LICENCE_TYP, "k2", &signing_key());
    assert_eq!(verify_licence(&unknown_kid, &jwks(), PRODUCT, ISSUER, NOW), Err(Error::UnknownSigningKey("k2".into())));
    for junk in ["", "a.b", "a.b.c.d", "!!.??.**"] {
        assert!(matches!(verify_licence(junk, &jwks(), PRODUCT, ISSUER, NOW), Err(Error::NotALicence(_))), "{junk}");
    }
}

#[test]
fn a_jwks_keeps_its_ed25519_signing_keys_and_refuses_a_broken_one() {
    let mixed = serde_json::json!({"keys": [
        {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "rsa"},
        {"kty": "OKP", "crv": "Ed25519", "x": B64.encode(signing_key().verifying_key().to_bytes()), "kid": "k1"},
    ]});
    assert_eq!(Jwks::parse(&mixed.to_string()).map(|j| j.kids().len()), Ok(1));
    let broken = serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "k1"}]});
    assert!(matches!(Jwks::parse(&broken.to_string()), Err(Error::InvalidJwks(_))));
    assert!(matches!(Jwks::parse("{not json"), Err(Error::InvalidJwks(_))));
    assert!(Jwks::parse("").is_ok_and(|j| j.is_empty()));
}

#[test]
fn a_key_with_a_typo_is_refused_before_any_call() {
    let now = Arc::new(AtomicI64::new(NOW));
    let mut typed: Vec<char> = key().to_string().chars().collect();
    typed[4] = if typed[4] == '0' { '1' } else { '0' };
    let mut with_typo = config(&now);
    with_typo.license_key = typed.into_iter().collect();
    assert_eq!(Client::new(with_typo).err(), Some(Error::InvalidKey(KeyError::Checksum)));
    let mut not_a_key = config(&now);
    not_a_key.license_key = "tsk_demo_acme".into();
    assert_eq!(Client::new(not_a_key).err(), Some(Error::InvalidKey(KeyError::Prefix)));
    let mut bad_jwks = config(&now);
    bad_jwks.jwks = "{\"keys\": 3}".into();
    assert!(matches!(Client::new(bad_jwks).err(), Some(Error::InvalidJwks(_))));
    let mut no_issuer = config(&now);
    no_issuer.issuer = None;
    assert!(matches!(Client::new(no_issuer).err(), Some(Error::Config(_))));
}

#[test]
fn the_client_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Client>();
}

#[test]
fn an_imported_licence_must_answer_this_machines_pending_request() {
    let now = Arc::new(AtomicI64::new(NOW));
    let client = client(config(&now));
    assert_eq!(client.import_licence(&answer("host-7", "bm9uY2U")).err(), Some(Error::NoPendingRequest));
    let nonce = request(&client, "host-7");
    assert_eq!(client.import_licence(&answer("host-8", &nonce)).err(), Some(Error::WrongMachine));
    assert_eq!(client.import_licence(&answer("host-7", "bm9uY2U")).err(), Some(Error::NonceMismatch));
    assert_eq!(client.import_licence(&licence(&claims())).err(), Some(Error::NonceMismatch), "a licence answering no request");
    let other_product = licence(&LicenceClaims { aud: "other".into(), nonce: Some(nonce.clone()), ..claims() });
    assert!(matches!(client.import_licence(&other_product), Err(Error::WrongAudience { .. })));
    assert_eq!(client.instance(), None);
    let imported = client.import_licence(&format!("{}\n", answer("host-7", &nonce))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(imported.nonce.as_deref(), Some(nonce.as_str()));
    assert_eq!(client.instance().as_deref(), Some("ins_1"));
    assert_eq!(client.licence().map(|c| c.jti), Some("lic_1".to_owned()));
    // The request is answered: the same licence is not imported twice.
    assert_eq!(client.import_licence(&answer("host-7", &nonce)).err(), Some(Error::NoPendingRequest));
}

#[test]
fn an_expired_licence_or_a_clock_behind_it_is_not_imported() {
    let now = Arc::new(AtomicI64::new(NOW + 8 * DAY));
    let client = client(config(&now));
    let nonce = request(&client, "host-7");
    assert_eq!(client.import_licence(&answer("host-7", &nonce)).err(), Some(Error::Expired { exp: NOW + 7 * DAY }));
    now.store(NOW - DAY, Ordering::SeqCst);
    assert_eq!(client.import_licence(&answer("host-7", &nonce)).err(), Some(Error::ClockSetBack));
}

#[tokio::test]
async fn out_of_reach_the_licence_answers_until_it_expires() {
    let now = Arc::new(AtomicI64::new(NOW));
    let client = client(config(&now));
    assert!(matches!(client.check("agent", None).await, Err(Error::Offline(_))), "no licence yet");
    let nonce = request(&client, "host-7");
    client.import_licence(&answer("host-7", &nonce)).unwrap_or_else(|e| panic!("{e}"));

    let agent = client.check("agent", None).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((agent.allowed, agent.code, agent.source), (true, ReasonCode::Ok, Source::Licence));
    let exports = client.check("exports", None).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((exports.allowed, exports.code), (false, ReasonCode::FeatureNotInPlan));

    // 8 of 10 used when the licence was issued; 2 more reported here, queued.
    let calls = client.check("api.calls", None).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((calls.code, calls.remaining), (ReasonCode::Ok, Some(2)));
    assert_eq!(client.report_usage("api.calls", 2).await, Ok(UsageStatus::Queued { queued: 1 }));
    assert_eq!(client.flush_usage().await, Ok(UsageStatus::Queued { queued: 1 }));
    assert_eq!(client.queued_usage(), 1);
    let calls = client.check("api.calls", None).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((calls.allowed, calls.code, calls.remaining), (false, ReasonCode::QuotaExceeded, Some(0)));
    assert!(matches!(client.report_usage("", 1).await, Err(Error::InvalidArgument(_))));
    assert!(matches!(client.report_usage("api.calls", -1).await, Err(Error::InvalidArgument(_))));

    // Two days on, then the clock set back behind what was seen.
    now.store(NOW + 2 * DAY, Ordering::SeqCst);
    assert!(client.check("agent", None).await.is_ok_and(|a| a.allowed));
    now.store(NOW + DAY, Ordering::SeqCst);
    assert_eq!(client.check("agent", None).await, Err(Error::ClockSetBack));
    now.store(NOW - DAY, Ordering::SeqCst);
    assert_eq!(client.check("agent", None).await, Err(Error::ClockSetBack));

    // Past `exp` the licence answers no more.
    now.store(NOW + 7 * DAY, Ordering::SeqCst);
    assert!(matches!(client.check("agent", None).await, Err(Error::Offline(_))));
}

#[tokio::test]
async fn a_region_the_licence_does_not_list_is_blocked_offline() {
    let now = Arc::new(AtomicI64::new(NOW));
    let mut in_us = config(&now);
    in_us.region = Some("us".into());
    let client = client(in_us);
    let nonce = request(&client, "host-7");
    client.import_licence(&answer("host-7", &nonce)).unwrap_or_else(|e| panic!("{e}"));
    let agent = client.check("agent", None).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((agent.allowed, agent.code, agent.source), (false, ReasonCode::RegionBlocked, Source::Licence));
}

#[tokio::test]
async fn the_state_file_keeps_the_licence_the_queue_and_the_pending_request() {
    let path = state_file("restart");
    let _ = std::fs::remove_file(&path);
    let now = Arc::new(AtomicI64::new(NOW));
    let with_file = || {
        let mut c = config(&now);
        c.state_file = Some(path.clone());
        c
    };

    let first = client(with_file());
    let nonce = request(&first, "host-7");
    drop(first);
    let second = client(with_file());
    second.import_licence(&answer("host-7", &nonce)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second.report_usage("api.calls", 2).await, Ok(UsageStatus::Queued { queued: 1 }));
    drop(second);

    let third = client(with_file());
    assert_eq!(third.instance().as_deref(), Some("ins_1"));
    assert_eq!(third.queued_usage(), 1);
    let calls = third.check("api.calls", None).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(calls.code, ReasonCode::QuotaExceeded, "usage reported before the restart still counts");

    // The receipt deletes the licence; the next start has none.
    let receipt = third.deactivation_receipt().unwrap_or_else(|e| panic!("{e}"));
    let sealed = SealedDocument::parse(&receipt).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(sealed.verify(&key()), Ok(OfflineDocument::Deactivation(d)) if d.instance == "ins_1" && d.fingerprint == "host-7"));
    drop(third);
    let fourth = client(with_file());
    assert_eq!(fourth.instance(), None);
    assert_eq!(fourth.deactivation_receipt().err(), Some(Error::NotActivated));
    assert!(matches!(fourth.check("agent", None).await, Err(Error::Offline(_))));

    // A state file that is not one says so.
    std::fs::write(&path, "not json").unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(Client::new(with_file()).err(), Some(Error::State(_))));
    let _ = std::fs::remove_file(path);
}

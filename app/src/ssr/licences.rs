//! Offline licences: what one is issued for, what it says, and the air-gapped flow. The
//! enforcement API and the portal both issue them through here.
//!
//! Revocation model: a licence is valid until its `exp`. A suspended, cancelled or expired
//! entitlement gets no new licence, so an online client learns of it at its next refresh
//! (`refresh_at`) and an offline one when its licence expires. How long that can be is the
//! plan's "offline for up to N days", never past the entitlement's end (plus grace when
//! already in it).

use std::collections::BTreeMap;

use crate::engine::licensing::{user_hash, LicenceClaims, OfflineDocument, SealedDocument};
use crate::engine::{self, dates, LicenseKey, ReasonCode};
use crate::ssr::AppState;
use crate::store::audit::Actor;
use crate::store::entitlements::instances::{Activation, Deactivation, InstanceRef, NewInstance, OfflineHold};
use crate::store::entitlements::snapshots::CustomerSnapshot;
use crate::store::keys::license_keys::LicenseGrant;
use crate::store::StoreError;

/// How long an air-gapped document may wait between the machine that wrote it and the
/// upload: older ones are refused.
pub const DOCUMENT_TTL: i64 = 3 * dates::DAY;

/// How far ahead of the server's clock a document's time may be.
pub const CLOCK_SKEW: i64 = 300;

/// Why no licence was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenceRefusal {
    /// The customer has no entitlement to the product.
    NotEntitled,
    /// The entitlement is not usable now: `suspended`, `expired`, `trial_ended`, `not_entitled`.
    NotUsable(ReasonCode),
    /// The plan allows no offline use (0 days).
    OnlineOnly,
    /// The instance is not live.
    Lapsed,
}

impl LicenceRefusal {
    /// The stable code the API answers with.
    pub fn code(&self) -> &'static str {
        match self {
            LicenceRefusal::NotEntitled => "not_entitled",
            LicenceRefusal::NotUsable(code) => code.as_str(),
            LicenceRefusal::OnlineOnly => "online_only",
            LicenceRefusal::Lapsed => "instance_lapsed",
        }
    }

    pub fn message(&self) -> String {
        match self {
            LicenceRefusal::NotEntitled => "The organisation has no entitlement to this product.".into(),
            LicenceRefusal::NotUsable(code) => format!("The entitlement is not usable now ({}).", code.as_str()),
            LicenceRefusal::OnlineOnly => "The plan allows online use only: no offline licence is issued.".into(),
            LicenceRefusal::Lapsed => "This instance lapsed or was deactivated; activate it again.".into(),
        }
    }
}

/// Why an air-gapped document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfflineRefusal {
    /// Not a Tessera offline document, or not the kind expected.
    Malformed(String),
    /// Its license key is unknown or was replaced.
    UnknownKey,
    /// Its signature does not match its license key.
    Signature,
    /// Its license key belongs to another organisation than the one acting.
    WrongCustomer,
    /// Used before.
    Replayed,
    /// Written more than [`DOCUMENT_TTL`] ago.
    Expired,
    /// Written in the future by the server's clock.
    FromTheFuture,
    /// The receipt names an instance that is not this key's, or not live, or another machine's.
    UnknownInstance,
    /// Every slot is taken.
    AtCap(i64),
    /// The instance's licence is valid until then and the entitlement has freed as many
    /// licensed instances early lately as its cap.
    HeldByLicence(i64),
    /// No licence can be issued.
    Licence(LicenceRefusal),
}

impl OfflineRefusal {
    /// The stable code the API answers with.
    pub fn code(&self) -> &'static str {
        match self {
            OfflineRefusal::Malformed(_) => "malformed_document",
            OfflineRefusal::UnknownKey => "unknown_license_key",
            OfflineRefusal::Signature => "bad_signature",
            OfflineRefusal::WrongCustomer => "wrong_customer",
            OfflineRefusal::Replayed => "replayed",
            OfflineRefusal::Expired => "document_expired",
            OfflineRefusal::FromTheFuture => "clock_skew",
            OfflineRefusal::UnknownInstance => "unknown_instance",
            OfflineRefusal::AtCap(_) => "instance_limit",
            OfflineRefusal::HeldByLicence(_) => "held_by_licence",
            OfflineRefusal::Licence(r) => r.code(),
        }
    }

    pub fn message(&self) -> String {
        match self {
            OfflineRefusal::Malformed(why) => format!("This is not a Tessera offline document: {why}."),
            OfflineRefusal::UnknownKey => "The document's license key is unknown or was regenerated.".into(),
            OfflineRefusal::Signature => "The document's signature does not match its license key: it was altered.".into(),
            OfflineRefusal::WrongCustomer => "The document's license key belongs to another organisation.".into(),
            OfflineRefusal::Replayed => "This document was used already; ask the machine for a new one.".into(),
            OfflineRefusal::Expired => {
                format!("This document expired: it must be uploaded within {} days of being written.", DOCUMENT_TTL / dates::DAY)
            }
            OfflineRefusal::FromTheFuture => "This document is dated in the future: check the machine's clock.".into(),
            OfflineRefusal::UnknownInstance => "The receipt names no live instance of this license key on this machine.".into(),
            OfflineRefusal::AtCap(cap) => format!("All {cap} instance slots are taken; deactivate one first."),
            OfflineRefusal::HeldByLicence(until) => held_by_licence(*until),
            OfflineRefusal::Licence(r) => r.message(),
        }
    }
}

/// A licence as issued: the compact JWT and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuedLicence {
    pub licence: String,
    pub claims: LicenceClaims,
}

/// The claims of a licence for instance `instance` (`ins_…`, with `fingerprint`) of
/// `customer`'s entitlement to `product`, at `now`.
pub fn licence_claims(
    state: &AppState,
    customer: &CustomerSnapshot,
    product: &str,
    instance: &str,
    fingerprint: &str,
    nonce: Option<&str>,
    now: i64,
) -> Result<LicenceClaims, LicenceRefusal> {
    let snap = customer.entitlements.get(product).ok_or(LicenceRefusal::NotEntitled)?;
    let terms = customer.licensing.get(product).ok_or(LicenceRefusal::NotEntitled)?;
    engine::usable(snap, now).map_err(LicenceRefusal::NotUsable)?;
    if terms.offline_days <= 0 {
        return Err(LicenceRefusal::OnlineOnly);
    }
    let end = snap.expires_at();
    let grace_end = end.map(|end| dates::grace_ends_at(end, snap.grace_days));
    // Never past the entitlement's end, or the grace's end when already in it.
    let hard_end = end.zip(grace_end).map(|(end, grace)| if end > now { end } else { grace });
    let exp = hard_end.map_or(now + terms.offline_days * dates::DAY, |hard| hard.min(now + terms.offline_days * dates::DAY));
    let refresh_at = now + ((exp - now) / 2).min(dates::DAY);
    let mut jti = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut jti);
    let jti = crate::engine::licensing::hex(&jti);
    Ok(LicenceClaims {
        iss: state.public_url.clone(),
        aud: product.to_owned(),
        sub: snap.entitlement_id.to_string(),
        jti: jti.clone(),
        iat: now,
        nbf: now,
        exp,
        refresh_at,
        customer: customer.slug.clone(),
        instance: instance.to_owned(),
        fingerprint: fingerprint.to_owned(),
        plan: snap.plan.clone(),
        plan_version: terms.plan_version,
        status: snap.status,
        ends_at: snap.ends_at,
        trial_ends_at: snap.trial_ends_at,
        grace_days: snap.grace_days,
        grace_ends_at: grace_end,
        features: snap.features.clone(),
        seats: snap.seats_cap,
        instances: snap.instances_cap,
        regions: snap.regions.clone(),
        seat_holders: {
            let mut hashes: Vec<String> =
                snap.seat_holders.iter().filter_map(|u| customer.emails.get(u)).map(|e| user_hash(&jti, e)).collect();
            hashes.sort();
            hashes
        },
        usage: snap.usage.iter().map(|(k, u)| (k.clone(), *u)).collect::<BTreeMap<_, _>>(),
        nonce: nonce.map(str::to_owned),
    })
}

/// Signs `claims`; the instance holds its slot until the licence expires (audited).
async fn sign_and_hold(
    state: &AppState,
    actor: &Actor,
    instance: &InstanceRef,
    claims: LicenceClaims,
) -> Result<IssuedLicence, StoreError> {
    let licence = state.tokens.sign_licence(&claims).ok_or_else(|| StoreError::Db(sqlx::Error::Protocol("no signing key".into())))?;
    state.store.hold_instance_offline(actor, instance, &claims.jti, claims.exp, claims.iat).await?;
    Ok(IssuedLicence { licence, claims })
}

/// A licence for live instance `instance` of `customer`.
pub async fn issue_licence(
    state: &AppState,
    actor: &Actor,
    customer: &CustomerSnapshot,
    product: &str,
    instance: &InstanceRef,
    now: i64,
) -> Result<Result<IssuedLicence, LicenceRefusal>, StoreError> {
    let alive = customer
        .entitlements
        .get(product)
        .and_then(|snap| snap.instances.get(&instance.id))
        .is_some_and(|beat| now - beat <= state.enforcer.instance_ttl());
    if !alive {
        return Ok(Err(LicenceRefusal::Lapsed));
    }
    let claims = match licence_claims(state, customer, product, &instance.public_id, &instance.fingerprint, None, now) {
        Ok(claims) => claims,
        Err(refusal) => return Ok(Err(refusal)),
    };
    match sign_and_hold(state, actor, instance, claims).await {
        Err(StoreError::NotFound) => Ok(Err(LicenceRefusal::Lapsed)),
        other => other.map(Ok),
    }
}

/// Who uploads an air-gapped document: a customer's admin acts within their organisation,
/// a vendor API key within its product, staff anywhere.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Within {
    pub customer_id: Option<i64>,
    pub product_id: Option<i64>,
}

/// Reads an air-gapped document and checks it against its license key, who uploads it
/// and the clock.
async fn open_document(
    state: &AppState,
    text: &str,
    within: Within,
    now: i64,
) -> Result<Result<(OfflineDocument, LicenseKey, LicenseGrant), OfflineRefusal>, StoreError> {
    let sealed = match SealedDocument::parse(text) {
        Ok(sealed) => sealed,
        Err(e) => {
            return Ok(Err(OfflineRefusal::Malformed(e.to_string().trim_start_matches("this is not a Tessera offline document: ").into())))
        }
    };
    let (key, grant) = match state.store.license_key_by_id(sealed.document.key_id()).await {
        Ok((_, grant)) if within.product_id.is_some_and(|p| p != grant.product_id) => return Ok(Err(OfflineRefusal::UnknownKey)),
        Ok(found) => found,
        Err(StoreError::NotFound) => return Ok(Err(OfflineRefusal::UnknownKey)),
        Err(e) => return Err(e),
    };
    // The seal first, so that an unsealed document tells nobody whose key it names.
    let document = match sealed.verify(&key) {
        Ok(document) => document.clone(),
        Err(_) => return Ok(Err(OfflineRefusal::Signature)),
    };
    if within.customer_id.is_some_and(|customer| customer != grant.customer_id) {
        return Ok(Err(OfflineRefusal::WrongCustomer));
    }
    if document.issued_at() > now + CLOCK_SKEW {
        return Ok(Err(OfflineRefusal::FromTheFuture));
    }
    if document.issued_at() < now - DOCUMENT_TTL {
        return Ok(Err(OfflineRefusal::Expired));
    }
    Ok(Ok((document, key, grant)))
}

/// Answers an air-gapped activation request: takes a slot (as an online activation
/// would) held until the licence expires, and issues the licence, echoing the request's
/// nonce.
pub async fn activate_offline(
    state: &AppState,
    actor: &Actor,
    within: Within,
    text: &str,
    now: i64,
) -> Result<Result<IssuedLicence, OfflineRefusal>, StoreError> {
    let (document, _, grant) = match open_document(state, text, within, now).await? {
        Ok(opened) => opened,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let OfflineDocument::Activation(request) = document else {
        return Ok(Err(OfflineRefusal::Malformed("it is a deactivation receipt, not an activation request".into())));
    };
    let fingerprint = request.fingerprint.trim();
    if fingerprint.is_empty() || fingerprint.len() > 256 || request.nonce.is_empty() || request.nonce.len() > 128 {
        return Ok(Err(OfflineRefusal::Malformed("its fingerprint or nonce is empty or too long".into())));
    }
    let customer = state.enforcer.customer_by_id(grant.customer_id).await.map_err(|e| match e {
        crate::ssr::enforcer::EnforceError::Store(e) => e,
        _ => StoreError::NotFound,
    })?;
    let Some(product) = customer.entitlements.iter().find(|(_, s)| s.entitlement_id == grant.entitlement_id).map(|(p, _)| p.clone()) else {
        return Ok(Err(OfflineRefusal::Licence(LicenceRefusal::NotEntitled)));
    };
    // The claims first: a licence that cannot be issued takes no slot.
    let mut claims = match licence_claims(state, &customer, &product, "", fingerprint, Some(&request.nonce), now) {
        Ok(claims) => claims,
        Err(refusal) => return Ok(Err(OfflineRefusal::Licence(refusal))),
    };
    if !state.tokens.can_sign() {
        return Err(StoreError::Db(sqlx::Error::Protocol("no signing key".into())));
    }
    let snap = &customer.entitlements[&product];
    let name = request.name.as_deref().map(str::trim).filter(|n| !n.is_empty() && n.len() <= 256);
    let new = NewInstance {
        customer_id: grant.customer_id,
        entitlement_id: grant.entitlement_id,
        cap: snap.instances_cap,
        fingerprint,
        name,
        offline: Some(OfflineHold { key_id: &grant.key_id, nonce: &request.nonce, until: claims.exp }),
    };
    let public_id = match state.store.activate_instance(actor, &new, now, state.enforcer.instance_ttl()).await? {
        Activation::Active { public_id, .. } => public_id,
        Activation::AtCap => return Ok(Err(OfflineRefusal::AtCap(snap.instances_cap))),
        Activation::Replayed => return Ok(Err(OfflineRefusal::Replayed)),
    };
    claims.instance = public_id;
    let licence = state.tokens.sign_licence(&claims).ok_or_else(|| StoreError::Db(sqlx::Error::Protocol("no signing key".into())))?;
    Ok(Ok(IssuedLicence { licence, claims }))
}

/// Takes an air-gapped deactivation receipt: frees the slot of the instance it names
/// (which must be its key's, on the machine that wrote it) once. Returns the instance id.
pub async fn deactivate_offline(
    state: &AppState,
    actor: &Actor,
    within: Within,
    text: &str,
    now: i64,
) -> Result<Result<String, OfflineRefusal>, StoreError> {
    let (document, _, grant) = match open_document(state, text, within, now).await? {
        Ok(opened) => opened,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let OfflineDocument::Deactivation(receipt) = document else {
        return Ok(Err(OfflineRefusal::Malformed("it is an activation request, not a deactivation receipt".into())));
    };
    let instance = match state.store.find_instance(receipt.instance.trim()).await {
        Ok(i) if i.entitlement_id == grant.entitlement_id && i.fingerprint == receipt.fingerprint.trim() => i,
        Ok(_) | Err(StoreError::NotFound) => return Ok(Err(OfflineRefusal::UnknownInstance)),
        Err(e) => return Err(e),
    };
    let freed = state
        .store
        .deactivate_instance_with(actor, None, Some(grant.customer_id), instance.id, Some((&grant.key_id, &receipt.nonce)), now)
        .await;
    match freed {
        Ok(Deactivation::Done(_)) => Ok(Ok(instance.public_id)),
        Ok(Deactivation::Replayed) => Ok(Err(OfflineRefusal::Replayed)),
        Ok(Deactivation::HeldByLicence { until }) => Ok(Err(OfflineRefusal::HeldByLicence(until))),
        Err(StoreError::NotFound) => Ok(Err(OfflineRefusal::UnknownInstance)),
        Err(e) => Err(e),
    }
}

/// Why a licensed instance keeps its slot, in words.
pub fn held_by_licence(until: i64) -> String {
    let day = crate::store::day_of(until);
    format!(
        "This instance's offline licence is valid until {day}, and as many licensed instances as the plan allows were freed early in \
         the last 30 days: its slot frees when the licence expires."
    )
}

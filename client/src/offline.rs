//! Air-gapped machines: the activation request this machine writes, the licence it imports
//! in answer, and the receipt it writes when it gives its slot back. The documents are the
//! engine's [`OfflineDocument`]s, sealed with the license key; someone carries them to and
//! from the vendor's portal.

use tessera_engine::licensing::{ActivationRequest, DeactivationReceipt, LicenceClaims, OfflineDocument};

use crate::licence::{check_audience, check_clock, check_dates};
use crate::state::Pending;
use crate::{random_id, Client, Error};

impl Client {
    /// Writes an activation request for this machine (`fingerprint`, and a `name` people
    /// see), sealed with the license key, to carry to the vendor's portal. Its nonce is
    /// remembered (in the state file), so that only the licence answering this request is
    /// imported; a new request replaces the pending one.
    pub fn offline_request(&self, fingerprint: &str, name: Option<&str>) -> Result<String, Error> {
        let fingerprint = fingerprint.trim();
        if fingerprint.is_empty() || fingerprint.len() > 256 {
            return Err(Error::InvalidArgument("a fingerprint has 1 to 256 characters".into()));
        }
        let name = name.map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
        let now = self.now();
        let pending = Pending { nonce: random_id(), fingerprint: fingerprint.to_owned(), name: name.clone(), issued_at: now };
        let document = OfflineDocument::Activation(ActivationRequest {
            key: self.key.id(),
            fingerprint: pending.fingerprint.clone(),
            name,
            nonce: pending.nonce.clone(),
            issued_at: now,
        });
        self.update(|s| s.pending = Some(pending))?;
        Ok(document.seal(&self.key))
    }

    /// Imports the licence the portal issued for the pending activation request (its
    /// compact JWT; surrounding whitespace is ignored) and stores it: the instance is the
    /// licence's. It must verify (signature, type, audience, issuer), answer the pending
    /// request ([`Error::NonceMismatch`]), name this machine ([`Error::WrongMachine`]), and
    /// be valid now ([`Error::ClockSetBack`], [`Error::NotYetValid`], [`Error::Expired`]).
    pub fn import_licence(&self, text: &str) -> Result<LicenceClaims, Error> {
        let jwt = text.trim();
        let claims = self.verify_signature(jwt)?;
        check_audience(&claims, &self.product, &self.issuer)?;
        let (pending, seen) = self.read(|s| (s.pending.clone(), s.latest_seen));
        let pending = pending.ok_or(Error::NoPendingRequest)?;
        if claims.nonce.as_deref() != Some(pending.nonce.as_str()) {
            return Err(Error::NonceMismatch);
        }
        if claims.fingerprint.trim() != pending.fingerprint {
            return Err(Error::WrongMachine);
        }
        let now = self.now();
        check_clock(&claims, now, seen)?;
        check_dates(&claims, now)?;
        let (jwt, instance, refresh_at) = (jwt.to_owned(), claims.instance.clone(), claims.refresh_at);
        self.update(|s| {
            s.licence = Some(jwt);
            s.instance = Some(instance);
            s.fingerprint = Some(pending.fingerprint);
            s.name = pending.name;
            s.pending = None;
            s.licence_refused = None;
            s.next_licence_at = refresh_at;
            s.reset_reported();
        })?;
        self.observe(now);
        Ok(claims)
    }

    /// Writes the receipt that this machine gave its slot back, for the stored licence's
    /// instance and fingerprint, sealed with the license key, then deletes the licence and
    /// the instance. Keep the text until the portal has taken it: it cannot be written
    /// again.
    pub fn deactivation_receipt(&self) -> Result<String, Error> {
        let jwt = self.read(|s| s.licence.clone()).ok_or(Error::NotActivated)?;
        let claims = self.verify_signature(&jwt)?;
        let document = OfflineDocument::Deactivation(DeactivationReceipt {
            key: self.key.id(),
            instance: claims.instance,
            fingerprint: claims.fingerprint,
            nonce: random_id(),
            issued_at: self.now(),
        });
        self.update(|s| {
            s.forget_licence();
            s.instance = None;
            s.fingerprint = None;
            s.name = None;
            s.next_licence_at = 0;
            s.licence_refused = None;
        })?;
        Ok(document.seal(&self.key))
    }
}

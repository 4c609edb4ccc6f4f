//! Tessera's client SDK, for the vendor's software at a customer's site:
//!
//! - activate this machine as an instance of the customer's entitlement and keep it alive
//!   with heartbeats ([`Client::activate`], [`Client::spawn_heartbeat`]);
//! - ask whether a feature may be used ([`Client::check`]): the server answers while it can
//!   be reached; when it cannot, the signed offline licence does, until it expires;
//! - report metered usage ([`Client::report_usage`]), queued while offline and sent once;
//! - activate a machine that never reaches the server, by exchanging documents
//!   ([`Client::offline_request`], [`Client::import_licence`], [`Client::deactivation_receipt`]);
//! - verify a licence on its own ([`verify_licence`]).
//!
//! A licence is verified with keys from the JWKS the software ships with, or one fetched
//! from the server ([`Client::refresh_jwks`]); never with a key the licence names itself.

mod error;
mod http;
pub mod licence;
mod offline;
mod state;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use rand::RngCore as _;

pub use error::Error;
pub use licence::{verify_licence, Jwks, CLOCK_TOLERANCE};
pub use tessera_engine::licensing::{KeyError, LicenceClaims, LicenseKey};
pub use tessera_engine::ReasonCode;

use http::{Api, CheckBody};
use licence::{check_audience, check_clock, check_dates};
use state::{QueuedEvent, State};

/// The time source: Unix seconds.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// How long a call to the server may take when the configuration says zero.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most units one usage event may carry, as the server accepts them.
pub const MAX_QUANTITY: i64 = 1_000_000_000_000;

/// Events sent per usage call.
const USAGE_BATCH: usize = 1_000;

/// After the server was out of reach, how long (seconds) [`Client::report_usage`] queues
/// without trying to send.
const USAGE_RETRY: i64 = 30;

/// After the server refused a licence, how long (seconds) before the heartbeat loop asks
/// again (the plan may have changed).
const LICENCE_RETRY_REFUSED: i64 = 3_600;

/// How far (seconds) the latest time seen may run ahead of the state file before it is
/// written for that alone.
const SEEN_SAVE_EVERY: i64 = 60;

/// What the client needs to know.
#[derive(Clone)]
pub struct Config {
    /// The licensing server's URL (`https://licensing.example.com`), without `/api/v1`.
    /// Empty for a machine that never reaches it (air-gapped): then [`issuer`](Config::issuer)
    /// must be set and every online call is [`Error::Offline`] at once. An `https://` URL
    /// needs the crate's `tls` feature.
    pub server: String,
    /// The product's key: a licence's audience.
    pub product: String,
    /// The license key, as the customer's admin typed it (`TLK-…`).
    pub license_key: String,
    /// A JWKS snapshot shipped with the software (the server's `/.well-known/jwks.json`):
    /// the keys licences are verified with while the server cannot be reached. Empty for
    /// none (then only a JWKS fetched with [`Client::refresh_jwks`] verifies).
    pub jwks: String,
    /// The `iss` licences must carry; by default the server's URL without trailing slash.
    pub issuer: Option<String>,
    /// Where this host runs (`eu`), for plans limited to regions.
    pub region: Option<String>,
    /// Where to keep the instance, its licence, a pending air-gapped request and queued
    /// usage (JSON), so that they survive a restart. Without it they live in memory only.
    pub state_file: Option<PathBuf>,
    /// How long one call to the server may take; zero means [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
    /// The time source (Unix seconds); the system clock when `None`.
    pub now: Option<Clock>,
}

impl Config {
    /// A configuration with no region, no state file, the default timeout and the system
    /// clock.
    pub fn new(server: impl Into<String>, product: impl Into<String>, license_key: impl Into<String>, jwks: impl Into<String>) -> Config {
        Config {
            server: server.into(),
            product: product.into(),
            license_key: license_key.into(),
            jwks: jwks.into(),
            issuer: None,
            region: None,
            state_file: None,
            timeout: DEFAULT_TIMEOUT,
            now: None,
        }
    }
}

impl fmt::Debug for Config {
    /// Never the license key itself: only its id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = LicenseKey::parse(&self.license_key).map_or_else(|e| format!("(not a key: {e})"), |k| k.id());
        f.debug_struct("Config")
            .field("server", &self.server)
            .field("product", &self.product)
            .field("license_key", &key)
            .field("issuer", &self.issuer)
            .field("region", &self.region)
            .field("state_file", &self.state_file)
            .field("timeout", &self.timeout)
            .field("now", &self.now.as_ref().map(|_| "custom"))
            .finish()
    }
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The server, just now.
    Online,
    /// The stored offline licence, the server being out of reach.
    Licence,
}

/// The answer to a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub allowed: bool,
    /// Why: `ok`, `no_seat`, `quota_exceeded`, `region_blocked`…
    pub code: ReasonCode,
    /// Units left in the current period, for a metered feature.
    pub remaining: Option<i64>,
    /// Allowed, but: `in_grace_period`.
    pub warnings: Vec<ReasonCode>,
    pub source: Source,
}

/// An activated instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Activation {
    /// The instance's id (`ins_…`).
    pub instance: String,
    /// The customer's slug.
    pub customer: String,
    /// Whether the server created it (false: it was already active with this fingerprint).
    pub created: bool,
    /// Seconds within which the next heartbeat must come.
    pub heartbeat_ttl: i64,
    pub instances_cap: i64,
    /// The offline licence now stored; `None` when the server gave none (see
    /// `licence_refused`) or could not be reached for it (the heartbeat loop asks again).
    pub licence: Option<LicenceClaims>,
    /// Why the server gave no licence: `online_only` (the plan allows no offline use; only
    /// online answers are possible), `suspended`, `expired`, `trial_ended`, `not_entitled`.
    pub licence_refused: Option<String>,
}

/// What became of reported usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageStatus {
    /// The queue was sent: `accepted` events counted, `duplicates` already counted before
    /// (a retry), `dropped` refused by the server for themselves (logged) and not kept.
    Sent { accepted: i64, duplicates: i64, dropped: usize },
    /// The server could not be reached: `queued` events wait, kept in the state file, and
    /// are sent later with the same ids.
    Queued { queued: usize },
}

/// The SDK's handle: cheap to share behind an [`Arc`], safe to use from many tasks.
pub struct Client {
    key: LicenseKey,
    product: String,
    issuer: String,
    region: Option<String>,
    state_file: Option<PathBuf>,
    clock: Clock,
    api: Api,
    jwks: RwLock<Jwks>,
    inner: Mutex<Inner>,
    /// One usage flush at a time, so that no event is sent twice at once.
    flushing: tokio::sync::Mutex<()>,
    /// Until when [`Client::report_usage`] only queues (Unix seconds).
    usage_retry_at: AtomicI64,
}

struct Inner {
    state: State,
    /// The `latest_seen` last written to the state file.
    saved_seen: i64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("key", &self.key)
            .field("product", &self.product)
            .field("issuer", &self.issuer)
            .field("region", &self.region)
            .field("state_file", &self.state_file)
            .finish_non_exhaustive()
    }
}

fn system_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// 16 random bytes, base64url: usage event ids and document nonces.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

impl Client {
    /// A client for `config`. Reads the license key (a typo is [`Error::InvalidKey`], before
    /// any call), the JWKS snapshot and the state file; makes no call.
    pub fn new(config: Config) -> Result<Client, Error> {
        let key = LicenseKey::parse(&config.license_key)?;
        let product = config.product.trim().to_owned();
        if product.is_empty() {
            return Err(Error::Config("`product` must be the product's key".into()));
        }
        let server = config.server.trim().trim_end_matches('/').to_owned();
        if !server.is_empty() {
            let scheme = server.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
            match scheme.as_deref() {
                Some("http") => {}
                Some("https") if cfg!(feature = "tls") => {}
                Some("https") => {
                    return Err(Error::Config(format!("{server} is an https:// URL: build tessera-client with its `tls` feature")));
                }
                _ => return Err(Error::Config(format!("`server` must be an http:// or https:// URL, not {server:?}"))),
            }
        }
        let issuer = config
            .issuer
            .as_deref()
            .map(|i| i.trim().trim_end_matches('/').to_owned())
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| server.clone());
        if issuer.is_empty() {
            return Err(Error::Config("without a `server`, `issuer` must be the licensing server's public URL".into()));
        }
        let jwks = Jwks::parse(&config.jwks)?;
        let region = config.region.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
        let timeout = if config.timeout.is_zero() { DEFAULT_TIMEOUT } else { config.timeout };
        let mut state = match &config.state_file {
            Some(path) => State::load(path)?,
            None => State::default(),
        };
        if state.key.as_deref().is_some_and(|k| k != key.id()) {
            tracing::warn!(key = %key.id(), "tessera: the state file belongs to another license key; starting afresh");
            state = State { latest_seen: state.latest_seen, ..State::default() };
        }
        state.key = Some(key.id());
        let api = Api::new(&server, key.to_string(), timeout)?;
        let clock: Clock = match config.now {
            Some(clock) => clock,
            None => Arc::new(system_now),
        };
        let saved_seen = state.latest_seen;
        Ok(Client {
            key,
            product,
            issuer,
            region,
            state_file: config.state_file,
            clock,
            api,
            jwks: RwLock::new(jwks),
            inner: Mutex::new(Inner { state, saved_seen }),
            flushing: tokio::sync::Mutex::new(()),
            usage_retry_at: AtomicI64::new(0),
        })
    }

    /// The license key's public id (`lk_…`).
    pub fn key_id(&self) -> String {
        self.key.id()
    }

    /// The activated instance's id, if any.
    pub fn instance(&self) -> Option<String> {
        self.read(|s| s.instance.clone())
    }

    /// The stored licence's claims, when its signature verifies (whatever its dates).
    pub fn licence(&self) -> Option<LicenceClaims> {
        let jwt = self.read(|s| s.licence.clone())?;
        self.verify_signature(&jwt).ok()
    }

    /// Usage events waiting to be sent.
    pub fn queued_usage(&self) -> usize {
        self.read(|s| s.queue.len())
    }

    /// Replaces the verifying keys with the server's current JWKS (after a key rotation,
    /// licences are signed with a key the shipped snapshot may not hold).
    pub async fn refresh_jwks(&self) -> Result<(), Error> {
        let jwks = Jwks::parse(&self.api.jwks().await?)?;
        if jwks.is_empty() {
            return Err(Error::InvalidJwks("the server's JWKS holds no Ed25519 signing key".into()));
        }
        self.set_jwks(jwks);
        Ok(())
    }

    /// Activates this machine (`fingerprint`: a stable identifier of the machine, container
    /// or process; `name`: what people see), stores the instance, then fetches an offline
    /// licence. A plan that allows no offline use (`online_only`) is not an error: the
    /// activation says so and only online answers are possible.
    pub async fn activate(&self, fingerprint: &str, name: Option<&str>) -> Result<Activation, Error> {
        let fingerprint = fingerprint.trim();
        if fingerprint.is_empty() || fingerprint.len() > 256 {
            return Err(Error::InvalidArgument("a fingerprint has 1 to 256 characters".into()));
        }
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        let (created, instance) = self.api.activate(fingerprint, name).await?;
        self.observe(self.now());
        let id = instance.id.clone();
        self.update(|s| {
            if s.fingerprint.as_deref() != Some(fingerprint) {
                // A licence bound to another fingerprint is of no use here.
                s.forget_licence();
            }
            s.instance = Some(id);
            s.fingerprint = Some(fingerprint.to_owned());
            s.name = name.map(str::to_owned);
            s.next_licence_at = 0;
            s.licence_refused = None;
        })?;
        let (licence, licence_refused) = match self.refresh_licence().await {
            Ok(claims) => (Some(claims), None),
            Err(Error::Refused { status: 409, code, .. }) => (None, Some(code)),
            Err(Error::Offline(why)) => {
                tracing::warn!(error = %why, "tessera: activated, but the licence could not be fetched; the heartbeat loop will try again");
                (None, None)
            }
            Err(e) => return Err(e),
        };
        Ok(Activation {
            instance: instance.id,
            customer: instance.customer,
            created,
            heartbeat_ttl: instance.heartbeat_ttl,
            instances_cap: instance.instances_cap,
            licence,
            licence_refused,
        })
    }

    /// Tells the server this instance is alive. When it lapsed (410) or is unknown (404),
    /// activates it again with the same fingerprint and name.
    pub async fn heartbeat(&self) -> Result<(), Error> {
        let (instance, fingerprint, name) = self.read(|s| (s.instance.clone(), s.fingerprint.clone(), s.name.clone()));
        let (Some(instance), Some(fingerprint)) = (instance, fingerprint) else {
            return Err(Error::NotActivated);
        };
        match self.api.heartbeat(&instance).await {
            Ok(()) => {
                self.observe(self.now());
                Ok(())
            }
            Err(Error::Refused { status: 404 | 410, code, .. }) => {
                tracing::info!(%instance, %code, "tessera: the instance lapsed; activating it again");
                self.activate(&fingerprint, name.as_deref()).await.map(|_| ())
            }
            Err(e) => Err(e),
        }
    }

    /// Fetches a fresh licence for the activated instance and stores it. When the server
    /// refuses one (409: `suspended`, `expired`, `trial_ended`, `not_entitled`,
    /// `online_only`), the stored licence is deleted, so that it answers no more checks,
    /// and the refusal is returned.
    pub async fn refresh_licence(&self) -> Result<LicenceClaims, Error> {
        let (instance, fingerprint) = self.read(|s| (s.instance.clone(), s.fingerprint.clone()));
        let (Some(instance), Some(fingerprint)) = (instance, fingerprint) else {
            return Err(Error::NotActivated);
        };
        let issued = match self.api.licence(&instance).await {
            Ok(issued) => issued,
            Err(Error::Refused { status: 409, code, message }) => {
                let retry_at = self.now().saturating_add(LICENCE_RETRY_REFUSED);
                let refused = code.clone();
                self.update(|s| {
                    s.forget_licence();
                    s.licence_refused = Some(refused);
                    s.next_licence_at = retry_at;
                })?;
                return Err(Error::Refused { status: 409, code, message });
            }
            Err(e) => return Err(e),
        };
        let claims = match self.check_issued(&issued.licence, &fingerprint) {
            Err(Error::UnknownSigningKey(_)) => {
                // Signed with a key newer than the snapshot: ask the server for its keys.
                self.refresh_jwks().await?;
                self.check_issued(&issued.licence, &fingerprint)?
            }
            other => other?,
        };
        self.store_licence(issued.licence, &claims)?;
        Ok(claims)
    }

    /// Gives the instance's slot back and deletes the stored licence and instance. They are
    /// deleted whatever the server answers; an error says it was not told (the slot then
    /// frees when the heartbeats have lapsed), or refused with `held_by_licence` (the
    /// entitlement freed as many licensed instances early lately as its cap: the slot frees
    /// when the licence expires).
    pub async fn deactivate(&self) -> Result<(), Error> {
        let instance = self.read(|s| s.instance.clone());
        let told = match instance {
            Some(instance) => match self.api.deactivate(&instance).await {
                Ok(()) | Err(Error::Refused { status: 404 | 410, .. }) => Ok(()),
                Err(e) => Err(e),
            },
            None => Ok(()),
        };
        self.update(|s| {
            s.forget_licence();
            s.instance = None;
            s.fingerprint = None;
            s.name = None;
            s.next_licence_at = 0;
            s.licence_refused = None;
        })?;
        told
    }

    /// May `user` (an email, for features that need a seat) use `feature` now? See
    /// [`Client::check_quantity`].
    pub async fn check(&self, feature: &str, user: Option<&str>) -> Result<Answer, Error> {
        self.check_quantity(feature, user, None).await
    }

    /// May `user` use `quantity` units (default 1) of `feature` now? The server answers,
    /// given the instance and the configured region. When it cannot be reached (no
    /// connection, a timeout, a 5xx, a 429), the stored licence answers, verified again,
    /// counting the usage reported since it was issued, until it expires; after that, or
    /// with no licence, [`Error::Offline`]. A clock set back is [`Error::ClockSetBack`]. Any
    /// other refusal by the server is [`Error::Refused`].
    pub async fn check_quantity(&self, feature: &str, user: Option<&str>, quantity: Option<i64>) -> Result<Answer, Error> {
        let instance = self.read(|s| s.instance.clone());
        let body = CheckBody { feature, user, instance: instance.as_deref(), region: self.region.as_deref(), quantity };
        match self.api.check(&body).await {
            Ok(answer) => {
                self.observe(self.now());
                if matches!(answer.code, ReasonCode::Suspended | ReasonCode::Expired | ReasonCode::TrialEnded | ReasonCode::NotEntitled) {
                    // The licence may no longer be given: ask at the next heartbeat, which
                    // deletes it when refused.
                    self.write(|s| s.next_licence_at = 0);
                }
                let warnings = answer.warnings();
                Ok(Answer { allowed: answer.allowed, code: answer.code, remaining: answer.remaining, warnings, source: Source::Online })
            }
            Err(Error::Offline(why)) => self.answer_offline(feature, user, quantity, &why),
            Err(e) => Err(e),
        }
    }

    /// Reports `quantity` units of `feature` used now. The event gets a random id and joins
    /// the persisted queue, then the queue is sent; when the server cannot be reached it
    /// stays queued ([`UsageStatus::Queued`]) and the units still count against the offline
    /// licence's quota.
    pub async fn report_usage(&self, feature: &str, quantity: i64) -> Result<UsageStatus, Error> {
        let feature = feature.trim();
        if feature.is_empty() {
            return Err(Error::InvalidArgument("name the feature the usage is of".into()));
        }
        if !(0..=MAX_QUANTITY).contains(&quantity) {
            return Err(Error::InvalidArgument(format!("a usage quantity is between 0 and {MAX_QUANTITY}")));
        }
        let now = self.now();
        let event = QueuedEvent { event_id: random_id(), feature: feature.to_owned(), quantity, at: now };
        let queued = self.update(|s| {
            s.record(feature, quantity, now);
            s.queue.push(event);
            s.queue.len()
        })?;
        if now < self.usage_retry_at.load(Ordering::Relaxed) {
            return Ok(UsageStatus::Queued { queued });
        }
        self.flush_usage().await
    }

    /// Sends the queued usage, in batches, with the ids the events were given, so that the
    /// server counts each once however often it is sent. An event leaves the queue only
    /// once the server has answered 200 for it. An event the server refuses for itself
    /// (400, 404, 409, 422) is dropped and logged, so that it holds back no other.
    pub async fn flush_usage(&self) -> Result<UsageStatus, Error> {
        let _one_at_a_time = self.flushing.lock().await;
        let (mut accepted, mut duplicates, mut dropped) = (0i64, 0i64, 0usize);
        loop {
            let batch: Vec<QueuedEvent> = self.read(|s| s.queue.iter().take(USAGE_BATCH).cloned().collect());
            if batch.is_empty() {
                break;
            }
            match self.api.usage(&batch).await {
                Ok(receipt) => {
                    accepted = accepted.saturating_add(receipt.accepted);
                    duplicates = duplicates.saturating_add(receipt.duplicates);
                    self.dequeue(&batch)?;
                }
                Err(Error::Offline(why)) => return self.usage_offline(&why),
                Err(Error::Refused { status, .. }) if rejects_events(status) => {
                    // One bad event must not hold back the others: send them one by one.
                    for event in &batch {
                        match self.api.usage(std::slice::from_ref(event)).await {
                            Ok(receipt) => {
                                accepted = accepted.saturating_add(receipt.accepted);
                                duplicates = duplicates.saturating_add(receipt.duplicates);
                            }
                            Err(Error::Refused { status, code, message }) if rejects_events(status) => {
                                let (event_id, feature) = (&event.event_id, &event.feature);
                                tracing::warn!(%event_id, %feature, %code, %message, "tessera: usage event refused; dropped");
                                dropped += 1;
                            }
                            Err(Error::Offline(why)) => return self.usage_offline(&why),
                            Err(e) => return Err(e),
                        }
                        self.dequeue(std::slice::from_ref(event))?;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        self.usage_retry_at.store(0, Ordering::Relaxed);
        Ok(UsageStatus::Sent { accepted, duplicates, dropped })
    }

    /// Runs [`Client::heartbeat`] every `every` (at least a second), and on each beat
    /// fetches a fresh licence once its `refresh_at` has passed and sends queued usage.
    /// Failures are logged and tried again on the next beat. Abort the handle to stop.
    pub fn spawn_heartbeat(self: Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let every = every.max(Duration::from_secs(1));
        tokio::spawn(async move {
            let mut beats = tokio::time::interval(every);
            beats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                beats.tick().await;
                self.upkeep().await;
            }
        })
    }

    /// One beat of [`Client::spawn_heartbeat`].
    async fn upkeep(&self) {
        if self.read(|s| s.instance.is_some()) {
            if let Err(e) = self.heartbeat().await {
                tracing::warn!(error = %e, "tessera: heartbeat failed");
            }
            let now = self.now();
            if self.read(|s| s.instance.is_some() && now >= s.next_licence_at) {
                match self.refresh_licence().await {
                    Ok(claims) => tracing::debug!(exp = claims.exp, "tessera: licence refreshed"),
                    Err(Error::Refused { status: 409, code, .. }) => tracing::info!(%code, "tessera: the server gives no offline licence"),
                    Err(e) => tracing::warn!(error = %e, "tessera: refreshing the licence failed"),
                }
            }
        }
        if self.queued_usage() > 0 {
            if let Err(e) = self.flush_usage().await {
                tracing::warn!(error = %e, "tessera: sending usage failed");
            }
        }
    }

    /// The answer of the stored licence, the server being out of reach (`why`).
    fn answer_offline(&self, feature: &str, user: Option<&str>, quantity: Option<i64>, why: &str) -> Result<Answer, Error> {
        let now = self.now();
        let (licence, fingerprint, seen) = self.read(|s| (s.licence.clone(), s.fingerprint.clone(), s.latest_seen));
        let Some(licence) = licence else {
            return Err(Error::Offline(format!("{why}; and no offline licence is stored")));
        };
        let claims = match self.verify_stored(&licence, fingerprint.as_deref(), now, seen) {
            Ok(claims) => claims,
            Err(Error::Expired { exp }) => {
                return Err(Error::Offline(format!("{why}; and the offline licence expired at {}", error::time(&exp))));
            }
            Err(e) => return Err(e),
        };
        self.observe(now);
        let extra = self.read(|s| s.extra_usage(&claims, now));
        let decision = claims.check(feature, user, self.region.as_deref(), quantity, now, &extra);
        Ok(Answer {
            allowed: decision.allowed,
            code: decision.code,
            remaining: decision.remaining,
            warnings: decision.warnings,
            source: Source::Licence,
        })
    }

    /// The stored licence, verified again: signature, type, audience, issuer, the machine,
    /// the clock, then its dates.
    fn verify_stored(&self, jwt: &str, fingerprint: Option<&str>, now: i64, seen: i64) -> Result<LicenceClaims, Error> {
        let claims = self.verify_signature(jwt)?;
        check_audience(&claims, &self.product, &self.issuer)?;
        if fingerprint.map(str::trim) != Some(claims.fingerprint.trim()) {
            return Err(Error::WrongMachine);
        }
        check_clock(&claims, now, seen)?;
        check_dates(&claims, now)?;
        Ok(claims)
    }

    /// A licence just issued for this machine: signature, type, audience, issuer and
    /// fingerprint. Its dates are checked when it answers, so that a clock off by a little
    /// does not stop it from being stored.
    fn check_issued(&self, jwt: &str, fingerprint: &str) -> Result<LicenceClaims, Error> {
        let claims = self.verify_signature(jwt)?;
        check_audience(&claims, &self.product, &self.issuer)?;
        if claims.fingerprint.trim() != fingerprint.trim() {
            return Err(Error::WrongMachine);
        }
        Ok(claims)
    }

    fn verify_signature(&self, jwt: &str) -> Result<LicenceClaims, Error> {
        let jwks = self.jwks.read().unwrap_or_else(PoisonError::into_inner);
        licence::verify_signature(jwt, &jwks)
    }

    fn set_jwks(&self, jwks: Jwks) {
        *self.jwks.write().unwrap_or_else(PoisonError::into_inner) = jwks;
    }

    /// Stores `jwt` as the licence: usage is counted afresh from its issue.
    fn store_licence(&self, jwt: String, claims: &LicenceClaims) -> Result<(), Error> {
        let refresh_at = claims.refresh_at;
        self.update(|s| {
            s.licence = Some(jwt);
            s.licence_refused = None;
            s.next_licence_at = refresh_at;
            s.reset_reported();
        })
    }

    /// Removes `sent` from the usage queue.
    fn dequeue(&self, sent: &[QueuedEvent]) -> Result<(), Error> {
        let ids: HashSet<&str> = sent.iter().map(|e| e.event_id.as_str()).collect();
        self.update(|s| s.queue.retain(|e| !ids.contains(e.event_id.as_str())))
    }

    fn usage_offline(&self, why: &str) -> Result<UsageStatus, Error> {
        tracing::debug!(error = %why, "tessera: usage queued, the server is out of reach");
        self.usage_retry_at.store(self.now().saturating_add(USAGE_RETRY), Ordering::Relaxed);
        Ok(UsageStatus::Queued { queued: self.queued_usage() })
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Reads the state.
    fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(&inner.state)
    }

    /// Changes the state in memory only (what a restart may lose).
    fn write<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut inner.state)
    }

    /// Changes the state and writes it to the state file.
    fn update<R>(&self, f: impl FnOnce(&mut State) -> R) -> Result<R, Error> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let result = f(&mut inner.state);
        if let Some(path) = &self.state_file {
            inner.state.save(path)?;
        }
        let seen = inner.state.latest_seen;
        inner.saved_seen = seen;
        Ok(result)
    }

    /// Remembers `now` as seen; written to the state file once it has moved on enough.
    fn observe(&self, now: i64) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if now <= inner.state.latest_seen {
            return;
        }
        inner.state.latest_seen = now;
        if now.saturating_sub(inner.saved_seen) < SEEN_SAVE_EVERY {
            return;
        }
        if let Some(path) = &self.state_file {
            if let Err(e) = inner.state.save(path) {
                tracing::warn!(error = %e, "tessera: cannot write the state file");
                return;
            }
        }
        inner.saved_seen = now;
    }
}

/// Whether a refusal of a usage batch is about its events (rather than the key or the
/// server).
fn rejects_events(status: u16) -> bool {
    matches!(status, 400 | 404 | 409 | 422)
}

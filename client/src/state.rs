//! What the client keeps between runs, as one JSON file: the instance and its licence, the
//! pending air-gapped request, usage not yet sent, and the latest time seen.
//!
//! Nothing in it is trusted for more than it is: the licence is verified again each time
//! it answers, and the verifying keys never come from here.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tessera_engine::licensing::LicenceClaims;
use tessera_engine::Period;

use crate::Error;

/// The persisted state. Fields missing from an older file take their defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct State {
    /// The license key's id this state belongs to.
    pub key: Option<String>,
    /// The activated instance's id.
    pub instance: Option<String>,
    /// The fingerprint the instance was activated (or the air-gapped licence asked) with.
    pub fingerprint: Option<String>,
    /// The instance's name, to activate again with it.
    pub name: Option<String>,
    /// The current licence, as its compact JWT.
    pub licence: Option<String>,
    /// When to ask the server for a licence next (Unix seconds).
    pub next_licence_at: i64,
    /// The code of the server's last refusal to give a licence (`online_only`…).
    pub licence_refused: Option<String>,
    /// The air-gapped activation request waiting for its licence.
    pub pending: Option<Pending>,
    /// Usage events not yet accepted by the server, oldest first.
    pub queue: Vec<QueuedEvent>,
    /// Units reported since the current licence was issued: feature → UTC day start → units.
    pub reported: BTreeMap<String, BTreeMap<i64, i64>>,
    /// The latest time this client has seen (Unix seconds).
    pub latest_seen: i64,
}

/// An air-gapped activation request waiting for its licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub nonce: String,
    pub fingerprint: String,
    pub name: Option<String>,
    pub issued_at: i64,
}

/// One usage event, kept with its id until the server has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct QueuedEvent {
    pub event_id: String,
    pub feature: String,
    pub quantity: i64,
    /// When it happened (Unix seconds).
    pub at: i64,
}

impl State {
    /// Reads the state at `path`; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<State, Error> {
        match fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::State(format!("{} is not a Tessera client state file ({e}); move it away to start afresh", path.display()))
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(Error::State(format!("cannot read {}: {e}", path.display()))),
        }
    }

    /// Writes the state to `path`, through a temporary file renamed over it, so that a
    /// crash leaves either the old state or the new one.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let failed = |e: &dyn std::fmt::Display| Error::State(format!("cannot write {}: {e}", path.display()));
        let json = serde_json::to_vec_pretty(self).map_err(|e| failed(&e))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| failed(&e))?;
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        fs::write(&tmp, json).map_err(|e| failed(&e))?;
        fs::rename(tmp, path).map_err(|e| failed(&e))
    }

    /// Counts `quantity` units of `feature` used at `at` towards the offline quota.
    pub fn record(&mut self, feature: &str, quantity: i64, at: i64) {
        add(&mut self.reported, feature, quantity, at);
    }

    /// A new licence counts the usage the server had when it issued it: from then on only
    /// events the server had not accepted yet (those still queued) and later ones count.
    pub fn reset_reported(&mut self) {
        self.reported.clear();
        for event in &self.queue {
            add(&mut self.reported, &event.feature, event.quantity, event.at);
        }
    }

    /// Forgets the licence (and what was counted against it).
    pub fn forget_licence(&mut self) {
        self.licence = None;
        self.reported.clear();
    }

    /// Units reported since the licence was issued, in the quota period containing `now`
    /// of each metered feature of `claims`: what [`LicenceClaims::check`] takes as
    /// `extra_usage`.
    pub fn extra_usage(&self, claims: &LicenceClaims, now: i64) -> HashMap<String, i64> {
        let mut extra = HashMap::new();
        for (feature, days) in &self.reported {
            let Some(quota) = claims.features.get(feature).and_then(|rule| rule.quota.as_ref()) else { continue };
            let start = quota.period.start(now);
            let units = days.range(start..).fold(0i64, |sum, (_, units)| sum.saturating_add(*units));
            extra.insert(feature.clone(), units);
        }
        extra
    }
}

fn add(reported: &mut BTreeMap<String, BTreeMap<i64, i64>>, feature: &str, quantity: i64, at: i64) {
    let units = reported.entry(feature.to_owned()).or_default().entry(Period::Day.start(at)).or_default();
    *units = units.saturating_add(quantity);
}

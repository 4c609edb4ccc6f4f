//! Instances: the running copies of the vendor's software activated under an
//! organisation's entitlements, as its admin sees and deactivates them, and the licences
//! that activate air-gapped machines.

pub mod api;
pub mod pages;

use serde::{Deserialize, Serialize};

/// One instance as the instances page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceView {
    pub id: i64,
    /// The opaque id the API and licences name it by (`ins_…`).
    pub public_id: String,
    pub product: String,
    pub name: Option<String>,
    pub fingerprint: String,
    /// Unix seconds.
    pub activated_at: i64,
    pub last_heartbeat_at: i64,
    /// Its heartbeat is recent enough for it to hold a slot.
    pub live: bool,
}

/// How many instances a page of the instances page lists.
pub const INSTANCES_PAGE: i64 = 50;

/// A page of an organisation's instances, and its caps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstancesView {
    pub instances: Vec<InstanceView>,
    /// The instance the next page starts after (`None` on the last page).
    pub next_after: Option<i64>,
    /// Per entitlement: (its product, its live instances, its cap).
    pub caps: Vec<(String, i64, i64)>,
    /// Seconds a heartbeat may lapse before the slot is free.
    pub ttl: i64,
    /// The server's clock when this was read, Unix seconds ("2 minutes ago" is from here).
    pub now: i64,
}

/// A licence issued for an air-gapped machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineLicenceView {
    /// The instance's public id (`ins_…`).
    pub instance: String,
    pub fingerprint: String,
    /// The signed licence (a JWT), to carry to the machine.
    pub licence: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// What to save the licence as.
    pub file_name: String,
}

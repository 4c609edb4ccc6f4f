//! Change requests: a customer admin asks for another plan, more seats, an add-on or a
//! renewal; vendor staff decide.

pub mod api;
#[cfg(feature = "ssr")]
pub mod change;
pub mod pages;

use serde::{Deserialize, Serialize};

pub use tessera_engine::requests::{diff_features, LimitChange, RequestKind, RequestStatus};

use crate::entitlements::FeatureGrant;

/// A request as its lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequestView {
    pub id: i64,
    pub entitlement_id: i64,
    pub product: String,
    /// The entitlement's plan now.
    pub current_plan: String,
    pub kind: RequestKind,
    pub target_plan: Option<String>,
    pub seats: Option<i64>,
    pub addon: Option<String>,
    /// The change is wanted at the next renewal rather than now.
    pub at_renewal: bool,
    pub reason: String,
    pub status: RequestStatus,
    /// Unix seconds.
    pub created_at: i64,
    pub decided_at: Option<i64>,
    /// What vendor staff said when deciding.
    pub comment: Option<String>,
    pub requested_by: String,
    pub decided_by: Option<String>,
    /// When an approved change applies (its renewal date when scheduled), and when it did.
    pub applies_at: Option<i64>,
    pub applied_at: Option<i64>,
    /// Approvals given so far and needed in all.
    pub approvals: i64,
    pub approvals_needed: i64,
}

impl ChangeRequestView {
    /// Approved, and waiting for its renewal date to apply.
    pub fn scheduled(&self) -> bool {
        self.status == RequestStatus::Approved && self.applied_at.is_none() && self.applies_at.is_some()
    }

    /// One line saying what is asked for: "Change plan to Business", "5 more seats"…
    pub fn summary(&self) -> String {
        let what = match self.kind {
            RequestKind::Plan => format!("Change plan to {}", self.target_plan.as_deref().unwrap_or("another plan")),
            RequestKind::Seats => match self.seats {
                Some(1) => "1 more seat".to_owned(),
                Some(n) => format!("{n} more seats"),
                None => "More seats".to_owned(),
            },
            RequestKind::Addon => format!("Add {}", self.addon.as_deref().unwrap_or("an add-on")),
            RequestKind::Renewal => "Renew for another term".to_owned(),
        };
        if self.at_renewal && self.kind != RequestKind::Renewal {
            format!("{what}, at renewal")
        } else {
            what
        }
    }
}

/// What a change would do, shown before the request is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePreview {
    pub entitlement_id: i64,
    pub product: String,
    pub current_plan: String,
    pub kind: RequestKind,
    /// "Change plan to Business", "5 more seats"…
    pub summary: String,
    /// The catalog keys the form sends back with the request.
    pub plan: Option<String>,
    pub seats: Option<i64>,
    pub addon: Option<String>,
    pub gained: Vec<FeatureGrant>,
    pub lost: Vec<FeatureGrant>,
    pub limits: Vec<LimitChange>,
    /// Seats assigned beyond the new cap: the ones assigned last would be held back.
    pub held_back: i64,
}

/// A plan or add-on the request form offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeOption {
    pub key: String,
    pub name: String,
    /// The entitlement has it already (its plan, or an add-on it holds).
    pub current: bool,
}

/// What an entitlement's request form offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeOptions {
    pub entitlement_id: i64,
    pub product: String,
    pub plan: String,
    pub plans: Vec<ChangeOption>,
    pub addons: Vec<ChangeOption>,
}

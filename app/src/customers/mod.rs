//! The vendor's list of customers.

pub mod api;
pub mod pages;

use serde::{Deserialize, Serialize};

/// One customer in the vendor's list, with a one-line summary of each entitlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerSummary {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub users: i64,
    /// "Acme Analytics · Team · active", one per entitlement.
    pub entitlements: Vec<String>,
}

//! The sales demo of tiers: a demo customer whose plan sales switch with one click, and
//! what the product would allow on each plan, asked of the engine as the API asks it.

pub mod api;
pub mod pages;

use serde::{Deserialize, Serialize};

/// One feature as the product would answer for the demo user now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureAnswer {
    pub key: String,
    pub name: String,
    pub allowed: bool,
    /// The reason code, as the enforcement API returns it.
    pub code: String,
    /// Units left this period for a metered feature.
    pub remaining: Option<i64>,
}

/// The demo as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoView {
    pub customer: String,
    pub slug: String,
    pub user: String,
    pub product: String,
    pub plan: String,
    /// (key, name, current) of each plan.
    pub plans: Vec<(String, String, bool)>,
    pub seats_cap: i64,
    pub instances_cap: i64,
    pub answers: Vec<FeatureAnswer>,
}

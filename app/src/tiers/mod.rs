//! The tier comparison: each product's plans side by side, built from the catalog.

pub mod api;
pub mod pages;

use serde::{Deserialize, Serialize};

/// One product's plans and what each gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierMatrix {
    pub product: String,
    /// Plan names, by rank.
    pub plans: Vec<String>,
    /// One row per limit or feature: its name and one cell per plan ("—" when absent).
    pub rows: Vec<(String, Vec<String>)>,
}

//! The vendor admin's catalog: plans and their versions, add-ons, approval rules, API keys
//! and signing keys.

pub mod api;
pub mod pages;

use serde::{Deserialize, Serialize};

pub use tessera_engine::approvals::{route, ApprovalRule, Ask, RuleEffect};

use crate::engine::Requirement;
use crate::entitlements::FeatureGrant;

/// The catalog as the vendor's console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogView {
    pub products: Vec<ProductCatalog>,
}

/// One product with its features, plans (newest versions), add-ons and approval rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductCatalog {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub features: Vec<FeatureDef>,
    pub plans: Vec<PlanVersion>,
    pub addons: Vec<AddonDef>,
    pub rules: Vec<ApprovalRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureDef {
    pub key: String,
    pub name: String,
    pub metered: bool,
    pub unit: Option<String>,
}

/// The newest version of a plan, and how many entitlements are on it and on older ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanVersion {
    pub key: String,
    pub name: String,
    pub version: i64,
    pub rank: i64,
    pub seats: i64,
    pub instances: i64,
    pub trial_days: i64,
    pub grace_days: i64,
    /// How long a site may stay offline on a licence; 0: online only.
    pub offline_days: i64,
    pub features: Vec<FeatureGrant>,
    /// Feature key → what it requires (a preset's name; `custom` for any other rule).
    pub rules: Vec<(String, String)>,
    pub on_this_version: i64,
    pub on_older_versions: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddonDef {
    pub key: String,
    pub name: String,
    pub seats: i64,
    pub instances: i64,
    pub features: Vec<FeatureGrant>,
}

/// API keys and signing keys, for vendor admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysView {
    pub api_keys: Vec<ApiKeyView>,
    pub signing_keys: Vec<SigningKeyView>,
}

/// An API key as listed: never the key itself, only its first characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: i64,
    pub product: String,
    pub name: String,
    pub prefix: String,
    /// What the key may do, in order: `enforce`, `provision`, `read`.
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeyView {
    pub kid: String,
    pub created_at: i64,
    /// Signs new tokens.
    pub active: bool,
    /// Left the JWKS: tokens it signed no longer verify.
    pub retired_at: Option<i64>,
}

/// A new API key, shown once to the admin who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedKey {
    pub name: String,
    pub key: String,
}

/// The rules a plan's feature can be given from the catalog page: (name, words). Each is a
/// combination of the engine's predicates (see `engine::rules`).
pub const RULE_PRESETS: [(&str, &str); 6] = [
    ("seat_or_instance", "A seat or a live instance"),
    ("seat", "A seat"),
    ("instance", "A live instance"),
    ("seat_or_instance_in_region", "A seat or a live instance, in an allowed region"),
    ("quota", "Quota left this period"),
    ("always", "Nothing more"),
];

/// The rule a preset stands for; `None` for an unknown name.
pub fn preset_rule(name: &str) -> Option<Requirement> {
    let seat_or_instance = || Requirement::Any(vec![Requirement::Seat, Requirement::Instance]);
    Some(match name {
        "seat_or_instance" => seat_or_instance(),
        "seat" => Requirement::Seat,
        "instance" => Requirement::Instance,
        "seat_or_instance_in_region" => Requirement::All(vec![seat_or_instance(), Requirement::Region]),
        "quota" => Requirement::Quota,
        "always" => Requirement::Always,
        _ => return None,
    })
}

/// The preset a stored rule (JSON) is, if it is one.
pub fn preset_of(rule: &str) -> Option<&'static str> {
    let rule = Requirement::parse(rule).ok()?;
    RULE_PRESETS.iter().map(|(name, _)| *name).find(|name| preset_rule(name).as_ref() == Some(&rule))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_round_trips_through_its_stored_rule() {
        for (name, _) in RULE_PRESETS {
            let stored = serde_json::to_string(&preset_rule(name).unwrap_or(Requirement::Always)).unwrap_or_default();
            assert_eq!(preset_of(&stored), Some(name));
        }
        assert_eq!(preset_of(r#"{"all": ["seat", "quota"]}"#), None);
        assert_eq!(preset_rule("nonsense"), None);
    }
}

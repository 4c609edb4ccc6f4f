//! An entitlement's lifecycle state and what it unlocks.

use serde::{Deserialize, Serialize};

/// The lifecycle state of an entitlement.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntitlementStatus {
    Trial,
    Active,
    Suspended,
    Expired,
    Cancelled,
}

impl EntitlementStatus {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EntitlementStatus::Trial => "trial",
            EntitlementStatus::Active => "active",
            EntitlementStatus::Suspended => "suspended",
            EntitlementStatus::Expired => "expired",
            EntitlementStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a stored status; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        use EntitlementStatus::*;
        [Trial, Active, Suspended, Expired, Cancelled].into_iter().find(|x| x.as_str() == s)
    }

    /// The words shown to people.
    pub fn label(self) -> &'static str {
        match self {
            EntitlementStatus::Trial => "Trial",
            EntitlementStatus::Active => "Active",
            EntitlementStatus::Suspended => "Suspended",
            EntitlementStatus::Expired => "Expired",
            EntitlementStatus::Cancelled => "Cancelled",
        }
    }
}

/// A feature an entitlement unlocks, with its quota when metered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureGrant {
    pub key: String,
    pub name: String,
    /// The metered quota per period, e.g. 10,000 a month.
    pub quota: Option<i64>,
    pub quota_period: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_stored_name() {
        use EntitlementStatus::*;
        for s in [Trial, Active, Suspended, Expired, Cancelled] {
            assert_eq!(EntitlementStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(EntitlementStatus::parse("paused"), None);
    }

    #[test]
    fn a_status_serialises_as_its_stored_name() {
        assert_eq!(serde_json::to_string(&EntitlementStatus::Suspended).ok().as_deref(), Some(r#""suspended""#));
    }
}

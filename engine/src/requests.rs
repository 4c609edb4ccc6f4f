//! Change requests: what a customer admin may ask for, where a request is in its life,
//! and what a change would unlock.

use serde::{Deserialize, Serialize};

use crate::entitlements::FeatureGrant;

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Another plan (an upgrade or a downgrade).
    Plan,
    /// Seats on top of the current cap.
    Seats,
    /// An add-on.
    Addon,
    /// Renew for another term.
    Renewal,
}

impl RequestKind {
    /// Every kind, in the order the form offers them.
    pub const ALL: [RequestKind; 4] = [RequestKind::Plan, RequestKind::Seats, RequestKind::Addon, RequestKind::Renewal];

    /// The name stored and sent in forms.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Plan => "plan",
            RequestKind::Seats => "seats",
            RequestKind::Addon => "addon",
            RequestKind::Renewal => "renewal",
        }
    }

    /// Parses a stored or submitted kind; `None` for anything else.
    pub fn parse(s: &str) -> Option<RequestKind> {
        RequestKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The words shown to people.
    pub fn label(self) -> &'static str {
        match self {
            RequestKind::Plan => "Change plan",
            RequestKind::Seats => "More seats",
            RequestKind::Addon => "Add-on",
            RequestKind::Renewal => "Renewal",
        }
    }
}

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
    Withdrawn,
}

impl RequestStatus {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Withdrawn => "withdrawn",
        }
    }

    /// Parses a stored status; `None` for anything else.
    pub fn parse(s: &str) -> Option<RequestStatus> {
        use RequestStatus::*;
        [Pending, Approved, Rejected, Withdrawn].into_iter().find(|x| x.as_str() == s)
    }

    /// The words shown to people.
    pub fn label(self) -> &'static str {
        match self {
            RequestStatus::Pending => "Pending",
            RequestStatus::Approved => "Approved",
            RequestStatus::Rejected => "Rejected",
            RequestStatus::Withdrawn => "Withdrawn",
        }
    }
}

/// A limit before and after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitChange {
    /// "Seats", "Instances", "API calls a month"…
    pub what: String,
    /// `None` is unlimited.
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// The features `after` has that `before` lacks, those it loses, and the quotas that
/// change, in `after`'s (then `before`'s) order.
pub fn diff_features(before: &[FeatureGrant], after: &[FeatureGrant]) -> (Vec<FeatureGrant>, Vec<FeatureGrant>, Vec<LimitChange>) {
    let find = |list: &[FeatureGrant], key: &str| list.iter().find(|f| f.key == key).cloned();
    let gained = after.iter().filter(|f| find(before, &f.key).is_none()).cloned().collect();
    let lost = before.iter().filter(|f| find(after, &f.key).is_none()).cloned().collect();
    let quotas = after
        .iter()
        .filter_map(|a| {
            let b = find(before, &a.key)?;
            (a.quota != b.quota).then(|| LimitChange { what: quota_label(a), from: b.quota, to: a.quota })
        })
        .collect();
    (gained, lost, quotas)
}

/// "API calls a month" for a metered feature's quota.
fn quota_label(f: &FeatureGrant) -> String {
    match f.quota_period.as_deref() {
        Some(p) => format!("{} a {p}", f.name),
        None => f.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(key: &str, quota: Option<i64>) -> FeatureGrant {
        FeatureGrant { key: key.into(), name: key.to_uppercase(), quota, quota_period: quota.map(|_| "month".into()) }
    }

    #[test]
    fn a_plan_upgrade_lists_what_it_unlocks_and_the_quota_it_raises() {
        let team = [grant("dashboards", None), grant("api.calls", Some(10_000))];
        let business = [grant("dashboards", None), grant("sso", None), grant("api.calls", Some(100_000))];
        let (gained, lost, limits) = diff_features(&team, &business);
        assert_eq!(gained.iter().map(|f| f.key.as_str()).collect::<Vec<_>>(), ["sso"]);
        assert!(lost.is_empty());
        assert_eq!(limits, [LimitChange { what: "API.CALLS a month".into(), from: Some(10_000), to: Some(100_000) }]);
    }

    #[test]
    fn a_downgrade_lists_what_is_lost() {
        let business = [grant("dashboards", None), grant("sso", None)];
        let free = [grant("dashboards", None)];
        let (gained, lost, _) = diff_features(&business, &free);
        assert!(gained.is_empty());
        assert_eq!(lost.iter().map(|f| f.key.as_str()).collect::<Vec<_>>(), ["sso"]);
    }

    #[test]
    fn every_kind_and_status_round_trips_through_its_stored_name() {
        for k in RequestKind::ALL {
            assert_eq!(RequestKind::parse(k.as_str()), Some(k));
        }
        for s in [RequestStatus::Pending, RequestStatus::Approved, RequestStatus::Rejected, RequestStatus::Withdrawn] {
            assert_eq!(RequestStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(RequestKind::parse("discount"), None);
    }
}

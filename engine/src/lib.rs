//! Tessera's entitlement engine and its domain vocabulary.
//!
//! The engine is a pure function of (snapshot, request, now) to a [`Decision`]; around it,
//! the words every part of Tessera speaks: entitlement and request statuses, the date
//! rules of trials, renewals and grace periods, approval-rule routing, values parsed from
//! what people type ([`Email`], [`Slug`], [`Reason`]) and typed ids.
//!
//! It is pure: no I/O, no clock, no database, no web framework. The server, the portal
//! (in the browser too) and the client SDK share it, so they can never disagree.

pub mod approvals;
pub mod dates;
pub mod entitlements;
pub mod ids;
pub mod licensing;
pub mod requests;
pub mod rules;
pub mod values;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

pub use approvals::{route, ApprovalRule, Ask, RuleEffect};
pub use dates::{day_of, days_between};
pub use entitlements::{EntitlementStatus, FeatureGrant};
pub use ids::{CustomerId, EntitlementId, UserId};
pub use licensing::{LicenceClaims, LicenseKey};
pub use requests::{diff_features, LimitChange, RequestKind, RequestStatus};
pub use rules::Requirement;
pub use values::{Email, ParseError, Reason, Slug};

/// Why a check was answered as it was. These names are stable API.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    Ok,
    NotEntitled,
    FeatureNotInPlan,
    NoSeat,
    InstanceLimit,
    QuotaExceeded,
    RegionBlocked,
    Suspended,
    Expired,
    TrialEnded,
    /// Allowed, with a warning: past the end date but within the grace period.
    InGracePeriod,
}

impl ReasonCode {
    /// The stable name, as in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::Ok => "ok",
            ReasonCode::NotEntitled => "not_entitled",
            ReasonCode::FeatureNotInPlan => "feature_not_in_plan",
            ReasonCode::NoSeat => "no_seat",
            ReasonCode::InstanceLimit => "instance_limit",
            ReasonCode::QuotaExceeded => "quota_exceeded",
            ReasonCode::RegionBlocked => "region_blocked",
            ReasonCode::Suspended => "suspended",
            ReasonCode::Expired => "expired",
            ReasonCode::TrialEnded => "trial_ended",
            ReasonCode::InGracePeriod => "in_grace_period",
        }
    }
}

/// A metered quota: `limit` units per `period`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    pub limit: i64,
    pub period: Period,
}

/// The period a quota resets over (UTC calendar).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Month,
    Year,
}

impl Period {
    /// Parses a stored period name.
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "day" => Some(Period::Day),
            "month" => Some(Period::Month),
            "year" => Some(Period::Year),
            _ => None,
        }
    }

    /// The Unix second at which the period containing `now` starts.
    pub fn start(self, now: i64) -> i64 {
        use chrono::{Datelike, NaiveDate};
        let day = day_of(now);
        let first = match self {
            Period::Day => Some(day),
            Period::Month => NaiveDate::from_ymd_opt(day.year(), day.month(), 1),
            Period::Year => NaiveDate::from_ymd_opt(day.year(), 1, 1),
        };
        first.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc().timestamp()).unwrap_or(now)
    }
}

/// What a plan (plus add-ons) grants for one feature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureRule {
    /// What a check must satisfy for this feature.
    pub requires: Requirement,
    /// The metered quota, for metered features.
    pub quota: Option<Quota>,
}

/// Everything the engine needs to know about one entitlement, as of one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub entitlement_id: i64,
    pub customer_id: i64,
    pub plan: String,
    pub status: EntitlementStatus,
    pub ends_at: Option<i64>,
    pub trial_ends_at: Option<i64>,
    pub grace_days: i64,
    pub seats_cap: i64,
    pub instances_cap: i64,
    /// Allowed regions; `None` means anywhere.
    pub regions: Option<Vec<String>>,
    /// Feature key → what it takes.
    pub features: BTreeMap<String, FeatureRule>,
    /// Users (by id) who hold a seat.
    pub seat_holders: HashSet<i64>,
    /// Active instance id → last heartbeat (Unix seconds).
    pub instances: HashMap<i64, i64>,
    /// Feature key → quantity used in the current period, and when that period started.
    pub usage: HashMap<String, Usage>,
}

impl Snapshot {
    /// When the entitlement stops: the trial's end on a trial, else its end date.
    pub fn expires_at(&self) -> Option<i64> {
        match self.status {
            EntitlementStatus::Trial => self.trial_ends_at.or(self.ends_at),
            _ => self.ends_at,
        }
    }
}

/// Usage of one metered feature in the period starting at `period_start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub period_start: i64,
    pub used: i64,
}

/// One question: may this user / instance use this feature now?
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRequest {
    pub feature: String,
    pub user_id: Option<i64>,
    pub instance_id: Option<i64>,
    pub region: Option<String>,
    /// Units the caller is about to consume (metered features); 1 when not given.
    pub quantity: Option<i64>,
}

/// The limits that applied to a decision.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub seats: i64,
    pub instances: i64,
    /// The quota of the feature asked about, when metered.
    pub quota: Option<i64>,
    pub period: Option<Period>,
}

/// The engine's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub allowed: bool,
    pub code: ReasonCode,
    pub limits: Limits,
    /// Units left in the current period, for a metered feature (before this request).
    pub remaining: Option<i64>,
    pub warnings: Vec<ReasonCode>,
}

/// How long heartbeats may lapse before an instance's slot is freed, in seconds.
pub const DEFAULT_INSTANCE_TTL: i64 = 15 * 60;

/// Evaluates `req` against `snap` at `now` (Unix seconds), with instances considered
/// alive when their last heartbeat is within `instance_ttl` seconds.
pub fn evaluate(snap: &Snapshot, req: &CheckRequest, now: i64, instance_ttl: i64) -> Decision {
    let rule = snap.features.get(&req.feature);
    let limits = Limits {
        seats: snap.seats_cap,
        instances: snap.instances_cap,
        quota: rule.and_then(|r| r.quota.as_ref().map(|q| q.limit)),
        period: rule.and_then(|r| r.quota.as_ref().map(|q| q.period)),
    };
    let remaining = rule.and_then(|r| r.quota.as_ref()).map(|q| remaining(snap, &req.feature, q, now));
    let decide = |code: ReasonCode, warnings: Vec<ReasonCode>| Decision {
        allowed: matches!(code, ReasonCode::Ok),
        code,
        limits: limits.clone(),
        remaining,
        warnings,
    };

    let mut warnings = Vec::new();
    match status_gate(snap, now) {
        Gate::Open => {}
        Gate::Grace => warnings.push(ReasonCode::InGracePeriod),
        Gate::Closed(code) => return decide(code, warnings),
    }
    let Some(rule) = rule else {
        return decide(ReasonCode::FeatureNotInPlan, warnings);
    };
    if let (Some(allowed), Some(region)) = (&snap.regions, &req.region) {
        if !allowed.iter().any(|r| r.eq_ignore_ascii_case(region)) {
            return decide(ReasonCode::RegionBlocked, warnings);
        }
    }
    let ctx = rules::Context { snap, req, now, instance_ttl, remaining };
    match rule.requires.check(&ctx) {
        Ok(()) => {
            let code = if warnings.is_empty() { ReasonCode::Ok } else { ReasonCode::InGracePeriod };
            Decision { allowed: true, code, limits, remaining, warnings }
        }
        Err(code) => decide(code, warnings),
    }
}

/// Units of `feature` left in the period containing `now`.
fn remaining(snap: &Snapshot, feature: &str, quota: &Quota, now: i64) -> i64 {
    let start = quota.period.start(now);
    let used = snap.usage.get(feature).filter(|u| u.period_start == start).map_or(0, |u| u.used);
    (quota.limit - used).max(0)
}

enum Gate {
    Open,
    Grace,
    Closed(ReasonCode),
}

/// What the entitlement's status and dates say before any feature is looked at.
fn status_gate(snap: &Snapshot, now: i64) -> Gate {
    let past_end = |end: i64| {
        if now < end {
            Gate::Open
        } else if now < dates::grace_ends_at(end, snap.grace_days) {
            Gate::Grace
        } else {
            Gate::Closed(ReasonCode::Expired)
        }
    };
    match snap.status {
        EntitlementStatus::Suspended => Gate::Closed(ReasonCode::Suspended),
        EntitlementStatus::Cancelled => Gate::Closed(ReasonCode::NotEntitled),
        EntitlementStatus::Expired => match snap.ends_at {
            Some(end) => past_end(end),
            None => Gate::Closed(ReasonCode::Expired),
        },
        EntitlementStatus::Trial => match snap.trial_ends_at.or(snap.ends_at) {
            Some(end) if now >= end => Gate::Closed(ReasonCode::TrialEnded),
            _ => Gate::Open,
        },
        EntitlementStatus::Active => match snap.ends_at {
            Some(end) => past_end(end),
            None => Gate::Open,
        },
    }
}

#[cfg(test)]
mod tests;

/// Whether one more seat may be assigned: `NoSeat` at the cap.
pub fn can_assign_seat(snap: &Snapshot) -> Result<(), ReasonCode> {
    if (snap.seat_holders.len() as i64) < snap.seats_cap {
        Ok(())
    } else {
        Err(ReasonCode::NoSeat)
    }
}

/// Live instances at `now`: those whose last heartbeat is within `ttl` seconds.
pub fn live_instances(snap: &Snapshot, now: i64, ttl: i64) -> i64 {
    snap.instances.values().filter(|&&beat| now - beat <= ttl).count() as i64
}

/// Whether one more instance may be activated: `InstanceLimit` when the live ones fill
/// the cap (a lapsed instance's slot is free again).
pub fn can_activate_instance(snap: &Snapshot, now: i64, ttl: i64) -> Result<(), ReasonCode> {
    if live_instances(snap, now, ttl) < snap.instances_cap {
        Ok(())
    } else {
        Err(ReasonCode::InstanceLimit)
    }
}

/// Whether the entitlement itself is usable at `now`, before any feature: `Ok` with
/// warnings (`in_grace_period`), or the refusal's code.
pub fn usable(snap: &Snapshot, now: i64) -> Result<Vec<ReasonCode>, ReasonCode> {
    match status_gate(snap, now) {
        Gate::Open => Ok(vec![]),
        Gate::Grace => Ok(vec![ReasonCode::InGracePeriod]),
        Gate::Closed(code) => Err(code),
    }
}

use std::collections::{BTreeMap, HashMap, HashSet};

use proptest::prelude::*;

use super::*;

const NOW: i64 = 1_795_435_200; // 2026-11-23 12:00 UTC
const TTL: i64 = 900;

fn rule(requires: Requirement) -> FeatureRule {
    FeatureRule { requires, quota: None }
}

/// A Team-like entitlement: 10 seats, 3 instances, user 1 seated, instance 7 alive,
/// 10,000 api.calls a month with 9,990 used.
fn team() -> Snapshot {
    let mut features = BTreeMap::new();
    features.insert("dashboards".into(), rule(Requirement::Any(vec![Requirement::Seat, Requirement::Instance])));
    features.insert("reports.export".into(), rule(Requirement::Seat));
    features.insert("geo.search".into(), rule(Requirement::All(vec![Requirement::Seat, Requirement::Region])));
    features.insert("status.page".into(), rule(Requirement::Always));
    features.insert(
        "api.calls".into(),
        FeatureRule { requires: Requirement::Quota, quota: Some(Quota { limit: 10_000, period: Period::Month }) },
    );
    Snapshot {
        entitlement_id: 1,
        customer_id: 1,
        plan: "team".into(),
        status: EntitlementStatus::Active,
        ends_at: None,
        trial_ends_at: None,
        grace_days: 7,
        seats_cap: 10,
        instances_cap: 3,
        regions: Some(vec!["eu".into(), "us".into()]),
        features,
        seat_holders: HashSet::from([1]),
        instances: HashMap::from([(7, NOW - 60)]),
        usage: HashMap::from([("api.calls".into(), Usage { period_start: Period::Month.start(NOW), used: 9_990 })]),
    }
}

fn ask(feature: &str) -> CheckRequest {
    CheckRequest { feature: feature.into(), ..Default::default() }
}

#[test]
fn every_reason_code_is_reached_by_the_case_that_should_reach_it() {
    let day = 86_400;
    let cases: Vec<(&str, Snapshot, CheckRequest, bool, ReasonCode)> = vec![
        ("seated user", team(), CheckRequest { user_id: Some(1), ..ask("reports.export") }, true, ReasonCode::Ok),
        ("unseated user", team(), CheckRequest { user_id: Some(2), ..ask("reports.export") }, false, ReasonCode::NoSeat),
        ("nobody named", team(), ask("reports.export"), false, ReasonCode::NoSeat),
        ("any: via instance", team(), CheckRequest { instance_id: Some(7), ..ask("dashboards") }, true, ReasonCode::Ok),
        ("any: unknown instance", team(), CheckRequest { instance_id: Some(8), ..ask("dashboards") }, false, ReasonCode::NoSeat),
        ("always", team(), ask("status.page"), true, ReasonCode::Ok),
        ("not in plan", team(), CheckRequest { user_id: Some(1), ..ask("sso") }, false, ReasonCode::FeatureNotInPlan),
        ("quota left", team(), CheckRequest { quantity: Some(10), ..ask("api.calls") }, true, ReasonCode::Ok),
        ("quota short", team(), CheckRequest { quantity: Some(11), ..ask("api.calls") }, false, ReasonCode::QuotaExceeded),
        ("region allowed", team(), CheckRequest { user_id: Some(1), region: Some("EU".into()), ..ask("geo.search") }, true, ReasonCode::Ok),
        ("region missing", team(), CheckRequest { user_id: Some(1), ..ask("geo.search") }, false, ReasonCode::RegionBlocked),
        (
            "region blocked",
            team(),
            CheckRequest { user_id: Some(1), region: Some("cn".into()), ..ask("reports.export") },
            false,
            ReasonCode::RegionBlocked,
        ),
        (
            "suspended",
            Snapshot { status: EntitlementStatus::Suspended, ..team() },
            CheckRequest { user_id: Some(1), ..ask("reports.export") },
            false,
            ReasonCode::Suspended,
        ),
        (
            "cancelled",
            Snapshot { status: EntitlementStatus::Cancelled, ..team() },
            CheckRequest { user_id: Some(1), ..ask("reports.export") },
            false,
            ReasonCode::NotEntitled,
        ),
        (
            "trial running",
            Snapshot { status: EntitlementStatus::Trial, trial_ends_at: Some(NOW + day), ..team() },
            CheckRequest { user_id: Some(1), ..ask("reports.export") },
            true,
            ReasonCode::Ok,
        ),
        (
            "trial ended",
            Snapshot { status: EntitlementStatus::Trial, trial_ends_at: Some(NOW - 1), ..team() },
            CheckRequest { user_id: Some(1), ..ask("reports.export") },
            false,
            ReasonCode::TrialEnded,
        ),
        (
            "ended, in grace",
            Snapshot { ends_at: Some(NOW - day), ..team() },
            CheckRequest { user_id: Some(1), ..ask("reports.export") },
            true,
            ReasonCode::InGracePeriod,
        ),
        (
            "ended, grace over",
            Snapshot { ends_at: Some(NOW - 8 * day), ..team() },
            CheckRequest { user_id: Some(1), ..ask("reports.export") },
            false,
            ReasonCode::Expired,
        ),
        (
            "expired status, in grace",
            Snapshot { status: EntitlementStatus::Expired, ends_at: Some(NOW - day), ..team() },
            CheckRequest { user_id: Some(1), ..ask("reports.export") },
            true,
            ReasonCode::InGracePeriod,
        ),
        (
            "expired status, no date",
            Snapshot { status: EntitlementStatus::Expired, ..team() },
            CheckRequest { user_id: Some(1), ..ask("reports.export") },
            false,
            ReasonCode::Expired,
        ),
        (
            "lapsed instance",
            {
                let mut s = team();
                s.instances.insert(9, NOW - TTL - 1);
                s
            },
            CheckRequest { instance_id: Some(9), ..ask("dashboards") },
            false,
            ReasonCode::NoSeat,
        ),
    ];
    for (name, snap, req, allowed, code) in cases {
        let d = evaluate(&snap, &req, NOW, TTL);
        assert_eq!((d.allowed, d.code), (allowed, code), "{name}");
    }
}

#[test]
fn an_instance_only_rule_answers_instance_limit() {
    let mut snap = team();
    snap.features.insert("agent".into(), rule(Requirement::Instance));
    let d = evaluate(&snap, &CheckRequest { instance_id: Some(99), ..ask("agent") }, NOW, TTL);
    assert_eq!(d.code, ReasonCode::InstanceLimit);
}

#[test]
fn grace_is_a_warning_on_an_allowed_decision() {
    let snap = Snapshot { ends_at: Some(NOW - 10), ..team() };
    let d = evaluate(&snap, &CheckRequest { user_id: Some(1), ..ask("reports.export") }, NOW, TTL);
    assert!(d.allowed);
    assert_eq!(d.warnings, [ReasonCode::InGracePeriod]);
}

#[test]
fn a_metered_decision_reports_its_quota_and_what_remains() {
    let d = evaluate(&team(), &ask("api.calls"), NOW, TTL);
    assert_eq!((d.limits.quota, d.limits.period, d.remaining), (Some(10_000), Some(Period::Month), Some(10)));
    assert_eq!((d.limits.seats, d.limits.instances), (10, 3));
    let d = evaluate(&team(), &CheckRequest { user_id: Some(1), ..ask("reports.export") }, NOW, TTL);
    assert_eq!(d.remaining, None);
}

#[test]
fn last_periods_usage_does_not_count_against_this_one() {
    let mut snap = team();
    snap.usage.insert("api.calls".into(), Usage { period_start: Period::Month.start(NOW) - 86_400 * 31, used: 10_000 });
    assert_eq!(evaluate(&snap, &ask("api.calls"), NOW, TTL).remaining, Some(10_000));
}

#[test]
fn periods_start_on_utc_calendar_boundaries() {
    // 2026-11-23 12:00 UTC
    assert_eq!(Period::Day.start(NOW), NOW - 12 * 3600);
    assert_eq!(Period::Month.start(NOW), 1_793_491_200); // 2026-11-01
    assert_eq!(Period::Year.start(NOW), 1_767_225_600); // 2026-01-01
}

#[test]
fn rules_parse_from_their_stored_json() {
    assert_eq!(Requirement::parse(r#""seat""#), Ok(Requirement::Seat));
    assert_eq!(
        Requirement::parse(r#"{"any": ["seat", {"all": ["instance", "region"]}]}"#),
        Ok(Requirement::Any(vec![Requirement::Seat, Requirement::All(vec![Requirement::Instance, Requirement::Region])]))
    );
    assert!(Requirement::parse(r#""sudo""#).is_err());
    assert!(Requirement::parse(r#"{"all": []}"#).is_err());
    assert!(Requirement::parse("{").is_err());
}

#[test]
fn reason_codes_serialise_as_their_stable_names() {
    for code in [ReasonCode::Ok, ReasonCode::FeatureNotInPlan, ReasonCode::InGracePeriod, ReasonCode::TrialEnded] {
        assert_eq!(serde_json::to_value(code).ok(), Some(serde_json::Value::String(code.as_str().into())));
    }
}

#[derive(Debug, Clone)]
enum Op {
    AssignSeat(i64),
    FreeSeat(i64),
    Activate(i64),
    Heartbeat(i64),
    Deactivate(i64),
    Wait(i64),
    Consume(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..30i64).prop_map(Op::AssignSeat),
        (0..30i64).prop_map(Op::FreeSeat),
        (0..20i64).prop_map(Op::Activate),
        (0..20i64).prop_map(Op::Heartbeat),
        (0..20i64).prop_map(Op::Deactivate),
        (0..2_000i64).prop_map(Op::Wait),
        (1..400i64).prop_map(Op::Consume),
    ]
}

proptest! {
    /// Whatever the order of assignments, activations, heartbeats and consumption, a
    /// client that acts only on the engine's yes never exceeds a cap.
    #[test]
    fn no_sequence_of_operations_exceeds_a_cap(ops in prop::collection::vec(op(), 1..200), seats in 0..6i64, instances in 0..4i64) {
        let mut snap = Snapshot { seats_cap: seats, instances_cap: instances, seat_holders: HashSet::new(), instances: HashMap::new(), usage: HashMap::new(), ..team() };
        let mut now = NOW;
        let quota = 1_000;
        snap.features.insert("api.calls".into(), FeatureRule { requires: Requirement::Quota, quota: Some(Quota { limit: quota, period: Period::Year }) });
        for op in ops {
            match op {
                Op::AssignSeat(u) => if !snap.seat_holders.contains(&u) && can_assign_seat(&snap).is_ok() { snap.seat_holders.insert(u); },
                Op::FreeSeat(u) => { snap.seat_holders.remove(&u); },
                Op::Activate(i) => if !snap.instances.contains_key(&i) && can_activate_instance(&snap, now, TTL).is_ok() {
                    snap.instances.retain(|_, beat| now - *beat <= TTL);
                    snap.instances.insert(i, now);
                },
                Op::Heartbeat(i) => if let Some(beat) = snap.instances.get_mut(&i) { if now - *beat <= TTL { *beat = now; } },
                Op::Deactivate(i) => { snap.instances.remove(&i); },
                Op::Wait(s) => now += s,
                Op::Consume(q) => {
                    let d = evaluate(&snap, &CheckRequest { quantity: Some(q), ..ask("api.calls") }, now, TTL);
                    if d.allowed {
                        let start = Period::Year.start(now);
                        let u = snap.usage.entry("api.calls".into()).or_insert(Usage { period_start: start, used: 0 });
                        if u.period_start != start { *u = Usage { period_start: start, used: 0 }; }
                        u.used += q;
                    }
                }
            }
            prop_assert!(snap.seat_holders.len() as i64 <= seats);
            prop_assert!(live_instances(&snap, now, TTL) <= instances);
            prop_assert!(snap.usage.values().all(|u| u.used <= quota));
        }
    }
}

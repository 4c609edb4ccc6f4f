//! Approval rules: catalog settings that decide how a kind of change request is approved,
//! and the routing of a request to the rules that apply to it.

use serde::{Deserialize, Serialize};

use crate::requests::RequestKind;

/// What an approval rule does to the requests it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleEffect {
    /// Approved as soon as it is filed, with nobody deciding.
    AutoApprove,
    /// Needs approvals from two different members of staff.
    TwoApprovals,
}

impl RuleEffect {
    /// Every effect, in the order the catalog form offers them.
    pub const ALL: [RuleEffect; 2] = [RuleEffect::AutoApprove, RuleEffect::TwoApprovals];

    /// The name stored and sent in forms.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleEffect::AutoApprove => "auto_approve",
            RuleEffect::TwoApprovals => "two_approvals",
        }
    }

    /// Parses a stored or submitted effect; `None` for anything else.
    pub fn parse(s: &str) -> Option<RuleEffect> {
        RuleEffect::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The words shown to people.
    pub fn label(self) -> &'static str {
        match self {
            RuleEffect::AutoApprove => "Approve automatically",
            RuleEffect::TwoApprovals => "Needs two approvals",
        }
    }
}

/// A catalog setting that decides how a kind of change request is approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRule {
    pub id: i64,
    pub product_id: i64,
    pub effect: RuleEffect,
    pub kind: RequestKind,
    /// Only for entitlements on this plan (its key); any plan when `None`.
    pub plan_key: Option<String>,
    /// Seats requests asking for at least / at most this many seats.
    pub min_seats: Option<i64>,
    pub max_seats: Option<i64>,
    /// Plan requests moving at least this many tiers (up or down).
    pub min_rank_jump: Option<i64>,
}

/// A request as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask<'a> {
    pub kind: RequestKind,
    /// The key of the entitlement's plan now.
    pub plan_key: &'a str,
    pub seats: Option<i64>,
    /// How many tiers a plan request moves (target rank minus current rank).
    pub rank_jump: Option<i64>,
}

impl ApprovalRule {
    /// Whether the rule applies to `ask`.
    pub fn matches(&self, ask: &Ask<'_>) -> bool {
        if self.kind != ask.kind || self.plan_key.as_deref().is_some_and(|k| k != ask.plan_key) {
            return false;
        }
        let seats = ask.seats.unwrap_or(0);
        if self.min_seats.is_some_and(|m| seats < m) || self.max_seats.is_some_and(|m| seats > m) {
            return false;
        }
        let jump = ask.rank_jump.map(i64::abs).unwrap_or(0);
        self.min_rank_jump.is_none_or(|m| jump >= m)
    }

    /// The rule in words: "More seats, up to 5, on Team plan: approve automatically".
    pub fn describe(&self) -> String {
        let mut what = self.kind.label().to_owned();
        match (self.min_seats, self.max_seats) {
            (Some(lo), Some(hi)) => what.push_str(&format!(", {lo} to {hi}")),
            (Some(lo), None) => what.push_str(&format!(", {lo} or more")),
            (None, Some(hi)) => what.push_str(&format!(", up to {hi}")),
            (None, None) => {}
        }
        if let Some(j) = self.min_rank_jump {
            what.push_str(&format!(", moving {j} or more tiers"));
        }
        if let Some(p) = &self.plan_key {
            what.push_str(&format!(", on the {p} plan"));
        }
        format!("{what}: {}", self.effect.label().to_lowercase())
    }
}

/// How many approvals a request needs and whether it is approved as soon as it is filed,
/// with the rule that says so.
pub fn route<'r>(rules: &'r [ApprovalRule], ask: &Ask<'_>) -> (i64, Option<&'r ApprovalRule>) {
    let two = rules.iter().any(|r| r.effect == RuleEffect::TwoApprovals && r.matches(ask));
    if two {
        // A larger change never slips through automatically.
        return (2, None);
    }
    (1, rules.iter().find(|r| r.effect == RuleEffect::AutoApprove && r.matches(ask)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(effect: RuleEffect, kind: RequestKind) -> ApprovalRule {
        ApprovalRule { id: 1, product_id: 1, effect, kind, plan_key: None, min_seats: None, max_seats: None, min_rank_jump: None }
    }

    fn ask(kind: RequestKind, plan: &str, seats: Option<i64>, jump: Option<i64>) -> Ask<'_> {
        Ask { kind, plan_key: plan, seats, rank_jump: jump }
    }

    #[test]
    fn up_to_five_seats_on_team_is_approved_automatically_and_six_is_not() {
        let r = ApprovalRule { plan_key: Some("team".into()), max_seats: Some(5), ..rule(RuleEffect::AutoApprove, RequestKind::Seats) };
        let rules = [r];
        assert_eq!(route(&rules, &ask(RequestKind::Seats, "team", Some(5), None)), (1, Some(&rules[0])));
        assert_eq!(route(&rules, &ask(RequestKind::Seats, "team", Some(6), None)), (1, None));
        assert_eq!(route(&rules, &ask(RequestKind::Seats, "business", Some(2), None)), (1, None));
        assert_eq!(route(&rules, &ask(RequestKind::Addon, "team", None, None)), (1, None));
    }

    #[test]
    fn a_jump_of_two_tiers_either_way_needs_two_approvals_and_one_tier_does_not() {
        let rules = [ApprovalRule { min_rank_jump: Some(2), ..rule(RuleEffect::TwoApprovals, RequestKind::Plan) }];
        assert_eq!(route(&rules, &ask(RequestKind::Plan, "team", None, Some(2))).0, 2);
        assert_eq!(route(&rules, &ask(RequestKind::Plan, "enterprise", None, Some(-3))).0, 2);
        assert_eq!(route(&rules, &ask(RequestKind::Plan, "team", None, Some(1))).0, 1);
    }

    #[test]
    fn two_approvals_wins_over_an_automatic_approval() {
        let rules = [
            rule(RuleEffect::AutoApprove, RequestKind::Plan),
            ApprovalRule { id: 2, min_rank_jump: Some(2), ..rule(RuleEffect::TwoApprovals, RequestKind::Plan) },
        ];
        assert_eq!(route(&rules, &ask(RequestKind::Plan, "team", None, Some(1))), (1, Some(&rules[0])));
        assert_eq!(route(&rules, &ask(RequestKind::Plan, "team", None, Some(2))), (2, None));
    }

    #[test]
    fn a_rule_says_what_it_does() {
        let r = ApprovalRule { plan_key: Some("team".into()), max_seats: Some(5), ..rule(RuleEffect::AutoApprove, RequestKind::Seats) };
        assert_eq!(r.describe(), "More seats, up to 5, on the team plan: approve automatically");
    }

    #[test]
    fn every_effect_round_trips_through_its_stored_name() {
        for e in RuleEffect::ALL {
            assert_eq!(RuleEffect::parse(e.as_str()), Some(e));
        }
        assert_eq!(RuleEffect::parse("three_approvals"), None);
    }
}

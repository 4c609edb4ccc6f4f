//! Rules are data: what a feature requires, as combinable predicates stored with the
//! plan (JSON), so a new plan or add-on needs no code.
//!
//! ```json
//! "seat"                                  a seat held by the user
//! "instance"                              an active instance of this entitlement
//! "region"                                a region given, and allowed
//! "quota"                                 units left in the current period
//! {"all": ["seat", "quota"]}              every one of them
//! {"any": ["seat", "instance"]}           at least one of them
//! "always"                                nothing beyond the entitlement itself
//! ```

use serde::{Deserialize, Serialize};

use super::{CheckRequest, ReasonCode, Snapshot};

/// A predicate over a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    Always,
    Seat,
    Instance,
    Region,
    Quota,
    All(Vec<Requirement>),
    Any(Vec<Requirement>),
}

/// What a requirement is checked against.
pub struct Context<'a> {
    pub snap: &'a Snapshot,
    pub req: &'a CheckRequest,
    pub now: i64,
    pub instance_ttl: i64,
    pub remaining: Option<i64>,
}

impl Requirement {
    /// Parses the stored JSON form; an error says what is wrong.
    pub fn parse(json: &str) -> Result<Requirement, String> {
        let r: Requirement = serde_json::from_str(json).map_err(|e| format!("not a rule: {e}"))?;
        r.validate()?;
        Ok(r)
    }

    fn validate(&self) -> Result<(), String> {
        match self {
            Requirement::All(v) | Requirement::Any(v) if v.is_empty() => Err("all/any need at least one rule".into()),
            Requirement::All(v) | Requirement::Any(v) => v.iter().try_for_each(Requirement::validate),
            _ => Ok(()),
        }
    }

    /// `Ok` when satisfied, else the reason code of the first unmet predicate
    /// (for `any`, the first alternative's).
    pub fn check(&self, ctx: &Context<'_>) -> Result<(), ReasonCode> {
        match self {
            Requirement::Always => Ok(()),
            Requirement::Seat => match ctx.req.user_id {
                Some(u) if ctx.snap.seat_holders.contains(&u) => Ok(()),
                _ => Err(ReasonCode::NoSeat),
            },
            Requirement::Instance => match ctx.req.instance_id.and_then(|i| ctx.snap.instances.get(&i)) {
                Some(&beat) if ctx.now - beat <= ctx.instance_ttl => Ok(()),
                _ => Err(ReasonCode::InstanceLimit),
            },
            Requirement::Region => match (&ctx.snap.regions, &ctx.req.region) {
                (None, _) => Ok(()),
                (Some(allowed), Some(r)) if allowed.iter().any(|a| a.eq_ignore_ascii_case(r)) => Ok(()),
                _ => Err(ReasonCode::RegionBlocked),
            },
            Requirement::Quota => {
                let want = ctx.req.quantity.unwrap_or(1).max(0);
                match ctx.remaining {
                    Some(left) if left >= want && left > 0 => Ok(()),
                    Some(_) => Err(ReasonCode::QuotaExceeded),
                    None => Ok(()),
                }
            }
            Requirement::All(rules) => rules.iter().try_for_each(|r| r.check(ctx)),
            Requirement::Any(rules) => {
                let mut first = None;
                for r in rules {
                    match r.check(ctx) {
                        Ok(()) => return Ok(()),
                        Err(code) => {
                            first.get_or_insert(code);
                        }
                    }
                }
                Err(first.unwrap_or(ReasonCode::NotEntitled))
            }
        }
    }
}

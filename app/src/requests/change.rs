//! Turning what the request form sends into a checked change and its preview.

use super::{diff_features, ChangeOption, ChangeOptions, ChangePreview, LimitChange, RequestKind};
use crate::entitlements::{EntitlementView, FeatureGrant};
use crate::error::AppError;
use crate::ssr::{internal, AppState};
use crate::store::catalog::{AddonRow, GrantedFeature, PlanRow};
use crate::store::entitlements::EntitlementFacts;

/// The most seats one request may ask for.
pub const MAX_EXTRA_SEATS: i64 = 10_000;

/// A change that passed every check, with what it would do.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub target_plan_id: Option<i64>,
    pub addon_id: Option<i64>,
    pub seats: Option<i64>,
    pub preview: ChangePreview,
}

/// The entitlement as the customer's portal shows it, with its catalog.
pub struct Context {
    pub facts: EntitlementFacts,
    pub view: EntitlementView,
    pub plans: Vec<PlanRow>,
    pub addons: Vec<AddonRow>,
}

/// Loads what a request about entitlement `facts` is checked against.
pub async fn context(state: &AppState, facts: EntitlementFacts) -> Result<Context, AppError> {
    let today = crate::store::day_of(crate::store::now());
    let view = state
        .store
        .list_entitlements(facts.customer_id, today)
        .await
        .map_err(|e| internal("list entitlements", e))?
        .into_iter()
        .find(|v| v.id == facts.id)
        .ok_or_else(|| AppError::NotFound("Entitlement".into()))?;
    let plans = state.store.list_plans(facts.product_id).await.map_err(|e| internal("list plans", e))?;
    let addons = state.store.list_addons(facts.product_id).await.map_err(|e| internal("list addons", e))?;
    Ok(Context { facts, view, plans, addons })
}

impl Context {
    /// The plans and add-ons the form offers.
    pub fn options(&self) -> ChangeOptions {
        ChangeOptions {
            entitlement_id: self.view.id,
            product: self.view.product.clone(),
            plan: self.view.plan.clone(),
            plans: self
                .plans
                .iter()
                .map(|p| ChangeOption { key: p.key.clone(), name: p.name.clone(), current: p.key == self.view.plan_key })
                .collect(),
            addons: self
                .addons
                .iter()
                .map(|a| ChangeOption { key: a.key.clone(), name: a.name.clone(), current: self.facts.addon_ids.contains(&a.id) })
                .collect(),
        }
    }

    /// Checks a change and works out what it would do. `Invalid` names the field at
    /// fault: an unknown plan or add-on, the plan or an add-on they already have, a seat
    /// count out of range.
    pub fn resolve(&self, kind: RequestKind, plan: Option<&str>, seats: Option<i64>, addon: Option<&str>) -> Result<Resolved, AppError> {
        let v = &self.view;
        let mut preview = ChangePreview {
            entitlement_id: v.id,
            product: v.product.clone(),
            current_plan: v.plan.clone(),
            kind,
            summary: String::new(),
            plan: None,
            seats: None,
            addon: None,
            gained: vec![],
            lost: vec![],
            limits: vec![],
            held_back: 0,
        };
        let mut resolved = Resolved { target_plan_id: None, addon_id: None, seats: None, preview: preview.clone() };
        match kind {
            RequestKind::Plan => {
                let key = plan.map(str::trim).filter(|k| !k.is_empty()).ok_or_else(|| AppError::invalid("plan", "Choose a plan."))?;
                let target = self
                    .plans
                    .iter()
                    .find(|p| p.key == key)
                    .ok_or_else(|| AppError::invalid("plan", "There is no such plan for this product."))?;
                if target.key == v.plan_key {
                    return Err(AppError::invalid("plan", format!("You are on {} already.", target.name)));
                }
                let current = self.plans.iter().find(|p| p.key == v.plan_key);
                let addons: Vec<&AddonRow> = self.addons.iter().filter(|a| self.facts.addon_ids.contains(&a.id)).collect();
                let after = merged(&target.features, &addons);
                let (gained, lost, quotas) = diff_features(&v.features, &after);
                let extra_seats: i64 = addons.iter().map(|a| a.seats).sum();
                let extra_instances: i64 = addons.iter().map(|a| a.instances).sum();
                // An override set by staff stays; otherwise the plan's limit is what moves.
                let seats_to =
                    if current.is_some_and(|c| v.seats_cap == c.seats + extra_seats) { target.seats + extra_seats } else { v.seats_cap };
                let instances_to = if current.is_some_and(|c| v.instances_cap == c.instances + extra_instances) {
                    target.instances + extra_instances
                } else {
                    v.instances_cap
                };
                preview.limits = limit_changes(v, seats_to, instances_to, quotas);
                preview.held_back = (v.seats_used - seats_to).max(0);
                preview.gained = gained;
                preview.lost = lost;
                preview.summary = if target.rank > v.plan_rank {
                    format!("Upgrade from {} to {}", v.plan, target.name)
                } else {
                    format!("Downgrade from {} to {}", v.plan, target.name)
                };
                preview.plan = Some(target.key.clone());
                resolved.target_plan_id = Some(target.id);
            }
            RequestKind::Seats => {
                let n = seats.ok_or_else(|| AppError::invalid("seats", "Say how many seats you need."))?;
                if !(1..=MAX_EXTRA_SEATS).contains(&n) {
                    return Err(AppError::invalid("seats", format!("Ask for 1 to {MAX_EXTRA_SEATS} more seats.")));
                }
                preview.limits = limit_changes(v, v.seats_cap + n, v.instances_cap, vec![]);
                preview.summary = if n == 1 { "1 more seat".to_owned() } else { format!("{n} more seats") };
                preview.seats = Some(n);
                resolved.seats = Some(n);
            }
            RequestKind::Addon => {
                let key = addon.map(str::trim).filter(|k| !k.is_empty()).ok_or_else(|| AppError::invalid("addon", "Choose an add-on."))?;
                let a = self
                    .addons
                    .iter()
                    .find(|a| a.key == key)
                    .ok_or_else(|| AppError::invalid("addon", "There is no such add-on for this product."))?;
                if self.facts.addon_ids.contains(&a.id) {
                    return Err(AppError::invalid("addon", format!("You have {} already.", a.name)));
                }
                let before: Vec<GrantedFeature> = v.features.iter().map(as_granted).collect();
                let after = merged(&before, &[a]);
                let (gained, lost, quotas) = diff_features(&v.features, &after);
                preview.limits = limit_changes(v, v.seats_cap + a.seats, v.instances_cap + a.instances, quotas);
                preview.gained = gained;
                preview.lost = lost;
                preview.summary = format!("Add {}", a.name);
                preview.addon = Some(a.key.clone());
                resolved.addon_id = Some(a.id);
            }
            RequestKind::Renewal => {
                preview.summary = format!("Renew {} on {} for another term", v.product, v.plan);
            }
        }
        resolved.preview = preview;
        Ok(resolved)
    }
}

/// Features of a plan (or what an entitlement has) with add-ons on top.
fn merged(base: &[GrantedFeature], addons: &[&AddonRow]) -> Vec<FeatureGrant> {
    let mut out: Vec<GrantedFeature> = base.to_vec();
    for a in addons {
        for f in &a.features {
            match out.iter_mut().find(|o| o.key == f.key) {
                Some(have) => {
                    if let (Some(q), Some(extra)) = (have.quota, f.quota) {
                        have.quota = Some(q.saturating_add(extra));
                    }
                }
                None => out.push(f.clone()),
            }
        }
    }
    out.iter().map(GrantedFeature::grant).collect()
}

fn as_granted(f: &FeatureGrant) -> GrantedFeature {
    GrantedFeature {
        feature_id: 0,
        key: f.key.clone(),
        name: f.name.clone(),
        unit: None,
        metered: false,
        quota: f.quota,
        quota_period: f.quota_period.clone(),
        rule: String::new(),
    }
}

fn limit_changes(v: &EntitlementView, seats_to: i64, instances_to: i64, quotas: Vec<LimitChange>) -> Vec<LimitChange> {
    let mut out = Vec::new();
    if seats_to != v.seats_cap {
        out.push(LimitChange { what: "Seats".into(), from: Some(v.seats_cap), to: Some(seats_to) });
    }
    if instances_to != v.instances_cap {
        out.push(LimitChange { what: "Instances".into(), from: Some(v.instances_cap), to: Some(instances_to) });
    }
    out.extend(quotas);
    out
}

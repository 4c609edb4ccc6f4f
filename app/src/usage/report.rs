//! Building the usage report: days in the window, quota periods, and the charts.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::chart::{render_chart, Chart, DayValue};
use super::{DayCapacity, DayUsage, EntitlementUsage, FeatureUsage, UsageReport};
use crate::components::format::thousands;
use crate::engine::Period;
use crate::error::AppError;
use crate::ssr::{internal, AppState};
use crate::store::day_of;

const DAY: i64 = 86_400;

/// The report of customer `customer_id` over the `days` days that end today.
pub async fn build(state: &AppState, customer_id: i64, days: i64, now: i64) -> Result<UsageReport, AppError> {
    let today = now.div_euclid(DAY) * DAY;
    let from = today - (days - 1) * DAY;
    let views = state.store.list_entitlements(customer_id, day_of(now)).await.map_err(|e| internal("list entitlements", e))?;
    let mut features = crate::store::catalog::entitlement_features(state.store.pool(), customer_id)
        .await
        .map_err(|e| internal("entitlement features", e))?;
    let mut out = Vec::with_capacity(views.len());
    for v in views {
        let mut metered = Vec::new();
        let granted: Vec<_> = features.remove(&v.id).unwrap_or_default().into_values().filter(|f| f.metered).collect();
        let period_of =
            |f: &crate::store::catalog::GrantedFeature| f.quota_period.as_deref().and_then(Period::parse).unwrap_or(Period::Month);
        // From the start of the period that holds the window's first day, so that running
        // totals are right; one read for every feature of the entitlement.
        let earliest = granted.iter().map(|f| period_of(f).start(from)).min().unwrap_or(from).min(from);
        let rows = if granted.is_empty() {
            vec![]
        } else {
            state.store.usage_by_day(v.id, earliest).await.map_err(|e| internal("usage by day", e))?
        };
        for f in granted {
            let period = period_of(&f);
            let first = period.start(from).min(from);
            let used: HashMap<i64, i64> = rows
                .iter()
                .filter(|(feature, day, _)| *feature == f.feature_id && *day >= first)
                .map(|(_, day, qty)| (*day, *qty))
                .collect();
            let series = period_series(&used, period, first, from, today);
            let period_total = series.last().map(|d| d.period_to_date).unwrap_or(0);
            let unit = f.unit.clone().unwrap_or_else(|| "units".to_owned());
            let period_name = match period {
                Period::Day => "day",
                Period::Month => "month",
                Period::Year => "year",
            };
            let limit_label = f.quota.map(|q| format!("Quota {} a {period_name}", thousands(q)));
            let bars: Vec<DayValue> = series.iter().map(|d| DayValue { day: secs(d.day), value: d.used }).collect();
            let line: Vec<DayValue> = if period == Period::Day {
                vec![]
            } else {
                series.iter().map(|d| DayValue { day: secs(d.day), value: d.period_to_date }).collect()
            };
            let title = format!("{}: daily use and use this {period_name} over the last {days} days", f.name);
            let chart =
                render_chart(&Chart { title: &title, unit: &unit, bars: &bars, line: &line, limit: f.quota.zip(limit_label.as_deref()) });
            metered.push(FeatureUsage {
                key: f.key,
                name: f.name,
                unit: f.unit,
                quota: f.quota,
                period: period_name.to_owned(),
                period_start: day_of(period.start(now)),
                period_total,
                remaining: f.quota.map(|q| (q - period_total).max(0)),
                days: series,
                chart,
            });
        }
        let history = state.store.capacity_by_day(v.id, from).await.map_err(|e| internal("capacity by day", e))?;
        let capacity = capacity_series(&history, from, today, (v.seats_used, live_instances(state, customer_id, v.id, now).await));
        let seats: Vec<DayValue> = capacity.iter().map(|d| DayValue { day: secs(d.day), value: d.seats }).collect();
        let instances: Vec<DayValue> = capacity.iter().map(|d| DayValue { day: secs(d.day), value: d.instances }).collect();
        let seats_label = format!("{} seats", thousands(v.seats_cap));
        let instances_label = format!("{} instances", thousands(v.instances_cap));
        let seats_title = format!("{}: seats used over the last {days} days", v.product);
        let instances_title = format!("{}: active instances over the last {days} days", v.product);
        out.push(EntitlementUsage {
            entitlement_id: v.id,
            product: v.product,
            plan: v.plan,
            features: metered,
            seats_chart: render_chart(&Chart {
                title: &seats_title,
                unit: "seats",
                bars: &[],
                line: &seats,
                limit: Some((v.seats_cap, &seats_label)),
            }),
            instances_chart: render_chart(&Chart {
                title: &instances_title,
                unit: "instances",
                bars: &[],
                line: &instances,
                limit: Some((v.instances_cap, &instances_label)),
            }),
            capacity,
            seats_cap: v.seats_cap,
            instances_cap: v.instances_cap,
        });
    }
    Ok(UsageReport { days, from: day_of(from), to: day_of(today), entitlements: out })
}

/// Live instances of entitlement `entitlement_id` now, from the enforcement snapshot.
async fn live_instances(state: &AppState, customer_id: i64, entitlement_id: i64, now: i64) -> i64 {
    let Ok(snapshot) = state.enforcer.customer(&customer_id.to_string()).await else { return 0 };
    snapshot
        .entitlements
        .values()
        .find(|s| s.entitlement_id == entitlement_id)
        .map(|s| crate::engine::live_instances(s, now, state.enforcer.instance_ttl()))
        .unwrap_or(0)
}

fn secs(day: NaiveDate) -> i64 {
    crate::engine::dates::start_of_day(day)
}

/// Each day from `from` to `today` with its use and the running total of its quota
/// period; `used` maps day starts to units and may hold days from `first` on.
pub fn period_series(used: &HashMap<i64, i64>, period: Period, first: i64, from: i64, today: i64) -> Vec<DayUsage> {
    let mut out = Vec::new();
    let mut running = 0;
    let mut period_start = period.start(first);
    let mut day = first;
    while day <= today {
        let start = period.start(day);
        if start != period_start {
            period_start = start;
            running = 0;
        }
        let u = used.get(&day).copied().unwrap_or(0);
        running += u;
        if day >= from {
            out.push(DayUsage { day: day_of(day), used: u, period_to_date: running });
        }
        day += DAY;
    }
    out
}

/// Seats and instances for each day from `from` to `today`: the day's peak where it
/// changed, else the value the last change left; today also counts what is held now.
pub fn capacity_series(history: &[crate::store::usage::history::CapacityDay], from: i64, today: i64, now: (i64, i64)) -> Vec<DayCapacity> {
    let mut out = Vec::new();
    let mut carried = (0, 0);
    let mut rows = history.iter().peekable();
    let mut day = from;
    while day <= today {
        // Rows before the window only set what carries into it.
        while let Some(r) = rows.peek() {
            if r.day < day {
                carried = (r.seats_end, r.instances_end);
                rows.next();
            } else {
                break;
            }
        }
        let (mut seats, mut instances) = match rows.peek() {
            Some(r) if r.day == day => {
                carried = (r.seats_end, r.instances_end);
                let peak = (r.seats_peak, r.instances_peak);
                rows.next();
                peak
            }
            _ => carried,
        };
        if day == today {
            seats = seats.max(now.0);
            instances = instances.max(now.1);
        }
        out.push(DayCapacity { day: day_of(day), seats, instances });
        day += DAY;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::usage::history::CapacityDay;

    fn day(y: i32, m: u32, d: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, m, d).map(secs).unwrap_or(0)
    }

    #[test]
    fn the_running_total_starts_again_with_each_month() {
        let used = HashMap::from([(day(2026, 10, 30), 100), (day(2026, 10, 31), 50), (day(2026, 11, 1), 7), (day(2026, 11, 2), 3)]);
        let first = Period::Month.start(day(2026, 10, 31));
        let s = period_series(&used, Period::Month, first, day(2026, 10, 31), day(2026, 11, 2));
        let totals: Vec<i64> = s.iter().map(|d| d.period_to_date).collect();
        assert_eq!(totals, [150, 7, 10]);
        assert_eq!(s.iter().map(|d| d.used).collect::<Vec<_>>(), [50, 7, 3]);
    }

    #[test]
    fn seats_carry_over_days_without_a_change_and_today_counts_what_is_held() {
        let row = |d, peak, end| CapacityDay { day: d, seats_peak: peak, seats_end: end, instances_peak: 0, instances_end: 0 };
        let history = [row(day(2026, 11, 1), 4, 3), row(day(2026, 11, 3), 5, 5)];
        let s = capacity_series(&history, day(2026, 11, 2), day(2026, 11, 4), (6, 1));
        assert_eq!(s.iter().map(|d| d.seats).collect::<Vec<_>>(), [3, 5, 6]);
        assert_eq!(s.last().map(|d| d.instances), Some(1));
    }
}

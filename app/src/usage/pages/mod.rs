//! The usage page: metered features per day against their quota, seats used and active
//! instances, each as a chart with the same numbers as a table, and the window's usage as
//! CSV.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::format::{date, thousands};
use crate::components::layout::{ErrorNotice, Portal};
use crate::exports::Downloads;
use crate::usage::api::get_usage;
use crate::usage::{EntitlementUsage, FeatureUsage, WINDOWS};

/// `/usage?days=30|90`: the organisation's usage over the last 30 (default) or 90 days.
#[component]
pub fn UsagePage() -> impl IntoView {
    let query = use_query_map();
    let days =
        Memo::new(move |_| query.read().get("days").and_then(|d| d.parse::<i64>().ok()).filter(|d| WINDOWS.contains(d)).unwrap_or(30));
    let report = Resource::new(move || days.get(), |days| get_usage(None, days));
    view! {
        <Title text="Usage"/>
        <Portal>
            <div class="page-head">
                <h1>"Usage"</h1>
                <nav class="toggle" aria-label="Period shown">
                    {WINDOWS.map(|w| {
                        let current = move || (days.get() == w).then_some("page");
                        view! { <a href=format!("/usage?days={w}") aria-current=current>{format!("{w} days")}</a> }
                    })}
                </nav>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading usage…"</p> }>
                {move || Suspend::new(async move {
                    match report.await {
                        Ok(r) if r.entitlements.is_empty() => view! { <p class="notice">"No entitlements yet."</p> }.into_any(),
                        Ok(r) => {
                            let window = Some((r.from, r.to));
                            view! {
                                <Downloads customer=None days=window/>
                                {r.entitlements.into_iter().map(|e| view! { <EntitlementSection e/> }).collect_view()}
                            }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </Portal>
    }
}

/// One entitlement's metered features, then its seats and instances over the window.
#[component]
fn EntitlementSection(e: EntitlementUsage) -> impl IntoView {
    let seats_rows: Vec<(String, String)> = e.capacity.iter().map(|d| (date(d.day), thousands(d.seats))).collect();
    let instance_rows: Vec<(String, String)> = e.capacity.iter().map(|d| (date(d.day), thousands(d.instances))).collect();
    let seats_now = e.capacity.last().map(|d| d.seats).unwrap_or(0);
    let instances_now = e.capacity.last().map(|d| d.instances).unwrap_or(0);
    view! {
        <section class="usage-entitlement" aria-label=format!("{} usage", e.product)>
            <h2>{e.product.clone()} " — " {e.plan.clone()} " plan"</h2>
            {e.features.into_iter().map(|f| view! { <MeteredFeature f/> }).collect_view()}
            <div class="chart-pair">
                <ChartBlock
                    title="Seats used".to_owned()
                    figure=format!("{} of {} seats in use today", seats_now, e.seats_cap)
                    svg=e.seats_chart
                    caption="Seats held at each day's busiest moment (line) against the plan's seats (dashed)."
                    columns=("Day", "Seats used")
                    rows=seats_rows
                />
                <ChartBlock
                    title="Active instances".to_owned()
                    figure=format!("{} of {} instances active today", instances_now, e.instances_cap)
                    svg=e.instances_chart
                    caption="Instances live at each day's busiest moment (line) against the plan's cap (dashed)."
                    columns=("Day", "Active instances")
                    rows=instance_rows
                />
            </div>
        </section>
    }
}

/// One metered feature: used and remaining this period, the chart, and the same numbers
/// per day as a table.
#[component]
fn MeteredFeature(f: FeatureUsage) -> impl IntoView {
    let unit = f.unit.clone().unwrap_or_else(|| "units".to_owned());
    let used = match f.quota {
        Some(q) => format!("Used this {}: {} of {} {unit}", f.period, thousands(f.period_total), thousands(q)),
        None => format!("Used this {}: {} {unit}", f.period, thousands(f.period_total)),
    };
    let remaining = match f.remaining {
        Some(r) => format!("Remaining: {}", thousands(r)),
        None => "Remaining: unlimited".to_owned(),
    };
    let over = f.remaining == Some(0);
    let period_column = format!("Used this {}", f.period);
    let rows: Vec<(String, String, String)> =
        f.days.iter().map(|d| (date(d.day), thousands(d.used), thousands(d.period_to_date))).collect();
    let caption = format!("{} per day", f.name);
    view! {
        <article class="metered card" aria-label=f.name.clone()>
            <h3>{f.name.clone()}</h3>
            <p class="figures">
                <span class="used">{used}</span>
                <span class="remaining" class:over=over>{remaining}</span>
                <span class="muted">{format!("This {} started {}.", f.period, date(f.period_start))}</span>
            </p>
            <figure class="chart">
                <div inner_html=f.chart></div>
                <figcaption>{format!("Daily {unit} (bars) and the {}'s running total (line) against the quota (dashed).", f.period)}</figcaption>
            </figure>
            <details class="numbers">
                <summary>"Show the numbers"</summary>
                <table class="table compact">
                    <caption>{caption}</caption>
                    <thead><tr><th scope="col">"Day"</th><th scope="col">"Used"</th><th scope="col">{period_column}</th></tr></thead>
                    <tbody>
                        {rows.into_iter().map(|(d, u, p)| view! { <tr><td>{d}</td><td>{u}</td><td>{p}</td></tr> }).collect_view()}
                    </tbody>
                </table>
            </details>
        </article>
    }
}

/// A capacity chart (seats or instances): today's figure, the chart with `caption` under
/// it, and the same numbers per day as a table.
#[component]
fn ChartBlock(
    title: String,
    figure: String,
    svg: String,
    caption: &'static str,
    columns: (&'static str, &'static str),
    rows: Vec<(String, String)>,
) -> impl IntoView {
    let table_caption = format!("{title} per day");
    let heading = title.clone();
    view! {
        <article class="metered card" aria-label=title>
            <h3>{heading}</h3>
            <p class="figures"><span class="used">{figure}</span></p>
            <figure class="chart">
                <div inner_html=svg></div>
                <figcaption>{caption}</figcaption>
            </figure>
            <details class="numbers">
                <summary>"Show the numbers"</summary>
                <table class="table compact">
                    <caption>{table_caption}</caption>
                    <thead><tr><th scope="col">{columns.0}</th><th scope="col">{columns.1}</th></tr></thead>
                    <tbody>
                        {rows.into_iter().map(|(d, v)| view! { <tr><td>{d}</td><td>{v}</td></tr> }).collect_view()}
                    </tbody>
                </table>
            </details>
        </article>
    }
}

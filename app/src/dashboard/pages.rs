//! `/dashboard`: the vendor console's landing page.

use leptos::prelude::*;
use leptos_meta::Title;

use super::api::get_dashboard;
use super::Dashboard;
use crate::components::format::{date_time, thousands};
use crate::components::layout::{ErrorNotice, Portal};
use crate::customers::CustomerFilter;

/// What needs the staff now, each figure a link to the list it counts; the latest changes;
/// the book's charts.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let dashboard = Resource::new(|| (), |_| get_dashboard());
    view! {
        <Title text="Dashboard"/>
        <Portal>
            <h1>"Dashboard"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading the dashboard…"</p> }>
                {move || Suspend::new(async move {
                    match dashboard.await {
                        Ok(d) => view! { <Overview d/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Suspense>
        </Portal>
    }
}

/// A figure with what it counts, linking to the list of them.
#[component]
fn Tile(count: i64, label: &'static str, href: String, #[prop(optional)] warn: bool) -> impl IntoView {
    let warn = warn && count > 0;
    view! {
        <a class="tile card" class:warn=warn href=href>
            <span class="count">{thousands(count)}</span>
            <span class="label">{label}</span>
        </a>
    }
}

#[component]
fn Overview(d: Dashboard) -> impl IntoView {
    let customers = |f: CustomerFilter| format!("/customers?show={}", f.as_str());
    view! {
        <section aria-labelledby="needs-you">
            <h2 id="needs-you">"Needs attention"</h2>
            <div class="tiles">
                <Tile count=d.pending label="Requests waiting for approval" href="/approvals".to_owned()/>
                <Tile count=d.overdue label="Waiting more than two days" href="/approvals?overdue=true".to_owned() warn=true/>
                <Tile count=d.trials_ending label="Trials ending within 14 days" href=customers(CustomerFilter::TrialEnding)/>
                <Tile count=d.terms_ending label="Terms ending within 30 days" href=customers(CustomerFilter::TermEnding) warn=true/>
                <Tile count=d.renewing label="Renewals within 30 days" href=customers(CustomerFilter::Renewing)/>
                <Tile count=d.near_limit label="Customers at 80 % of a quota or at the seat cap" href=customers(CustomerFilter::NearLimit) warn=true/>
            </div>
        </section>
        <section aria-labelledby="book">
            <h2 id="book">"Entitlements and usage"</h2>
            {match d.activity {
                Some(a) => view! {
                    <div class="chart-pair wide">
                        <figure class="chart">
                            <div inner_html=a.entitlements_chart></div>
                            <figcaption>{format!("Live entitlements each day over 90 days: {} today.", thousands(a.live_today))}</figcaption>
                        </figure>
                        <figure class="chart">
                            <div inner_html=a.usage_chart></div>
                            <figcaption>{format!("Units of usage metered each day, every feature together: {} today.", thousands(a.units_today))}</figcaption>
                        </figure>
                    </div>
                    <p class="muted">{format!("Drawn {}; drawn again every ten minutes.", date_time(a.as_of))}</p>
                }.into_any(),
                None => view! { <p class="notice">"The charts could not be drawn just now; they are tried again on the next visit."</p> }.into_any(),
            }}
        </section>
        <section aria-labelledby="latest">
            <h2 id="latest">"Latest changes"</h2>
            <table class="table audit">
                <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Customer"</th><th scope="col">"What"</th></tr></thead>
                <tbody>
                    {d.latest.into_iter().map(|e| view! {
                        <tr>
                            <td>{date_time(e.at)}</td>
                            <td>{e.actor}</td>
                            <td>{e.customer.unwrap_or_default()}</td>
                            <td><code>{e.kind}</code>" "<span class="muted">{e.subject}</span></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <p><a href="/audit">"The whole audit log"</a></p>
        </section>
    }
}

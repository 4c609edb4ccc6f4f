use leptos::prelude::*;

use crate::auth::Role;
use crate::components::format::{date, days_left, thousands};
use crate::components::layout::Auth;
use crate::entitlements::{EntitlementStatus, EntitlementView};

/// Present in the context while vendor staff view a customer's portal read-only.
#[derive(Debug, Clone, Copy)]
pub struct ViewingAs;

/// One entitlement: product, plan, status, seats, instances, dates and features.
#[component]
pub fn EntitlementCard(e: EntitlementView) -> impl IntoView {
    let status_class = format!("badge status-{}", e.status.as_str());
    let status_note = status_note(&e);
    let next = next_date_line(&e);
    let seats_full = e.seats_used >= e.seats_cap;
    let features = e
        .features
        .iter()
        .map(|f| {
            let quota = f.quota.map(|q| format!(": {} a {}", thousands(q), f.quota_period.as_deref().unwrap_or("period")));
            view! { <li data-feature=f.key.clone()>{f.name.clone()} {quota}</li> }
        })
        .collect_view();
    let label = format!("{} entitlement", e.product);
    let auth = expect_context::<Auth>();
    // Staff looking at a customer's portal as the customer sees it get no controls.
    let viewing_as = use_context::<ViewingAs>().is_some();
    let role = move || {
        if viewing_as {
            None
        } else {
            auth.user.get().and_then(Result::ok).flatten().map(|u| u.role)
        }
    };
    let id = e.id;
    let addons = (!e.addons.is_empty()).then(|| format!("Add-ons: {}", e.addons.join(", ")));
    view! {
        <article class="card entitlement" aria-label=label>
            <header class="card-head">
                <h2>{e.product.clone()}</h2>
                <span class="plan">{e.plan.clone()} " plan"</span>
                <span class=status_class>{e.status.label()}</span>
            </header>
            {status_note.map(|n| view! { <p class="status-note">{n}</p> })}
            <dl class="facts">
                <div>
                    <dt>"Seats"</dt>
                    <dd class:full=seats_full>{format!("{} of {} used", e.seats_used, e.seats_cap)}</dd>
                </div>
                <div>
                    <dt>"Instances"</dt>
                    <dd>{format!("up to {}", thousands(e.instances_cap))}</dd>
                </div>
                {next.map(|(label, d, left)| view! {
                    <div>
                        <dt>{label}</dt>
                        <dd>
                            <time datetime=d.format("%Y-%m-%d").to_string()>{date(d)}</time>
                            {left.map(|l| view! { <span class="days-left">{format!(" ({})", days_left(l))}</span> })}
                        </dd>
                    </div>
                })}
                <div>
                    <dt>"Started"</dt>
                    <dd><time datetime=e.starts_on.format("%Y-%m-%d").to_string()>{date(e.starts_on)}</time></dd>
                </div>
            </dl>
            {(e.held_back() > 0).then(|| {
                let n = e.held_back();
                view! {
                    <p class="notice warn held-back">
                        {format!(
                            "{} assigned beyond the {} the plan allows: the seats assigned last are held back until seats are freed.",
                            if n == 1 { "1 seat is".to_owned() } else { format!("{n} seats are") },
                            e.seats_cap
                        )}
                    </p>
                }
            })}
            {addons.map(|a| view! { <p class="addons">{a}</p> })}
            <h3>"Features"</h3>
            <ul class="features">{features}</ul>
            <Show when=move || matches!(role(), Some(Role::CustomerAdmin | Role::VendorAdmin | Role::VendorStaff))>
                <p class="card-links">
                    <a href=format!("/entitlements/{id}/seats")>"Manage seats"</a>
                    <Show when=move || role() == Some(Role::CustomerAdmin)>
                        <a href=format!("/requests/new?entitlement={id}")>"Request a change"</a>
                    </Show>
                </p>
            </Show>
        </article>
    }
}

/// The plain-words line under the title for states that need one.
fn status_note(e: &EntitlementView) -> Option<String> {
    match e.status {
        EntitlementStatus::Trial => Some(match e.trial_ends_on {
            Some(d) => format!("Trial ends on {}.", date(d)),
            None => "Trial.".to_owned(),
        }),
        EntitlementStatus::Suspended => Some(match &e.status_reason {
            Some(r) => format!("Suspended: {r}. Features are unavailable until it is resumed."),
            None => "Suspended. Features are unavailable until it is resumed.".to_owned(),
        }),
        EntitlementStatus::Expired => Some(match e.ends_on {
            Some(d) => format!("Expired on {}.", date(d)),
            None => "Expired.".to_owned(),
        }),
        EntitlementStatus::Cancelled => Some("Cancelled.".to_owned()),
        EntitlementStatus::Active => None,
    }
}

/// ("Renews" | "Trial ends" | "Ends", date, days left) for the date that matters next.
fn next_date_line(e: &EntitlementView) -> Option<(&'static str, chrono::NaiveDate, Option<i64>)> {
    let d = e.next_date()?;
    let label = match e.status {
        EntitlementStatus::Trial => "Trial ends",
        _ if e.renews_on.is_some() && e.auto_renew => "Renews",
        _ if e.renews_on.is_some() => "Renewal date",
        _ => "Ends",
    };
    Some((label, d, e.days_left))
}

//! The renewals page.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::format::{date, days_left};
use crate::components::layout::{ErrorNotice, Portal};
use crate::entitlements::api::list_entitlements;
use crate::entitlements::{EntitlementStatus, EntitlementView};

/// `/renewals`: when each entitlement renews or ends, what happens then, and the way to
/// ask for a renewal or a plan change at renewal.
#[component]
pub fn RenewalsPage() -> impl IntoView {
    let entitlements = Resource::new(|| (), |_| list_entitlements(None));
    view! {
        <Title text="Renewals"/>
        <Portal>
            <h1>"Renewals"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading renewals…"</p> }>
                {move || Suspend::new(async move {
                    match entitlements.await {
                        Ok(list) if list.is_empty() => view! { <p class="notice">"No entitlements yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="cards">{list.into_iter().map(|e| view! { <RenewalCard e/> }).collect_view()}</div>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Suspense>
        </Portal>
    }
}

/// One entitlement's next date, whether it renews by itself, its grace period, what
/// happens at the end in plain words, and the links to ask for a renewal or a plan change.
#[component]
fn RenewalCard(e: EntitlementView) -> impl IntoView {
    let (label, when) = match (e.status, e.next_date()) {
        (EntitlementStatus::Trial, Some(d)) => ("Trial ends on", Some(d)),
        (_, Some(d)) if e.renews_on.is_some() => ("Renews on", Some(d)),
        (_, Some(d)) => ("Ends on", Some(d)),
        (_, None) => ("Runs", None),
    };
    let when_text = match when {
        Some(d) => format!("{} ({})", date(d), e.days_left.map(days_left).unwrap_or_default()),
        None => "with no end date".to_owned(),
    };
    let at_end = match (e.status, when) {
        (EntitlementStatus::Cancelled, _) => "It was cancelled and will not renew.".to_owned(),
        (_, None) => "Nothing ends: it runs until changed.".to_owned(),
        (EntitlementStatus::Trial, Some(d)) => format!(
            "The trial ends on {}. Without a renewal it stays usable for {} days with a warning, then stops.",
            date(d),
            e.grace_days
        ),
        (_, Some(_)) if e.auto_renew && e.renews_on.is_some() => "It renews by itself.".to_owned(),
        (_, Some(d)) => format!("After {} it stays usable for {} days with a warning, then stops.", date(d), e.grace_days),
    };
    let id = e.id;
    view! {
        <article class="card renewal" aria-label=format!("{} renewal", e.product)>
            <header class="card-head">
                <h2>{e.product.clone()}</h2>
                <span class="plan">{e.plan.clone()} " plan"</span>
                <span class=format!("badge status-{}", e.status.as_str())>{e.status.label()}</span>
            </header>
            <dl class="facts">
                <div><dt>{label}</dt><dd>{when_text}</dd></div>
                <div><dt>"Renews automatically"</dt><dd>{if e.auto_renew { "Yes" } else { "No" }}</dd></div>
                <div><dt>"Grace period"</dt><dd>{format!("{} days", e.grace_days)}</dd></div>
            </dl>
            <p class="at-end">{at_end}</p>
            <p class="card-links">
                <a class="button secondary" href=format!("/requests/new?entitlement={id}&kind=renewal")>"Ask to renew"</a>
                <a class="button secondary" href=format!("/requests/new?entitlement={id}&kind=plan&at_renewal=on")>"Change plan at renewal"</a>
            </p>
        </article>
    }
}

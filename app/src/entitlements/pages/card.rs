use leptos::prelude::*;

use crate::auth::Role;
use crate::components::browser::{copy_text, select_contents};
use crate::components::format::{date, day_of_secs, days_left, thousands};
use crate::components::layout::ErrorNotice;
use crate::entitlements::api::{GetLicenseKey, RegenerateLicenseKey};
use crate::entitlements::{EntitlementStatus, EntitlementView, LicenseKeyView};
use crate::error::AppError;

/// Present in the context while vendor staff view a customer's portal read-only.
#[derive(Debug, Clone, Copy)]
pub struct ViewingAs;

/// One entitlement: product, plan, status, seats, instances, dates and features, with
/// the controls `role` (the signed-in user's) may use.
#[component]
pub fn EntitlementCard(e: EntitlementView, role: Option<Role>) -> impl IntoView {
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
    // Staff looking at a customer's portal as the customer sees it get no controls.
    let role = role.filter(|_| use_context::<ViewingAs>().is_none());
    // Customer admins and vendor staff manage seats and see the license key; members do not.
    let manages = matches!(role, Some(Role::CustomerAdmin | Role::VendorAdmin | Role::VendorStaff));
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
            {manages.then(|| view! {
                <LicenseKeyBlock entitlement=id/>
                <p class="card-links">
                    <a href=format!("/entitlements/{id}/seats")>"Manage seats"</a>
                    {(role == Some(Role::CustomerAdmin)).then(|| view! {
                        <a href=format!("/requests/new?entitlement={id}")>"Request a change"</a>
                    })}
                </p>
            })}
        </article>
    }
}

/// The entitlement's license key, read when the card is shown in the browser: the credential its
/// organisation's admin types into the vendor's software. Copied from here, and replaced
/// (the old one stops working at once) after a second, explicit click. An island: it runs
/// in the browser.
#[island]
fn LicenseKeyBlock(entitlement: i64) -> impl IntoView {
    let regenerate = ServerAction::<RegenerateLicenseKey>::new();
    // Read when asked for, as secrets are: the key is in no page's HTML (nor any cache of
    // it), and staff's readings are audited one by one.
    let reveal = ServerAction::<GetLicenseKey>::new();
    // The confirmation shows from the click on Regenerate until the regeneration is done.
    let asked = RwSignal::new(None::<usize>);
    let confirming = move || asked.get().is_some_and(|v| v == regenerate.version().get());
    let failed = move || regenerate.value().get().and_then(Result::err);
    let heading = format!("license-key-{entitlement}");
    let labelled_by = heading.clone();
    view! {
        <section class="license-key" aria-labelledby=labelled_by>
            <h3 id=heading>"License key"</h3>
            {move || {
                // A regenerated key is shown as the answer brings it.
                let current = regenerate.value().get().and_then(Result::ok).map(Ok).or_else(|| reveal.value().get());
                match current {
                    None if reveal.pending().get() => view! { <p class="loading small">"Reading the license key…"</p> }.into_any(),
                    None => view! {
                        <button
                            type="button"
                            class="button secondary small"
                            on:click=move |_| {
                                reveal.dispatch(GetLicenseKey { entitlement });
                            }
                        >
                            "Show the license key"
                        </button>
                    }
                    .into_any(),
                    Some(Ok(k)) => view! { <KeyShown k/> }.into_any(),
                    Some(Err(AppError::NotFound(_))) => {
                        view! { <p class="muted small">"No license key yet: Regenerate makes one."</p> }.into_any()
                    }
                    Some(Err(error)) => view! { <ErrorNotice error/> }.into_any(),
                }
            }}
            <div class="key-actions">
                <Show
                    when=confirming
                    fallback=move || view! {
                        <button
                            type="button"
                            class="button secondary small"
                            on:click=move |_| asked.set(Some(regenerate.version().get_untracked()))
                        >
                            "Regenerate"
                        </button>
                    }
                >
                    <ActionForm action=regenerate attr:class="inline">
                        <input type="hidden" name="entitlement" value=entitlement/>
                        <button type="submit" class="button danger small" disabled=move || regenerate.pending().get()>
                            "Yes, regenerate: the old key stops working"
                        </button>
                    </ActionForm>
                    <button type="button" class="button secondary small" on:click=move |_| asked.set(None)>"Cancel"</button>
                </Show>
            </div>
            {move || failed().map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
        </section>
    }
}

/// A license key with its Copy button, id and date. Without a clipboard (or before the
/// page is interactive) a click on the key selects it whole.
#[component]
fn KeyShown(k: LicenseKeyView) -> impl IntoView {
    let code = NodeRef::<leptos::html::Code>::new();
    let note = RwSignal::new(None::<&'static str>);
    let text = k.key.clone();
    let copy = move |_| {
        copy_text(&text, move |copied| {
            if !copied {
                if let Some(element) = code.get_untracked() {
                    select_contents(&element);
                }
            }
            note.set(Some(if copied { "Copied." } else { "Selected: press Ctrl+C to copy it." }));
        })
    };
    view! {
        <div class="key-line">
            <code class="secret" data-testid="license-key" node_ref=code>{k.key.clone()}</code>
            <button type="button" class="button secondary small" aria-label="Copy the license key" on:click=copy>"Copy"</button>
            <span class="copy-note small" aria-live="polite">{move || note.get()}</span>
        </div>
        <p class="key-meta small muted">
            "Key id " <code>{k.key_id.clone()}</code> {format!(", created {}", date(day_of_secs(k.created_at)))}
        </p>
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

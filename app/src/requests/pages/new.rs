use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::format::thousands;
use crate::components::layout::{ErrorNotice, Portal};
use crate::components::outcome::form_action;
use crate::entitlements::api::list_entitlements;
use crate::error::AppError;
use crate::requests::api::{get_change_options, preview_change, FileRequest};
use crate::requests::{ChangeOptions, ChangePreview, RequestKind};

/// What the query string asks for.
#[derive(Debug, Clone, PartialEq, Default)]
struct Ask {
    entitlement: Option<i64>,
    kind: Option<String>,
    plan: Option<String>,
    seats: Option<i64>,
    addon: Option<String>,
    at_renewal: bool,
}

/// `/requests/new`: choose a change (a plain GET form, so it works before the page is
/// interactive), see what it would unlock or take away, then send it with a reason.
#[component]
pub fn NewRequestPage() -> impl IntoView {
    let query = use_query_map();
    let ask = Memo::new(move |_| {
        let q = query.read();
        let text = |k: &str| q.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        Ask {
            entitlement: text("entitlement").and_then(|v| v.parse().ok()),
            kind: text("kind"),
            plan: text("plan"),
            seats: text("seats").and_then(|v| v.parse().ok()),
            addon: text("addon"),
            at_renewal: text("at_renewal").is_some(),
        }
    });
    // The entitlement asked about (or the organisation's first), its options, and the
    // preview of the change asked for: one load, so that the page hydrates as it was
    // rendered whichever answer came first.
    let loaded = Resource::new(
        move || ask.get(),
        |ask| async move {
            let id = match ask.entitlement {
                Some(id) => id,
                None => list_entitlements(None).await?.first().map(|e| e.id).ok_or_else(|| AppError::NotFound("Entitlement".into()))?,
            };
            let options = get_change_options(id).await?;
            let preview = match ask.kind.clone() {
                Some(kind) => Some(preview_change(id, kind, ask.plan.clone(), ask.seats, ask.addon.clone()).await),
                None => None,
            };
            Ok::<_, AppError>((options, preview))
        },
    );
    view! {
        <Title text="Request a change"/>
        <Portal>
            <p><a href="/requests">"← Requests"</a></p>
            <h1>"Request a change"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match loaded.await {
                        Ok((options, preview)) => view! { <ChangeForm options preview ask=ask.get()/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Suspense>
        </Portal>
    }
}

#[component]
fn ChangeForm(options: ChangeOptions, preview: Option<Result<ChangePreview, AppError>>, ask: Ask) -> impl IntoView {
    let kind = ask.kind.as_deref().and_then(RequestKind::parse).unwrap_or(RequestKind::Plan);
    let id = options.entitlement_id;
    let plan_options = options
        .plans
        .iter()
        .map(|p| {
            let label = if p.current { format!("{} (current)", p.name) } else { p.name.clone() };
            let selected = ask.plan.as_deref() == Some(p.key.as_str());
            view! { <option value=p.key.clone() selected=selected>{label}</option> }
        })
        .collect_view();
    let addon_options = options
        .addons
        .iter()
        .map(|a| {
            let label = if a.current { format!("{} (you have it)", a.name) } else { a.name.clone() };
            let selected = ask.addon.as_deref() == Some(a.key.as_str());
            view! { <option value=a.key.clone() selected=selected>{label}</option> }
        })
        .collect_view();
    let kinds = RequestKind::ALL
        .into_iter()
        .map(|k| {
            view! {
                <label class="check">
                    <input type="radio" name="kind" value=k.as_str() checked=k == kind/>
                    " " {k.label()}
                </label>
            }
        })
        .collect_view();
    view! {
        <p class="muted">{format!("{} — {} plan now.", options.product, options.plan)}</p>
        <form method="get" action="/requests/new" class="card form change-form">
            <input type="hidden" name="entitlement" value=id/>
            <fieldset>
                <legend>"What do you need?"</legend>
                {kinds}
            </fieldset>
            <div class="field">
                <label for="plan">"Plan"</label>
                <select id="plan" name="plan">{plan_options}</select>
            </div>
            <div class="field">
                <label for="seats">"Extra seats"</label>
                <input id="seats" name="seats" type="number" min="1" max="10000" value=ask.seats.map(|s| s.to_string()).unwrap_or_default()/>
            </div>
            <div class="field">
                <label for="addon">"Add-on"</label>
                <select id="addon" name="addon">{addon_options}</select>
            </div>
            <label class="check"><input type="checkbox" name="at_renewal" checked=ask.at_renewal/>" At the next renewal"</label>
            <button type="submit" class="button secondary">"Preview the change"</button>
        </form>
        {preview.map(|preview| match preview {
            Ok(p) => view! { <Preview p at_renewal=ask.at_renewal/> }.into_any(),
            Err(e) => {
                let message = match &e {
                    AppError::Invalid { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                view! { <p class="notice error" role="alert">{message}</p> }.into_any()
            }
        })}
    }
}

#[component]
fn Preview(p: ChangePreview, at_renewal: bool) -> impl IntoView {
    let file = form_action::<FileRequest>();
    let error = move || file.value().get().and_then(Result::err);
    let reason_error = move || error().and_then(|e| e.for_field("reason"));
    let form_error = move || error().filter(|e| e.for_field("reason").is_none()).map(|e| e.to_string());
    let gained = if p.gained.is_empty() {
        view! { <p class="muted">"Nothing new."</p> }.into_any()
    } else {
        view! { <ul class="gained">{p.gained.iter().map(|f| view! { <li>{f.name.clone()}</li> }).collect_view()}</ul> }.into_any()
    };
    let lost = (!p.lost.is_empty()).then(|| {
        view! {
            <section class="notice warn">
                <h3>"What you lose"</h3>
                <ul>{p.lost.iter().map(|f| view! { <li>{f.name.clone()}</li> }).collect_view()}</ul>
            </section>
        }
    });
    let limit = |v: Option<i64>| v.map(thousands).unwrap_or_else(|| "Unlimited".to_owned());
    let limits = (!p.limits.is_empty()).then(|| {
        view! {
            <table class="table limits">
                <caption>"Limits"</caption>
                <thead><tr><th scope="col">"What"</th><th scope="col">"Now"</th><th scope="col">"After"</th></tr></thead>
                <tbody>
                    {p.limits.iter().map(|l| view! { <tr><td>{l.what.clone()}</td><td>{limit(l.from)}</td><td>{limit(l.to)}</td></tr> }).collect_view()}
                </tbody>
            </table>
        }
    });
    view! {
        <section class="card preview" aria-labelledby="preview-title">
            <h2 id="preview-title">{p.summary.clone()}{at_renewal.then_some(", at the next renewal")}</h2>
            <h3>"What you gain"</h3>
            {gained}
            {lost}
            {limits}
            {(p.held_back > 0).then(|| view! {
                <p class="notice warn held-back">{held_back_line(p.held_back)}</p>
            })}
            <ActionForm action=file attr:class="form" attr:novalidate=true>
                <input type="hidden" name="entitlement" value=p.entitlement_id/>
                <input type="hidden" name="kind" value=p.kind.as_str()/>
                {p.plan.clone().map(|v| view! { <input type="hidden" name="plan" value=v/> })}
                {p.seats.map(|v| view! { <input type="hidden" name="seats" value=v/> })}
                {p.addon.clone().map(|v| view! { <input type="hidden" name="addon" value=v/> })}
                {at_renewal.then(|| view! { <input type="hidden" name="at_renewal" value="on"/> })}
                <div class="field">
                    <label for="reason">"Why do you need this?"</label>
                    <textarea id="reason" name="reason" rows="3" maxlength="2000"
                        aria-invalid=move || reason_error().is_some().to_string()></textarea>
                    <p class="field-error">{reason_error}</p>
                </div>
                <p class="form-error" role="alert">{form_error}</p>
                <button type="submit" class="button primary" disabled=move || file.pending().get()>"Send request"</button>
            </ActionForm>
        </section>
    }
}

/// What a change that leaves fewer seats than are assigned does, in words.
fn held_back_line(n: i64) -> String {
    let seats = if n == 1 { "1 seat".to_owned() } else { format!("{n} seats") };
    format!(
        "More people hold a seat than the new plan allows: {seats} would be held back. Nobody loses a seat silently: \
         the seats assigned last are held back until you free as many on the seats page."
    )
}

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::approvals::api::{get_request_detail, DecideRequest};
use crate::approvals::{DecisionOutcome, RequestDetail};
use crate::components::format::{date, day_of_secs, thousands};
use crate::components::layout::{ErrorNotice, Portal};
use crate::components::outcome::form_action;
use crate::requests::RequestStatus;

/// `/approvals/:id`: one request with the customer's entitlement and what approving
/// would change; approve or reject with a comment the customer reads.
#[component]
pub fn RequestDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let decide = form_action::<DecideRequest>();
    let detail = Resource::new(move || (id(), decide.version().get()), |(id, _)| get_request_detail(id));
    view! {
        <Title text="Request"/>
        <Portal>
            <p><a href="/approvals">"← Approval queue"</a></p>
            <Transition fallback=|| view! { <p class="loading">"Loading the request…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(d) => view! { <Detail d decide/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </Portal>
    }
}

#[component]
fn Detail(d: RequestDetail, decide: ServerAction<DecideRequest>) -> impl IntoView {
    let r = &d.request;
    let summary = r.summary();
    let e = &d.entitlement;
    let moved = d.current_version != d.filed_version;
    let pending = r.status == RequestStatus::Pending;
    let error = move || decide.value().get().and_then(Result::err);
    let comment_error = move || error().and_then(|e| e.for_field("comment"));
    let form_error = move || error().filter(|e| e.for_field("comment").is_none()).map(|e| e.to_string());
    let outcome = move || {
        decide.value().get().and_then(Result::ok).map(|o| match o {
            DecisionOutcome::Approved => "Approved: the change applies now.".to_owned(),
            DecisionOutcome::Scheduled { on } => format!("Approved: the change applies at renewal, on {}.", date(on)),
            DecisionOutcome::Recorded { have, needed } => {
                format!("Your approval is recorded ({have} of {needed}): someone else on the staff must approve it too.")
            }
            DecisionOutcome::Rejected => "Rejected: the customer sees your comment.".to_owned(),
        })
    };
    let limit = |v: Option<i64>| v.map(thousands).unwrap_or_else(|| "Unlimited".to_owned());
    let preview = d.preview.clone().map(|p| {
        view! {
            <h3>"What approving unlocks"</h3>
            {if p.gained.is_empty() {
                view! { <p class="muted">"No new features."</p> }.into_any()
            } else {
                view! { <ul class="gained">{p.gained.iter().map(|f| view! { <li>{f.name.clone()}</li> }).collect_view()}</ul> }.into_any()
            }}
            {(!p.lost.is_empty()).then(|| view! {
                <div class="notice warn"><strong>"The customer loses: "</strong>{p.lost.iter().map(|f| f.name.clone()).collect::<Vec<_>>().join(", ")}</div>
            })}
            {(p.held_back > 0).then(|| view! {
                <p class="notice warn held-back">{format!(
                    "{} would be held back: the customer has more seats assigned than the new plan allows. The seats assigned last stay held back until their admin frees as many.",
                    if p.held_back == 1 { "1 seat".to_owned() } else { format!("{} seats", p.held_back) }
                )}</p>
            })}
            {(!p.limits.is_empty()).then(|| view! {
                <table class="table limits">
                    <caption>"Limits"</caption>
                    <thead><tr><th scope="col">"What"</th><th scope="col">"Now"</th><th scope="col">"After"</th></tr></thead>
                    <tbody>{p.limits.iter().map(|l| view! { <tr><td>{l.what.clone()}</td><td>{limit(l.from)}</td><td>{limit(l.to)}</td></tr> }).collect_view()}</tbody>
                </table>
            })}
        }
    });
    let current = d.current_version;
    let request_id = r.id;
    let filed_version = d.filed_version;
    view! {
        <div class="page-head">
            <h1>{summary.clone()}</h1>
            <span class=format!("badge request-{}", r.status.as_str())>{r.status.label()}</span>
        </div>
        <p class="muted">{format!(
            "{} · {} · asked by {} on {}",
            d.customer, r.product, r.requested_by, date(day_of_secs(r.created_at))
        )}</p>
        <p class="reason">"“" {r.reason.clone()} "”"</p>
        {r.comment.clone().map(|c| view! { <p class="comment">{format!("Comment from {}: {c}", r.decided_by.clone().unwrap_or_else(|| "a catalog rule".to_owned()))}</p> })}
        {r.applies_at.filter(|_| r.scheduled()).map(|at| view! {
            <p class="notice scheduled">{format!("Approved to apply at renewal, on {}.", date(day_of_secs(at)))}</p>
        })}
        {(r.approvals_needed > 1).then(|| {
            let given = d.approvals.iter().map(|(who, at)| format!("{who} on {}", date(day_of_secs(*at)))).collect::<Vec<_>>();
            view! {
                <p class="notice approvals">
                    {format!("A catalog rule asks for {} approvals from different staff. ", r.approvals_needed)}
                    {if given.is_empty() { "None given yet.".to_owned() } else { format!("Approved by {}.", given.join(", ")) }}
                </p>
            }
        })}
        <section class="card">
            <h2>"Now: " {e.plan.clone()} " plan, " {e.status.label()}</h2>
            <p>{format!("{} of {} seats used · up to {} instances", e.seats_used, e.seats_cap, e.instances_cap)}</p>
            <p class="muted">{e.features.iter().map(|f| f.name.clone()).collect::<Vec<_>>().join(" · ")}</p>
            {preview}
            {d.preview.is_none().then(|| view! {
                <p class="notice warn">"This change no longer applies to the entitlement as it is now."</p>
            })}
        </section>
        {move || outcome().map(|m| view! { <p class="notice ok" role="status">{m}</p> })}
        // Outside the form: a refusal stays in view when the request, decided meanwhile,
        // is shown without its form.
        <p class="form-error" role="alert">{form_error}</p>
        {pending.then(|| view! {
            <ActionForm action=decide attr:class="card form decide" attr:novalidate=true>
                <input type="hidden" name="id" value=request_id/>
                {moved.then(|| view! {
                    <div class="notice warn">
                        {format!("The entitlement changed since this request was made (version {filed_version}, now {current}). ")}
                        <label class="check">
                            <input type="checkbox" name="confirm_version" value=current/>
                            " I checked the change against the entitlement as it is now"
                        </label>
                    </div>
                })}
                <fieldset>
                    <legend>"Decision"</legend>
                    <label class="check"><input type="radio" name="decision" value="approve" checked=true/>" Approve"</label>
                    <label class="check"><input type="radio" name="decision" value="reject"/>" Reject"</label>
                </fieldset>
                <div class="field">
                    <label for="comment">"Comment for the customer"</label>
                    <textarea id="comment" name="comment" rows="3" aria-invalid=move || comment_error().is_some().to_string()></textarea>
                    <p class="field-error">{comment_error}</p>
                </div>
                <button type="submit" class="button primary" disabled=move || decide.pending().get()>"Record the decision"</button>
            </ActionForm>
        })}
    }
}

//! The change request pages: the organisation's requests, and asking for a change
//! after a preview of what it would do.

mod new;

pub use new::NewRequestPage;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::format::{date, day_of_secs};
use crate::components::layout::{ErrorNotice, Portal};
use crate::components::outcome::form_action;
use crate::requests::api::{list_requests, WithdrawRequest};
use crate::requests::{ChangeRequestView, RequestStatus};

/// `/requests`: the organisation's change requests, newest first, with their status and
/// the staff's comment; a pending one can be withdrawn.
#[component]
pub fn RequestsPage() -> impl IntoView {
    let query = use_query_map();
    let filed = move || query.read().get("filed").is_some();
    let withdraw = form_action::<WithdrawRequest>();
    let requests = Resource::new(move || withdraw.version().get(), |_| list_requests(None));
    view! {
        <Title text="Requests"/>
        <Portal>
            <div class="page-head">
                <h1>"Change requests"</h1>
                <a class="button primary" href="/requests/new">"Request a change"</a>
            </div>
            <Show when=filed>
                <p class="notice ok" role="status">"Request sent. Vendor staff will review it."</p>
            </Show>
            <p class="form-error" role="alert">{move || withdraw.value().get().and_then(Result::err).map(|e| e.to_string())}</p>
            <Transition fallback=|| view! { <p class="loading">"Loading requests…"</p> }>
                {move || Suspend::new(async move {
                    match requests.await {
                        Ok(list) if list.is_empty() => view! { <p class="notice">"No requests yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="requests">
                                {list.into_iter().map(|r| view! { <RequestItem r withdraw/> }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </Portal>
    }
}

#[component]
fn RequestItem(r: ChangeRequestView, withdraw: ServerAction<WithdrawRequest>) -> impl IntoView {
    let summary = r.summary();
    let status_class = format!("badge request-{}", r.status.as_str());
    let filed_on = day_of_secs(r.created_at);
    let comment = r.comment.clone().map(|c| match &r.decided_by {
        Some(who) => format!("Comment from {who}: {c}"),
        None => format!("Comment: {c}"),
    });
    let withdraw_button = (r.status == RequestStatus::Pending).then(|| {
        let label = format!("Withdraw request: {summary}");
        view! {
            <ActionForm action=withdraw attr:class="inline">
                <input type="hidden" name="id" value=r.id/>
                <button type="submit" class="button secondary small" aria-label=label>"Withdraw"</button>
            </ActionForm>
        }
    });
    view! {
        <li class="card request" aria-label=summary.clone()>
            <div class="card-head">
                <h2>{summary.clone()}</h2>
                <span class=status_class>{r.status.label()}</span>
            </div>
            <p class="muted">
                {format!("{} · {} plan now · asked by {} on {}", r.product, r.current_plan, r.requested_by, date(filed_on))}
            </p>
            <p class="reason">"“" {r.reason.clone()} "”"</p>
            {comment.map(|c| view! { <p class="comment">{c}</p> })}
            {r.applies_at.filter(|_| r.scheduled()).map(|at| view! {
                <p class="notice scheduled">{format!("Applies at renewal, on {}.", date(day_of_secs(at)))}</p>
            })}
            {(r.status == RequestStatus::Pending && r.approvals_needed > 1).then(|| view! {
                <p class="muted">{format!("Needs {} approvals from vendor staff; {} given so far.", r.approvals_needed, r.approvals)}</p>
            })}
            {withdraw_button}
        </li>
    }
}

//! The approval queue and the page where staff decide one request.

mod detail;

pub use detail::RequestDetailPage;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::approvals::api::list_pending_requests;
use crate::components::format::{date_time, day_of_secs};
use crate::components::layout::{ErrorNotice, Portal};
use crate::requests::RequestKind;

/// `/approvals?customer=&kind=`: pending change requests, oldest first, overdue ones marked.
#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        (q.get("customer").filter(|c| !c.is_empty()), q.get("kind").filter(|k| !k.is_empty()))
    };
    let queue = Resource::new(filter, |(customer, kind)| list_pending_requests(customer, kind));
    let kind_options = move || {
        let current = filter().1;
        RequestKind::ALL
            .into_iter()
            .map(|k| view! { <option value=k.as_str() selected=current.as_deref() == Some(k.as_str())>{k.label()}</option> })
            .collect_view()
    };
    view! {
        <Title text="Approvals"/>
        <Portal>
            <h1>"Approval queue"</h1>
            <form method="get" action="/approvals" class="filters">
                <div class="field">
                    <label for="customer">"Customer"</label>
                    <input id="customer" name="customer" type="text" placeholder="slug, e.g. initech" prop:value=move || filter().0.unwrap_or_default()/>
                </div>
                <div class="field">
                    <label for="kind">"Kind"</label>
                    <select id="kind" name="kind"><option value="">"Any"</option>{kind_options}</select>
                </div>
                <button type="submit" class="button secondary">"Filter"</button>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Loading the queue…"</p> }>
                {move || Suspend::new(async move {
                    match queue.await {
                        Ok(list) if list.is_empty() => view! { <p class="notice">"Nothing is waiting."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table queue">
                                <thead><tr>
                                    <th scope="col">"Request"</th><th scope="col">"Customer"</th><th scope="col">"Asked by"</th>
                                    <th scope="col">"Waiting since"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|r| view! {
                                        <tr class:overdue=r.overdue>
                                            <td>
                                                <a href=format!("/approvals/{}", r.id)>{r.summary.clone()}</a>
                                                {(r.approvals_needed > 1).then(|| view! {
                                                    <span class="badge approvals">{format!("{} of {} approvals", r.approvals, r.approvals_needed)}</span>
                                                })}
                                            </td>
                                            <td>{r.customer.clone()}</td>
                                            <td>{r.requested_by.clone()}</td>
                                            <td title=date_time(r.created_at)>
                                                {crate::components::format::date(day_of_secs(r.created_at))}
                                                {r.overdue.then(|| view! { <span class="badge overdue">"Overdue"</span> })}
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </Portal>
    }
}

//! The approval queue and the page where staff decide one request.

mod detail;

pub use detail::RequestDetailPage;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::approvals::api::list_pending_requests;
use crate::components::format::{address_with, date_time, day_of_secs};
use crate::components::layout::{ErrorNotice, Portal};
use crate::requests::RequestKind;

/// `/approvals?customer=&kind=&overdue=&after=`: pending change requests, oldest first,
/// overdue ones marked (or only those), a page at a time.
#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        (
            q.get("customer").filter(|c| !c.is_empty()),
            q.get("kind").filter(|k| !k.is_empty()),
            q.get("overdue").is_some_and(|o| o == "true"),
            q.get("after").and_then(|a| a.parse::<i64>().ok()),
        )
    };
    let queue = Resource::new(filter, |(customer, kind, overdue, after)| list_pending_requests(customer, kind, Some(overdue), after));
    // The queue's address with its filters kept, from the start or after a request.
    let page_at = move |after: Option<i64>| {
        let (customer, kind, overdue, _) = filter();
        let overdue = overdue.then(|| "true".to_owned());
        address_with("/approvals", [("customer", customer), ("kind", kind), ("overdue", overdue), ("after", after.map(|a| a.to_string()))])
    };
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
                <label class="check">
                    <input type="checkbox" name="overdue" value="true" prop:checked=move || filter().2/>
                    "Only overdue"
                </label>
                <button type="submit" class="button secondary">"Filter"</button>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Loading the queue…"</p> }>
                {move || Suspend::new(async move {
                    match queue.await {
                        Ok(page) if page.requests.is_empty() => view! { <p class="notice">"Nothing is waiting."</p> }.into_any(),
                        Ok(page) => view! {
                            <table class="table queue">
                                <thead><tr>
                                    <th scope="col">"Request"</th><th scope="col">"Customer"</th><th scope="col">"Asked by"</th>
                                    <th scope="col">"Waiting since"</th>
                                </tr></thead>
                                <tbody>
                                    {page.requests.into_iter().map(|r| view! {
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
                            <nav class="pager" aria-label="Pages of the queue">
                                {filter().3.map(|_| view! { <a href=page_at(None)>"First page"</a> })}
                                {page.next_after.map(|a| view! { <a href=page_at(Some(a)) rel="next">"Next page"</a> })}
                            </nav>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </Portal>
    }
}

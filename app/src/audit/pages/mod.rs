//! The audit log page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::audit::api::list_audit;
use crate::components::format::{address_with, date_time};
use crate::components::layout::{ErrorNotice, Portal};

/// `/audit?customer=&actor=&kind=&from=&to=&before=`: the audit log, newest first,
/// filtered; vendor staff see everything, a customer admin their organisation's events.
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let q = move |k: &str| query.read().get(k).filter(|v| !v.is_empty());
    let args = move || (q("customer"), q("actor"), q("kind"), q("from"), q("to"), q("before").and_then(|b| b.parse::<i64>().ok()));
    let page = Resource::new(args, |(customer, actor, kind, from, to, before)| list_audit(customer, actor, kind, from, to, before));
    let field = move |name: &'static str, label: &'static str, kind: &'static str| {
        view! {
            <div class="field">
                <label for=name>{label}</label>
                <input id=name name=name type=kind prop:value=move || q(name).unwrap_or_default()/>
            </div>
        }
    };
    let older = move |before: i64| {
        let kept = ["customer", "actor", "kind", "from", "to"].map(|k| (k, q(k)));
        address_with("/audit", kept.into_iter().chain([("before", Some(before.to_string()))]))
    };
    view! {
        <Title text="Audit log"/>
        <Portal>
            <h1>"Audit log"</h1>
            <form method="get" action="/audit" class="filters">
                {field("customer", "Customer", "text")}
                {field("actor", "Who", "text")}
                {field("kind", "What", "text")}
                {field("from", "From", "date")}
                {field("to", "To", "date")}
                <button type="submit" class="button secondary">"Filter"</button>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Loading the audit log…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(p) if p.events.is_empty() => view! { <p class="notice">"No events match."</p> }.into_any(),
                        Ok(p) => view! {
                            <table class="table audit">
                                <thead><tr>
                                    <th scope="col">"#"</th><th scope="col">"When"</th><th scope="col">"Who"</th>
                                    <th scope="col">"Customer"</th><th scope="col">"What"</th><th scope="col">"Before → after"</th>
                                </tr></thead>
                                <tbody>
                                    {p.events.into_iter().map(|e| view! {
                                        <tr>
                                            <td>{e.seq}</td>
                                            <td>{date_time(e.at)}</td>
                                            <td>{e.actor.clone()}</td>
                                            <td>{e.customer.clone().unwrap_or_default()}</td>
                                            <td><code>{e.kind.clone()}</code>" " <span class="muted">{e.subject.clone()}</span></td>
                                            <td class="change">
                                                {e.before.clone().map(|b| view! { <code class="before">{b}</code> })}
                                                {(e.before.is_some() && e.after.is_some()).then_some(" → ")}
                                                {e.after.clone().map(|a| view! { <code class="after">{a}</code> })}
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {p.next_before.map(|b| view! { <p><a href=older(b)>"Older events"</a></p> })}
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </Portal>
    }
}

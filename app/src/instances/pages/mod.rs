//! The instances page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::browser::read_chosen_file;
use crate::components::format::{address_with, ago, date_time, encode_query_value};
use crate::components::layout::{ErrorNotice, Portal};
use crate::instances::api::{list_instances, ActivateOffline, DeactivateInstance, DeactivateOffline};
use crate::instances::{InstanceView, OfflineLicenceView};

/// `/instances`: the organisation's running instances, 50 a page, searched by name,
/// fingerprint or instance id; deactivating one frees its slot at once. Air-gapped
/// machines are activated (and give their slot back) with the documents they write.
/// Vendor staff open a customer's with `?customer=<slug>`.
#[component]
pub fn InstancesPage() -> impl IntoView {
    let query = use_query_map();
    let q = |k: &str| query.read_untracked().get(k).filter(|v| !v.is_empty());
    let (customer, search, after) = (q("customer"), q("search"), q("after").and_then(|a| a.parse::<i64>().ok()));
    view! {
        <Title text="Instances"/>
        <Portal>
            <Instances customer search after/>
        </Portal>
    }
}

/// The page's body, an island: deactivating an instance or issuing an offline licence
/// updates the list in place, and a file chosen fills the text box.
#[island]
fn Instances(customer: Option<String>, search: Option<String>, after: Option<i64>) -> impl IntoView {
    let customer = Signal::stored(customer);
    let deactivate = ServerAction::<DeactivateInstance>::new();
    let activate = ServerAction::<ActivateOffline>::new();
    let release = ServerAction::<DeactivateOffline>::new();
    let search = Signal::stored(search);
    let instances = Resource::new(
        move || (customer.get(), search.get(), deactivate.version().get(), activate.version().get(), release.version().get()),
        move |(customer, search, ..)| list_instances(customer, search, after),
    );
    // The list's address with the customer and the search kept, from the start or after an instance.
    let page_at = move |after: Option<i64>| {
        address_with(
            "/instances",
            [("customer", customer.get_untracked()), ("search", search.get_untracked()), ("after", after.map(|a| a.to_string()))],
        )
    };
    let done = move || deactivate.value().get().map(|r| r.map(|_| "Deactivated — the slot is free."));
    view! {
            <h1>"Instances"</h1>
            {move || done().map(|r| match r {
                Ok(m) => view! { <p class="notice ok" role="status">{m}</p> }.into_any(),
                Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
            })}
            <Transition fallback=|| view! { <p class="loading">"Loading instances…"</p> }>
                {move || Suspend::new(async move {
                    match instances.await {
                        Ok(v) => {
                            let now = v.now;
                            let minutes = v.ttl / 60;
                            view! {
                                {v.caps.into_iter().map(|(product, live, cap)| view! {
                                    <p class="seat-count">{format!("{product}: {live} of {cap} instances active")}</p>
                                }).collect_view()}
                                <p class="muted">{format!(
                                    "Instances are activated by the software itself through the API and keep their slot with heartbeats; one silent for {minutes} minutes lapses and frees it."
                                )}</p>
                                <form method="get" action="/instances" class="filters" role="search">
                                    {customer.get_untracked().map(|c| view! { <input type="hidden" name="customer" value=c/> })}
                                    <div class="field">
                                        <label for="instance-search">"Name, fingerprint or instance id"</label>
                                        <input id="instance-search" name="search" type="search" value=search.get_untracked()/>
                                    </div>
                                    <button type="submit" class="button secondary">"Find"</button>
                                </form>
                                {if v.instances.is_empty() && search.get_untracked().is_some() {
                                    view! { <p class="notice">"No instances match."</p> }.into_any()
                                } else if v.instances.is_empty() {
                                    view! { <p class="notice">"No instances are running."</p> }.into_any()
                                } else {
                                    view! {
                                        // Scrolls by itself on a narrow screen instead of widening the page.
                                        <div class="table-scroll" role="region" aria-label="Running instances" tabindex="0">
                                            <table class="table instances">
                                                <thead><tr>
                                                    <th scope="col">"Name"</th><th scope="col">"Instance id"</th>
                                                    <th scope="col">"Fingerprint"</th><th scope="col">"Product"</th>
                                                    <th scope="col">"First seen"</th><th scope="col">"Last heartbeat"</th><th scope="col">"Status"</th>
                                                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                                </tr></thead>
                                                <tbody>{v.instances.into_iter().map(|i| view! { <InstanceRow i now deactivate/> }).collect_view()}</tbody>
                                            </table>
                                        </div>
                                        <nav class="pager" aria-label="Pages of instances">
                                            {after.map(|_| view! { <a href=page_at(None)>"First page"</a> })}
                                            {v.next_after.map(|a| view! { <a href=page_at(Some(a)) rel="next">"Next page"</a> })}
                                        </nav>
                                    }.into_any()
                                }}
                            }.into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
            <OfflineActivation customer activate release/>
    }
}

/// One instance: who it is, when it was first and last seen, whether it holds a slot, and
/// the form that deactivates it.
#[component]
fn InstanceRow(i: InstanceView, now: i64, deactivate: ServerAction<DeactivateInstance>) -> impl IntoView {
    let name = i.name.clone().unwrap_or_else(|| "(unnamed)".to_owned());
    let label = format!("Deactivate {name}");
    view! {
        <tr>
            <td>{name}</td>
            <td><code>{i.public_id.clone()}</code></td>
            <td><code>{i.fingerprint.clone()}</code></td>
            <td>{i.product.clone()}</td>
            <td>{date_time(i.activated_at)}</td>
            <td title=date_time(i.last_heartbeat_at)>{ago(i.last_heartbeat_at, now)}</td>
            <td>{if i.live {
                view! { <span class="badge status-active">"Live"</span> }.into_any()
            } else {
                view! { <span class="badge status-expired">"Lapsed"</span> }.into_any()
            }}</td>
            <td class="actions">
                <ActionForm action=deactivate attr:class="inline">
                    <input type="hidden" name="id" value=i.id/>
                    <button type="submit" class="button danger small" aria-label=label>"Deactivate"</button>
                </ActionForm>
            </td>
        </tr>
    }
}

/// Air-gapped machines: the activation request one writes with its license key brings
/// back a licence to carry to it; the receipt it writes when it gives its slot back frees
/// the slot.
#[component]
fn OfflineActivation(
    customer: Signal<Option<String>>,
    activate: ServerAction<ActivateOffline>,
    release: ServerAction<DeactivateOffline>,
) -> impl IntoView {
    let customer_input = move || customer.get().map(|c| view! { <input type="hidden" name="customer" value=c/> });
    let activate_error = move || activate.value().get().and_then(Result::err);
    let request_error = Signal::derive(move || activate_error().and_then(|e| e.for_field("request")));
    let activate_form_error = move || activate_error().filter(|e| e.for_field("request").is_none()).map(|e| e.to_string());
    let issued = move || activate.value().get().and_then(Result::ok);
    let release_error = move || release.value().get().and_then(Result::err);
    let receipt_error = Signal::derive(move || release_error().and_then(|e| e.for_field("receipt")));
    let release_form_error = move || release_error().filter(|e| e.for_field("receipt").is_none()).map(|e| e.to_string());
    let freed = move || release.value().get().and_then(Result::ok);
    view! {
        <section class="card offline" aria-labelledby="offline-title">
            <h2 id="offline-title">"Offline activation"</h2>
            <p class="muted">
                "A machine without network access writes an activation request with its license key. Paste the request or \
                 choose its file: you get a licence to carry back to the machine. It holds a slot until the licence expires \
                 or the machine's deactivation receipt is brought here."
            </p>
            <ActionForm action=activate attr:class="form" attr:novalidate=true>
                {customer_input}
                <DocumentField id="offline-request" name="request" label="Activation request" error=request_error/>
                {move || activate_form_error().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
                <button type="submit" class="button primary" disabled=move || activate.pending().get()>"Issue licence"</button>
            </ActionForm>
            {move || issued().map(|l| view! { <OfflineLicence l/> })}

            <h3>"Deactivation receipt"</h3>
            <ActionForm action=release attr:class="form" attr:novalidate=true>
                {customer_input}
                <DocumentField id="offline-receipt" name="receipt" label="Deactivation receipt" error=receipt_error/>
                {move || release_form_error().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
                <button type="submit" class="button secondary" disabled=move || release.pending().get()>"Free the slot"</button>
            </ActionForm>
            {move || freed().map(|id| view! { <p class="notice ok" role="status">{format!("Freed instance {id}")}</p> })}
        </section>
    }
}

/// A document an air-gapped machine wrote, pasted or chosen as a file: the file's text
/// fills the text box, and the text box is what the form sends.
#[component]
fn DocumentField(id: &'static str, name: &'static str, label: &'static str, error: Signal<Option<String>>) -> impl IntoView {
    let text = NodeRef::<leptos::html::Textarea>::new();
    let file_id = format!("{id}-file");
    let error_id = format!("{id}-error");
    let chosen = move |ev: leptos::ev::Event| {
        read_chosen_file(&ev, move |content| {
            if let Some(area) = text.get_untracked() {
                area.set_value(&content);
            }
        })
    };
    view! {
        <div class="field">
            <label for=file_id.clone()>{format!("{label} file")}</label>
            <input id=file_id type="file" accept=".req,.txt,text/plain" on:change=chosen/>
        </div>
        <div class="field">
            <label for=id>{label}</label>
            <textarea id=id name=name rows="5" spellcheck="false" autocomplete="off" class="document" node_ref=text
                aria-describedby=error_id.clone() aria-invalid=move || error.get().is_some().to_string()></textarea>
            <p class="field-error" id=error_id role="alert">{move || error.get()}</p>
        </div>
    }
}

/// The licence issued for an air-gapped machine: its instance, to copy or download.
#[component]
fn OfflineLicence(l: OfflineLicenceView) -> impl IntoView {
    let href = format!("data:application/jwt;charset=utf-8,{}", encode_query_value(&l.licence));
    view! {
        <div class="offline-licence">
            <p class="notice ok" role="status">{format!("Licence issued for instance {}.", l.instance)}</p>
            <dl class="facts">
                <div>
                    <dt>"Instance"</dt>
                    <dd><code data-testid="licence-instance">{l.instance.clone()}</code></dd>
                </div>
                <div>
                    <dt>"Fingerprint"</dt>
                    <dd><code>{l.fingerprint.clone()}</code></dd>
                </div>
                <div>
                    <dt>"Expires"</dt>
                    <dd>{date_time(l.expires_at)}</dd>
                </div>
            </dl>
            <div class="field">
                <label for="offline-licence">"Licence"</label>
                <textarea id="offline-licence" readonly=true rows="6" spellcheck="false" class="document" data-testid="licence">
                    {l.licence.clone()}
                </textarea>
            </div>
            <a class="button primary" download=l.file_name.clone() href=href data-testid="licence-download">"Download licence"</a>
        </div>
    }
}

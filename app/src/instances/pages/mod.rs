//! The instances page.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::format::{ago, date_time};
use crate::components::layout::{ErrorNotice, Portal};
use crate::instances::api::{list_instances, DeactivateInstance};
use crate::instances::InstanceView;

/// `/instances`: the organisation's running instances; deactivating one frees its slot
/// at once.
#[component]
pub fn InstancesPage() -> impl IntoView {
    let deactivate = ServerAction::<DeactivateInstance>::new();
    let instances = Resource::new(move || deactivate.version().get(), |_| list_instances(None));
    let done = move || deactivate.value().get().map(|r| r.map(|_| "Deactivated — the slot is free."));
    view! {
        <Title text="Instances"/>
        <Portal>
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
                                {if v.instances.is_empty() {
                                    view! { <p class="notice">"No instances are running."</p> }.into_any()
                                } else {
                                    view! {
                                        // Scrolls by itself on a narrow screen instead of widening the page.
                                        <div class="table-scroll" role="region" aria-label="Running instances" tabindex="0">
                                            <table class="table instances">
                                                <thead><tr>
                                                    <th scope="col">"Name"</th><th scope="col">"Fingerprint"</th><th scope="col">"Product"</th>
                                                    <th scope="col">"First seen"</th><th scope="col">"Last heartbeat"</th><th scope="col">"Status"</th>
                                                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                                </tr></thead>
                                                <tbody>{v.instances.into_iter().map(|i| view! { <InstanceRow i now deactivate/> }).collect_view()}</tbody>
                                            </table>
                                        </div>
                                    }.into_any()
                                }}
                            }.into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </Portal>
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

//! The tier comparison page.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::layout::{ErrorNotice, Portal};
use crate::tiers::api::compare_tiers;

/// `/tiers`: each product's plans side by side, from the catalog.
#[component]
pub fn TiersPage() -> impl IntoView {
    let tiers = Resource::new(|| (), |_| compare_tiers());
    view! {
        <Title text="Compare plans"/>
        <Portal>
            <h1>"Compare plans"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading the catalog…"</p> }>
                {move || Suspend::new(async move {
                    match tiers.await {
                        Ok(list) => list.into_iter().map(|m| view! {
                            <table class="table tiers">
                                <caption>{m.product.clone()}</caption>
                                <thead><tr>
                                    <th scope="col"><span class="visually-hidden">"Limit or feature"</span></th>
                                    {m.plans.iter().map(|p| view! { <th scope="col">{p.clone()}</th> }).collect_view()}
                                </tr></thead>
                                <tbody>
                                    {m.rows.into_iter().map(|(name, cells)| view! {
                                        <tr>
                                            <th scope="row">{name}</th>
                                            {cells.into_iter().map(|c| {
                                                let absent = c == "—";
                                                view! { <td class:absent=absent>{c}</td> }
                                            }).collect_view()}
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }).collect_view().into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Suspense>
        </Portal>
    }
}

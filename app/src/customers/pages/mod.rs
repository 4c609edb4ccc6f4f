//! The vendor's customers.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::components::layout::{ErrorNotice, Portal};
use crate::customers::api::list_customers;
use crate::entitlements::pages::list::EntitlementsOf;

/// `/customers`: every customer, for vendor users.
#[component]
pub fn CustomersPage() -> impl IntoView {
    view! {
        <Title text="Customers"/>
        <Portal>
            <CustomerList/>
        </Portal>
    }
}

#[component]
fn CustomerList() -> impl IntoView {
    let customers = Resource::new(|| (), |_| list_customers());
    view! {
        <h1>"Customers"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading customers…"</p> }>
            {move || Suspend::new(async move {
                match customers.await {
                    Ok(list) => view! {
                        <table class="table">
                            <thead>
                                <tr><th scope="col">"Customer"</th><th scope="col">"Users"</th><th scope="col">"Entitlements"</th></tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|c| view! {
                                    <tr>
                                        <td><a href=format!("/customers/{}", c.slug)>{c.name.clone()}</a></td>
                                        <td>{c.users}</td>
                                        <td>{c.entitlements.join("; ")}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/customers/:slug`: one customer's entitlements as the vendor sees them.
#[component]
pub fn CustomerPage() -> impl IntoView {
    let params = use_params_map();
    view! {
        <Title text="Customer"/>
        <Portal>
            {move || {
                let slug = params.read().get("slug");
                view! {
                    <p><a href="/customers">"← All customers"</a></p>
                    <EntitlementsOf customer=slug/>
                }
            }}
        </Portal>
    }
}

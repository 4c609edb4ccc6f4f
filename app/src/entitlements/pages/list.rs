use leptos::prelude::*;
use leptos_meta::Title;

use super::EntitlementCard;
use crate::auth::Role;
use crate::components::layout::{role_of, Auth, ErrorNotice, Portal};
use crate::entitlements::api::list_entitlements;
use crate::exports::Downloads;

/// `/entitlements`: every entitlement of the signed-in user's organisation. Admins and
/// members see the same facts; only admins will get the controls that change them, and
/// the organisation's entitlements, seats and usage as CSV.
#[component]
pub fn EntitlementsPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <Title text="Entitlements"/>
        <Portal>
            <EntitlementsOf customer=None/>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    (role_of(auth).await == Some(Role::CustomerAdmin)).then(|| view! { <Downloads customer=None days=None/> })
                })}
            </Suspense>
        </Portal>
    }
}

/// The entitlements of `customer` (a slug; `None` for the user's own organisation),
/// read again whenever `version` moves (after a change made on the same page).
#[component]
pub fn EntitlementsOf(customer: Option<String>, #[prop(optional, into)] version: Option<Signal<usize>>) -> impl IntoView {
    let customer = StoredValue::new(customer);
    let entitlements = Resource::new(move || (customer.get_value(), version.map(|v| v.get())), |(customer, _)| list_entitlements(customer));
    let auth = expect_context::<Auth>();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading entitlements…"</p> }>
            {move || Suspend::new(async move {
                let role = role_of(auth).await;
                match entitlements.await {
                    Ok(list) if list.is_empty() => {
                        view! { <p class="notice">"No entitlements yet."</p> }.into_any()
                    }
                    Ok(list) => {
                        let org = list.first().map(|e| e.customer.clone()).unwrap_or_default();
                        view! {
                            <h1>{org} " — entitlements"</h1>
                            {(role == Some(Role::CustomerMember)).then(|| view! {
                                <p class="notice">"You can see what your organisation is entitled to. Your admin can change seats and plans."</p>
                            })}
                            <div class="cards">
                                {list.into_iter().map(|e| view! { <EntitlementCard e role/> }).collect_view()}
                            </div>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

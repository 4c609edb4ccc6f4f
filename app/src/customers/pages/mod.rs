//! The vendor's customers.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::auth::Role;
use crate::components::layout::{Auth, ErrorNotice, Portal};
use crate::customers::api::{list_customers, ChangeEntitlement};
use crate::entitlements::api::list_entitlements;
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

/// `/customers/:slug`: one customer's entitlements as the vendor sees them; vendor
/// admins and staff also suspend, resume or extend a trial, with a reason.
#[component]
pub fn CustomerPage() -> impl IntoView {
    let params = use_params_map();
    let change = ServerAction::<ChangeEntitlement>::new();
    let version = Signal::derive(move || change.version().get());
    view! {
        <Title text="Customer"/>
        <Portal>
            {move || {
                let slug = params.read().get("slug");
                view! {
                    <p><a href="/customers">"← All customers"</a></p>
                    <EntitlementsOf customer=slug.clone() version/>
                    <StaffActions slug change/>
                }
            }}
        </Portal>
    }
}

/// Suspend, resume, extend a trial: one form, each change with its reason.
#[component]
fn StaffActions(slug: Option<String>, change: ServerAction<ChangeEntitlement>) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let staff = move || auth.user.get().and_then(Result::ok).flatten().is_some_and(|u| matches!(u.role, Role::VendorAdmin | Role::VendorStaff));
    let entitlements = Resource::new(move || (slug.clone(), change.version().get()), |(slug, _)| list_entitlements(slug));
    let error = move || change.value().get().and_then(Result::err);
    let field_error = move |f: &'static str| move || error().and_then(|e| e.for_field(f));
    let done = move || change.value().get().is_some_and(|r| r.is_ok());
    view! {
        <Show when=staff>
            <section class="card staff-actions" aria-labelledby="staff-actions-title">
                <h2 id="staff-actions-title">"Change an entitlement"</h2>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let list = entitlements.await.unwrap_or_default();
                        view! {
                            <ActionForm action=change attr:class="form" attr:novalidate=true>
                                <div class="field">
                                    <label for="entitlement">"Entitlement"</label>
                                    <select id="entitlement" name="entitlement">
                                        {list.into_iter().map(|e| view! {
                                            <option value=e.id>{format!("{} · {} · {}", e.product, e.plan, e.status.label())}</option>
                                        }).collect_view()}
                                    </select>
                                </div>
                                <fieldset>
                                    <legend>"Change"</legend>
                                    <label class="check"><input type="radio" name="action" value="suspend" checked=true/>" Suspend"</label>
                                    <label class="check"><input type="radio" name="action" value="resume"/>" Resume"</label>
                                    <label class="check"><input type="radio" name="action" value="extend_trial"/>" Extend the trial"</label>
                                </fieldset>
                                <div class="field">
                                    <label for="days">"Days (trial extension)"</label>
                                    <input id="days" name="days" type="number" min="1" max="90"/>
                                    <p class="field-error">{field_error("days")}</p>
                                </div>
                                <div class="field">
                                    <label for="reason">"Reason"</label>
                                    <input id="reason" name="reason" type="text"/>
                                    <p class="field-error">{field_error("reason")}</p>
                                </div>
                                <p class="form-error" role="alert">{move || field_error("action")()}</p>
                                <Show when=done><p class="notice ok" role="status">"Done: the change applies now."</p></Show>
                                <button type="submit" class="button primary">"Apply"</button>
                            </ActionForm>
                        }
                    })}
                </Suspense>
            </section>
        </Show>
    }
}

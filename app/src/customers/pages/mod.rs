//! The vendor's customers: the list (and a new customer), one customer's page with the
//! staff's controls, and the customer's portal as they see it, read-only.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::auth::Role;
use crate::catalog::api::get_catalog;
use crate::catalog::ProductCatalog;
use crate::components::format::{address_with, date};
use crate::components::layout::{role_of, Auth, ErrorNotice, Portal};
use crate::components::outcome::form_action;
use crate::customers::api::{
    list_customers, list_proposed_amendments, view_as_customer, AmendEntitlement, ChangeEntitlement, CreateCustomer, DecideAmendment,
    GrantEntitlement, OpenCustomerPortal,
};
use crate::customers::{AmendOutcome, CustomerFilter, ProposedAmendmentView};
use crate::entitlements::api::list_entitlements;
use crate::entitlements::pages::list::EntitlementsOf;
use crate::entitlements::pages::ViewingAs;
use crate::entitlements::EntitlementView;
use crate::exports::Downloads;
use crate::requests::api::list_requests;

fn is_staff(role: Option<Role>) -> bool {
    matches!(role, Some(Role::VendorAdmin | Role::VendorStaff))
}

/// `/customers`: every customer, for vendor users; admins and staff also add one, and
/// download every customer's entitlements, seats and usage as CSV.
#[component]
pub fn CustomersPage() -> impl IntoView {
    let create = form_action::<CreateCustomer>();
    view! {
        <Title text="Customers"/>
        <Portal>
            <CustomerList version=Signal::derive(move || create.version().get())/>
            <NewCustomer create/>
        </Portal>
    }
}

/// The list, by name, a page at a time: searched by name, slug or a user's email, and
/// filtered to the customers that need attention soon.
#[component]
fn CustomerList(version: Signal<usize>) -> impl IntoView {
    let query = use_query_map();
    let q = move |k: &str| query.read().get(k).filter(|v| !v.is_empty());
    let args = move || (version.get(), q("search"), q("show"), q("after").and_then(|a| a.parse::<i64>().ok()));
    let customers = Resource::new(args, |(_, search, show, after)| list_customers(search, show, after));
    let auth = expect_context::<Auth>();
    // The list's address with the search and filter kept, from the start or after a customer.
    let page_at = move |after: Option<i64>| {
        address_with("/customers", [("search", q("search")), ("show", q("show")), ("after", after.map(|a| a.to_string()))])
    };
    view! {
        <h1>"Customers"</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                is_staff(role_of(auth).await).then(|| view! { <Downloads customer=None days=None/> })
            })}
        </Suspense>
        <form method="get" action="/customers" class="filters" role="search">
            <div class="field">
                <label for="search">"Name, slug or a user's email"</label>
                <input id="search" name="search" type="search" prop:value=move || q("search").unwrap_or_default()/>
            </div>
            <div class="field">
                <label for="show">"Show"</label>
                <select id="show" name="show">
                    <option value="" selected=move || q("show").is_none()>"Every customer"</option>
                    {CustomerFilter::ALL.into_iter().map(|f| view! {
                        <option value=f.as_str() selected=move || q("show").as_deref() == Some(f.as_str())>{f.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <button type="submit" class="button secondary">"Find"</button>
        </form>
        <Transition fallback=|| view! { <p class="loading">"Loading customers…"</p> }>
            {move || Suspend::new(async move {
                match customers.await {
                    Ok(page) if page.customers.is_empty() => view! { <p class="notice">"No customers match."</p> }.into_any(),
                    Ok(page) => view! {
                        <table class="table customers">
                            <thead>
                                <tr><th scope="col">"Customer"</th><th scope="col">"Users"</th><th scope="col">"Entitlements"</th></tr>
                            </thead>
                            <tbody>
                                {page.customers.into_iter().map(|c| view! {
                                    <tr>
                                        <td><a href=format!("/customers/{}", c.slug)>{c.name.clone()}</a></td>
                                        <td>{c.users}</td>
                                        <td>{c.entitlements.join("; ")}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <nav class="pager" aria-label="Pages of customers">
                            {q("after").map(|_| view! { <a href=page_at(None)>"First page"</a> })}
                            {page.next_after.map(|a| view! { <a href=page_at(Some(a)) rel="next">"Next page"</a> })}
                        </nav>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// "New customer": the customer and its first admin, who gets an invitation link.
#[component]
fn NewCustomer(create: ServerAction<CreateCustomer>) -> impl IntoView {
    let error = move || create.value().get().and_then(Result::err);
    let field_error = move |f: &'static str| move || error().and_then(|e| e.for_field(f));
    let form_error = move || error().filter(|e| e.for_field_name().is_none()).map(|e| e.to_string());
    let created = move || create.value().get().and_then(Result::ok);
    let auth = expect_context::<Auth>();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                is_staff(role_of(auth).await).then(|| view! {
                <section class="card new-customer" aria-labelledby="new-customer-title">
                    <h2 id="new-customer-title">"New customer"</h2>
                    {move || created().map(|c| view! {
                        <div class="notice ok" role="status">
                            <p>
                                {format!("{} is a customer. Send {} this link to set a password (it works once, until {}): ", c.name, c.admin_email, date(c.expires_on))}
                                <a href=format!("/customers/{}", c.slug)>"Open the customer"</a>
                            </p>
                            <code class="secret invite-link">{format!("{}{}", crate::components::format::page_origin(), c.path)}</code>
                        </div>
                    })}
                    <ActionForm action=create attr:class="form" attr:novalidate=true>
                        <TextField id="customer-name" name="name" label="Name" error=Signal::derive(field_error("name"))/>
                        <TextField id="customer-slug" name="slug" label="Address in the portal (e.g. initech)" error=Signal::derive(field_error("slug"))/>
                        <TextField id="admin-name" name="admin_name" label="Admin's name" error=Signal::derive(field_error("admin_name"))/>
                        <TextField id="admin-email" name="admin_email" label="Admin's email" error=Signal::derive(field_error("admin_email"))/>
                        <TextField id="customer-reason" name="reason" label="Reason" error=Signal::derive(field_error("reason"))/>
                        <p class="form-error" role="alert">{form_error}</p>
                        <button type="submit" class="button primary" disabled=move || create.pending().get()>"Create the customer"</button>
                    </ActionForm>
                </section>
                })
            })}
        </Suspense>
    }
}

#[component]
fn TextField(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    #[prop(optional, into)] error: Option<Signal<Option<String>>>,
    #[prop(optional, into)] value: String,
    #[prop(optional)] kind: Option<&'static str>,
) -> impl IntoView {
    let message = move || error.and_then(|e| e.get());
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id name=name type=kind.unwrap_or("text") value=value aria-invalid=move || message().is_some().to_string()/>
            <p class="field-error">{message}</p>
        </div>
    }
}

/// `/customers/:slug`: one customer's entitlements as the vendor sees them; vendor
/// admins and staff also change them (each change with a reason), grant new ones, and
/// open the customer's portal read-only.
#[component]
pub fn CustomerPage() -> impl IntoView {
    let params = use_params_map();
    let change = form_action::<ChangeEntitlement>();
    let grant = form_action::<GrantEntitlement>();
    let amend = form_action::<AmendEntitlement>();
    let decide = form_action::<DecideAmendment>();
    let version = Signal::derive(move || change.version().get() + grant.version().get() + amend.version().get() + decide.version().get());
    let auth = expect_context::<Auth>();
    view! {
        <Title text="Customer"/>
        <Portal>
            {move || {
                let slug = params.read().get("slug");
                let instances = slug.clone().map(|s| format!("/instances?customer={s}"));
                let sso = slug.clone().map(|s| format!("/sso?customer={s}"));
                // The portal asks before it opens: the link itself records nothing.
                let portal = slug.clone().map(|s| format!("/customers/{s}/portal"));
                let downloads = slug.clone();
                view! {
                    <div class="page-links">
                        <a href="/customers">"← All customers"</a>
                        <Suspense fallback=|| ()>
                            {move || {
                                let (portal, instances, sso) = (portal.clone(), instances.clone(), sso.clone());
                                let downloads = downloads.clone();
                                Suspend::new(async move {
                                    is_staff(role_of(auth).await).then(|| view! {
                                        <a class="button secondary small" href=portal>"View as the customer"</a>
                                        <a class="button secondary small" href=instances>"Instances"</a>
                                        <a class="button secondary small" href=sso>"Single sign-on"</a>
                                        <Downloads customer=downloads days=None/>
                                    })
                                })
                            }}
                        </Suspense>
                    </div>
                    <EntitlementsOf customer=slug.clone() version/>
                    <StaffControls slug=slug.clone() change grant amend decide version/>
                }
            }}
        </Portal>
    }
}

/// The staff's forms (for vendor admins and staff only), with what they need: the
/// customer's entitlements and the catalog.
#[component]
fn StaffControls(
    slug: Option<String>,
    change: ServerAction<ChangeEntitlement>,
    grant: ServerAction<GrantEntitlement>,
    amend: ServerAction<AmendEntitlement>,
    decide: ServerAction<DecideAmendment>,
    version: Signal<usize>,
) -> impl IntoView {
    // The entitlements and the changes proposed for them load as one.
    let entitlements = Resource::new(
        move || (slug.clone(), version.get()),
        |(slug, _)| async move {
            let list = list_entitlements(slug.clone()).await;
            let proposals = list_proposed_amendments(slug.unwrap_or_default()).await;
            (list, proposals)
        },
    );
    let catalog = Resource::new(|| (), |_| get_catalog(Some(false)));
    let slug = StoredValue::new(params_slug());
    let auth = expect_context::<Auth>();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                if !is_staff(role_of(auth).await) {
                    return ().into_any();
                }
                let (list, pending) = entitlements.await;
                let (list, pending) = (list.unwrap_or_default(), pending.unwrap_or_default());
                let products = catalog.await.map(|c| c.products).unwrap_or_default();
                let customer = slug.get_value();
                view! {
                    <Proposals pending decide/>
                    <StaffActions list=list.clone() change/>
                    <AmendForm list=list.clone() products=products.clone() amend/>
                    <GrantForm customer list products grant/>
                }
                .into_any()
            })}
        </Suspense>
    }
}

fn params_slug() -> String {
    use_params_map().read_untracked().get("slug").unwrap_or_default()
}

fn entitlement_options(list: &[EntitlementView]) -> impl IntoView {
    list.iter().map(|e| view! { <option value=e.id>{format!("{} · {} · {}", e.product, e.plan, e.status.label())}</option> }).collect_view()
}

/// Suspend, resume, extend a trial, renew, cancel: one form, each change with its reason.
#[component]
fn StaffActions(list: Vec<EntitlementView>, change: ServerAction<ChangeEntitlement>) -> impl IntoView {
    let error = move || change.value().get().and_then(Result::err);
    let field_error = move |f: &'static str| move || error().and_then(|e| e.for_field(f));
    let done = move || change.value().get().is_some_and(|r| r.is_ok());
    if list.is_empty() {
        return ().into_any();
    }
    view! {
        <section class="card staff-actions" aria-labelledby="staff-actions-title">
            <h2 id="staff-actions-title">"Change an entitlement"</h2>
            <ActionForm action=change attr:class="form" attr:novalidate=true>
                <div class="field">
                    <label for="entitlement">"Entitlement"</label>
                    <select id="entitlement" name="entitlement">{entitlement_options(&list)}</select>
                </div>
                <fieldset>
                    <legend>"Change"</legend>
                    <label class="check"><input type="radio" name="action" value="suspend" checked=true/>" Suspend"</label>
                    <label class="check"><input type="radio" name="action" value="resume"/>" Resume"</label>
                    <label class="check"><input type="radio" name="action" value="extend_trial"/>" Extend the trial"</label>
                    <label class="check"><input type="radio" name="action" value="renew"/>" Renew"</label>
                    <label class="check"><input type="radio" name="action" value="cancel"/>" Cancel"</label>
                </fieldset>
                <div class="field">
                    <label for="days">"Days (trial extension 1–90; renewal, a year when empty)"</label>
                    <input id="days" name="days" type="number" min="1" max="1100"/>
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
        </section>
    }
    .into_any()
}

/// Plan (newest version), seat and instance caps, regions.
#[component]
fn AmendForm(list: Vec<EntitlementView>, products: Vec<ProductCatalog>, amend: ServerAction<AmendEntitlement>) -> impl IntoView {
    let error = move || amend.value().get().and_then(Result::err);
    let field_error = move |f: &'static str| Signal::derive(move || error().and_then(|e| e.for_field(f)));
    let done = move || {
        amend.value().get().and_then(Result::ok).map(|outcome| match outcome {
            AmendOutcome::Applied => "Terms changed: the next check follows them.",
            AmendOutcome::Proposed => {
                "Proposed: the approval rules send this change to two people. It applies once another member of staff approves it."
            }
        })
    };
    let Some(first) = list.first().cloned() else {
        return ().into_any();
    };
    let plans = products.iter().find(|p| p.name == first.product).map(|p| p.plans.clone()).unwrap_or_default();
    view! {
        <section class="card amend" aria-labelledby="amend-title">
            <h2 id="amend-title">"Change the terms"</h2>
            <p class="muted">"Fewer seats than are assigned holds back the seats assigned last until the customer frees as many."</p>
            <ActionForm action=amend attr:class="form" attr:novalidate=true>
                <div class="field">
                    <label for="amend-entitlement">"Entitlement"</label>
                    <select id="amend-entitlement" name="entitlement">{entitlement_options(&list)}</select>
                </div>
                <div class="field">
                    <label for="amend-plan">"Plan"</label>
                    <select id="amend-plan" name="plan">
                        {plans.into_iter().map(|p| {
                            let selected = p.key == first.plan_key;
                            view! { <option value=p.key.clone() selected=selected>{format!("{} (v{})", p.name, p.version)}</option> }
                        }).collect_view()}
                    </select>
                    <p class="field-error">{move || field_error("plan").get()}</p>
                </div>
                <TextField id="amend-seats" name="seats" label="Seats (empty: the plan's)" kind="number" error=field_error("seats")/>
                <TextField id="amend-instances" name="instances" label="Instances (empty: the plan's)" kind="number" error=field_error("instances")/>
                <TextField id="amend-regions" name="regions" label="Regions (e.g. eu, us; empty: anywhere)" error=field_error("regions")/>
                <TextField id="amend-reason" name="reason" label="Reason" error=field_error("reason")/>
                {move || done().map(|message| view! { <p class="notice ok" role="status">{message}</p> })}
                <button type="submit" class="button primary">"Change the terms"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// Changes of terms proposed by one member of staff, for another to approve or reject.
#[component]
fn Proposals(pending: Vec<ProposedAmendmentView>, decide: ServerAction<DecideAmendment>) -> impl IntoView {
    let error = move || decide.value().get().and_then(Result::err).map(|e| e.to_string());
    (!pending.is_empty() || error().is_some()).then(|| {
        view! {
            <section class="card proposals" aria-labelledby="proposals-title">
                <h2 id="proposals-title">"Waiting for a second approval"</h2>
                <p class="form-error" role="alert">{error}</p>
                <ul class="requests">
                    {pending.into_iter().map(|a| {
                        let label = format!("{}: {}", a.product, a.summary);
                        view! {
                            <li class="card request">
                                <strong>{label}</strong>
                                <p>{format!("Proposed by {} on {}: {}", a.proposed_by, date(a.proposed_on), a.reason)}</p>
                                <ActionForm action=decide attr:class="inline">
                                    <input type="hidden" name="id" value=a.id/>
                                    <input type="hidden" name="decision" value="approve"/>
                                    <button type="submit" class="button primary small">"Approve the change"</button>
                                </ActionForm>
                                <ActionForm action=decide attr:class="inline">
                                    <input type="hidden" name="id" value=a.id/>
                                    <input type="hidden" name="decision" value="reject"/>
                                    <button type="submit" class="button danger small">"Reject it"</button>
                                </ActionForm>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        }
    })
}

/// A new entitlement to a product the customer does not have yet.
#[component]
fn GrantForm(
    customer: String,
    list: Vec<EntitlementView>,
    products: Vec<ProductCatalog>,
    grant: ServerAction<GrantEntitlement>,
) -> impl IntoView {
    let error = move || grant.value().get().and_then(Result::err);
    let field_error = move |f: &'static str| Signal::derive(move || error().and_then(|e| e.for_field(f)));
    let form_error = move || error().filter(|e| e.for_field_name().is_none()).map(|e| e.to_string());
    let done = move || grant.value().get().is_some_and(|r| r.is_ok());
    let open: Vec<ProductCatalog> = products.into_iter().filter(|p| !list.iter().any(|e| e.product == p.name)).collect();
    let Some(product) = open.first().cloned() else {
        return ().into_any();
    };
    view! {
        <section class="card grant" aria-labelledby="grant-title">
            <h2 id="grant-title">"Grant an entitlement"</h2>
            <ActionForm action=grant attr:class="form" attr:novalidate=true>
                <input type="hidden" name="customer" value=customer/>
                <div class="field">
                    <label for="grant-product">"Product"</label>
                    <select id="grant-product" name="product">
                        {open.iter().map(|p| view! { <option value=p.key.clone()>{p.name.clone()}</option> }).collect_view()}
                    </select>
                    <p class="field-error">{move || field_error("product").get()}</p>
                </div>
                <div class="field">
                    <label for="grant-plan">"Plan"</label>
                    <select id="grant-plan" name="plan">
                        {product.plans.iter().map(|p| view! { <option value=p.key.clone()>{format!("{} (v{})", p.name, p.version)}</option> }).collect_view()}
                    </select>
                </div>
                <fieldset class="addons">
                    <legend>"Add-ons"</legend>
                    {product.addons.iter().enumerate().map(|(i, a)| {
                        let (id, label_for) = (format!("grant-addon-{i}"), format!("grant-addon-{i}"));
                        view! {
                            <label class="check" for=label_for>
                                <input id=id type="checkbox" name=format!("addons[{i}]") value=a.key.clone()/>
                                " " {a.name.clone()}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <TextField id="grant-seats" name="seats" label="Seats (empty: the plan's)" kind="number" error=field_error("seats")/>
                <TextField id="grant-instances" name="instances" label="Instances (empty: the plan's)" kind="number" error=field_error("instances")/>
                <TextField id="grant-starts" name="starts" label="Starts (empty: today)" kind="date" error=field_error("starts")/>
                <TextField id="grant-ends" name="ends" label="Ends (empty: open-ended)" kind="date" error=field_error("ends")/>
                <TextField id="grant-renews" name="renews" label="Renews on" kind="date" error=field_error("renews")/>
                <TextField id="grant-trial" name="trial_days" label="Trial days (empty: no trial)" kind="number" error=field_error("trial_days")/>
                <TextField id="grant-regions" name="regions" label="Regions (e.g. eu, us; empty: anywhere)" error=field_error("regions")/>
                <label class="check"><input type="checkbox" name="auto_renew" value="on" checked=true/>" Renews by itself"</label>
                <TextField id="grant-reason" name="reason" label="Reason" error=field_error("reason")/>
                <p class="form-error" role="alert">{form_error}</p>
                <Show when=done><p class="notice ok" role="status">"Granted: the customer has it now."</p></Show>
                <button type="submit" class="button primary">"Grant"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// Opens `customer`'s portal (a POST: the opening is recorded in the audit log), then the
/// browser goes there.
#[component]
fn OpenPortalButton(open: ServerAction<OpenCustomerPortal>, customer: String, label: &'static str) -> impl IntoView {
    view! {
        <ActionForm action=open attr:class="inline">
            <input type="hidden" name="customer" value=customer/>
            <button type="submit" class="button secondary small">{label}</button>
        </ActionForm>
    }
}

/// `/customers/:slug/portal`: the customer's entitlements and requests as their admin
/// sees them, read-only, under a banner. Reading the address changes nothing: the portal
/// shows once it has been opened with a button, and every opening is in the audit log.
#[component]
pub fn ViewAsPage() -> impl IntoView {
    provide_context(ViewingAs);
    let slug = params_slug();
    let open = form_action::<OpenCustomerPortal>();
    let opened = Resource::new(move || (slug.clone(), open.version().get()), |(slug, _)| view_as_customer(slug));
    let slug = StoredValue::new(params_slug());
    view! {
        <Title text="Customer's portal"/>
        <Portal>
            <Suspense fallback=|| view! { <p class="loading">"Opening the customer's portal…"</p> }>
                {move || {
                    let slug = slug.get_value();
                    Suspend::new(async move {
                        match opened.await {
                            Ok(view_as) if view_as.opened => view! {
                                <div class="banner view-as" role="status">
                                    {format!("You are viewing {}'s portal as they see it. Read-only; this view is recorded in the audit log. ", view_as.name)}
                                    <a href=format!("/customers/{slug}")>"Back to the console"</a>
                                </div>
                                <EntitlementsOf customer=Some(slug.clone())/>
                                <CustomerRequests slug=slug.clone()/>
                            }.into_any(),
                            Ok(view_as) => view! {
                                <section class="card">
                                    <h1>{format!("{}'s portal", view_as.name)}</h1>
                                    <p>"You can view it read-only, as the customer's admins see it. Opening it is recorded in the audit log."</p>
                                    <OpenPortalButton open customer=slug.clone() label="Open the customer's portal"/>
                                    <p><a href=format!("/customers/{slug}")>"Back to the console"</a></p>
                                </section>
                            }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </Portal>
    }
}

#[component]
fn CustomerRequests(slug: String) -> impl IntoView {
    let requests = Resource::new(move || slug.clone(), |s| list_requests(Some(s)));
    view! {
        <h2>"Change requests"</h2>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match requests.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No requests."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="requests">
                            {list.into_iter().map(|r| view! {
                                <li class="card request">
                                    <strong>{r.summary()}</strong> " · " {r.status.label()}
                                    {r.comment.clone().map(|c| view! { <p class="comment">{c}</p> })}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

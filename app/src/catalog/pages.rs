//! `/catalog`: the vendor admin's catalog: plans and their versions, features, add-ons,
//! approval rules, API keys and signing keys.

use leptos::prelude::*;
use leptos_meta::Title;

use super::api::{
    get_catalog, get_keys, AddAddon, AddFeature, AddProduct, AddRule, CreateApiKey, MovePlanVersion, RetireRule, RetireSigningKey,
    RevokeApiKey, RotateApiKey, RotateSigningKey, SavePlan, SetApiKeyScopes,
};
use super::{FeatureDef, KeysView, PlanVersion, ProductCatalog, RuleEffect, RULE_PRESETS};
use crate::components::format::{date, day_of_secs, thousands};
use crate::components::layout::{ErrorNotice, Portal};
use crate::components::outcome::form_action;
use crate::error::AppError;
use crate::requests::RequestKind;

/// The catalog's forms, shared so that any change reloads the page's data.
#[derive(Clone, Copy)]
struct Actions {
    save_plan: ServerAction<SavePlan>,
    move_version: ServerAction<MovePlanVersion>,
    add_feature: ServerAction<AddFeature>,
    add_addon: ServerAction<AddAddon>,
    add_rule: ServerAction<AddRule>,
    retire_rule: ServerAction<RetireRule>,
    add_product: ServerAction<AddProduct>,
}

impl Actions {
    fn version(&self) -> usize {
        self.save_plan.version().get()
            + self.move_version.version().get()
            + self.add_feature.version().get()
            + self.add_addon.version().get()
            + self.add_rule.version().get()
            + self.retire_rule.version().get()
            + self.add_product.version().get()
    }
}

/// `/catalog`: for vendor admins.
#[component]
pub fn CatalogPage() -> impl IntoView {
    let actions = Actions {
        save_plan: form_action(),
        move_version: form_action(),
        add_feature: form_action(),
        add_addon: form_action(),
        add_rule: form_action(),
        retire_rule: form_action(),
        add_product: form_action(),
    };
    let catalog = Resource::new(move || actions.version(), |_| get_catalog(None));
    view! {
        <Title text="Catalog"/>
        <Portal>
            <h1>"Catalog"</h1>
            <p class="muted">"Changing a plan makes a new version: customers stay on the version they have until you move them."</p>
            <Transition fallback=|| view! { <p class="loading">"Loading the catalog…"</p> }>
                {move || Suspend::new(async move {
                    match catalog.await {
                        Ok(c) => {
                            view! {
                                {c.products.into_iter().map(|p| view! { <Product p actions/> }).collect_view()}
                                <details class="catalog-form">
                                    <summary>"New product"</summary>
                                    <ActionForm action=actions.add_product attr:class="form" attr:novalidate=true>
                                        <Field id="product-key" name="key" label="Key (e.g. acme-reports)"/>
                                        <Field id="product-name" name="name" label="Name"/>
                                        <Field id="product-reason" name="reason" label="Reason"/>
                                        <button type="submit" class="button primary">"Add the product"</button>
                                    </ActionForm>
                                </details>
                                <Errors action=actions.add_product done="Product added: give it features, plans and an API key."/>
                            }
                            .into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
            // Beside the catalog rather than inside it: a section that loads on its own
            // hydrates the same however fast either answer came.
            <Keys catalog/>
        </Portal>
    }
}

#[component]
fn Product(p: ProductCatalog, actions: Actions) -> impl IntoView {
    let product = p.key.clone();
    let plans = p.plans.clone();
    let features = p.features.clone();
    let plan_rows = p
        .plans
        .iter()
        .cloned()
        .map(|plan| view! { <PlanRow product=product.clone() plan features=features.clone() actions/> })
        .collect_view();
    let rules = p
        .rules
        .iter()
        .map(|r| {
            let id = r.id;
            let label = format!("Retire the rule: {}", r.describe());
            view! {
                <li>
                    {r.describe()}
                    <ActionForm action=actions.retire_rule attr:class="inline">
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" class="button secondary small" aria-label=label>"Retire"</button>
                    </ActionForm>
                </li>
            }
        })
        .collect_view();
    let addons = p
        .addons
        .iter()
        .map(|a| {
            let mut brings: Vec<String> = a
                .features
                .iter()
                .map(|f| match f.quota {
                    Some(q) => format!("{} +{}", f.name, thousands(q)),
                    None => f.name.clone(),
                })
                .collect();
            if a.seats > 0 {
                brings.push(format!("+{} seats", a.seats));
            }
            if a.instances > 0 {
                brings.push(format!("+{} instances", a.instances));
            }
            view! { <tr><td>{a.name.clone()}</td><td><code>{a.key.clone()}</code></td><td>{brings.join(", ")}</td></tr> }
        })
        .collect_view();
    let feature_rows = p
        .features
        .iter()
        .map(|f| {
            let kind =
                if f.metered { format!("metered ({})", f.unit.clone().unwrap_or_else(|| "units".into())) } else { "on/off".to_owned() };
            view! { <tr><td>{f.name.clone()}</td><td><code>{f.key.clone()}</code></td><td>{kind}</td></tr> }
        })
        .collect_view();
    let heading = format!("{}-title", p.key);
    let heading_id = heading.clone();
    let (key, key2, key3, key4) = (p.key.clone(), p.key.clone(), p.key.clone(), p.key.clone());
    let (features2, features3) = (p.features.clone(), p.features.clone());
    let has_rules = !p.rules.is_empty();
    let rule_plans = p.plans.clone();
    view! {
        <section class="card catalog-product" aria-labelledby=heading>
            <h2 id=heading_id>{p.name.clone()}</h2>
            <h3>"Plans"</h3>
            <table class="table plans">
                <thead><tr>
                    <th scope="col">"Plan"</th><th scope="col">"Version"</th><th scope="col">"Seats"</th><th scope="col">"Instances"</th><th scope="col">"Offline"</th>
                    <th scope="col">"Features"</th><th scope="col">"Customers"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>{plan_rows}</tbody>
            </table>
            <Errors action=actions.move_version done="Moved to the newest version."/>
            <details class="catalog-form">
                <summary>"New plan"</summary>
                <PlanForm product=key features=features2 plan=None rank=plans.len() as i64 save=actions.save_plan/>
            </details>
            <Errors action=actions.save_plan done="Saved as a new version."/>

            <h3>"Features"</h3>
            <table class="table features">
                <thead><tr><th scope="col">"Feature"</th><th scope="col">"Key"</th><th scope="col">"Kind"</th></tr></thead>
                <tbody>{feature_rows}</tbody>
            </table>
            <details class="catalog-form">
                <summary>"New feature"</summary>
                <ActionForm action=actions.add_feature attr:class="form" attr:novalidate=true>
                    <input type="hidden" name="product" value=key2/>
                    <Field id="feature-key" name="key" label="Key (e.g. reports.schedule)"/>
                    <Field id="feature-name" name="name" label="Name"/>
                    <label class="check"><input type="checkbox" name="metered" value="on"/>" Metered (usage is counted)"</label>
                    <Field id="feature-unit" name="unit" label="Unit (metered only, e.g. calls)"/>
                    <Field id="feature-reason" name="reason" label="Reason"/>
                    <button type="submit" class="button primary">"Add the feature"</button>
                </ActionForm>
            </details>
            <Errors action=actions.add_feature done="Feature added."/>

            <h3>"Add-ons"</h3>
            <table class="table addons">
                <thead><tr><th scope="col">"Add-on"</th><th scope="col">"Key"</th><th scope="col">"Brings"</th></tr></thead>
                <tbody>{addons}</tbody>
            </table>
            <details class="catalog-form">
                <summary>"New add-on"</summary>
                <ActionForm action=actions.add_addon attr:class="form" attr:novalidate=true>
                    <input type="hidden" name="product" value=key3/>
                    <Field id="addon-key" name="key" label="Key (e.g. sso-addon)"/>
                    <Field id="addon-name" name="name" label="Name"/>
                    <Field id="addon-seats" name="seats" label="Extra seats" value="0"/>
                    <Field id="addon-instances" name="instances" label="Extra instances" value="0"/>
                    <FeatureChoices prefix="addon" features=features3 plan=None/>
                    <Field id="addon-reason" name="reason" label="Reason"/>
                    <button type="submit" class="button primary">"Add the add-on"</button>
                </ActionForm>
            </details>
            <Errors action=actions.add_addon done="Add-on added."/>

            <h3>"Approval rules"</h3>
            {if !has_rules {
                view! { <p class="muted">"Every request waits for one person on the staff."</p> }.into_any()
            } else {
                view! { <ul class="rules">{rules}</ul> }.into_any()
            }}
            <Errors action=actions.retire_rule done="Rule retired."/>
            <details class="catalog-form">
                <summary>"New rule"</summary>
                <RuleForm product=key4 plans=rule_plans add=actions.add_rule/>
            </details>
            <Errors action=actions.add_rule done="Rule added: requests filed from now on follow it."/>
        </section>
    }
}

/// What a form's last submission came to: its error, or `done`.
#[component]
fn Errors<A>(action: ServerAction<A>, done: &'static str) -> impl IntoView
where
    A: leptos::server_fn::ServerFn + Clone + Send + Sync + 'static,
    A::Output: Clone + Send + Sync + 'static,
    A::Error: Clone + Send + Sync + std::fmt::Display + 'static,
{
    view! {
        {move || action.value().get().map(|r| match r {
            Ok(_) => view! { <p class="notice ok" role="status">{done}</p> }.into_any(),
            Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
        })}
    }
}

#[component]
fn Field(id: &'static str, name: &'static str, label: &'static str, #[prop(optional, into)] value: String) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id name=name type="text" value=value/>
        </div>
    }
}

/// How long a plan's licences let a site stay offline, in words.
fn offline_days(days: i64) -> String {
    match days {
        0 => "Online only".to_owned(),
        1 => "Up to 1 day".to_owned(),
        n => format!("Up to {n} days"),
    }
}

#[component]
fn PlanRow(product: String, plan: PlanVersion, features: Vec<FeatureDef>, actions: Actions) -> impl IntoView {
    let names = plan
        .features
        .iter()
        .map(|f| match f.quota {
            Some(q) => format!("{} ({})", f.name, thousands(q)),
            None => f.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let customers = if plan.on_older_versions > 0 {
        format!("{} on v{}, {} on older versions", plan.on_this_version, plan.version, plan.on_older_versions)
    } else {
        format!("{} on v{}", plan.on_this_version, plan.version)
    };
    let move_form = (plan.on_older_versions > 0).then(|| {
        let label = format!("Move every {} customer to version {}", plan.name, plan.version);
        let reason_label = format!("Reason for moving {} customers", plan.name);
        let (product, key) = (product.clone(), plan.key.clone());
        view! {
            <ActionForm action=actions.move_version attr:class="inline move-version">
                <input type="hidden" name="product" value=product/>
                <input type="hidden" name="plan" value=key/>
                <input type="text" name="reason" aria-label=reason_label placeholder="Reason"/>
                <button type="submit" class="button secondary small" aria-label=label>{format!("Move to v{}", plan.version)}</button>
            </ActionForm>
        }
    });
    let edit_label = format!("Edit {}", plan.name);
    view! {
        <tr>
            <td>{plan.name.clone()} " " <code>{plan.key.clone()}</code></td>
            <td>{format!("v{}", plan.version)}</td>
            <td>{thousands(plan.seats)}</td>
            <td>{thousands(plan.instances)}</td>
            <td>{offline_days(plan.offline_days)}</td>
            <td>{names}</td>
            <td>{customers} {move_form}</td>
            <td>
                <details class="catalog-form">
                    <summary aria-label=edit_label>"Edit"</summary>
                    <PlanForm product=product.clone() features rank=plan.rank plan=Some(plan.clone()) save=actions.save_plan/>
                </details>
            </td>
        </tr>
    }
}

/// A plan's terms: a new plan, or (prefilled) the next version of `plan`.
#[component]
fn PlanForm(
    product: String,
    features: Vec<FeatureDef>,
    plan: Option<PlanVersion>,
    rank: i64,
    save: ServerAction<SavePlan>,
) -> impl IntoView {
    let prefix = plan.as_ref().map(|p| format!("plan-{}", p.key)).unwrap_or_else(|| "plan-new".to_owned());
    let id = {
        let prefix = prefix.clone();
        move |what: &str| format!("{prefix}-{what}")
    };
    let value = |f: fn(&PlanVersion) -> i64, default: i64| plan.as_ref().map(f).unwrap_or(default).to_string();
    let (rank_v, seats_v, instances_v, trial_v, grace_v, offline_v) = (
        value(|p| p.rank, rank),
        value(|p| p.seats, 10),
        value(|p| p.instances, 3),
        value(|p| p.trial_days, 14),
        value(|p| p.grace_days, 7),
        value(|p| p.offline_days, 30),
    );
    let name_v = plan.as_ref().map(|p| p.name.clone()).unwrap_or_default();
    let submit = match &plan {
        Some(p) => format!("Save as version {}", p.version + 1),
        None => "Create the plan".to_owned(),
    };
    let key_input = match &plan {
        Some(p) => view! { <input type="hidden" name="key" value=p.key.clone()/> }.into_any(),
        None => view! {
            <div class="field">
                <label for=id("key")>"Key (e.g. growth)"</label>
                <input id=id("key") name="key" type="text"/>
            </div>
        }
        .into_any(),
    };
    let id2 = id.clone();
    let number = move |what: &'static str, label: &'static str, v: String| {
        let field = id2(what);
        view! {
            <div class="field">
                <label for=field.clone()>{label}</label>
                <input id=field name=what type="number" min="0" value=v/>
            </div>
        }
    };
    view! {
        <ActionForm action=save attr:class="form plan-form" attr:novalidate=true>
            <input type="hidden" name="product" value=product/>
            {key_input}
            <div class="field">
                <label for=id("name")>"Name"</label>
                <input id=id("name") name="name" type="text" value=name_v/>
            </div>
            {number.clone()("rank", "Tier (0 is the lowest)", rank_v)}
            {number.clone()("seats", "Seats", seats_v)}
            {number.clone()("instances", "Instances", instances_v)}
            {number.clone()("trial_days", "Trial days", trial_v)}
            {number.clone()("grace_days", "Grace days", grace_v)}
            {number("offline_days", "Offline days (0: online only)", offline_v)}
            <FeatureChoices prefix=prefix.clone() features plan=plan.clone() with_rules=true/>
            <div class="field">
                <label for=id("reason")>"Reason"</label>
                <input id=id("reason") name="reason" type="text"/>
            </div>
            <button type="submit" class="button primary">{submit}</button>
        </ActionForm>
    }
}

/// A checkbox per feature (checked when `plan` grants it) and a monthly quota for the
/// metered ones.
#[component]
fn FeatureChoices(
    #[prop(into)] prefix: String,
    features: Vec<FeatureDef>,
    plan: Option<PlanVersion>,
    /// Offer what each feature requires (plans; add-ons take the defaults).
    #[prop(optional)]
    with_rules: bool,
) -> impl IntoView {
    let rows = features
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let granted = plan.as_ref().and_then(|p| p.features.iter().find(|g| g.key == f.key));
            let check_id = format!("{prefix}-f-{i}");
            let quota = f.metered.then(|| {
                let quota_id = format!("{prefix}-q-{i}");
                let value = granted.and_then(|g| g.quota).map(|q| q.to_string()).unwrap_or_default();
                view! {
                    <label for=quota_id.clone() class="quota">{format!("{} a month", f.unit.clone().unwrap_or_else(|| "units".into()))}</label>
                    <input id=quota_id name=format!("quotas[{}]", f.key) type="number" min="0" value=value placeholder="unlimited"/>
                }
            });
            let rule = with_rules.then(|| {
                let rule_id = format!("{prefix}-r-{i}");
                let current = plan
                    .as_ref()
                    .and_then(|p| p.rules.iter().find(|(k, _)| *k == f.key))
                    .map(|(_, r)| r.clone())
                    .unwrap_or_else(|| if f.metered { "quota".to_owned() } else { "seat_or_instance".to_owned() });
                let custom = (current == "custom").then(|| view! { <option value="custom" selected=true>"Its own rule (kept)"</option> });
                view! {
                    <label for=rule_id.clone() class="rule">"requires"</label>
                    <select id=rule_id name=format!("rules[{}]", f.key)>
                        {custom}
                        {RULE_PRESETS.iter().map(|(name, words)| view! { <option value=*name selected=current == *name>{*words}</option> }).collect_view()}
                    </select>
                }
            });
            view! {
                <div class="feature-choice">
                    <input id=check_id.clone() type="checkbox" name=format!("features[{i}]") value=f.key.clone() checked=granted.is_some()/>
                    <label for=check_id>{f.name.clone()}</label>
                    {quota}
                    {rule}
                </div>
            }
        })
        .collect_view();
    view! {
        <fieldset class="features">
            <legend>"Features"</legend>
            {rows}
        </fieldset>
    }
}

#[component]
fn RuleForm(product: String, plans: Vec<PlanVersion>, add: ServerAction<AddRule>) -> impl IntoView {
    view! {
        <ActionForm action=add attr:class="form" attr:novalidate=true>
            <input type="hidden" name="product" value=product/>
            <div class="field">
                <label for="rule-effect">"Effect"</label>
                <select id="rule-effect" name="effect">
                    {RuleEffect::ALL.into_iter().map(|e| view! { <option value=e.as_str()>{e.label()}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="rule-kind">"Requests for"</label>
                <select id="rule-kind" name="kind">
                    {RequestKind::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="rule-plan">"On plan"</label>
                <select id="rule-plan" name="plan">
                    <option value="">"Any plan"</option>
                    {plans.into_iter().map(|p| view! { <option value=p.key.clone()>{p.name.clone()}</option> }).collect_view()}
                </select>
            </div>
            <Field id="rule-min-seats" name="min_seats" label="At least this many seats (seat requests)"/>
            <Field id="rule-max-seats" name="max_seats" label="At most this many seats (seat requests)"/>
            <Field id="rule-jump" name="min_rank_jump" label="Moving at least this many tiers (plan changes)"/>
            <button type="submit" class="button primary">"Add the rule"</button>
        </ActionForm>
    }
}

/// What an API key may do: (scope, what it opens).
const API_KEY_SCOPES: [(&str, &str); 3] = [
    ("enforce", "Checks, instances, usage and licences, for any customer."),
    ("provision", "The provisioning API."),
    ("read", "Read-only access."),
];

/// API keys and signing keys.
#[component]
fn Keys(catalog: Resource<Result<super::CatalogView, AppError>>) -> impl IntoView {
    let create = form_action::<CreateApiKey>();
    let rotate = form_action::<RotateApiKey>();
    let revoke = form_action::<RevokeApiKey>();
    let scopes = form_action::<SetApiKeyScopes>();
    let rotate_signing = form_action::<RotateSigningKey>();
    let retire = form_action::<RetireSigningKey>();
    let keys = Resource::new(
        move || {
            (
                create.version().get(),
                rotate.version().get(),
                revoke.version().get(),
                scopes.version().get(),
                rotate_signing.version().get(),
                retire.version().get(),
            )
        },
        |_| get_keys(),
    );
    let issued = move || create.value().get().and_then(Result::ok).or_else(|| rotate.value().get().and_then(Result::ok));
    view! {
        <section class="card keys" aria-labelledby="keys-title">
            <h2 id="keys-title">"API keys and signing keys"</h2>
            {move || issued().map(|k| view! {
                <div class="notice ok issued-key" role="status">
                    <p>{format!("New key “{}”. Copy it now: it is not shown again.", k.name)}</p>
                    <code class="secret">{k.key}</code>
                </div>
            })}
            <Errors action=create done="Key created."/>
            <Errors action=rotate done="Key rotated: the old key no longer works."/>
            <Errors action=revoke done="Key revoked."/>
            <Errors action=scopes done="Scopes saved."/>
            <Errors action=rotate_signing done="New signing key: tokens signed before still verify."/>
            <Errors action=retire done="Signing key retired: tokens it signed no longer verify."/>
            <Transition fallback=|| view! { <p class="loading">"Loading keys…"</p> }>
                {move || Suspend::new(async move {
                    match (keys.await, catalog.await) {
                        (Ok(k), Ok(c)) => {
                            let products: Vec<(String, String)> = c.products.iter().map(|p| (p.key.clone(), p.name.clone())).collect();
                            view! {
                                <KeyTables k rotate revoke scopes retire/>
                                <NewKeyForm products create/>
                            }
                            .into_any()
                        }
                        (Err(error), _) | (_, Err(error)) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
            <ActionForm action=rotate_signing attr:class="inline">
                <button type="submit" class="button secondary">"Rotate the signing key"</button>
            </ActionForm>
        </section>
    }
}

/// Makes an API key for one of `products`, with its scopes (`enforce` ticked at first).
#[component]
fn NewKeyForm(products: Vec<(String, String)>, create: ServerAction<CreateApiKey>) -> impl IntoView {
    view! {
        <ActionForm action=create attr:class="form inline-form" attr:novalidate=true>
            <div class="field">
                <label for="key-product">"Product"</label>
                <select id="key-product" name="product">
                    {products.into_iter().map(|(key, name)| view! { <option value=key>{name}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="key-name">"New API key name"</label>
                <input id="key-name" name="name" type="text" placeholder="e.g. Production"/>
            </div>
            <fieldset class="scopes">
                <legend>"Scopes"</legend>
                {API_KEY_SCOPES
                    .iter()
                    .map(|(scope, what)| {
                        let id = format!("key-scope-{scope}");
                        view! {
                            <div class="scope-choice">
                                <input id=id.clone() type="checkbox" name=*scope value="on" checked=*scope == "enforce"/>
                                <label for=id>{*scope}</label>
                                <span class="muted small">{*what}</span>
                            </div>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <button type="submit" class="button primary">"Create a key"</button>
        </ActionForm>
    }
}

#[component]
fn KeyTables(
    k: KeysView,
    rotate: ServerAction<RotateApiKey>,
    revoke: ServerAction<RevokeApiKey>,
    scopes: ServerAction<SetApiKeyScopes>,
    retire: ServerAction<RetireSigningKey>,
) -> impl IntoView {
    let api_rows = k
        .api_keys
        .into_iter()
        .map(|key| {
            let live = key.revoked_at.is_none();
            let state = match key.revoked_at {
                Some(at) => format!("Revoked {}", date(day_of_secs(at))),
                None => "Live".to_owned(),
            };
            let scope_form = live.then(|| {
                let id = key.id;
                let (group, label) = (format!("Scopes of the key {}", key.name), format!("Save the scopes of the key {}", key.name));
                let boxes = API_KEY_SCOPES
                    .iter()
                    .map(|(scope, what)| {
                        let on = key.scopes.iter().any(|s| s == scope);
                        view! {
                            <label class="check" title=*what><input type="checkbox" name=*scope value="on" checked=on/>{*scope}</label>
                        }
                    })
                    .collect_view();
                view! {
                    <ActionForm action=scopes attr:class="inline scopes-form">
                        <input type="hidden" name="id" value=id/>
                        <span class="scope-boxes" role="group" aria-label=group>{boxes}</span>
                        <button type="submit" class="button secondary small" aria-label=label>"Save scopes"</button>
                    </ActionForm>
                }
            });
            let buttons = live.then(|| {
                let id = key.id;
                let (rotate_label, revoke_label) = (format!("Rotate the key {}", key.name), format!("Revoke the key {}", key.name));
                view! {
                    <ActionForm action=rotate attr:class="inline">
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" class="button secondary small" aria-label=rotate_label>"Rotate"</button>
                    </ActionForm>
                    <ActionForm action=revoke attr:class="inline">
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" class="button danger small" aria-label=revoke_label>"Revoke"</button>
                    </ActionForm>
                }
            });
            view! {
                <tr class:muted=!live>
                    <td>{key.name.clone()}</td>
                    <td><code>{format!("{}…", key.prefix)}</code></td>
                    <td>{key.product.clone()}</td>
                    <td class="scopes"><span class="scope-list">{key.scopes.join(", ")}</span> {scope_form}</td>
                    <td>{date(day_of_secs(key.created_at))}</td>
                    <td>{state}</td>
                    <td class="actions">{buttons}</td>
                </tr>
            }
        })
        .collect_view();
    let signing_rows = k
        .signing_keys
        .into_iter()
        .map(|key| {
            let state = match (key.active, key.retired_at) {
                (true, _) => "Signs new tokens".to_owned(),
                (false, None) => "Verifies older tokens".to_owned(),
                (false, Some(at)) => format!("Retired {}", date(day_of_secs(at))),
            };
            let button = (!key.active && key.retired_at.is_none()).then(|| {
                let (kid, label) = (key.kid.clone(), format!("Retire the signing key {}", key.kid));
                view! {
                    <ActionForm action=retire attr:class="inline">
                        <input type="hidden" name="kid" value=kid/>
                        <button type="submit" class="button danger small" aria-label=label>"Retire"</button>
                    </ActionForm>
                }
            });
            view! {
                <tr>
                    <td><code>{key.kid.clone()}</code></td>
                    <td>{date(day_of_secs(key.created_at))}</td>
                    <td>{state}</td>
                    <td class="actions">{button}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table api-keys">
            <caption>"API keys"</caption>
            <thead><tr>
                <th scope="col">"Name"</th><th scope="col">"Key"</th><th scope="col">"Product"</th><th scope="col">"Scopes"</th>
                <th scope="col">"Created"</th>
                <th scope="col">"State"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
            </tr></thead>
            <tbody>{api_rows}</tbody>
        </table>
        <table class="table signing-keys">
            <caption>"Signing keys (published in /.well-known/jwks.json)"</caption>
            <thead><tr>
                <th scope="col">"Key id"</th><th scope="col">"Created"</th><th scope="col">"State"</th>
                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
            </tr></thead>
            <tbody>{signing_rows}</tbody>
        </table>
    }
}

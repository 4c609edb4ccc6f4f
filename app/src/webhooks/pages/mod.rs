//! `/webhooks`: the endpoints every published event is posted to, for vendor admins; the
//! widgets the webhook pages share. Each endpoint's settings and delivery log are at
//! `/webhooks/:id`, one delivery's attempts at `/webhooks/:id/deliveries/:delivery`.

mod delivery;
mod endpoint;

pub use delivery::WebhookDeliveryPage;
pub use endpoint::WebhookPage;

use leptos::prelude::*;
use leptos_meta::Title;

use super::api::{get_webhooks, CreateWebhook, RemoveWebhook, RotateWebhookSecret, SetWebhookEnabled};
use super::{status_label, DeliveryCounts, EventTypeView, IssuedSecret, WebhookView, WebhooksView};
use crate::components::fields::TextField;
use crate::components::format::{date_time, thousands};
use crate::components::layout::{ErrorNotice, Portal};
use crate::components::outcome::form_action;
use crate::error::AppError;

/// The forms of the endpoints' table, shared by its rows.
#[derive(Clone, Copy)]
struct RowActions {
    disable: ServerAction<SetWebhookEnabled>,
    enable: ServerAction<SetWebhookEnabled>,
    rotate: ServerAction<RotateWebhookSecret>,
    remove: ServerAction<RemoveWebhook>,
}

/// `/webhooks`: for vendor admins.
#[component]
pub fn WebhooksPage() -> impl IntoView {
    let create = form_action::<CreateWebhook>();
    let actions = RowActions { disable: form_action(), enable: form_action(), rotate: form_action(), remove: form_action() };
    let hooks = Resource::new(
        move || {
            (
                create.version().get(),
                actions.disable.version().get(),
                actions.enable.version().get(),
                actions.rotate.version().get(),
                actions.remove.version().get(),
            )
        },
        |_| get_webhooks(),
    );
    // The secret issued by either form, shown once: it is in this answer only.
    let issued = move || {
        let created = create.value().get().and_then(Result::ok);
        created.or_else(|| actions.rotate.value().get().and_then(Result::ok))
    };
    view! {
        <Title text="Webhooks"/>
        <Portal>
            <h1>"Webhooks"</h1>
            <p class="muted">
                "Tessera posts each published event to these endpoints as it happens, signed as the Standard Webhooks specification says, "
                "and tries a failed delivery again after growing waits."
            </p>
            {move || issued().map(|issued| view! { <SecretNotice issued/> })}
            <Outcome action=actions.disable done=Some("Endpoint disabled: nothing is sent to it until it is enabled again.")/>
            <Outcome action=actions.enable done=Some("Endpoint enabled: it goes on from the event it had reached.")/>
            <Outcome action=actions.rotate done=None/>
            <Outcome action=actions.remove done=Some("Endpoint removed with its delivery log.")/>
            <Transition fallback=|| view! { <p class="loading">"Loading the endpoints…"</p> }>
                {move || Suspend::new(async move {
                    match hooks.await {
                        Ok(WebhooksView { endpoints, event_types }) => {
                            view! {
                                <Endpoints endpoints actions/>
                                <NewEndpointForm types=event_types create/>
                            }
                            .into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </Portal>
    }
}

/// A signing secret just made: shown this once.
#[component]
fn SecretNotice(issued: IssuedSecret) -> impl IntoView {
    let what = if issued.rotated {
        format!("New signing secret for {}.", issued.url)
    } else {
        format!("Endpoint {} added. Its signing secret:", issued.url)
    };
    let previous = issued.previous_until.map(|until| {
        view! { <p class="small">{format!("The secret before it signs each delivery too until {}.", date_time(until))}</p> }
    });
    view! {
        <div class="notice ok issued-key" role="status">
            <p>{what} " Copy it now: it is not shown again."</p>
            <code class="secret" data-testid="signing-secret">{issued.secret}</code>
            {previous}
        </div>
    }
}

/// Every endpoint, with what can be done to each.
#[component]
fn Endpoints(endpoints: Vec<WebhookView>, actions: RowActions) -> impl IntoView {
    if endpoints.is_empty() {
        return view! { <p class="notice">"No endpoint yet: add one below."</p> }.into_any();
    }
    let rows = endpoints.into_iter().map(|hook| view! { <EndpointRow hook actions/> }).collect_view();
    view! {
        <div class="table-scroll">
            <table class="table webhooks">
                <caption>"Endpoints"</caption>
                <thead><tr>
                    <th scope="col">"URL"</th><th scope="col">"Event types"</th><th scope="col">"State"</th>
                    <th scope="col">"Failing since"</th><th scope="col">"Deliveries"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn EndpointRow(hook: WebhookView, actions: RowActions) -> impl IntoView {
    let RowActions { disable, enable, rotate, remove } = actions;
    let id = hook.id;
    let url = hook.url.clone();
    let (disable_label, enable_label) = (format!("Disable {url}"), format!("Enable {url}"));
    let (deliveries_label, overlap_label) =
        (format!("Deliveries of {url}"), format!("Hours the secret before still signs deliveries to {url}"));
    let (rotate_label, remove_label) = (format!("Rotate the secret of {url}"), format!("Remove {url}"));
    let types = if hook.event_types.is_empty() { "All events".to_owned() } else { hook.event_types.join(", ") };
    let failing = hook.failing_since.map(date_time).unwrap_or_else(|| "—".to_owned());
    let switch = if hook.enabled {
        view! {
            <ActionForm action=disable attr:class="inline">
                <input type="hidden" name="id" value=id/>
                <input type="hidden" name="enabled" value="0"/>
                <button type="submit" class="button secondary small" aria-label=disable_label>"Disable"</button>
            </ActionForm>
        }
        .into_any()
    } else {
        view! {
            <ActionForm action=enable attr:class="inline">
                <input type="hidden" name="id" value=id/>
                <input type="hidden" name="enabled" value="1"/>
                <button type="submit" class="button secondary small" aria-label=enable_label>"Enable"</button>
            </ActionForm>
        }
        .into_any()
    };
    view! {
        <tr>
            <td>
                <code>{hook.url.clone()}</code>
                {(!hook.description.is_empty()).then(|| view! { <br/><span class="muted small">{hook.description.clone()}</span> })}
            </td>
            <td>{types}</td>
            <td><EndpointState hook=hook.clone()/></td>
            <td>{failing}</td>
            <td><Counts counts=hook.counts/></td>
            <td class="actions">
                <a href=format!("/webhooks/{id}") aria-label=deliveries_label>"Deliveries"</a>
                {switch}
                <ActionForm action=rotate attr:class="inline">
                    <input type="hidden" name="id" value=id/>
                    <input type="number" name="overlap_hours" min="0" max="168" value="24" class="small"
                        aria-label=overlap_label/>
                    <button type="submit" class="button secondary small" aria-label=rotate_label>
                        "Rotate secret"
                    </button>
                </ActionForm>
                <ActionForm action=remove attr:class="inline">
                    <input type="hidden" name="id" value=id/>
                    <button type="submit" class="button danger small" aria-label=remove_label>"Remove"</button>
                </ActionForm>
            </td>
        </tr>
    }
}

/// Enabled, or disabled and why.
#[component]
fn EndpointState(hook: WebhookView) -> impl IntoView {
    if hook.enabled {
        view! { <span class="badge status-active">"Enabled"</span> }.into_any()
    } else {
        let reason = hook.disabled_reason.unwrap_or_default();
        view! { <span class="badge status-suspended">"Disabled"</span> " " <span class="muted small">{reason}</span> }.into_any()
    }
}

/// How many deliveries are in each state.
#[component]
fn Counts(counts: DeliveryCounts) -> impl IntoView {
    let text =
        format!("{} pending · {} delivered · {} failed", thousands(counts.pending), thousands(counts.delivered), thousands(counts.failed));
    view! { <span class="counts">{text}</span> }
}

/// A delivery's state as a badge.
#[component]
fn DeliveryState(#[prop(into)] status: String) -> impl IntoView {
    let class = match status.as_str() {
        "delivered" => "badge status-active",
        "failed" => "badge status-suspended",
        _ => "badge status-trial",
    };
    view! { <span class=class>{status_label(&status).to_owned()}</span> }
}

/// Adds an endpoint; its secret is shown once, above.
#[component]
fn NewEndpointForm(types: Vec<EventTypeView>, create: ServerAction<CreateWebhook>) -> impl IntoView {
    let error = move || create.value().get().and_then(Result::err);
    let field = move |name: &'static str| Signal::derive(move || error().and_then(|e| e.for_field(name)));
    let other = move || error().and_then(unplaced);
    view! {
        <section class="card" aria-labelledby="new-webhook-title">
            <h2 id="new-webhook-title">"Add an endpoint"</h2>
            <ActionForm action=create attr:class="form" attr:novalidate=true>
                <TextField id="new-webhook-url" name="url" label="URL" value=String::new() kind="url" error=field("url")/>
                <TextField
                    id="new-webhook-description"
                    name="description"
                    label="Description"
                    value=String::new()
                    kind="text"
                    error=field("description")
                />
                <EventTypeChoices prefix="new-webhook" types chosen=Vec::new() error=field("event_types")/>
                <p class="form-error" role="alert">{other}</p>
                <button type="submit" class="button primary" disabled=move || create.pending().get()>"Add the endpoint"</button>
            </ActionForm>
        </section>
    }
}

/// A checkbox per published event type, ticked when `chosen` names it; none ticked means
/// every type. Folded away unless some are ticked.
#[component]
fn EventTypeChoices(prefix: &'static str, types: Vec<EventTypeView>, chosen: Vec<String>, error: Signal<Option<String>>) -> impl IntoView {
    let open = !chosen.is_empty();
    let boxes = types
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let id = format!("{prefix}-type-{i}");
            let ticked = chosen.contains(&t.name);
            view! {
                <div class="feature-choice">
                    <input id=id.clone() type="checkbox" name=format!("event_types[{i}]") value=t.name.clone() checked=ticked/>
                    <label for=id>{t.name.clone()}</label>
                    <span class="muted small">{t.description}</span>
                </div>
            }
        })
        .collect_view();
    let error_id = format!("{prefix}-types-error");
    view! {
        <details class="catalog-form" open=open>
            <summary>"Event types (none ticked: all of them)"</summary>
            <fieldset class="features" aria-describedby=error_id.clone()>
                <legend>"Event types"</legend>
                {boxes}
            </fieldset>
        </details>
        <p class="field-error" id=error_id>{move || error.get()}</p>
    }
}

/// The fields of an endpoint's form, which show their own errors.
const FIELDS: [&str; 3] = ["url", "description", "event_types"];

/// The words of an error of an endpoint's form that none of its fields shows.
fn unplaced(error: AppError) -> Option<String> {
    (!error.for_field_name().is_some_and(|field| FIELDS.contains(&field))).then(|| error.to_string())
}

/// What a form's last submission came to: `done` (when given), or its error.
#[component]
fn Outcome<A>(action: ServerAction<A>, done: Option<&'static str>) -> impl IntoView
where
    A: leptos::server_fn::ServerFn + Clone + Send + Sync + 'static,
    A::Output: Clone + Send + Sync + 'static,
    A::Error: Clone + Send + Sync + std::fmt::Display + 'static,
{
    view! {
        {move || action.value().get().and_then(|r| match r {
            Ok(_) => done.map(|done| view! { <p class="notice ok" role="status">{done}</p> }.into_any()),
            Err(e) => Some(view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any()),
        })}
    }
}

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{unplaced, Counts, DeliveryState, EndpointState, EventTypeChoices, Outcome, TextField};
use crate::components::format::date_time;
use crate::components::layout::{ErrorNotice, Portal};
use crate::components::outcome::form_action;
use crate::webhooks::api::{get_webhook_deliveries, ResendWebhookDelivery, UpdateWebhook};
use crate::webhooks::{DeliveryLog, DeliveryView, DELIVERY_STATUSES};

/// `/webhooks/:id?status=&before=`: one endpoint's settings and its delivery log, newest
/// first, a page at a time; each delivery can be sent again. For vendor admins.
#[component]
pub fn WebhookPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let filter = move || {
        let q = query.read();
        (q.get("status").filter(|s| !s.is_empty()), q.get("before").and_then(|b| b.parse::<i64>().ok()))
    };
    let update = form_action::<UpdateWebhook>();
    let resend = form_action::<ResendWebhookDelivery>();
    let log = Resource::new(
        move || (id(), filter(), update.version().get(), resend.version().get()),
        |(id, (status, before), _, _)| get_webhook_deliveries(id, status, before),
    );
    view! {
        <Title text="Webhook endpoint"/>
        <Portal>
            <p><a href="/webhooks">"← Webhooks"</a></p>
            <Transition fallback=|| view! { <p class="loading">"Loading the endpoint…"</p> }>
                {move || Suspend::new(async move {
                    match log.await {
                        Ok(log) => view! { <Endpoint log update resend/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </Portal>
    }
}

#[component]
fn Endpoint(log: DeliveryLog, update: ServerAction<UpdateWebhook>, resend: ServerAction<ResendWebhookDelivery>) -> impl IntoView {
    let DeliveryLog { endpoint: hook, event_types, status, deliveries, next_before } = log;
    let id = hook.id;
    let error = move || update.value().get().and_then(Result::err);
    let field = move |name: &'static str| Signal::derive(move || error().and_then(|e| e.for_field(name)));
    let other = move || error().and_then(unplaced);
    let saved = move || update.value().get().is_some_and(|r| r.is_ok());
    let options = DELIVERY_STATUSES
        .iter()
        .map(|(value, label)| view! { <option value=*value selected=status.as_deref() == Some(*value)>{*label}</option> })
        .collect_view();
    let older = next_before.map(|before| {
        let href = match &status {
            Some(s) => format!("/webhooks/{id}?status={s}&before={before}"),
            None => format!("/webhooks/{id}?before={before}"),
        };
        view! { <p><a href=href>"Older deliveries"</a></p> }
    });
    let log = if deliveries.is_empty() {
        let words = if status.is_some() { "No delivery in this state." } else { "Nothing has been sent to this endpoint yet." };
        view! { <p class="muted">{words}</p> }.into_any()
    } else {
        let rows = deliveries.into_iter().map(|d| view! { <DeliveryRow endpoint=id d resend/> }).collect_view();
        view! {
            <div class="table-scroll">
                <table class="table deliveries">
                    <caption>"Deliveries, newest first"</caption>
                    <thead><tr>
                        <th scope="col">"Event"</th><th scope="col">"Type"</th><th scope="col">"Status"</th><th scope="col">"Attempts"</th>
                        <th scope="col">"Last response"</th><th scope="col">"Last attempt"</th><th scope="col">"Next attempt"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <div class="page-head">
            <h1>"Webhook endpoint"</h1>
            <EndpointState hook=hook.clone()/>
        </div>
        <p><code>{hook.url.clone()}</code></p>
        <p class="muted"><Counts counts=hook.counts/></p>
        {hook.failing_since.map(|since| {
            view! { <p class="notice warn">{format!("Every attempt has failed since {}.", date_time(since))}</p> }
        })}
        <section class="card" aria-labelledby="webhook-settings-title">
            <h2 id="webhook-settings-title">"Settings"</h2>
            {move || saved().then(|| view! { <p class="notice ok" role="status">"Saved."</p> })}
            <ActionForm action=update attr:class="form" attr:novalidate=true>
                <input type="hidden" name="id" value=id/>
                <TextField id="webhook-url" name="url" label="URL" value=hook.url.clone() kind="url" error=field("url")/>
                <TextField
                    id="webhook-description"
                    name="description"
                    label="Description"
                    value=hook.description.clone()
                    kind="text"
                    error=field("description")
                />
                <EventTypeChoices prefix="webhook" types=event_types chosen=hook.event_types.clone() error=field("event_types")/>
                <p class="form-error" role="alert">{other}</p>
                <button type="submit" class="button primary" disabled=move || update.pending().get()>"Save the endpoint"</button>
            </ActionForm>
        </section>
        <section class="card" aria-labelledby="deliveries-title">
            <h2 id="deliveries-title">"Deliveries"</h2>
            <form method="get" action=format!("/webhooks/{id}") class="filters">
                <div class="field">
                    <label for="delivery-status">"Status"</label>
                    <select id="delivery-status" name="status">
                        <option value="">"Any"</option>
                        {options}
                    </select>
                </div>
                <button type="submit" class="button secondary">"Filter"</button>
            </form>
            <Outcome action=resend done=Some("Sent again: it is tried at once.")/>
            {log}
            {older}
        </section>
    }
}

/// A delivery in the log: what it carried, where it stands, and a way to send it again.
#[component]
fn DeliveryRow(endpoint: i64, d: DeliveryView, resend: ServerAction<ResendWebhookDelivery>) -> impl IntoView {
    let id = d.id;
    let last = match (d.last_status, d.last_error.clone()) {
        (Some(code), _) => code.to_string(),
        (None, Some(error)) => error,
        (None, None) => "—".to_owned(),
    };
    let resend_label = format!("Resend delivery {id} ({})", d.kind);
    view! {
        <tr data-delivery=id>
            <td>{d.event_id.to_string()}</td>
            <td><code>{d.kind.clone()}</code></td>
            <td><DeliveryState status=d.status.clone()/></td>
            <td>{d.attempts.to_string()}</td>
            <td title=d.last_error.clone().unwrap_or_default()>{last}</td>
            <td>{d.last_attempt_at.map(date_time).unwrap_or_else(|| "—".to_owned())}</td>
            <td>{d.next_attempt_at.map(date_time).unwrap_or_default()}</td>
            <td class="actions">
                <a href=format!("/webhooks/{endpoint}/deliveries/{id}") aria-label=format!("Attempts of delivery {id}")>"Attempts"</a>
                <ActionForm action=resend attr:class="inline">
                    <input type="hidden" name="endpoint" value=endpoint/>
                    <input type="hidden" name="id" value=id/>
                    <button type="submit" class="button secondary small" aria-label=resend_label>"Resend"</button>
                </ActionForm>
            </td>
        </tr>
    }
}

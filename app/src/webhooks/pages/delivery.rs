use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{DeliveryState, Outcome};
use crate::components::format::{date_time, thousands};
use crate::components::layout::{ErrorNotice, Portal};
use crate::components::outcome::form_action;
use crate::webhooks::api::{get_webhook_delivery, ResendWebhookDelivery};
use crate::webhooks::{AttemptView, DeliveryDetail};

/// `/webhooks/:id/deliveries/:delivery`: one delivery and each attempt to make it, with
/// what the receiver answered; it can be sent again. For vendor admins.
#[component]
pub fn WebhookDeliveryPage() -> impl IntoView {
    let params = use_params_map();
    let ids = move || {
        let p = params.read();
        let number = |name: &str| p.get(name).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
        (number("id"), number("delivery"))
    };
    let resend = form_action::<ResendWebhookDelivery>();
    let detail = Resource::new(move || (ids(), resend.version().get()), |((endpoint, id), _)| get_webhook_delivery(endpoint, id));
    view! {
        <Title text="Webhook delivery"/>
        <Portal>
            <Transition fallback=|| view! { <p class="loading">"Loading the delivery…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(d) => view! { <Detail d resend/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </Portal>
    }
}

#[component]
fn Detail(d: DeliveryDetail, resend: ServerAction<ResendWebhookDelivery>) -> impl IntoView {
    let DeliveryDetail { endpoint, delivery, attempts } = d;
    let (endpoint_id, id) = (endpoint.id, delivery.id);
    let tried = !attempts.is_empty();
    let rows = attempts
        .into_iter()
        .map(|AttemptView { attempt, at, duration_ms, status, error, response }| {
            view! {
                <tr>
                    <td>{attempt.to_string()}</td>
                    <td>{date_time(at)}</td>
                    <td>{format!("{} ms", thousands(duration_ms))}</td>
                    <td>{status.map(|s| s.to_string()).unwrap_or_else(|| "—".to_owned())}</td>
                    <td>{error.unwrap_or_default()}</td>
                    <td>{response.map(|r| view! { <code class="response">{r}</code> })}</td>
                </tr>
            }
        })
        .collect_view();
    let next = delivery.next_attempt_at.map(|at| view! { <dt>"Next attempt"</dt><dd>{date_time(at)}</dd> });
    view! {
        <p><a href=format!("/webhooks/{endpoint_id}")>{format!("← Deliveries of {}", endpoint.url)}</a></p>
        <div class="page-head">
            <h1>{format!("Delivery {id}")}</h1>
            <DeliveryState status=delivery.status.clone()/>
        </div>
        <dl class="facts">
            <dt>"Event"</dt><dd>{delivery.event_id.to_string()}</dd>
            <dt>"Type"</dt><dd><code>{delivery.kind.clone()}</code></dd>
            <dt>"Endpoint"</dt><dd><code>{endpoint.url.clone()}</code></dd>
            <dt>"Made"</dt><dd>{date_time(delivery.created_at)}</dd>
            {next}
        </dl>
        <Outcome action=resend done=Some("Sent again: it is tried at once.")/>
        <ActionForm action=resend attr:class="inline">
            <input type="hidden" name="endpoint" value=endpoint_id/>
            <input type="hidden" name="id" value=id/>
            <button type="submit" class="button secondary" aria-label=format!("Resend delivery {id} ({})", delivery.kind)>"Resend"</button>
        </ActionForm>
        {if tried {
            view! {
                <table class="table attempts">
                    <caption>"Attempts"</caption>
                    <thead><tr>
                        <th scope="col">"Attempt"</th><th scope="col">"At"</th><th scope="col">"Took"</th>
                        <th scope="col">"Response"</th><th scope="col">"Error"</th><th scope="col">"Answer"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }
            .into_any()
        } else {
            view! { <p class="muted">"Not tried yet."</p> }.into_any()
        }}
    }
}

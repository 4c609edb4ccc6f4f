//! The sales demo page.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::format::thousands;
use crate::components::layout::{ErrorNotice, Portal};
use crate::components::outcome::form_action;
use crate::demo::api::{get_demo, ResetDemo, SwitchDemoPlan};
use crate::demo::DemoView;

/// `/demo`: switch the demo customer's plan with one click and watch what the product
/// would allow change at once; reset restores the demo data.
#[component]
pub fn DemoPage() -> impl IntoView {
    let switch = form_action::<SwitchDemoPlan>();
    let reset = form_action::<ResetDemo>();
    let demo = Resource::new(move || (switch.version().get(), reset.version().get()), |_| get_demo());
    let error = move || switch.value().get().and_then(Result::err).or_else(|| reset.value().get().and_then(Result::err));
    view! {
        <Title text="Sales demo"/>
        <Portal>
            <div class="page-head">
                <h1>"Sales demo"</h1>
                <ActionForm action=reset attr:class="inline">
                    <button type="submit" class="button secondary">"Reset the demo"</button>
                </ActionForm>
            </div>
            <p class="form-error" role="alert">{move || error().map(|e| e.to_string())}</p>
            <Transition fallback=|| view! { <p class="loading">"Loading the demo…"</p> }>
                {move || Suspend::new(async move {
                    match demo.await {
                        Ok(d) => view! { <Demo d switch/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </Portal>
    }
}

#[component]
fn Demo(d: DemoView, switch: ServerAction<SwitchDemoPlan>) -> impl IntoView {
    let buttons = d
        .plans
        .clone()
        .into_iter()
        .map(|(key, name, current)| {
            let label = format!("Switch to {name}");
            view! {
                <ActionForm action=switch attr:class="inline">
                    <input type="hidden" name="plan" value=key/>
                    <button type="submit" class="button" class:primary=current class:secondary=!current
                        aria-pressed=current.to_string() aria-label=label>{name}</button>
                </ActionForm>
            }
        })
        .collect_view();
    view! {
        <p class="muted">{format!(
            "{} is a demo customer: switching its plan here changes nothing of any real customer. \
             The panel asks the engine about {} exactly as the enforcement API would.",
            d.customer, d.user
        )}</p>
        <section class="card">
            <h2>{d.customer.clone()} " on " <span class="current-plan">{d.plan.clone()}</span></h2>
            <div class="plan-switch" role="group" aria-label="Plan">{buttons}</div>
            <p>{format!("{} seats · up to {} instances", thousands(d.seats_cap), thousands(d.instances_cap))}</p>
        </section>
        <section class="card" aria-labelledby="allow-title">
            <h2 id="allow-title">"What the product would allow"</h2>
            <table class="table allow">
                <thead><tr><th scope="col">"Feature"</th><th scope="col">"Allowed"</th><th scope="col">"Reason code"</th><th scope="col">"Left this period"</th></tr></thead>
                <tbody>
                    {d.answers.into_iter().map(|a| view! {
                        <tr>
                            <th scope="row">{a.name.clone()}</th>
                            <td class:yes=a.allowed class:no=!a.allowed>{if a.allowed { "Yes" } else { "No" }}</td>
                            <td><code>{a.code.clone()}</code></td>
                            <td>{a.remaining.map(thousands).unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <p><a href=format!("/customers/{}", d.slug)>"See the demo customer's portal view"</a>" · "<a href="/tiers">"Compare plans"</a></p>
    }
}

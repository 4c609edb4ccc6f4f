use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::components::format::date;
use crate::components::outcome::form_action;
use crate::error::AppError;
use crate::seats::api::{get_invitation, AcceptInvitation};

/// `/invite/:token`: the page an invitation link opens. The invited person sets their
/// password (once; the link then stops working) and is signed in.
#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let info = Resource::new(token, get_invitation);
    let accept = form_action::<AcceptInvitation>();
    let error = move || accept.value().get().and_then(Result::err);
    let field_error = move |field: &'static str| move || error().and_then(|e| e.for_field(field));
    let form_error = move || {
        error()
            .filter(|e| !matches!(e, AppError::Invalid { field, .. } if field == "password" || field == "confirm"))
            .map(|e| e.to_string())
    };
    view! {
        <Title text="Join"/>
        <main class="signin-page">
            <section class="card signin">
                <Suspense fallback=|| view! { <p class="loading">"Opening the invitation…"</p> }>
                    {move || Suspend::new(async move {
                        match info.await {
                            Ok(inv) => view! {
                                {if inv.reset {
                                    view! {
                                        <h1>"Choose a new password"</h1>
                                        <p>{format!("{}, this sets a new password for ", inv.name)} <strong>{inv.email.clone()}</strong> ". Every browser signed in with the old one is signed out."</p>
                                    }.into_any()
                                } else {
                                    view! {
                                        <h1>"Join " {inv.organisation.clone()} " on Tessera"</h1>
                                        <p>{format!("Welcome, {}. You sign in as ", inv.name)} <strong>{inv.email.clone()}</strong> "."</p>
                                    }.into_any()
                                }}
                                <p class="muted">{format!("This link works once, until {}.", date(inv.expires_on))}</p>
                                {match inv.sso.clone() {
                                    // The organisation signs its people in through its own provider:
                                    // no password here; the first sign-in there takes up the invitation.
                                    Some(provider) => view! {
                                        <form class="form" method="post" action="/auth/sso/start">
                                            <input type="hidden" name="email" value=inv.email.clone()/>
                                            <input type="hidden" name="next" value=""/>
                                            <p>{format!("{} signs its people in through {provider}.", inv.organisation)}</p>
                                            <button type="submit" class="button primary">{format!("Continue with {provider}")}</button>
                                        </form>
                                    }.into_any(),
                                    None => view! {
                                <ActionForm action=accept attr:class="form" attr:novalidate=true>
                                    <input type="hidden" name="token" value=token/>
                                    <div class="field">
                                        <label for="password">"Password"</label>
                                        <input id="password" name="password" type="password" autocomplete="new-password"
                                            aria-describedby="password-help"
                                            aria-invalid=move || field_error("password")().is_some().to_string()/>
                                        <p class="muted small" id="password-help">"At least 10 characters, and not one of the most common passwords."</p>
                                        <p class="field-error">{field_error("password")}</p>
                                    </div>
                                    <div class="field">
                                        <label for="confirm">"Repeat password"</label>
                                        <input id="confirm" name="confirm" type="password" autocomplete="new-password"
                                            aria-invalid=move || field_error("confirm")().is_some().to_string()/>
                                        <p class="field-error">{field_error("confirm")}</p>
                                    </div>
                                    <p class="form-error" role="alert">{form_error}</p>
                                    <button type="submit" class="button primary" disabled=move || accept.pending().get()>
                                        "Set password and sign in"
                                    </button>
                                </ActionForm>
                                    }.into_any(),
                                }}
                            }.into_any(),
                            Err(error) => view! {
                                <h1>"This invitation cannot be used"</h1>
                                <p class="notice error" role="alert">{error.to_string()}</p>
                                <p><a href="/signin">"Sign in"</a></p>
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
        </main>
    }
}

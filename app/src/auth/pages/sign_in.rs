use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::auth::api::{sign_in_options, SignIn};
use crate::auth::sso_refusal;
use crate::components::format::encode_query_value;
use crate::components::layout::Auth;
use crate::components::outcome::answer_of;
use crate::error::AppError;

/// `/signin`: the sign-in form. Works before the page is interactive too: the form
/// posts to the server function, which redirects on success and returns here with the
/// error on failure.
#[component]
pub fn SignInPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    // A form sent before the page was interactive comes back with its error.
    let failed = answer_of::<SignIn>().and_then(Result::err);
    let sso = Resource::new(|| (), |_| sign_in_options());
    // A single sign-on that was refused comes back here saying why.
    let refused = move || query.read().get("sso").and_then(|code| sso_refusal(&code));

    view! {
        <Title text="Sign in"/>
        <main class="signin-page">
            <section class="card signin">
                <h1>"Sign in to Tessera"</h1>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        auth.user.await.ok().flatten().map(|user| view! {
                            <p class="notice">
                                "You are signed in as " {user.email.clone()} ". "
                                <a href=user.home()>"Continue to your portal"</a>
                            </p>
                        })
                    })}
                </Transition>
                <SignInForm next=next() failed/>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let options = sso.await.unwrap_or_default();
                        let vendor = options.vendor.map(|name| {
                            let start = format!("/auth/sso/start?next={}", encode_query_value(&next()));
                            view! {
                                <div class="sso">
                                    <p class="muted small">"or"</p>
                                    <a class="button secondary" href=start rel="external">{format!("Sign in with {name}")}</a>
                                </div>
                            }
                        });
                        // A plain form: the browser leaves for the provider, with or without
                        // the page's code.
                        let by_email = options.by_email.then(|| view! {
                            <form class="form sso-email" method="post" action="/auth/sso/start" aria-labelledby="sso-email-title">
                                <h2 id="sso-email-title" class="small">"Single sign-on"</h2>
                                <input type="hidden" name="next" value=next/>
                                <div class="field">
                                    <label for="sso-email">"Work email"</label>
                                    <input id="sso-email" name="email" type="email" autocomplete="email" required=true/>
                                </div>
                                <button type="submit" class="button secondary">"Continue with single sign-on"</button>
                            </form>
                        });
                        view! { {vendor} {by_email} }
                    })}
                </Suspense>
                {move || refused().map(|message| view! { <p class="notice error" role="alert">{message}</p> })}
            </section>
        </main>
    }
}

/// The form itself, an island: a refusal (a wrong password, a wait) shows without leaving
/// the page, and the email stays typed. Sent before the page is interactive, it still
/// signs in, or comes back with `failed`.
#[island]
fn SignInForm(next: String, failed: Option<AppError>) -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    if let Some(error) = failed {
        sign_in.value().set(Some(Err(error)));
    }
    let error = move || sign_in.value().get().and_then(Result::err);
    let field_error = move |field: &'static str| move || error().and_then(|e| e.for_field(field));
    let form_error = move || error().filter(|e| !matches!(e, AppError::Invalid { .. })).map(|e| e.to_string());
    view! {
        <ActionForm action=sign_in attr:class="form" attr:novalidate=true>
            <input type="hidden" name="next" value=next/>
            <div class="field">
                <label for="email">"Email"</label>
                <input
                    id="email"
                    name="email"
                    type="email"
                    autocomplete="username"
                    aria-describedby="email-error"
                    aria-invalid=move || field_error("email")().is_some().to_string()
                />
                <p class="field-error" id="email-error">{field_error("email")}</p>
            </div>
            <div class="field">
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    aria-describedby="password-error"
                    aria-invalid=move || field_error("password")().is_some().to_string()
                />
                <p class="field-error" id="password-error">{field_error("password")}</p>
            </div>
            <p class="form-error" role="alert">{form_error}</p>
            <button type="submit" class="button primary" disabled=move || sign_in.pending().get()>
                {move || if sign_in.pending().get() { "Signing in…" } else { "Sign in" }}
            </button>
        </ActionForm>
    }
}

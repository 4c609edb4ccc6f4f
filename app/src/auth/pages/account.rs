use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::api::{list_sign_ins, ChangePassword, SignOutEverywhere};
use crate::components::format::date_time;
use crate::components::layout::{ErrorNotice, Portal};

/// `/account`: where the signed-in user is signed in, and the way to end those sign-ins:
/// on every other browser, or everywhere; and the password.
#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <Title text="Your account"/>
        <Portal>
            <Account/>
        </Portal>
    }
}

/// The page's body, an island: a password typed stays in its box when it is refused (it
/// is never sent back from the server), and the list of sign-ins follows what was ended.
#[island]
fn Account() -> impl IntoView {
    let end = ServerAction::<SignOutEverywhere>::new();
    let change = ServerAction::<ChangePassword>::new();
    let sign_ins = Resource::new(move || (end.version().get(), change.version().get()), |_| list_sign_ins());
    let ended = move || {
        end.value().get().and_then(Result::ok).map(|n| match n {
            0 => "You were signed in nowhere else.".to_owned(),
            1 => "Signed out of 1 other browser.".to_owned(),
            n => format!("Signed out of {n} other browsers."),
        })
    };
    view! {
            <h1>"Your account"</h1>
            <section class="card" aria-labelledby="sign-ins-heading">
                <h2 id="sign-ins-heading">"Where you are signed in"</h2>
                <p class="muted small">
                    "A sign-in ends after a while without use, and in any case a week after it began."
                </p>
                <Transition fallback=|| view! { <p class="loading">"Loading your sign-ins…"</p> }>
                    {move || Suspend::new(async move {
                        match sign_ins.await {
                            Ok(list) => view! {
                                <table class="table sign-ins">
                                    <thead><tr>
                                        <th scope="col">"Browser"</th><th scope="col">"Address"</th>
                                        <th scope="col">"Signed in"</th><th scope="col">"Last active"</th>
                                    </tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|s| view! {
                                            <tr class:current=s.current>
                                                <td>
                                                    {s.browser.clone()}
                                                    {s.current.then(|| view! { " " <span class="badge this-browser">"This browser"</span> })}
                                                </td>
                                                <td>{if s.address.is_empty() { "—".to_owned() } else { s.address.clone() }}</td>
                                                <td>{date_time(s.started_at)}</td>
                                                <td>{date_time(s.last_seen_at)}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
                {move || ended().map(|message| view! { <p class="notice ok" role="status">{message}</p> })}
                <div class="actions">
                    <ActionForm action=end attr:class="inline">
                        <button type="submit" class="button secondary">"Sign out everywhere else"</button>
                    </ActionForm>
                    <ActionForm action=end attr:class="inline">
                        <input type="hidden" name="everywhere" value="1"/>
                        <button type="submit" class="button danger">"Sign out everywhere"</button>
                    </ActionForm>
                </div>
            </section>
            <PasswordForm change/>
    }
}

/// "Change your password": the current one, then the new one twice.
#[component]
fn PasswordForm(change: ServerAction<ChangePassword>) -> impl IntoView {
    let error = move || change.value().get().and_then(Result::err);
    let field_error = move |field: &'static str| move || error().and_then(|e| e.for_field(field));
    let form_error = move || error().filter(|e| e.for_field_name().is_none()).map(|e| e.to_string());
    let done = move || {
        change.value().get().and_then(Result::ok).map(|ended| match ended {
            0 => "Password changed.".to_owned(),
            1 => "Password changed. 1 other browser was signed out.".to_owned(),
            n => format!("Password changed. {n} other browsers were signed out."),
        })
    };
    let field = move |id: &'static str, label: &'static str, autocomplete: &'static str| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id name=id type="password" autocomplete=autocomplete
                    aria-invalid=move || field_error(id)().is_some().to_string()/>
                <p class="field-error">{field_error(id)}</p>
            </div>
        }
    };
    view! {
        <section class="card" aria-labelledby="password-heading">
            <h2 id="password-heading">"Change your password"</h2>
            <ActionForm action=change attr:class="form" attr:novalidate=true>
                {field("current", "Current password", "current-password")}
                {field("password", "New password", "new-password")}
                <p class="muted small">"At least 10 characters, and not one of the most common passwords."</p>
                {field("confirm", "Repeat the new password", "new-password")}
                <p class="form-error" role="alert">{form_error}</p>
                {move || done().map(|message| view! { <p class="notice ok" role="status">{message}</p> })}
                <button type="submit" class="button primary" disabled=move || change.pending().get()>"Change the password"</button>
            </ActionForm>
        </section>
    }
}

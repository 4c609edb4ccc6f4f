use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::api::{list_sign_ins, SignOutEverywhere};
use crate::components::format::date_time;
use crate::components::layout::{ErrorNotice, Portal};

/// `/account`: where the signed-in user is signed in, and the way to end those sign-ins:
/// on every other browser, or everywhere.
#[component]
pub fn AccountPage() -> impl IntoView {
    let end = ServerAction::<SignOutEverywhere>::new();
    let sign_ins = Resource::new(move || end.version().get(), |_| list_sign_ins());
    let ended = move || {
        end.value().get().and_then(Result::ok).map(|n| match n {
            0 => "You were signed in nowhere else.".to_owned(),
            1 => "Signed out of 1 other browser.".to_owned(),
            n => format!("Signed out of {n} other browsers."),
        })
    };
    view! {
        <Title text="Your account"/>
        <Portal>
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
        </Portal>
    }
}

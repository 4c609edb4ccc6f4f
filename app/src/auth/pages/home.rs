use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::components::layout::{Auth, ErrorNotice};

/// `/`: sends a signed-in user to their home page and a visitor to sign-in.
#[component]
pub fn HomePage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.user.await {
                    Ok(Some(user)) => view! { <Redirect path=user.home()/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/signin"/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

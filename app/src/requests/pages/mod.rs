//! The change requests pages.

use leptos::prelude::*;

use crate::components::layout::Portal;

/// `/requests`.
#[component]
pub fn RequestsPage() -> impl IntoView {
    view! { <Portal><h1>"Requests"</h1></Portal> }
}

/// `/requests/new`.
#[component]
pub fn NewRequestPage() -> impl IntoView {
    view! { <Portal><h1>"Request a change"</h1></Portal> }
}

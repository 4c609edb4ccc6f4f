//! The usage page.

use leptos::prelude::*;

use crate::components::layout::Portal;

/// `/usage`.
#[component]
pub fn UsagePage() -> impl IntoView {
    view! { <Portal><h1>"Usage"</h1></Portal> }
}

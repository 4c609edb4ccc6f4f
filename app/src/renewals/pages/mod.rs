//! The renewals page.

use leptos::prelude::*;

use crate::components::layout::Portal;

/// `/renewals`.
#[component]
pub fn RenewalsPage() -> impl IntoView {
    view! { <Portal><h1>"Renewals"</h1></Portal> }
}

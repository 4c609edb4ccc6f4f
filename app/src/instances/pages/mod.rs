//! The instances page.

use leptos::prelude::*;

use crate::components::layout::Portal;

/// `/instances`.
#[component]
pub fn InstancesPage() -> impl IntoView {
    view! { <Portal><h1>"Instances"</h1></Portal> }
}

//! The seats page and the page an invitation link opens.

use leptos::prelude::*;

use crate::components::layout::Portal;

/// `/entitlements/:id/seats`.
#[component]
pub fn SeatsPage() -> impl IntoView {
    view! { <Portal><h1>"Seats"</h1></Portal> }
}

/// `/invite/:token`.
#[component]
pub fn InvitePage() -> impl IntoView {
    view! { <main class="page narrow"><h1>"Invitation"</h1></main> }
}

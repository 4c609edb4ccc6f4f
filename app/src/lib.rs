//! Tessera's portal: the Leptos UI, its server functions and shared types; behind the
//! `ssr` feature also the store and the server-side helpers.

// Deeply nested views (the usage page) need more room to compute their types.
#![recursion_limit = "256"]

pub mod app;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod components;
pub mod customers;
pub mod dashboard;
pub mod demo;
pub mod entitlements;
pub mod error;
pub mod exports;
pub mod instances;
pub mod renewals;
pub mod requests;
pub mod seats;
pub mod sso;
pub mod tiers;
pub mod usage;
pub mod webhooks;

/// The pure entitlement engine and the domain vocabulary (the `tessera-engine` crate).
pub use tessera_engine as engine;

#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod store;

/// The browser entry point, called when the bundle has loaded: the page was drawn whole on
/// the server, and only its islands (the few parts that respond in the page itself) come to
/// life here, one by one, right after this.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // A server function that redirects (signing in) sends the browser on.
    // (Set once: a second call is refused, and there is none.)
    let _ = leptos::server_fn::redirect::set_redirect_hook(|to: &str| {
        let _ = leptos::prelude::window().location().set_href(to);
    });
    components::outcome::restore_fields();
    // Lets browser tests (and people) know when the page has become interactive: the
    // islands are hydrated as soon as this returns, before the next task.
    leptos::prelude::set_timeout(
        || {
            if let Some(body) = leptos::prelude::document().body() {
                let _ = body.set_attribute("data-hydrated", "true");
            }
            // For `make bench-pages`: when, since the page was asked for.
            mark("tessera:hydrated");
        },
        std::time::Duration::ZERO,
    );
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `performance.mark(name)`: a point on the page's timeline, read by `make bench-pages`.
    #[wasm_bindgen(js_namespace = performance, js_name = mark)]
    fn mark(name: &str);
}

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

/// The browser entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}

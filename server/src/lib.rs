//! The `tessera` server: configuration and the axum application around the portal.

pub mod api;
pub mod boundary;
pub mod config;
pub mod metrics;
pub mod startup;
pub mod trace;
pub mod webhooks;

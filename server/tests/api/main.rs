//! HTTP tests against the real router, a real SQLite database and real sessions.

mod helpers;

mod approvals;
mod audit;
mod console;
mod enforcement;
mod pages;
mod replicas;
mod roles;
mod self_service;
mod sessions;
mod tenants;
mod writes;

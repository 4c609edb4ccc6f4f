//! HTTP tests against the real router, a real SQLite database and real sessions.

mod helpers;

mod approvals;
mod audit;
mod backup;
mod boundary;
mod console;
mod crafted_idp;
mod customer_sso;
mod dashboard;
mod enforcement;
mod exports;
mod faults;
mod first_start;
mod licensing;
mod metrics;
mod migrations;
mod pages;
mod provisioning;
mod replicas;
mod roles;
mod sdk;
mod self_service;
mod sessions;
mod sso;
mod tenants;
mod webhooks;
mod writes;

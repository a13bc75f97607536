//! The deployable caching proxy: route rules, the admin API and dashboard,
//! the demo origin, and (with the `workers` platform) the Worker's `fetch`
//! entry point.

pub mod admin;
pub mod demo_origin;
mod entry;
mod purge_config;
mod purge_object;
pub mod routes;

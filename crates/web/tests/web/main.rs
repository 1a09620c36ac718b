//! The web application in process: the real router, a cookie-keeping client, real stores
//! (SQLite, and PostgreSQL when CPTS_TEST_POSTGRES_URL is set; required with CI=true).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;
mod forms;
mod matrix;
mod registry;
mod reports;
mod security;
mod values;
mod api;
mod api_contracts;
mod api_registry;
mod oidc;

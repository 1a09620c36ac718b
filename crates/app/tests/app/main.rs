//! The application's tests: one binary, a module per area. Every test runs on SQLite, and on
//! PostgreSQL when CPTS_TEST_POSTGRES_URL is set (required with CI=true).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod accounts;
mod audit_chain;
mod common;
mod concurrency;
mod contracts;
mod dashboard;
mod lettre;
mod national;
mod policy;
mod registry;
mod reports;

//! The HTTP integration suite: every test starts the real server on
//! `127.0.0.1:0` with a database of its own and talks to it over HTTP, as a
//! browser, an API client or an operator would.
//!
//! Scenarios marked "both backends" run on SQLite always and on PostgreSQL
//! when `RAPPORT_TEST_POSTGRES_URL` is set (otherwise they say so and pass).

#[macro_use]
mod common;

#[macro_use]
#[path = "http/support.rs"]
mod support;

#[path = "http/contract.rs"]
mod contract;

#[path = "http/bad_input.rs"]
mod bad_input;

#[path = "http/fuzz.rs"]
mod fuzz;

#[path = "http/throttle.rs"]
mod throttle;

#[path = "http/sessions.rs"]
mod sessions;

#[path = "http/password_reset.rs"]
mod password_reset;

#[path = "http/browser_forms.rs"]
mod browser_forms;

#[path = "http/headers.rs"]
mod headers;

#[path = "http/audit.rs"]
mod audit;

#[path = "http/operations.rs"]
mod operations;

#[path = "http/cli.rs"]
mod cli;

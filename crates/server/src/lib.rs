//! Rapport's server: HTTP (web pages and JSON API), configuration and the
//! command line. Handlers are thin; the use cases live in `rapport-app`.

pub mod bench;
pub mod bench_messages;
pub mod cli;
pub mod config;
pub mod http;
pub mod mail;
pub mod startup;
pub mod telemetry;

pub use startup::Application;

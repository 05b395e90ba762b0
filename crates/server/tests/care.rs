//! Therapist network, intake and matching over HTTP: the external contract
//! (apply → verify → intake → matches → choose), the matching rules, bad
//! input, access, safety answers and health data at rest.
//!
//! Every test starts its own real server on `127.0.0.1:0` with a fresh
//! database and talks to it as an API client would. The contract flow also
//! runs on PostgreSQL when `RAPPORT_TEST_POSTGRES_URL` is set.

mod common;

#[path = "care/support.rs"]
mod support;

#[path = "care/contract.rs"]
mod contract;

#[path = "care/openapi.rs"]
mod openapi;

#[path = "care/bad_input.rs"]
mod bad_input;

#[path = "care/matching.rs"]
mod matching;

#[path = "care/choose.rs"]
mod choose;

#[path = "care/access.rs"]
mod access;

#[path = "care/shared_intake.rs"]
mod shared_intake;

#[path = "care/safety.rs"]
mod safety;

#[path = "care/privacy.rs"]
mod privacy;

#[path = "care/notices.rs"]
mod notices;

#[path = "care/photos.rs"]
mod photos;

#[path = "care/intake_form.rs"]
mod intake_form;

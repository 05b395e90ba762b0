//! Couples, message rooms, messages, attachments, realtime events and email
//! notifications, over HTTP and WebSockets against real servers.
//!
//! Every test starts its own server on `127.0.0.1:0` with a fresh database and
//! talks to it as API clients, browsers, operators (the real binary) and an SMTP
//! server would. The main flows also run on PostgreSQL when
//! `RAPPORT_TEST_POSTGRES_URL` is set (otherwise they say so and pass), and so does
//! the two-instance scale-out test.

#[macro_use]
mod common;

#[allow(dead_code)]
#[path = "care/support.rs"]
mod support;

#[allow(dead_code)]
#[macro_use]
#[path = "rooms/kit.rs"]
mod kit;

#[path = "rooms/contract.rs"]
mod contract;

#[path = "rooms/couples.rs"]
mod couples;

#[path = "rooms/membership.rs"]
mod membership;

#[path = "rooms/access_ends.rs"]
mod access_ends;

#[path = "rooms/authz_matrix.rs"]
mod authz_matrix;

#[path = "rooms/session_end.rs"]
mod session_end;

#[path = "rooms/messages.rs"]
mod messages;

#[path = "rooms/attachments.rs"]
mod attachments;

#[path = "rooms/realtime.rs"]
mod realtime;

#[path = "rooms/durability.rs"]
mod durability;

#[path = "rooms/scale_out.rs"]
mod scale_out;

#[path = "rooms/email.rs"]
mod email;

#[path = "rooms/replies.rs"]
mod replies;

#[path = "rooms/list.rs"]
mod list;

#[path = "rooms/proposals.rs"]
mod proposals;

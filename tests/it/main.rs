//! heliostat's integration tests, in one test binary (`cargo test --test it`).
//!
//! Each file here was its own binary once; every binary linked the whole
//! crate again, and CI spent minutes linking. Now they are modules of one
//! crate, so the library is linked once. Run one module with
//! `cargo test --test it screens::` (a test name filter, module path
//! included), or one test with `cargo test --test it -- --exact
//! screens::too_small`.
//!
//! Adding a test module:
//! 1. put the file here, `tests/it/NAME.rs` (a folder `tests/it/NAME/mod.rs`
//!    if it grows), and add `mod NAME;` below, in alphabetical order;
//! 2. no `#![allow(...)]` and no `mod support;` in it: the lints below cover
//!    every module, and the shared helpers are `crate::support` (`use
//!    crate::support::RedisServer;`, or `use crate::support;` for
//!    `support::wait_for(…)`); a helper shared by several modules goes into
//!    `support/` (declared in `support/mod.rs`), never included with `#[path]`;
//! 3. insta names a snapshot after the module path: `insta::assert_snapshot!`
//!    in `tests/it/NAME.rs` reads `tests/it/snapshots/it__NAME__TEST.snap`;
//!    a moved module moves its snapshots with `git mv` to the new name;
//! 4. every module runs in this one process, in parallel with the others:
//!    no `std::env::set_var`, no current-directory changes, no signals sent
//!    to the test process itself, and unique names for anything on disk or
//!    a port (`support::free_port`, the process id plus a counter). Child
//!    processes (the console binary, servers) get their environment through
//!    `Command::env`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod event_stream_own;
mod key_events;
mod keyspace_screens;
mod live_reasons;
mod live_screens;
mod live_snapshot;
mod live_stale;
mod observer_effect;
mod pg_connections;
mod postgres_source;
mod redis_events;
mod redis_sampler;
mod redis_source;
mod redis_topology;
mod screens;
mod sessions;
mod stats_sink;
mod support;
mod terminal;
mod valkey_signals;
mod warm_auto;
mod warm_console;
mod warm_job;
mod warm_write;

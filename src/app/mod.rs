//! The application: state fed by samples, actions from keys, effects out.

pub mod actions;
pub mod derive;
pub mod driver;
#[cfg(test)]
mod fresh_tests;
mod ingest;
pub mod keyevents;
pub mod keyspace;
pub mod live;
pub mod node_detail;
pub mod own_stream;
pub mod panes;
pub mod pg;
pub mod pg_detail;
mod redis;
pub mod run;
pub mod sessions;
pub mod sink;
pub mod source;
pub mod state;
pub mod ui_state;
pub mod warm;
pub mod warm_round;

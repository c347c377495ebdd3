//! Cache warming engine (seed: kaccy_db `cache_warming.rs`).
//!
//! Keeps the seed's strategies (None / Preload / BackgroundRefresh /
//! Predictive / All) and defaults (refresh every 60 s keys whose TTL is
//! under 300 s, batches of 100, prediction on), and fixes its defects:
//! the access frequency is a decayed rate rather than count / hours since
//! the previous access; the tracker's memory is bounded (Space-Saving,
//! 100k keys by default) with its error bound exposed; hot keys that are
//! missing are candidates too; refreshing cannot keep an unused key alive
//! forever; work is planned in per-node batches and jobs are cancellable.
//!
//! Pure: the IO that probes and writes keys is built on top of this.

pub mod backoff;
pub mod batch;
pub mod candidate;
pub mod config;
pub mod estimate;
pub mod eta;
pub mod jobs;
mod observe;
pub mod planner;
pub mod tally;
pub mod tracker;

pub use backoff::{KeyBackoff, RoundBackoff};
pub use batch::{Batch, plan_batches};
pub use candidate::{Candidate, CandidateReason, Signal, TtlState};
pub use config::{WarmingConfig, WarmingStrategy};
pub use estimate::{ErrorBound, KeyEstimate};
pub use eta::RateWindow;
pub use jobs::{JobBoard, JobError, JobId, JobProgress, JobState, WarmJob};
pub use planner::WarmingEngine;
pub use tally::Tally;
pub use tracker::AccessTracker;

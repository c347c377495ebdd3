//! What the access tracker reports: per-key rates with their Space-Saving
//! error, and the tracker-wide guarantees shown next to the hot-keys list.

use serde::{Deserialize, Serialize};

/// One tracked key's estimated rate, for rankings and display.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyEstimate {
    /// Stable key hash (`intern::key_hash`).
    pub key_hash: u64,
    /// Key name, when it was recorded by name while tracked.
    pub name: Option<String>,
    /// Decayed access rate (accesses/s); an overestimate by at most `error`.
    pub rate: f64,
    /// Space-Saving overestimation bound for this key (accesses/s).
    pub error: f64,
    /// `rate − error`: the rate the key is guaranteed to have.
    pub guaranteed_rate: f64,
    /// Refreshes noted since the last real access.
    pub refreshes_since_access: u8,
}

/// Global accuracy figures for the display ("± …").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ErrorBound {
    /// Keys currently tracked.
    pub tracked: usize,
    /// Most keys that can be tracked.
    pub capacity: usize,
    /// Any untracked key's rate is at most this (the current minimum; 0
    /// while the tracker is not full, since nothing was ever evicted).
    pub untracked_max_rate: f64,
    /// No tracked key's rate is overestimated by more than this (total/k).
    pub max_error_rate: f64,
    /// Decayed rate of every recorded access (accesses/s).
    pub total_rate: f64,
    /// Accesses recorded since creation or reset.
    pub events: u64,
    /// Keys evicted to make room for others.
    pub evictions: u64,
}

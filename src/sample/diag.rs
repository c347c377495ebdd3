//! What a Redis node's diagnostics and keyspace notifications send: slow
//! log, latency spikes, Valkey's command log and slot statistics, and
//! keyspace notifications.

use serde::{Deserialize, Serialize};

use crate::engines::Timestamp;

/// One `COMMANDLOG large-request|large-reply` entry (Valkey ≥ 8.1): as a
/// slow-log entry, with the request's or reply's size instead of a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LargeEntry {
    /// The entry's id (increasing per log and server run).
    pub id: u64,
    /// When it ran (server clock).
    pub at: Timestamp,
    /// Size of the request or reply, bytes.
    pub bytes: u64,
    /// Command name, upper-cased.
    pub command: String,
    /// First argument (usually the key), if any.
    pub key: Option<String>,
    /// Client name (or address when unnamed).
    pub client: String,
}

/// New `COMMANDLOG` entries of one read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandLog {
    /// Requests above `commandlog-request-larger-than`, oldest first.
    pub large_request: Vec<LargeEntry>,
    /// Replies above `commandlog-reply-larger-than`, oldest first.
    pub large_reply: Vec<LargeEntry>,
}

/// One slot and a count of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotCount {
    /// Cluster slot (0–16383).
    pub slot: u16,
    /// Keys, or CPU µs.
    pub value: u64,
}

/// `CLUSTER SLOT-STATS` of one node: exact, from the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotStats {
    /// Slots with the most keys, most first (slots without keys left out).
    pub by_keys: Vec<SlotCount>,
    /// Slots with the most CPU time (µs since the server started counting).
    pub by_cpu: Vec<SlotCount>,
    /// The server counts CPU and network per slot
    /// (`cluster-slot-stats-enabled`).
    pub counts_cpu: bool,
}

/// One `SLOWLOG` entry. Only the command name and its first argument (the
/// key) are kept: the rest may be values, and values may be secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlowEntry {
    /// The entry's id (increasing per server run).
    pub id: u64,
    /// When it ran (server clock).
    pub at: Timestamp,
    /// How long it took, µs.
    pub duration_us: u64,
    /// Command name, upper-cased.
    pub command: String,
    /// First argument (usually the key), if any.
    pub key: Option<String>,
    /// Client name (or address when unnamed).
    pub client: String,
}

/// One `LATENCY LATEST` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyEvent {
    /// Event name (command, fast-command, expire-cycle, fork…).
    pub event: String,
    /// When the latest spike happened (server clock).
    pub at: Timestamp,
    /// Latest spike, ms.
    pub latest_ms: u64,
    /// Worst spike recorded, ms.
    pub max_ms: u64,
}

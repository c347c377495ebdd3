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

/// Keyspace notifications (`__keyevent@*__:keymiss|expired|evicted`)
/// since the previous sample of a node's listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEvents {
    /// Keys that missed (`keymiss`), with how many times.
    pub missed: Vec<(String, u32)>,
    /// Keys the server expired.
    pub expired: Vec<String>,
    /// Keys `maxmemory` evicted.
    pub evicted: Vec<String>,
    /// Notifications received but not named (too many in one flush).
    pub dropped: u64,
    /// What the server publishes, sent once after each subscribe.
    pub setup: Option<KeyEventSetup>,
    /// The listener stopped because notifications came too fast.
    pub stopped: Option<KeyEventsStopped>,
    /// Why notifications are not arriving (the server's words), if known.
    pub note: Option<String>,
}

/// What a node publishes, as read when the listener subscribed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEventSetup {
    /// `notify-keyspace-events` as `CONFIG GET` read it; `None` when
    /// `CONFIG GET` was refused.
    pub flags: Option<String>,
    /// Why `CONFIG GET` was refused (the server's words).
    pub refused: Option<String>,
    /// Server version (`7.2.4`).
    pub version: String,
}

/// The listener unsubscribed: more notifications per second than the limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEventsStopped {
    /// Notifications counted in the second that went over.
    pub per_sec: u64,
    /// The limit (notifications per second).
    pub limit: u64,
    /// Seconds until it subscribes again.
    pub resume_after_s: u64,
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

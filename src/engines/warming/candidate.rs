//! What the warming queue holds: a candidate key, why it is queued, which
//! signal found it and what warming it is worth (misses/s avoided).

use serde::{Deserialize, Serialize};

/// Which signal found a candidate (named in the queue's "found by" column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Signal {
    /// The access-event stream (`--events`): accesses per key.
    EventStream,
    /// Keyspace notifications of misses (`keymiss`): exact, per key.
    MissEvents,
    /// Keyspace notifications of expiries (`expired`).
    ExpiredEvents,
    /// Keyspace notifications of evictions (`evicted`).
    EvictedEvents,
    /// The key sampler's `PTTL` of the key.
    #[default]
    SamplerTtl,
    /// The key sampler's LFU counter or idle time (an estimated rate).
    SamplerHeat,
    /// A warm round's `PTTL` probe.
    Probe,
    /// A warm rule's hot-keys query in Postgres (the preload list).
    Postgres,
}

impl Signal {
    /// Every signal, in code order.
    pub const ALL: [Signal; 8] = [
        Signal::EventStream,
        Signal::MissEvents,
        Signal::ExpiredEvents,
        Signal::EvictedEvents,
        Signal::SamplerTtl,
        Signal::SamplerHeat,
        Signal::Probe,
        Signal::Postgres,
    ];

    /// What the queue's "found by" column says.
    pub const fn label(self) -> &'static str {
        match self {
            Signal::EventStream => "event stream",
            Signal::MissEvents => "miss events",
            Signal::ExpiredEvents => "expired event",
            Signal::EvictedEvents => "evicted event",
            Signal::SamplerTtl => "sampler TTL",
            Signal::SamplerHeat => "sampler LFU",
            Signal::Probe => "PTTL probe",
            Signal::Postgres => "Postgres",
        }
    }

    /// Compact code (the tracker keeps one per key).
    pub(crate) const fn code(self) -> u8 {
        match self {
            Signal::EventStream => 0,
            Signal::MissEvents => 1,
            Signal::ExpiredEvents => 2,
            Signal::EvictedEvents => 3,
            Signal::SamplerTtl => 4,
            Signal::SamplerHeat => 5,
            Signal::Probe => 6,
            Signal::Postgres => 7,
        }
    }

    /// The signal of a code (unknown codes: the sampler's TTL).
    pub(crate) fn from_code(code: u8) -> Self {
        Signal::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .unwrap_or_default()
    }
}

/// What the sampler learned about a key (from `PTTL`, or `EXISTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TtlState {
    /// The key does not exist (`PTTL` −2).
    Missing,
    /// The key exists without an expiry (`PTTL` −1).
    Persistent,
    /// The key expires in this many milliseconds.
    ExpiresIn(u64),
}

impl TtlState {
    /// Decode a `PTTL` reply: −1 is persistent, ≥ 0 a TTL, anything else
    /// (−2, or a value no server sends) missing.
    pub fn from_pttl(pttl: i64) -> Self {
        match pttl {
            -1 => TtlState::Persistent,
            n if n >= 0 => TtlState::ExpiresIn(n.unsigned_abs()),
            _ => TtlState::Missing,
        }
    }
}

/// Why a key is in the warming queue.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum CandidateReason {
    /// Hot key whose TTL (as observed, minus time since) is under the
    /// refresh threshold; refreshed in place (BackgroundRefresh).
    Expiring {
        /// Estimated milliseconds until expiry.
        time_left_ms: u64,
    },
    /// Hot key whose presence is unknown (not probed lately); safe to warm
    /// with `SET NX` (Predictive).
    Predicted {
        /// Decayed access rate (accesses/s).
        rate: f64,
    },
    /// Listed for preload (Preload).
    Preload,
    /// Hot key observed missing, or whose observed TTL has run out since; every
    /// access misses now (part of Predictive: the seed ignored these).
    MissingHot {
        /// Decayed access rate (accesses/s).
        rate: f64,
    },
}

impl CandidateReason {
    /// Tie-break rank: missing before expiring before predicted before preload.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            CandidateReason::MissingHot { .. } => 0,
            CandidateReason::Expiring { .. } => 1,
            CandidateReason::Predicted { .. } => 2,
            CandidateReason::Preload => 3,
        }
    }

    /// Short label for the queue's reason column.
    pub fn label(&self) -> &'static str {
        match self {
            CandidateReason::Expiring { .. } => "expiring",
            CandidateReason::Predicted { .. } => "predicted",
            CandidateReason::Preload => "preload",
            CandidateReason::MissingHot { .. } => "missing-hot",
        }
    }
}

/// One key to warm, with why and how much it is expected to help.
///
/// Heuristics (rates are decayed accesses/s, I = refresh interval); the
/// benefit is misses avoided per second over the next interval:
/// * MissingHot: score = rate; misses/s avoided = rate (every access
///   misses until the application or our next round refills it).
/// * Expiring: score = rate · urgency, urgency = 1 − time_left/threshold
///   (at least 0.1); misses/s avoided = rate · max(0, I − time_left) / I
///   (the share of the interval the key would be missing).
/// * Predicted: presence unknown, counted as a coin flip: score = rate / 2,
///   misses/s avoided = rate / 2.
/// * Preload: score = rate / 4 (rate 0 when untracked), misses/s = rate / 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Stable key hash.
    pub key_hash: u64,
    /// Key name; a candidate without one can be shown but not warmed.
    pub name: Option<String>,
    /// Why the key is queued.
    pub reason: CandidateReason,
    /// Decayed access rate (accesses/s), 0 when untracked.
    pub rate: f64,
    /// Ranking score (higher first).
    pub score: f64,
    /// Which signal found it (the observation behind its reason, or for
    /// a predicted key, the one that reported its accesses).
    pub signal: Signal,
    /// Estimated cache misses avoided per second by warming now.
    pub misses_per_s: f64,
}

/// How much a key is worth warming, and why.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Why {
    pub reason: CandidateReason,
    pub signal: Signal,
    pub rate: f64,
}

pub(crate) fn make_candidate(
    key_hash: u64,
    name: Option<String>,
    why: Why,
    interval_ms: f64,
    threshold_ms: u64,
) -> Candidate {
    let Why {
        reason,
        signal,
        rate,
    } = why;
    let (score, misses) = match reason {
        CandidateReason::MissingHot { .. } => (rate, rate),
        CandidateReason::Expiring { time_left_ms } => {
            let urgency = if threshold_ms == 0 {
                1.0
            } else {
                (1.0 - time_left_ms as f64 / threshold_ms as f64).clamp(0.1, 1.0)
            };
            let share = if interval_ms > 0.0 {
                (interval_ms - time_left_ms as f64).max(0.0) / interval_ms
            } else {
                0.0
            };
            (rate * urgency, rate * share)
        }
        CandidateReason::Predicted { .. } => (rate * 0.5, rate * 0.5),
        CandidateReason::Preload => (rate * 0.25, rate * 0.5),
    };
    let clean = |x: f64| if x.is_finite() && x > 0.0 { x } else { 0.0 };
    Candidate {
        key_hash,
        name,
        reason,
        rate: clean(rate),
        score: clean(score),
        signal,
        misses_per_s: clean(misses),
    }
}

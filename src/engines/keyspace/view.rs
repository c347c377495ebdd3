//! The keyspace as the panes show it: per-prefix estimates with intervals,
//! coverage, hot and big keys, TTL cliffs.

use serde::{Deserialize, Serialize};

use super::pass::{BigKey, HotKey, PassAcc};
use super::stats::{Estimate, scaled_count, scaled_total};
use super::ttl::{TTL_BUCKETS, find_cliffs};
use super::{KeyspaceEngine, scale};
use crate::engines::{Timestamp, cmp_f64};

/// Which pass the estimates rest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Basis {
    /// Nothing sampled yet.
    Nothing,
    /// The pass in progress (a sample of the keyspace).
    Partial,
    /// The last complete pass (a census, as of its walk).
    Complete {
        /// When it completed.
        done_at: Timestamp,
        /// How long it took (ms).
        took_ms: u64,
    },
}

/// What the heat readings were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeatMode {
    /// `OBJECT FREQ`: the LFU counter (logarithmic, decaying).
    LfuCounter,
    /// `OBJECT IDLETIME`: seconds since the last access.
    IdleTime,
}

/// Estimates for one prefix group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrefixView {
    /// Row name: a path of the prefix tree (`user:*`, `ux:session:*`,
    /// `order:*:items`), [`super::NO_PREFIX`] or [`super::OTHER_PREFIXES`].
    pub name: String,
    /// Keys of the group in the sample.
    pub sampled: u64,
    /// Estimated keys in the keyspace.
    pub keys: Estimate,
    /// Estimated bytes (`MEMORY USAGE`); `None` when not measured.
    pub memory: Option<Estimate>,
    /// Mean length or element count per key; `None` when not measured.
    pub avg_elements: Option<f64>,
    /// Estimated keys per TTL bucket (see [`super::TTL_LABELS`]).
    pub ttl: [Estimate; TTL_BUCKETS],
    /// Estimated accesses per second (from LFU counters or idle times: a
    /// rough, low estimate, not measured traffic).
    pub est_rate: f64,
    /// Estimated keys used within about the last minute.
    pub recent: Estimate,
}

/// Many keys of one prefix expiring in the same minute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cliff {
    /// Prefix group.
    pub prefix: String,
    /// Start of the (first) minute.
    pub at: Timestamp,
    /// Sampled keys expiring then.
    pub sampled: u64,
    /// Consecutive minutes it spans (a burst across a minute boundary).
    pub minutes: u32,
    /// Estimated keys expiring then.
    pub keys: Estimate,
}

/// One node's keyspace at `now`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyspaceView {
    /// Delimiter of the prefixes.
    pub delimiter: String,
    /// The sampler's budget (commands/s), as of the latest batch.
    pub budget: u32,
    /// How the budget is set (`None`: fixed).
    pub rule: Option<super::BudgetRule>,
    /// Commands/s it actually sent recently.
    pub command_rate: Option<f64>,
    /// Keys in the database (`DBSIZE`).
    pub db_keys: u64,
    /// Pass in progress (number) and the share of the keyspace it has seen.
    pub pass: u64,
    /// Share of the keyspace the pass in progress has seen (0..=1).
    pub pass_progress: f64,
    /// Passes completed.
    pub passes_done: u64,
    /// What the estimates rest on.
    pub basis: Basis,
    /// Keys in the basis sample.
    pub sampled: u64,
    /// Share of the keyspace the basis covers (0..=1).
    pub coverage: f64,
    /// What the heat readings are, when there are any.
    pub heat: Option<HeatMode>,
    /// Whether bytes were measured.
    pub memory_measured: bool,
    /// Prefix groups, most keys first.
    pub prefixes: Vec<PrefixView>,
    /// Hottest keys (recently used only), hottest first.
    pub hot: Vec<HotKey>,
    /// Biggest keys, biggest first.
    pub big: Vec<BigKey>,
    /// TTL cliffs ahead, soonest first.
    pub cliffs: Vec<Cliff>,
    /// What the server refused the sampler, in its words (e.g. `DBSIZE:
    /// NOPERM …`).
    pub refused: Vec<String>,
    /// `DBSIZE` was refused: the keyspace's size, and so the coverage and
    /// any scaling, are unknown (estimates are the keys seen).
    pub size_unknown: bool,
}

fn coverage(sampled: u64, db_keys: u64) -> f64 {
    if db_keys == 0 {
        if sampled > 0 { 1.0 } else { 0.0 }
    } else {
        (sampled as f64 / db_keys as f64).clamp(0.0, 1.0)
    }
}

pub(super) fn build(e: &KeyspaceEngine, now: Timestamp) -> KeyspaceView {
    let z = e.config.z;
    let n_db = e.db_keys;
    let (pass, pass_progress) = match &e.current {
        Some(c) => (c.number, coverage(c.sampled, n_db)),
        None => (e.last.as_ref().map_or(0, |l| l.number), 0.0),
    };
    let mut v = KeyspaceView {
        delimiter: e.delimiter.clone(),
        budget: e.budget,
        rule: e.rule,
        command_rate: e.command_rate(now),
        db_keys: n_db,
        pass,
        pass_progress,
        passes_done: e.passes_done,
        basis: Basis::Nothing,
        sampled: 0,
        coverage: 0.0,
        heat: None,
        memory_measured: false,
        prefixes: Vec::new(),
        hot: Vec::new(),
        big: Vec::new(),
        cliffs: Vec::new(),
        refused: e.refused.clone(),
        size_unknown: e.refused.iter().any(|r| r.starts_with("DBSIZE")),
    };
    let Some(b) = e.basis() else {
        return v;
    };
    v.basis = match b.done_at {
        Some(done_at) => Basis::Complete {
            done_at,
            took_ms: done_at.millis_since(b.started),
        },
        None => Basis::Partial,
    };
    v.sampled = b.sampled;
    v.coverage = coverage(b.sampled, n_db);
    v.heat = (b.heat_n > 0).then(|| {
        if b.lfu_n * 2 >= b.heat_n {
            HeatMode::LfuCounter
        } else {
            HeatMode::IdleTime
        }
    });
    v.memory_measured = b.mem_sampled > 0;
    let n = b.sampled;
    let sc = scale(n_db, n);
    let rows = b.rows(&e.tree);
    for (name, a) in &rows {
        let hist = a.expiry.histogram(now);
        let ttl = hist.map(|k| scaled_count(k, n, n_db, z));
        v.prefixes.push(PrefixView {
            name: name.to_string(),
            sampled: a.keys,
            keys: scaled_count(a.keys, n, n_db, z),
            memory: (a.mem_n > 0)
                .then(|| scaled_total(a.mem_sum, a.mem_sq, b.mem_sampled, n_db, z)),
            avg_elements: (a.elem_n > 0).then(|| a.elem_sum / a.elem_n as f64),
            ttl,
            est_rate: a.rate_sum * sc,
            recent: scaled_count(a.recent, n, n_db, z),
        });
        for (at, k, minutes) in find_cliffs(&a.expiry, now, sc, &e.config.cliff) {
            v.cliffs.push(Cliff {
                prefix: name.to_string(),
                at: Timestamp(at),
                sampled: k,
                minutes,
                keys: scaled_count(k, n, n_db, z),
            });
        }
    }
    v.prefixes
        .sort_by(|a, b| cmp_f64(b.keys.value, a.keys.value).then_with(|| a.name.cmp(&b.name)));
    v.cliffs
        .sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.prefix.cmp(&b.prefix)));
    let top = e.config.top_keys;
    v.hot = merged(b, e.current.as_ref(), top, |p| {
        p.hot
            .sorted()
            .into_iter()
            .map(|(s, k)| (s, k.key.clone(), k))
            .collect()
    });
    v.big = merged(b, e.current.as_ref(), top, |p| {
        p.big
            .sorted()
            .into_iter()
            .map(|(s, k)| (s, k.key.clone(), k))
            .collect()
    });
    v
}

/// The basis pass's list and the current pass's merged (one entry per
/// key, the newer sighting wins), best first, at most `top`.
fn merged<T: Clone>(
    basis: &PassAcc,
    current: Option<&PassAcc>,
    top: usize,
    list: impl Fn(&PassAcc) -> Vec<(f64, String, T)>,
) -> Vec<T> {
    let mut all = Vec::new();
    if let Some(c) = current.filter(|c| c.number != basis.number) {
        all.extend(list(c));
    }
    for item in list(basis) {
        if !all.iter().any(|(_, k, _)| *k == item.1) {
            all.push(item);
        }
    }
    all.sort_by(|a, b| cmp_f64(b.0, a.0).then_with(|| a.1.cmp(&b.1)));
    all.into_iter().take(top).map(|(_, _, t)| t).collect()
}

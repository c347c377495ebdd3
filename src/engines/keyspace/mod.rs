//! Keyspace engine: what one Redis node's key sampler saw, turned into
//! per-prefix estimates (keys, bytes, TTL histogram, access estimate) with
//! error bars, big and hot keys, and TTL cliffs.
//!
//! The sampler walks the keyspace with `SCAN` in passes. A complete pass
//! is a census (every key present for the whole pass was seen once); a
//! pass in progress is a sample, scaled up by `DBSIZE / keys seen` with
//! Wilson intervals (see [`stats`]). Estimates come from the last complete
//! pass when there is one, else from the pass in progress; the view says
//! which, and how much of the keyspace it covers.
//!
//! Pure: observations in, figures out; time is a parameter.

pub mod obs;
pub mod pass;
pub mod shape;
pub mod stats;
pub mod ttl;
mod view;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod shape_tests;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

pub use obs::{
    BudgetRule, DEFAULT_DELIMITER, KeyHeat, KeyKind, KeyspaceSample, NO_PREFIX, OTHER_PREFIXES,
    SampledKey, key_row, prefix_of, redacted, row_name,
};
pub use pass::{BigKey, HotKey};
pub use shape::{PrefixTree, TreeRules};
pub use stats::{Estimate, Z95};
pub use ttl::{CliffRule, TTL_BUCKETS, TTL_LABELS};
pub use view::{Basis, Cliff, HeatMode, KeyspaceView, PrefixView};

use crate::engines::Timestamp;
use pass::PassAcc;

/// Tuning of the estimates.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyspaceConfig {
    /// Hot and big keys kept per pass.
    pub top_keys: usize,
    /// First segments tracked (each a row at least); keys under further
    /// ones share the [`OTHER_PREFIXES`] row.
    pub max_prefixes: usize,
    /// How the prefix tree grows and splits rows (its `root_children` is
    /// `max_prefixes`).
    pub tree: TreeRules,
    /// z of the intervals (1.96 = 95%).
    pub z: f64,
    /// What counts as a TTL cliff.
    pub cliff: CliffRule,
    /// Window of the sampler's measured command rate (ms).
    pub rate_window_ms: u64,
}

impl Default for KeyspaceConfig {
    fn default() -> Self {
        Self {
            top_keys: 10,
            max_prefixes: 500,
            tree: TreeRules::default(),
            z: Z95,
            cliff: CliffRule::default(),
            rate_window_ms: 10_000,
        }
    }
}

/// One node's keyspace as sampled.
#[derive(Debug, Clone)]
pub struct KeyspaceEngine {
    config: KeyspaceConfig,
    delimiter: String,
    /// The keyspace's shape: which rows the keys fall in.
    tree: PrefixTree,
    budget: u32,
    rule: Option<BudgetRule>,
    db_keys: u64,
    current: Option<PassAcc>,
    last: Option<PassAcc>,
    /// (when, cumulative commands sent), oldest first, within the window.
    sent: VecDeque<(Timestamp, u64)>,
    last_at: Option<Timestamp>,
    passes_done: u64,
    /// What the server refused the sampler, as the latest batch said.
    refused: Vec<String>,
}

impl KeyspaceEngine {
    /// An engine with `config`.
    pub fn new(config: KeyspaceConfig) -> Self {
        let tree = PrefixTree::new(DEFAULT_DELIMITER, tree_rules(&config));
        Self {
            config,
            tree,
            delimiter: DEFAULT_DELIMITER.to_string(),
            budget: 0,
            rule: None,
            db_keys: 0,
            current: None,
            last: None,
            sent: VecDeque::new(),
            last_at: None,
            passes_done: 0,
            refused: Vec::new(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &KeyspaceConfig {
        &self.config
    }

    /// Delimiter the sampler groups by.
    pub fn delimiter(&self) -> &str {
        &self.delimiter
    }

    /// What the server refused the sampler (in its words), as the latest
    /// batch said.
    pub fn refused(&self) -> &[String] {
        &self.refused
    }

    /// When the latest batch arrived.
    pub fn last_sample_at(&self) -> Option<Timestamp> {
        self.last_at
    }

    /// Feed one batch observed at `at`. A batch of a new pass starts it; a
    /// pass left unfinished (the sampler reconnected) is dropped; a batch
    /// that ends its pass makes it the basis of the estimates.
    pub fn ingest(&mut self, s: &KeyspaceSample, at: Timestamp) {
        if s.delimiter != self.delimiter {
            // Another grouping: what was grouped by the old one goes.
            self.tree = PrefixTree::new(&s.delimiter, tree_rules(&self.config));
            self.current = None;
            self.last = None;
        }
        self.delimiter.clone_from(&s.delimiter);
        self.budget = s.budget;
        self.rule = s.rule;
        self.db_keys = s.db_keys;
        self.refused.clone_from(&s.refused);
        self.last_at = Some(at);
        self.note_sent(s.sent, at);
        if self.current.as_ref().is_none_or(|c| c.number != s.pass) {
            self.current = Some(PassAcc::new(s.pass, at, self.config.top_keys));
        }
        if let Some(cur) = self.current.as_mut() {
            for k in &s.keys {
                // Keys found missing are no part of the keyspace's shape.
                let place = if k.kind == KeyKind::Missing || k.ttl_ms.is_none() {
                    None
                } else {
                    self.tree.learn(&k.key)
                };
                cur.add(k, place, at);
            }
            self.tree.plan();
            cur.last_at = at;
            if s.pass_done {
                cur.done_at = Some(at);
            }
        }
        if s.pass_done {
            self.last = self.current.take();
            self.passes_done += 1;
        }
    }

    fn note_sent(&mut self, sent: u64, at: Timestamp) {
        // A restarted counter (new sampler run) starts a new window.
        if self.sent.back().is_some_and(|&(t, n)| n > sent || t > at) {
            self.sent.clear();
        }
        self.sent.push_back((at, sent));
        let window = self.config.rate_window_ms;
        while self.sent.len() > 2
            && self
                .sent
                .get(1)
                .is_some_and(|&(t, _)| at.millis_since(t) >= window)
        {
            self.sent.pop_front();
        }
    }

    /// Commands per second the sampler sent over the recent window; `None`
    /// until two batches are known, or when the sampler went quiet for
    /// longer than the window.
    pub fn command_rate(&self, now: Timestamp) -> Option<f64> {
        let (&(t0, n0), &(t1, n1)) = (self.sent.front()?, self.sent.back()?);
        if now.millis_since(t1) > self.config.rate_window_ms {
            return Some(0.0);
        }
        let dt = now.secs_since(t0).max(t1.secs_since(t0));
        (dt > 0.0).then(|| n1.saturating_sub(n0) as f64 / dt)
    }

    /// How long a key waits between two sightings, in seconds: the
    /// duration of the last complete pass, else the age of the one in
    /// progress (at least 1 s).
    pub fn revisit_secs(&self, now: Timestamp) -> f64 {
        let d = match (&self.last, &self.current) {
            (Some(l), _) => l.done_at.unwrap_or(l.last_at).secs_since(l.started),
            (None, Some(c)) => now.secs_since(c.started),
            (None, None) => 0.0,
        };
        d.max(1.0)
    }

    /// The pass the estimates rest on: the last complete one, else the one
    /// in progress.
    fn basis(&self) -> Option<&PassAcc> {
        self.last.as_ref().or(self.current.as_ref())
    }

    /// Estimated accesses per second per prefix row (`ux:user:*`; from
    /// LFU counters or idle times, see [`KeyHeat::est_rate`]), scaled to
    /// the keyspace; rows nobody uses read 0.
    pub fn prefix_rates(&self) -> Vec<(String, f64)> {
        let Some(b) = self.basis() else {
            return Vec::new();
        };
        let scale = scale(self.db_keys, b.sampled);
        let mut v: Vec<(String, f64)> = b
            .rows(&self.tree)
            .into_iter()
            .map(|(p, a)| (p, a.rate_sum * scale))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The row a key falls in on this node, as the rows stand (the
    /// keyspace's shape; see [`shape`]).
    pub fn row(&self, key: &str) -> String {
        self.tree.row(key)
    }

    /// The prefix tree (how many nodes it holds, its rows).
    pub fn tree(&self) -> &PrefixTree {
        &self.tree
    }

    /// Everything the panes show, at `now`.
    pub fn view(&self, now: Timestamp) -> KeyspaceView {
        view::build(self, now)
    }
}

fn tree_rules(c: &KeyspaceConfig) -> TreeRules {
    TreeRules {
        root_children: c.max_prefixes,
        ..c.tree.clone()
    }
}

/// Keyspace size over sample size (1 for a census or an empty sample).
fn scale(db_keys: u64, sampled: u64) -> f64 {
    if sampled == 0 {
        1.0
    } else {
        (db_keys.max(sampled) as f64) / sampled as f64
    }
}

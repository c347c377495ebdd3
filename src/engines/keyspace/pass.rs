//! What one pass of the walk accumulated: per-prefix sums, expiry bins and
//! the hottest and biggest keys seen.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::obs::{KeyHeat, KeyKind, SampledKey};
use super::shape::{Place, PrefixTree};
use super::ttl::ExpiryBins;
use crate::engines::{Timestamp, cmp_f64};

/// Sums over the sampled keys of one prefix.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrefixAcc {
    /// Keys seen.
    pub keys: u64,
    /// Keys with a known size, and Σ bytes, Σ bytes².
    pub mem_n: u64,
    /// Σ bytes.
    pub mem_sum: f64,
    /// Σ bytes².
    pub mem_sq: f64,
    /// Keys with a known length, and Σ length.
    pub elem_n: u64,
    /// Σ length (bytes of strings, elements of the others).
    pub elem_sum: f64,
    /// Σ estimated access rate (see [`KeyHeat::est_rate`]).
    pub rate_sum: f64,
    /// Keys used within about the last minute.
    pub recent: u64,
    /// When they expire.
    pub expiry: ExpiryBins,
}

impl PrefixAcc {
    /// Add another group's sums (one row made of several tree paths).
    pub fn merge(&mut self, o: &PrefixAcc) {
        self.keys += o.keys;
        self.mem_n += o.mem_n;
        self.mem_sum += o.mem_sum;
        self.mem_sq += o.mem_sq;
        self.elem_n += o.elem_n;
        self.elem_sum += o.elem_sum;
        self.rate_sum += o.rate_sum;
        self.recent += o.recent;
        self.expiry.merge(&o.expiry);
    }
}

/// A hot key: high LFU counter or short idle time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotKey {
    /// Key name.
    pub key: String,
    /// What the server said.
    pub heat: KeyHeat,
    /// `PTTL` when seen.
    pub ttl_ms: Option<i64>,
    /// When it was seen.
    pub seen: Timestamp,
}

/// A big key: many bytes, or many elements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BigKey {
    /// Key name.
    pub key: String,
    /// Value type.
    pub kind: KeyKind,
    /// `MEMORY USAGE`, when measured.
    pub memory: Option<u64>,
    /// Length or element count, when measured.
    pub elements: Option<u64>,
    /// When it was seen.
    pub seen: Timestamp,
}

/// Something with a key name, kept in a [`TopKeys`] list.
pub trait Named {
    /// The key name (one entry per key).
    fn name(&self) -> &str;
}

impl Named for HotKey {
    fn name(&self) -> &str {
        &self.key
    }
}

impl Named for BigKey {
    fn name(&self) -> &str {
        &self.key
    }
}

/// The `cap` highest-scoring items, one per key. Offering is O(1) for an
/// item below the current minimum and O(cap) otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct TopKeys<T> {
    cap: usize,
    items: Vec<(f64, T)>,
    min: f64,
}

impl<T: Named + Clone> TopKeys<T> {
    /// An empty list holding at most `cap` items.
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            items: Vec::new(),
            min: f64::NEG_INFINITY,
        }
    }

    /// Offer `item` with `score` (NaN is ignored).
    pub fn offer(&mut self, score: f64, item: T) {
        if self.cap == 0 || score.is_nan() {
            return;
        }
        let full = self.items.len() >= self.cap;
        if full && score <= self.min {
            return;
        }
        if let Some(slot) = self.items.iter_mut().find(|(_, x)| x.name() == item.name()) {
            *slot = (score, item);
        } else if full {
            if let Some(i) = self.argmin() {
                self.items[i] = (score, item);
            }
        } else {
            self.items.push((score, item));
        }
        if self.items.len() >= self.cap {
            self.min = self
                .items
                .iter()
                .map(|(s, _)| *s)
                .fold(f64::INFINITY, f64::min);
        }
    }

    fn argmin(&self) -> Option<usize> {
        self.items
            .iter()
            .enumerate()
            .min_by(|a, b| cmp_f64(a.1.0, b.1.0))
            .map(|(i, _)| i)
    }

    /// Items with scores, best first (ties by name).
    pub fn sorted(&self) -> Vec<(f64, T)> {
        let mut v = self.items.clone();
        v.sort_by(|a, b| cmp_f64(b.0, a.0).then_with(|| a.1.name().cmp(b.1.name())));
        v
    }
}

/// Longest prefix group name kept, in bytes (cut with a hash of the whole).
pub const PREFIX_BYTES: usize = 128;

/// Longest key name the hot and big lists keep, in bytes: they are shown,
/// never used to address a key.
pub const KEY_BYTES: usize = 1024;

fn shown_key(key: &str) -> String {
    crate::engines::bounded::name(key, KEY_BYTES).into_owned()
}

/// One pass of the walk (complete or in progress).
#[derive(Debug, Clone)]
pub struct PassAcc {
    /// Pass number.
    pub number: u64,
    /// First batch seen.
    pub started: Timestamp,
    /// Latest batch seen.
    pub last_at: Timestamp,
    /// When `SCAN` returned cursor 0.
    pub done_at: Option<Timestamp>,
    /// Keys seen (missing ones excluded).
    pub sampled: u64,
    /// Keys seen with a size measured.
    pub mem_sampled: u64,
    /// Keys seen with a heat reading, of which under LFU.
    pub heat_n: u64,
    /// Heat readings that were LFU counters.
    pub lfu_n: u64,
    /// Per place in the prefix tree (`None`: keys without the
    /// delimiter); bounded by the tree's nodes. Rows are made of places
    /// when shown ([`PassAcc::rows`]), so a row that splits later splits
    /// this pass's sums too.
    pub prefixes: FxHashMap<Option<Place>, PrefixAcc>,
    /// Hottest keys.
    pub hot: TopKeys<HotKey>,
    /// Biggest keys.
    pub big: TopKeys<BigKey>,
}

impl PassAcc {
    /// A pass starting at `at`.
    pub fn new(number: u64, at: Timestamp, top: usize) -> Self {
        Self {
            number,
            started: at,
            last_at: at,
            done_at: None,
            sampled: 0,
            mem_sampled: 0,
            heat_n: 0,
            lfu_n: 0,
            prefixes: FxHashMap::default(),
            hot: TopKeys::new(top),
            big: TopKeys::new(top),
        }
    }

    /// The sums per row as `tree` cuts them now, by row name.
    pub fn rows(&self, tree: &PrefixTree) -> FxHashMap<String, PrefixAcc> {
        let mut out: FxHashMap<String, PrefixAcc> = FxHashMap::default();
        for (place, acc) in &self.prefixes {
            out.entry(tree.row_of(*place)).or_default().merge(acc);
        }
        out
    }

    /// Add one observed key at its `place` in the prefix tree (keys found
    /// missing are skipped: they are not part of the keyspace any more).
    pub fn add(&mut self, k: &SampledKey, place: Option<Place>, at: Timestamp) {
        let Some(ttl) = k.ttl_ms.filter(|_| k.kind != KeyKind::Missing) else {
            return;
        };
        self.sampled += 1;
        let acc = self.prefixes.entry(place).or_default();
        acc.keys += 1;
        acc.expiry.add(at, ttl);
        if let Some(m) = k.memory {
            self.mem_sampled += 1;
            let m = m as f64;
            acc.mem_n += 1;
            acc.mem_sum += m;
            acc.mem_sq += m * m;
        }
        if let Some(e) = k.elements {
            acc.elem_n += 1;
            acc.elem_sum += e as f64;
        }
        if let Some(h) = k.heat {
            self.heat_n += 1;
            self.lfu_n += u64::from(matches!(h, KeyHeat::LfuFreq(_)));
            acc.rate_sum += h.est_rate();
            if h.recent() {
                acc.recent += 1;
                self.hot.offer(
                    h.hot_score(),
                    HotKey {
                        key: shown_key(&k.key),
                        heat: h,
                        ttl_ms: k.ttl_ms,
                        seen: at,
                    },
                );
            }
        }
        let size = k.memory.or(k.elements).unwrap_or(0);
        if size > 0 {
            // Bytes rank above element counts when both kinds are present.
            let score = if k.memory.is_some() {
                size as f64 * 1e3
            } else {
                size as f64
            };
            self.big.offer(
                score,
                BigKey {
                    key: shown_key(&k.key),
                    kind: k.kind,
                    memory: k.memory,
                    elements: k.elements,
                    seen: at,
                },
            );
        }
        self.last_at = at;
    }
}

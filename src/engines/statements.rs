//! `pg_stat_statements` per endpoint: each entry's counters between an
//! endpoint's reads into calls/s, mean time and rows per call, recombined
//! per statement text over every endpoint. Pure: the caller hands each
//! read and its time.

use std::hash::Hash;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::Timestamp;
use super::counters::{CumulativeSet, SetDelta};

/// Cumulative figures of one `pg_stat_statements` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementCounters {
    /// `queryid`.
    pub queryid: i64,
    /// The normalised text (`$1` for constants).
    pub text: String,
    /// `calls`.
    pub calls: u64,
    /// `total_exec_time`, µs.
    pub total_us: u64,
    /// `rows`.
    pub rows: u64,
    /// `shared_blks_hit`.
    pub blks_hit: u64,
    /// `shared_blks_read`.
    pub blks_read: u64,
}

/// State kept per endpoint and per item (a table, a statement) between an
/// endpoint's reads of its top-N lists. Rows are shared by every endpoint
/// (table `users` on the primary and on a replica is one row), each with
/// its own counters: only per-endpoint deltas may meet in a row.
pub type PerEndpoint<E, K, V> = FxHashMap<E, FxHashMap<K, V>>;

/// Hand `f` each item of endpoint `id`'s complete read (`keys[i]`) with its
/// state from the endpoint's previous read, `V::default()` when it was not
/// in it. The read replaces the endpoint's map: an item that left the top N
/// and came back starts a new baseline, its traffic while out is no spike.
/// A key repeated within one read gets a fresh state that is not kept (its
/// counters cannot be told from the other's).
pub fn reread<E, K, V>(
    map: &mut PerEndpoint<E, K, V>,
    id: E,
    keys: impl IntoIterator<Item = K>,
    mut f: impl FnMut(usize, &mut V),
) where
    E: Hash + Eq,
    K: Hash + Eq,
    V: Default,
{
    let mut old = map.remove(&id).unwrap_or_default();
    let mut new = FxHashMap::default();
    for (i, k) in keys.into_iter().enumerate() {
        if new.contains_key(&k) {
            f(i, &mut V::default());
            continue;
        }
        let mut v = old.remove(&k).unwrap_or_default();
        f(i, &mut v);
        new.insert(k, v);
    }
    map.insert(id, new);
}

/// Rates of one `pg_stat_statements` entry between its last two reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatementRates {
    /// Calls per second.
    pub calls_per_s: f64,
    /// Mean execution time of those calls, ms.
    pub mean_ms: f64,
    /// Rows per call.
    pub rows_per_call: f64,
}

/// Calls, µs, rows, generation, when.
type LastRead = (u64, u64, u64, u32, Timestamp);

/// One statement on one endpoint.
#[derive(Debug, Default)]
struct Entry {
    last: Option<LastRead>,
    /// Its shared blocks hit and read, for the heatmap.
    blocks: CumulativeSet<2>,
    /// Its row name.
    name: String,
    /// Between its last two comparable reads.
    rates: Option<StatementRates>,
}

/// Per-statement rates for the heatmap's fingerprint detail.
#[derive(Debug)]
pub struct StatementBoard<E> {
    /// Per endpoint, by queryid.
    entries: PerEndpoint<E, i64, Entry>,
    /// By row name (the statement's text as the heatmap shows it), over
    /// every endpoint and query id with that name: calls/s summed, the
    /// mean time and rows per call weighted by calls/s.
    pub rates: FxHashMap<String, StatementRates>,
}

impl<E: Hash + Eq> StatementBoard<E> {
    /// Endpoint `id`'s complete read (`names[i]` is `rows[i]`'s row): hands
    /// `blocks` each statement's block delta and the time of its previous
    /// read, then recombines the rates.
    pub fn read(
        &mut self,
        id: E,
        generation: u32,
        rows: &[StatementCounters],
        names: &[String],
        at: Timestamp,
        mut blocks: impl FnMut(usize, SetDelta<2>, Option<Timestamp>),
    ) {
        let epoch = u64::from(generation);
        reread(
            &mut self.entries,
            id,
            rows.iter().map(|s| s.queryid),
            |i, e| {
                let s = &rows[i];
                let since = e.last.map(|l| l.4);
                blocks(i, e.blocks.observe([s.blks_hit, s.blks_read], epoch), since);
                if let Some(n) = names.get(i) {
                    e.name.clone_from(n);
                }
                let now = (s.calls, s.total_us, s.rows, generation, at);
                // A reset, a restart or a deallocated entry: a new baseline
                // (the rates shown stay those of the last good interval).
                if let Some((calls, us, rows, g, t)) = e.last.replace(now)
                    && g == generation
                    && s.calls >= calls
                    && at.secs_since(t) > 0.0
                {
                    let dc = (s.calls - calls) as f64;
                    let per_call = |v: u64| if dc > 0.0 { v as f64 / dc } else { 0.0 };
                    e.rates = Some(StatementRates {
                        calls_per_s: dc / at.secs_since(t),
                        mean_ms: per_call(s.total_us.saturating_sub(us)) / 1000.0,
                        rows_per_call: per_call(s.rows.saturating_sub(rows)),
                    });
                }
            },
        );
        self.combine();
    }

    /// `rates` from every endpoint's entries.
    fn combine(&mut self) {
        // Per name: the first rates, how many, Σ calls/s, Σ calls/s × mean,
        // Σ calls/s × rows per call.
        type Sum = (StatementRates, u32, f64, f64, f64);
        let mut sums: FxHashMap<&str, Sum> = FxHashMap::default();
        let all = self.entries.values().flat_map(FxHashMap::values);
        for (e, r) in all.filter_map(|e| e.rates.map(|r| (e, r))) {
            let w = r.calls_per_s;
            let s = sums.entry(&e.name).or_insert((r, 0, 0.0, 0.0, 0.0));
            s.1 += 1;
            s.2 += w;
            s.3 += w * r.mean_ms;
            s.4 += w * r.rows_per_call;
        }
        self.rates = sums
            .into_iter()
            .map(|(name, (first, n, cps, ms, rows))| {
                let r = match n {
                    1 => first,
                    _ if cps > 0.0 => StatementRates {
                        calls_per_s: cps,
                        mean_ms: ms / cps,
                        rows_per_call: rows / cps,
                    },
                    _ => StatementRates {
                        calls_per_s: 0.0,
                        mean_ms: 0.0,
                        rows_per_call: 0.0,
                    },
                };
                (name.to_string(), r)
            })
            .collect();
    }
}

impl<E> Default for StatementBoard<E> {
    fn default() -> Self {
        Self {
            entries: FxHashMap::default(),
            rates: FxHashMap::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(queryid: i64, calls: u64, total_us: u64) -> StatementCounters {
        StatementCounters {
            queryid,
            text: format!("q{queryid}"),
            calls,
            total_us,
            rows: calls * 2,
            ..StatementCounters::default()
        }
    }

    fn read(
        b: &mut StatementBoard<u8>,
        ep: u8,
        generation: u32,
        rows: &[StatementCounters],
        at: i64,
    ) {
        let names: Vec<String> = rows.iter().map(|r| r.text.clone()).collect();
        b.read(ep, generation, rows, &names, Timestamp(at), |_, _, _| {});
    }

    #[test]
    fn rates_between_two_reads_and_combined_over_endpoints() {
        let mut b = StatementBoard::default();
        read(&mut b, 1, 1, &[row(7, 100, 1_000)], 0);
        assert!(b.rates.is_empty(), "one read is no rate");
        read(&mut b, 1, 1, &[row(7, 200, 101_000)], 10_000);
        let r = b.rates["q7"];
        assert_eq!(r.calls_per_s, 10.0);
        assert_eq!(r.mean_ms, 1.0);
        assert_eq!(r.rows_per_call, 2.0);
        // Another endpoint, same text: calls/s summed, the mean weighted.
        read(&mut b, 2, 1, &[row(9, 0, 0)], 0);
        read(&mut b, 2, 1, &[row(9, 300, 900_000)], 10_000);
        let r = b.rates["q9"];
        assert_eq!(r.calls_per_s, 30.0);
        let mut b2 = StatementBoard::default();
        let same = |q, calls, us| StatementCounters {
            text: "same".into(),
            ..row(q, calls, us)
        };
        read(&mut b2, 1, 1, &[same(1, 0, 0)], 0);
        read(&mut b2, 2, 1, &[same(2, 0, 0)], 0);
        read(&mut b2, 1, 1, &[same(1, 100, 100_000)], 10_000);
        read(&mut b2, 2, 1, &[same(2, 300, 900_000)], 10_000);
        let r = b2.rates["same"];
        assert_eq!(r.calls_per_s, 40.0);
        assert!((r.mean_ms - (10.0 * 1.0 + 30.0 * 3.0) / 40.0).abs() < 1e-9);
    }

    #[test]
    fn a_reset_or_a_comeback_is_a_new_baseline() {
        let mut b = StatementBoard::default();
        read(&mut b, 1, 1, &[row(7, 100, 0)], 0);
        read(&mut b, 1, 1, &[row(7, 200, 0)], 10_000);
        assert_eq!(b.rates["q7"].calls_per_s, 10.0);
        // Restarted (new generation), counters from zero: no spike, the
        // last good rate stays.
        read(&mut b, 1, 2, &[row(7, 5, 0)], 20_000);
        assert_eq!(b.rates["q7"].calls_per_s, 10.0);
        // Out of the top N for a read, then back with far higher counters:
        // its state was dropped, so no rate spans the gap.
        read(&mut b, 1, 2, &[], 30_000);
        assert!(b.rates.is_empty());
        read(&mut b, 1, 2, &[row(7, 10_000, 0)], 40_000);
        assert!(b.rates.is_empty());
    }

    #[test]
    fn a_key_twice_in_one_read_keeps_no_state() {
        let mut map: PerEndpoint<u8, &str, u32> = FxHashMap::default();
        let mut seen = Vec::new();
        reread(&mut map, 1, ["a", "b", "a"], |i, v| {
            *v += 1;
            seen.push((i, *v));
        });
        assert_eq!(seen, vec![(0, 1), (1, 1), (2, 1)]);
        assert_eq!(map[&1].len(), 2);
        reread(&mut map, 1, ["a"], |_, v| *v += 1);
        assert_eq!(map[&1]["a"], 2, "kept from the previous read");
        assert!(!map[&1].contains_key("b"), "gone from the read, gone");
    }
}

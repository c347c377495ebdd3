//! Applying what access events and key observations say: heatmap rows,
//! the warming tracker, the clients engine and the optimizer's workload.

use rustc_hash::FxHashMap;

use super::state::State;
use crate::engines::Timestamp;
use crate::engines::clients::{ClientDelta, OperationDelta, RequestDelta, TableDelta, TableKey};
use crate::engines::heatmap::{Measure, RowKind};
use crate::engines::intern::key_hash;
use crate::engines::warming::TtlState;
use crate::sample::SourceId;

impl State {
    pub(crate) fn accesses(&mut self, aggs: &[crate::sample::AccessAgg], at: Timestamp) {
        let mut events = 0u64;
        for a in aggs {
            events += u64::from(a.count);
            // Writes are accesses, not lookups: they stay out of hit ratios.
            match (&a.query, a.lookups) {
                (_, 0) => {}
                (Some(q), n) => {
                    let q = self.heatmap.query(q);
                    self.heatmap.record_query_n(q, n, a.hits, a.saved_us, at);
                }
                (None, n) => {
                    for t in a.table.split(',') {
                        let row = self.heatmap.row(RowKind::Table, Measure::Cache, t);
                        self.heatmap.record(row, n, a.hits, a.saved_us, at);
                    }
                }
            }
            let count = i64::from(a.count);
            let errors = i64::from(a.errors.min(a.count));
            let names = self.clients.names_mut();
            let client = names.client(&a.client);
            let operation = names.operation(&a.op);
            let mut deltas: Vec<ClientDelta> = a
                .table
                .split(',')
                .map(|t| {
                    ClientDelta::Table(TableDelta {
                        key: TableKey {
                            client,
                            table: names.table(t),
                            operation,
                        },
                        d_total: count,
                        d_err: errors,
                    })
                })
                .collect();
            deltas.extend([
                ClientDelta::Request(RequestDelta {
                    client,
                    d_req: count,
                    d_succ: count - errors,
                    d_fail: errors,
                    d_cached: i64::from(a.hits),
                }),
                ClientDelta::Operation(OperationDelta {
                    client,
                    d_op: count,
                }),
                ClientDelta::LastSeen(client),
            ]);
            self.clients.apply_all(&deltas, at);
        }
        self.optimizer.analyzer_mut().record_count(at, events);
    }

    pub(crate) fn keys(&mut self, keys: &[crate::sample::KeyObs], at: Timestamp) {
        let mut by_prefix: FxHashMap<&str, u32> = FxHashMap::default();
        for k in keys {
            let hash = if k.accesses > 0 {
                self.warming.record_named_n(&k.key, k.accesses, at)
            } else {
                key_hash(&k.key)
            };
            let state = match k.ttl_ms {
                None => TtlState::Missing,
                Some(ms) => TtlState::from_pttl(ms),
            };
            self.warming.observe_ttl(hash, &k.key, state, at);
            let prefix = k.key.split(':').next().unwrap_or(&k.key);
            *by_prefix.entry(prefix).or_default() += k.accesses;
        }
        let mut prefixes: Vec<(&str, u32)> = by_prefix.into_iter().collect();
        prefixes.sort_unstable();
        for (p, n) in prefixes {
            let row = self
                .heatmap
                .row(RowKind::Prefix, Measure::Sampled, &format!("{p}:*"));
            self.heatmap.record(row, n, 0, 0, at);
        }
    }

    pub(crate) fn key_accesses(&mut self, keys: &[crate::sample::KeyAccess], at: Timestamp) {
        for k in keys {
            let hash = self.warming.record_named_n(&k.key, k.count, at);
            // Only misses since the last flush: the key is not in the cache.
            if k.misses > 0 && k.hits == 0 {
                self.warming
                    .observe_ttl(hash, &k.key, TtlState::Missing, at);
            }
        }
    }

    pub(crate) fn stream(&mut self, id: SourceId, st: &crate::sample::StreamStats, at: Timestamp) {
        let Some(src) = self.source_mut(id) else {
            return;
        };
        let dt = src.last_stats_at.map_or(0.0, |l| at.secs_since(l));
        src.last_stats_at = Some(at);
        let (before, bad_before) = src
            .stream
            .as_ref()
            .map_or((st.read, 0), |s| (s.read, s.malformed));
        if dt > 0.0 {
            src.ops_per_sec = st.read.saturating_sub(before) as f64 / dt;
        }
        src.stream = Some(st.clone());
        if st.malformed > bad_before
            && let Some(why) = &st.last_malformed
        {
            let msg = format!(
                "event stream: {} malformed entries skipped; latest {why}",
                st.malformed
            );
            self.ui.set_status(msg, true, at);
        }
    }
}

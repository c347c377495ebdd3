//! Key-sampler batches into the engines: the per-node keyspace estimates,
//! the warming engine (every sampled key's TTL; hot keys as estimated
//! access rates) and the heatmap's sampled prefix rows.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::state::State;
use crate::engines::Timestamp;
use crate::engines::heatmap::{Measure, RowId, RowKind};
use crate::engines::intern::key_hash;
use crate::engines::keyspace::{
    KeyHeat, KeyspaceConfig, KeyspaceEngine, KeyspaceSample, key_row, obs::RECENT_IDLE_SECS,
    row_name,
};
use crate::engines::warming::{Signal, TtlState};
use crate::sample::SourceId;

/// A node whose sampler has been quiet this long (ms) adds nothing more to
/// the heatmap (its last estimates still show, with their age).
const HEAT_STALE_MS: u64 = 60_000;

/// Most estimated accesses one key is credited with per sighting.
const MAX_CREDIT: f64 = 1e6;

/// The keyspace of every sampled node.
#[derive(Debug, Clone, Default)]
pub struct KeyspaceBoard {
    /// One engine per Redis node with a sampler.
    pub nodes: BTreeMap<SourceId, KeyspaceEngine>,
    /// Fractions of an access not yet recorded, per heatmap row.
    carry: FxHashMap<RowId, f64>,
    /// Where the sampler met the event stream's own key (left out).
    pub own_stream: super::own_stream::OwnStream,
}

impl KeyspaceBoard {
    /// The row a key counts for wherever keys are grouped: as the first
    /// sampled node with this delimiter cuts its keyspace's shape into
    /// rows (`ux:user:*`), else by its first segment ([`key_row`]).
    pub fn row(&self, key: &str, delim: &str) -> String {
        self.nodes
            .values()
            .find(|e| e.delimiter() == delim && e.last_sample_at().is_some())
            .map_or_else(|| key_row(key, delim), |e| e.row(key))
    }
}

impl State {
    /// One sampler batch: estimates, warming (TTL of every key; a key used
    /// recently is credited with its estimated rate × the time until it is
    /// seen again, so the tracker's decayed rate approaches that estimate).
    pub(crate) fn keyspace_sample(&mut self, id: SourceId, k: &KeyspaceSample, at: Timestamp) {
        let engine = self
            .keyspace
            .nodes
            .entry(id)
            .or_insert_with(|| KeyspaceEngine::new(KeyspaceConfig::default()));
        engine.ingest(k, at);
        let revisit = engine.revisit_secs(at);
        let min_rate = self.warming.config().min_hot_rate;
        self.warm.prune_written(
            at,
            i64::try_from(RECENT_IDLE_SECS * 1000).unwrap_or(i64::MAX),
        );
        for key in &k.keys {
            // A key too long to keep by name: its accesses are tracked by
            // the hash of the whole, and it is never named or warmed.
            if key.key.len() > crate::sources::events::schema::MAX_KEY_BYTES {
                let rate = key.heat.map_or(0.0, |h| h.est_rate());
                if rate > 0.0 && rate >= min_rate {
                    let n = (rate * revisit).round().clamp(1.0, MAX_CREDIT) as u32;
                    self.warming.record_n(key_hash(&key.key), n, at);
                }
                continue;
            }
            let mut rate = key.heat.map_or(0.0, |h| h.est_rate());
            if let Some(KeyHeat::IdleSecs(idle)) = key.heat {
                let touched = at.add_millis(-i64::try_from(idle * 1000).unwrap_or(i64::MAX));
                if self.warm.touched_by_warming(key_hash(&key.key), touched) {
                    rate = 0.0;
                }
            }
            let hash = if rate > 0.0 && rate >= min_rate {
                let n = (rate * revisit).round().clamp(1.0, MAX_CREDIT) as u32;
                self.warming
                    .record_via(&key.key, n, Signal::SamplerHeat, at)
            } else {
                key_hash(&key.key)
            };
            let state = match key.ttl_ms {
                None => TtlState::Missing,
                Some(ms) => TtlState::from_pttl(ms),
            };
            self.warming.observe_ttl(hash, &key.key, state, at);
        }
    }

    /// At a data tick: each fresh node's estimated accesses per prefix over
    /// the tick into the heatmap's sampled prefix rows (`user:*`; every
    /// sampled prefix gets a row, so unused ones show cold). These are
    /// estimates from LFU counters or idle times, never hits or misses.
    pub(crate) fn keyspace_heat(&mut self, since: Option<Timestamp>, now: Timestamp) {
        let Some(since) = since else {
            return;
        };
        let dt = now.secs_since(since);
        if dt <= 0.0 || self.keyspace.nodes.is_empty() {
            return;
        }
        let mut rates: BTreeMap<String, f64> = BTreeMap::new();
        for e in self.keyspace.nodes.values() {
            if e.last_sample_at()
                .is_none_or(|t| now.millis_since(t) > HEAT_STALE_MS)
            {
                continue;
            }
            for (group, rate) in e.prefix_rates() {
                *rates.entry(row_name(&group, e.delimiter())).or_default() += rate;
            }
        }
        for (name, rate) in rates {
            let row = self.heatmap.row(RowKind::Prefix, Measure::Sampled, &name);
            let carry = self.keyspace.carry.entry(row).or_default();
            let total = *carry + rate * dt;
            let whole = total.floor().clamp(0.0, f64::from(u32::MAX));
            *carry = total - whole;
            if whole >= 1.0 {
                self.heatmap.record(row, whole as u32, 0, 0, now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::SessionInfo;
    use crate::engines::keyspace::{KeyKind, SampledKey};

    fn sighting(st: &mut State, at: i64, key: &str, idle: u64) {
        let k = SampledKey {
            key: key.into(),
            kind: KeyKind::String,
            ttl_ms: Some(100_000),
            heat: Some(KeyHeat::IdleSecs(idle)),
            memory: None,
            elements: None,
        };
        let sample = KeyspaceSample {
            pass: 1,
            pass_done: false,
            db_keys: 10,
            budget: 1000,
            rule: None,
            sent: 0,
            delimiter: ":".into(),
            keys: vec![k],
            refused: Vec::new(),
        };
        st.keyspace_sample(SourceId(1), &sample, Timestamp(at));
    }

    #[test]
    fn the_consoles_own_write_is_not_an_access_and_keeps_the_refresh_cap() {
        let mut st = State::new(SessionInfo::default(), 1000);
        let h = key_hash("user:1");
        // A real access first: the key is tracked.
        sighting(&mut st, 0, "user:1", 0);
        assert_eq!(st.warming.tracker().refreshes(h), Some(0));
        // Warming rewrote it between 10 s and 12 s.
        st.warming.note_refreshed(h, Timestamp(12_000));
        st.warm
            .written
            .insert(h, (Timestamp(10_000), Timestamp(12_000)));
        // Seen at 20 s, idle 9 s: touched at 11 s, by the write.
        sighting(&mut st, 20_000, "user:1", 9);
        assert_eq!(
            st.warming.tracker().refreshes(h),
            Some(1),
            "still one refresh"
        );
        // Idle 2 s at 25 s: touched at 23 s, after the job: a real access.
        sighting(&mut st, 25_000, "user:1", 2);
        assert_eq!(st.warming.tracker().refreshes(h), Some(0));
        // Windows older than the sampler's credit horizon are forgotten.
        sighting(&mut st, 200_000, "user:2", 500);
        assert!(st.warm.written.is_empty());
    }
}

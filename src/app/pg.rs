//! Postgres figures into the state: transactions and buffer-cache deltas,
//! tuple rates, deadlocks and temp files (reset-aware), the optimizer's
//! measurements.

use super::source::PgRates;
use super::state::State;
use crate::engines::Timestamp;
use crate::engines::counters::SetDelta;
use crate::engines::heatmap::{Measure, RowKind};
use crate::engines::optimizer::Measurement;
use rustc_hash::FxHashMap;

use crate::sample::{PgStats, SourceId, StatementCounters, Statements};

impl State {
    pub(super) fn postgres(&mut self, id: SourceId, p: &PgStats, at: Timestamp) {
        let capacity = self.session.pg_capacity.unwrap_or(0);
        let Some(src) = self.source_mut(id) else {
            return;
        };
        let dt = src.last_stats_at.map_or(0.0, |l| at.secs_since(l));
        src.last_stats_at = Some(at);
        let per_sec = |v: u64| if dt > 0.0 { v as f64 / dt } else { 0.0 };
        if let SetDelta::Values([x, rb, bh, br]) = src
            .pg_counters
            .observe([p.xacts, p.rollbacks, p.blks_hit, p.blks_read], p.epoch)
        {
            src.ops_per_sec = per_sec(x);
            src.pg_rates.rollbacks = per_sec(rb);
            src.buffer = (bh, br);
        }
        let mut announce = None;
        if let Some(d) = &p.detail {
            let vals = [
                d.tup_read,
                d.tup_written,
                d.deadlocks,
                d.temp_files,
                d.conflicts,
            ];
            match src.pg_detail_counters.observe(vals, p.epoch) {
                SetDelta::Values([r, w, dl, tf, cf]) => {
                    let rates = &mut src.pg_rates;
                    rates.tup_read = per_sec(r);
                    rates.tup_written = per_sec(w);
                    rates.deadlocks += dl;
                    rates.temp_files += tf;
                    rates.conflicts += cf;
                }
                SetDelta::Reset => {
                    src.pg_rates = PgRates::default();
                }
                SetDelta::Baseline => {}
            }
            src.pg_detail = Some(d.clone());
            // A slot that became inactive is said once; the header and the
            // detail keep showing it.
            let slot = (d.inactive_slots > 0).then(|| match &d.worst_slot {
                Some((name, _, false)) => name.clone(),
                _ => String::new(),
            });
            if slot != src.pg_alerted {
                src.pg_alerted.clone_from(&slot);
                if let (Some(_), Some(alert)) = (slot, super::pg_detail::pg_alert(src)) {
                    announce = Some(format!("{}: {alert}", src.name));
                }
            }
        }
        src.used = p.size_bytes;
        src.capacity = capacity;
        src.lag_bytes = p.lag_bytes;
        let (backend, opt, ops, rtt) = (src.backend, src.opt_id, src.ops_per_sec, src.rtt_ms);
        if let Some(msg) = announce {
            self.ui.set_status(msg, true, at);
        }
        if let Some(b) = backend {
            self.db_pool.set_used(b, p.size_bytes);
            let cfg = self.db_pool.backend(b).map(|x| x.config().clone());
            if let Some(mut c) = cfg.filter(|c| c.capacity != capacity) {
                c.capacity = capacity;
                let _ = self.db_pool.update_backend(c);
            }
        }
        if let (Some(o), Some(lat)) = (opt, rtt) {
            let m = Measurement {
                latency_ms: lat,
                throughput_eps: ops,
                success_rate: 1.0,
                connections: u32::try_from(p.connections).unwrap_or(u32::MAX),
                ..Measurement::default()
            };
            self.optimizer.observe(o, &m, at);
        }
    }
}

impl State {
    /// `pg_stat_statements` rows into the heatmap: one fingerprint row per
    /// normalised statement, counting its shared-buffer blocks (a buffer
    /// measure, never mixed with cache lookups); the reason it cannot be
    /// read goes to the endpoint's detail. A reset or a deallocated entry
    /// lowers the counters: a gap and a new baseline.
    pub(super) fn statements(
        &mut self,
        id: SourceId,
        generation: u32,
        st: &Statements,
        at: Timestamp,
    ) {
        if let Some(src) = self.source_mut(id) {
            src.pg_statements_note.clone_from(&st.unavailable);
            src.pg_statements = st.rows.len();
        }
        for s in &st.rows {
            let name: String = s.text.split_whitespace().collect::<Vec<_>>().join(" ");
            let name: String = name.chars().take(STATEMENT_NAME).collect();
            self.pg_statements.observe(id, generation, s, &name, at);
            let row = self
                .heatmap
                .row(RowKind::Fingerprint, Measure::Buffer, &name);
            self.heatmap
                .record_cumulative(row, s.blks_hit, s.blks_read, u64::from(generation), at);
        }
    }
}

/// Characters of a statement's text kept as its row name.
const STATEMENT_NAME: usize = 200;

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

/// Per-statement rates for the heatmap's fingerprint detail.
#[derive(Debug, Default)]
pub struct StatementBoard {
    /// Last cumulative read per (endpoint, queryid).
    last: FxHashMap<(SourceId, i64), LastRead>,
    /// By row name (the statement's text as the heatmap shows it).
    pub rates: FxHashMap<String, StatementRates>,
}

impl StatementBoard {
    fn observe(
        &mut self,
        id: SourceId,
        generation: u32,
        s: &StatementCounters,
        name: &str,
        at: Timestamp,
    ) {
        let now = (s.calls, s.total_us, s.rows, generation, at);
        // A reset, a restart or a deallocated entry: a new baseline.
        if let Some((calls, us, rows, g, t)) = self.last.insert((id, s.queryid), now)
            && g == generation
            && s.calls >= calls
            && at.secs_since(t) > 0.0
        {
            let dc = (s.calls - calls) as f64;
            let rates = StatementRates {
                calls_per_s: dc / at.secs_since(t),
                mean_ms: if dc > 0.0 {
                    s.total_us.saturating_sub(us) as f64 / dc / 1000.0
                } else {
                    0.0
                },
                rows_per_call: if dc > 0.0 {
                    s.rows.saturating_sub(rows) as f64 / dc
                } else {
                    0.0
                },
            };
            self.rates.insert(name.to_string(), rates);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::SessionInfo;
    use crate::sample::{Body, PgDetail, Sample, SourceKind};

    fn sample(at: i64, body: Body) -> Sample {
        Sample {
            source: SourceId(7),
            generation: 1,
            at: Timestamp(at),
            body,
        }
    }

    fn stats(epoch: u64, xacts: u64, deadlocks: u64) -> Body {
        Body::Postgres(PgStats {
            epoch,
            xacts,
            detail: Some(PgDetail {
                tup_read: xacts * 10,
                deadlocks,
                ..PgDetail::default()
            }),
            ..PgStats::default()
        })
    }

    #[test]
    fn a_promotion_moves_the_backend_and_says_so() {
        let mut st = State::new(SessionInfo::default(), 1000);
        let hello = |kind| Body::Hello {
            name: "db:5432/app".into(),
            kind,
        };
        // Announced before the first refresh, then the role as read.
        st.apply(&sample(0, hello(SourceKind::PgPrimary)));
        st.apply(&sample(0, hello(SourceKind::PgReplica)));
        assert!(st.ui.status.is_none(), "learning the role is no change");
        let b = st.sources[0].backend.expect("a pool backend");
        assert_eq!(
            st.db_pool.backend(b).map(|x| x.config.kind.as_str()),
            Some("pg replica")
        );
        st.apply(&sample(500, stats(1, 10, 0)));
        st.apply(&sample(1000, hello(SourceKind::PgPrimary)));
        assert_eq!(st.sources[0].kind, SourceKind::PgPrimary);
        assert_eq!(st.sources[0].backend, Some(b), "the same backend");
        assert_eq!(
            st.db_pool.backend(b).map(|x| x.config.kind.as_str()),
            Some("pg primary")
        );
        let status = st
            .ui
            .status
            .as_ref()
            .map(|s| s.text.clone())
            .unwrap_or_default();
        assert!(status.contains("promoted to primary"), "{status}");
    }

    #[test]
    fn detail_rates_take_a_new_baseline_after_a_reset() {
        let mut st = State::new(SessionInfo::default(), 1000);
        st.apply(&sample(
            0,
            Body::Hello {
                name: "db".into(),
                kind: SourceKind::PgPrimary,
            },
        ));
        st.apply(&sample(0, stats(1, 100, 2)));
        st.apply(&sample(1000, stats(1, 150, 3)));
        let r = st.sources[0].pg_rates;
        assert_eq!((r.tup_read, r.deadlocks), (500.0, 1));
        // Reset: lower counters, a new epoch; no negative or huge rate.
        st.apply(&sample(2000, stats(2, 5, 0)));
        let r = st.sources[0].pg_rates;
        assert_eq!((r.tup_read, r.deadlocks), (0.0, 0));
        st.apply(&sample(3000, stats(2, 25, 1)));
        let r = st.sources[0].pg_rates;
        assert_eq!((r.tup_read, r.deadlocks), (200.0, 1));
        assert!((st.sources[0].ops_per_sec - 20.0).abs() < 1e-9);
    }

    #[test]
    fn the_database_size_is_measured_against_the_configured_capacity() {
        let session = SessionInfo {
            pg_capacity: Some(1 << 30),
            ..SessionInfo::default()
        };
        let mut st = State::new(session, 1000);
        let hello = Body::Hello {
            name: "db".into(),
            kind: SourceKind::PgPrimary,
        };
        st.apply(&sample(0, hello));
        let Body::Postgres(mut p) = stats(1, 100, 0) else {
            unreachable!()
        };
        p.size_bytes = 256 << 20;
        st.apply(&sample(0, Body::Postgres(p)));
        st.tick(Timestamp(0));
        let row = &st.derived.backends[0];
        assert_eq!((row.used, row.capacity), (256 << 20, 1 << 30));
    }

    #[test]
    fn statement_rates_come_from_deltas_and_a_reset_is_a_new_baseline() {
        let mut st = State::new(SessionInfo::default(), 1000);
        let read = |calls, us, rows| {
            Body::Statements(Statements {
                unavailable: None,
                rows: vec![StatementCounters {
                    queryid: 42,
                    text: "SELECT * FROM users WHERE id = $1".into(),
                    calls,
                    total_us: us,
                    rows,
                    blks_hit: 10,
                    blks_read: 0,
                }],
            })
        };
        st.apply(&sample(0, read(1000, 500_000, 1000)));
        assert!(st.pg_statements.rates.is_empty(), "one read is no rate");
        st.apply(&sample(10_000, read(1500, 750_000, 1500)));
        let r = st.pg_statements.rates["SELECT * FROM users WHERE id = $1"];
        assert_eq!(
            (r.calls_per_s, r.mean_ms, r.rows_per_call),
            (50.0, 0.5, 1.0)
        );
        // pg_stat_statements_reset(): fewer calls than before, not a rate.
        st.apply(&sample(20_000, read(10, 1_000, 10)));
        let same = st.pg_statements.rates["SELECT * FROM users WHERE id = $1"];
        assert_eq!(same, r);
        st.apply(&sample(30_000, read(210, 201_000, 410)));
        let r = st.pg_statements.rates["SELECT * FROM users WHERE id = $1"];
        assert_eq!(
            (r.calls_per_s, r.mean_ms, r.rows_per_call),
            (20.0, 1.0, 2.0)
        );
    }
}

//! Postgres figures into the state: transactions and buffer-cache deltas,
//! tuple rates, deadlocks and temp files (reset-aware), the optimizer's
//! measurements.

use super::source::PgRates;
use super::state::State;
use crate::engines::Timestamp;
use crate::engines::counters::SetDelta;
use crate::engines::heatmap::{Measure, RowKind};
use crate::engines::optimizer::Measurement;
use crate::sample::{PgStats, SourceId, Statements};

impl State {
    pub(super) fn postgres(&mut self, id: SourceId, p: &PgStats, at: Timestamp) {
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
        src.lag_bytes = p.lag_bytes;
        let (backend, opt, ops, rtt) = (src.backend, src.opt_id, src.ops_per_sec, src.rtt_ms);
        if let Some(msg) = announce {
            self.ui.set_status(msg, true, at);
        }
        if let Some(b) = backend {
            self.db_pool.set_used(b, p.size_bytes);
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
}

//! Postgres figures into the state: transactions and buffer-cache deltas,
//! tuple rates, deadlocks and temp files (reset-aware), the optimizer's
//! measurements.

use super::source::{PgRates, stale_after_ms};
use super::state::State;
use crate::engines::Timestamp;
use crate::engines::counters::{CumulativeSet, SetDelta};
use crate::engines::heatmap::{Measure, RowKind};
use crate::engines::intern::key_hash;
use crate::engines::optimizer::Measurement;
use crate::engines::statements::reread;

use crate::sample::{PgStats, SourceId, Statements, TableCounters};

impl State {
    pub(super) fn postgres(&mut self, id: SourceId, p: &PgStats, at: Timestamp) {
        let capacity = self.session.pg_capacity.unwrap_or(0);
        let refresh_ms = self.refresh_ms;
        let Some(src) = self.source_mut(id) else {
            return;
        };
        let last = src.last_stats_at;
        let dt = last.map_or(0.0, |l| at.secs_since(l));
        src.last_stats_at = Some(at);
        // Readings further apart than a refresh or two are a gap, not a rate.
        let gap = last.is_some_and(|l| at.millis_since(l) > stale_after_ms(refresh_ms));
        let per_sec = |v: u64| if dt > 0.0 { v as f64 / dt } else { 0.0 };
        match src
            .pg_counters
            .observe([p.xacts, p.rollbacks, p.blks_hit, p.blks_read], p.epoch)
        {
            SetDelta::Values([x, rb, bh, br]) if !gap && dt > 0.0 => {
                src.ops_per_sec = per_sec(x);
                src.pg_rates.rollbacks = per_sec(rb);
                src.buffer = (bh, br);
                src.rates_at = Some(at);
            }
            _ => {
                src.buffer = (0, 0);
                src.rates_at = None;
            }
        }
        src.pg_privilege_note = p.detail.as_ref().and_then(|d| d.hidden.clone());
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
        let ops = src.rates_at.map(|_| src.ops_per_sec);
        let (backend, opt, rtt) = (src.backend, src.opt_id, src.rtt_ms);
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
        if let (Some(o), Some(lat), Some(ops)) = (opt, rtt, ops) {
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

/// One table on one endpoint: its block counters and when they were read.
#[derive(Debug, Default)]
pub(crate) struct TableSeen {
    blocks: CumulativeSet<2>,
    at: Option<Timestamp>,
}

impl State {
    /// One endpoint's busiest tables into the heatmap's buffer rows: the
    /// blocks since its previous read of each table (a reset or a new
    /// generation is a gap), summed over endpoints in the row.
    pub(super) fn tables(
        &mut self,
        id: SourceId,
        generation: u32,
        tables: &[TableCounters],
        at: Timestamp,
    ) {
        let epoch = u64::from(generation);
        let heatmap = &mut self.heatmap;
        let keys = tables.iter().map(|t| key_hash(&t.table));
        reread(&mut self.pg_tables, id, keys, |i, seen| {
            let t = &tables[i];
            let d = seen.blocks.observe([t.blks_hit, t.blks_read], epoch);
            let row = heatmap.row(RowKind::Table, Measure::Buffer, &t.table);
            // The blocks came over the time since the previous read, not
            // at this one: spread, a steady load shows no false gaps.
            heatmap.record_delta_over(row, d, seen.at.replace(at), at);
        });
    }

    /// `pg_stat_statements` rows into the heatmap: one fingerprint row per
    /// normalised statement, counting its shared-buffer blocks (a buffer
    /// measure, never mixed with cache lookups) summed over endpoints; the
    /// reason it cannot be read goes to the endpoint's detail. A reset or a
    /// deallocated entry lowers the counters: a gap and a new baseline.
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
        let names: Vec<String> = st
            .rows
            .iter()
            .map(|s| {
                let name = s.text.split_whitespace().collect::<Vec<_>>().join(" ");
                name.chars().take(STATEMENT_NAME).collect()
            })
            .collect();
        let heatmap = &mut self.heatmap;
        self.pg_statements
            .read(id, generation, &st.rows, &names, at, |i, d, since| {
                let row = heatmap.row(RowKind::Fingerprint, Measure::Buffer, &names[i]);
                heatmap.record_delta_over(row, d, since, at);
            });
    }
}

/// Characters of a statement's text kept as its row name.
const STATEMENT_NAME: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::SessionInfo;
    use crate::sample::{Body, PgDetail, Sample, SourceKind, StatementCounters};

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
    fn an_endpoint_is_connecting_until_checked_and_down_when_its_source_gives_up() {
        use crate::engines::pool::HealthState;
        use crate::sample::SourceStatus;
        let mut st = State::new(SessionInfo::default(), 1000);
        let hello = Body::Hello {
            name: "db".into(),
            kind: SourceKind::PgPrimary,
        };
        st.apply(&sample(0, hello));
        st.tick(Timestamp(0));
        assert!(!st.derived.backends[0].checked, "no check yet");
        st.apply(&sample(
            10,
            Body::Status(SourceStatus::Error("bad port".into())),
        ));
        st.tick(Timestamp(10));
        let row = &st.derived.backends[0];
        assert_eq!(row.health, HealthState::Down);
        assert!(row.checked);
        assert!(
            st.derived
                .db_route
                .as_ref()
                .is_none_or(|r| r.targets.is_empty()),
            "nothing is routed to an endpoint that gave up"
        );
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
            event_stream: None,
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

    /// Two endpoints' samples of one table or statement, at `at` seconds.
    fn from(id: u16, at: i64, body: Body) -> Sample {
        Sample {
            source: SourceId(id),
            generation: 1,
            at: Timestamp::from_secs(at),
            body,
        }
    }

    fn tables(list: &[(&str, u64, u64)]) -> Body {
        Body::Tables(
            list.iter()
                .map(|&(name, hit, read)| TableCounters {
                    table: name.into(),
                    blks_hit: hit,
                    blks_read: read,
                    ..TableCounters::default()
                })
                .collect(),
        )
    }

    /// The row's all-time totals and its cells over the last 10 minutes.
    fn heat(
        st: &mut State,
        kind: RowKind,
        name: &str,
        now: i64,
    ) -> (
        crate::engines::heatmap::RowTotals,
        Vec<crate::engines::heatmap::Cell>,
    ) {
        let row = st.heatmap.row(kind, Measure::Buffer, name);
        let totals = st.heatmap.totals(row).unwrap_or_default();
        let view = st.heatmap.view(Timestamp::from_secs(now), 10, 60);
        let cells = view
            .rows
            .iter()
            .find(|r| r.id == row)
            .map(|r| r.cells.clone())
            .unwrap_or_default();
        (totals, cells)
    }

    #[test]
    fn a_table_on_two_endpoints_is_one_row_of_their_summed_deltas() {
        let mut st = State::new(SessionInfo::default(), 1000);
        // A primary with a million hits, a replica with 50,000: read in
        // turns, each endpoint's own counters grow steadily.
        let (mut p, mut r) = ((1_000_000, 9_000), (50_000, 500));
        let (mut hits, mut reads) = (0, 0);
        for round in 0..12 {
            let at = i64::from(round) * 10;
            st.apply(&from(1, at, tables(&[("users", p.0, p.1)])));
            st.apply(&from(2, at + 5, tables(&[("users", r.0, r.1)])));
            if round > 0 {
                // What the previous round's reads grew by (counted now).
                hits += 300 + 40;
                reads += 10 + 2;
            }
            p = (p.0 + 300, p.1 + 10);
            r = (r.0 + 40, r.1 + 2);
            st.tick(Timestamp::from_secs(at + 5));
        }
        let (totals, cells) = heat(&mut st, RowKind::Table, "users", 115);
        assert_eq!((totals.hits, totals.misses), (hits, reads));
        assert_eq!(totals.accesses, hits + reads, "the sum of the true deltas");
        assert!(cells.iter().all(|c| !c.gap), "no endpoint reset: no gap");
        let max = cells.iter().map(|c| c.accesses).max().unwrap_or(0);
        assert!(max <= 2 * (340 + 12), "no spike: {max}");
    }

    #[test]
    fn a_table_that_leaves_the_busiest_list_and_comes_back_is_a_new_baseline() {
        let mut st = State::new(SessionInfo::default(), 1000);
        st.apply(&from(1, 0, tables(&[("a", 100, 0), ("b", 10, 0)])));
        st.apply(&from(1, 10, tables(&[("b", 20, 0)])));
        // Back with all it did while out of the list: not one burst.
        st.apply(&from(1, 20, tables(&[("a", 50_000, 0), ("b", 30, 0)])));
        st.apply(&from(1, 30, tables(&[("a", 50_100, 0)])));
        // Another endpoint's read does not touch this one's baselines.
        st.apply(&from(2, 35, tables(&[("b", 7, 0)])));
        st.apply(&from(1, 40, tables(&[("a", 50_200, 0), ("b", 45, 0)])));
        st.tick(Timestamp::from_secs(40));
        let (a, cells) = heat(&mut st, RowKind::Table, "a", 40);
        assert_eq!(a.accesses, 200, "only the deltas of consecutive reads");
        assert!(cells.iter().all(|c| !c.gap));
        let (b, _) = heat(&mut st, RowKind::Table, "b", 40);
        assert_eq!(b.accesses, 20, "b: +10, +10, then absent: a new baseline");
    }

    #[test]
    fn a_statement_on_two_endpoints_sums_its_blocks_and_its_calls() {
        let mut st = State::new(SessionInfo::default(), 1000);
        let text = "SELECT * FROM users WHERE id = $1";
        let read = |calls: u64, us: u64, rows: u64, blocks: u64| {
            Body::Statements(Statements {
                unavailable: None,
                rows: vec![StatementCounters {
                    queryid: 42,
                    text: text.into(),
                    calls,
                    total_us: us,
                    rows,
                    blks_hit: blocks,
                    blks_read: blocks / 100,
                }],
            })
        };
        // The primary: 100 calls/s of 1 ms, 1 row each; the replica:
        // 10 calls/s of 10 ms, 5 rows each. Read in turns every 10 s.
        let (mut p, mut r) = ((1_000_000, 900_000_000, 1_000_000), (50_000, 1_000, 2_000));
        let (mut pb, mut rb) = (10_000_000, 500_000);
        let mut blocks = 0;
        for round in 0..6 {
            let at = i64::from(round) * 10;
            st.apply(&from(1, at, read(p.0, p.1, p.2, pb)));
            st.apply(&from(2, at + 5, read(r.0, r.1, r.2, rb)));
            if round > 0 {
                blocks += 4_000 + 40 + 200 + 2;
            }
            p = (p.0 + 1_000, p.1 + 1_000_000, p.2 + 1_000);
            r = (r.0 + 100, r.1 + 1_000_000, r.2 + 500);
            pb += 4_000;
            rb += 200;
        }
        st.tick(Timestamp::from_secs(55));
        let (totals, cells) = heat(&mut st, RowKind::Fingerprint, text, 55);
        assert_eq!(totals.accesses, blocks, "the sum of the true deltas");
        assert!(cells.iter().all(|c| !c.gap), "no gap");
        let rates = st.pg_statements.rates[text];
        assert!((rates.calls_per_s - 110.0).abs() < 1e-9, "{rates:?}");
        // 100 calls of 1 ms and 10 of 10 ms per second: 200 ms over 110 calls.
        assert!((rates.mean_ms - 200.0 / 110.0).abs() < 1e-9, "{rates:?}");
        assert!(
            (rates.rows_per_call - 150.0 / 110.0).abs() < 1e-9,
            "{rates:?}"
        );
        // The replica loses the statement (its list no longer has it): the
        // rates are the primary's alone.
        st.apply(&from(
            2,
            65,
            Body::Statements(Statements {
                unavailable: None,
                rows: Vec::new(),
            }),
        ));
        let rates = st.pg_statements.rates[text];
        assert_eq!(
            (rates.calls_per_s, rates.mean_ms, rates.rows_per_call),
            (100.0, 1.0, 1.0)
        );
    }
}

//! Applying what access events and key observations say: heatmap rows,
//! the warming tracker, the clients engine and the optimizer's workload.

use rustc_hash::FxHashMap;

use super::state::State;
use crate::engines::Timestamp;
use crate::engines::clients::{ClientDelta, OperationDelta, RequestDelta, TableDelta, TableKey};
use crate::engines::heatmap::{Measure, RowKind};
use crate::engines::intern::key_hash;
use crate::engines::warming::{Signal, TtlState};
use crate::sample::SourceId;

/// The tables an aggregate names; a query-only event names none (its
/// `table` is empty), and a blank name is never a table row or a delta.
fn tables(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|t| !t.is_empty())
}

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
                    for t in tables(&a.table) {
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
            let mut deltas: Vec<ClientDelta> = tables(&a.table)
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

    /// Key observations (the demo's, and the answers to warm probes): TTLs
    /// for the warming engine, and accesses for the heatmap's prefix rows,
    /// grouped as the sampler groups keys. A probe's answers carry no
    /// accesses and make no rows: a row per probed key would never be
    /// freed and would use up the heatmap's row budget.
    pub(crate) fn keys(&mut self, keys: &[crate::sample::KeyObs], at: Timestamp) {
        let delim = self.session.key_delimiter.as_str();
        let mut by_group: FxHashMap<String, u32> = FxHashMap::default();
        for k in keys {
            let hash = if k.accesses > 0 {
                self.warming
                    .record_via(&k.key, k.accesses, Signal::SamplerHeat, at)
            } else {
                key_hash(&k.key)
            };
            let state = match k.ttl_ms {
                None => TtlState::Missing,
                Some(ms) => TtlState::from_pttl(ms),
            };
            let signal = if k.node == crate::ops::warm::console::WARM_SOURCE {
                Signal::Probe
            } else {
                Signal::SamplerTtl
            };
            self.warming.observe_via(hash, &k.key, state, signal, at);
            if k.accesses > 0 {
                let row = self.keyspace.row(&k.key, delim);
                *by_group.entry(row).or_default() += k.accesses;
            }
        }
        let mut groups: Vec<(String, u32)> = by_group.into_iter().collect();
        groups.sort_unstable();
        for (name, n) in groups {
            let row = self.heatmap.row(RowKind::Prefix, Measure::Sampled, &name);
            self.heatmap.record(row, n, 0, 0, at);
        }
    }

    pub(crate) fn key_accesses(&mut self, keys: &[crate::sample::KeyAccess], at: Timestamp) {
        for k in keys {
            // A key cut for being too long: tracked by its (cut, hashed)
            // name but never named, so nothing can warm the wrong key.
            if crate::engines::bounded::is_cut(&k.key) {
                self.warming.record_n(key_hash(&k.key), k.count, at);
                continue;
            }
            let signal = Signal::EventStream;
            let hash = self.warming.record_via(&k.key, k.count, signal, at);
            // Only misses since the last flush: the key is not in the cache.
            if k.misses > 0 && k.hits == 0 {
                self.warming
                    .observe_via(hash, &k.key, TtlState::Missing, signal, at);
            }
        }
    }

    pub(crate) fn stream(&mut self, id: SourceId, st: &crate::sample::StreamStats, at: Timestamp) {
        let limit = super::source::stale_after_ms(self.refresh_ms);
        let Some(src) = self.source_mut(id) else {
            return;
        };
        let last = src.last_stats_at;
        let dt = last.map_or(0.0, |l| at.secs_since(l));
        src.last_stats_at = Some(at);
        let (before, bad_before, dropped_before) = src
            .stream
            .as_ref()
            .map_or((st.read, 0, 0), |s| (s.read, s.malformed, s.dropped()));
        // The reader reports about every second, also when nothing arrives
        // (then the rate reads 0): the rate is over the interval between
        // its last two reports, ending at the latest.
        if dt > 0.0 && last.is_some_and(|l| at.millis_since(l) <= limit) && st.read >= before {
            src.ops_per_sec = (st.read - before) as f64 / dt;
            src.rates_at = Some(at);
        } else {
            src.rates_at = None;
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
        } else if st.dropped() > dropped_before {
            let msg = format!(
                "event stream: {} tables past {} in one event and {} key accesses past {} keys \
                 in one flush dropped",
                st.tables_dropped,
                crate::sources::events::schema::MAX_TABLES_PER_EVENT,
                st.keys_dropped,
                crate::sources::events::agg::MAX_KEYS_PER_FLUSH
            );
            self.ui.set_status(msg, true, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::{Action, Pane};
    use crate::app::state::SessionInfo;
    use crate::engines::heatmap::RowKind;
    use crate::sample::{AccessAgg, Body, KeyEvents, KeyObs, RedisStats, Sample, SourceKind};
    use crate::sources::events::agg::Aggregator;
    use crate::sources::events::schema::EventRef;

    const T0: Timestamp = Timestamp::from_secs(1_736_150_400);
    const KEY: &str = "sess_9f2a77c1";

    fn state(redact: bool, delim: &str) -> State {
        let session = SessionInfo {
            redact_keys: redact,
            key_delimiter: delim.to_string(),
            ..SessionInfo::default()
        };
        State::new(session, 1000)
    }

    fn sample(source: SourceId, at: Timestamp, body: Body) -> Sample {
        Sample {
            source,
            generation: 1,
            at,
            body,
        }
    }

    fn screen(st: &State, w: u16, h: u16) -> String {
        let chrome = crate::app::run::chrome(&crate::keymap::Keymap::default(), st.ui.focus);
        let theme = crate::theme::Theme::default();
        crate::export::to_text(&crate::snapshot::render_buffer(st, &theme, &chrome, w, h))
    }

    /// The whole screen, then each pane zoomed.
    fn screens(st: &mut State) -> Vec<String> {
        let now = st.now;
        let mut out = vec![screen(st, 200, 50)];
        for p in [Pane::Heatmap, Pane::Warming, Pane::Backends, Pane::Clients] {
            st.handle(Action::Focus(p), now);
            st.handle(Action::Zoom, now);
            st.tick(now);
            out.push(screen(st, 160, 40));
            st.handle(Action::Back, now);
        }
        st.tick(now);
        out
    }

    fn heat_rows(st: &State) -> Vec<(RowKind, String)> {
        let mut v: Vec<(RowKind, String)> = st
            .derived
            .heatmap
            .iter()
            .flat_map(|h| h.rows.iter().map(|r| (r.kind, r.name.clone())))
            .collect();
        v.sort();
        v
    }

    /// Key-only events (`key=sess_…`, no table or query) through the
    /// reader's aggregator into the state, as the event stream feeds it.
    fn key_only_events(st: &mut State, keys: &[String]) {
        let mut agg = Aggregator::with_delimiter(&st.session.key_delimiter);
        for (i, k) in keys.iter().enumerate() {
            let hit = if i % 3 == 0 { "1" } else { "0" };
            let pairs: [(&[u8], &[u8]); 3] = [
                (b"client", b"api"),
                (b"key", k.as_bytes()),
                (b"hit", hit.as_bytes()),
            ];
            agg.add("1-0", EventRef::parse(pairs));
        }
        let f = agg.flush();
        st.apply(&sample(SourceId(9), T0, Body::Accesses(f.accesses)));
        st.apply(&sample(SourceId(9), T0, Body::KeyAccesses(f.keys)));
        st.tick(T0);
    }

    #[test]
    fn a_key_only_event_without_a_prefix_is_grouped_and_redacted_everywhere() {
        let keys: Vec<String> = (0..40)
            .map(|i| format!("{KEY}{i:02}"))
            .chain(["user:7".to_string()])
            .collect();
        let mut st = state(true, ":");
        key_only_events(&mut st, &keys);
        // One row for every key without the delimiter, as the sampler has.
        assert_eq!(
            heat_rows(&st),
            [
                (RowKind::Table, "(none)".to_string()),
                (RowKind::Table, "user:*".to_string())
            ]
        );
        let mut tables: Vec<String> = st
            .clients
            .tables_view(None)
            .into_iter()
            .map(|t| t.table)
            .collect();
        tables.sort();
        assert_eq!(tables, ["(none)", "user:*"]);
        for s in screens(&mut st) {
            assert!(!s.contains("sess_"), "{s}");
            assert!(!s.contains("user:7"), "{s}");
        }
        // The check above can fail: without redaction the key shows.
        let mut plain = state(false, ":");
        key_only_events(&mut plain, &keys);
        assert!(screens(&mut plain).iter().any(|s| s.contains("sess_")));
        assert_eq!(
            heat_rows(&plain).len(),
            2,
            "rows do not depend on redaction"
        );
    }

    #[test]
    fn key_only_events_group_by_the_configured_delimiter() {
        let mut st = state(true, "/");
        let keys = ["user/1", "user/2", "user:3"].map(String::from);
        key_only_events(&mut st, &keys);
        assert_eq!(
            heat_rows(&st),
            [
                (RowKind::Table, "(none)".to_string()),
                (RowKind::Table, "user/*".to_string())
            ]
        );
        let s = screens(&mut st).join("\n");
        assert!(
            s.contains("user/…"),
            "the warming queue keeps the prefix: {s}"
        );
        assert!(!s.contains("user:3") && !s.contains("user/1"), "{s}");
    }

    /// A Redis node polled twice, the console's own commands among its
    /// load (so the Backends pane shows its detail).
    fn redis_node(st: &mut State) {
        let id = SourceId(0);
        let hello = Body::Hello {
            name: "cache-1:6379".into(),
            kind: SourceKind::Redis,
        };
        st.apply(&sample(id, T0, hello));
        for s in 0..2 {
            let r = RedisStats {
                run_id: 7,
                commands: s * 1000,
                own_commands: s * 100,
                ..RedisStats::default()
            };
            st.apply(&sample(id, T0.add_secs(s as i64 - 1), Body::Redis(r)));
        }
    }

    #[test]
    fn notified_keys_count_for_their_prefix_row_and_are_redacted() {
        for (delim, user_row) in [(":", "user:*"), ("/", "(none)")] {
            let mut st = state(true, delim);
            redis_node(&mut st);
            let events = KeyEvents {
                expired: vec![format!("{KEY}1"), format!("{KEY}2"), "user:1".into()],
                missed: vec![(format!("{KEY}3"), 4), ("user:2".into(), 1)],
                ..KeyEvents::default()
            };
            st.apply(&sample(SourceId(0), T0, Body::KeyEvents(events)));
            st.tick(T0);
            let src = st.source(SourceId(0)).unwrap();
            let board = src.key_events.as_ref().unwrap();
            let rows = board.top_prefixes(crate::engines::keyevents::Kind::Expired, 5);
            let misses = board.top_prefixes(crate::engines::keyevents::Kind::Miss, 5);
            if delim == ":" {
                assert_eq!(rows, [("(none)", 2), ("user:*", 1)]);
                assert_eq!(misses, [("(none)", 4), ("user:*", 1)]);
            } else {
                assert_eq!(rows, [("(none)", 3)]);
                assert_eq!(misses, [("(none)", 5)]);
            }
            let all = screens(&mut st).join("\n");
            assert!(
                all.contains("expired (notified) since start: (none)"),
                "{all}"
            );
            assert!(
                all.contains("misses (notified, exact) since start: (none)"),
                "{all}"
            );
            assert!(!all.contains("sess_") && !all.contains("user:1"), "{all}");
            assert!(delim == "/" || all.contains(user_row), "{all}");
        }
    }

    fn probe(keys: impl Iterator<Item = String>, accesses: u32) -> Body {
        Body::Keys(
            keys.map(|key| KeyObs {
                key,
                node: crate::ops::warm::console::WARM_SOURCE,
                ttl_ms: Some(120_000),
                accesses,
            })
            .collect(),
        )
    }

    #[test]
    fn warm_probe_answers_make_no_heatmap_rows() {
        let mut st = state(false, ":");
        let src = crate::ops::warm::console::WARM_SOURCE;
        for round in 0..5 {
            let at = T0.add_secs(60 * round);
            let keys = (0..500).map(|i| format!("session-{}", round * 500 + i));
            st.apply(&sample(src, at, probe(keys, 0)));
            st.tick(at);
        }
        assert_eq!(st.heatmap.row_count(), 0, "{:?}", heat_rows(&st));
        assert!(st.warm.round_answered, "the probe still answers the round");
        // Observations with accesses (the demo's) group as the sampler does.
        let at = T0.add_secs(400);
        let keys = ["session-1", "session-2", "user:1"].map(String::from);
        st.apply(&sample(src, at, probe(keys.clone().into_iter(), 3)));
        st.tick(at);
        assert_eq!(
            heat_rows(&st),
            [
                (RowKind::Prefix, "(none)".to_string()),
                (RowKind::Prefix, "user:*".to_string())
            ]
        );
        let mut dashed = state(false, "-");
        dashed.apply(&sample(src, at, probe(keys.into_iter(), 3)));
        dashed.tick(at);
        assert_eq!(
            heat_rows(&dashed),
            [
                (RowKind::Prefix, "(none)".to_string()),
                (RowKind::Prefix, "session-*".to_string())
            ]
        );
    }

    #[test]
    fn a_query_only_event_records_no_blank_table() {
        let mut st = state(false, ":");
        st.sink.enabled = true;
        let agg = |table: &str, query: Option<&str>| AccessAgg {
            client: "api".into(),
            table: table.into(),
            query: query.map(String::from),
            op: "get".into(),
            count: 10,
            lookups: 10,
            hits: 6,
            errors: 1,
            saved_us: 0,
            latency_us: 0,
        };
        let aggs = vec![
            agg("", Some("SELECT * FROM users WHERE id = 1")),
            agg("", None),
            agg("orders,,items", None),
        ];
        st.apply(&sample(SourceId(9), T0, Body::Accesses(aggs)));
        st.tick(T0);
        let tables: Vec<String> = st
            .clients
            .tables_view(None)
            .into_iter()
            .map(|t| t.table)
            .collect();
        assert_eq!(tables.len(), 2, "{tables:?}");
        assert!(tables.iter().all(|t| !t.is_empty()), "{tables:?}");
        assert!(heat_rows(&st).iter().all(|(_, n)| !n.trim().is_empty()));
        let batch = st.take_flush(T0.add_secs(1)).unwrap();
        let mut sent = batch.tables.table_name.clone();
        sent.sort();
        assert_eq!(sent, ["items", "orders"]);
        assert_eq!(batch.clients.total_requests, [30], "requests still count");
    }
}

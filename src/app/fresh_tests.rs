//! Freshness through the state, from synthetic samples: no rate before two
//! readings, none across a gap, a down or silent node left out of the
//! totals and ranked last, the stream's own traffic taken out of the node
//! that holds it, and the event rate at 0 once the reader reports nothing.

use super::state::{SessionInfo, State};
use crate::engines::Timestamp;
use crate::sample::{Body, RedisStats, Sample, SourceId, SourceKind, SourceStatus, StreamStats};

const T0: i64 = 1_736_150_400_000;
const EVENTS: SourceId = SourceId(9);

fn at(ms: i64) -> Timestamp {
    Timestamp(T0 + ms)
}

fn feed(st: &mut State, source: SourceId, ms: i64, body: Body) {
    st.apply(&Sample {
        source,
        generation: 1,
        at: at(ms),
        body,
    });
}

fn node(st: &mut State, id: u16, name: &str) {
    let hello = Body::Hello {
        name: name.into(),
        kind: SourceKind::Redis,
    };
    feed(st, SourceId(id), 0, hello);
    feed(st, SourceId(id), 0, Body::Status(SourceStatus::Connected));
}

/// A reading with `commands` in total, `xadd` of them `XADD`s, and hits.
fn reading(st: &mut State, id: u16, ms: i64, commands: u64, xadd: u64) {
    feed(
        st,
        SourceId(id),
        ms,
        Body::Health {
            ok: true,
            rtt_us: Some(200),
        },
    );
    let r = RedisStats {
        run_id: 7 + u64::from(id),
        commands,
        keyspace_hits: commands / 2,
        keyspace_misses: commands / 10,
        commandstats: vec![("xadd".into(), xadd, 0)],
        ..RedisStats::default()
    };
    feed(st, SourceId(id), ms, Body::Redis(r));
}

fn ops(st: &State, name: &str) -> Option<f64> {
    st.derived
        .backends
        .iter()
        .find(|b| b.name == name)
        .and_then(|b| b.ops_per_sec)
}

#[test]
fn no_rate_before_two_readings_nor_across_a_gap() {
    let mut st = State::new(SessionInfo::default(), 1000);
    node(&mut st, 0, "a");
    reading(&mut st, 0, 0, 1_000, 0);
    st.tick(at(500));
    assert_eq!(ops(&st, "a"), None, "one reading is a baseline");
    assert_eq!(st.derived.ops_per_sec, None);
    reading(&mut st, 0, 1_000, 4_000, 0);
    st.tick(at(1_000));
    assert_eq!(ops(&st, "a"), Some(3_000.0));
    // Ten seconds without a reading (a stalled poll the connection
    // survived): silent, then the next reading is a new baseline.
    st.tick(at(5_000));
    assert_eq!(ops(&st, "a"), None, "silent for 4 s");
    let row = &st.derived.backends[0];
    assert_eq!(
        row.stale.as_ref().map(|s| s.0.as_str()),
        Some("silent for 4s")
    );
    reading(&mut st, 0, 11_000, 40_000, 0);
    st.tick(at(11_000));
    assert_eq!(ops(&st, "a"), None, "readings 10 s apart are a gap");
    reading(&mut st, 0, 12_000, 43_000, 0);
    st.tick(at(12_000));
    assert_eq!(ops(&st, "a"), Some(3_000.0));
}

#[test]
fn a_down_node_is_left_out_of_totals_and_ranked_last() {
    let mut st = State::new(SessionInfo::default(), 1000);
    node(&mut st, 0, "a");
    node(&mut st, 1, "b");
    for s in 0..4 {
        reading(&mut st, 0, s * 1000, 1_000 * s as u64, 0);
        reading(&mut st, 1, s * 1000, 3_000 * s as u64, 0);
        st.tick(at(s * 1000));
    }
    assert_eq!(st.derived.ops_per_sec, Some(4_000.0));
    let down = SourceStatus::Retrying {
        at: at(4_000),
        reason: "connection refused".into(),
    };
    feed(&mut st, SourceId(1), 3_500, Body::Status(down));
    reading(&mut st, 0, 4_000, 4_000, 0);
    st.tick(at(4_000));
    assert_eq!(st.derived.ops_per_sec, Some(1_000.0), "b left out");
    assert_eq!(st.derived.stale_nodes, 1);
    assert_eq!(ops(&st, "b"), None);
    // Hits of the live node only: a reads 50 % hits, 10 % misses.
    let hit = st.derived.hit_ratio.expect("a ratio");
    assert!((hit - 500.0 / 600.0).abs() < 1e-9, "{hit}");
    let last = st.derived.ranking.last().expect("ranked");
    assert_eq!(last.name, "b");
    assert_eq!(
        last.unavailable.as_deref(),
        Some("down: connection refused")
    );
    // Back: ranked on its figures again.
    feed(
        &mut st,
        SourceId(1),
        5_000,
        Body::Status(SourceStatus::Connected),
    );
    reading(&mut st, 1, 5_000, 15_000, 0);
    reading(&mut st, 1, 6_000, 18_000, 0);
    reading(&mut st, 0, 6_000, 6_000, 0);
    st.tick(at(6_000));
    assert!(st.derived.ranking.iter().all(|r| r.unavailable.is_none()));
    assert_eq!(st.derived.stale_nodes, 0);
}

#[test]
fn the_streams_own_traffic_is_taken_out_of_the_node_holding_it() {
    let mut st = State::new(SessionInfo::default(), 1000);
    node(&mut st, 0, "cache:6379");
    node(&mut st, 1, "other:6379");
    let hello = Body::Hello {
        name: "events ev".into(),
        kind: SourceKind::Events,
    };
    feed(&mut st, EVENTS, 0, hello);
    let stream = |read: u64, commands: u64| {
        Body::Stream(StreamStats {
            read,
            node: Some("cache:6379".into()),
            commands,
            ..StreamStats::default()
        })
    };
    feed(&mut st, EVENTS, 0, stream(0, 10));
    reading(&mut st, 0, 0, 100, 0);
    reading(&mut st, 1, 0, 100, 0);
    feed(&mut st, EVENTS, 1_000, stream(20_000, 60));
    // 3 000 application commands, 20 000 XADDs and the reader's 50 XREADs.
    reading(&mut st, 0, 1_000, 100 + 3_000 + 20_000 + 50, 20_000);
    reading(&mut st, 1, 1_000, 100 + 1_000, 500);
    st.tick(at(1_000));
    assert_eq!(ops(&st, "cache:6379"), Some(3_000.0));
    assert_eq!(
        ops(&st, "other:6379"),
        Some(1_000.0),
        "XADDs elsewhere count"
    );
    assert_eq!(st.derived.stream_xadd_per_sec, 20_000.0);
    assert_eq!(st.derived.ops_per_sec, Some(4_000.0));
    let events = st.source(EVENTS).expect("events");
    assert_eq!(events.live_ops(at(1_000), 1000), Some(20_000.0));
    // The reader reports nothing new: the rate is 0, not the last one.
    feed(&mut st, EVENTS, 2_000, stream(20_000, 62));
    st.tick(at(2_000));
    let events = st.source(EVENTS).expect("events");
    assert_eq!(events.live_ops(at(2_000), 1000), Some(0.0));
    // A reader that stops reporting is stale.
    st.tick(at(5_000));
    let events = st.source(EVENTS).expect("events");
    assert_eq!(events.live_ops(at(5_000), 1000), None);
}

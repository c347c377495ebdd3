//! The access-event stream reader against real, throw-away `redis-server`s:
//! exact counts with two consoles at once, malformed entries, where reading
//! starts, and recovery after a restart.

use crate::support::runtime;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::support::RedisServer;
use heliostat::sample::{Body, Sample, SourceId, SourceStatus, StreamStats};
use heliostat::sources::events::emit::{Synthetic, publish};
use heliostat::sources::events::schema::Event;
use heliostat::sources::events::{EventsConfig, run_events};
use tokio::sync::mpsc;

const STREAM: &str = "heliostat:events";

fn reader(url: &str, id: u16) -> EventsConfig {
    let mut c = EventsConfig::new(SourceId(id), url, STREAM);
    c.block = Duration::from_millis(100);
    c.flush = Duration::from_millis(50);
    c.retry = Duration::from_millis(200);
    c.timeout = Duration::from_millis(500);
    c
}

/// What a console made of the stream: per-client (accesses, lookups, hits),
/// per-key accesses, and the reader's latest figures.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    clients: BTreeMap<String, (u64, u64, u64)>,
    keys: BTreeMap<String, u64>,
    stats: StreamStats,
}

impl Seen {
    fn add(&mut self, s: &Sample) {
        match &s.body {
            Body::Accesses(aggs) => {
                for a in aggs {
                    let c = self.clients.entry(a.client.clone()).or_default();
                    c.0 += u64::from(a.count);
                    c.1 += u64::from(a.lookups);
                    c.2 += u64::from(a.hits);
                }
            }
            Body::KeyAccesses(keys) => {
                for k in keys {
                    *self.keys.entry(k.key.clone()).or_default() += u64::from(k.count);
                }
            }
            Body::Stream(st) => self.stats = st.clone(),
            _ => {}
        }
    }

    fn total(&self) -> u64 {
        self.clients.values().map(|c| c.0).sum()
    }
}

async fn connected(rx: &mut mpsc::Receiver<Vec<Sample>>) {
    let end = tokio::time::Instant::now() + Duration::from_secs(5);
    while let Ok(Some(batch)) = tokio::time::timeout_at(end, rx.recv()).await {
        if batch
            .iter()
            .any(|s| s.body == Body::Status(SourceStatus::Connected))
        {
            return;
        }
    }
    panic!("the reader did not connect");
}

/// Drain samples into `seen` until `done` or the time limit.
async fn watch(
    rx: &mut mpsc::Receiver<Vec<Sample>>,
    seen: &mut Seen,
    limit: Duration,
    done: impl Fn(&Seen) -> bool,
) {
    let end = tokio::time::Instant::now() + limit;
    while !done(seen) {
        match tokio::time::timeout_at(end, rx.recv()).await {
            Ok(Some(batch)) => batch.iter().for_each(|s| seen.add(s)),
            _ => return,
        }
    }
}

#[test]
fn two_consoles_each_count_100k_events_exactly() {
    let server = RedisServer::start();
    let rt = runtime();
    rt.block_on(async {
        let (tx_a, mut rx_a) = mpsc::channel(256);
        let (tx_b, mut rx_b) = mpsc::channel(256);
        tokio::spawn(run_events(reader(&server.url(), 1), tx_a));
        tokio::spawn(run_events(reader(&server.url(), 2), tx_b));
        connected(&mut rx_a).await;
        connected(&mut rx_b).await;

        let mut synth = Synthetic::new(3);
        let mut expected = Seen::default();
        let client = redis::Client::open(server.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let (mut a, mut b) = (Seen::default(), Seen::default());
        let started = Instant::now();
        for _ in 0..100 {
            let batch: Vec<Event> = (0..1000).map(|_| synth.next_event()).collect();
            for e in &batch {
                let c = expected.clients.entry(e.client.clone()).or_default();
                c.0 += 1;
                c.1 += u64::from(e.hit.is_some());
                c.2 += u64::from(e.hit == Some(true));
                *expected.keys.entry(e.key.clone().unwrap()).or_default() += 1;
            }
            publish(&mut conn, STREAM, None, &batch).await.unwrap();
            // Read while producing, as consoles do.
            while let Ok(batch) = rx_a.try_recv() {
                batch.iter().for_each(|s| a.add(s));
            }
            while let Ok(batch) = rx_b.try_recv() {
                batch.iter().for_each(|s| b.add(s));
            }
        }
        let all = |s: &Seen| s.total() >= 100_000 && s.stats.read >= 100_000;
        watch(&mut rx_a, &mut a, Duration::from_secs(30), all).await;
        watch(&mut rx_b, &mut b, Duration::from_secs(30), all).await;
        let secs = started.elapsed().as_secs_f64();
        eprintln!("100k events produced and read by two consoles in {secs:.2} s");
        for seen in [&a, &b] {
            assert_eq!(seen.stats.read, 100_000);
            assert_eq!(seen.stats.malformed, 0);
            assert_eq!(
                seen.clients, expected.clients,
                "per-client counts are exact"
            );
            assert_eq!(seen.keys, expected.keys, "per-key counts are exact");
        }
    });
}

#[test]
fn malformed_entries_are_counted_named_and_skipped() {
    let server = RedisServer::start();
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(256);
        tokio::spawn(run_events(reader(&server.url(), 1), tx));
        connected(&mut rx).await;
        let mut c = server.client();
        let add = |c: &mut redis::Connection, kv: &[&str]| {
            let _: String = redis::cmd("XADD")
                .arg(STREAM)
                .arg("*")
                .arg(kv)
                .query(c)
                .unwrap();
        };
        add(&mut c, &["client", "api", "table", "users", "hit", "1"]);
        add(&mut c, &["client", "api", "hit", "1"]);
        add(
            &mut c,
            &["client", "api", "table", "users", "hit", "perhaps"],
        );
        add(
            &mut c,
            &["client", "api", "table", "users", "latency_us", "-5"],
        );
        add(&mut c, &["client", "api", "key", "user:7", "hit", "0"]);
        let mut seen = Seen::default();
        watch(&mut rx, &mut seen, Duration::from_secs(5), |s| {
            s.stats.read >= 5 && s.total() >= 2
        })
        .await;
        assert_eq!(seen.stats.read, 5);
        assert_eq!(seen.stats.malformed, 3);
        let why = seen.stats.last_malformed.clone().unwrap();
        assert!(why.contains("latency_us"), "{why}");
        assert_eq!(seen.clients["api"], (2, 2, 1), "good entries still count");
        assert_eq!(seen.keys["user:7"], 1);
    });
}

#[test]
fn reading_starts_at_new_entries_unless_asked_to_catch_up_and_survives_a_restart() {
    let mut server = RedisServer::start();
    let mut c = server.client();
    for i in 0..10 {
        let _: String = redis::cmd("XADD")
            .arg(STREAM)
            .arg("*")
            .arg(&["client", "old", "table", "t", "key", &format!("k:{i}")])
            .query(&mut c)
            .unwrap();
    }
    let rt = runtime();
    rt.block_on(async {
        let (tx_new, mut rx_new) = mpsc::channel(256);
        let (tx_all, mut rx_all) = mpsc::channel(256);
        tokio::spawn(run_events(reader(&server.url(), 1), tx_new));
        let mut catch_up = reader(&server.url(), 2);
        catch_up.from_start = true;
        tokio::spawn(run_events(catch_up, tx_all));
        connected(&mut rx_new).await;
        connected(&mut rx_all).await;
        let _: String = redis::cmd("XADD")
            .arg(STREAM)
            .arg("*")
            .arg(&["client", "new", "table", "t"])
            .query(&mut c)
            .unwrap();
        let (mut new, mut all) = (Seen::default(), Seen::default());
        watch(&mut rx_new, &mut new, Duration::from_secs(5), |s| {
            s.stats.read >= 1
        })
        .await;
        watch(&mut rx_all, &mut all, Duration::from_secs(5), |s| {
            s.stats.read >= 11
        })
        .await;
        assert_eq!(new.stats.read, 1, "only what arrived after the start");
        assert!(!new.clients.contains_key("old"));
        assert_eq!(all.stats.read, 11, "catch-up reads the backlog too");

        // A restart loses the (unpersisted) stream; new entries still arrive.
        server.restart();
        let mut seen_retry = false;
        let end = Instant::now() + Duration::from_secs(10);
        let mut c = loop {
            if let Ok(mut c) = redis::Client::open(server.url()).unwrap().get_connection()
                && redis::cmd("PING").query::<String>(&mut c).is_ok()
            {
                break c;
            }
            assert!(Instant::now() < end);
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let _: String = redis::cmd("XADD")
            .arg(STREAM)
            .arg("*")
            .arg(&["client", "after", "table", "t"])
            .query(&mut c)
            .unwrap();
        let end = tokio::time::Instant::now() + Duration::from_secs(10);
        while !new.clients.contains_key("after") {
            let Ok(Some(batch)) = tokio::time::timeout_at(end, rx_new.recv()).await else {
                panic!("no events after the restart: {new:?}");
            };
            for s in &batch {
                seen_retry |= matches!(s.body, Body::Status(SourceStatus::Retrying { .. }));
                new.add(s);
            }
        }
        assert!(seen_retry, "the outage was shown");
        assert_eq!(new.stats.read, 2);
    });
}

#[test]
fn an_event_naming_twenty_thousand_tables_and_a_1_mb_key_keeps_the_console_bounded() {
    use heliostat::app::state::{SessionInfo, State};
    use heliostat::sources::events::schema::{MAX_KEY_BYTES, MAX_TABLES_PER_EVENT};

    let server = RedisServer::start();
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(256);
        tokio::spawn(run_events(reader(&server.url(), 1), tx));
        connected(&mut rx).await;
        let tables: Vec<String> = (0..20_000).map(|i| format!("wide_{i}")).collect();
        let tables = tables.join(",");
        let key = format!("blob:{}", "k".repeat(1 << 20));
        let mut c = server.client();
        for i in 0..5 {
            let client = format!("c{i}");
            let _: String = redis::cmd("XADD")
                .arg(STREAM)
                .arg("*")
                .arg(&[
                    "client", &client, "tables", &tables, "key", &key, "hit", "1",
                ])
                .query(&mut c)
                .unwrap();
        }
        // Fed into a console's state, as the live loop does (the reader's
        // hello was read by `connected`).
        let mut state = State::new(SessionInfo::default(), 1000);
        state.apply(&Sample {
            source: SourceId(1),
            generation: 1,
            at: heliostat::sources::redis::wall_now(),
            body: Body::Hello {
                name: format!("events {STREAM}"),
                kind: heliostat::sample::SourceKind::Events,
            },
        });
        let mut stats = StreamStats::default();
        let end = tokio::time::Instant::now() + Duration::from_secs(10);
        while stats.read < 5 || state.clients.held().0 < 5 {
            let Ok(Some(batch)) = tokio::time::timeout_at(end, rx.recv()).await else {
                panic!("read {} of 5 events", stats.read);
            };
            for s in &batch {
                if let Body::Stream(st) = &s.body {
                    stats = st.clone();
                }
                state.apply(s);
            }
        }
        state.tick(heliostat::sources::redis::wall_now());
        let per_event = 20_000 - MAX_TABLES_PER_EVENT as u64;
        assert_eq!(stats.tables_dropped, 5 * per_event, "{stats:?}");
        assert_eq!(stats.malformed, 0);
        // 64 tables, one row each, however many the events named.
        assert_eq!(state.heatmap.row_count(), MAX_TABLES_PER_EVENT);
        assert_eq!(state.clients.held(), (5, 5 * MAX_TABLES_PER_EVENT));
        assert!(
            state.heatmap.approx_bytes() < 1 << 20,
            "{}",
            state.heatmap.approx_bytes()
        );
        // The 1 MB key is one key, tracked by the hash of its cut name and
        // kept without a name (nothing may warm it).
        assert_eq!(state.warming.tracker().len(), 1);
        let warming = state.warming.approx_bytes();
        assert!(warming < 256 << 10, "not a megabyte per key: {warming}");
        let shown = state
            .derived
            .candidates
            .iter()
            .filter_map(|c| c.name.as_ref());
        assert!(shown.into_iter().all(|n| n.len() <= MAX_KEY_BYTES));
        // What was dropped is on screen, next to the stream.
        let chrome =
            heliostat::app::run::chrome(&heliostat::keymap::Keymap::default(), state.ui.focus);
        let theme = heliostat::theme::Theme::default();
        let screen = heliostat::export::to_text(&heliostat::snapshot::render_buffer(
            &state, &theme, &chrome, 200, 50,
        ));
        assert!(
            screen.contains(&format!("{} dropped", 5 * per_event)),
            "{screen}"
        );
    });
}

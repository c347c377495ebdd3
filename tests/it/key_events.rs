//! Keyspace notifications (`--key-events`) against real, throw-away
//! servers started with `notify-keyspace-events` on their command line (the
//! test's servers, never a user's; heliostat itself never changes it): a
//! key read in a loop after it expired leads the Warming queue as a
//! missing hot key found by miss events; with the flags off the pane names
//! them; a flood of notifications stops the listener with a message; and
//! without any notifications, the key sampler's TTL still finds the key.
//! Each test prints what it measured.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::support;
use crate::support::RedisServer;
use crate::support::console::Console;
use heliostat::action::Pane;
use heliostat::app::live::LiveSpec;
use heliostat::app::state::State;
use heliostat::engines::warming::{CandidateReason, Signal};

const REFRESH: Duration = Duration::from_millis(250);
const KEY: &str = "ux:product:2";

fn spec(url: &str, sampler: bool) -> LiveSpec {
    let mut spec = LiveSpec {
        redis: vec![url.to_string()],
        key_events: true,
        ..LiveSpec::default()
    };
    if !sampler {
        spec.sampler.budget = 0;
    }
    spec
}

fn start(spec: &LiveSpec) -> Console {
    let mut c = Console::start(spec, REFRESH);
    c.state.session.key_events = spec.key_events;
    c
}

/// Reads `key` ~100 times a second until dropped; counts the reads.
struct Reader {
    stop: Arc<AtomicBool>,
    reads: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reader {
    fn start(server: &RedisServer, key: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let reads = Arc::new(AtomicU64::new(0));
        let mut conn = server.client();
        let (s, r, key) = (stop.clone(), reads.clone(), key.to_string());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let _: Option<String> = redis::cmd("GET").arg(&key).query(&mut conn).unwrap();
                r.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Reader {
            stop,
            reads,
            thread: Some(thread),
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn leads(st: &State, key: &str, signal: Signal) -> bool {
    st.derived.candidates.first().is_some_and(|c| {
        c.name.as_deref() == Some(key)
            && matches!(c.reason, CandidateReason::MissingHot { .. })
            && c.signal == signal
    })
}

#[test]
fn a_key_read_after_it_expired_leads_the_queue_within_10s_with_miss_events() {
    let server = RedisServer::start_with(&["--notify-keyspace-events", "Exm", "--hz", "100"]);
    // Cold keys the queue must not put first.
    for i in 0..50 {
        let _: () = server
            .cmd(&["SET", &format!("ux:session:{i}"), "x"])
            .unwrap();
    }
    let mut c = start(&spec(&server.url(), true));
    c.until("the listener to subscribe", Duration::from_secs(10), |st| {
        st.sources
            .iter()
            .any(|s| s.key_events.as_ref().is_some_and(|k| k.setup.is_some()))
    });
    let _: () = server.cmd(&["SET", KEY, "cached", "PX", "1000"]).unwrap();
    let reader = Reader::start(&server, KEY);
    // The first miss: the key is gone.
    let mut probe = server.client();
    let gone = Instant::now() + Duration::from_secs(5);
    loop {
        let exists: i64 = redis::cmd("EXISTS").arg(KEY).query(&mut probe).unwrap();
        if exists == 0 || Instant::now() > gone {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let first_miss = Instant::now();
    c.until("the key to lead the queue", Duration::from_secs(10), |st| {
        leads(st, KEY, Signal::MissEvents)
    });
    let took = first_miss.elapsed();
    let reads = reader.reads.load(Ordering::Relaxed);
    println!("first miss → leading the Warming queue: {took:?} ({reads} reads so far)");
    assert!(took <= Duration::from_secs(10), "{took:?}");
    let pane = c.pane(Pane::Warming, 0, 140, 30);
    assert!(pane.contains("miss events: exact,"), "{pane}");
    let row = pane.lines().find(|l| l.contains(KEY)).unwrap_or("");
    assert!(
        row.contains("missing-hot") && row.contains("miss events") && row.contains("miss/s"),
        "{pane}"
    );
    // The misses are counted exactly, per key: the reader goes on missing
    // (the key may lead the queue after its first flush, two misses in).
    let missed = |st: &State| {
        st.sources[0]
            .key_events
            .as_ref()
            .and_then(|b| b.missed_keys.get(KEY))
            .map_or(0, |m| m.count)
    };
    c.until("ten misses counted", Duration::from_secs(10), |st| {
        missed(st) >= 10
    });
    // Exact, not scaled: never more misses than reads were made (plus the
    // probe's EXISTS that found the key gone, itself a miss).
    let counted = missed(&c.state);
    let reads = reader.reads.load(Ordering::Relaxed);
    assert!(
        counted <= reads,
        "{counted} misses counted for {reads} reads"
    );
    drop(reader);
}

#[test]
fn with_miss_events_off_the_pane_names_the_missing_flags() {
    let server = RedisServer::start_with(&["--notify-keyspace-events", "Ex"]);
    let mut c = start(&spec(&server.url(), false));
    let took = c.until("the flags", Duration::from_secs(10), |st| {
        st.miss_events_line(st.now).is_some_and(|l| l.warn)
    });
    println!("flags read and shown after {took:?}");
    let pane = c.pane(Pane::Warming, 0, 160, 30);
    assert!(
        pane.contains("miss events off: notify-keyspace-events is `xE`, needs `Em` (Redis ≥ 6)"),
        "{pane}"
    );
    assert!(
        pane.contains("adds exact misses per key; costs one pub/sub message per miss"),
        "{pane}"
    );
    c.until("the node's INFO", Duration::from_secs(10), |st| {
        st.sources.iter().any(|s| s.redis_info.is_some())
    });
    let backends = c.pane(Pane::Backends, 0, 200, 50);
    assert!(
        backends.contains("evicted events off: notify-keyspace-events is `xE`, needs `Ee`"),
        "{backends}"
    );
}

#[test]
fn a_flood_of_notifications_stops_the_listener_with_a_message() {
    let server = RedisServer::start_with(&["--notify-keyspace-events", "Em"]);
    let mut c = start(&spec(&server.url(), false));
    c.until("the listener to subscribe", Duration::from_secs(10), |st| {
        st.sources
            .iter()
            .any(|s| s.key_events.as_ref().is_some_and(|k| k.setup.is_some()))
    });
    // 20 000 misses in one pipeline: far above 5 000/s.
    let mut conn = server.client();
    let mut pipe = redis::pipe();
    for i in 0..20_000 {
        pipe.cmd("GET").arg(format!("absent:{i}"));
    }
    let _: Vec<Option<String>> = pipe.query(&mut conn).unwrap();
    let took = c.until("the listener to stop", Duration::from_secs(10), |st| {
        st.miss_events_line(st.now)
            .is_some_and(|l| l.text.contains("stopped"))
    });
    println!("stopped {took:?} after the flood");
    let pane = c.pane(Pane::Warming, 0, 200, 30);
    assert!(
        pane.contains("notifications/s over the limit of 5000/s"),
        "{pane}"
    );
    assert!(pane.contains("listening again in"), "{pane}");
    // Unsubscribed: the server no longer lists a pattern subscriber.
    support::wait_for(
        "the pattern subscription to end",
        Duration::from_secs(5),
        || server.cmd::<i64>(&["PUBSUB", "NUMPAT"]).unwrap() == 0,
    );
}

#[test]
fn without_notifications_the_samplers_ttl_finds_a_key_that_expired_while_read() {
    let server = RedisServer::start();
    let _: () = server.cmd(&["SET", KEY, "cached", "PX", "4000"]).unwrap();
    let reader = Reader::start(&server, KEY);
    let mut spec = spec(&server.url(), true);
    spec.key_events = false;
    let mut c = start(&spec);
    let took = c.until(
        "the key as a missing hot key",
        Duration::from_secs(20),
        |st| {
            st.derived.candidates.iter().any(|c| {
                c.name.as_deref() == Some(KEY)
                    && matches!(c.reason, CandidateReason::MissingHot { .. })
                    && c.signal == Signal::SamplerTtl
            })
        },
    );
    println!("sampler only: missing hot key after {took:?} (TTL 4 s)");
    let pane = c.pane(Pane::Warming, 0, 160, 30);
    assert!(!pane.contains("queue empty"), "{pane}");
    assert!(pane.contains("miss events off (not listening)"), "{pane}");
    drop(reader);
}

//! No stale figure looks live, against real, throw-away servers: a killed
//! Redis's figures show as `–` with their age, are left out of the
//! header's totals and rank it last in the Optimizer with the reason; the
//! event rate and every client's req/s fall to 0 within one window of the
//! stream stopping; with four clients each client's req/s is a quarter of
//! the stream's rate; the stream's own `XADD`s are shown apart from the
//! cache's operations; the first frame shows no rate until a second
//! reading exists.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::RedisServer;
use crate::support::console::Console;
use heliostat::action::Pane;
use heliostat::app::live::{EVENTS_SOURCE, EventsSpec, LiveSpec};
use heliostat::app::state::State;
use heliostat::engines::clients::RATE_WINDOW_SECS;

const REFRESH: Duration = Duration::from_millis(500);

/// An application doing `SET`/`GET` on one node until stopped, counting
/// the commands the server answered.
struct Traffic {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    handle: Option<JoinHandle<()>>,
}

impl Traffic {
    fn start(url: &str) -> Self {
        let (stop, done) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let (s, d, url) = (stop.clone(), done.clone(), url.to_string());
        let handle = std::thread::spawn(move || {
            let Ok(mut c) = redis::Client::open(url).and_then(|c| c.get_connection()) else {
                return;
            };
            let mut i = 0u64;
            while !s.load(Ordering::Relaxed) {
                i += 1;
                let k = format!("app:{}", i % 100);
                let set: redis::RedisResult<()> = redis::cmd("SET").arg(&k).arg("v").query(&mut c);
                let get: redis::RedisResult<Option<String>> =
                    redis::cmd("GET").arg(&k).query(&mut c);
                if set.is_err() || get.is_err() {
                    return;
                }
                d.fetch_add(2, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Traffic {
            stop,
            done,
            handle: Some(handle),
        }
    }

    fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn spec(urls: &[String]) -> LiveSpec {
    let mut spec = LiveSpec {
        redis: urls.to_vec(),
        ..LiveSpec::default()
    };
    spec.sampler.budget = 0;
    spec
}

fn row_ops(st: &State, name: &str) -> Option<f64> {
    st.derived
        .backends
        .iter()
        .find(|b| b.name == name)
        .and_then(|b| b.ops_per_sec)
}

#[test]
fn a_killed_redis_shows_stale_is_left_out_and_ranks_last() {
    let (mut a, b) = (RedisServer::start(), RedisServer::start());
    let (name_a, name_b) = (
        format!("127.0.0.1:{}", a.port),
        format!("127.0.0.1:{}", b.port),
    );
    let _ta = Traffic::start(&a.url());
    let _tb = Traffic::start(&b.url());
    let mut c = Console::start(&spec(&[a.url(), b.url()]), REFRESH);
    c.until("both nodes busy", Duration::from_secs(15), |st| {
        [&name_a, &name_b]
            .iter()
            .all(|n| row_ops(st, n).is_some_and(|r| r > 50.0))
            && st.derived.ranking.len() == 2
    });
    a.kill();
    let took = c.until(
        "the killed node's figures hidden",
        Duration::from_secs(10),
        |st| {
            st.derived
                .backends
                .iter()
                .any(|r| r.name == name_a && r.ops_per_sec.is_none() && r.stale.is_some())
        },
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    c.run_for(Duration::from_secs(3));
    let d = c.state.derived.clone();
    // Left out of the totals: the header's ops/s is the live node's.
    let live = row_ops(&c.state, &name_b).expect("b is live");
    let total = d.ops_per_sec.expect("a total");
    assert!((total - live).abs() < 1e-6, "{total} vs {live}");
    assert_eq!(d.stale_nodes, 1);
    let header = c.header();
    assert!(header.contains(&format!("◌{name_a} down: ")), "{header}");
    assert!(header.contains("(1 down node left out)"), "{header}");
    // The Backends row: no rate, the figures' age; the detail is the
    // selected row's, so select the killed node (rows sort by name, and
    // the free ports decide which comes first).
    let row_a = d
        .backends
        .iter()
        .position(|r| r.name == name_a)
        .expect("a's row");
    let backends = c.pane(Pane::Backends, row_a, 200, 30);
    let row = backends
        .lines()
        .find(|l| l.contains(&name_a) && l.contains("figures"))
        .expect("the row");
    assert!(row.contains(" –") && row.contains("s old"), "{row}");
    assert!(
        backends.contains(&format!("{name_a}: down: ")) && backends.contains("figures"),
        "{backends}"
    );
    // Ranked last, with the reason.
    let last = d.ranking.last().expect("ranked");
    assert_eq!(last.name, name_a);
    assert!(
        last.unavailable
            .as_deref()
            .is_some_and(|w| w.starts_with("down: ")),
        "{:?}",
        last.unavailable
    );
    assert!(d.ranking[0].unavailable.is_none());
    let optimizer = c.pane(Pane::Optimizer, 0, 200, 20);
    assert!(
        optimizer.contains(&name_a) && optimizer.contains("ranked last: down: "),
        "{optimizer}"
    );
    // With no live node there is no figure at all.
    drop(b);
    c.until("no live node", Duration::from_secs(10), |st| {
        st.derived.ops_per_sec.is_none()
    });
    let header = c.header();
    assert!(
        header.contains("cache ops/s – (2 down nodes left out)"),
        "{header}"
    );
    assert!(header.contains("cache hit – "), "{header}");
}

fn emit(url: &str, stream: &str, rate: u64, count: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_heliostat"))
        .args(["emit", "--redis", url, "--events", stream])
        .args(["--rate", &rate.to_string(), "--count", &count.to_string()])
        .env_remove("REDIS_URL")
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("heliostat-no-config"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("emit runs")
}

fn stream_read(st: &State) -> u64 {
    st.source(EVENTS_SOURCE)
        .and_then(|s| s.stream.as_ref())
        .map_or(0, |s| s.read)
}

/// `heliostat emit` at 20k events/s over its four clients, into a stream
/// on the watched node: each client's req/s is a quarter of the stream's
/// measured rate, the stream's XADDs are shown apart from the cache's
/// operations, and once emitting stops the event rate reads 0 within a
/// couple of seconds and every client's req/s within one window.
#[test]
fn event_rates_are_over_a_window_ending_now_and_xadds_are_apart() {
    let server = RedisServer::start();
    let url = server.url();
    let mut spec = spec(std::slice::from_ref(&url));
    spec.events = Some(EventsSpec {
        url: url.clone(),
        stream: "ev".into(),
        catch_up: false,
    });
    let mut c = Console::start(&spec, REFRESH);
    c.until("the reader", Duration::from_secs(10), |st| {
        st.source(EVENTS_SOURCE).is_some_and(|s| s.stream.is_some())
    });
    let target = 20_000;
    let mut child = emit(&url, "ev", target, target * 16);
    // A full window of traffic, then measure over five seconds.
    c.run_for(Duration::from_secs(
        u64::try_from(RATE_WINDOW_SECS).unwrap() + 1,
    ));
    let (t0, r0) = (Instant::now(), stream_read(&c.state));
    c.run_for(Duration::from_secs(5));
    let rate = (stream_read(&c.state) - r0) as f64 / t0.elapsed().as_secs_f64();
    let clients: Vec<(String, f64)> = c
        .state
        .derived
        .clients
        .iter()
        .map(|v| (v.name.clone(), v.requests_per_sec))
        .collect();
    let d = &c.state.derived;
    let (ops, xadd) = (d.ops_per_sec.unwrap_or(f64::NAN), d.stream_xadd_per_sec);
    eprintln!(
        "emit --rate {target}: stream read {rate:.0}/s; clients req/s {clients:?}; \
         cache ops/s {ops:.0}, event XADD/s {xadd:.0}"
    );
    assert!(rate > 1000.0, "the emitter ran: {rate}");
    assert_eq!(clients.len(), 4, "{clients:?}");
    for (name, r) in &clients {
        assert!(
            (r - rate / 4.0).abs() < 0.15 * rate / 4.0,
            "{name}: {r:.0} req/s vs {:.0} (stream {rate:.0}/s over 4 clients)",
            rate / 4.0
        );
    }
    // The stream's own XADDs are not cache operations.
    assert!((xadd - rate).abs() < 0.25 * rate, "XADD {xadd} vs {rate}");
    assert!(ops < 0.05 * xadd, "cache ops/s {ops} vs XADD {xadd}");
    let header = c.header();
    assert!(header.contains("event XADD/s"), "{header}");

    let _ = child.wait();
    let stopped = Instant::now();
    c.until("the event rate at 0", Duration::from_secs(10), |st| {
        st.source(EVENTS_SOURCE)
            .and_then(|s| s.live_ops(st.derived.at, st.refresh_ms))
            == Some(0.0)
    });
    assert!(
        stopped.elapsed() < Duration::from_secs(4),
        "{:?}",
        stopped.elapsed()
    );
    assert!(c.header().contains("events ev 0/s"), "{}", c.header());
    let window = Duration::from_secs(u64::try_from(RATE_WINDOW_SECS).unwrap());
    c.until(
        "every client at 0 req/s",
        window + Duration::from_secs(5),
        |st| st.derived.clients.iter().all(|v| v.requests_per_sec == 0.0),
    );
    assert!(
        stopped.elapsed() < window + Duration::from_secs(2),
        "{:?}",
        stopped.elapsed()
    );
}

/// The first reading is only a baseline: no rate is shown until the
/// second, and the first rate shown is the traffic's.
#[test]
fn the_first_frame_shows_no_rate_until_two_readings() {
    let server = RedisServer::start();
    let traffic = Traffic::start(&server.url());
    std::thread::sleep(Duration::from_millis(500));
    let name = format!("127.0.0.1:{}", server.port);
    let poll = Duration::from_millis(1500);
    let mut c = Console::start_paced(&spec(&[server.url()]), Duration::from_millis(250), poll);
    c.until("a first reading", Duration::from_secs(10), |st| {
        st.sources
            .first()
            .is_some_and(|s| s.figures_age_ms(st.derived.at).is_some())
    });
    let src = c.state.sources.first().expect("the node");
    assert!(src.rates_at.is_none(), "one reading only");
    let header = c.header();
    assert!(header.contains("cache ops/s –"), "{header}");
    let backends = c.pane(Pane::Backends, 0, 160, 20);
    let row = backends
        .lines()
        .find(|l| l.contains(&name) && l.contains("healthy"))
        .expect("the row");
    assert!(row.contains("      – "), "{row}");
    let (t0, n0) = (Instant::now(), traffic.done());
    c.until("a second reading", Duration::from_secs(10), |st| {
        row_ops(st, &name).is_some()
    });
    let truth = (traffic.done() - n0) as f64 / t0.elapsed().as_secs_f64();
    let shown = row_ops(&c.state, &name).expect("a rate");
    eprintln!("first rate shown {shown:.0}/s, traffic {truth:.0}/s");
    assert!(
        (shown - truth).abs() < 0.3 * truth,
        "first rate {shown:.0}/s vs the traffic's {truth:.0}/s"
    );
}

//! The console's whole load on a real `redis-server` (issue 13): the
//! poller's `PING`/`INFO`/`SLOWLOG`/`LATENCY`, the cluster check and the
//! key sampler, with the default settings (the sampler's budget follows the
//! node), counted by the server itself (`total_commands_processed`, and
//! `INFO commandstats` for the breakdown printed with `--nocapture`).
//!
//! * idle node, 100k keys: at most 25 commands/s from the console in total;
//! * a node serving 3 000 ops/s: at most 5 % of its commands are the console's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::support::RedisServer;
use crate::support::console::Console;
use heliostat::app::live::LiveSpec;

fn fill(server: &RedisServer, n: usize) {
    let mut c = server.client();
    for chunk in (0..n).collect::<Vec<_>>().chunks(5000) {
        let mut p = redis::pipe();
        for i in chunk {
            // Three shapes of key, as an application has.
            let k = match i % 3 {
                0 => format!("ux:user:{i}"),
                1 => format!("ux:session:{i}"),
                _ => format!("order:{i}:items"),
            };
            p.cmd("SET").arg(k).arg("v").ignore();
        }
        let () = p.query(&mut c).unwrap();
    }
}

fn total_commands(c: &mut redis::Connection) -> u64 {
    let text: String = redis::cmd("INFO").arg("stats").query(c).unwrap();
    text.lines()
        .find_map(|l| l.trim_end().strip_prefix("total_commands_processed:"))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// `cmdstat_get:calls=…` → `{get: calls}`.
fn commandstats(c: &mut redis::Connection) -> BTreeMap<String, u64> {
    let text: String = redis::cmd("INFO").arg("commandstats").query(c).unwrap();
    text.lines()
        .filter_map(|l| {
            let (name, rest) = l.trim_end().strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_string(), calls))
        })
        .collect()
}

fn diff(a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    b.iter()
        .filter_map(|(k, &n)| {
            let d = n - a.get(k).copied().unwrap_or(0);
            (d > 0).then(|| (k.clone(), d))
        })
        .collect()
}

fn spec(url: String) -> LiveSpec {
    LiveSpec {
        redis: vec![url],
        ..LiveSpec::default()
    }
}

/// Default settings, 1 s polls; returns the console (running) after `warm`.
fn console(server: &RedisServer, warm: Duration) -> Console {
    let spec = spec(server.url());
    assert!(
        spec.sampler.follow.is_some(),
        "the default budget follows the node"
    );
    let mut console = Console::start(&spec, Duration::from_secs(1));
    console.run_for(warm);
    console
}

#[test]
fn an_idle_node_with_100k_keys_gets_at_most_25_commands_a_second_in_total() {
    let server = RedisServer::start();
    fill(&server, 100_000);
    let mut c = server.client();
    let mut console = console(&server, Duration::from_secs(2));
    let (s0, n0, t0) = (commandstats(&mut c), total_commands(&mut c), Instant::now());
    console.run_for(Duration::from_secs(30));
    let n1 = total_commands(&mut c);
    let secs = t0.elapsed().as_secs_f64();
    let s1 = commandstats(&mut c);
    // The test's own: the second INFO stats and the first INFO commandstats.
    let console_cmds = n1 - n0 - 2;
    let rate = console_cmds as f64 / secs;
    let mut by = diff(&s0, &s1);
    by.entry("info".into()).and_modify(|n| *n -= 2);
    println!("idle, 100k keys: {console_cmds} commands in {secs:.1} s = {rate:.1}/s: {by:?}");
    assert!(rate <= 25.0, "{rate:.1} commands/s on an idle node: {by:?}");
    // The sampler did sample: the share buys a slow pass, not none.
    let sampled = by.get("pttl").copied().unwrap_or(0);
    assert!(sampled >= 100, "the sampler looked at {sampled} keys");
    let screen = console.pane(heliostat::action::Pane::Backends, 0, 200, 50);
    assert!(
        screen.contains("% of node · budget 20 cmd/s (5% of node, 20–1.0k)"),
        "{screen}"
    );
    // The prefix rows follow the keyspace's shape.
    for row in ["ux:user:*", "ux:session:*", "order:*:items"] {
        assert!(screen.contains(row), "no {row}: {screen}");
    }
}

/// A client sending `rate` commands/s (`GET`/`SET` pipelines every 10 ms)
/// until `stop`; counts what it sent.
fn load(
    url: String,
    rate: u64,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        let per_tick = rate / 100;
        let start = Instant::now();
        let mut tick = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let mut p = redis::pipe();
            for i in 0..per_tick {
                let k = format!("ux:user:{}", (tick * per_tick + i) % 100_000);
                if i % 10 == 0 {
                    p.cmd("SET").arg(k).arg("v").ignore();
                } else {
                    p.cmd("GET").arg(k).ignore();
                }
            }
            let () = p.query(&mut c).unwrap();
            sent.fetch_add(per_tick, Ordering::Relaxed);
            tick += 1;
            let next = start + Duration::from_millis(10 * tick);
            if let Some(d) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
        }
    })
}

#[test]
fn a_node_serving_3k_ops_gets_at_most_5_percent_of_its_commands_from_the_console() {
    let server = RedisServer::start();
    fill(&server, 100_000);
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let loader = load(server.url(), 3000, stop.clone(), sent.clone());
    let mut c = server.client();
    // The budget follows the measured rate (smoothed over ~10 s).
    let mut console = console(&server, Duration::from_secs(8));
    let (s0, n0, l0, t0) = (
        commandstats(&mut c),
        total_commands(&mut c),
        sent.load(Ordering::Relaxed),
        Instant::now(),
    );
    console.run_for(Duration::from_secs(15));
    let (n1, l1) = (total_commands(&mut c), sent.load(Ordering::Relaxed));
    let secs = t0.elapsed().as_secs_f64();
    let s1 = commandstats(&mut c);
    stop.store(true, Ordering::Relaxed);
    loader.join().unwrap();
    let total = n1 - n0 - 2;
    // The load's pipelines are counted when they ran: at most one tick in
    // flight either side of a reading.
    let app = l1 - l0;
    let console_cmds = total.saturating_sub(app);
    let share = console_cmds as f64 / total as f64;
    let mut by = diff(&s0, &s1);
    by.entry("info".into()).and_modify(|n| *n -= 2);
    for k in ["get", "set"] {
        by.remove(k);
    }
    println!(
        "3k ops/s: {total} commands in {secs:.1} s ({:.0}/s), console {console_cmds} \
         ({:.1}/s) = {:.2} %: {by:?}",
        total as f64 / secs,
        console_cmds as f64 / secs,
        share * 100.0
    );
    assert!(
        (2500.0..3500.0).contains(&(app as f64 / secs)),
        "the load ran at {:.0}/s",
        app as f64 / secs
    );
    assert!(
        share <= 0.05,
        "console share {:.2} %: {by:?}",
        share * 100.0
    );
    // It follows the node: well above the idle floor.
    let sampled = by.get("pttl").copied().unwrap_or(0) as f64 / secs;
    assert!(sampled > 20.0, "{sampled:.1} keys/s sampled");
}

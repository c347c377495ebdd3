//! The access-event stream against a real, throw-away `redis-server`:
//! `heliostat emit --rate N` paces below 1000 events a second (the entry
//! ids, stamped by the server as each `XADD` arrives, say when), and the
//! stream the console reads is no application key in its heatmap.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::RedisServer;

fn heliostat(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_heliostat"))
        .args(args)
        .env_remove("REDIS_URL")
        .env_remove("DATABASE_URL")
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("heliostat-no-config"),
        )
        .output()
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The server's millisecond stamp of every entry in `stream`, in order.
fn entry_times(server: &RedisServer, stream: &str) -> Vec<i64> {
    let mut c = server.client();
    let ids: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query(&mut c)
        .unwrap();
    ids.iter()
        .map(|(id, _)| id.split('-').next().unwrap().parse().unwrap())
        .collect()
}

/// Entries per whole second since the first entry.
fn per_second(times: &[i64]) -> BTreeMap<i64, usize> {
    let mut m = BTreeMap::new();
    for t in times {
        *m.entry((t - times[0]) / 1000).or_default() += 1;
    }
    m
}

fn emit(server: &RedisServer, stream: &str, count: u64, rate: u64) -> Duration {
    let url = server.url();
    let started = Instant::now();
    let (ok, _, err) = heliostat(&[
        "emit",
        "--redis",
        &url,
        "--events",
        stream,
        "--count",
        &count.to_string(),
        "--rate",
        &rate.to_string(),
    ]);
    assert!(ok, "emit failed: {err}");
    started.elapsed()
}

#[test]
fn emit_paces_ten_and_a_hundred_events_a_second() {
    let server = RedisServer::start();
    // 30 events at 10/s: one every 100 ms over 2.9 s, never all at once.
    let took = emit(&server, "slow", 30, 10);
    let times = entry_times(&server, "slow");
    assert_eq!(times.len(), 30);
    let span = times[29] - times[0];
    assert!((2_700..=4_000).contains(&span), "first to last: {span} ms");
    assert!(took >= Duration::from_millis(2_800), "{took:?}");
    let counts = per_second(&times);
    assert!(counts.values().all(|&n| n <= 12), "per second: {counts:?}");
    // No two entries closer than a pipeline's worth of the rate allows.
    let gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().filter(|&&g| g < 50).count() <= 2, "{gaps:?}");

    // 200 at 100/s: pipelines of 5 every 50 ms, about 2 s.
    emit(&server, "fast", 200, 100);
    let times = entry_times(&server, "fast");
    assert_eq!(times.len(), 200);
    let span = times[199] - times[0];
    assert!((1_800..=3_000).contains(&span), "first to last: {span} ms");
    let counts = per_second(&times);
    assert!(counts.values().all(|&n| n <= 110), "per second: {counts:?}");
}

#[test]
fn the_event_stream_read_is_no_key_row_in_the_heatmap() {
    let server = RedisServer::start();
    let mut c = server.client();
    let _: () = redis::cmd("EVAL")
        .arg("for i=1,50 do redis.call('set','user:'..i,'x') end")
        .arg(0)
        .query(&mut c)
        .unwrap();
    let url = server.url();
    emit(&server, "app:events", 20, 0);
    let snapshot = |events: bool| {
        // A whole pass within the wait: the default budget follows the
        // idle node (20 commands/s) and would see a third of these keys.
        let mut args = vec![
            "snapshot",
            "--redis",
            &url,
            "--wait",
            "3",
            "--sample-budget",
            "1000",
        ];
        if events {
            args.extend(["--events", "app:events"]);
        }
        args.extend(["--size", "160x45", "--pane", "heatmap"]);
        let (ok, out, err) = heliostat(&args);
        assert!(ok, "snapshot failed: {err}");
        out
    };
    // Read as the event stream: left out, and the screen says so.
    let out = snapshot(true);
    assert!(out.contains("user:*"), "{out}");
    assert!(!out.contains("app:*"), "{out}");
    assert!(out.contains("app:events (event stream) left out"), "{out}");
    // Not read: it is a key like any other.
    let out = snapshot(false);
    assert!(out.contains("user:*"), "{out}");
    assert!(out.contains("app:*"), "{out}");
    assert!(!out.contains("left out"), "{out}");
}

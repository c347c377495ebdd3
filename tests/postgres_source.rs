//! The PostgreSQL source against real, throw-away clusters (`initdb` by the
//! harness): per-table deltas after a known workload, a statistics reset
//! and a crash are gaps, recovery after a restart, clear reasons for a
//! wrong password or a missing privilege, and `snapshot --postgres`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use heliostat::app::state::{SessionInfo, State};
use heliostat::engines::heatmap::{Measure, RowKind};
use heliostat::sample::{Body, PgStats, Sample, SourceId, SourceKind, SourceStatus, TableCounters};
use heliostat::sources::postgres::{PgConfig, run_endpoint};
use support::postgres::PgServer;
use tokio::sync::mpsc;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn fast(url: &str) -> PgConfig {
    let mut c = PgConfig::new(SourceId(0), url);
    c.poll = Duration::from_millis(200);
    c.tables_every = Duration::from_millis(200);
    c.retry = Duration::from_millis(250);
    c.acquire_timeout = Duration::from_secs(1);
    c
}

/// Feed samples to `state` (ticking it) until `done` says so or `limit`
/// passes; returns every sample seen.
async fn drive(
    rx: &mut mpsc::Receiver<Vec<Sample>>,
    state: &mut State,
    limit: Duration,
    mut done: impl FnMut(&Sample) -> bool,
) -> Vec<Sample> {
    let end = tokio::time::Instant::now() + limit;
    let mut out = Vec::new();
    while let Ok(Some(batch)) = tokio::time::timeout_at(end, rx.recv()).await {
        let mut stop = false;
        for s in batch {
            state.apply(&s);
            stop |= done(&s);
            out.push(s);
        }
        state.tick(heliostat::sources::redis::wall_now());
        if stop {
            break;
        }
    }
    out
}

fn table<'a>(s: &'a Sample, name: &str) -> Option<&'a TableCounters> {
    match &s.body {
        Body::Tables(t) => t.iter().find(|t| t.table == name),
        _ => None,
    }
}

fn pg(s: &Sample) -> Option<&PgStats> {
    match &s.body {
        Body::Postgres(p) => Some(p),
        _ => None,
    }
}

/// Blocks (hits + reads) the heatmap has counted for a table.
fn heat(state: &mut State, name: &str) -> u64 {
    let row = state.heatmap.row(RowKind::Table, Measure::Buffer, name);
    state.heatmap.totals(row).map_or(0, |t| t.accesses)
}

/// Wait until the table's counters are the same in two table refreshes in
/// a row (the server has flushed everything), and return them.
async fn settled(
    rx: &mut mpsc::Receiver<Vec<Sample>>,
    state: &mut State,
    name: &str,
) -> TableCounters {
    let mut last: Option<TableCounters> = None;
    let mut found = None;
    drive(rx, state, Duration::from_secs(10), |s| {
        if let Some(t) = table(s, name) {
            if last.as_ref() == Some(t) {
                found = Some(t.clone());
                return true;
            }
            last = Some(t.clone());
        }
        false
    })
    .await;
    found.unwrap_or_else(|| panic!("no settled counters for {name}: {last:?}"))
}

/// `n` sequential scans of `t` in one session (it flushes its statistics
/// when it ends).
fn scans(server: &PgServer, t: &str, n: usize) {
    let sql = format!("SELECT count(*) FROM {t};").repeat(n);
    server.sql(&sql);
}

#[test]
fn table_deltas_follow_a_known_workload_and_a_stats_reset_is_a_gap() {
    let server = PgServer::start_with(&["autovacuum = off"]);
    server.sql(
        "CREATE TABLE hot (id int, v text); \
         INSERT INTO hot SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g; \
         CREATE TABLE cold (id int); INSERT INTO cold VALUES (1);",
    );
    let pages: u64 = server
        .sql("SELECT pg_relation_size('hot') / current_setting('block_size')::int")
        .parse()
        .unwrap();
    assert!(pages > 10, "a table of several pages: {pages}");
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        tokio::spawn(run_endpoint(fast(&server.url()), tx));
        let mut state = State::new(SessionInfo::default(), 200);
        let before = settled(&mut rx, &mut state, "hot").await;
        let heat0 = heat(&mut state, "hot");

        scans(&server, "hot", 30);
        let after = settled(&mut rx, &mut state, "hot").await;
        let blocks = (after.blks_hit + after.blks_read) - (before.blks_hit + before.blks_read);
        assert_eq!(blocks, 30 * pages, "every scan reads every page once");
        assert_eq!(after.seq_scan - before.seq_scan, 30);
        assert_eq!(
            heat(&mut state, "hot") - heat0,
            30 * pages,
            "the heatmap's buffer row counts exactly the workload's blocks"
        );
        assert_eq!(heat(&mut state, "cold"), 0, "an untouched table stays cold");

        // The source's every-tick figures: a primary, transactions counted.
        let src = &state.sources[0];
        assert_eq!(src.kind, SourceKind::PgPrimary);
        assert!(src.pg_detail.is_some(), "activity and replication are read");
        assert!(src.used > 1_000_000, "the database size: {}", src.used);
        let note = src.pg_statements_note.clone().unwrap_or_default();
        assert!(
            note.contains("not installed"),
            "the missing extension is named: {note:?}"
        );

        // A reset: counters drop to zero. A gap and a new baseline, never a
        // negative or huge delta.
        let gen_before = src.generation;
        server.sql("SELECT pg_stat_reset()");
        let seen = drive(&mut rx, &mut state, Duration::from_secs(10), |s| {
            s.generation > gen_before && table(s, "hot").is_some()
        })
        .await;
        assert!(
            seen.iter().any(|s| s.generation > gen_before),
            "the reset starts a new generation"
        );
        scans(&server, "hot", 10);
        settled(&mut rx, &mut state, "hot").await;
        assert_eq!(
            heat(&mut state, "hot") - heat0,
            40 * pages,
            "after the reset only the new scans count"
        );
        assert!(
            state.sources[0].ops_per_sec < 10_000.0,
            "no spike: {}",
            state.sources[0].ops_per_sec
        );
    });
}

#[test]
fn a_killed_server_is_retried_and_recovers_within_two_seconds() {
    let mut server = PgServer::start();
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        tokio::spawn(run_endpoint(fast(&server.url()), tx));
        let mut state = State::new(SessionInfo::default(), 200);
        let first = drive(&mut rx, &mut state, Duration::from_secs(10), |s| {
            pg(s).is_some()
        })
        .await;
        let epoch = first.iter().find_map(pg).expect("a refresh").epoch;

        server.kill();
        let down = drive(&mut rx, &mut state, Duration::from_secs(10), |s| {
            matches!(s.body, Body::Status(SourceStatus::Retrying { .. }))
        })
        .await;
        let reason = down
            .iter()
            .find_map(|s| match &s.body {
                Body::Status(SourceStatus::Retrying { reason, .. }) => Some(reason.clone()),
                _ => None,
            })
            .expect("a Retrying status while the server is down");
        assert!(!reason.is_empty());
        assert!(matches!(
            state.sources[0].status,
            SourceStatus::Retrying { .. }
        ));
        // Stay down a while: retries keep failing, nothing panics.
        drive(&mut rx, &mut state, Duration::from_millis(1500), |_| false).await;

        server.start_again();
        let back = Instant::now();
        let up = drive(&mut rx, &mut state, Duration::from_secs(10), |s| {
            pg(s).is_some()
        })
        .await;
        let took = back.elapsed();
        assert!(
            up.iter()
                .any(|s| matches!(s.body, Body::Status(SourceStatus::Connected))),
            "connected again"
        );
        assert!(took < Duration::from_secs(2), "recovered in {took:?}");
        assert_eq!(state.sources[0].status, SourceStatus::Connected);
        let after = up.iter().find_map(pg).expect("a refresh after the restart");
        assert_ne!(after.epoch, epoch, "a new server run is a new epoch");
    });
}

#[test]
fn a_wrong_password_and_a_missing_privilege_say_so() {
    let server = PgServer::start();
    server.sql("CREATE ROLE app LOGIN PASSWORD 'right'");
    server.sql("CREATE DATABASE locked");
    server.sql("REVOKE CONNECT ON DATABASE locked FROM PUBLIC");
    let wrong = format!(
        "postgres://app:nope@127.0.0.1:{}/postgres?sslmode=disable",
        server.port
    );
    let denied = format!(
        "postgres://app:right@127.0.0.1:{}/locked?sslmode=disable",
        server.port
    );
    let rt = runtime();
    rt.block_on(async {
        for (url, want) in [
            (&wrong, "authentication failed"),
            (&denied, "permission denied"),
        ] {
            let (tx, mut rx) = mpsc::channel(64);
            let task = tokio::spawn(run_endpoint(fast(url), tx));
            let mut state = State::new(SessionInfo::default(), 200);
            let seen = drive(&mut rx, &mut state, Duration::from_secs(10), |s| {
                matches!(s.body, Body::Status(SourceStatus::Retrying { .. }))
            })
            .await;
            let reason = seen
                .iter()
                .find_map(|s| match &s.body {
                    Body::Status(SourceStatus::Retrying { reason, .. }) => Some(reason.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            assert!(reason.contains(want), "{url}: {reason}");
            assert!(!reason.contains("right") && !reason.contains("nope"));
            task.abort();
        }
    });
}

fn heliostat(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_heliostat"))
        .args(args)
        .env_remove("REDIS_URL")
        .env_remove("DATABASE_URL")
        .env_remove("PGPASSWORD")
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

#[test]
fn a_live_snapshot_shows_the_busiest_table() {
    let server = PgServer::start_with(&["autovacuum = off"]);
    server.sql(
        "CREATE TABLE orders (id int PRIMARY KEY, v text); \
         INSERT INTO orders SELECT g, repeat('x', 100) FROM generate_series(1, 3000) g; \
         CREATE TABLE sleepy (id int); INSERT INTO sleepy VALUES (1);",
    );
    let url = server.url();
    let load = {
        let port = server.port;
        std::thread::spawn(move || {
            // Scans in short sessions for a few seconds, each flushing its statistics.
            let end = Instant::now() + Duration::from_secs(4);
            while Instant::now() < end {
                let _ = Command::new("psql")
                    .args(["-X", "-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                    .args(["-U", "postgres", "-d", "postgres", "-c"])
                    .arg("SELECT count(*) FROM orders; SELECT count(*) FROM orders;")
                    .output();
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let (ok, out, err) = heliostat(&[
        "snapshot",
        "--postgres",
        &url,
        "--wait",
        "4",
        "--size",
        "160x45",
        "--pane",
        "heatmap",
    ]);
    load.join().unwrap();
    assert!(ok, "snapshot failed: {err}");
    let orders = out.find("orders ").expect("the busiest table is a row");
    let sleepy = out.find("sleepy ").expect("the idle table is a row");
    assert!(orders < sleepy, "the busiest table first: {out}");
    let detail = out
        .lines()
        .find(|l| l.contains("all time:"))
        .expect("the selected row's detail");
    assert!(
        !detail.contains("all time: 0 accesses"),
        "its blocks are counted: {out}"
    );
    let (ok, out, err) = heliostat(&[
        "snapshot",
        "--postgres",
        &url,
        "--wait",
        "2",
        "--size",
        "160x45",
        "--pane",
        "backends",
    ]);
    assert!(ok, "snapshot failed: {err}");
    assert!(
        out.contains("127.0.0.1"),
        "the endpoint is a backend: {out}"
    );
    assert!(out.contains("primary"), "{out}");
    assert!(out.contains("sessions:"), "its detail: {out}");
}

#[test]
fn statements_become_fingerprint_rows_and_a_missing_preload_says_so() {
    let server = PgServer::start_with(&[
        "autovacuum = off",
        "shared_preload_libraries = 'pg_stat_statements'",
    ]);
    let bare = PgServer::start();
    for s in [&server, &bare] {
        s.sql("CREATE EXTENSION pg_stat_statements");
        s.sql("CREATE TABLE big AS SELECT g AS id, repeat('y', 300) AS v FROM generate_series(1, 3000) g");
    }
    server.sql("CREATE ROLE watcher LOGIN PASSWORD 'w'");
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        tokio::spawn(run_endpoint(fast(&server.url()), tx));
        let mut state = State::new(SessionInfo::default(), 200);
        let query = "SELECT count(*) FROM big WHERE v <> $1";
        let blocks_of = |st: &Sample| match &st.body {
            Body::Statements(s) => s
                .rows
                .iter()
                .find(|r| r.text.contains("FROM big WHERE v <>"))
                .map(|r| (r.calls, r.blks_hit + r.blks_read)),
            _ => None,
        };
        // A baseline for the statement, then a known number of calls.
        server.sql("SELECT count(*) FROM big WHERE v <> 'z'");
        let mut base = None;
        drive(&mut rx, &mut state, Duration::from_secs(10), |s| {
            base = blocks_of(s).or(base);
            base.is_some()
        })
        .await;
        let (calls0, blocks0) = base.expect("the statement is read");
        server.sql(&"SELECT count(*) FROM big WHERE v <> 'z';".repeat(5));
        let mut now = None;
        drive(&mut rx, &mut state, Duration::from_secs(10), |s| {
            now = blocks_of(s).filter(|(c, _)| *c == calls0 + 5).or(now);
            now.is_some_and(|(c, _)| c == calls0 + 5)
        })
        .await;
        let (_, blocks1) = now.expect("five more calls counted");
        let per_call = (blocks1 - blocks0) / 5;
        assert!(per_call > 10, "each call scans the table: {per_call}");
        let row = state
            .heatmap
            .row(RowKind::Fingerprint, Measure::Buffer, query);
        let counted = state.heatmap.totals(row).map_or(0, |t| t.accesses);
        assert_eq!(
            counted,
            blocks1 - blocks0,
            "the fingerprint row counts the blocks"
        );
        assert!(state.sources[0].pg_statements_note.is_none());

        // Installed but not preloaded; and a role without pg_read_all_stats.
        let watcher = format!(
            "postgres://watcher:w@127.0.0.1:{}/postgres?sslmode=disable",
            server.port
        );
        for (url, want) in [
            (bare.url(), "not preloaded"),
            (watcher, "pg_read_all_stats"),
        ] {
            let (tx, mut rx) = mpsc::channel(64);
            let task = tokio::spawn(run_endpoint(fast(&url), tx));
            let mut state = State::new(SessionInfo::default(), 200);
            drive(&mut rx, &mut state, Duration::from_secs(10), |s| {
                matches!(s.body, Body::Statements(_))
            })
            .await;
            let note = state.sources[0]
                .pg_statements_note
                .clone()
                .unwrap_or_default();
            assert!(note.contains(want), "{url}: {note}");
            assert!(
                state.sources[0].pg_detail.is_some(),
                "everything else still works"
            );
            task.abort();
        }
    });
}

#[test]
fn tls_is_verified_against_the_given_ca() {
    let pki = support::tls::Pki::new();
    let server = PgServer::start_tls(&pki.server_cert, &pki.server_key);
    let url = |mode: &str, ca: &std::path::Path| {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode={mode}&sslrootcert={}",
            server.port,
            ca.display()
        )
    };
    let rt = runtime();
    rt.block_on(async {
        for (u, ok) in [
            (url("verify-full", &pki.ca), true),
            (url("require", &pki.other_ca), true),
            (url("verify-full", &pki.other_ca), false),
        ] {
            let (tx, mut rx) = mpsc::channel(64);
            let task = tokio::spawn(run_endpoint(fast(&u), tx));
            let mut state = State::new(SessionInfo::default(), 200);
            let seen = drive(&mut rx, &mut state, Duration::from_secs(10), |s| {
                pg(s).is_some() || matches!(s.body, Body::Status(SourceStatus::Retrying { .. }))
            })
            .await;
            let got = seen.iter().any(|s| pg(s).is_some());
            assert_eq!(got, ok, "{u}: {:?}", state.sources[0].status);
            if !ok {
                let SourceStatus::Retrying { reason, .. } = &state.sources[0].status else {
                    panic!("{u}: {:?}", state.sources[0].status);
                };
                assert!(reason.contains("TLS"), "{u}: {reason}");
            }
            task.abort();
        }
    });
}

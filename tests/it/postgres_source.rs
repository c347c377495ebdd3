//! The PostgreSQL source against real, throw-away clusters (`initdb` by the
//! harness): per-table deltas after a known workload, a statistics reset
//! and a crash are gaps, recovery after a restart, clear reasons for a
//! wrong password or a missing privilege, and `snapshot --postgres`; a
//! streaming replica (`pg_basebackup`) with its lag and its promotion, an
//! inactive replication slot as an alert, a blocked session and its blocker.

use crate::support;
use crate::support::runtime;

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::postgres::PgServer;
use heliostat::app::state::{SessionInfo, State};
use heliostat::engines::heatmap::{Measure, RowKind};
use heliostat::sample::{Body, PgStats, Sample, SourceId, SourceKind, SourceStatus, TableCounters};
use heliostat::sources::postgres::{PgConfig, run_endpoint};
use tokio::sync::mpsc;

fn fast(url: &str) -> PgConfig {
    let mut c = PgConfig::new(SourceId(0), url);
    c.poll = heliostat::sources::pace::Pace::fixed(Duration::from_millis(200));
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

/// Feed samples to `state` (ticking it) until `done(state)` holds or
/// `limit` passes; returns whether it held.
async fn until(
    rx: &mut mpsc::Receiver<Vec<Sample>>,
    state: &mut State,
    limit: Duration,
    mut done: impl FnMut(&State) -> bool,
) -> bool {
    let end = tokio::time::Instant::now() + limit;
    while let Ok(Some(batch)) = tokio::time::timeout_at(end, rx.recv()).await {
        for s in batch {
            state.apply(&s);
        }
        state.tick(heliostat::sources::redis::wall_now());
        if done(state) {
            return true;
        }
    }
    false
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
fn the_busiest_tables_are_read_even_when_their_names_sort_last() {
    let server = PgServer::start_with(&["autovacuum = off"]);
    // More idle user tables than the limit, every name before the busy one's.
    server.sql(
        "DO $$ BEGIN FOR i IN 1..210 LOOP \
           EXECUTE format('CREATE TABLE idle_%s (id int)', lpad(i::text, 3, '0')); \
         END LOOP; END $$",
    );
    server.sql("CREATE TABLE zz_busy AS SELECT g AS id FROM generate_series(1, 5000) g");
    scans(&server, "zz_busy", 5);
    let cfg = fast(&server.url());
    assert_eq!(cfg.tables_limit, 200, "the documented default");
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        tokio::spawn(run_endpoint(cfg, tx));
        let mut state = State::new(SessionInfo::default(), 200);
        let mut read: Option<Vec<TableCounters>> = None;
        drive(&mut rx, &mut state, Duration::from_secs(10), |s| {
            if let Body::Tables(t) = &s.body {
                read = Some(t.clone());
                return table(s, "zz_busy").is_some_and(|t| t.blks_hit + t.blks_read > 0);
            }
            false
        })
        .await;
        let read = read.expect("a tables refresh");
        assert_eq!(read.len(), 200, "the limit, of 211 tables");
        let names: Vec<&str> = read.iter().map(|t| t.table.as_str()).collect();
        assert_eq!(
            names.first(),
            Some(&"zz_busy"),
            "the busiest table first, though its name sorts last: {names:?}"
        );
        let blocks: Vec<u64> = read.iter().map(|t| t.blks_hit + t.blks_read).collect();
        assert!(
            blocks.windows(2).all(|w| w[0] >= w[1]),
            "busiest first: {blocks:?}"
        );
    });
}

/// Wait until every endpoint of `want` has read at least its blocks (hits
/// + reads) for table `name`, the same twice in a row; returns them.
async fn settled_on(
    rx: &mut mpsc::Receiver<Vec<Sample>>,
    state: &mut State,
    name: &str,
    want: &[(SourceId, u64)],
) -> Vec<u64> {
    let mut last: Vec<Option<u64>> = vec![None; want.len()];
    let mut done = vec![false; want.len()];
    drive(rx, state, Duration::from_secs(15), |s| {
        let Some(i) = want.iter().position(|(id, _)| *id == s.source) else {
            return false;
        };
        if let Some(t) = table(s, name) {
            let blocks = t.blks_hit + t.blks_read;
            done[i] = blocks >= want[i].1 && last[i] == Some(blocks);
            last[i] = Some(blocks);
        }
        done.iter().all(|d| *d)
    })
    .await;
    assert!(done.iter().all(|d| *d), "not settled on {want:?}: {last:?}");
    last.into_iter().map(Option::unwrap_or_default).collect()
}

#[test]
fn a_table_read_on_a_primary_and_its_replica_counts_each_workload_once() {
    let primary = PgServer::start_with(&["autovacuum = off"]);
    primary.sql(
        "CREATE TABLE users AS SELECT g AS id, repeat('u', 200) AS v FROM generate_series(1, 3000) g",
    );
    let pages: u64 = primary
        .sql("SELECT pg_relation_size('users') / current_setting('block_size')::int")
        .parse()
        .unwrap();
    // The primary's counters run far ahead of the replica's.
    scans(&primary, "users", 40);
    let replica = PgServer::replica_of(&primary, None);
    let end = Instant::now() + Duration::from_secs(20);
    while replica.sql("SELECT count(*) FROM pg_class WHERE relname = 'users'") != "1"
        && Instant::now() < end
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (p_id, r_id) = (SourceId(0), SourceId(1));
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        let mut pc = fast(&primary.url());
        pc.id = p_id;
        let mut rc = fast(&replica.url());
        rc.id = r_id;
        tokio::spawn(run_endpoint(pc, tx.clone()));
        tokio::spawn(run_endpoint(rc, tx));
        let mut state = State::new(SessionInfo::default(), 200);
        let before = settled_on(
            &mut rx,
            &mut state,
            "users",
            &[(p_id, 40 * pages), (r_id, 0)],
        )
        .await;
        assert!(before[0] > before[1] + 30 * pages, "{before:?}");
        let heat0 = heat(&mut state, "users");

        scans(&primary, "users", 20);
        scans(&replica, "users", 7);
        let want = [
            (p_id, before[0] + 20 * pages),
            (r_id, before[1] + 7 * pages),
        ];
        let after = settled_on(&mut rx, &mut state, "users", &want).await;
        assert_eq!(
            (after[0] - before[0], after[1] - before[1]),
            (20 * pages, 7 * pages),
            "each scan reads every page once"
        );
        assert_eq!(
            heat(&mut state, "users") - heat0,
            27 * pages,
            "one row, both endpoints' blocks, no spike"
        );
        let row = state.heatmap.row(RowKind::Table, Measure::Buffer, "users");
        let view = state
            .heatmap
            .view(heliostat::sources::redis::wall_now(), 10, 60);
        let cells = &view
            .rows
            .iter()
            .find(|r| r.id == row)
            .expect("the row")
            .cells;
        assert!(cells.iter().all(|c| !c.gap), "no reset seen: no gap");
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
        // Read twice at least: calls, mean time and rows per call for the detail.
        let rates = state.pg_statements.rates.get(query).expect("rates");
        assert!(
            rates.calls_per_s >= 0.0 && rates.mean_ms >= 0.0,
            "{rates:?}"
        );

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

/// The state's view of source `id`, as the Backends pane shows it.
fn row(state: &State, id: SourceId) -> heliostat::app::derive::BackendRow {
    state
        .derived
        .backends
        .iter()
        .find(|b| b.source == id)
        .cloned()
        .unwrap_or_else(|| panic!("no Backends row for {id:?}: {:?}", state.derived.backends))
}

fn detail(state: &State, id: SourceId) -> heliostat::sample::PgDetail {
    state
        .source(id)
        .and_then(|s| s.pg_detail.clone())
        .unwrap_or_else(|| panic!("no detail for {id:?}"))
}

#[test]
fn a_streaming_replica_reports_its_lag_and_a_promotion_is_followed() {
    let primary = PgServer::start_with(&["autovacuum = off"]);
    primary.sql("CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
    let replica = PgServer::replica_of(&primary, Some("standby"));
    let (p_id, r_id) = (SourceId(0), SourceId(1));
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        let mut pc = fast(&primary.url());
        pc.id = p_id;
        let mut rc = fast(&replica.url());
        rc.id = r_id;
        tokio::spawn(run_endpoint(pc, tx.clone()));
        tokio::spawn(run_endpoint(rc, tx));
        let mut state = State::new(SessionInfo::default(), 200);
        // A transaction the replica replays (its commit time dates the lag).
        primary.sql("INSERT INTO t VALUES (2)");

        // Streaming and caught up: a replica with no lag, a primary with one
        // replica; both healthy.
        let caught_up = |st: &State| {
            let (Some(p), Some(r)) = (st.source(p_id), st.source(r_id)) else {
                return false;
            };
            r.kind == SourceKind::PgReplica
                && r.pg_detail.is_some()
                && r.lag_bytes == 0
                && p.pg_detail.as_ref().is_some_and(|d| d.replicas == 1)
                && p.lag_bytes == 0
                && st.derived.backends.len() == 2
                && st
                    .derived
                    .backends
                    .iter()
                    .all(|b| b.health.label() == "healthy")
        };
        let ok = until(&mut rx, &mut state, Duration::from_secs(20), caught_up).await;
        assert!(
            ok,
            "replica streaming and caught up: {:?}",
            state.derived.backends
        );
        // Learning the role at the first refresh is no role change.
        let status = state.ui.status.as_ref().map(|s| s.text.clone());
        assert!(
            !status.as_deref().unwrap_or("").contains("now a replica"),
            "{status:?}"
        );
        let r = detail(&state, r_id);
        assert_eq!(r.lag_ms, Some(0), "received = replayed is no lag");
        assert_eq!(state.source(p_id).unwrap().kind, SourceKind::PgPrimary);
        let rrow = row(&state, r_id);
        assert!(
            rrow.detail
                .iter()
                .any(|l| l.starts_with("replica: replay behind receive by 0 B")),
            "{:?}",
            rrow.detail
        );
        let prow = row(&state, p_id);
        assert!(
            prow.detail
                .iter()
                .any(|l| l.starts_with("primary: 1 replica(s)")),
            "{:?}",
            prow.detail
        );
        // The replica's slot is in use: reported, no alert.
        let p = detail(&state, p_id);
        assert_eq!((p.slots, p.inactive_slots), (1, 0));
        assert!(
            matches!(&p.worst_slot, Some((name, _, true)) if name == "standby"),
            "{p:?}"
        );
        assert_eq!(prow.alert, None);

        // The replica has replayed a commit (which dates the lag in time).
        let end = Instant::now() + Duration::from_secs(20);
        while replica.sql("SELECT count(*) FROM t") != "2" && Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(replica.sql("SELECT pg_last_xact_replay_timestamp() IS NOT NULL") == "t");

        // Replay paused: WAL still arrives, so received runs ahead of replayed.
        replica.sql("SELECT pg_wal_replay_pause()");
        primary.sql("INSERT INTO t SELECT g FROM generate_series(1, 20000) g");
        let mut behind = (0, 0);
        until(&mut rx, &mut state, Duration::from_secs(20), |st| {
            let lag = |id| st.source(id).map_or(0, |s| s.lag_bytes);
            behind = (lag(r_id), lag(p_id));
            behind.0 > 100_000 && behind.1 > 100_000
        })
        .await;
        assert!(
            behind.0 > 100_000 && behind.1 > 100_000,
            "replay behind receive on the replica, behind the primary's WAL: {behind:?}"
        );
        let r = detail(&state, r_id);
        assert!(
            r.lag_ms.is_some_and(|ms| ms > 0),
            "a lag in time too (since the last replayed commit): {r:?}"
        );
        assert!(
            row(&state, r_id).detail.iter().any(|l| l
                .starts_with("replica: replay behind receive by")
                && !l.contains("by 0 B")),
            "{:?}",
            row(&state, r_id).detail
        );
        replica.sql("SELECT pg_wal_replay_resume()");
        let ok = until(&mut rx, &mut state, Duration::from_secs(20), caught_up).await;
        assert!(ok, "caught up again after the resume");
        let rows: u64 = replica.sql("SELECT count(*) FROM t").parse().unwrap();
        assert_eq!(rows, 20_002, "the replica replayed everything");

        // Promotion: the source re-announces the endpoint as a primary and
        // the app says so; the old primary loses its replica.
        let gen_before = state.source(r_id).unwrap().generation;
        replica.sql("SELECT pg_promote()");
        // The status line as each batch leaves it (the old primary's slot
        // alert may follow the promotion's message within a refresh).
        let mut said = String::new();
        let hello = until(&mut rx, &mut state, Duration::from_secs(20), |st| {
            if let Some(s) = st
                .ui
                .status
                .as_ref()
                .filter(|s| s.text.contains("promoted"))
            {
                said.clone_from(&s.text);
            }
            st.source(r_id).unwrap().kind == SourceKind::PgPrimary
        })
        .await;
        assert!(hello, "the promoted endpoint is announced as a primary");
        let promoted = state.source(r_id).unwrap();
        assert_eq!(
            promoted.generation, gen_before,
            "same server run, same baseline"
        );
        assert!(
            said.contains(&replica.port.to_string()) && said.contains("promoted to primary"),
            "{said:?}"
        );
        state.tick(heliostat::sources::redis::wall_now());
        assert_eq!(row(&state, r_id).kind, SourceKind::PgPrimary);
        let alone = until(&mut rx, &mut state, Duration::from_secs(20), |st| {
            detail(st, p_id).replicas == 0
        })
        .await;
        assert!(alone, "the old primary no longer streams to it");
        // Its slot is left behind on the old primary, unread: an alert.
        let stale = until(&mut rx, &mut state, Duration::from_secs(20), |st| {
            row(st, p_id).alert.is_some()
        })
        .await;
        let alert = row(&state, p_id).alert.unwrap_or_default();
        assert!(
            stale && alert.contains("slot standby inactive"),
            "{alert:?}"
        );
        // And the promoted server takes writes.
        replica.sql("CREATE TABLE written_after_promotion (id int)");
    });
}

#[test]
fn an_inactive_slot_is_reported_with_its_retained_wal_and_shown_as_an_alert() {
    let server = PgServer::start_with(&["autovacuum = off"]);
    server.sql("SELECT pg_create_physical_replication_slot('stale_slot', true)");
    server.sql(
        "CREATE TABLE w AS SELECT g AS id, repeat('x', 100) AS v FROM generate_series(1, 30000) g",
    );
    let diff = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::int8 \
                FROM pg_replication_slots WHERE slot_name = 'stale_slot'";
    let held_before: u64 = server.sql(diff).parse().unwrap();
    assert!(
        held_before > 1_000_000,
        "the workload wrote WAL: {held_before}"
    );
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        tokio::spawn(run_endpoint(fast(&server.url()), tx));
        let mut state = State::new(SessionInfo::default(), 200);
        let mut slot = None;
        drive(&mut rx, &mut state, Duration::from_secs(10), |s| {
            let d = pg(s).and_then(|p| p.detail.as_ref());
            if let Some(d) = d {
                slot = Some((d.slots, d.inactive_slots, d.worst_slot.clone()));
            }
            d.is_some()
        })
        .await;
        let held_after: u64 = server.sql(diff).parse().unwrap();
        let (slots, inactive, worst) = slot.expect("a refresh");
        assert_eq!((slots, inactive), (1, 1));
        let (name, held, active) = worst.expect("the slot retaining WAL");
        assert_eq!(name, "stale_slot");
        assert!(!active);
        assert!(
            (held_before..=held_after).contains(&held),
            "retained WAL as the server counts it: {held_before} ≤ {held} ≤ {held_after}"
        );

        // The app: an alert on the endpoint (its row, the status line), and
        // the slot in its detail.
        state.tick(heliostat::sources::redis::wall_now());
        let r = row(&state, SourceId(0));
        let alert = r.alert.clone().unwrap_or_default();
        assert!(
            alert.contains("stale_slot") && alert.contains("inactive") && alert.contains("MiB"),
            "{alert:?}"
        );
        assert!(
            r.detail
                .iter()
                .any(|l| l.contains("stale_slot (INACTIVE) retains")),
            "{:?}",
            r.detail
        );
        let status = state.ui.status.clone().expect("a status message");
        assert!(
            status.error && status.text.contains("stale_slot"),
            "{status:?}"
        );

        // The console shows it: in the header and in the Backends pane's detail.
        let url = server.url();
        let (ok, out, err) = tokio::task::spawn_blocking(move || {
            heliostat(&[
                "snapshot",
                "--postgres",
                &url,
                "--wait",
                "2",
                "--size",
                "160x45",
                "--pane",
                "backends",
            ])
        })
        .await
        .unwrap();
        assert!(ok, "snapshot failed: {err}");
        let header = out
            .lines()
            .find(|l| l.contains(" heliostat "))
            .unwrap_or_default();
        assert!(header.contains("slot stale_slot inactive"), "{out}");
        assert!(out.contains("stale_slot (INACTIVE) retains"), "{out}");

        // Dropped: the alert goes away.
        server.sql("SELECT pg_drop_replication_slot('stale_slot')");
        let mut gone = false;
        drive(&mut rx, &mut state, Duration::from_secs(10), |s| {
            gone |= pg(s)
                .and_then(|p| p.detail.as_ref())
                .is_some_and(|d| d.slots == 0);
            gone
        })
        .await;
        assert!(gone, "the dropped slot is no longer reported");
        assert_eq!(row(&state, SourceId(0)).alert, None);
    });
}

#[test]
fn a_blocked_session_names_its_blocker() {
    let server = PgServer::start();
    server.sql("CREATE TABLE acct (id int PRIMARY KEY, n int); INSERT INTO acct VALUES (1, 0)");
    let url = server.url();
    let rt = runtime();
    rt.block_on(async {
        use sqlx::Connection;
        let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut holder)
            .await
            .unwrap();
        sqlx::raw_sql("BEGIN; SELECT * FROM acct WHERE id = 1 FOR UPDATE")
            .execute(&mut holder)
            .await
            .unwrap();
        let waiter = {
            let url = url.clone();
            tokio::spawn(async move {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                sqlx::raw_sql("UPDATE acct SET n = n + 1 WHERE id = 1")
                    .execute(&pool)
                    .await
                    .map(|_| ())
            })
        };

        let (tx, mut rx) = mpsc::channel(64);
        let task = tokio::spawn(run_endpoint(fast(&url), tx));
        let mut state = State::new(SessionInfo::default(), 200);
        let mut seen = None;
        drive(&mut rx, &mut state, Duration::from_secs(10), |s| {
            if let Some(d) = pg(s).and_then(|p| p.detail.as_ref()) {
                seen = Some((d.blocked, d.blockers.clone(), d.waiting));
            }
            seen.as_ref().is_some_and(|(b, _, _)| *b >= 1)
        })
        .await;
        let (blocked, blockers, waiting) = seen.expect("a refresh");
        assert_eq!(blocked, 1, "one session waits on the row lock");
        assert_eq!(
            blockers,
            vec![u32::try_from(pid).unwrap()],
            "the holder is named"
        );
        assert!(waiting >= 1);
        state.tick(heliostat::sources::redis::wall_now());
        let lines = row(&state, SourceId(0)).detail;
        let want = format!("blocked 1 by pid {pid}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&want) && l.contains("mostly")),
            "{lines:?}"
        );

        // The holder commits: the waiter goes through, nobody is blocked.
        sqlx::raw_sql("COMMIT").execute(&mut holder).await.unwrap();
        waiter.await.unwrap().unwrap();
        let mut clear = false;
        drive(&mut rx, &mut state, Duration::from_secs(10), |s| {
            clear |= pg(s)
                .and_then(|p| p.detail.as_ref())
                .is_some_and(|d| d.blocked == 0 && d.blockers.is_empty());
            clear
        })
        .await;
        assert!(clear, "no blocked session after the commit");
        task.abort();
    });
    assert_eq!(server.sql("SELECT n FROM acct"), "1");
}

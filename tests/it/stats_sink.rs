//! The client-statistics sink against real, throw-away PostgreSQL clusters:
//! a retried batch is written once, totals stay exact under load across a
//! server restart, consoles share one history, a role that may not
//! create the tables gets a clear error and loses nothing, tables made by
//! an earlier build are repaired or named, and a schema named by a
//! reserved word works.

use crate::support::runtime;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::postgres::PgServer;
use heliostat::app::state::{SessionInfo, State};
use heliostat::engines::clients::BatchColumns;
use heliostat::ops::sink::sql::{flush, migrate};
use heliostat::ops::sink::{SinkCmd, SinkConfig, spawn_sink};
use heliostat::ops::warm::job::Report;
use heliostat::ops::warm::log::{WarmJobRecord, record_warm_job};
use heliostat::sample::{AccessAgg, Body, Sample, SinkReport, SourceId};
use heliostat::sources::redis::wall_now;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::mpsc;

fn batch(seq: u64, clients: &[(&str, i64)], seen: &[&str]) -> BatchColumns {
    let mut b = BatchColumns {
        seq,
        ..BatchColumns::default()
    };
    for (name, n) in clients {
        let c = &mut b.clients;
        c.client_name.push((*name).into());
        c.total_requests.push(*n);
        c.successful_requests.push(*n - 1);
        c.failed_requests.push(1);
        c.total_cached_requests.push(*n / 2);
        c.total_operations.push(*n);
        let t = &mut b.tables;
        t.client_name.push((*name).into());
        t.table_name.push("users".into());
        t.operation.push("select".into());
        t.total_operations.push(*n);
        t.error_operations.push(1);
    }
    b.last_seen = seen.iter().map(|s| (*s).to_string()).collect();
    b
}

/// `name → "requests|ok|fail|cached|ops|seen?"` as stored.
fn stored(pg: &PgServer) -> BTreeMap<String, String> {
    pg.sql(
        "SELECT client_name || '=' || total_requests || '|' || successful_requests || '|' \
         || failed_requests || '|' || total_cached_requests || '|' || total_operations || '|' \
         || (last_seen_at IS NOT NULL) FROM heliostat.client_statistics ORDER BY 1",
    )
    .lines()
    .filter_map(|l| l.split_once('='))
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[test]
fn a_batch_retried_after_a_lost_commit_reply_is_written_once() {
    let pg = PgServer::start();
    runtime().block_on(async {
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect(&pg.url())
            .await
            .unwrap();
        let other = PgPoolOptions::new()
            .max_connections(1)
            .connect(&pg.url())
            .await
            .unwrap();
        // Two consoles starting together both migrate; again is a no-op.
        let (a, b) = tokio::join!(migrate(&pool, "heliostat"), migrate(&other, "heliostat"));
        a.unwrap();
        b.unwrap();
        migrate(&pool, "heliostat").await.unwrap();

        let mut conn = pool.acquire().await.unwrap();
        let one = batch(1, &[("api", 10), ("batch", 4)], &["api", "cron"]);
        let f = flush(&mut conn, "heliostat", "console-a", &one)
            .await
            .unwrap();
        assert!(f.claimed);
        assert_eq!((f.clients, f.tables), (3, 2), "cron only seen: a zero row");
        // The same batch again, as after a lost commit reply: nothing written.
        let again = flush(&mut conn, "heliostat", "console-a", &one)
            .await
            .unwrap();
        assert!(!again.claimed);
        assert_eq!((again.clients, again.tables), (0, 0));
        let s = stored(&pg);
        assert_eq!(s["api"], "10|9|1|5|10|true");
        assert_eq!(s["batch"], "4|3|1|2|4|false");
        assert_eq!(s["cron"], "0|0|0|0|0|true");

        // Another console's number 1 is its own: added.
        let f = flush(&mut conn, "heliostat", "console-b", &one)
            .await
            .unwrap();
        assert!(f.claimed);
        let two = batch(2, &[("api", 5)], &[]);
        assert!(
            flush(&mut conn, "heliostat", "console-a", &two)
                .await
                .unwrap()
                .claimed
        );
        // An older number than the last applied is never applied.
        assert!(
            !flush(&mut conn, "heliostat", "console-a", &one)
                .await
                .unwrap()
                .claimed
        );
        let s = stored(&pg);
        assert_eq!(s["api"], "25|22|3|12|25|true");
        assert_eq!(s["batch"], "8|6|2|4|8|false");
        let tables = pg.sql(
            "SELECT client_name || ':' || total_operations || ':' || error_operations \
             FROM heliostat.client_table_statistics ORDER BY 1",
        );
        assert_eq!(tables, "api:25:3\nbatch:8:2");
    });
}

fn access(client: &str, table: &str, count: u32, errors: u32, hits: u32) -> AccessAgg {
    AccessAgg {
        client: client.into(),
        table: table.into(),
        query: None,
        op: "get".into(),
        count,
        lookups: count,
        hits,
        errors,
        saved_us: 0,
        latency_us: 0,
    }
}

/// Apply what the sink said; `true` when a read-back arrived.
fn settle(state: &mut State, rx: &mut mpsc::Receiver<Vec<Sample>>) -> bool {
    let mut read = false;
    while let Ok(batch) = rx.try_recv() {
        for s in &batch {
            read |= matches!(s.body, Body::Sink(SinkReport::Stored(_)));
            state.apply(s);
        }
    }
    read
}

#[test]
fn under_load_with_a_server_restart_the_stored_totals_are_exact() {
    // The harness turns synchronous commits off for speed, which lets a
    // crash lose acknowledged commits: not what a real sink database does.
    let mut pg = PgServer::start_with(&["synchronous_commit = on"]);
    runtime().block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        let (cmd_tx, cmd_rx) = mpsc::channel(4);
        let mut cfg = SinkConfig::new(&pg.url());
        cfg.read_every = Some(Duration::from_millis(300));
        spawn_sink(cfg, cmd_rx, tx);
        let mut state = State::new(SessionInfo::default(), 1000);
        state.sink.enabled = true;
        let mut want: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
        let mut tables: BTreeMap<String, i64> = BTreeMap::new();
        let start = tokio::time::Instant::now();
        let mut i: u32 = 0;
        let mut down = false;
        let mut restarted = false;
        while start.elapsed() < Duration::from_secs(6) {
            i += 1;
            let aggs: Vec<AccessAgg> = (0..8)
                .map(|k| {
                    let client = format!("client-{}", (i + k) % 13);
                    let table = format!("t{}", (i * 7 + k) % 5);
                    let count = 1 + (i + k) % 9;
                    let (errors, hits) = (count / 4, count / 2);
                    let w = want.entry(client.clone()).or_default();
                    w.0 += i64::from(count);
                    w.1 += i64::from(errors);
                    w.2 += i64::from(hits);
                    *tables.entry(format!("{client}/{table}")).or_default() += i64::from(count);
                    access(&client, &table, count, errors, hits)
                })
                .collect();
            let now = wall_now();
            state.apply(&Sample {
                source: SourceId(0),
                generation: 0,
                at: now,
                body: Body::Accesses(aggs),
            });
            if let Some(b) = state.flush_due(now) {
                cmd_tx.send(SinkCmd::Flush(b)).await.unwrap();
            }
            settle(&mut state, &mut rx);
            // Down from 1 s to 4.8 s while deltas keep coming (longer than
            // the pool's 3 s wait for a connection, so flushes fail).
            if !down && start.elapsed() > Duration::from_millis(1000) {
                down = true;
                pg.kill();
            }
            if !restarted && start.elapsed() > Duration::from_millis(4800) {
                restarted = true;
                pg.start_again();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Everything the clients engine saw ends up stored, once.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while state.sink_busy() && tokio::time::Instant::now() < deadline {
            if let Some(b) = state.flush_due(wall_now()) {
                cmd_tx.send(SinkCmd::Flush(b)).await.unwrap();
            }
            settle(&mut state, &mut rx);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let fs = state.clients.flush_stats();
        assert!(!state.sink_busy(), "sink still busy: {fs:?}");
        assert!(fs.batches_failed > 0, "the restart was felt: {fs:?}");
        assert!(fs.batches_ok > 4, "{fs:?}");
        let s = stored(&pg);
        assert_eq!(s.len(), want.len());
        for (name, (req, fail, cached)) in &want {
            let expect = format!("{req}|{}|{fail}|{cached}|{req}|true", req - fail);
            assert_eq!(&s[name], &expect, "{name}");
        }
        let got: BTreeMap<String, i64> = pg
            .sql(
                "SELECT client_name || '/' || table_name || '=' || total_operations \
                 FROM heliostat.client_table_statistics",
            )
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
            .collect();
        assert_eq!(got, tables);

        // The totals read back reach the Clients pane.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut shown = false;
        while !shown && tokio::time::Instant::now() < deadline {
            if settle(&mut state, &mut rx) {
                state.tick(wall_now());
                shown = state
                    .derived
                    .clients
                    .iter()
                    .all(|c| c.stored == Some(want[&c.name].0));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(shown, "{:?}", state.derived.clients);
    });
}

#[test]
fn a_role_that_may_not_create_the_tables_gets_a_clear_error_and_loses_nothing() {
    let pg = PgServer::start();
    pg.sql("CREATE ROLE writer LOGIN PASSWORD 'w'");
    runtime().block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        let (cmd_tx, cmd_rx) = mpsc::channel(4);
        let mut cfg = SinkConfig::new(&pg.url_for("writer:w", "postgres"));
        cfg.read_every = None;
        spawn_sink(cfg, cmd_rx, tx);
        let mut state = State::new(SessionInfo::default(), 1000);
        state.sink.enabled = true;
        state.apply(&Sample {
            source: SourceId(0),
            generation: 0,
            at: wall_now(),
            body: Body::Accesses(vec![access("api", "users", 7, 1, 3)]),
        });
        let b = state.take_flush(wall_now()).unwrap();
        cmd_tx.send(SinkCmd::Flush(b)).await.unwrap();
        let reply = rx.recv().await.unwrap();
        reply.iter().for_each(|s| state.apply(s));
        let err = state.clients.flush_stats().last_error.unwrap();
        assert!(
            err.contains("setting up the sink's tables") && err.contains("permission denied"),
            "{err}"
        );
        assert!(state.sink_busy(), "the deltas wait for a retry");

        // An administrator creates the tables (by running the sink once as
        // themselves) and grants the writer what it needs: the retry works.
        let admin = PgPoolOptions::new().connect(&pg.url()).await.unwrap();
        migrate(&admin, "heliostat").await.unwrap();
        pg.sql(
            "GRANT USAGE ON SCHEMA heliostat TO writer; \
             GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA heliostat TO writer",
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while state.sink_busy() && tokio::time::Instant::now() < deadline {
            if let Some(b) = state.flush_due(wall_now()) {
                cmd_tx.send(SinkCmd::Flush(b)).await.unwrap();
            }
            settle(&mut state, &mut rx);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!state.sink_busy(), "{:?}", state.clients.flush_stats());
        assert_eq!(stored(&pg)["api"], "7|6|1|3|7|true");
    });
}

/// Send `state`'s pending batch and apply the answer.
async fn flush_pending(
    state: &mut State,
    cmd_tx: &mpsc::Sender<SinkCmd>,
    rx: &mut mpsc::Receiver<Vec<Sample>>,
) {
    let b = state.take_flush(wall_now()).unwrap();
    cmd_tx.send(SinkCmd::Flush(b)).await.unwrap();
    let reply = rx.recv().await.unwrap();
    reply.iter().for_each(|s| state.apply(s));
}

fn warm_record(job: u64) -> WarmJobRecord {
    WarmJobRecord {
        sink_id: "console-a".into(),
        job,
        context: Some("staging".into()),
        rule: "users".into(),
        started_ms: 1_700_000_000_000,
        report: Report::default(),
        outcome: "done".into(),
        reason: None,
    }
}

#[test]
fn tables_made_by_an_earlier_build_are_repaired_or_named() {
    let pg = PgServer::start();
    // As an earlier build left them: warm_jobs with its retired NOT NULL
    // column, client_statistics before last_seen_at; written by a role
    // that may not alter them.
    pg.sql("CREATE ROLE writer LOGIN PASSWORD 'w'");
    runtime().block_on(async {
        let admin = PgPoolOptions::new().connect(&pg.url()).await.unwrap();
        migrate(&admin, "heliostat").await.unwrap();
        pg.sql(
            "ALTER TABLE heliostat.warm_jobs ADD COLUMN overwritten bigint NOT NULL; \
             ALTER TABLE heliostat.client_statistics DROP COLUMN last_seen_at; \
             GRANT USAGE ON SCHEMA heliostat TO writer; \
             GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA heliostat TO writer; \
             GRANT USAGE ON ALL SEQUENCES IN SCHEMA heliostat TO writer",
        );
        let (tx, mut rx) = mpsc::channel(64);
        let (cmd_tx, cmd_rx) = mpsc::channel(4);
        let mut cfg = SinkConfig::new(&pg.url_for("writer:w", "postgres"));
        cfg.read_every = None;
        spawn_sink(cfg, cmd_rx, tx);
        let mut state = State::new(SessionInfo::default(), 1000);
        state.sink.enabled = true;
        state.apply(&Sample {
            source: SourceId(0),
            generation: 0,
            at: wall_now(),
            body: Body::Accesses(vec![access("api", "users", 7, 1, 3)]),
        });
        // The writer may not repair them: the error (the Clients pane's
        // "sink failing") names both columns and what an owner must run.
        flush_pending(&mut state, &cmd_tx, &mut rx).await;
        let err = state.clients.flush_stats().last_error.unwrap();
        for want in [
            "setting up the sink's tables",
            "heliostat.client_statistics lacks column last_seen_at",
            "heliostat.warm_jobs.overwritten is NOT NULL without a default",
            "must be owner",
            "ALTER TABLE \"heliostat\".warm_jobs ALTER COLUMN overwritten DROP NOT NULL",
        ] {
            assert!(err.contains(want), "{want}: {err}");
        }
        assert!(state.sink_busy(), "the deltas wait for a retry");
        let e = record_warm_job(
            &pg.url_for("writer:w", "postgres"),
            "heliostat",
            &warm_record(1),
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind(), heliostat::fault::Kind::Config, "{e}");
        assert!(e.to_string().contains("overwritten"), "{e}");

        // The owner's start repairs both; the writer's retry then works,
        // and so does recording a warm job.
        migrate(&admin, "heliostat").await.unwrap();
        assert_eq!(
            pg.sql(
                "SELECT column_name || ':' || is_nullable FROM information_schema.columns \
                 WHERE table_schema = 'heliostat' \
                 AND column_name IN ('overwritten', 'last_seen_at') ORDER BY 1"
            ),
            "last_seen_at:YES\noverwritten:YES"
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while state.sink_busy() && tokio::time::Instant::now() < deadline {
            if let Some(b) = state.flush_due(wall_now()) {
                cmd_tx.send(SinkCmd::Flush(b)).await.unwrap();
            }
            settle(&mut state, &mut rx);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!state.sink_busy(), "{:?}", state.clients.flush_stats());
        assert_eq!(stored(&pg)["api"], "7|6|1|3|7|true");
        record_warm_job(
            &pg.url_for("writer:w", "postgres"),
            "heliostat",
            &warm_record(2),
        )
        .await
        .unwrap();
        assert_eq!(pg.sql("SELECT job FROM heliostat.warm_jobs"), "2");

        // What cannot be repaired is named, even for the owner.
        pg.sql(
            "ALTER TABLE heliostat.client_table_statistics ADD COLUMN region text NOT NULL DEFAULT 'eu'; \
             ALTER TABLE heliostat.client_table_statistics ALTER COLUMN region DROP DEFAULT; \
             ALTER TABLE heliostat.heliostat_sink_batches DROP COLUMN last_seq",
        );
        let e = migrate(&admin, "heliostat").await.unwrap_err().to_string();
        for want in [
            "heliostat.heliostat_sink_batches lacks column last_seq",
            "heliostat.client_table_statistics.region is NOT NULL without a default",
        ] {
            assert!(e.contains(want), "{want}: {e}");
        }
    });
}

#[test]
fn a_schema_named_by_a_reserved_word_works_end_to_end() {
    let pg = PgServer::start();
    runtime().block_on(async {
        let (tx, mut rx) = mpsc::channel(64);
        let (cmd_tx, cmd_rx) = mpsc::channel(4);
        let mut cfg = SinkConfig::new(&pg.url());
        cfg.schema = "user".into();
        cfg.read_every = Some(Duration::from_millis(200));
        spawn_sink(cfg, cmd_rx, tx);
        let mut state = State::new(SessionInfo::default(), 1000);
        state.sink.enabled = true;
        state.apply(&Sample {
            source: SourceId(0),
            generation: 0,
            at: wall_now(),
            body: Body::Accesses(vec![access("api", "users", 5, 0, 2)]),
        });
        flush_pending(&mut state, &cmd_tx, &mut rx).await;
        assert!(
            !state.sink_busy(),
            "{:?}",
            state.clients.flush_stats().last_error
        );
        // The totals are read back from "user".client_statistics.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !settle(&mut state, &mut rx) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            state.sink.read_error.is_none(),
            "{:?}",
            state.sink.read_error
        );
        assert_eq!(state.sink.stored.len(), 1);
        record_warm_job(&pg.url(), "user", &warm_record(1))
            .await
            .unwrap();
    });
    assert_eq!(
        pg.sql("SELECT client_name || ':' || total_requests FROM \"user\".client_statistics"),
        "api:5"
    );
    assert_eq!(pg.sql("SELECT rule FROM \"user\".warm_jobs"), "users");
}

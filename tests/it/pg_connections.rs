//! How heliostat's warm executor and stats sink connect to PostgreSQL,
//! against real throw-away servers: through a real PgBouncer (which refuses
//! sqlx's default `extra_float_digits` startup parameter, and in
//! transaction pooling hands one server connection to several clients),
//! and with errors that name why a connection cannot be made.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::support::postgres::{PgBouncer, PgServer};
use crate::support::{RedisServer, runtime};
use heliostat::engines::clients::BatchColumns;
use heliostat::ops::sink::{SinkCmd, SinkConfig, spawn_sink};
use heliostat::ops::warm::job::{Report, run};
use heliostat::ops::warm::log::{WarmJobRecord, record_warm_job};
use heliostat::ops::warm::pattern::KeyPattern;
use heliostat::ops::warm::pg::PgRows;
use heliostat::ops::warm::rules::{Rule, RuleSpec};
use heliostat::ops::warm::target::Target;
use heliostat::ops::warm::write::Mode;
use heliostat::sample::{Body, FlushOutcome, SinkReport};
use sqlx::postgres::PgPoolOptions;
use tokio::sync::mpsc;

fn users_rule(redis: &str) -> Rule {
    Rule::from_spec(RuleSpec {
        name: "users".into(),
        key: "user:${id}".into(),
        redis: redis.into(),
        postgres: "postgres://x@127.0.0.1/x".into(),
        query:
            "SELECT id::text AS id, payload AS value FROM users WHERE id = ANY($1::text[]::int[])"
                .into(),
        hot_keys_query: None,
        ttl: Some(600),
        ttl_column: None,
        ttl_jitter: Some(0.1),
        mode: Mode::Fill,
        max_keys_per_s: Some(0),
        batch: Some(200),
        contexts: Vec::new(),
    })
    .unwrap()
}

fn with_users(pg: &PgServer) {
    pg.sql(
        "CREATE TABLE users (id int PRIMARY KEY, payload text); \
         INSERT INTO users SELECT g, 'p' || g FROM generate_series(1, 1000) g;",
    );
}

fn keys(from: u32, to: u32) -> Vec<String> {
    (from..=to).map(|i| format!("user:{i}")).collect()
}

async fn warm(url: &str, rule: &Rule, redis: &str, keys: &[String]) -> Report {
    let mut rows = PgRows::connect(url).await.unwrap();
    let mut target = Target::open(redis).await.unwrap();
    run(
        rule,
        keys,
        &mut rows,
        &mut target,
        &Arc::new(AtomicBool::new(false)),
        |_| {},
    )
    .await
}

/// The one column of a one-row query, read through `rows`.
async fn one(rows: &PgRows, sql: &str) -> String {
    let p = KeyPattern::parse("${v}").unwrap();
    rows.keys(sql, &p).await.unwrap().concat()
}

fn batch(seq: u64) -> BatchColumns {
    let mut b = BatchColumns {
        seq,
        ..BatchColumns::default()
    };
    let c = &mut b.clients;
    c.client_name.push("api".into());
    for col in [
        &mut c.total_requests,
        &mut c.successful_requests,
        &mut c.total_operations,
    ] {
        col.push(4);
    }
    c.failed_requests.push(0);
    c.total_cached_requests.push(1);
    b
}

/// Flush one batch through a sink on `url` and return its outcome.
async fn flush_once(url: &str, schema: &str) -> FlushOutcome {
    let (tx, mut rx) = mpsc::channel(16);
    let (cmd_tx, cmd_rx) = mpsc::channel(4);
    let mut cfg = SinkConfig::new(url);
    cfg.schema = schema.into();
    cfg.read_every = None;
    spawn_sink(cfg, cmd_rx, tx);
    cmd_tx.send(SinkCmd::Flush(batch(1))).await.unwrap();
    loop {
        let samples = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("the sink answers")
            .expect("the sink runs");
        for s in samples {
            if let Body::Sink(SinkReport::Flushed { outcome, .. }) = s.body {
                return outcome;
            }
        }
    }
}

#[test]
fn warm_jobs_and_the_sink_work_through_pgbouncer() {
    let pg = PgServer::start();
    with_users(&pg);
    let bouncer = PgBouncer::start(&pg);
    let redis = RedisServer::start();
    let rule = users_rule(&redis.url());
    runtime().block_on(async {
        // The harness is a PgBouncer as deployed: sqlx's defaults are refused.
        let plain = PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(3))
            .connect(&bouncer.url("tx"))
            .await;
        let e = plain.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("extra_float_digits"), "{e}");

        // Two jobs at once in transaction pooling, sharing its one server
        // connection: named statements of the two clients would collide.
        let (url, target) = (bouncer.url("tx"), redis.url());
        let (first, second) = (keys(1, 500), keys(501, 1000));
        let (a, b) = tokio::join!(
            warm(&url, &rule, &target, &first),
            warm(&url, &rule, &target, &second),
        );
        for r in [&a, &b] {
            assert!(
                !r.failed() && r.written.written == 500,
                "{r:?}\n{}",
                bouncer.log()
            );
        }
        // Nothing prepared is left on the server connection.
        let rows = PgRows::connect(&url).await.unwrap();
        let left = one(
            &rows,
            "SELECT count(*)::text AS v FROM pg_prepared_statements",
        )
        .await;
        assert_eq!(left, "0");
        let app = one(&rows, "SELECT current_setting('application_name') AS v").await;
        assert_eq!(app, "heliostat-warm");

        // The sink keeps its flush prepared: session pooling (transaction
        // pooling needs max_prepared_statements, PgBouncer ≥ 1.21).
        let outcome = flush_once(&bouncer.url("session"), "heliostat").await;
        assert_eq!(outcome, FlushOutcome::Written, "{}", bouncer.log());
        let rec = WarmJobRecord {
            sink_id: "console-a".into(),
            job: 1,
            context: None,
            rule: "users".into(),
            started_ms: 1_700_000_000_000,
            report: a.clone(),
            outcome: "done".into(),
            reason: None,
        };
        record_warm_job(&bouncer.url("session"), "heliostat", &rec)
            .await
            .unwrap();
    });
    assert_eq!(
        pg.sql("SELECT total_requests FROM heliostat.client_statistics WHERE client_name = 'api'"),
        "4"
    );
    assert_eq!(
        pg.sql("SELECT written FROM heliostat.warm_jobs WHERE sink_id = 'console-a'"),
        "500"
    );
}

#[test]
fn warm_and_sink_connection_errors_name_their_cause() {
    let mut pg = PgServer::start();
    with_users(&pg);
    pg.sql("CREATE ROLE app LOGIN PASSWORD 'right'; GRANT SELECT ON users TO app");
    let redis = RedisServer::start();
    let rule = users_rule(&redis.url());
    runtime().block_on(async {
        // A failed login.
        let e = PgRows::connect(&pg.url_for("app:hunter2", "postgres"))
            .await
            .err()
            .unwrap();
        assert_eq!(e.kind(), heliostat::fault::Kind::Auth, "{e}");
        let e = e.to_string();
        assert!(
            e.contains("authentication failed") && !e.contains("hunter2"),
            "{e}"
        );
        let ok = PgRows::connect(&pg.url_for("app:right", "postgres"))
            .await
            .unwrap();
        assert_eq!(one(&ok, "SELECT current_user::text AS v").await, "app");

        // A job whose server went away after it connected.
        let mut rows = PgRows::connect(&pg.url()).await.unwrap();
        let mut target = Target::open(&redis.url()).await.unwrap();
        let cancel = Arc::new(AtomicBool::new(false));
        let r = run(&rule, &keys(1, 10), &mut rows, &mut target, &cancel, |_| {}).await;
        assert!(!r.failed(), "{r:?}");
        pg.kill();
        let r = run(
            &rule,
            &keys(11, 20),
            &mut rows,
            &mut target,
            &cancel,
            |_| {},
        )
        .await;
        let first = r.reason().unwrap_or_default();
        assert!(
            r.query_errors > 0 && first.contains("connection refused"),
            "{r:?}"
        );

        // A server that is not there at all: the warm executor and the sink.
        let e = PgRows::connect(&pg.url()).await.err().unwrap();
        assert_eq!(e.kind(), heliostat::fault::Kind::Refused, "{e}");
        assert!(e.to_string().contains("connection refused"), "{e}");
        match flush_once(&pg.url(), "heliostat").await {
            FlushOutcome::Failed(e) => assert!(e.contains("connection refused"), "{e}"),
            other => panic!("{other:?}"),
        }
    });
}

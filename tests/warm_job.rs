//! The warm executor against a real, throw-away `redis-server`, with rows
//! from an in-memory table standing in for the database side (the Postgres
//! side has its own tests): values and TTLs, idempotence, missing rows,
//! cancellation within one batch, the rate limit, the memory guard.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use heliostat::ops::warm::job::{Report, Row, Rows, run};
use heliostat::ops::warm::rules::{Rule, RuleSpec};
use heliostat::ops::warm::target::Target;
use heliostat::ops::warm::write::Mode;
use support::RedisServer;

/// `id → payload`, answering the rule's query the way Postgres would.
struct Table(HashMap<String, String>);

impl Rows for Table {
    async fn fetch(&mut self, _rule: &Rule, values: &[String]) -> Result<Vec<Row>, String> {
        Ok(values
            .iter()
            .filter_map(|v| {
                self.0.get(v).map(|payload| Row {
                    columns: [("id".to_string(), v.clone())].into_iter().collect(),
                    value: payload.as_bytes().to_vec(),
                })
            })
            .collect())
    }
}

fn rule(batch: usize, rate: u64) -> Rule {
    rule_for("{user}:${id}", batch, rate)
}

fn rule_for(pattern: &str, batch: usize, rate: u64) -> Rule {
    Rule::from_spec(RuleSpec {
        name: "users".into(),
        key: pattern.into(),
        redis: "redis://127.0.0.1:1".into(),
        postgres: "postgres://x@127.0.0.1/x".into(),
        query: "SELECT id, payload AS value FROM users WHERE id = ANY($1)".into(),
        hot_keys_query: None,
        ttl: Some(600),
        ttl_column: None,
        ttl_jitter: Some(0.1),
        mode: Mode::Fill,
        max_keys_per_s: Some(rate),
        batch: Some(batch),
    })
    .unwrap()
}

fn table(n: usize) -> Table {
    Table(
        (0..n)
            .map(|i| (i.to_string(), format!("payload-{i}")))
            .collect(),
    )
}

fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{{user}}:{i}")).collect()
}

fn warm(
    server: &RedisServer,
    rule: &Rule,
    keys: &[String],
    rows: &mut Table,
    cancel_after: Option<usize>,
) -> (Report, usize) {
    warm_url(&server.url(), rule, keys, rows, cancel_after)
}

fn warm_url(
    url: &str,
    rule: &Rule,
    keys: &[String],
    rows: &mut Table,
    cancel_after: Option<usize>,
) -> (Report, usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conn = Target::open(url).await.unwrap();
        let cancel = Arc::new(AtomicBool::new(false));
        let mut calls = 0;
        let report = run(rule, keys, rows, &mut conn, &cancel, |_| {
            calls += 1;
            if cancel_after == Some(calls) {
                cancel.store(true, Ordering::Relaxed);
            }
        })
        .await;
        (report, calls)
    })
}

#[test]
fn ten_thousand_keys_get_their_values_and_ttls_and_a_rerun_changes_nothing() {
    let server = RedisServer::start();
    let rule = rule(1000, 0);
    let mut rows = table(10_000);
    let mut ks = keys(10_000);
    ks.push("{user}:missing".into());
    ks.push("order:1".into());
    let (r, _) = warm(&server, &rule, &ks, &mut rows, None);
    assert_eq!(r.written.written, 10_000, "{r:?}");
    assert_eq!((r.no_row, r.no_rule), (1, 1));
    assert!(!r.failed());
    let mut c = server.client();
    let v: String = redis::cmd("GET").arg("{user}:4242").query(&mut c).unwrap();
    assert_eq!(v, "payload-4242");
    for i in (0..10_000).step_by(97) {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(format!("{{user}}:{i}"))
            .query(&mut c)
            .unwrap();
        assert!(
            (539_000..=660_000).contains(&ttl),
            "ttl {ttl} within ±10 % of 600 s"
        );
    }
    let (again, _) = warm(&server, &rule, &ks, &mut rows, None);
    assert_eq!((again.written.written, again.written.existed), (0, 10_000));
}

#[test]
fn a_cancel_stops_within_one_batch() {
    let server = RedisServer::start();
    let (r, _) = warm(
        &server,
        &rule(100, 0),
        &keys(5_000),
        &mut table(5_000),
        Some(2),
    );
    assert!(r.cancelled);
    assert_eq!(
        r.done(),
        200,
        "stopped right after the batch that saw the cancel"
    );
}

#[test]
fn the_rate_limit_holds_within_ten_percent() {
    let server = RedisServer::start();
    let started = Instant::now();
    let (r, _) = warm(
        &server,
        &rule(100, 5_000),
        &keys(3_000),
        &mut table(3_000),
        None,
    );
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(r.written.written, 3_000);
    // The first batch goes at once; the other 2 900 keys are paced.
    let rate = 2_900.0 / secs;
    assert!((4_500.0..=5_500.0).contains(&rate), "{rate:.0} keys/s");
}

#[test]
fn a_nearly_full_target_pauses_the_job_with_the_reason() {
    let server =
        RedisServer::start_with(&["--maxmemory", "3mb", "--maxmemory-policy", "noeviction"]);
    let big: HashMap<String, String> = (0..400)
        .map(|i| (i.to_string(), "x".repeat(16 * 1024)))
        .collect();
    let (r, _) = warm(&server, &rule(20, 0), &keys(400), &mut Table(big), None);
    let why = r.paused.clone().unwrap_or_default();
    assert!(why.contains("90 %"), "{r:?}");
    assert!(r.failed());
    assert!(r.written.written > 0 && r.done() < 400);
}

#[test]
fn a_cluster_gets_each_key_on_its_slot_owner_and_a_hash_tag_keeps_them_together() {
    let cluster = support::cluster::Cluster::start(3);
    let url = cluster.nodes[0].url();
    let spread: Vec<String> = (0..3_000).map(|i| format!("user:{i}")).collect();
    let (r, _) = warm_url(
        &url,
        &rule_for("user:${id}", 500, 0),
        &spread,
        &mut table(3_000),
        None,
    );
    assert_eq!(r.written.written, 3_000, "{r:?}");
    let sizes = |c: &support::cluster::Cluster| -> Vec<i64> {
        c.nodes
            .iter()
            .map(|n| redis::cmd("DBSIZE").query(&mut n.client()).unwrap())
            .collect()
    };
    let s = sizes(&cluster);
    assert_eq!(s.iter().sum::<i64>(), 3_000);
    assert!(
        s.iter().all(|&n| n > 500),
        "spread over the three primaries: {s:?}"
    );
    // With a literal hash tag every key lands in one slot, on one node.
    let tagged = keys(1_000);
    let (r, _) = warm_url(&url, &rule(500, 0), &tagged, &mut table(1_000), None);
    assert_eq!(r.written.written, 1_000, "{r:?}");
    let after = sizes(&cluster);
    let grown: Vec<i64> = after.iter().zip(&s).map(|(a, b)| a - b).collect();
    assert_eq!(
        grown.iter().filter(|&&g| g == 1_000).count(),
        1,
        "{grown:?}"
    );
    assert_eq!(grown.iter().sum::<i64>(), 1_000);
}

#[test]
fn rows_come_from_postgres_with_the_keys_bound_as_a_parameter() {
    use heliostat::ops::warm::pg::PgRows;
    let pg = support::postgres::PgServer::start();
    pg.sql(
        "CREATE TABLE users (id int PRIMARY KEY, payload text); \
         INSERT INTO users SELECT g, 'p' || g FROM generate_series(1, 2000) g;",
    );
    let redis = RedisServer::start();
    let mut rule = rule_for("user:${id}", 500, 0);
    rule.query =
        "SELECT id::text AS id, payload AS value FROM users WHERE id::text = ANY($1::text[])"
            .into();
    let mut ks: Vec<String> = (1..=2000).map(|i| format!("user:{i}")).collect();
    ks.push("user:9999".into());
    ks.push("user:1'); DROP TABLE users;--".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(async {
        let mut rows = PgRows::connect(&pg.url()).await.unwrap();
        let mut target = Target::open(&redis.url()).await.unwrap();
        let cancel = Arc::new(AtomicBool::new(false));
        run(&rule, &ks, &mut rows, &mut target, &cancel, |_| {}).await
    });
    assert_eq!(report.written.written, 2000, "{report:?}");
    assert_eq!(
        report.no_row, 2,
        "a missing id and SQL-looking key text are just no row"
    );
    let v: String = redis::cmd("GET")
        .arg("user:1234")
        .query(&mut redis.client())
        .unwrap();
    assert_eq!(v, "p1234");
    assert_eq!(
        pg.sql("SELECT count(*) FROM users").trim(),
        "2000",
        "the table is intact"
    );
}

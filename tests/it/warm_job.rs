//! The warm executor against a real, throw-away `redis-server`, with rows
//! from an in-memory table standing in for the database side (the Postgres
//! side has its own tests): values and TTLs, idempotence, missing rows,
//! cancellation within one batch, the rate limit, the memory guard, a
//! cluster (slot owners, a slot migrating mid-job: `ASK`; a slot moved:
//! `MOVED`), a Redis restart mid-job; a query without a `value` column,
//! NULL values, TTL columns of every numeric type and unusable TTLs, keys
//! given twice, a cancel during the rate limit's wait, the first second
//! of a limited job, a replica (`READONLY`) and a user without `SET`
//! (`NOPERM`) ending the job after one batch.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::support;
use crate::support::RedisServer;
use heliostat::ops::warm::job::{FetchError, Report, Row, Rows, run};
use heliostat::ops::warm::rules::{Rule, RuleSpec};
use heliostat::ops::warm::target::Target;
use heliostat::ops::warm::write::Mode;

/// `id → payload`, answering the rule's query the way Postgres would.
struct Table(HashMap<String, String>);

impl Rows for Table {
    async fn fetch(&mut self, _rule: &Rule, values: &[String]) -> Result<Vec<Row>, FetchError> {
        Ok(values
            .iter()
            .filter_map(|v| {
                self.0.get(v).map(|payload| Row {
                    columns: vec![("id".into(), v.clone())],
                    value: Some(payload.as_bytes().to_vec()),
                })
            })
            .collect())
    }
}

fn rule(batch: usize, rate: u64) -> Rule {
    rule_for("{user}:${id}", batch, rate)
}

fn rule_for(pattern: &str, batch: usize, rate: u64) -> Rule {
    Rule::from_spec(rule_spec(pattern, batch, rate)).unwrap()
}

fn rule_spec(pattern: &str, batch: usize, rate: u64) -> RuleSpec {
    RuleSpec {
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
        contexts: Vec::new(),
    }
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
fn a_target_whose_latency_degrades_pauses_the_job() {
    let server = RedisServer::start();
    let go = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let busy = {
        let (url, go, stop) = (server.url(), go.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            while !go.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            // Scripts of ~100 ms each: the server answers nothing else meanwhile.
            let script = "local i = 0 while i < 5000000 do i = i + 1 end return i";
            while !stop.load(Ordering::Relaxed) {
                let _: i64 = redis::cmd("EVAL").arg(script).arg(0).query(&mut c).unwrap();
            }
        })
    };
    // 50 batches of 20 at 1000 keys/s; the server gets busy after the 2nd.
    let report = warm_with(
        &server.url(),
        &rule(20, 1000),
        &keys(1000),
        &mut table(1000),
        |n| {
            if n == 2 {
                go.store(true, Ordering::Relaxed);
            }
        },
    );
    stop.store(true, Ordering::Relaxed);
    busy.join().unwrap();
    let why = report.paused.clone().unwrap_or_default();
    assert!(why.contains("latency degraded"), "{report:?}");
    assert!(report.failed() && report.done() < 1000, "{report:?}");
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

/// Rows for keys made by the pattern `${id}` (the key is its own id):
/// `prefix` + the key as each value.
fn keyed_table(keys: &[String], prefix: &str) -> Table {
    Table(
        keys.iter()
            .map(|k| (k.clone(), format!("{prefix}{k}")))
            .collect(),
    )
}

/// Run `rule` against `url` with `on_batch(n)` called after the n-th batch
/// (between batches, while the job waits); the job must end within 60 s.
fn warm_with(
    url: &str,
    rule: &Rule,
    keys: &[String],
    rows: &mut impl Rows,
    mut on_batch: impl FnMut(usize),
) -> Report {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut target = Target::open(url).await.unwrap();
        let cancel = Arc::new(AtomicBool::new(false));
        let mut calls = 0;
        let job = run(rule, keys, rows, &mut target, &cancel, |_| {
            calls += 1;
            on_batch(calls);
        });
        tokio::time::timeout(std::time::Duration::from_secs(60), job)
            .await
            .expect("the job ends (no hang)")
    })
}

/// 1000 keys in the slot of the hash tag `{m}` and 1000 spread over all
/// slots, interleaved so every batch has both.
fn tagged_and_spread() -> (Vec<String>, Vec<String>) {
    let tagged: Vec<String> = (0..1000).map(|i| format!("{{m}}:{i}")).collect();
    let all = tagged
        .iter()
        .enumerate()
        .flat_map(|(i, t)| [t.clone(), format!("s:{i}")])
        .collect();
    (tagged, all)
}

/// `GET key` on node `i` of `cluster`, after `ASKING` (so an importing
/// node answers for its keys too).
fn get_on(cluster: &support::cluster::Cluster, i: usize, key: &str) -> Option<String> {
    let mut c = cluster.nodes[i].client();
    let (v,): (Option<String>,) = redis::pipe()
        .cmd("ASKING")
        .ignore()
        .cmd("GET")
        .arg(key)
        .query(&mut c)
        .unwrap();
    v
}

fn set_of(keys: &[String]) -> std::collections::BTreeSet<String> {
    keys.iter().cloned().collect()
}

#[test]
fn keys_of_a_slot_migrating_mid_job_go_with_asking_to_the_importing_node() {
    use heliostat::ops::warm::slot::key_slot;
    let cluster = support::cluster::Cluster::start(3);
    let slot = key_slot(b"m");
    let src = cluster.owner_of(slot);
    let dst = (src + 1) % 3;
    let (tagged, all) = tagged_and_spread();
    // Cached before the job, on the source: 200 keys of later batches.
    let old = &tagged[600..800];
    for k in old {
        let _: () = cluster.nodes[src].cmd(&["SET", k, "old"]).unwrap();
    }
    let mut rows = keyed_table(&all, "v-");
    // 20 batches of 100 (50 of the slot each). After the 4th, the slot
    // starts migrating, and keys written before (0..100) and cached ones
    // (600..700) move to the importing node.
    let report = warm_with(
        &cluster.nodes[0].url(),
        &rule_for("${id}", 100, 0),
        &all,
        &mut rows,
        |n| {
            if n == 4 {
                cluster.begin_migration(slot, src, dst);
                cluster.migrate_keys(src, dst, &tagged[0..100]);
                cluster.migrate_keys(src, dst, &tagged[600..700]);
            }
        },
    );
    assert!(!report.failed(), "{report:?}");
    assert_eq!(report.written.errors, 0, "{report:?}");
    assert_eq!(
        (report.written.written, report.written.existed),
        (1_800, 200),
        "{report:?}"
    );
    // Every key of the slot is on exactly one node: the source keeps what
    // it had (written before the migration, cached and not moved), all
    // the rest is on the importing node.
    let on_src = set_of(&cluster.keys_in_slot(src, slot));
    let on_dst = set_of(&cluster.keys_in_slot(dst, slot));
    let expect_src = set_of(&[&tagged[100..200], &tagged[700..800]].concat());
    assert_eq!(on_src, expect_src);
    assert_eq!(on_dst.len(), 800);
    assert!(on_dst.is_disjoint(&on_src));
    assert_eq!(
        on_src.union(&on_dst).count(),
        1_000,
        "no key of the slot is missing"
    );
    for (i, k) in tagged.iter().enumerate() {
        let node = if on_src.contains(k) { src } else { dst };
        let want = if (600..800).contains(&i) {
            "old".to_string()
        } else {
            format!("v-{k}")
        };
        assert_eq!(
            get_on(&cluster, node, k).as_deref(),
            Some(want.as_str()),
            "{k}"
        );
    }
    // The keys of other slots are on their slots' owners.
    let sizes: i64 = cluster
        .nodes
        .iter()
        .map(|n| redis::cmd("DBSIZE").query::<i64>(&mut n.client()).unwrap())
        .sum();
    assert_eq!(sizes, 2_000, "every key once, nothing else");
    for k in all.iter().filter(|k| k.starts_with("s:")) {
        let owner = cluster.owner_of(key_slot(k.as_bytes()));
        assert_eq!(get_on(&cluster, owner, k), Some(format!("v-{k}")), "{k}");
    }
}

#[test]
fn a_slot_moved_after_the_target_read_its_map_is_followed_to_its_new_owner() {
    use heliostat::ops::warm::slot::key_slot;
    let cluster = support::cluster::Cluster::start(3);
    let slot = key_slot(b"m");
    let src = cluster.owner_of(slot);
    let dst = (src + 2) % 3;
    let (tagged, all) = tagged_and_spread();
    for k in &tagged[600..800] {
        let _: () = cluster.nodes[src].cmd(&["SET", k, "old"]).unwrap();
    }
    let mut rows = keyed_table(&all, "v-");
    // After the 4th batch the slot moves, with its keys, for good: the
    // target's map is stale, every later key of the slot gets `MOVED`.
    let report = warm_with(
        &cluster.nodes[src].url(),
        &rule_for("${id}", 100, 0),
        &all,
        &mut rows,
        |n| {
            if n == 4 {
                cluster.move_slot(slot, src, dst);
            }
        },
    );
    assert!(!report.failed(), "{report:?}");
    assert_eq!(
        (
            report.written.written,
            report.written.existed,
            report.written.errors
        ),
        (1_800, 200, 0),
        "{report:?}"
    );
    assert_eq!(cluster.owner_of(slot), dst);
    assert!(cluster.keys_in_slot(src, slot).is_empty());
    assert_eq!(set_of(&cluster.keys_in_slot(dst, slot)), set_of(&tagged));
    for (i, k) in tagged.iter().enumerate() {
        let want = if (600..800).contains(&i) {
            "old".to_string()
        } else {
            format!("v-{k}")
        };
        assert_eq!(
            get_on(&cluster, dst, k).as_deref(),
            Some(want.as_str()),
            "{k}"
        );
    }
}

/// Rows that restart the Redis server while the `at`-th query runs (the
/// job selects a batch while it writes the one before: some write meets a
/// connection that is gone).
struct RestartDuring<'a> {
    table: Table,
    server: &'a mut RedisServer,
    at: usize,
    calls: usize,
}

impl Rows for RestartDuring<'_> {
    async fn fetch(&mut self, rule: &Rule, values: &[String]) -> Result<Vec<Row>, FetchError> {
        self.calls += 1;
        if self.calls == self.at {
            self.server.restart();
        }
        self.table.fetch(rule, values).await
    }
}

#[test]
fn a_redis_restart_mid_job_fails_the_job_and_a_second_run_fills_only_the_rest() {
    // An append-only file written before each reply: what the first run
    // wrote survives the restart (a SIGKILL, as a crash).
    let mut server = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let url = server.url();
    let rule = rule(100, 0);
    let ks = keys(3_000);
    let mut rows = RestartDuring {
        table: table(3_000),
        server: &mut server,
        at: 6,
        calls: 0,
    };
    let first = warm_with(&url, &rule, &ks, &mut rows, |_| {});
    assert!(first.failed(), "{first:?}");
    assert_eq!(first.redis_errors, 1, "{first:?}");
    assert!(
        first
            .reason()
            .unwrap_or_default()
            .starts_with("rule `users`: redis: "),
        "{first:?}"
    );
    let done = first.written.written;
    assert!(
        (100..=2_900).contains(&done) && done % 100 == 0,
        "whole batches before the restart, then the job stopped: {first:?}"
    );
    assert_eq!(first.done(), done, "nothing counted for the lost batch");
    let server = rows.server;
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    while !server.info("persistence").contains("loading:0") {
        assert!(
            Instant::now() < deadline,
            "the restarted server loads its file"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let kept: i64 = server.cmd(&["DBSIZE"]).unwrap();
    assert_eq!(kept as u64, done, "what was acknowledged survived, no more");
    // The database changed meanwhile: a fill run must not rewrite what is there.
    let mut newer = Table(
        (0..3_000)
            .map(|i| (i.to_string(), format!("newer-{i}")))
            .collect(),
    );
    let second = warm_with(&url, &rule, &ks, &mut newer, |_| {});
    assert!(!second.failed(), "{second:?}");
    assert_eq!(
        (second.written.written, second.written.existed),
        (3_000 - done, done),
        "{second:?}"
    );
    let mut c = server.client();
    for i in (0..3_000).step_by(7).chain([done - 1, done, 2_999]) {
        let v: String = redis::cmd("GET")
            .arg(format!("{{user}}:{i}"))
            .query(&mut c)
            .unwrap();
        let want = if i < done {
            format!("payload-{i}")
        } else {
            format!("newer-{i}")
        };
        assert_eq!(v, want, "key {i}");
    }
}

#[test]
fn hot_keys_and_values_are_read_from_postgres_column_types() {
    use heliostat::ops::warm::pg::PgRows;
    let pg = support::postgres::PgServer::start();
    pg.sql(
        "CREATE TABLE users (id int PRIMARY KEY, big bigint, payload text); \
         INSERT INTO users SELECT g, g * 10000000000, 'p' || g FROM generate_series(1, 50) g;",
    );
    let mut rule = rule_for("user:${id}", 500, 0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut rows = PgRows::connect(&pg.url()).await.unwrap();
        // Integer columns need no cast; rows are rendered as they arrive.
        let hot = rows
            .keys("SELECT id FROM users WHERE id <= 3 ORDER BY id", &rule.key)
            .await
            .unwrap();
        assert_eq!(hot, ["user:1", "user:2", "user:3"]);
        let big = rows
            .keys("SELECT big AS id FROM users WHERE id = 2", &rule.key)
            .await
            .unwrap();
        assert_eq!(big, ["user:20000000000"]);
        let err = |q: &'static str| {
            let rows = rows.clone();
            let key = rule.key.clone();
            async move { rows.keys(q, &key).await.unwrap_err().to_string() }
        };
        assert!(
            err("SELECT 1 AS other")
                .await
                .contains("lack the pattern's columns")
        );
        assert!(err("SELECT NULL::text AS id").await.contains("NULL"));
        assert!(err("SELECT now() AS id").await.contains("(id::text)"));
        // Streamed in chunks as the rows arrive; a failure after the keys
        // before it.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        rows.send_keys(
            "SELECT id FROM (VALUES (1), (2), (3), (NULL)) v(id)",
            &rule.key,
            2,
            &tx,
        )
        .await;
        drop(tx);
        let mut sent = Vec::new();
        while let Some(m) = rx.recv().await {
            sent.push(m);
        }
        let k = |v: &[&str]| Ok(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(sent.len(), 3, "{sent:?}");
        assert_eq!(sent[0], k(&["user:1", "user:2"]));
        assert_eq!(sent[1], k(&["user:3"]));
        assert!(
            sent[2]
                .as_ref()
                .is_err_and(|e| e.starts_with("hot_keys_query: ") && e.contains("NULL")),
            "{sent:?}"
        );
        // A bytea value is written as is; text values as their UTF-8.
        rule.query = "SELECT id, convert_to(payload, 'UTF8') AS value FROM users \
                      WHERE id::text = ANY($1::text[])"
            .into();
        let got = rows
            .fetch(&rule, &["7".to_string(), "8".to_string(), "99".to_string()])
            .await
            .unwrap();
        let mut got: Vec<(String, Vec<u8>)> = got
            .into_iter()
            .map(|r| (r.get("id").unwrap().to_string(), r.value.unwrap()))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [("7".into(), b"p7".to_vec()), ("8".into(), b"p8".to_vec())]
        );
    });
}

#[test]
fn keys_arriving_while_the_job_runs_are_warmed_and_a_failed_key_query_is_reported() {
    use heliostat::ops::warm::job::run_feed;
    let server = RedisServer::start();
    let rule = rule(100, 0);
    let all = keys(1_000);
    let (tx, feed) = tokio::sync::mpsc::unbounded_channel();
    tx.send(Ok(all[..300].to_vec())).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(async {
        let mut target = Target::open(&server.url()).await.unwrap();
        let mut rows = table(1_000);
        let cancel = Arc::new(AtomicBool::new(false));
        let mut tx = Some(tx);
        let mut calls = 0;
        run_feed(&rule, feed, &mut rows, &mut target, &cancel, |r| {
            calls += 1;
            if calls == 1 {
                assert_eq!(r.keys, 300, "the job started on the first keys: {r:?}");
                // More keys, then the key query fails.
                let tx = tx.take().unwrap();
                tx.send(Ok(all[300..800].to_vec())).unwrap();
                tx.send(Err("hot_keys_query: connection reset".into()))
                    .unwrap();
            }
        })
        .await
    });
    assert_eq!(report.keys, 800, "{report:?}");
    assert_eq!(
        report.written.written, 800,
        "the keys before the failure are warmed"
    );
    assert_eq!(report.query_errors, 1);
    assert_eq!(
        report.reason().as_deref(),
        Some("rule `users`: hot_keys_query: connection reset")
    );
    assert!(report.failed());
    let n: i64 = server.cmd(&["DBSIZE"]).unwrap();
    assert_eq!(n, 800);
}

#[test]
fn a_dry_run_during_a_slot_migration_follows_ask_to_the_importing_node() {
    use heliostat::ops::warm::dry::dry_run;
    use heliostat::ops::warm::slot::key_slot;
    let cluster = support::cluster::Cluster::start(3);
    let slot = key_slot(b"m");
    let src = cluster.owner_of(slot);
    let dst = (src + 1) % 3;
    let (tagged, _) = tagged_and_spread();
    // 200 keys of the slot cached; half of them then move to the importing node.
    for k in &tagged[..200] {
        let _: () = cluster.nodes[src].cmd(&["SET", k, "old"]).unwrap();
    }
    cluster.begin_migration(slot, src, dst);
    cluster.migrate_keys(src, dst, &tagged[..100]);
    let mut rows = keyed_table(&tagged, "v-");
    let d = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let mut target = Target::open(&cluster.nodes[0].url()).await.unwrap();
            dry_run(&rule_for("${id}", 100, 0), &tagged, &mut rows, &mut target).await
        })
        .expect("the dry run follows the migration");
    assert_eq!((d.keys, d.looked_at), (1000, 1000));
    assert_eq!((d.new, d.skipped, d.no_row), (800, 200, 0), "{d:?}");
    // Nothing was written by looking.
    assert_eq!(cluster.keys_in_slot(src, slot).len(), 100);
    assert_eq!(cluster.keys_in_slot(dst, slot).len(), 100);
}

/// A runtime, the target at `url`, and `run` with a cancel flag of the
/// caller's.
fn run_with(
    url: &str,
    rule: &Rule,
    keys: &[String],
    rows: &mut impl Rows,
    cancel: &Arc<AtomicBool>,
    progress: impl FnMut(&Report),
) -> Report {
    support::runtime().block_on(async {
        let mut target = Target::open(url).await.unwrap();
        let job = run(rule, keys, rows, &mut target, cancel, progress);
        tokio::time::timeout(std::time::Duration::from_secs(60), job)
            .await
            .expect("the job ends (no hang)")
    })
}

/// Rows as given, by id: any columns, any value (or NULL).
struct Given(HashMap<String, Row>);

impl Rows for Given {
    async fn fetch(&mut self, _rule: &Rule, values: &[String]) -> Result<Vec<Row>, FetchError> {
        Ok(values
            .iter()
            .filter_map(|v| self.0.get(v).cloned())
            .collect())
    }
}

/// `users` with each row's TTL from the column `ttl`, no jitter.
fn ttl_column_rule(pattern: &str, batch: usize, rate: u64) -> Rule {
    Rule::from_spec(RuleSpec {
        ttl: None,
        ttl_column: Some("ttl".into()),
        ttl_jitter: Some(0.0),
        ..rule_spec(pattern, batch, rate)
    })
    .unwrap()
}

fn row(id: &str, value: Option<&str>, ttl: Option<&str>) -> Row {
    let mut columns = vec![("id".into(), id.to_string())];
    if let Some(t) = ttl {
        columns.push(("ttl".into(), t.to_string()));
    }
    Row {
        columns,
        value: value.map(|v| v.as_bytes().to_vec()),
    }
}

#[test]
fn a_query_without_a_value_column_ends_the_job_on_its_first_batch_and_null_values_are_never_written()
 {
    use heliostat::ops::warm::dry::dry_run;
    use heliostat::ops::warm::job::Failure;
    use heliostat::ops::warm::pg::PgRows;
    let pg = support::postgres::PgServer::start();
    pg.sql(
        "CREATE TABLE users (id int PRIMARY KEY, payload text); \
         INSERT INTO users SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE 'p' || g END \
         FROM generate_series(1, 1000) g;",
    );
    let redis = RedisServer::start();
    let mut rule = rule_for("user:${id}", 100, 0);
    // `payload`, not `payload AS value`.
    rule.query =
        "SELECT id::text AS id, payload FROM users WHERE id = ANY($1::text[]::int[])".into();
    let ks: Vec<String> = (1..=1000).map(|i| format!("user:{i}")).collect();
    support::runtime().block_on(async {
        let mut rows = PgRows::connect(&pg.url()).await.unwrap();
        let mut target = Target::open(&redis.url()).await.unwrap();
        let cancel = Arc::new(AtomicBool::new(false));
        let r = run(&rule, &ks, &mut rows, &mut target, &cancel, |_| {}).await;
        assert!(r.failed(), "{r:?}");
        assert_eq!(
            (r.query_errors, r.written.total(), r.done()),
            (1, 0, 0),
            "one batch tried, nothing written: {r:?}"
        );
        assert_eq!(r.ended_by().map(|f| f.kind), Some(Failure::Query));
        let why = r.reason().unwrap();
        assert_eq!(
            why,
            "rule `users`: the query returns no `value` column: name the column to cache `value` (… AS value)"
        );
        let n: i64 = redis.cmd(&["DBSIZE"]).unwrap();
        assert_eq!(n, 0, "no empty strings cached");
        let e = dry_run(&rule, &ks, &mut rows, &mut target)
            .await
            .unwrap_err();
        assert!(e.contains("no `value` column"), "the dry run says so too: {e}");

        // Refresh over real values: a NULL payload leaves the cached value
        // alone, counted as its own kind, and the dry run agrees.
        let mut c = redis.client();
        let mut pipe = redis::pipe();
        for k in &ks {
            pipe.cmd("SET").arg(k).arg("cached").ignore();
        }
        let () = pipe.query(&mut c).unwrap();
        rule.query =
            "SELECT id::text AS id, payload AS value FROM users WHERE id = ANY($1::text[]::int[])"
                .into();
        rule.mode = Mode::Refresh;
        let d = dry_run(&rule, &ks, &mut rows, &mut target).await.unwrap();
        assert_eq!(
            (d.overwrite, d.null_value, d.no_row, d.no_ttl),
            (900, 100, 0, 0),
            "{d:?}"
        );
        let r = run(&rule, &ks, &mut rows, &mut target, &cancel, |_| {}).await;
        assert_eq!((r.written.written, r.null_value, r.done()), (900, 100, 1000));
        assert!(!r.failed(), "nothing to cache is no failure: {r:?}");
        let kept: String = redis.cmd(&["GET", "user:10"]).unwrap();
        assert_eq!(kept, "cached");
        let fresh: String = redis.cmd(&["GET", "user:11"]).unwrap();
        assert_eq!(fresh, "p11");

        // A Postgres error quoting a key's value does not repeat it.
        let odd = vec!["user:1".to_string(), "user:s3cret".to_string()];
        let r = run(&rule, &odd, &mut rows, &mut target, &cancel, |_| {}).await;
        let why = r.reason().unwrap();
        assert!(
            why.starts_with("rule `users`: query: ") && why.contains("invalid input syntax"),
            "{why}"
        );
        assert!(!why.contains("s3cret"), "{why}");
    });
}

#[test]
fn ttls_from_a_column_are_seconds_of_any_numeric_type_and_unusable_ones_fail_the_job() {
    use heliostat::ops::warm::dry::dry_run;
    use heliostat::ops::warm::pg::PgRows;
    let pg = support::postgres::PgServer::start();
    pg.sql(
        "CREATE TABLE users (id int PRIMARY KEY, payload text, ttl numeric); \
         INSERT INTO users VALUES (1, 'p1', 599.8), (2, 'p2', 600), (3, 'p3', 86400.25), \
         (4, 'p4', -5), (5, 'p5', NULL), (6, 'p6', 0), (7, 'p7', 1e12);",
    );
    let redis = RedisServer::start();
    let mut rule = ttl_column_rule("user:${id}", 100, 0);
    rule.query =
        "SELECT id::text AS id, payload AS value, ttl FROM users WHERE id = ANY($1::text[]::int[])"
            .into();
    let ks: Vec<String> = (1..=7).map(|i| format!("user:{i}")).collect();
    support::runtime().block_on(async {
        let mut rows = PgRows::connect(&pg.url()).await.unwrap();
        let mut target = Target::open(&redis.url()).await.unwrap();
        let d = dry_run(&rule, &ks, &mut rows, &mut target).await.unwrap();
        assert_eq!((d.new, d.no_ttl, d.no_row), (3, 4, 0), "{d:?}");
        let cancel = Arc::new(AtomicBool::new(false));
        let r = run(&rule, &ks, &mut rows, &mut target, &cancel, |_| {}).await;
        assert_eq!((r.written.written, r.no_ttl, r.no_row), (3, 4, 0), "{r:?}");
        assert!(r.failed(), "keys left unwritten for want of a TTL fail the job");
        assert_eq!(
            r.reason().as_deref(),
            Some(
                "rule `users`: no usable TTL in column `ttl` (NULL, not a number, not above 0, or over 10 years) (4 keys)"
            )
        );
        // Float columns read as numbers too.
        let mut as_float = rule.clone();
        as_float.query = as_float.query.replace("ttl FROM", "ttl::float8 AS ttl FROM");
        let got = rows
            .fetch(&as_float, &["1".to_string(), "5".to_string()])
            .await
            .unwrap();
        let ttls: Vec<Option<&str>> = got.iter().map(|r| r.get("ttl")).collect();
        assert!(ttls.contains(&Some("599.8")) && ttls.contains(&None), "{ttls:?}");
        // A TTL column the query does not return ends the job at once.
        let mut missing = rule.clone();
        missing.query = missing.query.replace(", ttl FROM", " FROM");
        let r = run(&missing, &ks, &mut rows, &mut target, &cancel, |_| {}).await;
        assert_eq!(
            r.reason().as_deref(),
            Some("rule `users`: the query returns no `ttl` column, the rule's ttl_column (… AS ttl)")
        );
    });
    let pttl = |k: &str| redis.cmd::<i64>(&["PTTL", k]).unwrap();
    assert!((599_000..=599_800).contains(&pttl("user:1")), "599.8 s");
    assert!((599_000..=600_000).contains(&pttl("user:2")));
    assert!((86_399_000..=86_400_250).contains(&pttl("user:3")));
    for i in 4..=7 {
        assert_eq!(pttl(&format!("user:{i}")), -2, "user:{i} not written");
    }
}

#[test]
fn keys_given_twice_are_warmed_and_counted_once() {
    use heliostat::ops::warm::dry::dry_run;
    let server = RedisServer::start();
    let k = |i: u32| format!("{{user}}:{i}");
    let ks = vec![k(1), k(1), k(2), k(1), k(3), k(2)];
    for batch in [100, 1] {
        let _: () = server.cmd(&["FLUSHALL"]).unwrap();
        let (r, _) = warm(&server, &rule(batch, 0), &ks, &mut table(10), None);
        assert_eq!(r.keys, 3, "batch {batch}: {r:?}");
        assert_eq!(
            (r.written.written, r.written.existed, r.no_row),
            (3, 0, 0),
            "batch {batch}: {r:?}"
        );
        assert!(!r.failed());
    }
    let d = support::runtime()
        .block_on(async {
            let mut target = Target::open(&server.url()).await.unwrap();
            dry_run(&rule(100, 0), &ks, &mut table(10), &mut target).await
        })
        .unwrap();
    assert_eq!((d.keys, d.skipped, d.no_row), (3, 3, 0), "{d:?}");
}

#[test]
fn a_cancel_during_the_rate_limits_wait_returns_promptly() {
    let server = RedisServer::start();
    // One key a second: after the second batch the job waits a second.
    let rule = rule(100_000, 1);
    let cancel = Arc::new(AtomicBool::new(false));
    let cancelled_at = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let mut calls = 0;
    let r = run_with(
        &server.url(),
        &rule,
        &keys(10),
        &mut table(10),
        &cancel,
        |_| {
            calls += 1;
            if calls == 2 {
                let (cancel, at) = (cancel.clone(), cancelled_at.clone());
                std::thread::spawn(move || {
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    *at.lock().unwrap() = Some(Instant::now());
                    cancel.store(true, Ordering::Relaxed);
                });
            }
        },
    );
    let ended = Instant::now();
    let at = cancelled_at.lock().unwrap().expect("the cancel came");
    assert!(r.cancelled, "{r:?}");
    assert_eq!(r.written.written, 2, "nothing after the cancel: {r:?}");
    let late = ended.duration_since(at);
    assert!(
        late < std::time::Duration::from_millis(250),
        "the wait ends with the cancel, not with the pacing: {late:?}"
    );
}

#[test]
fn a_rate_limit_below_the_batch_size_holds_from_the_first_second() {
    let server = RedisServer::start();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    // The most keys seen in Redis during the job's first 0.9 s.
    let watcher = {
        let (server_url, stop) = (server.url(), stop.clone());
        std::thread::spawn(move || {
            let mut c = redis::Client::open(server_url)
                .unwrap()
                .get_connection()
                .unwrap();
            let mut most = 0i64;
            while !stop.load(Ordering::Relaxed) && started.elapsed().as_millis() < 900 {
                let n: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
                most = most.max(n);
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            most
        })
    };
    let (r, _) = warm(
        &server,
        &rule(1_000, 100),
        &keys(300),
        &mut table(300),
        None,
    );
    let secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let most = watcher.join().unwrap();
    assert_eq!(r.written.written, 300, "{r:?}");
    assert!(most <= 100, "{most} keys written in the first second");
    assert!(
        secs >= 1.9,
        "300 keys at 100/s take 2 s after the first 100: {secs:.2}"
    );
}

/// Keys for a job that finds Redis refusing every write.
fn refused_job(url: &str) -> Report {
    let mut rows = Given(
        (0..1_000)
            .map(|i| {
                let id = i.to_string();
                // One row of the first batch has a TTL no one can use.
                let ttl = if i == 7 { "-1" } else { "600" };
                let r = row(&id, Some("v"), Some(ttl));
                (id, r)
            })
            .collect(),
    );
    let cancel = Arc::new(AtomicBool::new(false));
    run_with(
        url,
        &ttl_column_rule("{user}:${id}", 100, 0),
        &keys(1_000),
        &mut rows,
        &cancel,
        |_| {},
    )
}

#[test]
fn a_replica_or_a_user_without_set_ends_the_job_after_one_batch() {
    use heliostat::ops::warm::job::Failure;
    // READONLY: a replica (an old master after a failover answers the same).
    let master = RedisServer::start();
    let replica = RedisServer::start_with(&["--replicaof", "127.0.0.1", &master.port.to_string()]);
    support::wait_for(
        "the replica to sync",
        std::time::Duration::from_secs(20),
        || {
            replica
                .info("replication")
                .contains("master_link_status:up")
        },
    );
    let r = refused_job(&replica.url());
    assert!(r.failed(), "{r:?}");
    assert_eq!(
        (r.written.errors, r.no_ttl, r.done()),
        (99, 1, 100),
        "one batch, then the job stopped: {r:?}"
    );
    assert_eq!(r.ended_by().map(|f| f.kind), Some(Failure::Write));
    let why = r.reason().unwrap();
    assert!(
        why.starts_with(
            "rule `users`: Redis refused every write of a batch, job stopped: READONLY"
        ) && why.contains("(99 keys); rule `users`: no usable TTL in column `ttl`"),
        "what ended the job first, then the rest: {why}"
    );
    assert!(!why.contains("{user}"), "no key names: {why}");

    // NOPERM: a user that may do anything but SET.
    let server = RedisServer::start();
    let _: () = server
        .cmd(&[
            "ACL", "SETUSER", "warmer", "on", ">pw-9", "~*", "&*", "+@all", "-set",
        ])
        .unwrap();
    let url = format!("redis://warmer:pw-9@127.0.0.1:{}", server.port);
    let r = refused_job(&url);
    assert_eq!((r.written.errors, r.done()), (99, 100), "{r:?}");
    assert!(
        r.reason()
            .unwrap()
            .starts_with("rule `users`: Redis refused every write of a batch, job stopped: NOPERM"),
        "{r:?}"
    );
    let n: i64 = server.cmd(&["DBSIZE"]).unwrap();
    assert_eq!(n, 0);
}

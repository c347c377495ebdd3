//! Warming from the console, driven by key events through the real keymap,
//! against a throw-away Redis and PostgreSQL: the confirm dialog's dry run
//! from the servers, the job's progress and result on the board, cancel,
//! preload (`R`), the read-only refusal, and the background-refresh round
//! (with automatic warming on).

use crate::support;
use crate::support::runtime;

use std::time::Duration;

use crate::support::RedisServer;
use crate::support::warm_console::{Console, rule, setup, users_config};
use crossterm::event::KeyCode;
use heliostat::action::Pane;
use heliostat::app::actions::Effect;
use heliostat::engines::warming::{JobState, WarmingStrategy};
use heliostat::ops::warm::console::JobLog;
use heliostat::sample::{Body, KeyAccess, Sample, SourceId};
use heliostat::sources::redis::wall_now;

#[test]
fn w_shows_a_dry_run_from_the_servers_then_warms_and_the_result_lands_on_the_board() {
    let (redis, pg) = setup();
    redis.cmd::<()>(&["SET", "user:1", "already"]).unwrap();
    runtime().block_on(async {
        let log = JobLog {
            url: pg.url(),
            schema: "ops".into(),
            sink_id: "console-1".into(),
            context: Some("staging".into()),
        };
        let mut c = Console::with_log(vec![rule(&redis, &pg, 0, 50)], true, Some(log));
        // 1..=40 exist in the table (user:1 is cached already); 9001.. do not.
        c.misses((1..=40).chain(9001..=9005));
        c.press(KeyCode::Char('2')).await;
        assert_eq!(c.state.ui.focus, Pane::Warming);
        let fx = c.press(KeyCode::Char('W')).await;
        assert!(matches!(fx.as_slice(), [Effect::DryRun { .. }]), "{fx:?}");
        c.until(|s| s.warm.dry_pending.is_none()).await;
        let lines = c.state.ui.confirm.as_ref().unwrap().lines.join("\n");
        assert!(lines.contains("rule `users`"), "{lines}");
        assert!(
            lines.contains(
                "45 keys: 39 new, 0 overwritten, 1 left alone, 0 type conflict, 5 no row"
            ),
            "{lines}"
        );
        let fx = c.press(KeyCode::Char('y')).await;
        let Some(Effect::Warm { job, .. }) = fx.first().cloned() else {
            panic!("{fx:?}");
        };
        c.until(|s| s.jobs.get(job).is_some_and(|j| j.state.is_terminal()))
            .await;
        let j = c.state.jobs.get(job).unwrap();
        assert_eq!(j.state, JobState::Done, "{j:?}");
        // No row is not an error: the database has nothing to cache.
        assert_eq!((j.progress.done, j.progress.errors), (45, 0));
        assert_eq!(
            j.progress.tally.describe(),
            "written 39 · left alone 1 · no row 5 · errors 0"
        );
        let v: String = redis.cmd(&["GET", "user:40"]).unwrap();
        assert_eq!(v, "p40");
        let ttl: i64 = redis.cmd(&["TTL", "user:40"]).unwrap();
        assert!((540..=660).contains(&ttl), "{ttl}");
        let kept: String = redis.cmd(&["GET", "user:1"]).unwrap();
        assert_eq!(kept, "already", "fill never overwrites");
        let status = &c.state.ui.status.as_ref().unwrap().text;
        assert!(status.contains(&format!("warm job {job} done")), "{status}");
        // The job's record, written after its progress: give it a moment.
        let q = "SELECT sink_id || ' ' || job || ' ' || context || ' ' || rule || ' ' || keys || ' ' \
                 || written || ' ' || left_alone || ' ' || no_row || ' ' || outcome FROM ops.warm_jobs";
        let mut row = String::new();
        for _ in 0..100 {
            if pg.sql("SELECT to_regclass('ops.warm_jobs') IS NOT NULL") == "t" {
                row = pg.sql(&format!("SELECT coalesce(({q}), '')"));
                if !row.is_empty() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(row, format!("console-1 {job} staging users 45 39 1 5 done"));
    });
}

#[test]
fn c_cancels_within_one_batch_and_r_preloads_the_rules_hot_keys() {
    let (redis, pg) = setup();
    runtime().block_on(async {
        // 200 keys/s in batches of 20: the job would take 10 s.
        let mut c = Console::new(vec![rule(&redis, &pg, 200, 20)], true);
        c.misses(1..=2000);
        c.press(KeyCode::Char('2')).await;
        c.press(KeyCode::Char('W')).await;
        c.until(|s| s.warm.dry_pending.is_none()).await;
        let fx = c.press(KeyCode::Char('y')).await;
        let Some(Effect::Warm { job, .. }) = fx.first().cloned() else {
            panic!("{fx:?}");
        };
        c.until(|s| s.jobs.get(job).is_some_and(|j| j.progress.done >= 40))
            .await;
        let fx = c.press(KeyCode::Char('c')).await;
        assert_eq!(fx, vec![Effect::CancelWarm(job)]);
        c.until(|s| s.jobs.get(job).is_some_and(|j| j.state.is_terminal()))
            .await;
        let j = c.state.jobs.get(job).unwrap();
        assert_eq!(j.state, JobState::Cancelled);
        let written: i64 = redis.cmd(&["DBSIZE"]).unwrap();
        assert!(
            written < 2000 && (written - j.progress.done as i64).abs() <= 20,
            "stopped within one batch: {written} written, {} reported",
            j.progress.done
        );

        // R: the rule's hot_keys_query (ids 1..=300), in fill mode.
        c.press(KeyCode::Char('R')).await;
        assert!(c.state.ui.confirm.as_ref().unwrap().title.contains("users"));
        let fx = c.press(KeyCode::Char('y')).await;
        let Some(Effect::Preload { job, .. }) = fx.first().cloned() else {
            panic!("{fx:?}");
        };
        c.until(|s| s.jobs.get(job).is_some_and(|j| j.state.is_terminal()))
            .await;
        let j = c.state.jobs.get(job).unwrap();
        assert_eq!(j.state, JobState::Done, "{j:?}");
        assert_eq!((j.progress.total, j.progress.done), (300, 300));
        let v: String = redis.cmd(&["GET", "user:300"]).unwrap();
        assert_eq!(v, "p300");
    });
}

#[test]
fn read_only_refuses_and_the_refresh_round_overwrites_keys_about_to_expire() {
    let (redis, pg) = setup();
    runtime().block_on(async {
        let mut ro = Console::new(vec![rule(&redis, &pg, 0, 50)], false);
        ro.misses(1..=5);
        ro.press(KeyCode::Char('2')).await;
        let fx = ro.press(KeyCode::Char('W')).await;
        assert!(fx.is_empty());
        let status = &ro.state.ui.status.as_ref().unwrap().text;
        assert!(
            status.contains("read-only") && status.contains("--read-only"),
            "{status}"
        );
        assert!(
            ro.state.warm_round(wall_now()).is_empty(),
            "no automatic writes either"
        );

        // Background refresh: hot keys with 100 s left (under the 300 s
        // threshold) are probed, then overwritten with a fresh TTL.
        for i in 1..=10 {
            let k = format!("user:{i}");
            redis.cmd::<()>(&["SET", &k, "stale", "EX", "100"]).unwrap();
        }
        let mut c = Console::auto(vec![rule(&redis, &pg, 0, 50)]);
        c.state
            .warming
            .set_strategy(WarmingStrategy::BackgroundRefresh);
        let keys = (1..=10)
            .map(|i| KeyAccess {
                key: format!("user:{i}"),
                count: 50,
                hits: 50,
                misses: 0,
            })
            .collect();
        c.state.apply(&Sample {
            source: SourceId(0),
            generation: 0,
            at: wall_now(),
            body: Body::KeyAccesses(keys),
        });
        let fx = c.state.warm_round(wall_now());
        let [Effect::Probe(probed)] = fx.as_slice() else {
            panic!("{fx:?}");
        };
        assert_eq!(probed.len(), 10);
        for f in fx {
            c.perform(f).await;
        }
        c.until(|s| s.warm.round_answered).await;
        let fx = c.state.warm_round(wall_now());
        let [
            Effect::Warm {
                job,
                keys,
                refresh: true,
            },
        ] = fx.as_slice()
        else {
            panic!("{fx:?}");
        };
        assert_eq!(keys.len(), 10);
        let job = *job;
        for f in fx {
            c.perform(f).await;
        }
        c.until(|s| s.jobs.get(job).is_some_and(|j| j.state.is_terminal()))
            .await;
        let v: String = redis.cmd(&["GET", "user:7"]).unwrap();
        assert_eq!(v, "p7", "refreshed from the database");
        let ttl: i64 = redis.cmd(&["TTL", "user:7"]).unwrap();
        assert!(ttl > 500, "a fresh TTL: {ttl}");
    });
}

#[test]
fn heliostat_warm_from_queue_warms_the_missing_hot_keys_it_saw() {
    let (redis, pg) = setup();
    let config = users_config(&redis, &pg);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_heliostat"))
        .args(["warm", "--rule", "users", "--from-queue", "--watch", "4"])
        .arg("--config")
        .arg(&config)
        .args([
            "--redis",
            &redis.url(),
            "--events",
            "app:events",
            "--allow-writes",
        ])
        .args(["--sample-budget", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Misses on user:1..=25 (and keys of no rule) while it watches.
    let mut conn = redis.client();
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        for i in 1..=25 {
            let _: String = redis::cmd("XADD")
                .arg("app:events")
                .arg("*")
                .arg(&["client", "api", "key", &format!("user:{i}"), "hit", "0"][..])
                .query(&mut conn)
                .unwrap();
        }
        let _: String = redis::cmd("XADD")
            .arg("app:events")
            .arg("*")
            .arg(&["client", "api", "key", "session:9", "hit", "0"][..])
            .query(&mut conn)
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("25 match rule `users`"), "{stderr}");
    for i in [1, 13, 25] {
        let v: String = redis.cmd(&["GET", &format!("user:{i}")]).unwrap();
        assert_eq!(v, format!("p{i}"));
    }
    let none: Option<String> = redis.cmd(&["GET", "session:9"]).unwrap();
    assert_eq!(none, None);
}

#[test]
fn heliostat_warm_fails_on_rows_without_a_usable_ttl_and_names_no_key() {
    let (redis, pg) = setup();
    pg.sql("ALTER TABLE users ADD COLUMN ttl numeric; UPDATE users SET ttl = 599.8 WHERE id <> 2;");
    let config = redis.dir().join("heliostat.toml");
    std::fs::write(
        &config,
        format!(
            "[[warm.rules]]\nname = \"users\"\nkey = \"user:${{id}}\"\nredis = \"{}\"\npostgres = \"{}\"\n\
             query = \"SELECT id::text AS id, payload AS value, ttl FROM users WHERE id = ANY($1::text[]::int[])\"\n\
             ttl_column = \"ttl\"\n",
            redis.url(),
            pg.url()
        ),
    )
    .unwrap();
    let warm = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_heliostat"))
            .args(["warm", "--rule", "users", "--keys", "user:1,user:2,user:1"])
            .args(extra)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap()
    };
    let dry = warm(&["--dry-run"]);
    let stdout = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success(), "{stdout}");
    assert!(
        stdout.contains("for 2 keys")
            && stdout.contains("new 1")
            && stdout.contains("no usable TTL 1"),
        "{stdout}"
    );
    let out = warm(&["--allow-writes"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a key left unwritten fails the run: {stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("2 keys in")
            && stdout.contains("written 1")
            && stdout.contains("no usable TTL 1"),
        "{stdout}"
    );
    assert!(
        stderr.contains(
            "warm job failed: rule `users`: no usable TTL in column `ttl` (NULL, not a number, not above 0, or over 10 years) (1 key)"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("user:2"), "no key name: {stderr}");
    let ttl: i64 = redis.cmd(&["PTTL", "user:1"]).unwrap();
    assert!((539_000..=660_000).contains(&ttl), "599.8 s ± 10 %: {ttl}");
    let none: Option<String> = redis.cmd(&["GET", "user:2"]).unwrap();
    assert_eq!(none, None);
}

#[test]
fn a_console_job_refused_by_a_replica_fails_with_a_reason_that_names_no_key() {
    let (primary, pg) = setup();
    let replica = RedisServer::start_with(&["--replicaof", "127.0.0.1", &primary.port.to_string()]);
    support::wait_for("the replica to sync", Duration::from_secs(20), || {
        replica
            .info("replication")
            .contains("master_link_status:up")
    });
    runtime().block_on(async {
        let log = JobLog {
            url: pg.url(),
            schema: "ops".into(),
            sink_id: "console-2".into(),
            context: None,
        };
        // Batches of 10: the job stops after the first.
        let mut c = Console::with_log(vec![rule(&replica, &pg, 0, 10)], true, Some(log));
        c.misses(1..=40);
        c.press(KeyCode::Char('2')).await;
        c.press(KeyCode::Char('W')).await;
        c.until(|s| s.warm.dry_pending.is_none()).await;
        let fx = c.press(KeyCode::Char('y')).await;
        let Some(Effect::Warm { job, .. }) = fx.first().cloned() else {
            panic!("{fx:?}");
        };
        c.until(|s| s.jobs.get(job).is_some_and(|j| j.state.is_terminal()))
            .await;
        let j = c.state.jobs.get(job).unwrap();
        let JobState::Failed { reason } = &j.state else {
            panic!("{j:?}");
        };
        assert!(
            reason.starts_with(
                "rule `users`: Redis refused every write of a batch, job stopped: READONLY"
            ) && reason.ends_with("(10 keys)"),
            "{reason}"
        );
        assert_eq!(j.progress.done, 10, "one batch: {j:?}");
        let status = &c.state.ui.status.as_ref().unwrap().text;
        assert!(
            status.contains("READONLY") && !status.contains("user:"),
            "{status}"
        );
        let q = "SELECT outcome || ' ' || errors || ' ' || reason FROM ops.warm_jobs";
        let mut row = String::new();
        for _ in 0..100 {
            if pg.sql("SELECT to_regclass('ops.warm_jobs') IS NOT NULL") == "t" {
                row = pg.sql(&format!("SELECT coalesce(({q}), '')"));
                if !row.is_empty() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            row.starts_with("failed 10 rule `users`: Redis refused"),
            "{row}"
        );
        assert!(!row.contains("user:"), "{row}");
    });
}

#[test]
fn a_keys_file_line_is_a_whole_key_spaces_included() {
    let (redis, pg) = setup();
    let config = users_config(&redis, &pg);
    let keys = redis.dir().join("keys.txt");
    // A Windows line end is not part of the key; a trailing space is.
    std::fs::write(&keys, "user:3\r\n\nuser:4 \n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_heliostat"))
        .args(["warm", "--rule", "users", "--allow-writes", "--keys-file"])
        .arg(&keys)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut c = redis.client();
    let exists = |c: &mut redis::Connection, k: &str| -> bool {
        redis::cmd("EXISTS").arg(k).query::<i64>(c).unwrap() == 1
    };
    assert!(exists(&mut c, "user:3"), "{stdout}");
    // `user:4 ` is not `user:4`: the row's key differs, nothing is written.
    assert!(!exists(&mut c, "user:4"), "{stdout}");
    assert!(!exists(&mut c, "user:4 "), "{stdout}");
    assert!(
        stdout.contains("2 keys") || stdout.contains("keys: 2"),
        "{stdout}"
    );
}

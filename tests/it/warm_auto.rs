//! Who pulls the trigger, against a throw-away Redis and PostgreSQL: with
//! writes allowed but no `auto_warm` the rounds probe and plan and write
//! nothing; with it, a key that has no row is tried once per (doubling)
//! backoff, not every round. And the results tell the truth: the console's
//! `W` / `R` results and `heliostat warm`'s summary count and word the
//! same; `W` over keys no rule matches says so and offers no "y" for them;
//! a failed dry run offers no "y" at all.

use std::time::{Duration, Instant};

use crate::support::runtime;
use crate::support::warm_console::{Console, calls, rule, set_calls, setup, users_config};
use crossterm::event::KeyCode;
use heliostat::app::actions::Effect;
use heliostat::app::ui_state::Mode;
use heliostat::engines::warming::{JobState, WarmingConfig, WarmingEngine};
use heliostat::sources::redis::wall_now;

/// Rounds every second, so a test sees several in a few seconds.
fn fast_rounds(c: &mut Console) {
    c.state.warming = WarmingEngine::new(&WarmingConfig {
        refresh_interval_secs: 1,
        ..WarmingConfig::default()
    });
}

#[test]
fn with_writes_allowed_but_no_auto_warm_the_rounds_plan_and_write_nothing() {
    let (redis, pg) = setup();
    // Expiring (100 s left, under the 300 s threshold) and missing hot keys,
    // and one whose row does not exist.
    for i in 1..=10 {
        let k = format!("user:{i}");
        redis.cmd::<()>(&["SET", &k, "stale", "EX", "100"]).unwrap();
    }
    let sets = set_calls(&redis);
    let keys: i64 = redis.cmd(&["DBSIZE"]).unwrap();
    runtime().block_on(async {
        // The seed's strategy (all, preload included) and a rule with a
        // hot_keys_query: everything that used to start by itself.
        let mut c = Console::new(vec![rule(&redis, &pg, 0, 50)], true);
        fast_rounds(&mut c);
        let hot = || (1..=20).chain([9999]).map(|i| format!("user:{i}"));
        let start = Instant::now();
        let mut probes = 0;
        while start.elapsed() < Duration::from_secs(5) {
            c.accesses(hot(), 10, 10);
            for fx in c.round(wall_now()).await {
                match fx {
                    Effect::Probe(_) => probes += 1,
                    other => panic!("started by itself: {other:?}"),
                }
            }
            c.drain(Duration::from_millis(250)).await;
        }
        assert!(c.state.jobs.active().is_empty() && c.state.jobs.recent().next().is_none());
        // PTTL reads keep to the interval: about one round a second.
        assert!((3..=7).contains(&probes), "{probes} probes in 5 s");
        assert!(
            calls(&redis, "pttl") <= probes * 21,
            "{}",
            calls(&redis, "pttl")
        );
        let plan = c.state.warm.auto.plan.expect("a round was answered");
        assert_eq!(
            (plan.refresh, plan.fill, plan.auto),
            (10, 11, false),
            "{plan:?}"
        );
    });
    assert_eq!(set_calls(&redis), sets, "no SET reached the server");
    let after: i64 = redis.cmd(&["DBSIZE"]).unwrap();
    assert_eq!(after, keys);
    let v: String = redis.cmd(&["GET", "user:1"]).unwrap();
    assert_eq!(v, "stale");
}

#[test]
fn with_auto_warm_a_key_without_a_row_is_tried_once_per_backoff() {
    let (redis, pg) = setup();
    runtime().block_on(async {
        let mut c = Console::auto(vec![rule(&redis, &pg, 0, 50)]);
        fast_rounds(&mut c);
        let start = Instant::now();
        let mut tries: Vec<Duration> = Vec::new();
        let mut preloads = 0;
        while start.elapsed() < Duration::from_secs(12) {
            // user:9999 has no row; user:1..=3 do (the preload writes them).
            c.accesses((1..=3).chain([9999]).map(|i| format!("user:{i}")), 0, 20);
            for fx in c.round(wall_now()).await {
                match fx {
                    Effect::Warm { keys, .. } if keys.iter().any(|k| k == "user:9999") => {
                        tries.push(start.elapsed());
                    }
                    Effect::Preload { .. } => preloads += 1,
                    _ => {}
                }
            }
            c.drain(Duration::from_millis(200)).await;
        }
        assert_eq!(preloads, 1, "the preload at start, once");
        let v: String = redis.cmd(&["GET", "user:300"]).unwrap();
        assert_eq!(v, "p300");
        // Retried after 2 s, then after 4 s more (then 8 s: past the end),
        // where every round (1 s) used to try it again.
        assert!((2..=3).contains(&tries.len()), "{tries:?}");
        for (i, w) in tries.windows(2).enumerate() {
            let least = Duration::from_secs(2 << i);
            assert!(
                w[1] - w[0] >= least,
                "try {} after {:?}: {tries:?}",
                i + 2,
                w[1] - w[0]
            );
        }
        // Each try that ended before the test did counts as a failure.
        let hash = heliostat::engines::intern::key_hash("user:9999");
        let fails = c.state.warm.auto.keys.fails(hash) as usize;
        assert!(fails >= 1 && fails <= tries.len(), "{fails} {tries:?}");
        let none: Option<String> = redis.cmd(&["GET", "user:9999"]).unwrap();
        assert_eq!(none, None);
    });
}

#[test]
fn the_consoles_w_and_r_results_use_the_headless_summarys_words_and_counts() {
    let (redis, pg) = setup();
    redis.cmd::<()>(&["SET", "user:1", "already"]).unwrap();
    redis.cmd::<()>(&["SET", "user:101", "already"]).unwrap();
    let config = users_config(&redis, &pg);
    let headless = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_heliostat"))
            .args(["warm", "--rule", "users", "--allow-writes"])
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{stdout}");
        stdout
    };
    runtime().block_on(async {
        let mut c = Console::new(vec![rule(&redis, &pg, 0, 50)], true);
        // 40 keys with a row (one cached already) and 5 without.
        c.misses((1..=40).chain(9001..=9005));
        c.press(KeyCode::Char('2')).await;
        c.press(KeyCode::Char('W')).await;
        c.until(|s| s.warm.dry_pending.is_none()).await;
        let fx = c.press(KeyCode::Char('y')).await;
        let Some(Effect::Warm { job, .. }) = fx.first().cloned() else {
            panic!("{fx:?}");
        };
        c.until(|s| s.jobs.get(job).is_some_and(|j| j.state.is_terminal()))
            .await;
        let words = "written 39 · left alone 1 · no row 5 · errors 0";
        let j = c.state.jobs.get(job).unwrap();
        assert_eq!(j.progress.tally.describe(), words);
        let status = &c.state.ui.status.as_ref().unwrap().text;
        assert_eq!(status, &format!("warm job {job} done: {words}"));
        // The same shape of keys, headless.
        let keys: Vec<String> = (101..=140)
            .chain(9101..=9105)
            .map(|i| format!("user:{i}"))
            .collect();
        let out = headless(&["--keys", &keys.join(",")]);
        assert!(out.contains("45 keys in") && out.contains(words), "{out}");

        // R after everything is there: nothing written, and it says so
        // (not "done: 300 keys, 0 errors").
        headless(&["--preload"]);
        c.press(KeyCode::Char('R')).await;
        let fx = c.press(KeyCode::Char('y')).await;
        let Some(Effect::Preload { job, .. }) = fx.first().cloned() else {
            panic!("{fx:?}");
        };
        c.until(|s| s.jobs.get(job).is_some_and(|j| j.state.is_terminal()))
            .await;
        let words = "written 0 · left alone 300 · no row 0 · errors 0";
        assert_eq!(
            c.state.jobs.get(job).unwrap().progress.tally.describe(),
            words
        );
        let status = &c.state.ui.status.as_ref().unwrap().text;
        assert_eq!(status, &format!("warm job {job} done: {words}"));
        let out = headless(&["--preload"]);
        assert!(out.contains(words), "{out}");
    });
}

#[test]
fn w_over_keys_no_rule_matches_offers_no_y_for_them() {
    let (redis, pg) = setup();
    runtime().block_on(async {
        let mut c = Console::new(vec![rule(&redis, &pg, 0, 50)], true);
        c.accesses((1..=5).map(|i| format!("session:{i}")), 0, 20);
        c.state.tick(wall_now());
        c.press(KeyCode::Char('2')).await;
        // No key matches: no dry run, and "y" does nothing but close.
        let fx = c.press(KeyCode::Char('W')).await;
        assert!(fx.is_empty(), "{fx:?}");
        let dialog = c.state.ui.confirm.clone().unwrap();
        let text = dialog.lines.join("\n");
        assert_eq!(dialog.title, "Nothing to warm");
        assert!(
            text.contains("5 keys match no warm rule and are skipped (e.g. session:")
                && !text.contains("y to"),
            "{text}"
        );
        assert!(c.press(KeyCode::Char('y')).await.is_empty());
        assert_eq!(c.state.ui.mode, Mode::Normal);

        // Some match: only those are warmed, the rest said skipped.
        c.misses(1..=3);
        let fx = c.press(KeyCode::Char('W')).await;
        let [Effect::DryRun { keys, refresh, .. }] = fx.as_slice() else {
            panic!("{fx:?}");
        };
        assert_eq!((keys.len(), refresh.len()), (3, 0));
        assert!(keys.iter().all(|k| k.starts_with("user:")));
        // "y" waits for the dry run.
        assert!(c.press(KeyCode::Char('y')).await.is_empty());
        c.until(|s| s.warm.dry_pending.is_none()).await;
        let dialog = c.state.ui.confirm.clone().unwrap();
        let text = dialog.lines.join("\n");
        assert_eq!(dialog.title, "Warm 3 keys?");
        assert!(
            text.contains("5 keys match no warm rule and are skipped"),
            "{text}"
        );
        assert!(text.contains("3 keys: 3 new"), "{text}");
        let fx = c.press(KeyCode::Char('y')).await;
        let [Effect::Warm { job, keys, .. }] = fx.as_slice() else {
            panic!("{fx:?}");
        };
        assert_eq!(keys.len(), 3);
        let job = *job;
        c.until(|s| s.jobs.get(job).is_some_and(|j| j.state.is_terminal()))
            .await;
        let j = c.state.jobs.get(job).unwrap();
        assert_eq!(j.state, JobState::Done);
        assert_eq!(j.progress.tally.errors(), 0, "{j:?}");
        let n: i64 = redis.cmd(&["DBSIZE"]).unwrap();
        assert_eq!(n, 3, "session keys untouched");
    });
}

#[test]
fn a_failed_dry_run_shows_why_and_offers_no_y() {
    let (redis, pg) = setup();
    let mut dead = rule(&redis, &pg, 0, 50);
    // Nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    dead.redis = format!("redis://127.0.0.1:{port}");
    runtime().block_on(async {
        let mut c = Console::new(vec![dead], true);
        c.misses(1..=3);
        c.press(KeyCode::Char('2')).await;
        c.press(KeyCode::Char('W')).await;
        c.until(|s| s.warm.dry_pending.is_none()).await;
        let text = c.state.ui.confirm.as_ref().unwrap().lines.join("\n");
        assert!(
            text.contains("cannot look:") && text.contains("y is not offered"),
            "{text}"
        );
        assert!(c.press(KeyCode::Char('y')).await.is_empty(), "no job");
        assert!(c.state.jobs.active().is_empty());
    });
}

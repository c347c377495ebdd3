//! Screens of the live-only features, from synthetic deterministic samples
//! (no server): the Clients pane with a stats sink (stored totals, clients
//! only other consoles saw, a failing sink with its retry), and the
//! Warming pane's confirm dialog filled by a dry run, then a running job.

use heliostat::action::{Action, Pane};
use heliostat::app::actions::Effect;
use heliostat::app::run::chrome;
use heliostat::app::state::{SessionInfo, State};
use heliostat::engines::Timestamp;
use heliostat::engines::warming::Tally;
use heliostat::export::to_text;
use heliostat::keymap::Keymap;
use heliostat::ops::warm::console::WARM_SOURCE;
use heliostat::ops::warm::rules::{Rule, RuleSpec};
use heliostat::ops::warm::write::Mode;
use heliostat::sample::{
    AccessAgg, Body, FlushOutcome, KeyAccess, KeyObs, Sample, SinkReport, SourceId, StoredClient,
    WarmDry, WarmProgress,
};
use heliostat::snapshot::render_buffer;
use heliostat::theme::Theme;

const T0: Timestamp = Timestamp::from_secs(1_736_150_400); // 2025-01-06 08:00 UTC

fn sample(at: Timestamp, body: Body) -> Sample {
    Sample {
        source: SourceId(0),
        generation: 0,
        at,
        body,
    }
}

fn screen(st: &State, w: u16, h: u16) -> String {
    to_text(&render_buffer(
        st,
        &Theme::default(),
        &chrome(&Keymap::default(), st.ui.focus),
        w,
        h,
    ))
}

fn zoom(st: &mut State, p: Pane, now: Timestamp) {
    st.handle(Action::Focus(p), now);
    st.handle(Action::Zoom, now);
    st.tick(now);
}

fn live(writes: bool) -> State {
    let session = SessionInfo {
        context: Some("staging".into()),
        writes_allowed: writes,
        ..SessionInfo::default()
    };
    State::new(session, 1000)
}

fn clients_with_sink() -> State {
    let mut st = live(false);
    st.sink.enabled = true;
    for s in 0..10 {
        let at = T0.add_secs(s);
        let aggs = ["api", "worker", "reports"]
            .iter()
            .enumerate()
            .map(|(i, c)| AccessAgg {
                client: (*c).into(),
                table: ["users", "orders", "carts"][i].into(),
                query: None,
                op: "get".into(),
                count: 100 * (3 - i as u32),
                lookups: 100 * (3 - i as u32),
                hits: 80 * (3 - i as u32),
                errors: i as u32,
                saved_us: 0,
                latency_us: 0,
            })
            .collect();
        st.apply(&sample(at, Body::Accesses(aggs)));
        st.tick(at);
    }
    st
}

fn stored(name: &str, requests: i64) -> StoredClient {
    StoredClient {
        name: name.into(),
        requests,
        successes: requests,
        ..StoredClient::default()
    }
}

#[test]
fn clients_show_the_totals_every_console_stored() {
    let mut st = clients_with_sink();
    let at = T0.add_secs(10);
    let b = st.flush_due(at).expect("a batch is due");
    let ok = SinkReport::Flushed {
        seq: b.seq,
        outcome: FlushOutcome::Written,
    };
    st.apply(&sample(at, Body::Sink(ok)));
    let rows = vec![
        stored("api", 48_000),
        stored("worker", 21_000),
        stored("batch-import", 9_500),
        stored("reports", 1_000),
    ];
    st.apply(&sample(at, Body::Sink(SinkReport::Stored(rows))));
    zoom(&mut st, Pane::Clients, at);
    let s = screen(&st, 120, 20);
    assert!(s.contains("sink: 1 batches stored"), "{s}");
    assert!(s.contains("stored"), "{s}");
    assert!(s.contains("48.0k") && s.contains("batch-import"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn a_failing_sink_says_why_and_when_it_retries() {
    let mut st = clients_with_sink();
    let at = T0.add_secs(10);
    let b = st.flush_due(at).expect("a batch is due");
    let failed = SinkReport::Flushed {
        seq: b.seq,
        outcome: FlushOutcome::Failed("connection refused".into()),
    };
    st.apply(&sample(at, Body::Sink(failed)));
    zoom(&mut st, Pane::Clients, at);
    let s = screen(&st, 120, 20);
    assert!(
        s.contains("sink failing, retry in 0 s: connection refused"),
        "{s}"
    );
}

fn rule() -> Rule {
    Rule::from_spec(RuleSpec {
        name: "users".into(),
        key: "user:${id}".into(),
        redis: "redis://cache-1:6379".into(),
        postgres: "postgres://app@db/app".into(),
        query:
            "SELECT id::text AS id, payload AS value FROM users WHERE id = ANY($1::text[]::int[])"
                .into(),
        hot_keys_query: None,
        ttl: Some(600),
        ttl_column: None,
        ttl_jitter: None,
        mode: Mode::Fill,
        max_keys_per_s: None,
        batch: None,
        contexts: Vec::new(),
    })
    .unwrap()
}

#[test]
fn the_warm_dialog_shows_the_dry_run_then_the_job_runs() {
    let mut st = live(true);
    st.warm.rules = vec![rule()];
    let keys = (1..=30)
        .map(|i| KeyAccess {
            key: format!("user:{i}"),
            count: 10 + i,
            hits: 0,
            misses: 10 + i,
        })
        .collect();
    st.apply(&sample(T0, Body::KeyAccesses(keys)));
    st.tick(T0);
    zoom(&mut st, Pane::Warming, T0);
    let fx = st.handle(Action::WarmAll, T0);
    let [Effect::DryRun { id, keys, .. }] = fx.as_slice() else {
        panic!("{fx:?}");
    };
    assert_eq!(keys.len(), 30);
    let waiting = screen(&st, 120, 24);
    assert!(
        waiting.contains("dry run: asking the database"),
        "{waiting}"
    );
    let dry = WarmDry {
        id: *id,
        lines: vec![
            "rule `users` (fill mode) → redis://cache-1:6379 · ≤ 20000 keys/s".into(),
            "  30 keys: 27 new, 0 overwritten, 2 left alone, 0 type conflict, 1 no row".into(),
        ],
        failed: false,
        unmatched: 0,
        unmatched_example: None,
    };
    st.apply(&sample(T0, Body::WarmDry(dry)));
    let s = screen(&st, 120, 24);
    assert!(s.contains("27 new"), "{s}");
    insta::assert_snapshot!("warm_dialog", s);

    let fx = st.handle(Action::Confirm, T0);
    let [Effect::Warm { job, .. }] = fx.as_slice() else {
        panic!("{fx:?}");
    };
    let at = T0.add_secs(2);
    let p = WarmProgress {
        job: *job,
        tally: Tally {
            written: 10,
            left_alone: 1,
            refused: 1,
            ..Tally::default()
        },
        finished: None,
        total: None,
        unwritten: Vec::new(),
    };
    st.apply(&sample(at, Body::WarmProgress(p)));
    st.tick(at);
    let s = screen(&st, 120, 24);
    assert!(s.contains("12/30"), "{s}");
    insta::assert_snapshot!("warm_job_running", s);
}

/// The dry run names an example of the keys no rule matches; with
/// `--redact-keys` the dialog shows it only up to its prefix, and a key
/// without one not at all.
#[test]
fn the_warm_dialog_redacts_the_unmatched_example() {
    for (redact, example, shown) in [
        (true, "sess_9f2a77c1", "(e.g. …)"),
        (true, "session:9f2a77c1", "(e.g. session:…)"),
        (false, "sess_9f2a77c1", "(e.g. sess_9f2a77c1)"),
    ] {
        let mut st = live(true);
        st.session.redact_keys = redact;
        st.warm.rules = vec![rule()];
        let keys = ["user:1", "user:2", example]
            .iter()
            .map(|k| KeyAccess {
                key: (*k).into(),
                count: 20,
                hits: 0,
                misses: 20,
            })
            .collect();
        st.apply(&sample(T0, Body::KeyAccesses(keys)));
        st.tick(T0);
        zoom(&mut st, Pane::Warming, T0);
        let fx = st.handle(Action::WarmAll, T0);
        let [Effect::DryRun { id, .. }] = fx.as_slice() else {
            panic!("{fx:?}");
        };
        let dry = WarmDry {
            id: *id,
            lines: vec![
                "  2 keys: 2 new, 0 overwritten, 0 left alone, 0 type conflict, 0 no row".into(),
            ],
            failed: false,
            unmatched: 0,
            unmatched_example: None,
        };
        st.apply(&sample(T0, Body::WarmDry(dry)));
        let s = screen(&st, 120, 24);
        let line = format!("1 keys match no warm rule and are skipped {shown}");
        assert!(s.contains(&line), "{s}");
        assert_eq!(s.contains("9f2a77c1"), !redact, "{s}");
    }
}

/// Hot keys of the `users` rule: 1..=2 expire in 100 s (under the 300 s
/// threshold), 3..=5 are missing. The round's probe is answered as the
/// warm service would, then the round plans.
fn answered_round(auto: bool) -> (State, Vec<Effect>) {
    let mut st = live(true);
    st.session.auto_warm = auto;
    st.warm.rules = vec![rule()];
    let keys = (1..=5)
        .map(|i| KeyAccess {
            key: format!("user:{i}"),
            count: 30,
            hits: 20,
            misses: 10,
        })
        .collect();
    st.apply(&sample(T0, Body::KeyAccesses(keys)));
    st.tick(T0);
    let fx = st.warm_round(T0);
    let [Effect::Probe(probed)] = fx.as_slice() else {
        panic!("{fx:?}");
    };
    assert_eq!(probed.len(), 5);
    let obs = (1..=5)
        .map(|i| KeyObs {
            key: format!("user:{i}"),
            node: WARM_SOURCE,
            ttl_ms: (i <= 2).then_some(100_000),
            accesses: 0,
        })
        .collect();
    st.apply(&Sample {
        source: WARM_SOURCE,
        generation: 0,
        at: T0,
        body: Body::Keys(obs),
    });
    let at = T0.add_secs(1);
    let fx = st.warm_round(at);
    zoom(&mut st, Pane::Warming, at.add_secs(2));
    (st, fx)
}

#[test]
fn without_auto_warm_the_round_only_says_what_it_would_do() {
    let (st, fx) = answered_round(false);
    assert!(fx.is_empty(), "nothing starts by itself: {fx:?}");
    assert!(st.jobs.active().is_empty());
    let s = screen(&st, 120, 16);
    assert!(
        s.contains("auto-warm off · round 2s ago would refresh 2 keys, would fill 3"),
        "{s}"
    );
    assert!(!s.contains("AUTO-WARM"), "{s}");
    insta::assert_snapshot!("warm_round_plan_only", s);
}

#[test]
fn auto_warm_is_shown_in_the_header_and_its_round_starts_one_job_per_rule() {
    let (st, fx) = answered_round(true);
    // The refresh job first; the rule's fill job waits for it to end.
    let [
        Effect::Warm {
            keys,
            refresh: true,
            ..
        },
    ] = fx.as_slice()
    else {
        panic!("{fx:?}");
    };
    assert_eq!(keys.len(), 2);
    let s = screen(&st, 120, 16);
    let header = s.lines().next().unwrap();
    assert!(header.contains(" AUTO-WARM "), "{s}");
    assert!(
        s.contains("AUTO-WARM · round 2s ago: refreshing 2 keys, filling 3"),
        "{s}"
    );
    assert!(s.contains("auto refresh users"), "{s}");
    insta::assert_snapshot!("warm_round_auto", s);
}

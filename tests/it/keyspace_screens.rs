//! Screens fed by a key sampler: the Backends node detail (observer
//! effect, sampler budget and rate, per-prefix estimates with intervals),
//! the Heatmap's sampled prefix rows and their detail, and TTL cliffs in
//! the Warming pane. Synthetic, deterministic batches; no server.

use heliostat::action::{Action, Pane};
use heliostat::app::run::chrome;
use heliostat::app::state::{SessionInfo, State};
use heliostat::engines::Timestamp;
use heliostat::engines::keyspace::BudgetRule;
use heliostat::export::to_text;
use heliostat::keymap::Keymap;
use heliostat::sample::{
    Body, KeyHeat, KeyKind, KeyspaceSample, RedisStats, Sample, SampledKey, SourceId, SourceKind,
};
use heliostat::snapshot::render_buffer;
use heliostat::theme::Theme;

const T0: Timestamp = Timestamp::from_secs(1_736_150_400); // 2025-01-06 08:00 UTC
const MIN: i64 = 60_000;

fn sample(at: Timestamp, body: Body) -> Sample {
    Sample {
        source: SourceId(0),
        generation: 1,
        at,
        body,
    }
}

fn key(i: u64) -> SampledKey {
    let (name, kind, ttl, heat, memory) = match i % 10 {
        // Users: no TTL, a few hot.
        0..=5 => (
            format!("ux:user:{i}"),
            KeyKind::Hash,
            -1,
            if i % 50 == 0 { 40 } else { 4 },
            200 + i % 7 * 10,
        ),
        // Sessions written in one burst: they expire together in 20 minutes.
        6..=8 => (
            format!("ux:session:{i}"),
            KeyKind::String,
            20 * MIN + 5_000,
            6,
            90,
        ),
        // Carts: TTLs spread over an hour from 3 h on.
        _ => (
            format!("order:{i}:items"),
            KeyKind::List,
            3 * 3_600_000 + (i as i64 * 7919) % 3_600_000,
            5,
            1200,
        ),
    };
    SampledKey {
        key: name,
        kind,
        ttl_ms: Some(ttl),
        heat: Some(KeyHeat::LfuFreq(heat)),
        memory: Some(memory),
        elements: Some(3),
    }
}

fn stats(commands: u64, own: u64) -> RedisStats {
    RedisStats {
        run_id: 7,
        keyspace_hits: commands / 2,
        keyspace_misses: commands / 20,
        commands,
        used_memory: 64 << 20,
        maxmemory: 256 << 20,
        connected_clients: 12,
        keys: 20_000,
        own_commands: own,
        own_hits: own / 2,
        ..RedisStats::default()
    }
}

/// A live session with one Redis node (keys `ux:user:N`, `ux:session:N`,
/// `order:N:items`: nested prefix rows) whose sampler has seen 2 015 of its
/// 20 000 keys, polled for 30 s (1 800 commands/s, 350 of them the console's).
fn state() -> State {
    let session = SessionInfo {
        writes_allowed: false,
        read_only_reason: Some("read-only".into()),
        ..SessionInfo::default()
    };
    let mut st = State::new(session, 1000);
    st.apply(&sample(
        T0,
        Body::Hello {
            name: "cache-1:6379".into(),
            kind: SourceKind::Redis,
        },
    ));
    for s in 0..=30u64 {
        let at = T0.add_secs(s as i64);
        st.apply(&sample(
            at,
            Body::Health {
                ok: true,
                rtt_us: Some(180),
            },
        ));
        st.apply(&sample(at, Body::Redis(stats(s * 1800, s * 350))));
        {
            let keys = (s * 65..(s + 1) * 65).map(key).collect();
            st.apply(&sample(
                at,
                Body::Keyspace(KeyspaceSample {
                    pass: 1,
                    pass_done: false,
                    db_keys: 20_000,
                    budget: 90,
                    rule: Some(BudgetRule {
                        share_bp: 500,
                        floor: 20,
                        cap: 1000,
                    }),
                    sent: s * 88,
                    delimiter: ":".into(),
                    keys,
                    refused: Vec::new(),
                }),
            ));
        }
        st.tick(at);
    }
    st
}

fn screen(st: &State, w: u16, h: u16) -> String {
    let theme = Theme::default();
    to_text(&render_buffer(
        st,
        &theme,
        &chrome(&Keymap::default(), st.ui.focus),
        w,
        h,
    ))
}

fn focus(st: &mut State, p: Pane) {
    let now = st.now;
    st.handle(Action::Focus(p), now);
    st.handle(Action::Zoom, now);
    st.tick(now);
}

#[test]
fn backends_show_the_sampler_and_the_observer_effect() {
    let mut st = state();
    focus(&mut st, Pane::Backends);
    let s = screen(&st, 140, 30);
    assert!(
        s.contains("console 350 cmd/s = 19.4% of the node's commands"),
        "{s}"
    );
    assert!(
        s.contains("88 cmd/s = 4.9% of node · budget 90 cmd/s (5% of node, 20–1.0k)"),
        "{s}"
    );
    assert!(s.contains("10% of 20.0k keys seen"), "{s}");
    assert!(
        s.contains("ux:user:*") && s.contains("ux:session:*") && s.contains("order:*:items"),
        "{s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn heatmap_prefix_rows_are_sampled_estimates() {
    let mut st = state();
    focus(&mut st, Pane::Heatmap);
    let s = screen(&st, 140, 30);
    assert!(s.contains("ux:user:*") && s.contains("keys "), "{s}");
    assert!(s.contains("sampled: ~"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn warming_lists_the_ttl_cliff() {
    let mut st = state();
    focus(&mut st, Pane::Warming);
    let s = screen(&st, 140, 30);
    assert!(s.contains("TTL cliff ux:session:* on cache-1:6379"), "{s}");
    insta::assert_snapshot!(s);
}

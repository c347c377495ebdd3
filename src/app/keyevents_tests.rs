use super::*;
use crate::app::state::SessionInfo;
use crate::engines::warming::CandidateReason;
use crate::sample::{Body, KeyEventSetup, Sample};

const T0: Timestamp = Timestamp::from_secs(1_736_150_400);
const NODE: SourceId = SourceId(0);

fn live(listening: bool) -> State {
    let session = SessionInfo {
        key_events: listening,
        ..SessionInfo::default()
    };
    let mut st = State::new(session, 1000);
    let hello = Body::Hello {
        name: "cache-1:6379".into(),
        kind: SourceKind::Redis,
    };
    st.apply(&sample(T0, hello));
    st
}

fn sample(at: Timestamp, body: Body) -> Sample {
    Sample {
        source: NODE,
        generation: 1,
        at,
        body,
    }
}

fn setup(flags: &str) -> Body {
    Body::KeyEvents(KeyEvents {
        setup: Some(KeyEventSetup {
            flags: Some(flags.into()),
            refused: None,
            version: "7.0.15".into(),
        }),
        ..KeyEvents::default()
    })
}

fn misses(keys: &[(&str, u32)]) -> Body {
    Body::KeyEvents(KeyEvents {
        missed: keys.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
        ..KeyEvents::default()
    })
}

#[test]
fn a_key_that_keeps_missing_leads_the_queue_found_by_miss_events() {
    let mut st = live(true);
    st.apply(&sample(T0, setup("Exm")));
    // A sampled key, hotter by its estimate, is only predicted.
    let h = st
        .warming
        .record_via("ux:session:1", 500, Signal::SamplerHeat, T0);
    assert!(st.warming.tracker().is_tracked(h));
    for i in 1..=6 {
        let at = T0.add_millis(i * 500);
        st.apply(&sample(at, misses(&[("ux:product:2", 50)])));
        st.tick(at);
    }
    let now = T0.add_secs(3);
    let c = &st.derived.candidates[0];
    assert_eq!(c.name.as_deref(), Some("ux:product:2"));
    assert!(matches!(c.reason, CandidateReason::MissingHot { .. }));
    assert_eq!(c.signal, Signal::MissEvents);
    // Every access misses: the benefit is the rate, in misses/s.
    assert!(
        (c.misses_per_s - c.rate).abs() < 1e-9 && c.rate > 50.0,
        "{c:?}"
    );
    let line = st.miss_events_line(now).map(|l| l.text).unwrap_or_default();
    assert!(line.starts_with("miss events: exact, "), "{line}");
    let board = st.source(NODE).and_then(|s| s.key_events.as_ref());
    assert_eq!(board.map(|b| b.totals[0]), Some(300));
}

#[test]
fn the_pane_names_the_missing_flags_or_the_option() {
    let mut st = live(true);
    st.apply(&sample(T0, setup("Ex")));
    let line = st.miss_events_line(T0).unwrap_or_else(|| panic!("a line"));
    assert!(line.warn);
    assert_eq!(
        line.text,
        "cache-1:6379: miss events off: notify-keyspace-events is `Ex`, needs `Em` (Redis ≥ 6) — adds exact misses per key; costs one pub/sub message per miss"
    );
    let off = live(false)
        .miss_events_line(T0)
        .map(|l| l.text)
        .unwrap_or_default();
    assert!(
        off.starts_with("miss events off") && off.contains("--key-events") && off.contains("`Em`")
    );
    let mut demo = live(true);
    demo.session.demo = true;
    assert_eq!(demo.miss_events_line(T0), None);
}

#[test]
fn a_tracked_key_that_expired_or_was_evicted_is_missing() {
    let mut st = live(true);
    st.apply(&sample(T0, setup("AKE")));
    for k in ["a:1", "b:1"] {
        st.warming.record_via(k, 100, Signal::SamplerHeat, T0);
    }
    let gone = KeyEvents {
        expired: vec!["a:1".into(), "cold:1".into()],
        evicted: vec!["b:1".into()],
        ..KeyEvents::default()
    };
    st.apply(&sample(T0.add_secs(1), Body::KeyEvents(gone)));
    st.tick(T0.add_secs(1));
    let found: Vec<(&str, Signal)> = st
        .derived
        .candidates
        .iter()
        .filter(|c| matches!(c.reason, CandidateReason::MissingHot { .. }))
        .map(|c| (c.name.as_deref().unwrap_or("?"), c.signal))
        .collect();
    assert_eq!(
        found,
        [
            ("a:1", Signal::ExpiredEvents),
            ("b:1", Signal::EvictedEvents)
        ]
    );
    assert!(
        !st.warming
            .tracker()
            .is_tracked(crate::engines::intern::key_hash("cold:1"))
    );
}

#[test]
fn the_selection_stays_on_its_key_as_the_queue_reorders() {
    let mut st = live(true);
    st.apply(&sample(T0, setup("Exm")));
    st.apply(&sample(T0, misses(&[("a", 30), ("b", 20), ("c", 10)])));
    st.tick(T0);
    let names = |st: &State| -> Vec<String> {
        st.derived
            .candidates
            .iter()
            .filter_map(|c| c.name.clone())
            .collect()
    };
    assert_eq!(names(&st), ["a", "b", "c"]);
    st.ui.panes.warming.selected = 1;
    // "c" now misses most: the order changes, the selection stays on "b".
    st.apply(&sample(T0.add_secs(1), misses(&[("c", 200)])));
    st.tick(T0.add_secs(1));
    assert_eq!(names(&st)[0], "c");
    let i = st.ui.selected(crate::action::Pane::Warming);
    assert_eq!(st.derived.candidates[i].name.as_deref(), Some("b"));
}

#[test]
fn the_title_says_how_many_a_filter_shows() {
    let mut st = live(true);
    st.apply(&sample(T0, setup("Exm")));
    st.apply(&sample(
        T0,
        misses(&[("ux:product:2", 30), ("ux:user:1", 20), ("ux:user:2", 10)]),
    ));
    st.handle(
        crate::action::Action::Focus(crate::action::Pane::Warming),
        T0,
    );
    st.ui.panes.warming.filter = "user".to_string();
    st.tick(T0);
    let chrome = crate::app::run::chrome(&crate::keymap::Keymap::default(), st.ui.focus);
    let theme = crate::theme::Theme::default();
    let screen = crate::export::to_text(&crate::snapshot::render_buffer(
        &st, &theme, &chrome, 200, 50,
    ));
    assert!(screen.contains("2 of 3 shown"), "{screen}");
    let row = screen
        .lines()
        .find(|l| l.contains("ux:user:1"))
        .unwrap_or("");
    assert!(
        row.contains("missing-hot") && row.contains("miss events"),
        "{screen}"
    );
    assert!(screen.contains("miss events: exact,"), "{screen}");
}

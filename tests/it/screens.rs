//! Screen snapshots of the demo at fixed sizes (insta), plus per-cell colour
//! checks where colour carries meaning. Everything is driven by the
//! deterministic demo (seed 42, virtual clock), never by the environment.

use heliostat::action::{Action, Pane};
use heliostat::app::driver::DemoDriver;
use heliostat::app::run::chrome;
use heliostat::app::state::{SessionInfo, State};
use heliostat::engines::heatmap::Temperature;
use heliostat::export::to_text;
use heliostat::keymap::{Keymap, KeysConfig};
use heliostat::sample::{Body, Sample, SourceId, SourceStatus};
use heliostat::snapshot::render_buffer;
use heliostat::theme::Theme;
use ratatui::buffer::Buffer;

const SEED: u64 = 42;

fn driver_with(session: SessionInfo, secs: i64) -> DemoDriver {
    let mut d = DemoDriver::new(SEED, session, 1000);
    d.advance(secs);
    d
}

fn driver(secs: i64) -> DemoDriver {
    driver_with(DemoDriver::demo_session(), secs)
}

fn buffer(state: &State, theme: &Theme, keymap: &Keymap, w: u16, h: u16) -> Buffer {
    render_buffer(state, theme, &chrome(keymap, state.ui.focus), w, h)
}

fn screen(state: &State, w: u16, h: u16) -> String {
    to_text(&buffer(state, &Theme::default(), &Keymap::default(), w, h))
}

#[test]
fn full_screen_120x40() {
    let d = driver(1200);
    insta::assert_snapshot!(screen(&d.state, 120, 40));
}

#[test]
fn full_screen_200x50() {
    let d = driver(1200);
    insta::assert_snapshot!(screen(&d.state, 200, 50));
}

fn pane_screens(w: u16, h: u16, zoom: bool) -> Vec<(Pane, String)> {
    let mut d = driver(1200);
    Pane::ALL
        .iter()
        .map(|&p| {
            d.act(Action::Focus(p));
            if zoom {
                d.act(Action::Zoom);
            }
            let s = screen(&d.state, w, h);
            d.act(Action::Back);
            (p, s)
        })
        .collect()
}

#[test]
fn every_pane_at_120x40() {
    for (p, s) in pane_screens(120, 40, true) {
        insta::assert_snapshot!(format!("pane_{}_120x40", p.name()), s);
    }
}

#[test]
fn every_pane_at_80x24() {
    for (p, s) in pane_screens(80, 24, false) {
        assert!(s.contains(p.title()), "tab bar shows {}", p.title());
        insta::assert_snapshot!(format!("pane_{}_80x24", p.name()), s);
    }
}

#[test]
fn help_overlay() {
    let mut d = driver(300);
    d.act(Action::Help);
    let s = screen(&d.state, 120, 40);
    assert!(s.contains("help"));
    insta::assert_snapshot!(s);
}

#[test]
fn confirm_dialog() {
    let mut d = driver(600);
    d.act(Action::Focus(Pane::Warming));
    d.act(Action::Mark);
    d.act(Action::Warm);
    let s = screen(&d.state, 120, 40);
    assert!(s.contains("Warm 1 keys?"));
    insta::assert_snapshot!(s);
}

#[test]
fn too_small() {
    let d = driver(60);
    let s = screen(&d.state, 50, 12);
    assert!(s.contains("terminal too small (need 60×15"));
    insta::assert_snapshot!(s);
    // And never a panic at any tiny size.
    for (w, h) in [(1, 1), (59, 40), (200, 14), (0, 0)] {
        let _ = screen(&d.state, w, h);
    }
}

#[test]
fn paused_holds_the_screen() {
    let mut d = driver(300);
    d.act(Action::Pause);
    let before = screen(&d.state, 120, 40);
    d.advance(30);
    let after = screen(&d.state, 120, 40);
    assert!(before.contains("PAUSED"));
    assert_eq!(before, after, "the screen holds while data keeps coming");
    insta::assert_snapshot!(after);
    d.act(Action::Pause);
    assert_ne!(
        screen(&d.state, 120, 40),
        after,
        "unpausing shows the new data"
    );
}

#[test]
fn read_only_refuses_writes_and_says_so() {
    let mut session = DemoDriver::demo_session();
    session.writes_allowed = false;
    let mut d = driver_with(session, 300);
    d.act(Action::Focus(Pane::Warming));
    d.act(Action::Warm);
    let s = screen(&d.state, 120, 40);
    assert!(s.contains("READ-ONLY"));
    assert!(s.contains("read-only: warming writes"));
    insta::assert_snapshot!(s);
}

#[test]
fn prod_context_banner() {
    let session = SessionInfo {
        context: Some("prod".into()),
        banner: Some(("PROD".into(), "red".into())),
        demo: false,
        writes_allowed: false,
        redact_keys: true,
        read_only_reason: Some("context prod does not allow writes".into()),
        ..SessionInfo::default()
    };
    let d = driver_with(session, 300);
    let buf = buffer(&d.state, &Theme::default(), &Keymap::default(), 120, 40);
    let s = to_text(&buf);
    assert!(s.starts_with(" PROD · context prod"));
    assert!(!s.contains("users:1000"), "--redact-keys hides key names");
    assert_eq!(
        buf[(0, 0)].bg,
        ratatui::style::Color::Red,
        "the banner is red"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn source_in_error() {
    let mut d = driver(300);
    let now = d.now();
    d.state.apply(&Sample {
        source: SourceId(1),
        generation: 0,
        at: now,
        body: Body::Status(SourceStatus::Error("NOAUTH Authentication required".into())),
    });
    d.state.apply(&Sample {
        source: SourceId(2),
        generation: 0,
        at: now,
        body: Body::Status(SourceStatus::Retrying {
            at: now.add_secs(4),
            reason: "connection refused".into(),
        }),
    });
    // The reasons in full where there is room, shortened where there is not.
    let wide = screen(&d.state, 200, 50);
    assert!(
        wide.contains("redis-b NOAUTH Authentication required"),
        "{wide}"
    );
    assert!(
        wide.contains("redis-c down: connection refused · retry in 4s"),
        "{wide}"
    );
    let s = screen(&d.state, 120, 40);
    assert!(s.contains("redis-b NOAUTH Authenticati…"), "{s}");
    assert!(
        s.contains("redis-c down: connection refused · retry in 4s"),
        "{s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn custom_keymap_changes_hints_and_help() {
    let mut cfg = KeysConfig::default();
    cfg.0
        .entry("warming".into())
        .or_default()
        .insert("warm".into(), vec!["x".into()]);
    let keymap = Keymap::with_overrides(&cfg).expect("valid override");
    let mut d = driver(120);
    d.act(Action::Focus(Pane::Warming));
    let s = to_text(&buffer(&d.state, &Theme::default(), &keymap, 120, 40));
    assert!(s.contains(" x warm "), "hint bar shows the overridden key");
    insta::assert_snapshot!(s);
}

#[test]
fn hot_and_cold_rows_differ_in_colour() {
    let mut d = driver(1200);
    // Zoom the heatmap and sort by name so hot and cooler rows share the screen.
    d.act(Action::Zoom);
    for _ in 0..3 {
        d.act(Action::CycleSort);
    }
    let theme = Theme::default();
    let buf = buffer(&d.state, &theme, &Keymap::default(), 200, 50);
    let view = d.state.derived.heatmap.as_ref().expect("heatmap");
    let hot = view
        .rows
        .iter()
        .position(|r| r.temperature == Temperature::Hot);
    let cold = view
        .rows
        .iter()
        .position(|r| r.temperature != Temperature::Hot);
    let (Some(_), Some(_)) = (hot, cold) else {
        panic!("the demo has both hot and cooler rows");
    };
    // Find the temperature labels on screen and check their colours.
    let find = |label: &str| {
        let area = buf.area;
        (area.y..area.y + area.height).find_map(|y| {
            let line: String = (0..area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            line.find(&format!(" {label} ")).map(|i| {
                let x = line[..i].chars().count() as u16 + 1;
                buf[(x, y)].fg
            })
        })
    };
    assert_eq!(
        find("hot"),
        theme.hot.fg,
        "hot rows use the theme's hot colour"
    );
    let other = ["warm", "cold", "frozen"].iter().find_map(|l| find(l));
    assert!(other.is_some());
    assert_ne!(other, theme.hot.fg);
}

#[test]
fn mono_theme_keeps_meaning_without_colour() {
    let d = driver(600);
    let theme = Theme::builtin("mono").expect("mono");
    let s = to_text(&buffer(&d.state, &theme, &Keymap::default(), 120, 40));
    insta::assert_snapshot!(s);
}

#[test]
fn same_arguments_same_bytes() {
    let a = screen(&driver(900).state, 120, 40);
    let b = screen(&driver(900).state, 120, 40);
    assert_eq!(a, b);
}

#[test]
fn an_event_stream_shows_its_rate_lag_and_malformed_entries() {
    use heliostat::sample::{SourceKind, StreamStats};
    let mut d = driver(300);
    let now = d.now();
    let id = SourceId(900);
    let sample = |at, body| Sample {
        source: id,
        generation: 1,
        at,
        body,
    };
    d.state.apply(&sample(
        now,
        Body::Hello {
            name: "events ev".into(),
            kind: SourceKind::Events,
        },
    ));
    let stats = |read, malformed| StreamStats {
        read,
        malformed,
        last_malformed: Some("17-0: hit must be 1 or 0, got \"maybe\"".into()),
        lag_ms: Some(3_000),
        ..StreamStats::default()
    };
    d.state.apply(&sample(now, Body::Stream(stats(1_000, 0))));
    d.state
        .apply(&sample(now.add_secs(1), Body::Stream(stats(3_500, 2))));
    d.state.tick(now.add_secs(1));
    let s = screen(&d.state, 160, 40);
    assert!(s.contains("events ev 2.5k/s 3s behind 2 malformed"), "{s}");
    assert!(
        s.contains("event stream: 2 malformed entries skipped; latest 17-0: hit must be 1 or 0"),
        "the reason is in the status line"
    );
}

#[test]
fn the_warming_filter_sees_only_what_a_redacted_screen_shows() {
    let session = SessionInfo {
        redact_keys: true,
        ..DemoDriver::demo_session()
    };
    let mut d = driver_with(session, 300);
    let now = d.now();
    d.state.handle(Action::Focus(Pane::Warming), now);
    let filtered = |d: &mut DemoDriver, text: &str| {
        let now = d.now();
        d.state.ui.panes.warming.filter = text.to_string();
        d.state.tick(now);
        d.state.derived.candidates.len()
    };
    assert!(filtered(&mut d, "") > 0);
    assert!(filtered(&mut d, "users") > 0, "the prefix is shown");
    assert_eq!(filtered(&mut d, "1000"), 0, "a hidden id matches nothing");
    let mut open = driver(300);
    assert!(filtered(&mut open, "1000") > 0, "unredacted, it does");
}

/// The demo's node failure: once redis-c is down its last figures are
/// not shown as current: `–` in the Backends row with its reason and
/// their age, left out of the header's total, and ranked last by the
/// Optimizer with the reason.
#[test]
fn a_down_node_shows_stale_not_live_figures() {
    let mut d = driver(600);
    let down = |d: &DemoDriver| {
        matches!(
            d.state.source(SourceId(2)).map(|s| &s.status),
            Some(SourceStatus::Retrying { .. })
        )
    };
    let mut waited = 0;
    while !down(&d) {
        d.advance(1);
        waited += 1;
        assert!(waited < 1200, "the demo's node failure comes within 20 min");
    }
    d.advance(14);
    assert!(down(&d), "still down 14 s later");
    let row = |d: &DemoDriver, name: &str| {
        d.state
            .derived
            .backends
            .iter()
            .find(|b| b.name == name)
            .cloned()
            .expect("a row")
    };
    let c = row(&d, "redis-c");
    assert_eq!(c.ops_per_sec, None, "no current rate for a down node");
    let (why, age) = c.stale.clone().expect("stale");
    assert_eq!(why, "down: connection refused");
    assert!(age.is_some_and(|ms| ms >= 14_000), "{age:?}");
    // The header's total is the live nodes' only.
    let live: f64 = ["redis-a", "redis-b"]
        .iter()
        .map(|n| row(&d, n).ops_per_sec.expect("live"))
        .sum();
    let total = d.state.derived.ops_per_sec.expect("a total");
    assert!((total - live).abs() < 1e-6, "{total} vs {live}");
    assert_eq!(d.state.derived.stale_nodes, 1);
    // The Optimizer ranks it last, saying why.
    let last = d.state.derived.ranking.last().expect("ranked");
    assert_eq!(last.name, "redis-c");
    assert_eq!(
        last.unavailable.as_deref(),
        Some("down: connection refused")
    );
    assert!(
        d.state.derived.ranking[..d.state.derived.ranking.len() - 1]
            .iter()
            .all(|r| r.unavailable.is_none())
    );
    let s = screen(&d.state, 200, 50);
    assert!(s.contains("(1 down node left out)"), "{s}");
    assert!(s.contains("redis-c down: connection refused"), "{s}");
    d.act(Action::Focus(Pane::Backends));
    let sel = d
        .state
        .derived
        .backends
        .iter()
        .position(|b| b.name == "redis-c")
        .expect("listed");
    for _ in 0..sel {
        d.act(Action::Down);
    }
    d.act(Action::Zoom);
    let backends = screen(&d.state, 160, 40);
    assert!(
        backends.contains("redis-c: down: connection refused · next attempt in"),
        "{backends}"
    );
    d.act(Action::Back);
    d.act(Action::Focus(Pane::Optimizer));
    d.act(Action::Zoom);
    let optimizer = screen(&d.state, 160, 40);
    insta::assert_snapshot!("demo_down_node", format!("{s}\n{backends}\n{optimizer}"));
}

/// The symbols and foreground colours of the heatmap row `name` tagged
/// `tag` (its grid cells: after the name and tag, up to the ratio columns).
fn heat_cells(buf: &Buffer, row: &str) -> Vec<(String, Option<ratatui::style::Color>)> {
    let (name, tag) = row.split_once(' ').unwrap_or((row, ""));
    let tag = tag.trim();
    let area = buf.area;
    let glyph = |x: u16, y: u16| "░▒▓█·╳".contains(buf[(x, y)].symbol());
    (area.y..area.y + area.height)
        .find_map(|y| {
            let cells: Vec<String> = (0..area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            let line: String = cells.concat();
            // The name starts the row (after the border) and the tag follows.
            let rest = line.strip_prefix('┃')?.strip_prefix(name)?;
            if rest.split_whitespace().next()? != tag {
                return None;
            }
            let x0 = (1 + name.chars().count() as u16..area.width).find(|&x| glyph(x, y))?;
            let cells: Vec<_> = (x0..area.width)
                .take_while(|&x| glyph(x, y))
                .map(|x| (buf[(x, y)].symbol().to_string(), Some(buf[(x, y)].fg)))
                .collect();
            Some(cells)
        })
        .unwrap_or_default()
}

#[test]
fn the_heatmap_shows_bursts_in_colour_and_without() {
    let mut d = driver(1200);
    d.act(Action::Zoom);
    let theme = Theme::default();
    let buf = buffer(&d.state, &theme, &Keymap::default(), 120, 40);
    let users = heat_cells(&buf, "users cache");
    assert!(users.len() >= 50, "{users:?}");
    // The hottest row is not one solid block: its burst stands out.
    let glyphs: std::collections::BTreeSet<&str> = users.iter().map(|(s, _)| s.as_str()).collect();
    assert!(glyphs.len() >= 3, "{glyphs:?}");
    assert!(glyphs.contains("█") && glyphs.contains("▒"));
    // Colours are rates on one scale: a busy row is further up the ramp
    // than a quiet one.
    let rank = |cells: &[(String, Option<ratatui::style::Color>)]| {
        cells
            .iter()
            .filter_map(|(_, c)| theme.heat_ramp.iter().position(|r| Some(*r) == *c))
            .max()
    };
    let quiet = heat_cells(&buf, "payments db");
    assert!(
        rank(&users) > rank(&quiet),
        "{:?} {:?}",
        rank(&users),
        rank(&quiet)
    );
    // Without colour, the same shapes carry the bursts.
    let mono = Theme::builtin("mono").expect("mono");
    let mbuf = buffer(&d.state, &mono, &Keymap::default(), 120, 40);
    let plain = heat_cells(&mbuf, "users cache");
    let shapes = |v: &[(String, Option<ratatui::style::Color>)]| {
        v.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>()
    };
    assert_eq!(shapes(&plain), shapes(&users));
    assert!(
        plain
            .iter()
            .all(|(_, c)| rank(&[(String::new(), *c)]).is_none())
    );
    d.act(Action::Back);
    let text = to_text(&buffer(&d.state, &mono, &Keymap::default(), 80, 24));
    insta::assert_snapshot!("heatmap_mono_80x24", text);
}

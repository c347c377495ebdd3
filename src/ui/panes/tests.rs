//! Each pane alone, drawn into a buffer of its own size from the
//! deterministic demo (seed 42, virtual clock): a pane's change moves its
//! own snapshots, not the full screen's. Narrow (a pane in the full
//! layout) and wide (zoomed on a big terminal), so the columns each width
//! drops and keeps are on record.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::action::{Action, Pane};
use crate::app::driver::DemoDriver;
use crate::export::to_text;
use crate::theme::Theme;
use crate::ui::Canvas;

fn demo() -> DemoDriver {
    let mut d = DemoDriver::new(42, DemoDriver::demo_session(), 1000);
    d.advance(1200);
    d
}

fn pane(d: &DemoDriver, pane: Pane, w: u16, h: u16) -> String {
    let area = Rect::new(0, 0, w, h);
    let mut buf = Buffer::empty(area);
    super::render(
        &mut Canvas::new(&mut buf, area),
        area,
        pane,
        &d.state,
        &Theme::default(),
        d.state.ui.focus == pane,
    );
    to_text(&buf)
}

#[test]
fn each_pane_narrow_and_wide() {
    let mut d = demo();
    for p in Pane::ALL {
        d.act(Action::Focus(p));
        insta::assert_snapshot!(format!("{}_56x18", p.name()), pane(&d, p, 56, 18));
        insta::assert_snapshot!(format!("{}_150x30", p.name()), pane(&d, p, 150, 30));
    }
}

#[test]
fn the_sorted_column_shows_its_direction_and_stays_when_narrow() {
    let mut d = demo();
    d.act(Action::Focus(Pane::Backends));
    // p99 is among the first to go when narrow; sorted by it, it stays.
    d.act(Action::CycleSort);
    let narrow = pane(&d, Pane::Backends, 40, 12);
    assert!(narrow.contains("p50▼"), "{narrow}");
    d.act(Action::ReverseSort);
    let narrow = pane(&d, Pane::Backends, 40, 12);
    assert!(narrow.contains("p50▲"), "{narrow}");
    insta::assert_snapshot!("backends_by_p50_ascending_40x12", narrow);
}

#[test]
fn sessions_show_a_blocker_an_idle_transaction_and_the_redis_clients() {
    let mut d = DemoDriver::new(42, DemoDriver::demo_session(), 1000);
    // Early in the demo batch job's cycle: its transaction sits idle,
    // holding the row a checkout update waits for.
    d.advance(1235);
    d.act(Action::Focus(Pane::Sessions));
    let pg = pane(&d, Pane::Sessions, 150, 24);
    let row = |s: &str, pid: &str| {
        s.lines()
            .find(|l| l.contains(pid))
            .unwrap_or("")
            .to_string()
    };
    assert!(row(&pg, " 6001 ").contains("idle in xact"), "{pg}");
    assert!(
        row(&pg, "checkout").contains("6001"),
        "blocked by the batch: {pg}"
    );
    insta::assert_snapshot!("sessions_postgres_150x24", pg);
    // The waiting update, selected: its blocker in words under the table.
    let waiting = d
        .state
        .derived
        .sessions
        .pg
        .iter()
        .position(|(_, s)| s.blocked())
        .expect("a blocked session");
    d.state.ui.panes.sessions.pg.selected = waiting;
    let detail = pane(&d, Pane::Sessions, 150, 24);
    assert!(
        detail.contains("blocked by pid 6001: batch-etl · idle in xact for"),
        "{detail}"
    );
    d.act(Action::CycleSessionsView);
    let groups = pane(&d, Pane::Sessions, 120, 16);
    assert!(groups.contains("redis clients by name"), "{groups}");
    insta::assert_snapshot!("sessions_redis_groups_120x16", groups);
    d.act(Action::CycleSessionsView);
    let clients = pane(&d, Pane::Sessions, 150, 16);
    insta::assert_snapshot!("sessions_redis_clients_150x16", clients);
    // heliostat's own connections, filtered: they say so.
    d.state.ui.panes.sessions.clients.filter = "heliostat".into();
    let now = d.state.now;
    d.state.recompute(now);
    let own = pane(&d, Pane::Sessions, 150, 10);
    assert!(own.contains("(this console)"), "{own}");
    assert!(!own.contains("events-fanout"), "{own}");
    d.act(Action::CycleSessionsView);
    assert_eq!(
        d.state.ui.panes.sessions.list,
        crate::app::panes::SessionsList::Postgres
    );
}

#[test]
fn one_endpoint_needs_no_endpoint_column() {
    use crate::app::state::{SessionInfo, State};
    use crate::engines::Timestamp;
    use crate::engines::sessions::{PgSession, PgSessionList, PgState};
    use crate::sample::{Body, Sample, SourceId, SourceKind};
    let at = Timestamp(1_000);
    let mut st = State::new(SessionInfo::default(), 1000);
    let sample = |body| Sample {
        source: SourceId(1),
        generation: 1,
        at,
        body,
    };
    st.apply(&sample(Body::Hello {
        name: "db:5432/app".into(),
        kind: SourceKind::PgPrimary,
    }));
    st.apply(&sample(Body::PgSessions(PgSessionList {
        rows: vec![PgSession {
            pid: 4242,
            application: "report".into(),
            state: PgState::Active,
            query_ms: Some(61_000),
            ..PgSession::default()
        }],
        total: 1,
        ..PgSessionList::default()
    })));
    st.handle(Action::Focus(Pane::Sessions), at);
    st.tick(at);
    let area = Rect::new(0, 0, 100, 6);
    let mut buf = Buffer::empty(area);
    super::render(
        &mut Canvas::new(&mut buf, area),
        area,
        Pane::Sessions,
        &st,
        &Theme::default(),
        true,
    );
    let text = to_text(&buf);
    assert!(text.contains("1 on 1 endpoint ·"), "{text}");
    assert!(!text.contains("┃endpoint"), "{text}");
    assert!(text.contains("┃    pid"), "the pid leads: {text}");
    assert!(text.contains("1m01s"), "{text}");

    // No list for 20 s: the rows are history, drawn dim under a note.
    st.tick(Timestamp(at.0 + 20_000));
    let area = Rect::new(0, 0, 100, 6);
    let mut buf = Buffer::empty(area);
    let theme = Theme::default();
    super::render(
        &mut Canvas::new(&mut buf, area),
        area,
        Pane::Sessions,
        &st,
        &theme,
        false,
    );
    let text = to_text(&buf);
    assert!(
        text.contains("db:5432/app: list 20s old, not current"),
        "{text}"
    );
    let (x, y) = (0..area.height)
        .flat_map(|y| (0..area.width).map(move |x| (x, y)))
        .find(|&(x, y)| buf[(x, y)].symbol() == "4" && buf[(x + 1, y)].symbol() == "2")
        .expect("the pid is drawn");
    assert_ne!(theme.dim.fg, theme.text.fg, "dim must differ from text");
    assert_eq!(buf[(x, y)].fg, theme.dim.fg.unwrap_or_default(), "{text}");
}

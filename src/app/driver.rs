//! Drives the demo and the state together in virtual time, synchronously:
//! what the `snapshot` command and the screen tests use (and the live demo
//! uses for its warm-up), so a seed and a time always give the same screen.

use super::actions::Effect;
use super::state::{SessionInfo, State};
use crate::action::Action;
use crate::engines::Timestamp;
use crate::sources::demo::{DEMO_EPOCH, Demo};

/// The demo and the app state advanced together.
#[derive(Debug)]
pub struct DemoDriver {
    /// The simulation.
    pub demo: Demo,
    /// The app state.
    pub state: State,
    now: Timestamp,
    next_tick: Timestamp,
}

impl DemoDriver {
    /// A fresh demo at the epoch.
    pub fn new(seed: u64, session: SessionInfo, refresh_ms: u64) -> Self {
        Self {
            demo: Demo::new(seed),
            state: State::new(session, refresh_ms),
            now: DEMO_EPOCH.add_secs(-1),
            next_tick: DEMO_EPOCH,
        }
    }

    /// The default demo session (writes allowed: they only touch the simulation).
    pub fn demo_session() -> SessionInfo {
        SessionInfo {
            context: None,
            banner: None,
            demo: true,
            writes_allowed: true,
            // The demo never warms by itself: its jobs start on "y".
            auto_warm: false,
            redact_keys: false,
            key_delimiter: crate::engines::keyspace::DEFAULT_DELIMITER.to_string(),
            read_only_reason: None,
            pg_capacity: None,
            key_events: false,
            event_stream: None,
        }
    }

    /// Virtual time reached so far.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Simulate second by second up to `t`, applying samples and closing a
    /// data tick every refresh interval.
    pub fn advance_to(&mut self, t: Timestamp) {
        let mut ticked = false;
        while self.now.add_secs(1) <= t {
            self.now = self.now.add_secs(1);
            for s in self.demo.step(self.now) {
                self.state.apply(&s);
            }
            if self.now >= self.next_tick {
                self.state.close_tick(self.now);
                ticked = true;
                let step = i64::try_from(self.state.refresh_ms.max(250)).unwrap_or(1000);
                self.next_tick = self.now.add_millis(step);
            }
        }
        // Only the last tick's view is ever looked at: derive it once.
        if ticked && !self.state.ui.paused {
            self.state.recompute(self.now);
        }
    }

    /// Advance `secs` seconds.
    pub fn advance(&mut self, secs: i64) {
        let t = self.now.add_secs(secs);
        self.advance_to(t);
    }

    /// Perform an action as a key press would, carrying out its effects on
    /// the simulation. Returns the effects (for UI-level ones like Quit).
    pub fn act(&mut self, action: Action) -> Vec<Effect> {
        let fx = self.state.handle(action, self.now);
        for e in &fx {
            self.perform(e);
        }
        fx
    }

    /// Carry out a demo-level effect.
    pub fn perform(&mut self, e: &Effect) {
        match e {
            Effect::Warm { job, keys, .. } => self.demo.submit_warm(*job, keys.clone()),
            Effect::CancelWarm(job) => self.demo.cancel_warm(*job),
            // Live-only effects: the demo has no rules or servers to ask.
            Effect::Preload { .. } | Effect::DryRun { .. } | Effect::Probe(_) => {}
            Effect::Quit
            | Effect::Suspend
            | Effect::SaveScreen
            | Effect::CycleTheme
            | Effect::Refresh(_)
            | Effect::Session(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Pane;
    use crate::app::ui_state::Mode;

    #[test]
    fn warming_from_keys_runs_a_real_job() {
        let mut d = DemoDriver::new(42, DemoDriver::demo_session(), 1000);
        d.advance(300);
        d.act(Action::Focus(Pane::Warming));
        assert!(
            !d.state.derived.candidates.is_empty(),
            "queue has candidates"
        );
        d.act(Action::Mark);
        d.act(Action::Mark);
        d.act(Action::Warm);
        assert_eq!(d.state.ui.mode, Mode::Confirm);
        let fx = d.act(Action::Confirm);
        assert!(matches!(fx.as_slice(), [Effect::Warm { keys, .. }] if keys.len() == 2));
        d.advance(3);
        let job = d.state.jobs.recent().next().expect("finished job");
        assert_eq!(job.progress.done, 2);
        assert!(job.state.is_terminal());
    }

    #[test]
    fn read_only_refuses_warming() {
        let mut session = DemoDriver::demo_session();
        session.writes_allowed = false;
        let mut d = DemoDriver::new(1, session, 1000);
        d.advance(120);
        d.act(Action::Focus(Pane::Warming));
        let fx = d.act(Action::WarmAll);
        assert!(fx.is_empty());
        let status = d.state.ui.status.clone().expect("status");
        assert!(status.error && status.text.contains("read-only"));
    }

    #[test]
    fn left_scrolls_the_heatmap_back_in_time_and_nothing_else() {
        let mut d = DemoDriver::new(3, DemoDriver::demo_session(), 1000);
        d.advance(600);
        let start = |d: &DemoDriver| d.state.derived.heatmap.as_ref().map(|h| h.start);
        let before = start(&d);
        d.act(Action::Left);
        d.act(Action::Left);
        let after = start(&d);
        assert_eq!(
            after.zip(before).map(|(a, b)| b.millis_since(a)),
            Some(20_000)
        );
        assert_eq!(d.state.ui.selected(Pane::Heatmap), 0, "rows did not move");
        d.act(Action::Focus(Pane::Clients));
        d.act(Action::Left);
        assert_eq!(d.state.ui.selected(Pane::Clients), 0);
    }

    #[test]
    fn left_before_any_data_keeps_the_view_live() {
        let mut d = DemoDriver::new(3, DemoDriver::demo_session(), 1000);
        d.act(Action::Left);
        assert_eq!(d.state.ui.heat_end, None);
    }

    #[test]
    fn the_time_axis_keeps_its_place_across_zoom_and_scrolls_while_paused() {
        let mut d = DemoDriver::new(3, DemoDriver::demo_session(), 1000);
        d.advance(3 * 3600);
        let view = |d: &DemoDriver| d.state.derived.heatmap.clone().expect("heatmap");
        // Three columns of 10 s back, then zoomed out three steps (10 s →
        // 5 min): the newest column holds the same time, 30 s back, not
        // three 5-minute columns back.
        for _ in 0..3 {
            d.act(Action::Left);
        }
        let end = d.state.ui.heat_end.expect("scrolled");
        assert_eq!(d.state.now.millis_since(end) / 1000, 29);
        for _ in 0..3 {
            d.act(Action::TimeZoomOut);
        }
        let v = view(&d);
        assert_eq!(v.resolution_s, 300);
        let newest = v.column_start(v.columns - 1);
        assert!(newest <= end && end < newest.add_secs(300));
        assert!(v.rows.iter().any(|r| r.hit_ratio.is_some()), "not n/a");
        // Paused, the other panes hold and the time axis still moves.
        d.act(Action::Pause);
        let held = d.state.derived.at;
        d.advance(20);
        d.act(Action::Left);
        let v = view(&d);
        assert_eq!(d.state.derived.at, held, "the screen holds");
        let end = d.state.ui.heat_end.expect("scrolled");
        assert!(v.column_start(v.columns - 1) <= end);
        assert!(end < newest, "a column earlier");
        // End (time_now) follows now again.
        d.act(Action::TimeNow);
        assert_eq!(d.state.ui.heat_end, None);
        let v = view(&d);
        let newest = v.column_start(v.columns - 1);
        let res = i64::from(v.resolution_s);
        assert!(
            newest <= held && held < newest.add_secs(res),
            "the held time"
        );
        d.act(Action::Pause);
        let v = view(&d);
        let newest = v.column_start(v.columns - 1);
        assert!(newest <= d.state.now && d.state.now < newest.add_secs(res));
    }

    #[test]
    fn the_help_overlay_swallows_keys_meant_for_the_pane_underneath() {
        let mut d = DemoDriver::new(3, DemoDriver::demo_session(), 1000);
        d.advance(300);
        d.act(Action::Focus(Pane::Warming));
        d.act(Action::Down);
        let (selected, sort) = (
            d.state.ui.selected(Pane::Warming),
            d.state.ui.panes.warming.order(),
        );
        d.act(Action::Help);
        assert!(d.state.ui.help);
        for a in [
            Action::End,
            Action::CycleSort,
            Action::Mark,
            Action::Warm,
            Action::Focus(Pane::Clients),
            Action::Pause,
        ] {
            assert!(d.act(a).is_empty(), "{a:?} did something");
        }
        assert!(d.state.ui.help, "still open");
        assert_eq!(d.state.ui.focus, Pane::Warming);
        assert_eq!(d.state.ui.selected(Pane::Warming), selected);
        assert_eq!(d.state.ui.panes.warming.order(), sort);
        assert!(d.state.ui.marked.is_empty() && !d.state.ui.paused);
        assert_eq!(d.state.ui.mode, Mode::Normal, "no dialog opened");
        d.act(Action::Back);
        assert!(!d.state.ui.help, "esc closes it");
        d.act(Action::Help);
        assert!(matches!(d.act(Action::Quit).as_slice(), [Effect::Quit]));
    }

    #[test]
    fn a_key_with_no_action_says_so() {
        let mut d = DemoDriver::new(3, DemoDriver::demo_session(), 1000);
        d.advance(60);
        let now = d.now();
        d.state.no_action("x", now);
        let s = d.state.ui.status.clone().expect("status");
        assert_eq!(s.text, "x: no action here · ? for help");
        assert!(!s.error);
        d.act(Action::Help);
        d.state.no_action("x", now);
        let s = d.state.ui.status.clone().expect("status");
        assert!(s.text.contains("esc closes the help"), "{}", s.text);
    }

    #[test]
    fn filters_are_per_pane() {
        let mut d = DemoDriver::new(3, DemoDriver::demo_session(), 1000);
        d.advance(300);
        d.act(Action::Filter);
        for c in "users".chars() {
            d.state
                .filter_input(crate::keymap::FilterInput::Char(c), d.now());
        }
        let heat = d.state.derived.heatmap.as_ref().map_or(0, |h| h.rows.len());
        assert!(heat > 0);
        assert!(
            !d.state.derived.backends.is_empty(),
            "other panes keep their rows"
        );
        assert!(!d.state.derived.clients.is_empty());
    }

    #[test]
    fn sorts_run_both_ways_and_say_which() {
        let mut d = DemoDriver::new(3, DemoDriver::demo_session(), 1000);
        d.advance(120);
        d.act(Action::Focus(Pane::Backends));
        let names = |d: &DemoDriver| -> Vec<String> {
            d.state
                .derived
                .backends
                .iter()
                .map(|b| b.name.clone())
                .collect()
        };
        let mut sorted = names(&d);
        sorted.sort();
        assert_eq!(names(&d), sorted, "by name, A first");
        d.act(Action::ReverseSort);
        sorted.reverse();
        assert_eq!(names(&d), sorted, "by name, Z first");
        let status = d.state.ui.status.as_ref().map(|s| s.text.clone());
        assert_eq!(
            status.as_deref(),
            Some("3 Backends: sorted by backend ▼ (s next column · I reverses)")
        );
        // The next order starts its natural way: the slowest first.
        d.act(Action::CycleSort);
        let p50: Vec<f64> = d
            .state
            .derived
            .backends
            .iter()
            .filter_map(|b| b.p50_ms)
            .collect();
        assert!(
            p50.len() >= 2 && p50.windows(2).all(|w| w[0] >= w[1]),
            "{p50:?}"
        );
        d.act(Action::ReverseSort);
        let p50: Vec<f64> = d
            .state
            .derived
            .backends
            .iter()
            .filter_map(|b| b.p50_ms)
            .collect();
        assert!(p50.windows(2).all(|w| w[0] <= w[1]), "{p50:?}");
        // Other panes keep their own order.
        assert_eq!(d.state.ui.panes.warming, Default::default());
    }

    #[test]
    fn status_messages_expire() {
        let mut d = DemoDriver::new(3, DemoDriver::demo_session(), 1000);
        d.advance(60);
        d.act(Action::CycleSort);
        assert!(d.state.ui.status.is_some());
        d.advance(10);
        assert!(d.state.ui.status.is_none());
    }

    #[test]
    fn a_restart_is_visible_as_a_new_generation() {
        let mut d = DemoDriver::new(3, DemoDriver::demo_session(), 1000);
        d.advance(2400);
        let generation = d
            .state
            .source(crate::sample::SourceId(2))
            .map(|s| s.generation);
        assert!(
            generation.is_some_and(|g| g > 0),
            "redis-c restarted: {generation:?}"
        );
    }

    #[test]
    fn same_seed_same_state() {
        let mut a = DemoDriver::new(5, DemoDriver::demo_session(), 1000);
        let mut b = DemoDriver::new(5, DemoDriver::demo_session(), 1000);
        a.advance(200);
        b.advance(200);
        assert_eq!(a.state.derived.heatmap, b.state.derived.heatmap);
        assert_eq!(a.state.derived.hit_series, b.state.derived.hit_series);
    }
}

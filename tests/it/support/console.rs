//! The console's live loop in miniature, for tests against real servers:
//! the live sources (`spawn_live`) feed a real `State`, which is ticked
//! every refresh with the wall clock and rendered as the terminal would
//! show it, so what a test asserts is what is on screen.

use std::time::{Duration, Instant};

use heliostat::action::{Action, Pane};
use heliostat::app::live::{LiveSpec, spawn_live};
use heliostat::app::run::chrome;
use heliostat::app::state::{SessionInfo, State};
use heliostat::export::to_text;
use heliostat::keymap::Keymap;
use heliostat::sample::Sample;
use heliostat::snapshot::render_buffer;
use heliostat::sources::pace::Pace;
use heliostat::sources::redis::wall_now;
use heliostat::theme::Theme;
use tokio::sync::mpsc;

/// Live sources feeding a state, ticked every `refresh`.
pub struct Console {
    rt: tokio::runtime::Runtime,
    rx: mpsc::Receiver<Vec<Sample>>,
    /// What the console knows.
    pub state: State,
    refresh: Duration,
    next_tick: tokio::time::Instant,
}

impl Console {
    /// Watch `spec`, polling and ticking every `refresh`.
    pub fn start(spec: &LiveSpec, refresh: Duration) -> Self {
        Self::start_paced(spec, refresh, refresh)
    }

    /// Watch `spec`, polling every `poll` and ticking every `refresh`.
    pub fn start_paced(spec: &LiveSpec, refresh: Duration, poll: Duration) -> Self {
        let rt = super::runtime();
        let (tx, rx) = mpsc::channel(256);
        {
            let _in_rt = rt.enter();
            spawn_live(spec, &Pace::fixed(poll), &tx);
        }
        let refresh_ms = u64::try_from(refresh.as_millis()).unwrap_or(1000);
        let next_tick = {
            let _in_rt = rt.enter();
            tokio::time::Instant::now() + refresh
        };
        Console {
            rt,
            rx,
            state: State::new(SessionInfo::default(), refresh_ms),
            refresh,
            next_tick,
        }
    }

    /// Apply samples and tick until `done` holds after a tick; panics with
    /// the screen after `limit`. Returns how long it took.
    pub fn until(
        &mut self,
        what: &str,
        limit: Duration,
        mut done: impl FnMut(&State) -> bool,
    ) -> Duration {
        let start = Instant::now();
        let Console {
            rt,
            rx,
            state,
            refresh,
            next_tick,
        } = self;
        let ok = rt.block_on(async {
            let end = tokio::time::Instant::now() + limit;
            loop {
                tokio::select! {
                    batch = rx.recv() => match batch {
                        Some(samples) => samples.iter().for_each(|s| state.apply(s)),
                        None => return false,
                    },
                    () = tokio::time::sleep_until(*next_tick) => {
                        state.tick(wall_now());
                        *next_tick += *refresh;
                        if done(state) {
                            return true;
                        }
                        if tokio::time::Instant::now() >= end {
                            return false;
                        }
                    }
                }
            }
        });
        assert!(
            ok,
            "timed out after {limit:?} waiting for {what}; screen:\n{}",
            self.screen(200, 50)
        );
        start.elapsed()
    }

    /// Keep the console running for `d`.
    pub fn run_for(&mut self, d: Duration) {
        let end = Instant::now() + d;
        self.until("time to pass", d + Duration::from_secs(5), |_| {
            Instant::now() >= end
        });
    }

    /// The whole screen, `w`×`h` cells, as text.
    pub fn screen(&self, w: u16, h: u16) -> String {
        to_text(&render_buffer(
            &self.state,
            &Theme::default(),
            &chrome(&Keymap::default(), self.state.ui.focus),
            w,
            h,
        ))
    }

    /// `pane` zoomed, with its row `row` selected, as text.
    pub fn pane(&mut self, pane: Pane, row: usize, w: u16, h: u16) -> String {
        let now = self.state.derived.at;
        self.state.handle(Action::Focus(pane), now);
        for _ in 0..row {
            self.state.handle(Action::Down, now);
        }
        self.state.handle(Action::Zoom, now);
        self.state.tick(now);
        let s = self.screen(w, h);
        self.state.handle(Action::Back, now);
        for _ in 0..row {
            self.state.handle(Action::Up, now);
        }
        self.state.tick(now);
        s
    }

    /// The header's two lines.
    pub fn header(&self) -> String {
        self.screen(200, 50)
            .lines()
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

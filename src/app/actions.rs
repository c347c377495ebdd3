//! What an `Action` does to the state, and which effects it asks the loop
//! to perform. Pure: no IO here, so tests drive the app with key events.
//!
//! The focused pane gets the first look at an action (so Left/Right scroll
//! the heatmap's time axis there and do nothing elsewhere), then the global
//! handler.

use super::state::State;
use super::ui_state::Mode;
use crate::action::{Action, Pane};
use crate::engines::Timestamp;
use crate::engines::warming::JobState;
use crate::keymap::FilterInput;

/// Something the event loop (or a test driver) must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Leave the console.
    Quit,
    /// Suspend to the shell (Ctrl-Z): the loop gives the terminal back.
    Suspend,
    /// Start warming `keys` as job `job`.
    Warm {
        /// Job id on the board.
        job: u64,
        /// Key names.
        keys: Vec<String>,
        /// Overwrite existing string keys only, whatever the rule's mode
        /// (a background refresh of keys about to expire).
        refresh: bool,
    },
    /// Stop job `job` at its next batch.
    CancelWarm(u64),
    /// Run warm rule `rule`'s preload as job `job` (live).
    Preload {
        /// Job id on the board.
        job: u64,
        /// Rule name.
        rule: String,
    },
    /// Compute the confirm dialog's dry run (live).
    DryRun {
        /// Request number, echoed in the answer.
        id: u64,
        /// Key names, in their rule's mode.
        keys: Vec<String>,
        /// Key names, in refresh mode.
        refresh: Vec<String>,
    },
    /// Probe the hot keys' TTLs for a refresh / predictive round (live).
    Probe(Vec<String>),
    /// Save the screen as txt and svg.
    SaveScreen,
    /// Switch to the next theme.
    CycleTheme,
    /// The data refresh interval changed.
    Refresh(u64),
    /// Cancel, terminate or kill a session (live, after y).
    Session(crate::ops::sessions::SessionOp),
}

const REFRESH_STEPS_MS: [u64; 8] = [250, 500, 1000, 2000, 3000, 5000, 7500, 10_000];

/// What a handler did with an action.
enum Outcome {
    /// Not for this handler.
    Pass,
    /// Done; redraw from the current derived data.
    Done(Vec<Effect>),
    /// Done; a view parameter changed, recompute derived data first.
    Recompute(Vec<Effect>),
}

impl State {
    /// Apply `action` at `now`; returns the effects to perform.
    pub fn handle(&mut self, action: Action, now: Timestamp) -> Vec<Effect> {
        let mut outcome = if self.ui.help {
            self.help_action(action)
        } else {
            Outcome::Pass
        };
        if matches!(outcome, Outcome::Pass) {
            outcome = match self.ui.focus {
                Pane::Heatmap => self.heatmap_action(action),
                Pane::Warming => self.warming_action(action, now),
                Pane::Backends => self.backends_action(action, now),
                Pane::Sessions => self.sessions_action(action, now),
                Pane::Optimizer | Pane::Clients => Outcome::Pass,
            };
        }
        if matches!(outcome, Outcome::Pass) {
            outcome = self.global_action(action, now);
        }
        match outcome {
            Outcome::Pass => Vec::new(),
            Outcome::Done(fx) => fx,
            Outcome::Recompute(fx) => {
                self.recompute(now);
                fx
            }
        }
    }

    /// A key that means nothing where it was pressed: say so briefly,
    /// rather than leave the user wondering whether it arrived.
    pub fn no_action(&mut self, key: &str, now: Timestamp) {
        let text = match self.ui.mode {
            super::ui_state::Mode::Confirm => format!("{key}: no action in this dialog"),
            super::ui_state::Mode::Filter => {
                format!("{key}: no action in the filter box · enter keeps, esc clears")
            }
            _ if self.ui.help => format!("{key}: no action here · esc closes the help"),
            _ => format!("{key}: no action here · ? for help"),
        };
        self.ui.set_status(text, false, now);
    }

    fn help_action(&mut self, action: Action) -> Outcome {
        match action {
            Action::Up => self.ui.help_scroll = self.ui.help_scroll.saturating_sub(1),
            Action::Down => self.ui.help_scroll = self.ui.help_scroll.saturating_add(1),
            Action::PageUp => self.ui.help_scroll = self.ui.help_scroll.saturating_sub(10),
            Action::PageDown => self.ui.help_scroll = self.ui.help_scroll.saturating_add(10),
            Action::Home => self.ui.help_scroll = 0,
            // Closing the overlay and quitting are the global actions'.
            Action::Help | Action::Back | Action::Quit | Action::Suspend => return Outcome::Pass,
            // A modal swallows what it does not use: nothing acts on the
            // pane hidden underneath.
            _ => {}
        }
        Outcome::Done(Vec::new())
    }

    fn heatmap_action(&mut self, action: Action) -> Outcome {
        use crate::engines::heatmap::{scroll_back, scroll_forward};
        // The time the screen shows (held while paused).
        let now = if self.derived.at.0 == 0 {
            self.now
        } else {
            self.derived.at
        };
        // Columns as drawn: wider than the zoom asks where only wider
        // buckets are kept.
        let res = self.derived.heatmap.as_ref().map_or(10, |v| v.resolution_s);
        let oldest = self.heatmap.first_seen();
        let ui = &mut self.ui;
        match action {
            // Left is earlier in time: the anchor moves a column back.
            Action::Left => {
                let from = ui.heat_end.unwrap_or(now);
                let back = scroll_back(from, res, oldest);
                // Nothing earlier (no data yet): a live view stays live.
                if ui.heat_end.is_some() || back != from {
                    ui.heat_end = Some(back);
                }
            }
            Action::Right => {
                ui.heat_end = ui.heat_end.and_then(|end| scroll_forward(end, res, now));
            }
            Action::TimeNow => ui.heat_end = None,
            Action::TimeZoomIn => ui.heat_zoom = ui.heat_zoom.saturating_sub(1),
            Action::TimeZoomOut => {
                let max = self.heatmap.zoom_levels().len().saturating_sub(1);
                ui.heat_zoom = (ui.heat_zoom + 1).min(max);
            }
            _ => return Outcome::Pass,
        }
        self.refresh_heatmap();
        Outcome::Done(Vec::new())
    }

    /// The heatmap again after its time axis moved: at the time the screen
    /// shows, so scrolling and zooming work while paused too (the other
    /// panes hold).
    pub fn refresh_heatmap(&mut self) {
        let at = if self.derived.at.0 == 0 {
            self.now
        } else {
            self.derived.at
        };
        self.derived.heatmap = Some(super::derive::heatmap_view(self, at));
        self.clamp_selection();
    }

    fn warming_action(&mut self, action: Action, now: Timestamp) -> Outcome {
        match action {
            Action::Mark => {
                if let Some(c) = self.derived.candidates.get(self.ui.selected(Pane::Warming)) {
                    if !self.ui.marked.remove(&c.key_hash) {
                        self.ui.marked.insert(c.key_hash);
                    }
                    self.move_by(1);
                }
                Outcome::Done(Vec::new())
            }
            Action::Warm => Outcome::Done(self.ask_warm(false, now)),
            Action::WarmAll => Outcome::Done(self.ask_warm(true, now)),
            Action::Preload => {
                self.ask_preload(now);
                Outcome::Done(Vec::new())
            }
            Action::CycleWarmStrategy => {
                let s = self.warming.cycle_strategy();
                self.ui
                    .set_status(format!("warming strategy: {}", s.label()), false, now);
                Outcome::Recompute(Vec::new())
            }
            Action::CancelJob => {
                let running = self
                    .jobs
                    .active()
                    .iter()
                    .find(|j| matches!(j.state, JobState::Running | JobState::Queued))
                    .map(|j| j.id);
                match running {
                    Some(id) => {
                        let _ = self.jobs.cancel(id, now);
                        self.ui.set_status(
                            format!("cancelling warm job {id} (stops within one batch)"),
                            false,
                            now,
                        );
                        Outcome::Done(vec![Effect::CancelWarm(id)])
                    }
                    None => {
                        self.ui
                            .set_status("no running warm job to cancel", false, now);
                        Outcome::Done(Vec::new())
                    }
                }
            }
            _ => Outcome::Pass,
        }
    }

    fn backends_action(&mut self, action: Action, now: Timestamp) -> Outcome {
        match action {
            Action::ToggleDrain => {
                let Some(row) = self.derived.backends.get(self.ui.selected(Pane::Backends)) else {
                    return Outcome::Done(Vec::new());
                };
                let (name, backend, kind) = (row.name.clone(), row.backend, row.kind);
                let drained = self
                    .pool_for_mut(kind)
                    .toggle_drain(backend)
                    .unwrap_or(false);
                let what = if drained { "drained" } else { "back in" };
                self.ui.set_status(
                    format!("what-if: {name} {what} in the pool model (no server is touched)"),
                    false,
                    now,
                );
                Outcome::Recompute(Vec::new())
            }
            Action::CycleRouting => {
                let s = self.pool.cycle_strategy();
                self.ui.set_status(
                    format!(
                        "what-if: cache routing {} in the pool model (no traffic is routed)",
                        s.label()
                    ),
                    false,
                    now,
                );
                Outcome::Recompute(Vec::new())
            }
            _ => Outcome::Pass,
        }
    }

    fn sessions_action(&mut self, action: Action, now: Timestamp) -> Outcome {
        match action {
            Action::CancelSession => {
                self.ask_session(false, now);
                return Outcome::Done(Vec::new());
            }
            Action::EndSession => {
                self.ask_session(true, now);
                return Outcome::Done(Vec::new());
            }
            Action::CycleSessionsView => {}
            _ => return Outcome::Pass,
        }
        let s = &mut self.ui.panes.sessions;
        s.list = s.list.next();
        let label = s.list.label();
        self.ui
            .set_status(format!("sessions: {label} (v next list)"), false, now);
        Outcome::Recompute(Vec::new())
    }

    fn global_action(&mut self, action: Action, now: Timestamp) -> Outcome {
        let focus = self.ui.focus;
        let none = Vec::new;
        match action {
            Action::Quit => return Outcome::Done(vec![Effect::Quit]),
            Action::Suspend => return Outcome::Done(vec![Effect::Suspend]),
            Action::FocusNext | Action::FocusPrev | Action::Focus(_) => {
                self.ui.focus = match action {
                    Action::FocusNext => focus.next(),
                    Action::FocusPrev => focus.prev(),
                    Action::Focus(p) => p,
                    _ => focus,
                };
                if matches!(self.ui.focus, Pane::Clients | Pane::Sessions) {
                    self.ui.corner = Some(self.ui.focus);
                }
            }
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(self.ui.page.max(1) as i64)),
            Action::PageDown => self.move_by(self.ui.page.max(1) as i64),
            Action::Home => self.move_by(i64::MIN / 2),
            Action::End => self.move_by(i64::MAX / 2),
            Action::Zoom => self.ui.zoomed = true,
            Action::Back => return self.back(),
            Action::Filter => self.ui.mode = Mode::Filter,
            Action::CycleSort | Action::ReverseSort => {
                let table = self.ui.panes.get_mut(focus);
                if action == Action::CycleSort {
                    table.cycle_sort();
                } else {
                    table.flip_sort();
                }
                let label = table.sort_label();
                self.ui.set_status(
                    format!(
                        "{}: sorted by {label} (s next column · I reverses)",
                        focus.title()
                    ),
                    false,
                    now,
                );
                return Outcome::Recompute(none());
            }
            Action::Pause => {
                self.ui.paused = !self.ui.paused;
                return if self.ui.paused {
                    Outcome::Done(none())
                } else {
                    Outcome::Recompute(none())
                };
            }
            Action::CycleTheme => return Outcome::Done(vec![Effect::CycleTheme]),
            Action::SaveScreen => return Outcome::Done(vec![Effect::SaveScreen]),
            Action::Help => {
                self.ui.help = !self.ui.help;
                self.ui.help_scroll = 0;
            }
            Action::RefreshFaster | Action::RefreshSlower => {
                let i = REFRESH_STEPS_MS
                    .iter()
                    .position(|&s| s >= self.refresh_ms)
                    .unwrap_or(2);
                let j = if action == Action::RefreshFaster {
                    i.saturating_sub(1)
                } else {
                    (i + 1).min(REFRESH_STEPS_MS.len() - 1)
                };
                self.refresh_ms = REFRESH_STEPS_MS[j];
                self.ui.set_status(
                    format!("refresh every {:.2} s", self.refresh_ms as f64 / 1000.0),
                    false,
                    now,
                );
                return Outcome::Done(vec![Effect::Refresh(self.refresh_ms)]);
            }
            Action::Confirm => return Outcome::Done(self.confirm(now)),
            Action::Deny => {
                if self.ui.confirm.take().is_some() {
                    self.warm.dry_pending = None;
                    self.ui.mode = Mode::Normal;
                    self.ui.set_status("cancelled", false, now);
                }
            }
            // Pane actions outside their pane, and Left/Right where there is
            // no horizontal axis, do nothing.
            _ => return Outcome::Pass,
        }
        Outcome::Done(none())
    }

    fn back(&mut self) -> Outcome {
        let ui = &mut self.ui;
        let pane = ui.focus;
        if ui.help {
            ui.help = false;
        } else if ui.zoomed {
            ui.zoomed = false;
        } else if !ui.filter(pane).is_empty() {
            ui.panes.get_mut(pane).filter_mut().clear();
            return Outcome::Recompute(Vec::new());
        } else if !ui.marked.is_empty() {
            ui.marked.clear();
        } else if ui.heat_end.is_some() && ui.focus == Pane::Heatmap {
            ui.heat_end = None;
            self.refresh_heatmap();
        }
        Outcome::Done(Vec::new())
    }

    /// Recompute derived data now (after a view parameter changed). While
    /// paused the screen holds: only the selection is kept in range.
    pub fn recompute(&mut self, now: Timestamp) {
        if !self.ui.paused {
            let at = if self.now.0 == 0 { now } else { self.now };
            self.optimizer.refresh();
            self.derived = super::derive::Derived::compute(self, at);
        }
        self.clamp_selection();
    }

    /// Keep every pane's selection inside its rows (rows come and go at ticks).
    pub fn clamp_selection(&mut self) {
        for p in Pane::ALL {
            let n = self.rows(p);
            let t = self.ui.panes.get_mut(p);
            t.select(t.selected().min(n.saturating_sub(1)));
        }
    }

    fn rows(&self, pane: Pane) -> usize {
        let d = &self.derived;
        match pane {
            Pane::Heatmap => d.heatmap.as_ref().map_or(0, |h| h.rows.len()),
            Pane::Warming => d.candidates.len(),
            Pane::Backends => d.backends.len(),
            Pane::Optimizer => d.ranking.len(),
            Pane::Clients => d.clients.len(),
            Pane::Sessions => d.sessions.len(),
        }
    }

    fn move_by(&mut self, delta: i64) {
        let pane = self.ui.focus;
        let n = self.rows(pane) as i64;
        let cur = self.ui.selected(pane) as i64;
        let next = cur.saturating_add(delta).clamp(0, (n - 1).max(0));
        self.ui.panes.get_mut(pane).select(next as usize);
        if pane == Pane::Clients && !self.ui.paused {
            // Only the breakdown depends on the selected client.
            self.derived.client_tables = self
                .derived
                .clients
                .get(next as usize)
                .map(|c| self.clients.tables_view(Some(c.client)))
                .unwrap_or_default();
        }
    }

    /// Edit the focused pane's filter (filter mode).
    pub fn filter_input(&mut self, edit: FilterInput, now: Timestamp) {
        let pane = self.ui.focus;
        let filter = self.ui.panes.get_mut(pane).filter_mut();
        match edit {
            FilterInput::Char(c) => filter.push(c),
            FilterInput::Backspace => {
                filter.pop();
            }
            FilterInput::Accept => self.ui.mode = Mode::Normal,
            FilterInput::Cancel => {
                filter.clear();
                self.ui.mode = Mode::Normal;
            }
        }
        self.ui.panes.get_mut(pane).select(0);
        self.recompute(now);
    }

    /// Paste text into the filter box (bracketed paste), one line at most.
    pub fn filter_paste(&mut self, text: &str, now: Timestamp) {
        if self.ui.mode != Mode::Filter {
            return;
        }
        let line = text.lines().next().unwrap_or("");
        self.ui
            .panes
            .get_mut(self.ui.focus)
            .filter_mut()
            .push_str(line);
        self.recompute(now);
    }
}

//! What an `Action` does to the state, and which effects it asks the loop
//! to perform. Pure: no IO here, so tests drive the app with key events.

use super::state::State;
use super::ui_state::{Confirm, Mode, Pending};
use crate::action::{Action, Pane};
use crate::engines::Timestamp;
use crate::engines::warming::CandidateReason;
use crate::keymap::FilterInput;

/// Something the event loop (or a test driver) must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Leave the console.
    Quit,
    /// Start warming `keys` as job `job`.
    Warm {
        /// Job id on the board.
        job: u64,
        /// Key names.
        keys: Vec<String>,
    },
    /// Stop job `job` at its next batch.
    CancelWarm(u64),
    /// Save the screen as txt and svg.
    SaveScreen,
    /// Switch to the next theme.
    CycleTheme,
    /// The data refresh interval changed.
    Refresh(u64),
}

const REFRESH_STEPS_MS: [u64; 8] = [250, 500, 1000, 2000, 3000, 5000, 7500, 10_000];

impl State {
    /// Apply `action` at `now`; returns the effects to perform.
    pub fn handle(&mut self, action: Action, now: Timestamp) -> Vec<Effect> {
        let mut fx = Vec::new();
        let focus = self.ui.focus;
        let mut recompute = false;
        match action {
            Action::Quit => fx.push(Effect::Quit),
            Action::FocusNext => self.focus(focus.next()),
            Action::FocusPrev => self.focus(focus.prev()),
            Action::Focus(p) => self.focus(p),
            Action::Up | Action::Left => self.move_by(-1),
            Action::Down | Action::Right => self.move_by(1),
            Action::PageUp => self.move_by(-10),
            Action::PageDown => self.move_by(10),
            Action::Home => self.ui.selected[focus.index()] = 0,
            Action::End => self.move_by(i64::from(u32::MAX)),
            Action::Zoom => self.ui.zoomed = true,
            Action::Back => {
                if self.ui.help {
                    self.ui.help = false;
                } else if self.ui.zoomed {
                    self.ui.zoomed = false;
                } else if !self.ui.filter.is_empty() {
                    self.ui.filter.clear();
                    recompute = true;
                } else if !self.ui.marked.is_empty() {
                    self.ui.marked.clear();
                }
            }
            Action::Filter => self.ui.mode = Mode::Filter,
            Action::CycleSort => {
                self.ui.sort[focus.index()] += 1;
                let label = self.ui.sort_label(focus);
                self.ui
                    .set_status(format!("{}: sorted by {label}", focus.title()), false, now);
                recompute = true;
            }
            Action::Pause => {
                self.ui.paused = !self.ui.paused;
                recompute = !self.ui.paused;
            }
            Action::CycleTheme => fx.push(Effect::CycleTheme),
            Action::SaveScreen => fx.push(Effect::SaveScreen),
            Action::Help => self.ui.help = !self.ui.help,
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
                fx.push(Effect::Refresh(self.refresh_ms));
            }
            Action::TimeZoomIn => {
                self.ui.heat_zoom = self.ui.heat_zoom.saturating_sub(1);
                recompute = true;
            }
            Action::TimeZoomOut => {
                let max = self.heatmap.zoom_levels().len().saturating_sub(1);
                self.ui.heat_zoom = (self.ui.heat_zoom + 1).min(max);
                recompute = true;
            }
            Action::Mark => self.toggle_mark(),
            Action::Warm => self.ask_warm(false, now),
            Action::WarmAll => self.ask_warm(true, now),
            Action::CycleWarmStrategy => {
                let s = self.warming.cycle_strategy();
                self.ui
                    .set_status(format!("warming strategy: {}", s.label()), false, now);
                recompute = true;
            }
            Action::CancelJob => match self.jobs.active().iter().find(|j| !j.state.is_terminal()) {
                Some(job) => {
                    let id = job.id;
                    let _ = self.jobs.cancel(id, now);
                    self.ui.set_status(
                        format!("cancelling warm job {id} (stops within one batch)"),
                        false,
                        now,
                    );
                    fx.push(Effect::CancelWarm(id));
                }
                None => self
                    .ui
                    .set_status("no running warm job to cancel", false, now),
            },
            Action::ToggleDrain => {
                if let Some(row) = self.derived.backends.get(self.ui.selected(Pane::Backends)) {
                    let (name, backend, kind) = (row.name.clone(), row.backend, row.kind);
                    let drained = self
                        .pool_for_mut(kind)
                        .toggle_drain(backend)
                        .unwrap_or(false);
                    let what = if drained { "drained" } else { "undrained" };
                    self.ui.set_status(
                        format!("what-if: {name} {what} in the pool model (no server is touched)"),
                        false,
                        now,
                    );
                    recompute = true;
                }
            }
            Action::CycleRouting => {
                let s = self.pool.cycle_strategy();
                self.ui.set_status(
                    format!(
                        "what-if: routing strategy {} in the pool model (no traffic is routed)",
                        s.label()
                    ),
                    false,
                    now,
                );
                recompute = true;
            }
            Action::Confirm => fx.extend(self.confirm(now)),
            Action::Deny => {
                if self.ui.confirm.take().is_some() {
                    self.ui.mode = Mode::Normal;
                    self.ui.set_status("cancelled", false, now);
                }
            }
        }
        if recompute {
            self.recompute(now);
        }
        fx
    }

    /// Recompute derived data now (after a view parameter changed).
    pub fn recompute(&mut self, now: Timestamp) {
        let at = if self.now.0 == 0 { now } else { self.now };
        self.derived = super::derive::Derived::compute(self, at);
        self.derived.at = at;
    }

    fn focus(&mut self, pane: Pane) {
        self.ui.focus = pane;
    }

    fn rows(&self, pane: Pane) -> usize {
        let d = &self.derived;
        match pane {
            Pane::Heatmap => d.heatmap.as_ref().map_or(0, |h| h.rows.len()),
            Pane::Warming => d.candidates.len(),
            Pane::Backends => d.backends.len(),
            Pane::Optimizer => d.ranking.len(),
            Pane::Clients => d.clients.len(),
        }
    }

    fn move_by(&mut self, delta: i64) {
        let pane = self.ui.focus;
        let n = self.rows(pane) as i64;
        let cur = self.ui.selected(pane) as i64;
        let next = (cur.saturating_add(delta)).clamp(0, (n - 1).max(0));
        self.ui.selected[pane.index()] = next as usize;
        if pane == Pane::Clients {
            let now = self.now;
            self.recompute(now);
        }
    }

    fn toggle_mark(&mut self) {
        if self.ui.focus != Pane::Warming {
            return;
        }
        if let Some(c) = self.derived.candidates.get(self.ui.selected(Pane::Warming)) {
            if !self.ui.marked.remove(&c.key_hash) {
                self.ui.marked.insert(c.key_hash);
            }
            self.move_by(1);
        }
    }

    fn ask_warm(&mut self, all: bool, now: Timestamp) {
        if !self.session.writes_allowed {
            self.ui.set_status("read-only: warming writes to Redis and writes are off here (use --allow-writes or a context with allow_writes = true)", true, now);
            return;
        }
        let d = &self.derived.candidates;
        let picked: Vec<_> = if all {
            d.iter().collect()
        } else if !self.ui.marked.is_empty() {
            d.iter()
                .filter(|c| self.ui.marked.contains(&c.key_hash))
                .collect()
        } else {
            d.get(self.ui.selected(Pane::Warming)).into_iter().collect()
        };
        let keys: Vec<(u64, String)> = picked
            .iter()
            .filter_map(|c| c.name.clone().map(|n| (c.key_hash, n)))
            .collect();
        if keys.is_empty() {
            self.ui.set_status(
                "nothing to warm: the queue is empty or the keys have no names",
                true,
                now,
            );
            return;
        }
        let count =
            |f: fn(&CandidateReason) -> bool| picked.iter().filter(|c| f(&c.reason)).count();
        let missing = count(|r| matches!(r, CandidateReason::MissingHot { .. }));
        let expiring = count(|r| matches!(r, CandidateReason::Expiring { .. }));
        let predicted = count(|r| {
            matches!(
                r,
                CandidateReason::Predicted { .. } | CandidateReason::Preload
            )
        });
        let target = if self.session.demo {
            "the demo's simulated cache"
        } else {
            "the Redis nodes"
        };
        let label = if all {
            "whole queue".to_string()
        } else {
            format!("{} selected", keys.len())
        };
        self.ui.confirm = Some(Confirm {
            title: format!("Warm {} keys?", keys.len()),
            lines: vec![
                format!("target: {target}"),
                format!(
                    "{missing} missing (would be new), {expiring} expiring (refreshed), {predicted} predicted or preload"
                ),
                format!(
                    "batches of {} keys, pipelined",
                    self.warming.config().batch_size
                ),
                "y to warm, n or Esc to cancel".to_string(),
            ],
            action: Pending::Warm { label, keys },
        });
        self.ui.mode = Mode::Confirm;
    }

    fn confirm(&mut self, now: Timestamp) -> Vec<Effect> {
        let Some(c) = self.ui.confirm.take() else {
            return Vec::new();
        };
        self.ui.mode = Mode::Normal;
        match c.action {
            Pending::Warm { label, keys } => {
                let id = self.jobs.submit(label, keys.len() as u64, now);
                let _ = self.jobs.start(id, now);
                self.job_keys
                    .insert(id, keys.iter().map(|(h, _)| *h).collect());
                self.ui.marked.clear();
                self.ui.set_status(
                    format!("warm job {id} started: {} keys", keys.len()),
                    false,
                    now,
                );
                vec![Effect::Warm {
                    job: id,
                    keys: keys.into_iter().map(|(_, n)| n).collect(),
                }]
            }
        }
    }

    /// Edit the filter box (filter mode).
    pub fn filter_input(&mut self, edit: FilterInput, now: Timestamp) {
        match edit {
            FilterInput::Char(c) => self.ui.filter.push(c),
            FilterInput::Backspace => {
                self.ui.filter.pop();
            }
            FilterInput::Accept => self.ui.mode = Mode::Normal,
            FilterInput::Cancel => {
                self.ui.filter.clear();
                self.ui.mode = Mode::Normal;
            }
        }
        self.ui.selected = [0; 5];
        self.recompute(now);
    }
}

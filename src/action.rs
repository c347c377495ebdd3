//! What the user can ask for, independent of which key asked: the keymap turns
//! key presses into `Action`s and the app loop acts on them. Each action has a
//! stable config name (used in `[keys.*]` tables) and a one-line description
//! (used in the help overlay), so both stay in one place.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The five panes, in screen order (the digit keys 1–5 focus them).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Pane {
    /// Cache heat per table / prefix / fingerprint over time.
    #[default]
    Heatmap,
    /// Warming strategy, candidate queue and jobs.
    Warming,
    /// Backend health and the pool model.
    Backends,
    /// Backend ranking and workload pattern.
    Optimizer,
    /// Application clients.
    Clients,
    /// Who is connected: Postgres sessions, Redis clients.
    Sessions,
}

impl Pane {
    /// All panes in screen order.
    pub const ALL: [Pane; 6] = [
        Pane::Heatmap,
        Pane::Warming,
        Pane::Backends,
        Pane::Optimizer,
        Pane::Clients,
        Pane::Sessions,
    ];

    /// Position in screen order, from 0.
    pub fn index(self) -> usize {
        match self {
            Pane::Heatmap => 0,
            Pane::Warming => 1,
            Pane::Backends => 2,
            Pane::Optimizer => 3,
            Pane::Clients => 4,
            Pane::Sessions => 5,
        }
    }

    /// The pane at `index` in screen order, if any.
    pub fn from_index(index: usize) -> Option<Pane> {
        Pane::ALL.get(index).copied()
    }

    /// Lowercase name used on the command line and in config scopes.
    pub fn name(self) -> &'static str {
        match self {
            Pane::Heatmap => "heatmap",
            Pane::Warming => "warming",
            Pane::Backends => "backends",
            Pane::Optimizer => "optimizer",
            Pane::Clients => "clients",
            Pane::Sessions => "sessions",
        }
    }

    /// Title shown on the pane border and the tab bar, with its focus digit.
    pub fn title(self) -> &'static str {
        match self {
            Pane::Heatmap => "1 Heatmap",
            Pane::Warming => "2 Warming",
            Pane::Backends => "3 Backends",
            Pane::Optimizer => "4 Optimizer",
            Pane::Clients => "5 Clients",
            Pane::Sessions => "6 Sessions",
        }
    }

    /// The next pane in screen order, wrapping around.
    pub fn next(self) -> Pane {
        Pane::ALL[(self.index() + 1) % Pane::ALL.len()]
    }

    /// The previous pane in screen order, wrapping around.
    pub fn prev(self) -> Pane {
        Pane::ALL[(self.index() + Pane::ALL.len() - 1) % Pane::ALL.len()]
    }
}

impl fmt::Display for Pane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A pane name that is not one of the six.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown pane `{0}`; expected one of: heatmap, warming, backends, optimizer, clients, sessions"
)]
pub struct UnknownPane(pub String);

impl FromStr for Pane {
    type Err = UnknownPane;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pane::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownPane(s.to_string()))
    }
}

/// Something the user asked for. Pane-specific actions only arrive while
/// that pane has focus; `Confirm` / `Deny` only while a confirm dialog is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Leave the console.
    Quit,
    /// Give the terminal back and stop (Ctrl-Z); `fg` resumes and redraws.
    Suspend,
    /// Focus the next pane.
    FocusNext,
    /// Focus the previous pane.
    FocusPrev,
    /// Focus one pane.
    Focus(Pane),
    /// Move the selection up.
    Up,
    /// Move the selection down.
    Down,
    /// Move left (scroll the time axis, previous column).
    Left,
    /// Move right.
    Right,
    /// Move one page up.
    PageUp,
    /// Move one page down.
    PageDown,
    /// Jump to the first row.
    Home,
    /// Jump to the last row.
    End,
    /// Show the focused pane alone.
    Zoom,
    /// Close zoom / overlay / filter.
    Back,
    /// Open the row filter box.
    Filter,
    /// Cycle the sort column.
    CycleSort,
    /// Run the sort the other way.
    ReverseSort,
    /// Hold the screen (data keeps being collected).
    Pause,
    /// Switch to the next theme.
    CycleTheme,
    /// Save the screen as txt and svg.
    SaveScreen,
    /// Show the key help overlay.
    Help,
    /// Shorten the data tick.
    RefreshFaster,
    /// Lengthen the data tick.
    RefreshSlower,
    /// Heatmap: wider time buckets.
    TimeZoomOut,
    /// Heatmap: narrower time buckets.
    TimeZoomIn,
    /// Heatmap: back to now on the time axis.
    TimeNow,
    /// Warming: mark / unmark the selected candidate.
    Mark,
    /// Warming: warm the marked (or selected) candidates.
    Warm,
    /// Warming: warm the whole queue.
    WarmAll,
    /// Warming: run a warm rule's preload (its hot-keys query).
    Preload,
    /// Warming: cycle the warming strategy.
    CycleWarmStrategy,
    /// Warming: cancel the running warm job.
    CancelJob,
    /// Backends: toggle a what-if drain of the selected backend.
    ToggleDrain,
    /// Backends: cycle the pool model's routing strategy.
    CycleRouting,
    /// Sessions: the next list (Postgres sessions, Redis client groups,
    /// Redis clients).
    CycleSessionsView,
    /// Sessions: cancel the selected Postgres session's query.
    CancelSession,
    /// Sessions: terminate the selected Postgres session, or kill the
    /// selected Redis client.
    EndSession,
    /// Confirm dialog: yes.
    Confirm,
    /// Confirm dialog: no.
    Deny,
}

/// Where an action can be bound: everywhere, in one pane, or in the confirm dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionScope {
    /// Any pane (resolved after the focused pane's own keys).
    Global,
    /// Only while this pane has focus.
    Pane(Pane),
    /// Only while a confirm dialog is open.
    Confirm,
}

impl ActionScope {
    /// All scopes, in help order.
    pub const ALL: [ActionScope; 8] = [
        ActionScope::Global,
        ActionScope::Pane(Pane::Heatmap),
        ActionScope::Pane(Pane::Warming),
        ActionScope::Pane(Pane::Backends),
        ActionScope::Pane(Pane::Optimizer),
        ActionScope::Pane(Pane::Clients),
        ActionScope::Pane(Pane::Sessions),
        ActionScope::Confirm,
    ];

    /// Name of the scope's `[keys.NAME]` table in the config file.
    pub fn name(self) -> &'static str {
        match self {
            ActionScope::Global => "global",
            ActionScope::Pane(p) => p.name(),
            ActionScope::Confirm => "confirm",
        }
    }

    /// Section title in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            ActionScope::Global => "Global",
            ActionScope::Pane(p) => p.title(),
            ActionScope::Confirm => "Confirm dialog",
        }
    }

    /// The scope whose config table is called `name`.
    pub fn from_name(name: &str) -> Option<ActionScope> {
        ActionScope::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl Action {
    /// Every action, in help order.
    pub const ALL: [Action; 45] = [
        Action::Quit,
        Action::Suspend,
        Action::Help,
        Action::FocusNext,
        Action::FocusPrev,
        Action::Focus(Pane::Heatmap),
        Action::Focus(Pane::Warming),
        Action::Focus(Pane::Backends),
        Action::Focus(Pane::Optimizer),
        Action::Focus(Pane::Clients),
        Action::Focus(Pane::Sessions),
        Action::Up,
        Action::Down,
        Action::Left,
        Action::Right,
        Action::PageUp,
        Action::PageDown,
        Action::Home,
        Action::End,
        Action::Zoom,
        Action::Back,
        Action::Filter,
        Action::CycleSort,
        Action::ReverseSort,
        Action::Pause,
        Action::CycleTheme,
        Action::SaveScreen,
        Action::RefreshFaster,
        Action::RefreshSlower,
        Action::TimeZoomOut,
        Action::TimeZoomIn,
        Action::TimeNow,
        Action::Mark,
        Action::Warm,
        Action::WarmAll,
        Action::Preload,
        Action::CycleWarmStrategy,
        Action::CancelJob,
        Action::ToggleDrain,
        Action::CycleRouting,
        Action::CycleSessionsView,
        Action::CancelSession,
        Action::EndSession,
        Action::Confirm,
        Action::Deny,
    ];

    /// Stable snake_case name used in the config file's `[keys.*]` tables.
    pub fn name(self) -> &'static str {
        self.info().0
    }

    /// One-line description for the help overlay.
    pub fn description(self) -> &'static str {
        self.info().1
    }

    /// A word or two for the hint bar.
    pub fn short_label(self) -> &'static str {
        self.info().2
    }

    /// The action named `name` in the config file, if any.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Where this action can be bound.
    pub fn scope(self) -> ActionScope {
        match self {
            Action::TimeZoomOut | Action::TimeZoomIn | Action::TimeNow => {
                ActionScope::Pane(Pane::Heatmap)
            }
            Action::Mark
            | Action::Warm
            | Action::WarmAll
            | Action::Preload
            | Action::CycleWarmStrategy
            | Action::CancelJob => ActionScope::Pane(Pane::Warming),
            Action::ToggleDrain | Action::CycleRouting => ActionScope::Pane(Pane::Backends),
            Action::CycleSessionsView | Action::CancelSession | Action::EndSession => {
                ActionScope::Pane(Pane::Sessions)
            }
            Action::Confirm | Action::Deny => ActionScope::Confirm,
            _ => ActionScope::Global,
        }
    }

    /// True for actions that write to a cache: they ask y/n first and are
    /// refused when writes are off. What-if toggles change only the model.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Action::Warm
                | Action::WarmAll
                | Action::Preload
                | Action::CancelSession
                | Action::EndSession
        )
    }

    /// (config name, description, short label).
    fn info(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Action::Quit => ("quit", "quit heliostat", "quit"),
            Action::Suspend => ("suspend", "suspend to the shell (fg resumes)", "suspend"),
            Action::FocusNext => ("focus_next", "focus the next pane", "next"),
            Action::FocusPrev => ("focus_prev", "focus the previous pane", "prev"),
            Action::Focus(Pane::Heatmap) => ("focus_heatmap", "focus the Heatmap pane", "heatmap"),
            Action::Focus(Pane::Warming) => ("focus_warming", "focus the Warming pane", "warming"),
            Action::Focus(Pane::Backends) => {
                ("focus_backends", "focus the Backends pane", "backends")
            }
            Action::Focus(Pane::Optimizer) => {
                ("focus_optimizer", "focus the Optimizer pane", "optimizer")
            }
            Action::Focus(Pane::Clients) => ("focus_clients", "focus the Clients pane", "clients"),
            Action::Focus(Pane::Sessions) => {
                ("focus_sessions", "focus the Sessions pane", "sessions")
            }
            Action::CancelSession => (
                "cancel_session",
                "cancel the selected session's query",
                "cancel",
            ),
            Action::EndSession => ("end_session", "terminate session / kill client", "end"),
            Action::CycleSessionsView => (
                "cycle_sessions_view",
                "next list: pg, redis groups, clients",
                "list",
            ),
            Action::Up => ("up", "move the selection up", "up"),
            Action::Down => ("down", "move the selection down", "down"),
            Action::Left => ("left", "move left / earlier in time", "left"),
            Action::Right => ("right", "move right / later in time", "right"),
            Action::PageUp => ("page_up", "move one page up", "page up"),
            Action::PageDown => ("page_down", "move one page down", "page down"),
            Action::Home => ("home", "jump to the first row", "first"),
            Action::End => ("end", "jump to the last row", "last"),
            Action::Zoom => ("zoom", "show the focused pane alone", "zoom"),
            Action::Back => ("back", "close zoom, overlay or filter", "back"),
            Action::Filter => ("filter", "filter rows by text", "filter"),
            Action::CycleSort => ("cycle_sort", "cycle the sort column", "sort"),
            Action::ReverseSort => ("reverse_sort", "run the sort the other way", "reverse"),
            Action::Pause => ("pause", "hold the screen (data keeps coming)", "pause"),
            Action::CycleTheme => ("cycle_theme", "switch to the next theme", "theme"),
            Action::SaveScreen => ("save_screen", "save the screen as txt and svg", "save"),
            Action::Help => ("help", "show this help", "help"),
            Action::RefreshFaster => ("refresh_faster", "refresh more often", "faster"),
            Action::RefreshSlower => ("refresh_slower", "refresh less often", "slower"),
            Action::TimeZoomOut => ("time_zoom_out", "wider time buckets", "zoom out"),
            Action::TimeZoomIn => ("time_zoom_in", "narrower time buckets", "zoom in"),
            Action::TimeNow => ("time_now", "back to now on the time axis", "now"),
            Action::Mark => ("mark", "mark / unmark the selected candidate", "mark"),
            Action::Warm => ("warm", "warm the marked or selected keys", "warm"),
            Action::WarmAll => ("warm_all", "warm the whole queue", "warm all"),
            Action::Preload => ("preload", "preload a warm rule's hot keys", "preload"),
            Action::CycleWarmStrategy => (
                "cycle_warm_strategy",
                "cycle the warming strategy",
                "strategy",
            ),
            Action::CancelJob => ("cancel_job", "cancel the running warm job", "cancel"),
            Action::ToggleDrain => (
                "toggle_drain",
                "what-if: drain / restore a backend",
                "drain",
            ),
            Action::CycleRouting => ("cycle_routing", "what-if: next routing strategy", "routing"),
            Action::Confirm => ("confirm", "yes, do it", "yes"),
            Action::Deny => ("deny", "no, cancel", "no"),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An action name that the config file does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown action `{0}`")]
pub struct UnknownAction(pub String);

impl FromStr for Action {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::from_name(s).ok_or_else(|| UnknownAction(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn pane_order_and_wrapping() {
        for (i, p) in Pane::ALL.into_iter().enumerate() {
            assert_eq!(p.index(), i);
            assert_eq!(Pane::from_index(i), Some(p));
            assert_eq!(p.next().prev(), p);
            assert!(p.title().starts_with(&(i + 1).to_string()));
        }
        assert_eq!(Pane::Sessions.next(), Pane::Heatmap);
        assert_eq!(Pane::Heatmap.prev(), Pane::Sessions);
        assert_eq!(Pane::from_index(6), None);
        assert_eq!(Pane::Heatmap.title(), "1 Heatmap");
    }

    #[test]
    fn pane_names_round_trip() {
        for p in Pane::ALL {
            assert_eq!(p.name().parse::<Pane>(), Ok(p));
            assert_eq!(p.to_string(), p.name());
        }
        let err = "Heatmap".parse::<Pane>().unwrap_err();
        assert!(err.to_string().contains("optimizer"), "{err}");
    }

    #[test]
    fn pane_serde_uses_lowercase_names() {
        #[derive(Deserialize, Serialize)]
        struct W {
            p: Pane,
        }
        let w: W = toml::from_str("p = \"backends\"").unwrap();
        assert_eq!(w.p, Pane::Backends);
        assert!(toml::from_str::<W>("p = \"Backends\"").is_err());
    }

    #[test]
    fn action_names_are_unique_snake_case_and_round_trip() {
        let mut seen = BTreeSet::new();
        for a in Action::ALL {
            let n = a.name();
            assert!(seen.insert(n), "duplicate name {n}");
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{n}");
            assert_eq!(Action::from_name(n), Some(a));
            assert_eq!(n.parse::<Action>(), Ok(a));
            assert!(!a.description().is_empty());
            assert!(!a.short_label().is_empty());
        }
        assert_eq!(Action::Focus(Pane::Heatmap).name(), "focus_heatmap");
        assert_eq!(Action::WarmAll.name(), "warm_all");
        assert_eq!(Action::ToggleDrain.name(), "toggle_drain");
        assert!("warm-all".parse::<Action>().is_err());
    }

    #[test]
    fn every_focus_action_is_listed() {
        for p in Pane::ALL {
            assert!(Action::ALL.contains(&Action::Focus(p)));
        }
    }

    #[test]
    fn scopes_and_writes() {
        assert_eq!(Action::Mark.scope(), ActionScope::Pane(Pane::Warming));
        assert_eq!(Action::TimeZoomIn.scope(), ActionScope::Pane(Pane::Heatmap));
        assert_eq!(
            Action::CycleRouting.scope(),
            ActionScope::Pane(Pane::Backends)
        );
        assert_eq!(Action::Deny.scope(), ActionScope::Confirm);
        assert_eq!(Action::Quit.scope(), ActionScope::Global);
        let writers: Vec<Action> = Action::ALL.into_iter().filter(|a| a.writes()).collect();
        assert_eq!(
            writers,
            vec![
                Action::Warm,
                Action::WarmAll,
                Action::Preload,
                Action::CancelSession,
                Action::EndSession
            ]
        );
    }

    #[test]
    fn scope_names_round_trip() {
        for s in ActionScope::ALL {
            assert_eq!(ActionScope::from_name(s.name()), Some(s));
        }
        assert_eq!(ActionScope::from_name("filter"), None);
        assert_eq!(ActionScope::Pane(Pane::Warming).title(), "2 Warming");
    }
}

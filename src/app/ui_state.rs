//! Navigation and dialog state: focus, selection, sort, filter, marks.

use std::collections::BTreeSet;

pub use super::panes::{Panes, TableNav};
use crate::action::Pane;
use crate::engines::Timestamp;
pub use crate::keymap::InputMode as Mode;

/// A question the user must answer before something writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    /// Dialog title.
    pub title: String,
    /// What will happen (dry-run figures, targets).
    pub lines: Vec<String>,
    /// What runs on "yes".
    pub action: Pending,
}

/// An action waiting for confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// Warm these keys (hash, name).
    Warm {
        /// Short description for the job list.
        label: String,
        /// Keys warmed in their rule's mode (missing, predicted, preload).
        keys: Vec<(u64, String)>,
        /// Keys about to expire, overwritten in refresh mode.
        refresh: Vec<(u64, String)>,
    },
    /// Run a warm rule's preload.
    Preload {
        /// The rule's name.
        rule: String,
    },
    /// Cancel, terminate or kill one session.
    Session(crate::ops::sessions::SessionOp),
    /// Nothing can run (no key matches a rule, the dry run failed): the
    /// dialog only informs, and "y" closes it like "n".
    Nothing,
}

/// The one-line message under the panes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// Text.
    pub text: String,
    /// Shown in the error colour.
    pub error: bool,
    /// When it was set.
    pub at: Timestamp,
}

/// UI state.
#[derive(Debug, Clone, Default)]
pub struct UiState {
    /// Focused pane.
    pub focus: Pane,
    /// The focused pane fills the screen.
    pub zoomed: bool,
    /// Each pane's selection, sort and filter.
    pub panes: Panes,
    /// Clients or Sessions: which of the two the full layout's
    /// bottom-right place shows (the one focused last; `None` until then:
    /// Clients when there are clients, else Sessions).
    pub corner: Option<Pane>,
    /// Input mode.
    pub mode: Mode,
    /// Screen held; data keeps being collected.
    pub paused: bool,
    /// Help overlay open.
    pub help: bool,
    /// First help line shown (the overlay scrolls when it does not fit).
    pub help_scroll: usize,
    /// Heatmap: the time the newest column shows when scrolled back
    /// (Left / Right move it a column, zoom keeps it); `None` follows now.
    pub heat_end: Option<Timestamp>,
    /// Rows a PageUp / PageDown moves (set from the terminal height).
    pub page: usize,
    /// Open confirm dialog.
    pub confirm: Option<Confirm>,
    /// Status line.
    pub status: Option<StatusLine>,
    /// Marked warming candidates (key hashes).
    pub marked: BTreeSet<u64>,
    /// Heatmap time-axis zoom (index into the heatmap's zoom levels).
    pub heat_zoom: usize,
    /// Theme name shown in the header.
    pub theme: String,
}

impl UiState {
    /// Show a message in the status line.
    pub fn set_status(&mut self, text: impl Into<String>, error: bool, at: Timestamp) {
        self.status = Some(StatusLine {
            text: text.into(),
            error,
            at,
        });
    }

    /// The selected row of `pane`.
    pub fn selected(&self, pane: Pane) -> usize {
        self.panes.get(pane).selected()
    }

    /// The filter of `pane` ("" when none).
    pub fn filter(&self, pane: Pane) -> &str {
        self.panes.get(pane).filter()
    }

    /// True when `name` passes `pane`'s filter.
    pub fn matches(&self, pane: Pane, name: &str) -> bool {
        self.panes.get(pane).matches(name)
    }
}

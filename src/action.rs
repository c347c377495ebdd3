//! TEMPORARY stand-in until the keymap module lands (replaced by helper's file).
use serde::{Deserialize, Serialize};

/// The five panes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
pub enum Pane {
    /// Heatmap.
    #[default]
    Heatmap,
    /// Warming.
    Warming,
    /// Backends.
    Backends,
    /// Optimizer.
    Optimizer,
    /// Clients.
    Clients,
}

impl Pane {
    /// All panes in order.
    pub const ALL: [Pane; 5] = [
        Pane::Heatmap,
        Pane::Warming,
        Pane::Backends,
        Pane::Optimizer,
        Pane::Clients,
    ];
    /// Index 0..5.
    pub fn index(self) -> usize {
        self as usize
    }
    /// Title.
    pub fn title(self) -> &'static str {
        [
            "1 Heatmap",
            "2 Warming",
            "3 Backends",
            "4 Optimizer",
            "5 Clients",
        ][self as usize]
    }
    /// Next pane.
    pub fn next(self) -> Pane {
        Pane::ALL[(self as usize + 1) % 5]
    }
    /// Previous pane.
    pub fn prev(self) -> Pane {
        Pane::ALL[(self as usize + 4) % 5]
    }
}

/// Actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    FocusNext,
    FocusPrev,
    Focus(Pane),
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Zoom,
    Back,
    Filter,
    CycleSort,
    Pause,
    CycleTheme,
    SaveScreen,
    Help,
    RefreshFaster,
    RefreshSlower,
    TimeZoomOut,
    TimeZoomIn,
    Mark,
    Warm,
    WarmAll,
    CycleWarmStrategy,
    CancelJob,
    ToggleDrain,
    CycleRouting,
    Confirm,
    Deny,
}

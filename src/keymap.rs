//! Key bindings as a table, not a match: defaults live in `DEFAULTS`, the
//! config file patches them per action (gitui style), and the help overlay and
//! hint bar are generated from the same table so they are never out of date.
//!
//! Resolution: in normal mode the focused pane's scope first, then the global
//! scope (so Space marks rows in Warming and is free elsewhere). The confirm
//! dialog and the filter box have their own keys; in them only a Ctrl chord
//! bound to `quit` still reaches the global scope. Ctrl-C quits in every mode
//! whatever the config says: it is the way out a user tries when all else fails.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use rustc_hash::FxHashMap;

use crate::action::{Action, ActionScope, Pane};

mod key;
pub use self::key::{Key, KeyParseError};

/// Default keys per action, as key spec strings (the config file's syntax).
const DEFAULTS: &[(Action, &[&str])] = &[
    (Action::Quit, &["q", "ctrl-c"]),
    (Action::Suspend, &["ctrl-z"]),
    (Action::Help, &["?"]),
    (Action::FocusNext, &["tab"]),
    (Action::FocusPrev, &["backtab"]),
    (Action::Focus(Pane::Heatmap), &["1"]),
    (Action::Focus(Pane::Warming), &["2"]),
    (Action::Focus(Pane::Backends), &["3"]),
    (Action::Focus(Pane::Optimizer), &["4"]),
    (Action::Focus(Pane::Clients), &["5"]),
    (Action::Focus(Pane::Sessions), &["6"]),
    (Action::Up, &["up", "k"]),
    (Action::Down, &["down", "j"]),
    (Action::Left, &["left", "h"]),
    (Action::Right, &["right", "l"]),
    (Action::PageUp, &["pgup"]),
    (Action::PageDown, &["pgdn"]),
    (Action::Home, &["home"]),
    (Action::End, &["end"]),
    (Action::Zoom, &["enter"]),
    (Action::Back, &["esc"]),
    (Action::Filter, &["/"]),
    (Action::CycleSort, &["s"]),
    (Action::ReverseSort, &["I"]),
    (Action::Pause, &["p"]),
    (Action::CycleTheme, &["t"]),
    (Action::SaveScreen, &["S"]),
    (Action::RefreshFaster, &["+"]),
    (Action::RefreshSlower, &["-"]),
    (Action::TimeZoomOut, &["<"]),
    (Action::TimeZoomIn, &[">"]),
    (Action::TimeNow, &["end"]),
    (Action::Mark, &["space"]),
    (Action::Warm, &["w"]),
    (Action::WarmAll, &["W"]),
    (Action::Preload, &["R"]),
    (Action::CycleWarmStrategy, &["m"]),
    (Action::CancelJob, &["c"]),
    (Action::ToggleDrain, &["d"]),
    (Action::CycleRouting, &["r"]),
    (Action::CycleSessionsView, &["v"]),
    (Action::CancelSession, &["c"]),
    (Action::EndSession, &["x"]),
    (Action::Confirm, &["y", "enter"]),
    (Action::Deny, &["n", "esc"]),
];

/// Global actions shown in the hint bar after the focused pane's own.
const GLOBAL_HINTS: [Action; 4] = [Action::Filter, Action::Zoom, Action::Help, Action::Quit];

/// The filter box's fixed keys, for the help overlay.
const FILTER_HELP: [(&str, &str); 4] = [
    ("any character", "type into the filter"),
    ("backspace", "delete the last character"),
    ("enter", "keep the filter"),
    ("esc", "clear the filter"),
];

/// Which keys are live: the normal panes, the filter box, or a confirm dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum InputMode {
    /// Panes have the keyboard.
    #[default]
    Normal,
    /// The filter box has the keyboard: letters are text, not commands.
    Filter,
    /// A y/n dialog is open.
    Confirm,
}

/// An edit of the filter box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterInput {
    /// Append a character.
    Char(char),
    /// Delete the last character.
    Backspace,
    /// Keep the filter and leave the box.
    Accept,
    /// Clear the filter and leave the box.
    Cancel,
}

/// What a key press means in the current mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// Do this.
    Action(Action),
    /// Edit the filter box.
    Filter(FilterInput),
    /// The key is not bound here (or was not a press).
    Nothing,
}

/// Key overrides from the config file: scope name (`global`, a pane name,
/// `confirm`) → action name → key specs. An entry replaces that action's
/// default keys; an empty list unbinds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeysConfig(pub BTreeMap<String, BTreeMap<String, Vec<String>>>);

/// A key override that cannot be applied; names the scope and action so the
/// config loader can point at the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeymapError {
    /// `[keys.NAME]` is not a scope.
    #[error("unknown key scope `{scope}`; expected one of: {}", scope_names())]
    UnknownScope {
        /// The scope as written.
        scope: String,
    },
    /// The action name does not exist at all.
    #[error(
        "unknown action `{action}` in [keys.{scope}]; actions there: {}",
        scope_actions(scope)
    )]
    UnknownAction {
        /// The scope.
        scope: String,
        /// The action as written.
        action: String,
    },
    /// The action exists but belongs to another scope.
    #[error("action `{action}` cannot be bound in [keys.{scope}]; bind it in [keys.{home}]")]
    WrongScope {
        /// The scope it was written in.
        scope: String,
        /// The action.
        action: String,
        /// The scope it belongs to.
        home: &'static str,
    },
    /// A key spec that does not parse.
    #[error("[keys.{scope}] {action}: {cause}")]
    BadKey {
        /// The scope.
        scope: String,
        /// The action.
        action: String,
        /// Why the spec is wrong.
        cause: KeyParseError,
    },
    /// `quit` overridden with no key at all: the console could not be left.
    #[error("[keys.global] quit needs at least one key (ctrl-c always quits as well)")]
    NoQuitKey,
    /// Ctrl-C bound to something other than `quit`.
    #[error(
        "[keys.{scope}] {action}: ctrl-c is reserved, it always quits; give `{action}` another key"
    )]
    Reserved {
        /// The scope.
        scope: String,
        /// The action.
        action: String,
    },
    /// Two actions of one scope share a key.
    #[error(
        "key `{key}` is bound twice in [keys.{scope}]: to `{first}` and to `{second}`; give one of them another key"
    )]
    Duplicate {
        /// The scope.
        scope: &'static str,
        /// The key, in canonical spec form.
        key: String,
        /// The action earlier in help order.
        first: &'static str,
        /// The other action.
        second: &'static str,
    },
}

impl KeymapError {
    /// The scope and the actions the error is about, most specific first,
    /// for pointing at the config line.
    pub fn location(&self) -> (&str, Vec<&str>) {
        match self {
            KeymapError::UnknownScope { scope } => (scope, vec![]),
            KeymapError::NoQuitKey => ("global", vec!["quit"]),
            KeymapError::Reserved { scope, action } => (scope, vec![action.as_str()]),
            KeymapError::UnknownAction { scope, action }
            | KeymapError::WrongScope { scope, action, .. }
            | KeymapError::BadKey { scope, action, .. } => (scope, vec![action.as_str()]),
            KeymapError::Duplicate {
                scope,
                first,
                second,
                ..
            } => (scope, vec![*second, *first]),
        }
    }
}

fn scope_names() -> String {
    let names: Vec<&str> = ActionScope::ALL.iter().map(|s| s.name()).collect();
    names.join(", ")
}

fn scope_actions(scope: &str) -> String {
    let Some(scope) = ActionScope::from_name(scope) else {
        return String::new();
    };
    let names: Vec<&str> = Action::ALL
        .iter()
        .filter(|a| a.scope() == scope)
        .map(|a| a.name())
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// One help overlay section: a title and (keys, description) rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpSection {
    /// Section title, e.g. "Global" or "2 Warming".
    pub title: &'static str,
    /// Keys joined like "q, ctrl-c", and what they do.
    pub rows: Vec<(String, &'static str)>,
}

/// Ctrl-C: always bound to `quit`, never to anything else.
fn ctrl_c() -> Key {
    Key::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
}

/// The bindings: keys per action in help order, plus a lookup index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<(Action, Vec<Key>)>,
    index: FxHashMap<(ActionScope, Key), Action>,
}

impl Default for Keymap {
    fn default() -> Self {
        // The default table has no duplicates (tested), so this cannot fail.
        Keymap::build(default_bindings()).unwrap_or_else(|_| Keymap {
            bindings: Vec::new(),
            index: FxHashMap::default(),
        })
    }
}

/// The default keys per action, in `Action::ALL` order.
fn default_bindings() -> Vec<(Action, Vec<Key>)> {
    Action::ALL
        .into_iter()
        .map(|a| {
            let specs = DEFAULTS
                .iter()
                .find(|(d, _)| *d == a)
                .map_or(&[][..], |(_, s)| *s);
            // Every default spec parses (tested).
            (a, specs.iter().filter_map(|s| s.parse().ok()).collect())
        })
        .collect()
}

impl Keymap {
    /// The defaults patched with the config file's `[keys.*]` tables.
    pub fn with_overrides(cfg: &KeysConfig) -> Result<Keymap, KeymapError> {
        let mut bindings = default_bindings();
        for (scope_name, actions) in &cfg.0 {
            let scope =
                ActionScope::from_name(scope_name).ok_or_else(|| KeymapError::UnknownScope {
                    scope: scope_name.clone(),
                })?;
            for (action_name, specs) in actions {
                let action =
                    Action::from_name(action_name).ok_or_else(|| KeymapError::UnknownAction {
                        scope: scope_name.clone(),
                        action: action_name.clone(),
                    })?;
                if action.scope() != scope {
                    return Err(KeymapError::WrongScope {
                        scope: scope_name.clone(),
                        action: action_name.clone(),
                        home: action.scope().name(),
                    });
                }
                let mut keys: Vec<Key> = Vec::with_capacity(specs.len());
                for spec in specs {
                    let key = spec.parse().map_err(|cause| KeymapError::BadKey {
                        scope: scope_name.clone(),
                        action: action_name.clone(),
                        cause,
                    })?;
                    if key == ctrl_c() && action != Action::Quit {
                        return Err(KeymapError::Reserved {
                            scope: scope_name.clone(),
                            action: action_name.clone(),
                        });
                    }
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
                if action == Action::Quit {
                    if keys.is_empty() {
                        return Err(KeymapError::NoQuitKey);
                    }
                    if !keys.contains(&ctrl_c()) {
                        keys.push(ctrl_c());
                    }
                }
                if let Some(slot) = bindings.iter_mut().find(|(a, _)| *a == action) {
                    slot.1 = keys;
                }
            }
        }
        Keymap::build(bindings)
    }

    /// Builds the lookup index; a key bound twice in one scope is an error.
    fn build(bindings: Vec<(Action, Vec<Key>)>) -> Result<Keymap, KeymapError> {
        let mut index = FxHashMap::default();
        for (action, keys) in &bindings {
            for key in keys {
                if let Some(first) = index.insert((action.scope(), *key), *action) {
                    return Err(KeymapError::Duplicate {
                        scope: action.scope().name(),
                        key: key.to_string(),
                        first: first.name(),
                        second: action.name(),
                    });
                }
            }
        }
        Ok(Keymap { bindings, index })
    }

    /// What `ev` means with `focused` in front, in `mode`. Only presses
    /// count (terminals that report releases would double every key).
    pub fn resolve(&self, mode: InputMode, focused: Pane, ev: KeyEvent) -> Resolved {
        if ev.kind != KeyEventKind::Press {
            return Resolved::Nothing;
        }
        let key = Key::from_event(&ev);
        if key == ctrl_c() {
            return Resolved::Action(Action::Quit);
        }
        let found = match mode {
            InputMode::Normal => self
                .lookup(ActionScope::Pane(focused), key)
                .or_else(|| self.lookup(ActionScope::Global, key)),
            InputMode::Confirm => self
                .lookup(ActionScope::Confirm, key)
                .or_else(|| self.chord_global(key)),
            InputMode::Filter => {
                let plain = !key
                    .modifiers()
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
                let edit = match key.code() {
                    KeyCode::Char(c) if plain => Some(FilterInput::Char(c)),
                    KeyCode::Backspace => Some(FilterInput::Backspace),
                    KeyCode::Enter => Some(FilterInput::Accept),
                    KeyCode::Esc => Some(FilterInput::Cancel),
                    _ => None,
                };
                if let Some(edit) = edit {
                    return Resolved::Filter(edit);
                }
                self.chord_global(key)
            }
        };
        found.map_or(Resolved::Nothing, Resolved::Action)
    }

    /// Esc then a key, typed quickly (or sent in one packet over SSH),
    /// reaches the console as Alt+key. When Alt+key means nothing, it is
    /// taken as the two keys it was; otherwise the one key as it came.
    pub fn split_meta(&self, mode: InputMode, focused: Pane, ev: KeyEvent) -> Vec<KeyEvent> {
        let meta_char = ev.modifiers == KeyModifiers::ALT && matches!(ev.code, KeyCode::Char(_));
        if !meta_char || self.resolve(mode, focused, ev) != Resolved::Nothing {
            return vec![ev];
        }
        let esc = KeyEvent::new_with_kind(KeyCode::Esc, KeyModifiers::NONE, ev.kind);
        let plain = KeyEvent::new_with_kind(ev.code, KeyModifiers::NONE, ev.kind);
        vec![esc, plain]
    }

    fn lookup(&self, scope: ActionScope, key: Key) -> Option<Action> {
        self.index.get(&(scope, key)).copied()
    }

    /// A Ctrl chord bound to quit or suspend: the ways out of every mode.
    fn chord_global(&self, key: Key) -> Option<Action> {
        if !key.modifiers().contains(KeyModifiers::CONTROL) {
            return None;
        }
        self.lookup(ActionScope::Global, key)
            .filter(|a| matches!(a, Action::Quit | Action::Suspend))
    }

    /// The keys bound to `action` (empty when unbound).
    pub fn keys(&self, action: Action) -> &[Key] {
        self.bindings
            .iter()
            .find(|(a, _)| *a == action)
            .map_or(&[], |(_, k)| k.as_slice())
    }

    /// The keys bound to `action` joined like "q, ctrl-c" (for dialogs and help).
    pub fn keys_label(&self, action: Action) -> String {
        let specs: Vec<String> = self.keys(action).iter().map(Key::to_string).collect();
        specs.join(", ")
    }

    /// The help overlay: one section per scope with bindings, then the filter box.
    pub fn help(&self) -> Vec<HelpSection> {
        let mut sections: Vec<HelpSection> = ActionScope::ALL
            .into_iter()
            .map(|scope| HelpSection {
                title: scope.title(),
                rows: self
                    .bindings
                    .iter()
                    .filter(|(a, keys)| a.scope() == scope && !keys.is_empty())
                    .map(|(a, _)| (self.keys_label(*a), a.description()))
                    .collect(),
            })
            .filter(|s| !s.rows.is_empty())
            .collect();
        sections.push(HelpSection {
            title: "Filter box",
            rows: FILTER_HELP
                .iter()
                .map(|(k, d)| ((*k).to_string(), *d))
                .collect(),
        });
        sections
    }

    /// Hint bar entries (first key, short label): the focused pane's actions,
    /// then a few global ones.
    pub fn hints(&self, focused: Pane) -> Vec<(String, &'static str)> {
        let pane = self
            .bindings
            .iter()
            .filter(|(a, _)| a.scope() == ActionScope::Pane(focused))
            .map(|(a, _)| *a);
        pane.chain(GLOBAL_HINTS)
            .filter_map(|a| {
                let key = self.keys(a).first()?;
                Some((key.to_string(), a.short_label()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    fn ch(c: char) -> KeyEvent {
        press(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn normal(km: &Keymap, pane: Pane, ev: KeyEvent) -> Resolved {
        km.resolve(InputMode::Normal, pane, ev)
    }

    fn over(entries: &[(&str, &str, &[&str])]) -> KeysConfig {
        let mut cfg = KeysConfig::default();
        for (scope, action, keys) in entries {
            cfg.0.entry((*scope).to_string()).or_default().insert(
                (*action).to_string(),
                keys.iter().map(|k| (*k).to_string()).collect(),
            );
        }
        cfg
    }

    #[test]
    fn every_default_spec_parses_and_defaults_have_no_duplicates() {
        for (a, specs) in DEFAULTS {
            for s in *specs {
                assert!(s.parse::<Key>().is_ok(), "{a:?}: {s}");
            }
        }
        assert!(Keymap::build(default_bindings()).is_ok());
        assert_eq!(
            DEFAULTS.len(),
            Action::ALL.len(),
            "every action has a default entry"
        );
    }

    #[test]
    fn esc_and_a_key_arriving_as_alt_key_are_both_seen() {
        let km = Keymap::default();
        let alt2 = press(KeyCode::Char('2'), KeyModifiers::ALT);
        let keys = km.split_meta(InputMode::Normal, Pane::Heatmap, alt2);
        assert_eq!(keys, vec![press(KeyCode::Esc, KeyModifiers::NONE), ch('2')]);
        assert_eq!(
            normal(&km, Pane::Heatmap, keys[0]),
            Resolved::Action(Action::Back)
        );
        assert_eq!(
            normal(&km, Pane::Heatmap, keys[1]),
            Resolved::Action(Action::Focus(Pane::Warming))
        );
        // A bound Alt chord, a plain key and a Ctrl chord stay one key.
        let bound = Keymap::with_overrides(&over(&[("global", "help", &["alt-h"])])).unwrap();
        let alth = press(KeyCode::Char('h'), KeyModifiers::ALT);
        assert_eq!(
            bound.split_meta(InputMode::Normal, Pane::Heatmap, alth),
            vec![alth]
        );
        assert_eq!(
            km.split_meta(InputMode::Normal, Pane::Heatmap, ch('2')),
            vec![ch('2')]
        );
        let ctrl = press(KeyCode::Char('x'), KeyModifiers::CONTROL);
        assert_eq!(
            km.split_meta(InputMode::Normal, Pane::Heatmap, ctrl),
            vec![ctrl]
        );
    }

    #[test]
    fn terminal_shift_variants_normalise() {
        let km = Keymap::default();
        let save = Resolved::Action(Action::SaveScreen);
        // `S` may come as 'S', 'S'+Shift, or 's'+Shift depending on the terminal.
        assert_eq!(normal(&km, Pane::Heatmap, ch('S')), save);
        assert_eq!(
            normal(
                &km,
                Pane::Heatmap,
                press(KeyCode::Char('S'), KeyModifiers::SHIFT)
            ),
            save
        );
        assert_eq!(
            normal(
                &km,
                Pane::Heatmap,
                press(KeyCode::Char('s'), KeyModifiers::SHIFT)
            ),
            save
        );
        assert_eq!(
            normal(&km, Pane::Heatmap, ch('s')),
            Resolved::Action(Action::CycleSort)
        );
        let prev = Resolved::Action(Action::FocusPrev);
        assert_eq!(
            normal(
                &km,
                Pane::Heatmap,
                press(KeyCode::BackTab, KeyModifiers::SHIFT)
            ),
            prev
        );
        assert_eq!(
            normal(&km, Pane::Heatmap, press(KeyCode::Tab, KeyModifiers::SHIFT)),
            prev
        );
        assert_eq!(
            normal(
                &km,
                Pane::Heatmap,
                press(KeyCode::Char('?'), KeyModifiers::SHIFT)
            ),
            Resolved::Action(Action::Help)
        );
    }

    #[test]
    fn defaults_resolve_per_issue() {
        let km = Keymap::default();
        let a = |pane, ev| match normal(&km, pane, ev) {
            Resolved::Action(a) => Some(a),
            _ => None,
        };
        let h = Pane::Heatmap;
        assert_eq!(a(h, ch('q')), Some(Action::Quit));
        assert_eq!(
            a(h, press(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            a(h, press(KeyCode::Tab, KeyModifiers::NONE)),
            Some(Action::FocusNext)
        );
        assert_eq!(a(h, ch('3')), Some(Action::Focus(Pane::Backends)));
        assert_eq!(a(h, ch('j')), Some(Action::Down));
        assert_eq!(
            a(h, press(KeyCode::Up, KeyModifiers::NONE)),
            Some(Action::Up)
        );
        assert_eq!(
            a(h, press(KeyCode::Enter, KeyModifiers::NONE)),
            Some(Action::Zoom)
        );
        assert_eq!(
            a(h, press(KeyCode::Esc, KeyModifiers::NONE)),
            Some(Action::Back)
        );
        assert_eq!(a(h, ch('+')), Some(Action::RefreshFaster));
        assert_eq!(a(h, ch('<')), Some(Action::TimeZoomOut));
        // Pane keys live only in their pane.
        assert_eq!(a(Pane::Warming, ch('<')), None);
        assert_eq!(a(Pane::Warming, ch(' ')), Some(Action::Mark));
        assert_eq!(a(h, ch(' ')), None);
        assert_eq!(a(Pane::Warming, ch('W')), Some(Action::WarmAll));
        assert_eq!(a(Pane::Warming, ch('c')), Some(Action::CancelJob));
        assert_eq!(a(h, ch('c')), None);
        assert_eq!(a(Pane::Backends, ch('d')), Some(Action::ToggleDrain));
        assert_eq!(a(Pane::Backends, ch('r')), Some(Action::CycleRouting));
        assert_eq!(a(Pane::Optimizer, ch('d')), None);
        // Confirm keys are not live in normal mode.
        assert_eq!(a(h, ch('y')), None);
    }

    #[test]
    fn only_presses_count() {
        let km = Keymap::default();
        let mut ev = ch('q');
        ev.kind = KeyEventKind::Release;
        assert_eq!(normal(&km, Pane::Heatmap, ev), Resolved::Nothing);
        ev.kind = KeyEventKind::Repeat;
        assert_eq!(normal(&km, Pane::Heatmap, ev), Resolved::Nothing);
    }

    #[test]
    fn pane_scope_wins_over_global() {
        let km = Keymap::with_overrides(&over(&[("warming", "mark", &["q"])])).unwrap();
        assert_eq!(
            normal(&km, Pane::Warming, ch('q')),
            Resolved::Action(Action::Mark)
        );
        assert_eq!(
            normal(&km, Pane::Heatmap, ch('q')),
            Resolved::Action(Action::Quit)
        );
        // The override replaced space.
        assert_eq!(normal(&km, Pane::Warming, ch(' ')), Resolved::Nothing);
    }

    #[test]
    fn filter_mode_types_letters() {
        let km = Keymap::default();
        let f = |ev| km.resolve(InputMode::Filter, Pane::Heatmap, ev);
        assert_eq!(f(ch('q')), Resolved::Filter(FilterInput::Char('q')));
        assert_eq!(f(ch(' ')), Resolved::Filter(FilterInput::Char(' ')));
        assert_eq!(
            f(press(KeyCode::Char('u'), KeyModifiers::SHIFT)),
            Resolved::Filter(FilterInput::Char('U'))
        );
        assert_eq!(
            f(press(KeyCode::Enter, KeyModifiers::NONE)),
            Resolved::Filter(FilterInput::Accept)
        );
        assert_eq!(
            f(press(KeyCode::Esc, KeyModifiers::NONE)),
            Resolved::Filter(FilterInput::Cancel)
        );
        assert_eq!(
            f(press(KeyCode::Backspace, KeyModifiers::NONE)),
            Resolved::Filter(FilterInput::Backspace)
        );
        assert_eq!(
            f(press(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Resolved::Action(Action::Quit)
        );
        assert_eq!(
            f(press(KeyCode::Char('x'), KeyModifiers::CONTROL)),
            Resolved::Nothing
        );
        assert_eq!(
            f(press(KeyCode::Tab, KeyModifiers::NONE)),
            Resolved::Nothing
        );
    }

    #[test]
    fn confirm_mode() {
        let km = Keymap::default();
        let c = |ev| km.resolve(InputMode::Confirm, Pane::Warming, ev);
        assert_eq!(c(ch('y')), Resolved::Action(Action::Confirm));
        assert_eq!(
            c(press(KeyCode::Enter, KeyModifiers::NONE)),
            Resolved::Action(Action::Confirm)
        );
        assert_eq!(c(ch('n')), Resolved::Action(Action::Deny));
        assert_eq!(
            c(press(KeyCode::Esc, KeyModifiers::NONE)),
            Resolved::Action(Action::Deny)
        );
        assert_eq!(
            c(ch('q')),
            Resolved::Nothing,
            "plain q does not quit from a dialog"
        );
        assert_eq!(
            c(ch('w')),
            Resolved::Nothing,
            "pane keys are not live under a dialog"
        );
        assert_eq!(
            c(press(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Resolved::Action(Action::Quit)
        );
    }

    #[test]
    fn overrides_replace_per_action() {
        let km = Keymap::with_overrides(&over(&[
            ("global", "quit", &["x"]),
            ("warming", "mark", &["space", "v", "v"]),
        ]))
        .unwrap();
        assert_eq!(normal(&km, Pane::Heatmap, ch('q')), Resolved::Nothing);
        assert_eq!(
            normal(&km, Pane::Heatmap, ch('x')),
            Resolved::Action(Action::Quit)
        );
        assert_eq!(km.keys_label(Action::Mark), "space, v");
        // Ctrl-C still quits: it is added back to the override, and shown.
        assert_eq!(km.keys_label(Action::Quit), "x, ctrl-c");
        for mode in [InputMode::Normal, InputMode::Filter, InputMode::Confirm] {
            assert_eq!(
                km.resolve(
                    mode,
                    Pane::Warming,
                    press(KeyCode::Char('c'), KeyModifiers::CONTROL)
                ),
                Resolved::Action(Action::Quit),
                "{mode:?}"
            );
        }
        // Everything else keeps its defaults.
        assert_eq!(km.keys_label(Action::Help), "?");
    }

    #[test]
    fn empty_list_unbinds() {
        let km = Keymap::with_overrides(&over(&[("global", "pause", &[])])).unwrap();
        assert_eq!(normal(&km, Pane::Heatmap, ch('p')), Resolved::Nothing);
        assert!(
            km.help()[0]
                .rows
                .iter()
                .all(|(_, d)| *d != Action::Pause.description())
        );
    }

    #[test]
    fn override_errors_name_scope_key_and_actions() {
        let err =
            |entries: &[(&str, &str, &[&str])]| Keymap::with_overrides(&over(entries)).unwrap_err();
        let e = err(&[("filter", "quit", &["q"])]);
        assert!(matches!(e, KeymapError::UnknownScope { .. }));
        assert!(e.to_string().contains("global, heatmap"), "{e}");
        let e = err(&[("global", "qiut", &["q"])]);
        assert!(e.to_string().contains("unknown action `qiut`"), "{e}");
        assert!(e.to_string().contains("cycle_theme"), "{e}");
        let e = err(&[("global", "warm", &["w"])]);
        assert!(e.to_string().contains("bind it in [keys.warming]"), "{e}");
        let e = err(&[("warming", "warm", &["ctrl-"])]);
        assert!(matches!(e, KeymapError::BadKey { .. }), "{e}");
        assert!(e.to_string().contains("[keys.warming] warm"), "{e}");
        let e = err(&[("global", "pause", &["q"])]);
        assert_eq!(
            e,
            KeymapError::Duplicate {
                scope: "global",
                key: "q".into(),
                first: "quit",
                second: "pause"
            }
        );
        assert!(
            e.to_string()
                .contains("key `q` is bound twice in [keys.global]"),
            "{e}"
        );
        assert_eq!(e.location(), ("global", vec!["pause", "quit"]));
        let e = err(&[("warming", "warm_all", &["w"])]);
        assert!(e.to_string().contains("`warm` and to `warm_all`"), "{e}");
        // Swapping two keys in one go is fine.
        assert!(
            Keymap::with_overrides(&over(&[
                ("global", "pause", &["q"]),
                ("global", "quit", &["p"])
            ]))
            .is_ok()
        );
        // No way out is refused, and so is Ctrl-C for anything but quit.
        let e = err(&[("global", "quit", &[])]);
        assert_eq!(e, KeymapError::NoQuitKey);
        assert_eq!(e.location(), ("global", vec!["quit"]));
        let e = err(&[("warming", "mark", &["ctrl-c"])]);
        assert!(matches!(e, KeymapError::Reserved { .. }), "{e}");
        assert_eq!(e.location(), ("warming", vec!["mark"]));
        assert!(e.to_string().contains("ctrl-c is reserved"), "{e}");
        // The same key in different scopes is fine.
        assert!(Keymap::with_overrides(&over(&[("backends", "toggle_drain", &["w"])])).is_ok());
    }

    #[test]
    fn help_is_generated_from_the_table() {
        let km =
            Keymap::with_overrides(&over(&[("backends", "toggle_drain", &["D", "x"])])).unwrap();
        let help = km.help();
        let titles: Vec<&str> = help.iter().map(|s| s.title).collect();
        assert_eq!(
            titles,
            [
                "Global",
                "1 Heatmap",
                "2 Warming",
                "3 Backends",
                "6 Sessions",
                "Confirm dialog",
                "Filter box"
            ]
        );
        assert_eq!(help[0].rows[0], ("q, ctrl-c".to_string(), "quit heliostat"));
        let backends = &help[3].rows;
        assert_eq!(backends[0].0, "D, x");
        let total: usize = help[..6].iter().map(|s| s.rows.len()).sum();
        assert_eq!(total, Action::ALL.len());
    }

    #[test]
    fn hints_list_pane_actions_then_globals() {
        let km = Keymap::default();
        let h = km.hints(Pane::Warming);
        let keys: Vec<&str> = h.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["space", "w", "W", "R", "m", "c", "/", "enter", "?", "q"]
        );
        assert_eq!(h[0].1, "mark");
        let h = km.hints(Pane::Clients);
        assert_eq!(h.len(), GLOBAL_HINTS.len());
    }
}

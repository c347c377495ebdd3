//! Keyspace notifications (`--key-events`) into the app: each node's exact
//! counts, and the warming engine (a key that keeps missing is a missing
//! hot key; a tracked key that expired or was evicted is missing now).

use super::state::State;
use crate::engines::Timestamp;
use crate::engines::intern::key_hash;
use crate::engines::keyevents::{KeyEventBoard, Kind, advice};
use crate::engines::warming::{Signal, TtlState};
use crate::sample::{KeyEvents, SourceId, SourceKind};

/// What the Warming pane says about miss events, and whether it is a
/// problem (drawn as a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissEventsLine {
    /// The line.
    pub text: String,
    /// Something is off or failing.
    pub warn: bool,
}

impl State {
    /// One sample of a node's notification listener.
    pub(crate) fn key_events(&mut self, id: SourceId, e: &KeyEvents, at: Timestamp) {
        let delim = self.session.key_delimiter.clone();
        // Rows as the sampler cuts the keyspace (`ux:user:*`), so a prefix's
        // misses and its sampled keys share a row.
        let keyspace = &self.keyspace;
        if let Some(src) = self.sources.iter_mut().find(|s| s.id == id) {
            src.key_events
                .get_or_insert_with(KeyEventBoard::default)
                .apply(e, at, |k| keyspace.row(k, &delim));
        }
        // With an access-event stream the misses are accesses it reports
        // already: counted once, there.
        let stream = self.sources.iter().any(|s| s.stream.is_some());
        for (key, n) in &e.missed {
            // A key too long to keep by name is never named or warmed.
            if key.len() > crate::sources::events::schema::MAX_KEY_BYTES {
                continue;
            }
            let hash = if stream {
                key_hash(key)
            } else {
                self.warming.record_via(key, *n, Signal::MissEvents, at)
            };
            let missing = TtlState::Missing;
            self.warming
                .observe_via(hash, key, missing, Signal::MissEvents, at);
        }
        let gone = [
            (Signal::ExpiredEvents, &e.expired),
            (Signal::EvictedEvents, &e.evicted),
        ];
        for (signal, keys) in gone {
            for k in keys {
                let h = key_hash(k);
                if self.warming.tracker().is_tracked(h) {
                    self.warming
                        .observe_via(h, k, TtlState::Missing, signal, at);
                }
            }
        }
    }

    /// The Warming pane's line about miss events at `now`: not listening
    /// (what `--key-events` and which flags would add), a node whose
    /// flags leave misses out (which flags, what they add and cost), a
    /// paused or failing listener, or the exact rate. `None` in the demo.
    pub fn miss_events_line(&self, now: Timestamp) -> Option<MissEventsLine> {
        if self.session.demo {
            return None;
        }
        if !self.session.key_events {
            return Some(MissEventsLine {
                text: "miss events off (not listening) — --key-events + notify-keyspace-events `Em` (Redis ≥ 6) add exact misses per key; cost: one pub/sub message per miss".into(),
                warn: false,
            });
        }
        let nodes: Vec<_> = self
            .sources
            .iter()
            .filter(|s| s.kind == SourceKind::Redis)
            .collect();
        let mut problems = Vec::new();
        let (mut on, mut rate) = (0usize, 0.0);
        for s in &nodes {
            let Some(b) = &s.key_events else {
                continue;
            };
            if let Some(line) = b.stopped_line(now) {
                problems.push(format!("{}: miss events {line}", s.name));
            } else if let Some(note) = &b.note {
                problems.push(format!("{}: miss events unavailable: {note}", s.name));
            } else if b.publishes(Kind::Miss) != Some(true)
                && let Some(setup) = &b.setup
                && let Some(first) = advice(setup).into_iter().next()
            {
                problems.push(format!("{}: {first}", s.name));
            } else if let Some(r) = b.per_sec(now) {
                on += 1;
                rate += r;
            }
        }
        if let Some(first) = problems.first() {
            let more = match problems.len() {
                1 => String::new(),
                n => format!(" (and {} more nodes)", n - 1),
            };
            return Some(MissEventsLine {
                text: format!("{first}{more}"),
                warn: true,
            });
        }
        let text = if on == 0 {
            "miss events: subscribing…".to_string()
        } else {
            format!(
                "miss events: exact, {} notifications/s from {on} node{}",
                crate::units::si(rate),
                if on == 1 { "" } else { "s" }
            )
        };
        Some(MissEventsLine { text, warn: false })
    }
}

/// A node's notification lines for the Backends detail: exact misses per
/// row and per key (keys shown as the screen shows keys: only up to their
/// prefix when redacted), expiries and evictions per row, a pause, and
/// what the server's flags leave out.
pub(crate) fn detail_lines(
    b: &KeyEventBoard,
    redact: bool,
    delim: &str,
    now: Timestamp,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(line) = b.stopped_line(now) {
        out.push(format!("keyspace notifications {line}"));
    }
    let rows = |kind: Kind| -> String {
        b.top_prefixes(kind, 4)
            .iter()
            // Rows (`user:*`, `(none)`), never keys: nothing to redact.
            .map(|(row, n)| format!("{} {n}", row.chars().take(32).collect::<String>()))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let named = [
        (Kind::Miss, "misses (notified, exact)"),
        (Kind::Expired, "expired (notified)"),
        (Kind::Evicted, "evicted (notified)"),
    ];
    for (kind, what) in named {
        let line = rows(kind);
        if !line.is_empty() {
            out.push(format!("{what} since start: {line}"));
        }
        if kind == Kind::Miss && !b.missed_keys.is_empty() {
            let keys: Vec<String> = b
                .top_keys(4)
                .iter()
                .map(|(k, m)| {
                    let k = crate::engines::keyspace::redacted(k, redact, delim);
                    format!("{} {}", k.chars().take(32).collect::<String>(), m.count)
                })
                .collect();
            out.push(format!("missed keys (exact): {}", keys.join(" · ")));
        }
    }
    if b.dropped > 0 {
        out.push(format!(
            "{} notifications counted in no row or key (caps: {} keys, {} rows)",
            b.dropped,
            crate::engines::keyevents::KEYS_KEPT,
            crate::engines::keyevents::PREFIXES_KEPT
        ));
    }
    if let Some(setup) = &b.setup {
        out.extend(advice(setup));
    }
    out
}

#[cfg(test)]
#[path = "keyevents_tests.rs"]
mod tests;

//! Keyspace notifications of one node (`--key-events`): exact counts of
//! misses per key and per prefix row, expiries and evictions per row, and
//! what the server's `notify-keyspace-events` leaves out, in words.
//!
//! Every figure here is a count of notifications the server sent, so it
//! is exact (as long as `dropped` is 0); it is never mixed with the key
//! sampler's estimates.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::Timestamp;
use super::bounded::{name, trim};

/// Keyspace notifications (`__keyevent@*__:keymiss|expired|evicted`)
/// since the previous sample of a node's listener: the payload of
/// `sample::Body::KeyEvents`, defined here so the engine owns what it reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEvents {
    /// Keys that missed (`keymiss`), with how many times.
    pub missed: Vec<(String, u32)>,
    /// Keys the server expired.
    pub expired: Vec<String>,
    /// Keys `maxmemory` evicted.
    pub evicted: Vec<String>,
    /// Notifications received but not named (too many in one flush).
    pub dropped: u64,
    /// What the server publishes, sent once after each subscribe.
    pub setup: Option<KeyEventSetup>,
    /// The listener stopped because notifications came too fast.
    pub stopped: Option<KeyEventsStopped>,
    /// Why notifications are not arriving (the server's words), if known.
    pub note: Option<String>,
}

/// What a node publishes, as read when the listener subscribed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEventSetup {
    /// `notify-keyspace-events` as `CONFIG GET` read it; `None` when
    /// `CONFIG GET` was refused.
    pub flags: Option<String>,
    /// Why `CONFIG GET` was refused (the server's words).
    pub refused: Option<String>,
    /// Server version (`7.2.4`).
    pub version: String,
}

/// The listener unsubscribed: more notifications per second than the limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEventsStopped {
    /// Notifications counted in the second that went over.
    pub per_sec: u64,
    /// The limit (notifications per second).
    pub limit: u64,
    /// Seconds until it subscribes again.
    pub resume_after_s: u64,
}

/// Keys whose misses are counted by name, per node.
pub const KEYS_KEPT: usize = 10_000;
/// Prefix rows counted per node.
pub const PREFIXES_KEPT: usize = 500;
/// Longest key name kept, bytes (longer names are cut, with a hash).
const KEY_BYTES: usize = 1024;
/// Longest prefix-row name kept, bytes.
const PREFIX_BYTES: usize = 128;
/// Seconds of flushes the rate is measured over.
const RATE_WINDOW_MS: u64 = 10_000;

/// One kind of notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `keymiss` (flag `m`, Redis ≥ 6.0).
    Miss,
    /// `expired` (flag `x`).
    Expired,
    /// `evicted` (flag `e`).
    Evicted,
}

impl Kind {
    /// Every kind, in the order counts are kept.
    pub const ALL: [Kind; 3] = [Kind::Miss, Kind::Expired, Kind::Evicted];

    /// Its `notify-keyspace-events` class letter.
    pub const fn flag(self) -> char {
        match self {
            Kind::Miss => 'm',
            Kind::Expired => 'x',
            Kind::Evicted => 'e',
        }
    }

    /// What it is called on screen.
    pub const fn label(self) -> &'static str {
        match self {
            Kind::Miss => "miss",
            Kind::Expired => "expired",
            Kind::Evicted => "evicted",
        }
    }

    /// What its events add, and what they cost.
    const fn adds(self) -> &'static str {
        match self {
            Kind::Miss => "adds exact misses per key; costs one pub/sub message per miss",
            Kind::Expired => {
                "adds which keys expired (when Redis deleted them); costs one pub/sub message per expiry"
            }
            Kind::Evicted => {
                "adds which keys maxmemory evicted; costs one pub/sub message per eviction"
            }
        }
    }

    fn index(self) -> usize {
        match self {
            Kind::Miss => 0,
            Kind::Expired => 1,
            Kind::Evicted => 2,
        }
    }
}

/// Whether a `notify-keyspace-events` value publishes `kind` on the
/// `__keyevent@…` channels: `E` and the class letter (`A` stands for every
/// class but `m` and `n`).
pub fn publishes(flags: &str, kind: Kind) -> bool {
    flags.contains('E')
        && (flags.contains(kind.flag()) || (kind != Kind::Miss && flags.contains('A')))
}

/// Whether a version string is at least `major` (`"6.2.1"`, `"7.0.15"`).
fn at_least(version: &str, major: u32) -> Option<bool> {
    let first = version.split('.').next()?.trim();
    first.parse::<u32>().ok().map(|v| v >= major)
}

/// What a node's notifications lack, one line per missing kind ("miss
/// events off: `notify-keyspace-events` is `Ex`, needs `Em` (Redis ≥ 6) —
/// adds …; costs …"), and the value that would add them all. Empty when
/// the node publishes all three. heliostat never changes the setting.
pub fn advice(setup: &KeyEventSetup) -> Vec<String> {
    let Some(flags) = setup.flags.as_deref() else {
        let why = setup.refused.as_deref().unwrap_or("refused");
        return vec![format!(
            "cannot read notify-keyspace-events ({why}): listening anyway; misses need `Em` (Redis ≥ 6), expiries `Ex`, evictions `Ee`"
        )];
    };
    let mut out = Vec::new();
    let mut want = String::new();
    let now = if flags.is_empty() {
        "empty".to_string()
    } else {
        format!("`{flags}`")
    };
    for kind in Kind::ALL {
        if publishes(flags, kind) {
            continue;
        }
        let f = kind.flag();
        if kind == Kind::Miss && at_least(&setup.version, 6) == Some(false) {
            out.push(format!(
                "miss events unavailable: they need Redis ≥ 6.0 (this server is {})",
                setup.version
            ));
            continue;
        }
        let since = if kind == Kind::Miss {
            " (Redis ≥ 6)"
        } else {
            ""
        };
        out.push(format!(
            "{} events off: notify-keyspace-events is {now}, needs `E{f}`{since} — {}",
            kind.label(),
            kind.adds()
        ));
        want.push(f);
    }
    if !want.is_empty() {
        let mut value: String = flags.chars().filter(|c| !c.is_whitespace()).collect();
        if !value.contains('E') {
            value.insert(0, 'E');
        }
        value.push_str(&want);
        out.push(format!(
            "(an operator could set notify-keyspace-events `{value}`; heliostat never changes it)"
        ));
    }
    out
}

/// Misses of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyMisses {
    /// Misses since heliostat started listening.
    pub count: u64,
    /// The newest.
    pub last: Timestamp,
}

/// One node's notifications.
#[derive(Debug, Clone, Default)]
pub struct KeyEventBoard {
    /// What the server publishes, as read at the latest subscribe.
    pub setup: Option<KeyEventSetup>,
    /// Why notifications are not arriving, if known.
    pub note: Option<String>,
    /// Paused for going over the limit (and when).
    pub stopped: Option<(KeyEventsStopped, Timestamp)>,
    /// Misses per key name (at most [`KEYS_KEPT`]; the fewest go first).
    pub missed_keys: FxHashMap<String, KeyMisses>,
    /// Misses, expiries, evictions per prefix row (at most [`PREFIXES_KEPT`]).
    pub by_prefix: FxHashMap<String, [u64; 3]>,
    /// Notifications of each kind since start.
    pub totals: [u64; 3],
    /// Notifications not counted by key or row: the listener named too
    /// many in one flush, or their key / row was dropped past a cap.
    pub dropped: u64,
    /// When the listener last subscribed.
    pub listening_since: Option<Timestamp>,
    /// Notifications per flush, newest last (for the rate).
    recent: VecDeque<(Timestamp, u64)>,
}

impl KeyEventBoard {
    /// Take one sample of the listener; `row` groups a key into its prefix
    /// row (the sampler's grouping, `engines::keyspace::key_row`).
    pub fn apply(&mut self, e: &KeyEvents, at: Timestamp, row: impl Fn(&str) -> String) {
        if let Some(s) = &e.setup {
            self.setup = Some(s.clone());
            self.note = None;
            self.stopped = None;
            self.listening_since = Some(at);
        }
        if let Some(stop) = e.stopped {
            self.stopped = Some((stop, at));
            self.listening_since = None;
        }
        if e.note.is_some() {
            self.note.clone_from(&e.note);
            self.listening_since = None;
        }
        let mut n = e.dropped;
        self.dropped = self.dropped.saturating_add(e.dropped);
        for (key, count) in &e.missed {
            let c = u64::from(*count);
            n = n.saturating_add(c);
            self.count(Kind::Miss, &row(key), c);
            let key = name(key, KEY_BYTES);
            if let Some(m) = self.missed_keys.get_mut(&*key) {
                m.count = m.count.saturating_add(c);
                m.last = at;
            } else {
                let m = KeyMisses { count: c, last: at };
                self.missed_keys.insert(key.into_owned(), m);
            }
        }
        for (kind, keys) in [(Kind::Expired, &e.expired), (Kind::Evicted, &e.evicted)] {
            n = n.saturating_add(keys.len() as u64);
            for key in keys {
                self.count(kind, &row(key), 1);
            }
        }
        self.trim();
        if n > 0 {
            self.recent.push_back((at, n));
        }
        while self
            .recent
            .front()
            .is_some_and(|(t, _)| at.millis_since(*t) > RATE_WINDOW_MS)
        {
            self.recent.pop_front();
        }
    }

    fn count(&mut self, kind: Kind, row: &str, n: u64) {
        self.totals[kind.index()] = self.totals[kind.index()].saturating_add(n);
        let row = name(row, PREFIX_BYTES);
        if let Some(c) = self.by_prefix.get_mut(&*row) {
            c[kind.index()] = c[kind.index()].saturating_add(n);
        } else {
            let mut c = [0; 3];
            c[kind.index()] = n;
            self.by_prefix.insert(row.into_owned(), c);
        }
    }

    /// Past a cap the keys (rows) with the fewest notifications go; what
    /// they held is counted as dropped, so every notification is counted.
    fn trim(&mut self) {
        if self.missed_keys.len() > KEYS_KEPT {
            let before: u64 = self.missed_keys.values().map(|m| m.count).sum();
            trim(&mut self.missed_keys, KEYS_KEPT, |_, m| {
                Some((m.count, m.last))
            });
            let after: u64 = self.missed_keys.values().map(|m| m.count).sum();
            self.dropped = self.dropped.saturating_add(before - after);
        }
        if self.by_prefix.len() > PREFIXES_KEPT {
            let sum = |m: &FxHashMap<String, [u64; 3]>| -> u64 { m.values().flatten().sum() };
            let before = sum(&self.by_prefix);
            trim(&mut self.by_prefix, PREFIXES_KEPT, |_, c| {
                Some(c.iter().sum::<u64>())
            });
            self.dropped = self.dropped.saturating_add(before - sum(&self.by_prefix));
        }
    }

    /// Notifications per second over the last [`RATE_WINDOW_MS`] at `now`
    /// (or since subscribing, at least 1 s); `None` before subscribing.
    pub fn per_sec(&self, now: Timestamp) -> Option<f64> {
        let since = self.listening_since?;
        let span = now
            .millis_since(since)
            .clamp(1000, RATE_WINDOW_MS.max(1000));
        let n: u64 = self
            .recent
            .iter()
            .filter(|(t, _)| now.millis_since(*t) < RATE_WINDOW_MS)
            .map(|(_, n)| n)
            .sum();
        Some(n as f64 * 1000.0 / span as f64)
    }

    /// Whether the server publishes `kind` (`None` when not known).
    pub fn publishes(&self, kind: Kind) -> Option<bool> {
        let flags = self.setup.as_ref()?.flags.as_deref()?;
        Some(publishes(flags, kind))
    }

    /// The rows with the most misses, most first (ties by name).
    pub fn top_prefixes(&self, kind: Kind, n: usize) -> Vec<(&str, u64)> {
        let i = kind.index();
        let mut v: Vec<(&str, u64)> = self
            .by_prefix
            .iter()
            .filter(|(_, c)| c[i] > 0)
            .map(|(r, c)| (r.as_str(), c[i]))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v.truncate(n);
        v
    }

    /// The keys with the most misses, most first (ties by name).
    pub fn top_keys(&self, n: usize) -> Vec<(&str, KeyMisses)> {
        let mut v: Vec<(&str, KeyMisses)> = self
            .missed_keys
            .iter()
            .map(|(k, m)| (k.as_str(), *m))
            .collect();
        v.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        v.truncate(n);
        v
    }

    /// The pause in words at `now` ("stopped: 12400 notifications/s over
    /// the 5000/s limit …; listening again in 4m"), while it lasts.
    pub fn stopped_line(&self, now: Timestamp) -> Option<String> {
        let (s, at) = self.stopped?;
        let left = (s.resume_after_s * 1000).saturating_sub(now.millis_since(at));
        let when = if left == 0 {
            "subscribing again".to_string()
        } else {
            format!("listening again in {}s", left.div_ceil(1000))
        };
        Some(format!(
            "stopped: {} notifications/s over the limit of {}/s (a busy node can overflow the pub/sub client output buffer); {when}",
            s.per_sec, s.limit
        ))
    }
}

#[cfg(test)]
#[path = "keyevents_tests.rs"]
mod tests;

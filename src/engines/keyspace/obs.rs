//! What the key sampler observes of one key (serde-able: these travel in
//! samples), and the two interpretations the rest of the engine relies on:
//! which prefix a key belongs to, and what its LFU counter or idle time says
//! about how often it is used.

use serde::{Deserialize, Serialize};

/// Group of keys without the delimiter (`counter`, `config`).
pub const NO_PREFIX: &str = "(none)";

/// The key delimiter when none is configured (`--key-delimiter`).
pub const DEFAULT_DELIMITER: &str = ":";

/// Group that takes new prefixes once `max_prefixes` are tracked, so a
/// delimiter that does not fit the naming cannot grow memory without bound.
pub const OTHER_PREFIXES: &str = "(other)";

/// Redis's initial LFU counter for a new key (`LFU_INIT_VAL`).
pub const LFU_INIT: u8 = 5;

/// `lfu-log-factor` assumed when turning a counter into a rate (the server
/// default; INFO does not report it and CONFIG may be refused by the ACL).
pub const LFU_LOG_FACTOR: f64 = 10.0;

/// A key idle for less than this counts as used recently (seconds): the
/// same minute the LFU counter takes to decay by one at the default
/// `lfu-decay-time` of 1.
pub const RECENT_IDLE_SECS: u64 = 60;

/// The value type `TYPE` reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeyKind {
    /// `string`.
    String,
    /// `hash`.
    Hash,
    /// `list`.
    List,
    /// `set`.
    Set,
    /// `zset`.
    ZSet,
    /// `stream`.
    Stream,
    /// A module type or anything newer.
    Other,
    /// `none`: the key went away between `SCAN` and the lookup.
    Missing,
}

impl KeyKind {
    /// Decode a `TYPE` reply.
    pub fn from_type(t: &str) -> Self {
        match t {
            "string" => KeyKind::String,
            "hash" => KeyKind::Hash,
            "list" => KeyKind::List,
            "set" => KeyKind::Set,
            "zset" => KeyKind::ZSet,
            "stream" => KeyKind::Stream,
            "none" => KeyKind::Missing,
            _ => KeyKind::Other,
        }
    }

    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            KeyKind::String => "string",
            KeyKind::Hash => "hash",
            KeyKind::List => "list",
            KeyKind::Set => "set",
            KeyKind::ZSet => "zset",
            KeyKind::Stream => "stream",
            KeyKind::Other => "other",
            KeyKind::Missing => "missing",
        }
    }

    /// The O(1) command that sizes a value of this type (`STRLEN` counts a
    /// string's bytes, the others count elements); `None` for other types.
    pub fn length_command(self) -> Option<&'static str> {
        match self {
            KeyKind::String => Some("STRLEN"),
            KeyKind::Hash => Some("HLEN"),
            KeyKind::List => Some("LLEN"),
            KeyKind::Set => Some("SCARD"),
            KeyKind::ZSet => Some("ZCARD"),
            KeyKind::Stream => Some("XLEN"),
            KeyKind::Other | KeyKind::Missing => None,
        }
    }
}

/// How often or how recently the server saw a key used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyHeat {
    /// `OBJECT FREQ` under an LFU `maxmemory-policy`: Redis's logarithmic
    /// access counter (0–255, a new key starts at 5, an access raises it with
    /// probability 1 / ((counter − 5) · lfu-log-factor + 1), and it decays by
    /// one per `lfu-decay-time` minutes idle). Not a count of accesses.
    LfuFreq(u8),
    /// `OBJECT IDLETIME`: seconds since the key was last accessed.
    IdleSecs(u64),
}

impl KeyHeat {
    /// A rough, deliberately low estimate of the key's access rate
    /// (accesses/s), from one observation:
    ///
    /// * LFU: at the default factor 10 and decay time 1 min, a counter
    ///   holds steady at `c` when the key is used about `(c − 5) · 10 + 1`
    ///   times a minute; one step lower is taken, `((c − 6) · 10 + 1) / 60`,
    ///   so a key touched once in the last minute (counter 6) reads 1/min.
    ///   Counters at 5 or below read 0; the counter saturates at 255 (≈ 41/s).
    /// * Idle time: a key used within the last minute had at least one
    ///   access in it: 1/60 per s; older, 0. (The time since one access says
    ///   little more about a rate.)
    pub fn est_rate(self) -> f64 {
        match self {
            KeyHeat::LfuFreq(c) if c > LFU_INIT => {
                (f64::from(c - LFU_INIT - 1) * LFU_LOG_FACTOR + 1.0) / 60.0
            }
            KeyHeat::LfuFreq(_) => 0.0,
            KeyHeat::IdleSecs(s) if s < RECENT_IDLE_SECS => 1.0 / 60.0,
            KeyHeat::IdleSecs(_) => 0.0,
        }
    }

    /// Used within about the last minute (LFU counter above its initial
    /// value, or idle under [`RECENT_IDLE_SECS`]).
    pub fn recent(self) -> bool {
        match self {
            KeyHeat::LfuFreq(c) => c > LFU_INIT,
            KeyHeat::IdleSecs(s) => s < RECENT_IDLE_SECS,
        }
    }

    /// Ranking score for hot-key lists: LFU keys by estimated rate, idle
    /// keys by recency; LFU readings rank above idle ones (a node reports
    /// one kind at a time unless its policy changed).
    pub fn hot_score(self) -> f64 {
        match self {
            KeyHeat::LfuFreq(_) => 1.0 + self.est_rate(),
            KeyHeat::IdleSecs(s) => 1.0 / (s as f64 + 2.0),
        }
    }
}

/// One key as the sampler saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampledKey {
    /// Key name (lossy UTF-8 of the raw bytes).
    pub key: String,
    /// `TYPE`.
    pub kind: KeyKind,
    /// `PTTL` as in [`crate::sample::KeyObs`]: `None` = missing (−2),
    /// `Some(-1)` = no expiry, else milliseconds left.
    pub ttl_ms: Option<i64>,
    /// `OBJECT FREQ` or `OBJECT IDLETIME`, when the server answered.
    pub heat: Option<KeyHeat>,
    /// `MEMORY USAGE … SAMPLES 5` in bytes, when asked for.
    pub memory: Option<u64>,
    /// Length (`STRLEN`) or element count (`HLEN`, `LLEN`, …), when asked for.
    pub elements: Option<u64>,
}

/// A budget that follows the node: a share of the commands it runs for
/// others, within a floor and a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetRule {
    /// The share, in basis points (500 = 5 %).
    pub share_bp: u32,
    /// Least budget (commands/s).
    pub floor: u32,
    /// Greatest budget (commands/s).
    pub cap: u32,
}

/// One batch from a node's key sampler: the keys of one `SCAN` step and
/// where the walk stands. Counters are cumulative for the sampler's run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyspaceSample {
    /// Pass number (a pass walks the keyspace from cursor 0 back to 0);
    /// a reconnect starts a new pass.
    pub pass: u64,
    /// `SCAN` returned cursor 0 with this batch: the pass is complete.
    pub pass_done: bool,
    /// `DBSIZE` of the sampled database, read with this batch.
    pub db_keys: u64,
    /// The sampler's budget in commands per second (now: it may follow
    /// the node's rate).
    pub budget: u32,
    /// How the budget is set (`None`: a fixed budget).
    #[serde(default)]
    pub rule: Option<BudgetRule>,
    /// Commands the sampler has sent so far (every one, `SCAN` included).
    pub sent: u64,
    /// Prefix delimiter in use.
    pub delimiter: String,
    /// The keys of this batch.
    pub keys: Vec<SampledKey>,
    /// What the server refused the sampler (the ACL), in its words, e.g.
    /// `DBSIZE: NOPERM …`: a refused `DBSIZE` leaves the keyspace's size,
    /// and so the coverage, unknown.
    #[serde(default)]
    pub refused: Vec<String>,
}

/// The prefix of `key`: its first segment before `delim` (`user` for
/// `user:42:profile`), `None` when the key has no delimiter. The first
/// segment, not all-but-last, so ids in the middle of names
/// (`user:42:profile`, `user:43:profile`) do not make one prefix per id.
pub fn prefix_of<'a>(key: &'a str, delim: &str) -> Option<&'a str> {
    if delim.is_empty() {
        return None;
    }
    key.split_once(delim).map(|(p, _)| p)
}

/// The heatmap row name of a prefix group: `user:*` for a first segment,
/// or the group name itself for keys without a prefix, the overflow group,
/// and a row of the prefix tree (it holds the delimiter already:
/// `ux:user:*`, `order:*:items`).
pub fn row_name(group: &str, delim: &str) -> String {
    if group == NO_PREFIX || group == OTHER_PREFIXES || (!delim.is_empty() && group.contains(delim))
    {
        group.to_string()
    } else {
        format!("{group}{delim}*")
    }
}

/// The row a key counts for wherever keys are grouped (the sampler, access
/// events, warm probes, expired-key counts): `user:*`, or [`NO_PREFIX`] for
/// a key without the delimiter — never the key itself, which would make one
/// row per key and show its whole name where names are redacted.
pub fn key_row(key: &str, delim: &str) -> String {
    row_name(prefix_of(key, delim).unwrap_or(NO_PREFIX), delim)
}

/// A key name as the screen may show it: with `redact`, only its prefix and
/// the delimiter (`user:…`), and `…` for a key without a prefix.
pub fn redacted(key: &str, redact: bool, delim: &str) -> String {
    if !redact {
        return key.to_string();
    }
    match prefix_of(key, delim) {
        Some(p) => format!("{p}{delim}…"),
        None => "…".to_string(),
    }
}

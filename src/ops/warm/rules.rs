//! Warm rules (`[[warm.rules]]` in the config file): which keys a rule
//! produces, from which query, into which Redis, how long they live and
//! how fast they may be written. Checked when the file loads, so a mistake
//! is reported with the rule's name, the key and the line.

use serde::Deserialize;

use super::pattern::KeyPattern;
use super::write::Mode;
use crate::engines::intern::key_hash;

/// Keys per second a rule writes unless it says otherwise.
pub const DEFAULT_MAX_KEYS_PER_S: u64 = 20_000;
/// Keys per database round trip unless the rule says otherwise.
pub const DEFAULT_BATCH: usize = 1_000;
/// The same for a rule without a rate limit (`max_keys_per_s = 0`): speed
/// is all it asks for, and fewer, larger round trips give more of it
/// (docs/PERFORMANCE.md); pipelines stay bounded in bytes either way.
pub const DEFAULT_BATCH_UNLIMITED: usize = 5_000;
/// ±10 % so warmed keys do not all expire in the same second.
pub const DEFAULT_JITTER: f64 = 0.1;

/// A rule as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Name shown in the console and in messages.
    pub name: String,
    /// Key pattern, e.g. `user:${id}`.
    pub key: String,
    /// Redis to write to (a node, any cluster node, or a Sentinel URL).
    pub redis: String,
    /// Postgres to read from (may be a replica).
    pub postgres: String,
    /// The query: `$1` is the text[] of the keys' first column values.
    pub query: String,
    /// Optional query listing the keys to preload.
    pub hot_keys_query: Option<String>,
    /// TTL in seconds.
    pub ttl: Option<u64>,
    /// Or: the result column holding each row's TTL in seconds.
    pub ttl_column: Option<String>,
    /// Relative TTL spread, 0 to 0.5.
    pub ttl_jitter: Option<f64>,
    /// `fill` (default) or `refresh`.
    #[serde(default)]
    pub mode: Mode,
    /// Rate limit; 0 = unlimited, only when said explicitly.
    pub max_keys_per_s: Option<u64>,
    /// Keys per SELECT (and per write round trip); default 1000, or 5000
    /// without a rate limit.
    pub batch: Option<usize>,
    /// The contexts whose console may use this rule; empty: a context
    /// whose `redis` servers include the rule's target.
    #[serde(default)]
    pub contexts: Vec<String>,
}

/// How a rule's TTL is chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Ttl {
    /// The same for every key (seconds).
    Fixed(u64),
    /// From this result column (seconds).
    Column(String),
}

/// A checked rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Name.
    pub name: String,
    /// Key pattern.
    pub key: KeyPattern,
    /// Redis URL.
    pub redis: String,
    /// Postgres URL.
    pub postgres: String,
    /// The fetch query (`$1` = the keys' values).
    pub query: String,
    /// The preload query.
    pub hot_keys_query: Option<String>,
    /// TTL.
    pub ttl: Ttl,
    /// Relative spread.
    pub jitter: f64,
    /// Write mode.
    pub mode: Mode,
    /// Keys per second; `None` = unlimited.
    pub max_keys_per_s: Option<u64>,
    /// Keys per SELECT.
    pub batch: usize,
    /// Contexts that may use it (empty: by its target, see [`RuleSpec`]).
    pub contexts: Vec<String>,
}

/// A mistake in a rule: which field, and what is wrong.
pub type RuleError = (&'static str, String);

impl Rule {
    /// Check a rule as written.
    pub fn from_spec(s: RuleSpec) -> Result<Rule, RuleError> {
        if s.name.trim().is_empty() {
            return Err(("name", "a rule needs a name".into()));
        }
        let key = KeyPattern::parse(&s.key).map_err(|e| ("key", e.to_string()))?;
        if !s.query.contains("$1") {
            return Err((
                "query",
                "the query must take the keys as $1 (a text[] parameter; keys are never spliced into SQL)"
                    .into(),
            ));
        }
        let ttl = match (s.ttl, s.ttl_column) {
            (Some(_), Some(_)) => return Err(("ttl", "give ttl or ttl_column, not both".into())),
            (None, None) => {
                return Err((
                    "ttl",
                    "give ttl (seconds) or ttl_column: warmed keys must expire".into(),
                ));
            }
            (Some(0), None) => return Err(("ttl", "ttl must be at least 1 second".into())),
            (Some(t), None) => Ttl::Fixed(t),
            (None, Some(c)) => Ttl::Column(c),
        };
        let jitter = s.ttl_jitter.unwrap_or(DEFAULT_JITTER);
        if !(0.0..=0.5).contains(&jitter) {
            return Err(("ttl_jitter", format!("{jitter} is not between 0 and 0.5")));
        }
        let max_keys_per_s = match s.max_keys_per_s {
            Some(0) => None,
            Some(n) => Some(n),
            None => Some(DEFAULT_MAX_KEYS_PER_S),
        };
        let batch = s.batch.unwrap_or(match max_keys_per_s {
            Some(_) => DEFAULT_BATCH,
            None => DEFAULT_BATCH_UNLIMITED,
        });
        if !(1..=100_000).contains(&batch) {
            return Err(("batch", format!("{batch} is not between 1 and 100000")));
        }
        Ok(Rule {
            name: s.name,
            key,
            redis: s.redis,
            postgres: s.postgres,
            query: s.query,
            hot_keys_query: s.hot_keys_query,
            ttl,
            jitter,
            mode: s.mode,
            max_keys_per_s,
            batch,
            contexts: s.contexts,
        })
    }

    /// The TTL to write for `key`, in ms: `base_s` spread by the jitter, the
    /// same for a key every time (so a re-run does not reshuffle expiries).
    pub fn ttl_ms(&self, key: &str, base_s: u64) -> u64 {
        let u = (key_hash(key) >> 11) as f64 / (1u64 << 53) as f64;
        let factor = 1.0 + self.jitter * (2.0 * u - 1.0);
        ((base_s as f64 * 1000.0) * factor).round().max(1.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RuleSpec {
        RuleSpec {
            name: "users".into(),
            key: "user:${id}".into(),
            redis: "redis://127.0.0.1:6379".into(),
            postgres: "postgres://app@db/app".into(),
            query: "SELECT id::text AS id, payload AS value FROM users WHERE id = ANY($1::text[]::int[])"
                .into(),
            hot_keys_query: None,
            ttl: Some(600),
            ttl_column: None,
            ttl_jitter: None,
            mode: Mode::Fill,
            max_keys_per_s: None,
            batch: None,
            contexts: Vec::new(),
        }
    }

    #[test]
    fn defaults_fill_in() {
        let r = Rule::from_spec(spec()).unwrap();
        assert_eq!(r.ttl, Ttl::Fixed(600));
        assert_eq!(r.max_keys_per_s, Some(DEFAULT_MAX_KEYS_PER_S));
        assert_eq!(r.batch, DEFAULT_BATCH);
        assert_eq!(r.mode, Mode::Fill);
        let unlimited = Rule::from_spec(RuleSpec {
            max_keys_per_s: Some(0),
            ..spec()
        })
        .unwrap();
        assert_eq!(
            unlimited.max_keys_per_s, None,
            "0 means unlimited, when said"
        );
        assert_eq!(unlimited.batch, DEFAULT_BATCH_UNLIMITED);
        let explicit = Rule::from_spec(RuleSpec {
            max_keys_per_s: Some(0),
            batch: Some(200),
            ..spec()
        })
        .unwrap();
        assert_eq!(explicit.batch, 200, "a rule's own batch wins");
    }

    #[test]
    fn mistakes_name_the_field() {
        let err = |s: RuleSpec| Rule::from_spec(s).unwrap_err();
        assert_eq!(
            err(RuleSpec {
                key: "user:all".into(),
                ..spec()
            })
            .0,
            "key"
        );
        assert_eq!(
            err(RuleSpec {
                query: "SELECT 1".into(),
                ..spec()
            })
            .0,
            "query"
        );
        assert_eq!(
            err(RuleSpec {
                ttl: None,
                ..spec()
            })
            .0,
            "ttl"
        );
        assert_eq!(
            err(RuleSpec {
                ttl_column: Some("ttl".into()),
                ..spec()
            })
            .0,
            "ttl"
        );
        assert_eq!(
            err(RuleSpec {
                ttl_jitter: Some(0.9),
                ..spec()
            })
            .0,
            "ttl_jitter"
        );
    }

    #[test]
    fn ttls_spread_within_the_jitter_and_stay_put_per_key() {
        let r = Rule::from_spec(spec()).unwrap();
        let ttls: Vec<u64> = (0..2000)
            .map(|i| r.ttl_ms(&format!("user:{i}"), 600))
            .collect();
        assert!(ttls.iter().all(|&t| (540_000..=660_000).contains(&t)));
        let (lo, hi) = (ttls.iter().min().unwrap(), ttls.iter().max().unwrap());
        assert!(*lo < 550_000 && *hi > 650_000, "they spread: {lo}..{hi}");
        assert_eq!(r.ttl_ms("user:7", 600), r.ttl_ms("user:7", 600));
    }
}

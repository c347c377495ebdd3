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
/// The longest TTL a rule may give, in seconds: 10 years (315 360 000 s).
/// A longer one is a mistake (a key meant to expire, kept for ever), and
/// past `i64` milliseconds Redis refuses every `SET`.
pub const MAX_TTL_S: u64 = 10 * 365 * 86_400;

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
    /// Or: the result column holding each row's TTL in seconds (an
    /// integer, a decimal or a float; rounded up to the millisecond).
    pub ttl_column: Option<String>,
    /// Relative TTL spread, 0 to 0.5.
    pub ttl_jitter: Option<f64>,
    /// `fill` (default) or `refresh`.
    #[serde(default)]
    pub mode: Mode,
    /// Rate limit; 0 = unlimited, only when said explicitly.
    pub max_keys_per_s: Option<u64>,
    /// Keys per SELECT (and per write round trip); default 1000, or 5000
    /// without a rate limit; never more than `max_keys_per_s`.
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
    /// From this result column (seconds, fractions rounded up to the ms).
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
            (Some(t), None) if t > MAX_TTL_S => {
                return Err((
                    "ttl",
                    format!("{t} s is longer than the longest TTL, 10 years ({MAX_TTL_S} s)"),
                ));
            }
            (Some(t), None) => Ttl::Fixed(t),
            (None, Some(c)) if c.trim().is_empty() => {
                return Err((
                    "ttl_column",
                    "ttl_column is empty: name the result column holding each row's TTL in seconds"
                        .into(),
                ));
            }
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

    /// Keys per batch: the rule's `batch`, but never more than one
    /// second's allowance of its rate limit, so no batch (the first one
    /// included, which goes at once) writes faster than the limit says.
    pub fn batch_size(&self) -> usize {
        let cap = self
            .max_keys_per_s
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        self.batch.min(cap).max(1)
    }

    /// The TTL to write for `key`, in ms: `base_s` spread by the jitter, the
    /// same for a key every time (so a re-run does not reshuffle expiries).
    pub fn ttl_ms(&self, key: &str, base_s: u64) -> u64 {
        self.jittered_ms(key, base_s.saturating_mul(1000))
    }

    /// [`Rule::ttl_ms`] for a base already in milliseconds.
    pub fn jittered_ms(&self, key: &str, base_ms: u64) -> u64 {
        let u = (key_hash(key) >> 11) as f64 / (1u64 << 53) as f64;
        let factor = 1.0 + self.jitter * (2.0 * u - 1.0);
        (base_ms as f64 * factor).round().max(1.0) as u64
    }

    /// The base TTL in ms a row gives (before the jitter): the rule's own,
    /// or its TTL column's seconds (`599.8`, `600`, ` 1e3 `) rounded up to
    /// the millisecond. `None`: no usable TTL (the column is NULL, absent,
    /// not a number, not positive, or longer than [`MAX_TTL_S`]).
    pub fn base_ttl_ms<'a>(&self, column: impl FnOnce(&str) -> Option<&'a str>) -> Option<u64> {
        match &self.ttl {
            Ttl::Fixed(s) => (1..=MAX_TTL_S).contains(s).then(|| s * 1000),
            Ttl::Column(c) => column(c).and_then(parse_ttl_ms),
        }
    }
}

/// Seconds as text → milliseconds, rounded up; `None` unless a finite
/// number above 0 and at most [`MAX_TTL_S`].
pub fn parse_ttl_ms(text: &str) -> Option<u64> {
    let s: f64 = text.trim().parse().ok()?;
    if !s.is_finite() || s <= 0.0 || s > MAX_TTL_S as f64 {
        return None;
    }
    // At most 3.2e11 ms here: exact in an f64, and within a u64.
    Some((s * 1000.0).ceil() as u64)
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
    fn an_empty_ttl_column_and_a_ttl_beyond_ten_years_are_refused() {
        let err = |s: RuleSpec| Rule::from_spec(s).unwrap_err();
        let (field, msg) = err(RuleSpec {
            ttl: None,
            ttl_column: Some(" ".into()),
            ..spec()
        });
        assert_eq!(field, "ttl_column");
        assert!(msg.contains("empty"), "{msg}");
        let (field, msg) = err(RuleSpec {
            ttl: Some(9_223_372_036_854_775_807),
            ..spec()
        });
        assert_eq!(field, "ttl");
        assert!(msg.contains("10 years (315360000 s)"), "{msg}");
        assert!(
            Rule::from_spec(RuleSpec {
                ttl: Some(MAX_TTL_S),
                ..spec()
            })
            .is_ok(),
            "10 years exactly is fine"
        );
    }

    #[test]
    fn column_ttls_are_seconds_rounded_up_to_the_millisecond() {
        assert_eq!(parse_ttl_ms("600"), Some(600_000));
        assert_eq!(parse_ttl_ms(" 599.8 "), Some(599_800));
        assert_eq!(parse_ttl_ms("0.0001"), Some(1), "rounded up, not to 0");
        assert_eq!(parse_ttl_ms("1e3"), Some(1_000_000));
        for bad in ["0", "-5", "-0.5", "", "soon", "NaN", "inf", "315360001"] {
            assert_eq!(parse_ttl_ms(bad), None, "{bad:?}");
        }
        let r = Rule::from_spec(RuleSpec {
            ttl: None,
            ttl_column: Some("ttl".into()),
            ..spec()
        })
        .unwrap();
        assert_eq!(
            r.base_ttl_ms(|c| (c == "ttl").then_some("2.5")),
            Some(2_500)
        );
        assert_eq!(r.base_ttl_ms(|_| None), None, "NULL or absent");
        let fixed = Rule::from_spec(spec()).unwrap();
        assert_eq!(fixed.base_ttl_ms(|_| None), Some(600_000));
    }

    #[test]
    fn a_batch_never_holds_more_than_one_seconds_allowance() {
        let r = |rate, batch| {
            Rule::from_spec(RuleSpec {
                max_keys_per_s: Some(rate),
                batch: Some(batch),
                ..spec()
            })
            .unwrap()
            .batch_size()
        };
        assert_eq!(r(100, 1000), 100);
        assert_eq!(r(1, 100_000), 1);
        assert_eq!(r(20_000, 500), 500);
        assert_eq!(r(0, 5000), 5000, "no limit, no cap");
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

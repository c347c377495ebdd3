//! The access-event schema (`docs/EVENTS.md`): one stream entry per cache
//! access, as field/value pairs. Pure: parsing and encoding are tested
//! without a server.

use std::fmt;

use thiserror::Error;

use crate::engines::bounded;
use crate::engines::keyspace::{DEFAULT_DELIMITER, NO_PREFIX, prefix_of, row_name};

/// Tables one event may name (`table` and `tables` together); further ones
/// are dropped and counted ([`crate::sample::StreamStats::tables_dropped`]).
pub const MAX_TABLES_PER_EVENT: usize = 64;

/// Longest client or table name kept, in bytes; a longer one is cut, with
/// a hash of the whole appended so distinct names stay apart.
pub const MAX_NAME_BYTES: usize = 256;

/// Longest operation name kept, in bytes (cut the same way).
pub const MAX_OP_BYTES: usize = 32;

/// Longest key name kept, in bytes. A longer key is shown cut, with a hash
/// of the whole appended (so it is counted as itself), and never warmed:
/// its name is not known.
pub const MAX_KEY_BYTES: usize = 1024;

/// Smallest `sample_rate` taken as given; a smaller positive rate counts as
/// this, so one event stands for at most 10 000 accesses.
pub const MIN_SAMPLE_RATE: f64 = 1e-4;

/// One cache access, as an application or proxy reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    /// Application client name (`client`).
    pub client: String,
    /// Tables the access stands for (`table`, or comma-separated `tables`).
    pub tables: Vec<String>,
    /// SQL text whose result is cached (`query`), fingerprinted by the app.
    pub query: Option<String>,
    /// Cache key (`key`).
    pub key: Option<String>,
    /// Operation (`op`): get, set, del, mget…
    pub op: String,
    /// `hit` (1/0): `None` for accesses that are not lookups (writes).
    pub hit: Option<bool>,
    /// Latency seen by the application, µs (`latency_us`).
    pub latency_us: u64,
    /// Time the hit saved against the database, µs (`saved_us`).
    pub saved_us: u64,
    /// Whether the request failed (`status` other than `ok`).
    pub error: bool,
    /// Share of accesses reported (`sample_rate`, 0 < r ≤ 1): each event
    /// counts for `1 / sample_rate` accesses.
    pub sample_rate: f64,
}

/// `s` cut to `max` bytes the way every name from an event is.
fn cut(s: &str, max: usize) -> String {
    bounded::name(s, max).into_owned()
}

/// Why an entry was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Malformed {
    /// A field or value is not UTF-8.
    #[error("field {0} is not UTF-8")]
    NotUtf8(String),
    /// A number field does not parse.
    #[error("{field} is not a non-negative integer: {value:?}")]
    BadNumber {
        /// Field name.
        field: &'static str,
        /// Value (truncated).
        value: String,
    },
    /// `hit` is not 1/0/true/false.
    #[error("hit must be 1 or 0, got {0:?}")]
    BadHit(String),
    /// `sample_rate` outside (0, 1].
    #[error("sample_rate must be in (0, 1], got {0:?}")]
    BadSampleRate(String),
    /// Nothing says what was accessed.
    #[error("no table, tables, query or key")]
    NothingAccessed,
    /// The entry's shape is not field/value pairs.
    #[error("not a field/value list")]
    Shape,
}

/// Longest value kept in an error message.
const SHOWN: usize = 32;

fn shown(v: &str) -> String {
    v.chars().take(SHOWN).collect()
}

fn number(field: &'static str, v: &str) -> Result<u64, Malformed> {
    v.trim().parse::<u64>().map_err(|_| Malformed::BadNumber {
        field,
        value: shown(v),
    })
}

fn text<'a>(field: &[u8], v: &'a [u8]) -> Result<&'a str, Malformed> {
    std::str::from_utf8(v)
        .map_err(|_| Malformed::NotUtf8(String::from_utf8_lossy(field).into_owned()))
}

/// An entry's fields as borrowed from the reply: parsing allocates nothing,
/// which matters at hundreds of thousands of events a second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventRef<'a> {
    /// `client` (empty when absent).
    pub client: &'a str,
    /// `table`, as given.
    pub table: Option<&'a str>,
    /// `tables`, as given (comma-separated).
    pub tables: Option<&'a str>,
    /// `query`, when not blank.
    pub query: Option<&'a str>,
    /// `key`, when not empty.
    pub key: Option<&'a str>,
    /// `op` as given (compare case-insensitively); empty when absent.
    pub op: &'a str,
    /// `hit`: `None` for accesses that are not lookups.
    pub hit: Option<bool>,
    /// `latency_us`.
    pub latency_us: u64,
    /// `saved_us`.
    pub saved_us: u64,
    /// `status` other than ok.
    pub error: bool,
    /// `sample_rate` (1 when absent; at least [`MIN_SAMPLE_RATE`]).
    pub sample_rate: f64,
}

impl<'a> EventRef<'a> {
    /// Parse an entry's field/value pairs. Unknown fields are ignored, so
    /// producers can add their own.
    pub fn parse(
        pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Result<EventRef<'a>, Malformed> {
        let mut e = EventRef {
            client: "",
            table: None,
            tables: None,
            query: None,
            key: None,
            op: "",
            hit: None,
            latency_us: 0,
            saved_us: 0,
            error: false,
            sample_rate: 1.0,
        };
        for (f, v) in pairs {
            match f {
                b"client" => e.client = text(f, v)?,
                b"table" => e.table = Some(text(f, v)?).filter(|t| !t.is_empty()),
                b"tables" => e.tables = Some(text(f, v)?),
                b"query" => e.query = Some(text(f, v)?).filter(|q| !q.trim().is_empty()),
                b"key" => e.key = Some(text(f, v)?).filter(|k| !k.is_empty()),
                b"op" => e.op = text(f, v)?,
                b"hit" => {
                    e.hit = Some(match v {
                        b"1" | b"true" => true,
                        b"0" | b"false" => false,
                        _ => return Err(Malformed::BadHit(shown(&String::from_utf8_lossy(v)))),
                    })
                }
                b"latency_us" => e.latency_us = number("latency_us", text(f, v)?)?,
                b"saved_us" => e.saved_us = number("saved_us", text(f, v)?)?,
                b"status" => {
                    let s = text(f, v)?;
                    e.error = !(s.is_empty() || s.eq_ignore_ascii_case("ok"));
                }
                b"sample_rate" => {
                    let s = text(f, v)?;
                    let r = s.trim().parse::<f64>().unwrap_or(f64::NAN);
                    if !(r > 0.0 && r <= 1.0) {
                        return Err(Malformed::BadSampleRate(shown(s)));
                    }
                    e.sample_rate = r.max(MIN_SAMPLE_RATE);
                }
                _ => {}
            }
        }
        if e.table.is_none() && e.tables().next().is_none() && e.query.is_none() && e.key.is_none()
        {
            return Err(Malformed::NothingAccessed);
        }
        Ok(e)
    }

    /// The tables named by `table` and `tables`, trimmed, blanks dropped,
    /// at most [`MAX_TABLES_PER_EVENT`] (names not cut yet).
    pub fn tables(&self) -> impl Iterator<Item = &'a str> {
        self.all_tables().take(MAX_TABLES_PER_EVENT)
    }

    fn all_tables(&self) -> impl Iterator<Item = &'a str> {
        self.table.into_iter().chain(
            self.tables
                .into_iter()
                .flat_map(|t| t.split(','))
                .map(str::trim)
                .filter(|t| !t.is_empty()),
        )
    }

    /// Tables named past [`MAX_TABLES_PER_EVENT`].
    pub fn tables_dropped(&self) -> usize {
        self.all_tables().skip(MAX_TABLES_PER_EVENT).count()
    }

    /// The key's prefix group (by `delim`, as the sampler groups keys)
    /// stands in for the table when nothing else names one: `user` for
    /// `user:42`, [`NO_PREFIX`] for a key without the delimiter — never the
    /// key itself, which would make a row and a group per key and show the
    /// whole name where keys are redacted.
    pub fn prefix_as_table(&self, delim: &str) -> Option<&'a str> {
        match (self.tables().next(), self.query, self.key) {
            (None, None, Some(k)) => Some(prefix_of(k, delim).unwrap_or(NO_PREFIX)),
            _ => None,
        }
    }

    /// An owned copy, with defaults filled in and names cut to their
    /// limits (the key too, so keep [`EventRef::key`] to hash it whole); a
    /// key-only event's table is its prefix row by `delim` (`user:*`, or
    /// [`NO_PREFIX`]).
    pub fn to_event(&self, delim: &str) -> Event {
        let mut tables: Vec<String> = self.tables().map(|t| cut(t, MAX_NAME_BYTES)).collect();
        if let Some(p) = self.prefix_as_table(delim) {
            tables.push(cut(&row_name(p, delim), MAX_NAME_BYTES));
        }
        Event {
            client: if self.client.is_empty() {
                UNNAMED.to_string()
            } else {
                cut(self.client, MAX_NAME_BYTES)
            },
            tables,
            query: self.query.map(str::to_string),
            key: self.key.map(|k| cut(k, MAX_KEY_BYTES)),
            op: if self.op.is_empty() {
                "get".to_string()
            } else {
                cut(&self.op.to_ascii_lowercase(), MAX_OP_BYTES)
            },
            hit: self.hit,
            latency_us: self.latency_us,
            saved_us: self.saved_us,
            error: self.error,
            sample_rate: self.sample_rate,
        }
    }
}

/// Client name of events without one.
pub const UNNAMED: &str = "(unnamed)";

impl Event {
    /// Parse an entry's field/value pairs into an owned event (see
    /// [`EventRef::parse`]); a key-only event is attributed to the key's
    /// prefix by the default delimiter (`user:*`, or [`NO_PREFIX`]) as its
    /// table.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Result<Event, Malformed> {
        EventRef::parse(pairs).map(|e| e.to_event(DEFAULT_DELIMITER))
    }

    /// Field/value pairs for `XADD`, in schema order; optional fields are
    /// left out when unset.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![("client", self.client.clone())];
        match self.tables.as_slice() {
            [] => {}
            [t] => v.push(("table", t.clone())),
            ts => v.push(("tables", ts.join(","))),
        }
        if let Some(q) = &self.query {
            v.push(("query", q.clone()));
        }
        if let Some(k) = &self.key {
            v.push(("key", k.clone()));
        }
        v.push(("op", self.op.clone()));
        if let Some(h) = self.hit {
            v.push(("hit", if h { "1" } else { "0" }.to_string()));
        }
        v.push(("latency_us", self.latency_us.to_string()));
        if self.saved_us > 0 {
            v.push(("saved_us", self.saved_us.to_string()));
        }
        v.push((
            "status",
            if self.error { "error" } else { "ok" }.to_string(),
        ));
        if self.sample_rate < 1.0 {
            v.push(("sample_rate", self.sample_rate.to_string()));
        }
        v
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (k, v) in self.fields() {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "{k}={v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Event, Malformed> {
        Event::parse(pairs.iter().map(|(f, v)| (f.as_bytes(), v.as_bytes())))
    }

    #[test]
    fn a_full_entry_parses() {
        let e = parse(&[
            ("client", "api"),
            ("table", "users"),
            ("query", "SELECT * FROM users WHERE id = 4"),
            ("key", "user:4"),
            ("op", "GET"),
            ("hit", "1"),
            ("latency_us", "250"),
            ("saved_us", "4000"),
            ("status", "ok"),
            ("sample_rate", "0.25"),
            ("trace_id", "ignored"),
        ])
        .unwrap();
        assert_eq!(e.client, "api");
        assert_eq!(e.tables, ["users"]);
        assert_eq!(e.op, "get");
        assert_eq!(e.hit, Some(true));
        assert_eq!((e.latency_us, e.saved_us), (250, 4000));
        assert!(!e.error);
        assert!((e.sample_rate - 0.25).abs() < 1e-12);
    }

    #[test]
    fn encoding_round_trips() {
        let e = Event {
            client: "worker".into(),
            tables: vec!["orders".into(), "users".into()],
            query: None,
            key: Some("order:9".into()),
            op: "set".into(),
            hit: None,
            latency_us: 900,
            saved_us: 0,
            error: true,
            sample_rate: 0.5,
        };
        let fields = e.fields();
        let back = Event::parse(fields.iter().map(|(f, v)| (f.as_bytes(), v.as_bytes()))).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn mistakes_are_named() {
        let bad = |pairs: &[(&str, &str)]| parse(pairs).unwrap_err().to_string();
        assert_eq!(bad(&[("client", "a")]), "no table, tables, query or key");
        assert!(bad(&[("table", "t"), ("hit", "yes")]).contains("hit must be 1 or 0"));
        assert!(bad(&[("table", "t"), ("latency_us", "-3")]).contains("latency_us"));
        assert!(bad(&[("table", "t"), ("sample_rate", "0")]).contains("sample_rate"));
        assert!(bad(&[("table", "t"), ("sample_rate", "NaN")]).contains("sample_rate"));
        let e = Event::parse([(b"client".as_slice(), b"\xff".as_slice())]).unwrap_err();
        assert_eq!(e, Malformed::NotUtf8("client".into()));
    }

    #[test]
    fn per_event_limits_cut_names_drop_tables_and_clamp_the_rate() {
        let many: Vec<String> = (0..20_000).map(|i| format!("t{i}")).collect();
        let big_key = format!("user:{}", "k".repeat(1 << 20));
        let long_client = "c".repeat(10_000);
        let pairs = [
            ("client", long_client.as_str()),
            ("tables", &many.join(",")),
            ("key", big_key.as_str()),
            ("op", &"G".repeat(1000)),
            ("sample_rate", "4.9e-324"),
        ];
        let ev = EventRef::parse(pairs.iter().map(|(f, v)| (f.as_bytes(), v.as_bytes()))).unwrap();
        assert_eq!(ev.tables().count(), MAX_TABLES_PER_EVENT);
        assert_eq!(ev.tables_dropped(), 20_000 - MAX_TABLES_PER_EVENT);
        assert_eq!(
            ev.sample_rate, MIN_SAMPLE_RATE,
            "one event is not 4.3 G accesses"
        );
        assert_eq!(
            ev.key.map(str::len),
            Some(big_key.len()),
            "kept whole to hash"
        );
        let e = ev.to_event(":");
        assert_eq!(e.tables.len(), MAX_TABLES_PER_EVENT);
        assert!(e.client.len() <= MAX_NAME_BYTES && e.client.starts_with("ccc"));
        assert!(e.op.len() <= MAX_OP_BYTES && e.op.starts_with("ggg"));
        let key = e.key.unwrap_or_default();
        assert!(
            key.len() <= MAX_KEY_BYTES && key.starts_with("user:kkk"),
            "{}",
            key.len()
        );
        // Short names are untouched; a huge table name is cut.
        let long_table = "x".repeat(5000);
        let e = parse(&[("table", &long_table), ("client", "api")]).unwrap();
        assert_eq!(e.client, "api");
        assert!(e.tables[0].len() <= MAX_NAME_BYTES);
        // Rates in range are kept; out of range are still malformed.
        let e = parse(&[("table", "t"), ("sample_rate", "0.001")]).unwrap();
        assert_eq!(e.sample_rate, 0.001);
        assert!(parse(&[("table", "t"), ("sample_rate", "-1")]).is_err());
    }

    #[test]
    fn a_key_only_event_counts_for_its_prefix_and_defaults_fill_in() {
        let e = parse(&[("key", "session:abc:1"), ("hit", "0")]).unwrap();
        assert_eq!(e.tables, ["session:*"]);
        assert_eq!(e.client, "(unnamed)");
        assert_eq!(e.op, "get");
        assert_eq!(e.sample_rate, 1.0);
        let e = parse(&[("key", "sess_9f2a"), ("hit", "1")]).unwrap();
        assert_eq!(e.tables, ["(none)"], "never the key itself");
        let ev = EventRef::parse([(b"key".as_slice(), b"user/42".as_slice())]).unwrap();
        assert_eq!(
            ev.to_event("/").tables,
            ["user/*"],
            "the configured delimiter"
        );
        assert_eq!(ev.to_event(":").tables, ["(none)"]);
        let e = parse(&[("tables", "a, b,,c")]).unwrap();
        assert_eq!(e.tables, ["a", "b", "c"]);
        assert_eq!(e.hit, None, "no hit field: not a lookup");
    }
}

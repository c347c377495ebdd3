//! Rows for warming, from PostgreSQL: the rule's query with the keys' values
//! bound as `$1` (a `text[]`, never spliced into SQL), each batch in its own
//! read-only transaction with a local statement timeout (safe behind
//! PgBouncer in transaction pooling). Four round trips a batch: `BEGIN`
//! with the settings, the query's parse (an unnamed statement: nothing
//! prepared outlives the transaction), its rows, `COMMIT`.

use std::sync::Arc;
use std::time::Duration;

use std::borrow::Cow;

use futures_util::TryStreamExt;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow, PgValueFormat, Postgres};
use sqlx::{Column, Decode, Row as _, TypeInfo, ValueRef};
use tokio::sync::mpsc::UnboundedSender;

use super::job::{FetchError, Row, Rows};
use super::pattern::KeyPattern;
use super::rules::{Rule, Ttl};
use crate::fault::Fault;
use crate::redact::redact_url;
use crate::sources::postgres::{connect_options, explain, explain_pool, fault};

/// Rows decoded between turns given to the rest of the task.
const YIELD_EVERY: u32 = 1024;

/// How long one batch's query may run.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// A small pool on the rule's database.
#[derive(Debug, Clone)]
pub struct PgRows {
    pool: PgPool,
}

impl PgRows {
    /// Connect (2 connections, 3 s to acquire one), as `heliostat-warm`,
    /// with the options every heliostat connection uses (safe behind
    /// PgBouncer: no `extra_float_digits`, and no named statements — each
    /// batch's query is an unnamed statement inside its transaction, one
    /// more round trip). A connection that cannot be made says why
    /// (refused, a failed login), not only that the wait timed out.
    pub async fn connect(url: &str) -> Result<PgRows, Fault> {
        let opts = connect_options(url)?.application_name("heliostat-warm");
        let wait = Duration::from_secs(3);
        // No ping before each batch: a connection that broke since is found
        // by the batch itself, which is then tried once more (see `run`).
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .test_before_acquire(false)
            .acquire_timeout(wait)
            .connect_with(opts.clone())
            .await;
        match pool {
            Ok(pool) => Ok(PgRows { pool }),
            Err(e) => Err(explain(&e, &opts, wait).await.context(redact_url(url))),
        }
    }

    /// Run a query without parameters (a rule's `hot_keys_query`).
    pub async fn all(&self, query: &str) -> Result<Vec<Row>, Fault> {
        let (mut names, mut out) = (Vec::new(), Vec::new());
        self.for_rows(query, None, |r| {
            out.push(to_row(r, &mut names)?);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// The keys `pattern` makes of a query's rows (a rule's
    /// `hot_keys_query`): each row rendered as it arrives, only the
    /// pattern's columns read, no row kept.
    pub async fn keys(&self, query: &str, pattern: &KeyPattern) -> Result<Vec<String>, Fault> {
        let mut out = Vec::new();
        self.keys_each(query, pattern, |k| out.push(k)).await?;
        Ok(out)
    }

    /// [`PgRows::keys`] sent on `tx` in chunks of `chunk` as the rows
    /// arrive, so a job ([`super::job::run_feed`]) starts on the first
    /// ones; a failure is sent as an `Err` after the keys before it.
    pub async fn send_keys(
        &self,
        query: &str,
        pattern: &KeyPattern,
        chunk: usize,
        tx: &UnboundedSender<Result<Vec<String>, String>>,
    ) {
        let chunk = chunk.max(1);
        let mut buf = Vec::with_capacity(chunk);
        let done = self
            .keys_each(query, pattern, |k| {
                buf.push(k);
                if buf.len() >= chunk {
                    // A job that stopped early has dropped the receiver: fine.
                    let _ = tx.send(Ok(std::mem::replace(&mut buf, Vec::with_capacity(chunk))));
                }
            })
            .await;
        if !buf.is_empty() {
            let _ = tx.send(Ok(buf));
        }
        if let Err(e) = done {
            let _ = tx.send(Err(format!("hot_keys_query: {e}")));
        }
    }

    async fn keys_each(
        &self,
        query: &str,
        pattern: &KeyPattern,
        mut each: impl FnMut(String),
    ) -> Result<(), Fault> {
        let wanted: Vec<&str> = pattern.columns().collect();
        let mut at: Vec<usize> = Vec::new();
        self.for_rows(query, None, |r| {
            if at.is_empty() {
                at = wanted
                    .iter()
                    .map(|w| r.columns().iter().position(|c| c.name() == *w))
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        Fault::Config(format!("the rows lack the pattern's columns ({pattern})"))
                    })?;
            }
            let mut vals: Vec<(&str, Cow<'_, str>)> = Vec::with_capacity(at.len());
            for (name, &i) in wanted.iter().zip(&at) {
                if let Some(t) = text(r, i)? {
                    vals.push((name, t));
                }
            }
            let key =
                pattern.render(|c| vals.iter().find(|(n, _)| *n == c).map(|(_, v)| v.as_ref()));
            each(key.ok_or_else(|| {
                Fault::Config(format!(
                    "a row has NULL in the pattern's columns ({pattern})"
                ))
            })?);
            Ok(())
        })
        .await
    }

    /// Run `query` (with `$1` = `values`) and hand each row to `each` as it
    /// arrives. Tried once more when the connection (not the query) failed
    /// before any row came: a pooled connection the server closed since its
    /// last batch.
    async fn for_rows(
        &self,
        query: &str,
        values: Option<&[String]>,
        mut each: impl FnMut(&PgRow) -> Result<(), Fault>,
    ) -> Result<(), Fault> {
        // Atomic only to keep the future `Send` (the console spawns it).
        let seen = std::sync::atomic::AtomicBool::new(false);
        let mut counted = |r: &PgRow| {
            seen.store(true, std::sync::atomic::Ordering::Relaxed);
            each(r)
        };
        let result = match self.try_rows(query, values, &mut counted).await {
            Err(e)
                if matches!(e, sqlx::Error::Io(_))
                    && !seen.load(std::sync::atomic::Ordering::Relaxed) =>
            {
                tracing::debug!("warm: Postgres connection lost ({e}), trying again");
                self.try_rows(query, values, &mut counted).await
            }
            other => other,
        };
        match result {
            Ok(done) => done,
            Err(e @ sqlx::Error::PoolTimedOut) => Err(explain_pool(&e, &self.pool).await),
            // The kind as the source maps it, the words the warm reasons use.
            Err(e) => Err(Fault::new(fault(&e).kind(), describe(&e))),
        }
    }

    async fn try_rows(
        &self,
        query: &str,
        values: Option<&[String]>,
        each: &mut impl FnMut(&PgRow) -> Result<(), Fault>,
    ) -> Result<Result<(), Fault>, sqlx::Error> {
        let begin = format!(
            "BEGIN READ ONLY; SET LOCAL statement_timeout = '{}ms'",
            STATEMENT_TIMEOUT.as_millis()
        );
        let mut tx = self.pool.begin_with(begin).await?;
        // Unnamed (not persistent): with no statement cache, sqlx would
        // otherwise leave a named statement on the server per batch.
        let q = sqlx::query(query).persistent(false);
        let q = match values {
            Some(v) => q.bind(v),
            None => q,
        };
        {
            let mut rows = q.fetch(&mut *tx);
            let mut n = 0u32;
            while let Some(r) = rows.try_next().await? {
                if let Err(e) = each(&r) {
                    // Dropping the transaction rolls it back.
                    return Ok(Err(e));
                }
                // Rows already received decode without waiting: let the
                // task's other work (the writes, a job fed by these rows)
                // have a turn now and then.
                n = n.wrapping_add(1);
                if n % YIELD_EVERY == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }
        tx.commit().await?;
        Ok(Ok(()))
    }
}

impl Rows for PgRows {
    /// The rule's query for `values`. A result that lacks a column the
    /// rule needs (`value`, the pattern's, the TTL column) cannot serve
    /// any batch: [`FetchError::Rule`], found on the first row.
    async fn fetch(&mut self, rule: &Rule, values: &[String]) -> Result<Vec<Row>, FetchError> {
        let (mut names, mut out) = (Vec::new(), Vec::new());
        let mut wrong: Option<String> = None;
        let done = self
            .for_rows(&rule.query, Some(values), |r| {
                if names.is_empty()
                    && let Some(why) = lacks(rule, r)
                {
                    wrong = Some(why.clone());
                    return Err(Fault::Config(why));
                }
                out.push(to_row(r, &mut names)?);
                Ok(())
            })
            .await;
        match (done, wrong) {
            (_, Some(why)) => Err(FetchError::Rule(why)),
            (Err(e), None) => Err(FetchError::Batch(e.to_string())),
            (Ok(()), None) => Ok(out),
        }
    }
}

/// The column a rule needs that the query's result lacks, said so that
/// the fix is plain.
fn lacks(rule: &Rule, r: &PgRow) -> Option<String> {
    let has = |n: &str| r.columns().iter().any(|c| c.name() == n);
    if !has("value") {
        return Some(
            "the query returns no `value` column: name the column to cache `value` (… AS value)"
                .into(),
        );
    }
    if let Some(c) = rule.key.columns().find(|c| !has(c)) {
        return Some(format!(
            "the query returns no `{c}` column, which the key pattern {} needs (… AS {c})",
            rule.key
        ));
    }
    if let Ttl::Column(c) = &rule.ttl
        && !has(c)
    {
        return Some(format!(
            "the query returns no `{c}` column, the rule's ttl_column (… AS {c})"
        ));
    }
    None
}

/// How a column is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Bytes,
    Other,
}

fn kind(ty: &str) -> Kind {
    match ty {
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "UNKNOWN" => Kind::Text,
        "INT2" => Kind::Int2,
        "INT4" => Kind::Int4,
        "INT8" => Kind::Int8,
        "FLOAT4" => Kind::Float4,
        "FLOAT8" => Kind::Float8,
        "NUMERIC" => Kind::Numeric,
        "BYTEA" => Kind::Bytes,
        _ => Kind::Other,
    }
}

fn cast_hint(r: &PgRow, i: usize) -> String {
    let (name, ty) = r
        .columns()
        .get(i)
        .map(|c| (c.name(), c.type_info().name()))
        .unwrap_or(("?", "?"));
    format!("column {name} has type {ty}: cast it to text in the query ({name}::text)")
}

/// Column `i`'s text (`None`: NULL), borrowed from the row when it is
/// text. Decoded straight from the wire value (the type is checked here).
fn text(r: &PgRow, i: usize) -> Result<Option<Cow<'_, str>>, Fault> {
    let raw = r
        .try_get_raw(i)
        .map_err(|e| Fault::Protocol(e.to_string()))?;
    if raw.is_null() {
        return Ok(None);
    }
    let k = kind(raw.type_info().name());
    // A column heliostat cannot read as text: the rule's query needs a cast.
    let bad = |e: sqlx::error::BoxDynError| Fault::Config(format!("{}: {e}", cast_hint(r, i)));
    Ok(Some(match k {
        Kind::Text => Cow::Borrowed(<&str as Decode<Postgres>>::decode(raw).map_err(bad)?),
        Kind::Int2 => Cow::Owned(i16::decode(raw).map_err(bad)?.to_string()),
        Kind::Int4 => Cow::Owned(i32::decode(raw).map_err(bad)?.to_string()),
        Kind::Int8 => Cow::Owned(i64::decode(raw).map_err(bad)?.to_string()),
        Kind::Float4 => Cow::Owned(f32::decode(raw).map_err(bad)?.to_string()),
        Kind::Float8 => Cow::Owned(f64::decode(raw).map_err(bad)?.to_string()),
        Kind::Numeric if raw.format() == PgValueFormat::Text => {
            Cow::Borrowed(raw.as_str().map_err(bad)?)
        }
        Kind::Numeric => {
            let bytes = raw.as_bytes().map_err(bad)?;
            Cow::Owned(numeric_text(bytes).ok_or_else(|| Fault::Config(cast_hint(r, i)))?)
        }
        Kind::Bytes | Kind::Other => return Err(Fault::Config(cast_hint(r, i))),
    }))
}

/// A `numeric` in Postgres' binary form (digit count, weight, sign, display
/// scale, then base-10000 digits) → its exact decimal text. `None` for NaN,
/// ±Infinity (no TTL, no key) and anything malformed.
fn numeric_text(b: &[u8]) -> Option<String> {
    use std::fmt::Write as _;
    let word = |i: usize| b.get(i..i + 2).map(|w| u16::from_be_bytes([w[0], w[1]]));
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(2)? as i16);
    let negative = match word(4)? {
        0x0000 => false,
        0x4000 => true,
        _ => return None,
    };
    let dscale = usize::from(word(6)?);
    let digits: Vec<u16> = (0..ndigits)
        .map(|i| word(8 + 2 * i).filter(|&d| d < 10_000))
        .collect::<Option<_>>()?;
    // The base-10000 digit standing for 10000^(weight - i).
    let at = |i: i64| usize::try_from(i).ok().and_then(|i| digits.get(i)).copied();
    let mut out = String::new();
    if negative && digits.iter().any(|&d| d != 0) {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    }
    for i in 0..=weight {
        let d = at(i).unwrap_or(0);
        if i == 0 {
            let _ = write!(out, "{d}");
        } else {
            let _ = write!(out, "{d:04}");
        }
    }
    if dscale > 0 {
        let mut frac = String::with_capacity(dscale + 4);
        let mut i = weight + 1;
        while frac.len() < dscale {
            let _ = write!(frac, "{:04}", at(i).unwrap_or(0));
            i += 1;
        }
        frac.truncate(dscale);
        out.push('.');
        out.push_str(&frac);
    }
    Some(out)
}

/// Text of every column, and the `value` column's bytes (text, or `bytea`
/// as is; `None` when NULL). A column of a type that is not text-like is
/// named with the cast that fixes it. `names`: the result's column names,
/// shared by its rows (filled from the first row).
fn to_row(r: &PgRow, names: &mut Vec<Arc<str>>) -> Result<Row, Fault> {
    if names.is_empty() {
        *names = r.columns().iter().map(|c| Arc::from(c.name())).collect();
    }
    let mut out = Row {
        columns: Vec::with_capacity(names.len()),
        value: None,
    };
    for (i, name) in names.iter().enumerate() {
        if &**name == "value" {
            let raw = r
                .try_get_raw(i)
                .map_err(|e| Fault::Protocol(e.to_string()))?;
            if raw.is_null() {
                continue;
            }
            if kind(raw.type_info().name()) == Kind::Bytes {
                out.value = Some(
                    <&[u8] as Decode<Postgres>>::decode(raw)
                        .map_err(|e| Fault::Protocol(e.to_string()))?
                        .to_vec(),
                );
                continue;
            }
        }
        let Some(t) = text(r, i)? else { continue };
        if &**name == "value" {
            out.value = Some(t.into_owned().into_bytes());
        } else {
            out.columns.push((name.clone(), t.into_owned()));
        }
    }
    Ok(out)
}

fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => {
            format!("{} ({})", d.message(), d.code().as_deref().unwrap_or("?"))
        }
        sqlx::Error::PoolTimedOut => "timed out waiting for a connection".into(),
        other => other.to_string().chars().take(160).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Postgres' binary `numeric`: digit count, weight, sign, scale, digits.
    fn numeric(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [digits.len() as u16, weight as u16, sign, dscale]
            .into_iter()
            .chain(digits.iter().copied())
        {
            b.extend_from_slice(&w.to_be_bytes());
        }
        b
    }

    #[test]
    fn numerics_read_as_their_exact_decimal_text() {
        let t = |w, s, d, digits: &[u16]| numeric_text(&numeric(w, s, d, digits));
        assert_eq!(t(0, 0, 1, &[599, 8000]).as_deref(), Some("599.8"));
        assert_eq!(t(0, 0, 0, &[600]).as_deref(), Some("600"));
        assert_eq!(
            t(1, 0, 0, &[1]).as_deref(),
            Some("10000"),
            "trailing zero groups"
        );
        assert_eq!(t(1, 0, 2, &[12, 3456, 7800]).as_deref(), Some("123456.78"));
        assert_eq!(t(-1, 0x4000, 2, &[500]).as_deref(), Some("-0.05"));
        assert_eq!(t(-2, 0, 6, &[1200]).as_deref(), Some("0.000012"));
        assert_eq!(t(0, 0, 0, &[]).as_deref(), Some("0"));
        assert_eq!(t(0, 0xC000, 0, &[]), None, "NaN");
        assert_eq!(t(0, 0xD000, 0, &[]), None, "Infinity");
        assert_eq!(numeric_text(&[0, 1]), None, "malformed");
    }
}

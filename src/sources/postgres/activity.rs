//! `pg_stat_activity` for the Sessions pane, read by the endpoint's poller
//! at most every [`EVERY`]: one read-only transaction in one round trip
//! (as every refresh, see `queries`), client backends only (with the
//! sessions of other roles a role without `pg_read_all_stats` sees
//! without their details, counted in the list's note), the
//! [`MAX_SESSIONS`] running longest first (idle ones last), durations
//! computed by the server (`now()`), `pg_blocking_pids` asked only of
//! sessions waiting on a lock. Query texts are fingerprinted here (the
//! heatmap's lexer: literals become `?`) and cut, so no literal value ever
//! leaves the source. heliostat's own sessions (`application_name`
//! `heliostat…`, and the reading connection itself) are marked.

use std::time::{Duration, Instant};

use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};

use crate::engines::bounded;
use crate::engines::heatmap::fingerprint::fingerprint;
use crate::engines::sessions::{
    MAX_SESSIONS, NAME_BYTES, OWN_PREFIX, PgSession, PgSessionList, PgState, QUERY_BYTES,
};

/// `pg_stat_activity` is read at most this often.
pub const EVERY: Duration = Duration::from_secs(5);
/// Characters of a query's text the server sends (`track_activity_query_size`
/// is 1 024 bytes by default; the fingerprint is cut much shorter anyway).
const QUERY_CHARS: u32 = 2_048;
/// What `pg_stat_activity` shows in `query` for another role's session
/// when this one lacks `pg_read_all_stats`.
const HIDDEN: &str = "<insufficient privilege>";

/// The query of one read: `limit` client sessions, the longest running
/// first.
pub fn sql(limit: usize, statement_timeout: Duration) -> String {
    let select = format!(
        r"
SELECT pid::int8 AS pid, usename::text AS usename, datname::text AS datname,
  coalesce(application_name, '') AS app,
  CASE WHEN client_addr IS NULL THEN NULL
    WHEN client_port > 0 THEN host(client_addr) || ':' || client_port::text
    ELSE host(client_addr) END AS client,
  state, wait_event_type::text AS wait_type, wait_event::text AS wait_event,
  greatest(0, extract(epoch FROM now() - query_start) * 1000)::int8 AS query_ms,
  greatest(0, extract(epoch FROM now() - xact_start) * 1000)::int8 AS xact_ms,
  greatest(0, extract(epoch FROM now() - state_change) * 1000)::int8 AS state_ms,
  CASE WHEN wait_event_type = 'Lock'
    THEN array_to_string(pg_blocking_pids(pid), ',') END AS blocked_by,
  left(query, {QUERY_CHARS}) AS query,
  (pid = pg_backend_pid() OR coalesce(application_name, '') LIKE '{OWN_PREFIX}%') AS own,
  count(*) OVER ()::int8 AS total
FROM pg_stat_activity
WHERE backend_type = 'client backend'
  -- Another role's session, to a role without pg_read_all_stats: every
  -- column past the user and application is NULL (background processes
  -- have no user).
  OR (backend_type IS NULL AND usesysid IS NOT NULL)
ORDER BY state = 'idle', coalesce(xact_start, query_start) NULLS LAST, pid
LIMIT {limit}"
    );
    super::queries::wrap(&select, statement_timeout)
}

/// When the endpoint's sessions are due.
#[derive(Debug, Default)]
pub struct ActivityReader {
    last: Option<Instant>,
}

impl ActivityReader {
    /// Whether a read is due now (and, if so, the next is [`EVERY`] later).
    pub fn due(&mut self) -> bool {
        if self.last.is_some_and(|t| t.elapsed() < EVERY) {
            return false;
        }
        self.last = Some(Instant::now());
        true
    }
}

/// Read the sessions through the poller's pool:
/// what the poller sends as `Body::PgSessions`.
pub async fn read(
    pool: &PgPool,
    statement_timeout: Duration,
) -> Result<PgSessionList, sqlx::Error> {
    let q = sql(MAX_SESSIONS, statement_timeout);
    let rows = sqlx::raw_sql(&q).fetch_all(pool).await?;
    parse(&rows)
}

fn ms(row: &PgRow, col: &str) -> Result<Option<u64>, sqlx::Error> {
    let v: Option<i64> = row.try_get(col)?;
    Ok(v.map(|v| u64::try_from(v).unwrap_or(0)))
}

/// `s` without control characters, cut to `max` bytes (ending in `…` when cut).
fn clean(s: &str, max: usize) -> String {
    let shown: String = bounded::prefix(s, 4 * max)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if shown.len() <= max {
        return shown;
    }
    format!("{}…", bounded::prefix(&shown, max - '…'.len_utf8()))
}

/// A query's text as the pane may show it: its fingerprint (literals as
/// `?`), cut to [`QUERY_BYTES`].
pub fn redact(query: &str) -> String {
    clean(&fingerprint(query).text, QUERY_BYTES)
}

/// The rows of one read.
pub fn parse(rows: &[PgRow]) -> Result<PgSessionList, sqlx::Error> {
    let mut list = PgSessionList::default();
    let mut hidden = 0u32;
    for row in rows {
        let total: i64 = row.try_get("total")?;
        list.total = u32::try_from(total).unwrap_or(u32::MAX);
        let pid: i64 = row.try_get("pid")?;
        let name = |col: &str| -> Result<Option<String>, sqlx::Error> {
            let v: Option<String> = row.try_get(col)?;
            Ok(v.map(|v| clean(&v, NAME_BYTES)))
        };
        let state: Option<String> = row.try_get("state")?;
        let query: Option<String> = row.try_get("query")?;
        let query = match query.as_deref() {
            Some(HIDDEN) => {
                hidden += 1;
                None
            }
            Some(q) => Some(redact(q)),
            None => None,
        };
        let wait = match (name("wait_type")?, name("wait_event")?) {
            (Some(t), Some(e)) => Some((t, e)),
            _ => None,
        };
        let blocked: Option<String> = row.try_get("blocked_by")?;
        list.rows.push(PgSession {
            pid: u32::try_from(pid).unwrap_or(0),
            user: name("usename")?,
            database: name("datname")?,
            application: name("app")?.unwrap_or_default(),
            client: name("client")?,
            state: PgState::parse(state.as_deref()),
            wait,
            query_ms: ms(row, "query_ms")?,
            xact_ms: ms(row, "xact_ms")?,
            state_ms: ms(row, "state_ms")?,
            blocked_by: blocked
                .unwrap_or_default()
                .split(',')
                .filter_map(|p| p.trim().parse().ok())
                .take(64)
                .collect(),
            query,
            own: row.try_get("own")?,
        });
    }
    list.cut = list
        .total
        .saturating_sub(u32::try_from(list.rows.len()).unwrap_or(u32::MAX));
    if hidden > 0 {
        list.note = Some(format!(
            "{hidden} sessions of other roles hidden (the role lacks pg_read_all_stats)"
        ));
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_fingerprinted_and_cut_never_literal() {
        let q = "SELECT * FROM users WHERE email = 'alice@example.com' AND id = 42";
        let r = redact(q);
        assert!(!r.contains("alice") && !r.contains("42"), "{r}");
        assert!(r.contains("FROM users"), "{r}");
        let long = format!("SELECT {} FROM t", "a, ".repeat(1_000));
        let r = redact(&long);
        assert!(r.len() <= QUERY_BYTES && r.ends_with('…'), "{r}");
        // A text the server cut inside a string: the rest is a literal.
        assert!(!redact("UPDATE t SET secret = 'hunter2 and mo").contains("hunter2"));
        assert!(!redact("SELECT 1\x1b[2J").contains('\x1b'));
    }

    #[test]
    fn the_query_reads_only_client_backends_and_marks_its_own() {
        let s = sql(500, Duration::from_millis(900));
        assert!(s.starts_with("BEGIN READ ONLY; SET LOCAL statement_timeout = '900ms';"));
        assert!(s.contains("backend_type = 'client backend'") && s.contains("LIMIT 500"));
        assert!(s.contains("LIKE 'heliostat%'"));
    }
}

//! The SQL a refresh sends, and what its rows become.
//!
//! Every refresh is one simple-protocol round trip: `BEGIN READ ONLY`,
//! `SET LOCAL statement_timeout`, one `SELECT` (CTEs inside), `COMMIT`. The
//! simple protocol prepares nothing and `SET LOCAL` ends with the
//! transaction, so this is safe behind PgBouncer in transaction pooling.
//! Every column is cast to `int8`, `text` or `bool`, so rows decode the
//! same from any server version this supports (10 and later).

use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::PgRow;
use xxhash_rust::xxh3::xxh3_64;

use crate::sample::{PgDetail, PgStats, StatementCounters, TableCounters};

/// The oldest `server_version_num` whose views and functions these queries
/// use (`pg_wal_lsn_diff`, `backend_type`, `pg_blocking_pids`).
pub const MIN_VERSION: u32 = 100_000;

/// Blocker pids sent at most.
const BLOCKERS: usize = 5;

/// `select` in a read-only transaction with a statement timeout, one
/// simple-protocol round trip.
pub(crate) fn wrap(select: &str, statement_timeout: Duration) -> String {
    let ms = statement_timeout.as_millis().max(1);
    format!(
        "BEGIN READ ONLY; SET LOCAL statement_timeout = '{ms}ms'; {select}; COMMIT",
        select = select.trim().trim_end_matches(';')
    )
}

/// The every-tick refresh: role, `pg_stat_database`, `pg_stat_activity`
/// (sessions by state, waiting, blocked, oldest transaction) and
/// replication (lag, slots: the one reported is the inactive slot holding
/// the most WAL, else the active one holding the most). `version` picks
/// the columns; below [`MIN_VERSION`] there is no query.
pub fn tick_sql(version: u32, statement_timeout: Duration) -> Option<String> {
    if version < MIN_VERSION {
        return None;
    }
    // `pg_blocking_pids` takes the lock manager's locks: only for sessions
    // waiting on a lock (a WHERE runs before the target list). Each view is
    // read once (a CTE used twice is computed once): about a third less
    // planning and execution than reading them two or three times.
    let select = format!(
        r"
WITH r AS (SELECT pg_is_in_recovery() AS recovery),
d AS (
  SELECT (xact_commit + xact_rollback)::int8 AS xacts, xact_rollback::int8 AS rollbacks,
    blks_hit::int8 AS blks_hit, blks_read::int8 AS blks_read,
    (tup_returned + tup_fetched)::int8 AS tup_read,
    (tup_inserted + tup_updated + tup_deleted)::int8 AS tup_written,
    deadlocks::int8 AS deadlocks, temp_files::int8 AS temp_files, conflicts::int8 AS conflicts,
    coalesce(stats_reset::text, '') AS stats_reset
  FROM pg_stat_database WHERE datname = current_database()
),
act AS (SELECT pid, state, wait_event, wait_event_type, xact_start, backend_type FROM pg_stat_activity),
a AS (
  SELECT count(*)::int8 AS connections,
    count(*) FILTER (WHERE state = 'active')::int8 AS active,
    count(*) FILTER (WHERE state = 'idle')::int8 AS idle,
    count(*) FILTER (WHERE state LIKE 'idle in transaction%')::int8 AS idle_in_xact,
    count(*) FILTER (WHERE state = 'active' AND wait_event IS NOT NULL)::int8 AS waiting,
    mode() WITHIN GROUP (ORDER BY wait_event::text)
      FILTER (WHERE state = 'active' AND wait_event IS NOT NULL) AS top_wait,
    coalesce((extract(epoch FROM max(clock_timestamp() - xact_start)) * 1000)::int8, 0) AS oldest_xact_ms
  FROM act
  WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
),
b AS (SELECT pid, pg_blocking_pids(pid) AS by FROM act WHERE wait_event_type = 'Lock'),
bl AS (
  SELECT (SELECT count(*) FROM b WHERE cardinality(by) > 0)::int8 AS blocked,
    coalesce((SELECT string_agg(x::text, ',') FROM
      (SELECT DISTINCT x FROM b, unnest(b.by) AS x ORDER BY x LIMIT {BLOCKERS}) s), '') AS blockers
),
rep AS (
  SELECT count(*)::int8 AS n,
    max(CASE WHEN r.recovery THEN NULL
      ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) END) AS behind,
    max(replay_lag) AS replay_lag
  FROM r CROSS JOIN pg_stat_replication
),
sl AS (
  SELECT slot_name::text AS slot_name, active,
    pg_wal_lsn_diff(CASE WHEN r.recovery THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
      restart_lsn)::int8 AS held
  FROM r CROSS JOIN pg_replication_slots
),
ws AS (
  SELECT slot_name, held AS slot_bytes, active AS slot_active FROM sl
  WHERE held IS NOT NULL ORDER BY active, held DESC LIMIT 1
)
SELECT r.recovery, d.*, a.*, bl.*,
  pg_postmaster_start_time()::text AS started,
  CASE WHEN r.recovery THEN 0::int8 ELSE rep.n END AS replicas,
  CASE WHEN r.recovery THEN
    CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn()
      THEN 0::int8
      ELSE pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::int8 END
  ELSE coalesce(rep.behind, 0)::int8 END AS lag_bytes,
  CASE WHEN r.recovery THEN
    CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn()
      THEN 0::int8
      ELSE (extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::int8 END
  ELSE (extract(epoch FROM rep.replay_lag) * 1000)::int8 END AS lag_ms,
  (coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)
    OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER')) AS read_all_stats,
  has_database_privilege(current_database(), 'CONNECT') AS may_connect,
  (SELECT count(*) FROM sl)::int8 AS slots,
  (SELECT count(*) FROM sl WHERE NOT active)::int8 AS inactive_slots,
  ws.slot_name, ws.slot_bytes, ws.slot_active
FROM r CROSS JOIN d CROSS JOIN a CROSS JOIN bl CROSS JOIN rep LEFT JOIN ws ON true"
    );
    Some(wrap(&select, statement_timeout))
}

/// The slower refresh: database size, and the `limit` busiest user tables
/// (by blocks touched since the last reset) from `pg_statio_user_tables`
/// and `pg_stat_user_tables`. One row even without tables (the size).
/// The ORDER BY spells the sum out: only a bare integer is a column
/// position, `2 + 3` would be a constant (rows by name only).
pub fn tables_sql(limit: u32, statement_timeout: Duration) -> String {
    let select = format!(
        r"
WITH sz AS (SELECT pg_database_size(current_database())::int8 AS db_size)
SELECT sz.db_size, t.* FROM sz LEFT JOIN LATERAL (
  SELECT CASE WHEN s.schemaname = 'public' THEN s.relname::text
      ELSE s.schemaname::text || '.' || s.relname::text END AS name,
    (coalesce(io.heap_blks_hit, 0) + coalesce(io.idx_blks_hit, 0))::int8 AS hit,
    (coalesce(io.heap_blks_read, 0) + coalesce(io.idx_blks_read, 0))::int8 AS read,
    coalesce(s.seq_scan, 0)::int8 AS seq_scan, coalesce(s.idx_scan, 0)::int8 AS idx_scan
  FROM pg_stat_user_tables s JOIN pg_statio_user_tables io USING (relid)
  ORDER BY coalesce(io.heap_blks_hit, 0) + coalesce(io.idx_blks_hit, 0)
    + coalesce(io.heap_blks_read, 0) + coalesce(io.idx_blks_read, 0) DESC, name
  LIMIT {limit}
) t ON true"
    );
    wrap(&select, statement_timeout)
}

fn n(row: &PgRow, col: &str) -> Result<u64, sqlx::Error> {
    let v: Option<i64> = row.try_get(col)?;
    Ok(v.map_or(0, |v| u64::try_from(v).unwrap_or(0)))
}

fn n32(row: &PgRow, col: &str) -> Result<u32, sqlx::Error> {
    Ok(u32::try_from(n(row, col)?).unwrap_or(u32::MAX))
}

/// One tick's row: whether the server is a replica, and its figures (the
/// size comes from the slower refresh).
pub fn parse_tick(
    row: &PgRow,
    version: u32,
    size_bytes: u64,
) -> Result<(bool, PgStats), sqlx::Error> {
    let recovery: bool = row.try_get("recovery")?;
    let stats_reset: String = row.try_get("stats_reset")?;
    let started: String = row.try_get("started")?;
    let top_wait: Option<String> = row.try_get("top_wait")?;
    let blockers: String = row.try_get("blockers")?;
    let lag_ms: Option<i64> = row.try_get("lag_ms")?;
    let slot_name: Option<String> = row.try_get("slot_name")?;
    let slot_active: Option<bool> = row.try_get("slot_active")?;
    let read_all_stats: bool = row.try_get("read_all_stats")?;
    let detail = PgDetail {
        version,
        tup_read: n(row, "tup_read")?,
        tup_written: n(row, "tup_written")?,
        deadlocks: n(row, "deadlocks")?,
        temp_files: n(row, "temp_files")?,
        conflicts: n(row, "conflicts")?,
        active: n32(row, "active")?,
        idle: n32(row, "idle")?,
        idle_in_xact: n32(row, "idle_in_xact")?,
        waiting: n32(row, "waiting")?,
        top_wait,
        blocked: n32(row, "blocked")?,
        blockers: blockers
            .split(',')
            .filter_map(|p| p.trim().parse().ok())
            .collect(),
        oldest_xact_ms: n(row, "oldest_xact_ms")?,
        replicas: n32(row, "replicas")?,
        lag_ms: lag_ms.map(|v| u64::try_from(v).unwrap_or(0)),
        slots: n32(row, "slots")?,
        inactive_slots: n32(row, "inactive_slots")?,
        hidden: (!read_all_stats).then(|| HIDDEN.to_string()),
        worst_slot: slot_name.map(|name| {
            (
                name,
                n(row, "slot_bytes").unwrap_or(0),
                slot_active.unwrap_or(false),
            )
        }),
    };
    let stats = PgStats {
        // A reset of the database's statistics, or a server restart.
        epoch: xxh3_64(format!("{stats_reset}|{started}").as_bytes()),
        xacts: n(row, "xacts")?,
        rollbacks: n(row, "rollbacks")?,
        blks_hit: n(row, "blks_hit")?,
        blks_read: n(row, "blks_read")?,
        connections: n(row, "connections")?,
        lag_bytes: n(row, "lag_bytes")?,
        size_bytes,
        detail: Some(detail),
    };
    Ok((recovery, stats))
}

/// What a role without `pg_read_all_stats` (nor superuser) misses.
pub const HIDDEN: &str = "this role cannot see other roles' sessions or statements \
     (GRANT pg_read_all_stats): session figures are partial";

/// Whether the role may still connect to this database (`CONNECT`), as the
/// tick's row says: a revoked privilege ends the connection at once, so
/// the reconnect says why in the server's words.
pub fn may_connect(row: &PgRow) -> Result<bool, sqlx::Error> {
    row.try_get("may_connect")
}

/// Whether the role may read every session and statement (superuser or
/// `pg_read_all_stats`), as the tick's row says.
pub fn reads_all_stats(row: &PgRow) -> Result<bool, sqlx::Error> {
    row.try_get("read_all_stats")
}

/// The slower refresh's rows: database size and per-table counters.
pub fn parse_tables(rows: &[PgRow]) -> Result<(u64, Vec<TableCounters>), sqlx::Error> {
    let mut size = 0;
    let mut tables = Vec::with_capacity(rows.len());
    for row in rows {
        size = n(row, "db_size")?;
        let name: Option<String> = row.try_get("name")?;
        if let Some(table) = name {
            tables.push(TableCounters {
                table,
                blks_hit: n(row, "hit")?,
                blks_read: n(row, "read")?,
                seq_scan: n(row, "seq_scan")?,
                idx_scan: n(row, "idx_scan")?,
            });
        }
    }
    Ok((size, tables))
}

/// Asked once per connection: the version, where `pg_stat_statements` is
/// installed in this database (if it is) and whether the role may read every
/// statement (superuser or `pg_read_all_stats`), and whether the library is
/// loaded (its settings exist only then: asking never fails).
pub const PROBE_SQL: &str = "SELECT current_setting('server_version_num')::int8 AS v, \
  (SELECT extnamespace::regnamespace::text FROM pg_extension \
   WHERE extname = 'pg_stat_statements') AS pss_schema, \
  coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) \
   OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') AS can_read, \
  current_setting('pg_stat_statements.max', true) IS NOT NULL AS pss_loaded";

/// Whether `pg_stat_statements` can be read, from the probe's row: the
/// schema holding it, or exactly why not.
pub fn statements_access(
    schema: Option<String>,
    loaded: bool,
    can_read: bool,
) -> Result<String, String> {
    match (schema, can_read) {
        (Some(_), _) if !loaded => Err(NOT_PRELOADED.to_string()),
        (None, _) => Err("pg_stat_statements is not installed in this database \
             (CREATE EXTENSION pg_stat_statements)"
            .to_string()),
        (Some(_), false) => Err("pg_stat_statements: this role cannot see other roles' \
             statements (GRANT pg_read_all_stats)"
            .to_string()),
        (Some(s), true) => Ok(s),
    }
}

/// The reason shown when the extension is installed but not loaded.
pub const NOT_PRELOADED: &str = "pg_stat_statements is installed but not preloaded \
     (add it to shared_preload_libraries and restart)";

/// The busiest `limit` statements of this database by total time, without
/// their texts (`showtext := false`: the text file is not read).
pub fn statements_sql(
    schema: &str,
    version: u32,
    limit: u32,
    statement_timeout: Duration,
) -> String {
    // PostgreSQL 13 split planning from execution time.
    let total = if version >= 130_000 {
        "total_exec_time"
    } else {
        "total_time"
    };
    let select = format!(
        r"
SELECT queryid::int8 AS queryid, sum(calls)::int8 AS calls,
  (sum({total}) * 1000)::int8 AS total_us, sum(rows)::int8 AS rows,
  sum(shared_blks_hit)::int8 AS hit, sum(shared_blks_read)::int8 AS read
FROM {schema}.pg_stat_statements(false)
WHERE queryid IS NOT NULL AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
GROUP BY queryid ORDER BY sum({total}) DESC LIMIT {limit}"
    );
    wrap(&select, statement_timeout)
}

/// Characters of a statement's text read (`pg_stat_statements` keeps the
/// whole text, which can be megabytes; the heatmap shows 200).
pub const TEXT_CHARS: usize = 2048;

/// The texts of statements seen for the first time, cut to [`TEXT_CHARS`]
/// (ids are integers: no quoting issue).
pub fn texts_sql(schema: &str, ids: &[i64], statement_timeout: Duration) -> String {
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    let select = format!(
        "SELECT DISTINCT ON (queryid) queryid::int8 AS queryid, left(query, {TEXT_CHARS})::text AS query \
         FROM {schema}.pg_stat_statements(true) WHERE queryid = ANY('{{{}}}'::int8[])",
        list.join(",")
    );
    wrap(&select, statement_timeout)
}

/// Statement rows (texts filled in by the caller).
pub fn parse_statements(rows: &[PgRow]) -> Result<Vec<StatementCounters>, sqlx::Error> {
    rows.iter()
        .map(|row| {
            Ok(StatementCounters {
                queryid: row.try_get("queryid")?,
                text: String::new(),
                calls: n(row, "calls")?,
                total_us: n(row, "total_us")?,
                rows: n(row, "rows")?,
                blks_hit: n(row, "hit")?,
                blks_read: n(row, "read")?,
            })
        })
        .collect()
}

/// `(queryid, text)` rows of [`texts_sql`].
pub fn parse_texts(rows: &[PgRow]) -> Result<Vec<(i64, String)>, sqlx::Error> {
    rows.iter()
        .map(|row| Ok((row.try_get("queryid")?, row.try_get("query")?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refresh_is_one_read_only_transaction_with_a_local_timeout() {
        let t = Duration::from_millis(1500);
        for sql in [tick_sql(150_004, t).unwrap_or_default(), tables_sql(200, t)] {
            assert!(sql.starts_with("BEGIN READ ONLY; SET LOCAL statement_timeout = '1500ms'; "));
            assert!(sql.ends_with("; COMMIT"), "{sql}");
            // One SELECT (sub-selects inside it are not statements).
            assert_eq!(sql.matches("; ").count(), 3, "{sql}");
        }
        assert!(tables_sql(200, t).contains("LIMIT 200"));
    }

    #[test]
    fn servers_older_than_10_get_no_query() {
        assert!(tick_sql(96_000, Duration::from_secs(1)).is_none());
        assert!(tick_sql(MIN_VERSION, Duration::from_secs(1)).is_some());
    }
}

//! The stats sink's SQL: an idempotent migration, the one-statement flush
//! (UNNEST arrays, the batch's sequence number claimed in the same
//! statement) and reading the shared totals back (the warm-job log,
//! `ops::warm::log`, writes into the same schema).
//!
//! The flush is one statement, so one implicit transaction: the claim of
//! `(sink_id, seq)` and the upserts commit or roll back together. A retry of
//! a batch whose commit reply was lost finds its number already claimed and
//! writes nothing.

use sqlx::postgres::PgPool;
use sqlx::{Executor, Row};

use super::columns;
use crate::engines::clients::BatchColumns;
use crate::sample::StoredClient;

/// The tables the sink owns, in the order the migration creates them.
pub const TABLES: [&str; 4] = [
    "client_statistics",
    "client_table_statistics",
    "heliostat_sink_batches",
    "warm_jobs",
];

/// `schema` if it is a plain lower-case identifier: it is spliced into SQL
/// (always double-quoted, see [`quoted`], so a reserved word such as `user`
/// works), and nothing that would need escaping inside the quotes is
/// accepted. `pg_` names are reserved by PostgreSQL for system schemas.
pub fn check_schema(schema: &str) -> Result<(), String> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !(first_ok && rest_ok && schema.len() <= 63) {
        return Err(format!(
            "schema `{schema}` must be a lower-case identifier (a-z, 0-9, _; at most 63 characters)"
        ));
    }
    if schema.starts_with("pg_") {
        return Err(format!(
            "schema `{schema}`: names starting with pg_ are reserved for PostgreSQL's system schemas"
        ));
    }
    Ok(())
}

/// `"schema"`, for splicing into SQL (checked by [`check_schema`], so it
/// holds no quote).
pub(crate) fn quoted(schema: &str) -> String {
    format!("\"{schema}\"")
}

fn migration(schema: &str) -> String {
    let s = quoted(schema);
    format!(
        r"
SELECT pg_advisory_xact_lock(hashtext('heliostat stats sink migration'));
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.client_statistics (
    client_name text PRIMARY KEY,
    total_requests bigint NOT NULL DEFAULT 0,
    successful_requests bigint NOT NULL DEFAULT 0,
    failed_requests bigint NOT NULL DEFAULT 0,
    total_cached_requests bigint NOT NULL DEFAULT 0,
    total_operations bigint NOT NULL DEFAULT 0,
    last_request_at timestamptz,
    last_operation_at timestamptz,
    last_seen_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {s}.client_table_statistics (
    client_name text NOT NULL,
    table_name text NOT NULL,
    operation text NOT NULL,
    total_operations bigint NOT NULL DEFAULT 0,
    error_operations bigint NOT NULL DEFAULT 0,
    last_operation_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_name, table_name, operation)
);
CREATE TABLE IF NOT EXISTS {s}.heliostat_sink_batches (
    sink_id text PRIMARY KEY,
    last_seq bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {s}.warm_jobs (
    id bigserial PRIMARY KEY,
    sink_id text NOT NULL,
    job bigint NOT NULL,
    context text,
    rule text NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    keys bigint NOT NULL,
    written bigint NOT NULL,
    left_alone bigint NOT NULL,
    no_row bigint NOT NULL,
    errors bigint NOT NULL,
    outcome text NOT NULL,
    reason text,
    UNIQUE (sink_id, job)
);
"
    )
}

#[cfg(test)]
pub(super) fn migration_for_tests(schema: &str) -> String {
    migration(schema)
}

/// Why the sink's tables cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The server refused or the connection failed.
    #[error("{}", crate::sources::postgres::describe(.0))]
    Sql(#[from] sqlx::Error),
    /// The tables are not what heliostat writes (made by another build, or
    /// by hand), and could not be repaired: what is wrong and what to do.
    #[error("{0}")]
    Schema(String),
}

/// Create the schema and tables unless they all exist already (then no DDL
/// is sent, so a role that may only write to pre-created tables works),
/// then check their columns against the ones heliostat writes (see
/// `columns.rs`): what is safe is repaired, anything else is an error that
/// names the column. Two consoles migrating at once serialise on an
/// advisory lock.
pub async fn migrate(pool: &PgPool, schema: &str) -> Result<(), MigrateError> {
    check_schema(schema).map_err(MigrateError::Schema)?;
    let q = quoted(schema);
    let names: Vec<String> = TABLES.iter().map(|t| format!("{q}.{t}")).collect();
    let present: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM unnest($1::text[]) AS t(n) WHERE to_regclass(t.n) IS NOT NULL",
    )
    .bind(&names)
    .fetch_one(pool)
    .await?;
    if usize::try_from(present).is_ok_and(|p| p != TABLES.len()) {
        let mut tx = pool.begin().await?;
        tx.execute(sqlx::raw_sql(&migration(schema))).await?;
        tx.commit().await?;
    }
    check_columns(pool, schema, &q).await
}

/// Compare the tables' columns with what heliostat writes; repair what is
/// safe (when the role may), name the rest.
async fn check_columns(pool: &PgPool, schema: &str, q: &str) -> Result<(), MigrateError> {
    let found: Vec<columns::Found> = sqlx::query_as(columns::CATALOG_SQL)
        .bind(schema)
        .bind(&TABLES[..])
        .fetch_all(pool)
        .await?;
    let mut plan = columns::plan(schema, q, &found);
    if !plan.repairs.is_empty() {
        let ddl = format!(
            "SELECT pg_advisory_xact_lock(hashtext('heliostat stats sink migration'));\n{};",
            plan.repairs.join(";\n")
        );
        let mut tx = pool.begin().await?;
        let done = match tx.execute(sqlx::raw_sql(&ddl)).await {
            Ok(_) => tx.commit().await,
            Err(e) => Err(e),
        };
        match done {
            Ok(()) => {
                for r in &plan.repaired {
                    tracing::info!(repair = %r, "stats sink: repaired a table made by another build");
                }
            }
            Err(e) => {
                let why = crate::sources::postgres::describe(&e);
                let mut named = std::mem::take(&mut plan.repaired);
                named.append(&mut plan.problems);
                plan.problems = named;
                plan.problems.push(format!(
                    "not repaired ({why}); as the owner run: {}",
                    plan.repairs.join("; ")
                ));
            }
        }
    }
    if plan.problems.is_empty() {
        Ok(())
    } else {
        Err(MigrateError::Schema(plan.problems.join("; ")))
    }
}

/// What one flush statement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flushed {
    /// False when the batch's number was already claimed: an earlier attempt
    /// committed, and this one wrote nothing.
    pub claimed: bool,
    /// `client_statistics` rows upserted.
    pub clients: i64,
    /// `client_table_statistics` rows upserted.
    pub tables: i64,
}

fn flush_sql(schema: &str) -> String {
    let s = quoted(schema);
    format!(
        r"
WITH claim AS (
    INSERT INTO {s}.heliostat_sink_batches AS b (sink_id, last_seq)
    VALUES ($1, $2)
    ON CONFLICT (sink_id) DO UPDATE SET last_seq = EXCLUDED.last_seq, updated_at = now()
    WHERE b.last_seq < EXCLUDED.last_seq
    RETURNING 1
), c AS (
    INSERT INTO {s}.client_statistics AS cs (client_name, total_requests, successful_requests,
        failed_requests, total_cached_requests, total_operations,
        last_request_at, last_operation_at, last_seen_at)
    SELECT u.n, u.r, u.ok, u.f, u.c, u.o,
        CASE WHEN u.r > 0 THEN now() END,
        CASE WHEN u.o > 0 THEN now() END,
        CASE WHEN u.seen THEN now() END
    FROM unnest($3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::int8[], $9::bool[])
        AS u(n, r, ok, f, c, o, seen)
    WHERE EXISTS (SELECT 1 FROM claim)
    ORDER BY u.n
    ON CONFLICT (client_name) DO UPDATE SET
        total_requests = cs.total_requests + EXCLUDED.total_requests,
        successful_requests = cs.successful_requests + EXCLUDED.successful_requests,
        failed_requests = cs.failed_requests + EXCLUDED.failed_requests,
        total_cached_requests = cs.total_cached_requests + EXCLUDED.total_cached_requests,
        total_operations = cs.total_operations + EXCLUDED.total_operations,
        last_request_at = COALESCE(EXCLUDED.last_request_at, cs.last_request_at),
        last_operation_at = COALESCE(EXCLUDED.last_operation_at, cs.last_operation_at),
        last_seen_at = COALESCE(EXCLUDED.last_seen_at, cs.last_seen_at),
        updated_at = now()
    RETURNING 1
), t AS (
    INSERT INTO {s}.client_table_statistics AS ts (client_name, table_name, operation,
        total_operations, error_operations, last_operation_at)
    SELECT u.n, u.t, u.op, u.tot, u.err, now()
    FROM unnest($10::text[], $11::text[], $12::text[], $13::int8[], $14::int8[])
        AS u(n, t, op, tot, err)
    WHERE EXISTS (SELECT 1 FROM claim)
    ORDER BY u.n, u.t, u.op
    ON CONFLICT (client_name, table_name, operation) DO UPDATE SET
        total_operations = ts.total_operations + EXCLUDED.total_operations,
        error_operations = ts.error_operations + EXCLUDED.error_operations,
        last_operation_at = now(),
        updated_at = now()
    RETURNING 1
)
SELECT (SELECT count(*) FROM claim) AS claimed,
       (SELECT count(*) FROM c) AS clients,
       (SELECT count(*) FROM t) AS tables
"
    )
}

/// Client rows with last-seen folded in: a client row says whether it was
/// seen, and a client only seen gets an all-zero row (its `last_seen_at`
/// moves, its totals do not).
fn client_rows(cols: &BatchColumns) -> ClientArrays {
    let c = &cols.clients;
    let mut rows: Vec<(&str, [i64; 5], bool)> = c
        .client_name
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let v = |col: &Vec<i64>| col.get(i).copied().unwrap_or(0);
            let vals = [
                v(&c.total_requests),
                v(&c.successful_requests),
                v(&c.failed_requests),
                v(&c.total_cached_requests),
                v(&c.total_operations),
            ];
            (n.as_str(), vals, false)
        })
        .collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for seen in &cols.last_seen {
        match rows.binary_search_by(|r| r.0.cmp(seen.as_str())) {
            Ok(i) => {
                if let Some(r) = rows.get_mut(i) {
                    r.2 = true;
                }
            }
            Err(i) => rows.insert(i, (seen.as_str(), [0; 5], true)),
        }
    }
    let mut out = ClientArrays::default();
    for (n, v, seen) in rows {
        out.names.push(n.to_owned());
        for (col, x) in out.values.iter_mut().zip(v) {
            col.push(x);
        }
        out.seen.push(seen);
    }
    out
}

#[derive(Default)]
struct ClientArrays {
    names: Vec<String>,
    values: [Vec<i64>; 5],
    seen: Vec<bool>,
}

/// Write one batch as `sink_id`'s number `cols.seq`, in one statement.
pub async fn flush(
    conn: &mut sqlx::PgConnection,
    schema: &str,
    sink_id: &str,
    cols: &BatchColumns,
) -> Result<Flushed, sqlx::Error> {
    let c = client_rows(cols);
    let t = &cols.tables;
    let [req, ok, fail, cached, ops] = &c.values;
    let row = sqlx::query(&flush_sql(schema))
        .bind(sink_id)
        .bind(i64::try_from(cols.seq).unwrap_or(i64::MAX))
        .bind(&c.names)
        .bind(req)
        .bind(ok)
        .bind(fail)
        .bind(cached)
        .bind(ops)
        .bind(&c.seen)
        .bind(&t.client_name)
        .bind(&t.table_name)
        .bind(&t.operation)
        .bind(&t.total_operations)
        .bind(&t.error_operations)
        .fetch_one(conn)
        .await?;
    Ok(Flushed {
        claimed: row.try_get::<i64, _>("claimed")? > 0,
        clients: row.try_get("clients")?,
        tables: row.try_get("tables")?,
    })
}

/// The `limit` clients with the most requests, as stored.
pub async fn read_clients(
    pool: &PgPool,
    schema: &str,
    limit: i64,
) -> Result<Vec<StoredClient>, sqlx::Error> {
    let s = quoted(schema);
    let sql = format!(
        "SELECT client_name, total_requests, successful_requests, failed_requests,
                total_cached_requests, total_operations,
                (extract(epoch FROM COALESCE(last_seen_at, last_request_at)) * 1000)::int8 AS seen_ms
         FROM {s}.client_statistics
         ORDER BY total_requests DESC, client_name
         LIMIT $1"
    );
    let rows = sqlx::query(&sql).bind(limit).fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            Ok(StoredClient {
                name: r.try_get("client_name")?,
                requests: r.try_get("total_requests")?,
                successes: r.try_get("successful_requests")?,
                failures: r.try_get("failed_requests")?,
                cached: r.try_get("total_cached_requests")?,
                operations: r.try_get("total_operations")?,
                last_seen_ms: r.try_get("seen_ms")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_that_would_need_quoting_are_refused() {
        assert!(check_schema("heliostat").is_ok());
        assert!(check_schema("_stats2").is_ok());
        for bad in [
            "",
            "Heliostat",
            "2x",
            "a-b",
            "a;drop",
            "a b",
            &"x".repeat(64),
            "pg_stats",
            "pg_",
        ] {
            assert!(check_schema(bad).is_err(), "{bad}");
        }
        // Reserved words are fine: every use quotes the schema.
        for ok in ["user", "order", "table", "pgx", "_pg_x"] {
            assert!(check_schema(ok).is_ok(), "{ok}");
        }
        assert_eq!(quoted("user"), "\"user\"");
        assert!(migration("user").contains("CREATE TABLE IF NOT EXISTS \"user\".warm_jobs"));
        assert!(flush_sql("order").contains("INSERT INTO \"order\".client_statistics"));
    }

    #[test]
    fn last_seen_folds_into_client_rows_in_name_order() {
        let mut cols = BatchColumns::default();
        for (n, r) in [("b", 2), ("a", 1)] {
            cols.clients.client_name.push(n.into());
            cols.clients.total_requests.push(r);
            cols.clients.successful_requests.push(r);
            cols.clients.failed_requests.push(0);
            cols.clients.total_cached_requests.push(0);
            cols.clients.total_operations.push(r);
        }
        cols.last_seen = vec!["b".into(), "c".into()];
        let c = client_rows(&cols);
        assert_eq!(c.names, vec!["a", "b", "c"]);
        assert_eq!(c.values[0], vec![1, 2, 0]);
        assert_eq!(c.seen, vec![false, true, true]);
    }
}

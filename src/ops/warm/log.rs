//! The warm-job log: each finished job one row of `warm_jobs`, in the
//! stats sink's schema (created by the sink's migration).

use sqlx::ConnectOptions as _;
use sqlx::postgres::PgPool;

use super::job::Report;
use crate::fault::Fault;
use crate::ops::sink::sink_options;
use crate::ops::sink::sql::{MigrateError, migrate, quoted};
use crate::sources::postgres::explain;

/// One finished warm job, for `warm_jobs`.
#[derive(Debug, Clone)]
pub struct WarmJobRecord {
    /// The console's id (as in `heliostat_sink_batches`).
    pub sink_id: String,
    /// The job's number in that console.
    pub job: u64,
    /// The context it ran in.
    pub context: Option<String>,
    /// The rule (or rules) that warmed it.
    pub rule: String,
    /// When it started, unix ms.
    pub started_ms: i64,
    /// What it did.
    pub report: Report,
    /// `done`, `failed` or `cancelled`.
    pub outcome: String,
    /// Why it failed or stopped.
    pub reason: Option<String>,
}

/// Insert one job into `warm_jobs` (its own short-lived connection: jobs
/// end seldom, and the log must not wait for the sink's flushes), creating
/// the tables first if no flush has yet. A record already there (same
/// console and job) is left as it is.
pub async fn record_warm_job(url: &str, schema: &str, r: &WarmJobRecord) -> Result<(), Fault> {
    let opts = sink_options(url)?.disable_statement_logging();
    let wait = std::time::Duration::from_secs(3);
    let pool = match sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(wait)
        .connect_with(opts.clone())
        .await
    {
        Ok(p) => p,
        Err(e) => return Err(explain(&e, &opts, wait).await),
    };
    let result = insert_job(&pool, schema, r).await;
    pool.close().await;
    result.map_err(|e| match e {
        MigrateError::Sql(e) => crate::sources::postgres::fault(&e),
        MigrateError::Schema(why) => Fault::Config(why),
    })
}

async fn insert_job(pool: &PgPool, schema: &str, r: &WarmJobRecord) -> Result<(), MigrateError> {
    migrate(pool, schema).await?;
    let s = quoted(schema);
    let sql = format!(
        "INSERT INTO {s}.warm_jobs (sink_id, job, context, rule, started_at, keys, written,
            left_alone, no_row, errors, outcome, reason)
         VALUES ($1, $2, $3, $4, to_timestamp($5::float8 / 1000), $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (sink_id, job) DO NOTHING"
    );
    let w = &r.report.written;
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let errors = w.errors
        + w.type_conflict
        + r.report.no_ttl
        + r.report.query_errors
        + r.report.redis_errors;
    // `no_row`: keys the database had nothing to cache for (no row, or a
    // NULL value).
    let no_row = r.report.no_row + r.report.null_value;
    sqlx::query(&sql)
        .bind(&r.sink_id)
        .bind(n(r.job))
        .bind(&r.context)
        .bind(&r.rule)
        .bind(r.started_ms as f64)
        .bind(n(r.report.keys))
        .bind(n(w.written))
        .bind(n(w.existed + w.absent))
        .bind(n(no_row))
        .bind(n(errors))
        .bind(&r.outcome)
        .bind(&r.reason)
        .execute(pool)
        .await?;
    Ok(())
}

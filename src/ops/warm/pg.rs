//! Rows for warming, from PostgreSQL: the rule's query with the keys' values
//! bound as `$1` (a `text[]`, never spliced into SQL), each batch in its own
//! read-only transaction with a local statement timeout (safe behind
//! PgBouncer in transaction pooling).

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Column, Row as _, TypeInfo, ValueRef};

use super::job::{Row, Rows};
use super::rules::Rule;
use crate::config::redact_url;

/// How long one batch's query may run.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// A small pool on the rule's database.
#[derive(Debug, Clone)]
pub struct PgRows {
    pool: PgPool,
}

impl PgRows {
    /// Connect (2 connections, 3 s to acquire one), as `heliostat-warm`.
    pub async fn connect(url: &str) -> Result<PgRows, String> {
        let opts: sqlx::postgres::PgConnectOptions = url
            .parse()
            .map_err(|e| format!("bad Postgres URL {}: {e}", redact_url(url)))?;
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(opts.application_name("heliostat-warm"))
            .await
            .map_err(|e| format!("{}: {}", redact_url(url), describe(&e)))?;
        Ok(PgRows { pool })
    }

    /// Run a query without parameters (a rule's `hot_keys_query`).
    pub async fn all(&self, query: &str) -> Result<Vec<Row>, String> {
        self.run(query, None).await
    }

    async fn run(&self, query: &str, values: Option<&[String]>) -> Result<Vec<Row>, String> {
        let mut tx = self.pool.begin().await.map_err(|e| describe(&e))?;
        let timeout = format!(
            "SET LOCAL statement_timeout = '{}ms'",
            STATEMENT_TIMEOUT.as_millis()
        );
        for stmt in ["SET TRANSACTION READ ONLY", timeout.as_str()] {
            sqlx::query(stmt)
                .execute(&mut *tx)
                .await
                .map_err(|e| describe(&e))?;
        }
        let q = sqlx::query(query);
        let q = match values {
            Some(v) => q.bind(v),
            None => q,
        };
        let rows = q.fetch_all(&mut *tx).await.map_err(|e| describe(&e))?;
        tx.commit().await.map_err(|e| describe(&e))?;
        rows.iter().map(to_row).collect()
    }
}

impl Rows for PgRows {
    async fn fetch(&mut self, rule: &Rule, values: &[String]) -> Result<Vec<Row>, String> {
        self.run(&rule.query, Some(values)).await
    }
}

/// Text of every column, and the `value` column's bytes. A column of a type
/// that is not text-like is named with the cast that fixes it.
fn to_row(r: &PgRow) -> Result<Row, String> {
    let mut out = Row::default();
    for (i, c) in r.columns().iter().enumerate() {
        let raw = r.try_get_raw(i).map_err(|e| e.to_string())?;
        if raw.is_null() {
            continue;
        }
        let ty = raw.type_info().name().to_string();
        let text: Option<String> = match ty.as_str() {
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "UNKNOWN" => r.try_get(i).ok(),
            "INT2" => r.try_get::<i16, _>(i).ok().map(|v| v.to_string()),
            "INT4" => r.try_get::<i32, _>(i).ok().map(|v| v.to_string()),
            "INT8" => r.try_get::<i64, _>(i).ok().map(|v| v.to_string()),
            "BYTEA" if c.name() == "value" => {
                out.value = r.try_get::<Vec<u8>, _>(i).map_err(|e| e.to_string())?;
                continue;
            }
            _ => None,
        };
        let Some(text) = text else {
            return Err(format!(
                "column {} has type {ty}: cast it to text in the query ({}::text)",
                c.name(),
                c.name()
            ));
        };
        if c.name() == "value" {
            out.value = text.into_bytes();
        } else {
            out.columns.insert(c.name().to_string(), text);
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

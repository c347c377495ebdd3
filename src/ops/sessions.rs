//! The Sessions pane's writes: cancel a Postgres session's query
//! (`pg_cancel_backend`), end a Postgres session (`pg_terminate_backend`),
//! end a Redis client (`CLIENT KILL ID`). The caller asks for the keypress,
//! the confirm and writes-allowed; these functions only act, each on a
//! connection of its own opened the way the sources open theirs, and each
//! checks at the server, right before acting, that the session is not
//! heliostat's own ([`OWN_PREFIX`]) and still there.
//!
//! Each returns what happened in words for the status line, or a
//! [`SessionOpError`] whose kind the caller can match on; its text never
//! holds a secret (URLs are never quoted) nor a query's literal values.

use std::time::Duration;

use sqlx::{ConnectOptions, Connection, Row};

use crate::engines::bounded;
use crate::engines::sessions::OWN_PREFIX;
use crate::fault::Fault;
use crate::sample::SourceId;
use crate::sources::postgres::activity::redact;
use crate::sources::postgres::{connect_options, describe as pg_describe, fault as pg_fault};
use crate::sources::redis::registry::{Registry, Target};
use crate::sources::redis::{
    NodeConfig, clients, describe as redis_describe, endpoint, fault as redis_fault,
};

/// Why a session op did nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionOpError {
    /// The session is heliostat's own: never cancelled, terminated or killed.
    #[error("refused: {0} is heliostat's own session")]
    OwnSession(String),
    /// No such session (it ended already).
    #[error("{0} not found: the session ended already")]
    NotFound(String),
    /// The server refused, in its words ("permission denied to cancel
    /// query: …", "permission denied (ACL): …").
    #[error("{0}")]
    Permission(String),
    /// No connection to the server (refused, timed out, a failed login, a
    /// bad URL).
    #[error("cannot connect: {0}")]
    Connection(Fault),
    /// Any other answer from the server, in its words.
    #[error("{0}")]
    Server(String),
}

/// What to do to a Postgres session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgSignal {
    /// `pg_cancel_backend`: stop the running statement, keep the session.
    Cancel,
    /// `pg_terminate_backend`: end the session (its transaction rolls back).
    Terminate,
}

impl PgSignal {
    fn function(self) -> &'static str {
        match self {
            PgSignal::Cancel => "pg_cancel_backend",
            PgSignal::Terminate => "pg_terminate_backend",
        }
    }
}

/// A query's fingerprint, short enough for the status line.
fn short_query(q: &str) -> String {
    let r = redact(q);
    if r.len() <= 60 {
        return r;
    }
    format!("{}…", bounded::prefix(&r, 57))
}

/// Cancel the running query of session `pid` on the server `url` names.
pub async fn pg_cancel(url: &str, pid: u32, timeout: Duration) -> Result<String, SessionOpError> {
    pg_signal(url, pid, PgSignal::Cancel, timeout).await
}

/// End session `pid` on the server `url` names (its open transaction is
/// rolled back).
pub async fn pg_terminate(
    url: &str,
    pid: u32,
    timeout: Duration,
) -> Result<String, SessionOpError> {
    pg_signal(url, pid, PgSignal::Terminate, timeout).await
}

/// Send `signal` to session `pid`: one connection (from the sources'
/// `connect_options`, so `application_name=heliostat`), one statement that
/// looks the session up in `pg_stat_activity` and signals it only when it
/// is neither heliostat's (`application_name` `heliostat…`) nor this
/// connection. `timeout` bounds connecting and the statement each.
pub async fn pg_signal(
    url: &str,
    pid: u32,
    signal: PgSignal,
    timeout: Duration,
) -> Result<String, SessionOpError> {
    let opts = connect_options(url).map_err(SessionOpError::Connection)?;
    let mut conn = match tokio::time::timeout(timeout, opts.connect()).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Err(SessionOpError::Connection(pg_fault(&e))),
        Err(_) => {
            return Err(SessionOpError::Connection(Fault::Timeout(
                "no answer in time".into(),
            )));
        }
    };
    // CASE evaluates only the branch it takes: an own session is never signalled.
    let sql = format!(
        "SELECT coalesce(application_name, '') AS app, coalesce(state, '') AS state, \
           coalesce(left(query, 2048), '') AS query, \
           CASE WHEN pid = pg_backend_pid() OR coalesce(application_name, '') LIKE '{OWN_PREFIX}%' \
             THEN NULL ELSE {f}(pid) END AS done \
         FROM pg_stat_activity WHERE pid = {pid}",
        f = signal.function()
    );
    // `query`, not `raw_sql`: a `raw_sql` future on a borrowed connection
    // is not `Send` for every lifetime, so the console could not spawn it.
    // One statement, no parameters.
    let row = tokio::time::timeout(timeout, sqlx::query(&sql).fetch_all(&mut conn)).await;
    let _ = conn.close().await;
    let who = format!("pid {pid}");
    let row = match row {
        Err(_) => return Err(SessionOpError::Server("timed out".into())),
        Ok(Err(e)) => return Err(pg_error(&e)),
        Ok(Ok(rows)) => match rows.into_iter().next() {
            Some(row) => row,
            None => return Err(SessionOpError::NotFound(who)),
        },
    };
    let get = |col: &str| -> Result<String, SessionOpError> {
        row.try_get::<String, _>(col)
            .map_err(|e| SessionOpError::Server(pg_describe(&e)))
    };
    let (app, state, query) = (get("app")?, get("state")?, get("query")?);
    let done: Option<bool> = row
        .try_get("done")
        .map_err(|e| SessionOpError::Server(pg_describe(&e)))?;
    match done {
        None => Err(SessionOpError::OwnSession(format!("{who} ({app})"))),
        // The function found no such backend: it ended after the lookup.
        Some(false) => Err(SessionOpError::NotFound(who)),
        Some(true) => Ok(match signal {
            PgSignal::Cancel if state != "active" => {
                format!("cancel sent to {who}: it was {state}, no query to cancel")
            }
            PgSignal::Cancel => format!("cancelled {who} (query {})", short_query(&query)),
            PgSignal::Terminate => format!("terminated {who} ({state}, {app})"),
        }),
    }
}

/// A server's refusal in its words (message and detail), else the
/// sources' plain reason.
fn pg_error(e: &sqlx::Error) -> SessionOpError {
    if let sqlx::Error::Database(db) = e
        && db.code().as_deref() == Some("42501")
    {
        let detail = db
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .and_then(|p| p.detail())
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        return SessionOpError::Permission(format!("{}{detail}", db.message()));
    }
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => {
            SessionOpError::Connection(pg_fault(e))
        }
        _ => SessionOpError::Server(pg_describe(e)),
    }
}

fn redis_error(e: &redis::RedisError) -> SessionOpError {
    if crate::sources::redis::diag::refused(e) {
        SessionOpError::Permission(redis_describe(e))
    } else if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() {
        SessionOpError::Connection(redis_fault(e))
    } else {
        SessionOpError::Server(redis_describe(e))
    }
}

/// End client `id` of the node `cfg` names (`CLIENT KILL ID`): one
/// connection opened as the sources open theirs (`endpoint::open`), the
/// client looked up first (`CLIENT LIST ID`, or the whole list on a server
/// older than 6.2) and refused when its name starts with heliostat or it
/// is this connection.
pub async fn redis_kill(cfg: &NodeConfig, id: u64) -> Result<String, SessionOpError> {
    let mut conn = endpoint::open(cfg)
        .await
        .map_err(SessionOpError::Connection)?;
    let me: u64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut conn)
        .await
        .map_err(|e| redis_error(&e))?;
    let who = format!("client id {id}");
    let listed: Result<String, _> = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("ID")
        .arg(id)
        .query_async(&mut conn)
        .await;
    let text = match listed {
        Ok(t) => t,
        Err(e) if crate::sources::redis::diag::refused(&e) => return Err(redis_error(&e)),
        // Before 6.2 `CLIENT LIST` takes no ID: read the whole list.
        Err(_) => redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut conn)
            .await
            .map_err(|e| redis_error(&e))?,
    };
    let list = clients::parse(&text);
    let Some(c) = list.rows.iter().find(|c| c.id == id) else {
        return Err(SessionOpError::NotFound(who));
    };
    if c.own || id == me {
        return Err(SessionOpError::OwnSession(format!("{who} ({})", c.name)));
    }
    let killed: u64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(id)
        .query_async(&mut conn)
        .await
        .map_err(|e| redis_error(&e))?;
    if killed == 0 {
        return Err(SessionOpError::NotFound(who));
    }
    let name = if c.name.is_empty() { &c.addr } else { &c.name };
    Ok(format!(
        "killed {who} ({name}, {} idle {} s, output buffer {} B)",
        c.cmd, c.idle_s, c.omem
    ))
}

/// Where the answers of [`perform`] come from: no source's, so they never
/// touch a source's generation.
pub const SESSION_OPS_SOURCE: SourceId = SourceId(u16::MAX - 4);

/// What to do to one session, once the user said yes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAct {
    /// `pg_cancel_backend(pid)`.
    Cancel(u32),
    /// `pg_terminate_backend(pid)`.
    Terminate(u32),
    /// `CLIENT KILL ID id`.
    Kill(u64),
}

/// A session op on the source that listed the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOp {
    /// The endpoint or node (its source id).
    pub source: SourceId,
    /// What to do.
    pub act: SessionAct,
}

/// Do `op` on the server its source watches (`registry` says how to reach
/// it); the words for the status line, or why not.
pub async fn perform(
    registry: &Registry,
    op: &SessionOp,
    timeout: Duration,
) -> Result<String, SessionOpError> {
    let gone = || SessionOpError::NotFound(format!("source {}", op.source.0));
    match (registry.get(op.source).ok_or_else(gone)?, op.act) {
        (Target::Postgres(url), SessionAct::Cancel(pid)) => {
            pg_signal(&url, pid, PgSignal::Cancel, timeout).await
        }
        (Target::Postgres(url), SessionAct::Terminate(pid)) => {
            pg_signal(&url, pid, PgSignal::Terminate, timeout).await
        }
        (Target::Redis(cfg), SessionAct::Kill(id)) => redis_kill(&cfg, id).await,
        _ => Err(SessionOpError::Server(
            "that op does not apply to this server".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_kind_and_never_quote_the_url() {
        let e = SessionOpError::OwnSession("pid 7 (heliostat)".into());
        assert_eq!(
            e.to_string(),
            "refused: pid 7 (heliostat) is heliostat's own session"
        );
        let e = SessionOpError::NotFound("client id 9".into());
        assert_eq!(
            e.to_string(),
            "client id 9 not found: the session ended already"
        );
        let bad = "postgres://u:s3cret@h/db?sslmode=sometimes";
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let r = rt.block_on(pg_cancel(bad, 1, Duration::from_millis(100)));
        match r {
            Err(SessionOpError::Connection(m)) => {
                assert!(!m.to_string().contains("s3cret"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_query_in_the_status_line_is_its_short_fingerprint() {
        let q = short_query(
            "SELECT * FROM orders WHERE note = 'card 4111 1111' AND total > 1000 AND x = 1",
        );
        assert!(!q.contains("4111") && !q.contains("1000"), "{q}");
        assert!(q.chars().count() <= 61, "{q}");
    }
}

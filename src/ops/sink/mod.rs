//! The client-statistics sink: flushes the clients engine's batches to
//! PostgreSQL (`client_statistics`, `client_table_statistics`) and reads the
//! shared totals back, so several consoles share one history.
//!
//! The engine decides when to flush, what a batch holds, and when to retry
//! (backoff); this task only writes what it is given and says how it went:
//! written, already written (a retry of a batch that had committed),
//! failed (rolled back or never sent: the deltas go back to pending), or in
//! doubt (the connection broke after sending: the same batch is re-sent with
//! the same number, and the claim in `sql::flush` makes that exactly-once).

mod columns;
pub mod sql;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio::sync::mpsc;
use tokio::time::{MissedTickBehavior, interval, timeout};

use crate::engines::clients::BatchColumns;
use crate::fault::Fault;
use crate::sample::{Body, FlushOutcome, Sample, SinkReport, SourceId};
use crate::sources::Reporter;
use crate::sources::postgres::{connect_options, describe, explain_pool};

/// The sink's reports come as this source (after the event stream's id).
pub const SINK_SOURCE: SourceId = SourceId(u16::MAX - 2);

/// How long one flush may take before it is given up as in doubt.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Statements the sink's connections keep prepared (sqlx's default).
const STATEMENT_CACHE: usize = 100;

/// The sink's connection options: heliostat's own (no `extra_float_digits`
/// startup parameter, which PgBouncer refuses unless told to ignore it),
/// named `heliostat-sink`, with sqlx's statement cache on: the flush keeps
/// its statement prepared, so each flush is one round trip. Behind
/// PgBouncer in transaction pooling that needs `max_prepared_statements`
/// (PgBouncer ≥ 1.21); an unnamed statement would not help there, as the
/// flush runs outside a transaction and its parse and its execution are
/// two round trips PgBouncer may send to different servers.
pub fn sink_options(url: &str) -> Result<PgConnectOptions, Fault> {
    Ok(connect_options(url)
        .map_err(|e| e.context("stats sink"))?
        .application_name("heliostat-sink")
        .statement_cache_capacity(STATEMENT_CACHE))
}

/// Where and how the sink writes.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// `postgres://…` URL (never shown with its password).
    pub url: String,
    /// Schema of the tables (a plain identifier; see `sql::check_schema`).
    pub schema: String,
    /// This console's name in `heliostat_sink_batches`: unique per process,
    /// so batch numbers of different consoles never collide.
    pub sink_id: String,
    /// How often the shared totals are read back (`None`: never).
    pub read_every: Option<Duration>,
    /// Clients read back at most.
    pub read_limit: i64,
}

impl SinkConfig {
    /// Defaults: schema `heliostat`, totals read back every 5 s (500 clients).
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_string(),
            schema: "heliostat".to_string(),
            sink_id: instance_id(),
            read_every: Some(Duration::from_secs(5)),
            read_limit: 500,
        }
    }
}

/// `host:pid:nanos`, unique per console process.
pub fn instance_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{host}:{}:{nanos:x}", std::process::id())
}

/// What the app loop asks of the sink.
#[derive(Debug, Clone)]
pub enum SinkCmd {
    /// Write this batch and answer with its outcome.
    Flush(BatchColumns),
}

/// Start the sink; it stops when `cmds` closes (after answering every
/// batch sent before).
pub fn spawn_sink(
    cfg: SinkConfig,
    cmds: mpsc::Receiver<SinkCmd>,
    tx: mpsc::Sender<Vec<Sample>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run_sink(cfg, cmds, tx))
}

struct Conn {
    opts: Result<PgConnectOptions, Fault>,
    pool: Option<PgPool>,
    migrated: bool,
}

impl Conn {
    /// The pool, created lazily (connections open on first use), with the
    /// tables migrated once.
    async fn ready(&mut self, schema: &str) -> Result<PgPool, Fault> {
        let opts = self.opts.clone()?;
        let pool = self
            .pool
            .get_or_insert_with(|| {
                PgPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(3))
                    .connect_lazy_with(opts)
            })
            .clone();
        if !self.migrated {
            let why = match sql::migrate(&pool, schema).await {
                Ok(()) => None,
                Err(sql::MigrateError::Sql(e)) => Some(explain_pool(&e, &pool).await),
                // The tables are not as heliostat writes them: someone has
                // to act (the error names the statement to run).
                Err(e) => Some(Fault::Config(e.to_string())),
            };
            if let Some(why) = why {
                return Err(why.context("setting up the sink's tables"));
            }
            self.migrated = true;
        }
        Ok(pool)
    }

    /// Forget the pool (after a flush that hung: its connection is unusable).
    fn reset(&mut self) {
        self.pool = None;
    }
}

/// Run the sink until `cmds` closes.
pub async fn run_sink(
    cfg: SinkConfig,
    mut cmds: mpsc::Receiver<SinkCmd>,
    tx: mpsc::Sender<Vec<Sample>>,
) {
    let out = Reporter::new(SINK_SOURCE, tx);
    let report = |r: SinkReport| out.one(Body::Sink(r));
    let opts = sink_options(&cfg.url);
    let mut conn = Conn {
        opts,
        pool: None,
        migrated: false,
    };
    let mut read = interval(cfg.read_every.unwrap_or(Duration::from_secs(3600)));
    read.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            cmd = cmds.recv() => {
                let Some(SinkCmd::Flush(cols)) = cmd else { return };
                let outcome = flush(&cfg, &mut conn, &cols).await;
                if let FlushOutcome::Failed(e) | FlushOutcome::InDoubt(e) = &outcome {
                    tracing::warn!(seq = cols.seq, error = %e, "stats sink: flush failed");
                }
                if !report(SinkReport::Flushed { seq: cols.seq, outcome }).await {
                    return;
                }
            }
            _ = read.tick(), if cfg.read_every.is_some() => {
                let r = match conn.ready(&cfg.schema).await {
                    Ok(pool) => match sql::read_clients(&pool, &cfg.schema, cfg.read_limit).await {
                        Ok(rows) => Ok(rows),
                        Err(e) => Err(explain_pool(&e, &pool)
                            .await
                            .context("reading the shared totals")),
                    },
                    Err(e) => Err(e),
                };
                let r = match r {
                    Ok(rows) => SinkReport::Stored(rows),
                    Err(e) => SinkReport::ReadFailed(e.to_string()),
                };
                if !report(r).await {
                    return;
                }
            }
        }
    }
}

/// Write one batch and classify the result for the engine.
async fn flush(cfg: &SinkConfig, conn: &mut Conn, cols: &BatchColumns) -> FlushOutcome {
    let pool = match conn.ready(&cfg.schema).await {
        Ok(p) => p,
        Err(e) => return FlushOutcome::Failed(e.to_string()),
    };
    // Not sent yet: any failure to get a connection is a plain failure.
    let mut c = match pool.acquire().await {
        Ok(c) => c,
        Err(e) => return FlushOutcome::Failed(explain_pool(&e, &pool).await.to_string()),
    };
    match timeout(
        FLUSH_TIMEOUT,
        sql::flush(&mut c, &cfg.schema, &cfg.sink_id, cols),
    )
    .await
    {
        Ok(Ok(f)) if f.claimed => FlushOutcome::Written,
        Ok(Ok(_)) => FlushOutcome::AlreadyWritten,
        // The server answered with an error: the statement rolled back.
        Ok(Err(e @ sqlx::Error::Database(_))) => FlushOutcome::Failed(describe(&e)),
        // Sent, then the connection failed: it may have committed.
        Ok(Err(e)) => FlushOutcome::InDoubt(describe(&e)),
        Err(_) => {
            c.detach();
            conn.reset();
            FlushOutcome::InDoubt(format!("no answer within {} s", FLUSH_TIMEOUT.as_secs()))
        }
    }
}

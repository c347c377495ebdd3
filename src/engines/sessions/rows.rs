//! What a source reads of the sessions on one server: Redis `CLIENT LIST`
//! rows and Postgres `pg_stat_activity` rows. Defined here (not in
//! `sample`) so the engine needs nothing from outside `engines`; the
//! sample's `Body` carries them as they are. Rows carry no time: the
//! sample's `at` is when the list was read.

use serde::{Deserialize, Serialize};

/// Client names (and other names a row carries) are cut to this many bytes.
pub const NAME_BYTES: usize = 64;
/// A Postgres session's query fingerprint is cut to this many bytes.
pub const QUERY_BYTES: usize = 240;
/// `CLIENT LIST` rows kept per node (the ones using the most memory).
pub const MAX_CLIENTS: usize = 2_000;
/// `pg_stat_activity` rows kept per endpoint (the longest running).
pub const MAX_SESSIONS: usize = 500;
/// The prefix of the names heliostat gives its own connections (`CLIENT
/// SETNAME heliostat…`, `application_name=heliostat…`): such a session is
/// never offered for cancel, terminate or kill.
pub const OWN_PREFIX: &str = "heliostat";

/// Whether a client or application name is one of heliostat's own.
pub fn is_own_name(name: &str) -> bool {
    name.starts_with(OWN_PREFIX)
}

/// One Redis client, as `CLIENT LIST` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedisClient {
    /// `id`: what `CLIENT KILL ID` takes.
    pub id: u64,
    /// `addr`: the client's `host:port` (or a unix socket path).
    pub addr: String,
    /// `laddr`: the server side's address (Redis ≥ 6.2).
    pub laddr: Option<String>,
    /// `name` (`CLIENT SETNAME`; empty when unnamed).
    pub name: String,
    /// `user`: the ACL user (Redis ≥ 6).
    pub user: Option<String>,
    /// `age`: seconds since it connected.
    pub age_s: u64,
    /// `idle`: seconds since its last command.
    pub idle_s: u64,
    /// `flags` (`N` normal, `P` pub/sub, `M` master, `S` replica, `x` in MULTI, `b` blocked …).
    pub flags: String,
    /// `db`: the selected database.
    pub db: u32,
    /// `cmd`: the last command it ran.
    pub cmd: String,
    /// `omem`: output buffer memory, bytes (replies it has not read yet).
    pub omem: u64,
    /// `tot-mem`: everything the client costs the server, bytes (Redis ≥ 7;
    /// includes `omem` and `qbuf`).
    pub tot_mem: Option<u64>,
    /// `qbuf`: query buffer, bytes (commands sent, not yet run).
    pub qbuf: u64,
    /// `multi`: commands queued in a `MULTI` (`None`: not in one).
    pub multi: Option<u32>,
    /// `sub`: channel subscriptions.
    pub sub: u32,
    /// `psub`: pattern subscriptions.
    pub psub: u32,
    /// One of heliostat's own connections (its name starts with
    /// [`OWN_PREFIX`]): never offered for a kill.
    pub own: bool,
}

impl RedisClient {
    /// What the client costs the server, bytes: `tot-mem` where the
    /// server says, else the output and query buffers.
    pub fn memory(&self) -> u64 {
        self.tot_mem
            .unwrap_or_else(|| self.omem.saturating_add(self.qbuf))
    }

    /// The host part of `addr` (no port): what unnamed clients group by.
    pub fn host(&self) -> &str {
        // `[::1]:6379` and `1.2.3.4:6379`; a unix socket path has no port.
        match self.addr.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => {
                h.trim_start_matches('[').trim_end_matches(']')
            }
            _ => &self.addr,
        }
    }

    /// The group it belongs to: its name, else its host.
    pub fn group(&self) -> &str {
        if self.name.is_empty() {
            self.host()
        } else {
            &self.name
        }
    }
}

/// One node's `CLIENT LIST`, or why it was not read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientList {
    /// The clients kept (at most [`MAX_CLIENTS`], those using the most memory).
    pub rows: Vec<RedisClient>,
    /// Clients the server listed (kept or not).
    pub total: u32,
    /// Clients listed but not kept (past [`MAX_CLIENTS`]).
    pub cut: u32,
    /// Why the list is empty or partial, in words ("6 000 clients > 5 000,
    /// CLIENT LIST skipped", "CLIENT LIST refused (ACL) …").
    pub note: Option<String>,
}

/// A Postgres session's `state`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PgState {
    /// `active`: running a statement.
    Active,
    /// `idle`: waiting for a command.
    Idle,
    /// `idle in transaction`: holding a transaction open (locks, snapshot).
    IdleInTransaction,
    /// `idle in transaction (aborted)`: a failed transaction not yet rolled back.
    IdleInTransactionAborted,
    /// `fastpath function call`.
    FastPath,
    /// `disabled` (`track_activities` off).
    Disabled,
    /// Not shown to this role (no `pg_read_all_stats`), or unknown.
    #[default]
    Unknown,
}

impl PgState {
    /// From `pg_stat_activity.state`.
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("active") => Self::Active,
            Some("idle") => Self::Idle,
            Some("idle in transaction") => Self::IdleInTransaction,
            Some("idle in transaction (aborted)") => Self::IdleInTransactionAborted,
            Some("fastpath function call") => Self::FastPath,
            Some("disabled") => Self::Disabled,
            _ => Self::Unknown,
        }
    }

    /// Short label for a table cell.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Idle => "idle",
            Self::IdleInTransaction => "idle in xact",
            Self::IdleInTransactionAborted => "idle in xact (aborted)",
            Self::FastPath => "fastpath",
            Self::Disabled => "disabled",
            Self::Unknown => "?",
        }
    }

    /// Idle inside a transaction (aborted or not): it holds locks and a
    /// snapshot while doing nothing.
    pub const fn idle_in_transaction(self) -> bool {
        matches!(
            self,
            Self::IdleInTransaction | Self::IdleInTransactionAborted
        )
    }
}

/// One Postgres client backend, as `pg_stat_activity` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgSession {
    /// `pid`: what `pg_cancel_backend` / `pg_terminate_backend` take.
    pub pid: u32,
    /// `usename`.
    pub user: Option<String>,
    /// `datname`.
    pub database: Option<String>,
    /// `application_name`.
    pub application: String,
    /// `client_addr` (`None`: a unix socket, or hidden).
    pub client: Option<String>,
    /// `state`.
    pub state: PgState,
    /// `wait_event_type` and `wait_event`, when it waits.
    pub wait: Option<(String, String)>,
    /// Milliseconds since `query_start` (the server's `now()`).
    pub query_ms: Option<u64>,
    /// Milliseconds since `xact_start` (`None`: no open transaction).
    pub xact_ms: Option<u64>,
    /// Milliseconds since `state_change`.
    pub state_ms: Option<u64>,
    /// `pg_blocking_pids(pid)`, asked only of sessions waiting on a lock.
    pub blocked_by: Vec<u32>,
    /// The query's fingerprint: literals replaced by `?`, cut to
    /// [`QUERY_BYTES`] (`None`: hidden from this role). Never a literal value.
    pub query: Option<String>,
    /// One of heliostat's own sessions (`application_name` starts with
    /// [`OWN_PREFIX`], or it is the reading connection itself): never
    /// offered for cancel or terminate.
    pub own: bool,
}

impl PgSession {
    /// How long it has been in what it is doing, ms: an active statement
    /// since it started, an open transaction since it began, an idle
    /// session since it went idle.
    pub fn duration_ms(&self) -> Option<u64> {
        match self.state {
            PgState::IdleInTransaction | PgState::IdleInTransactionAborted => {
                self.xact_ms.or(self.state_ms)
            }
            PgState::Idle => self.state_ms,
            _ => self.query_ms,
        }
    }

    /// Waiting for a lock another session holds.
    pub fn blocked(&self) -> bool {
        !self.blocked_by.is_empty()
    }
}

/// One endpoint's `pg_stat_activity`, or why it was not read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgSessionList {
    /// The sessions kept (at most [`MAX_SESSIONS`], the longest running first).
    pub rows: Vec<PgSession>,
    /// Client sessions the server has (kept or not).
    pub total: u32,
    /// Sessions not kept (past [`MAX_SESSIONS`]).
    pub cut: u32,
    /// Why the list is partial, in words (sessions of other roles hidden).
    pub note: Option<String>,
}

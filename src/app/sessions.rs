//! The Sessions pane's rows at a tick: the list the pane shows (Postgres
//! sessions, Redis client groups or Redis clients), filtered and sorted by
//! its table state, with how current each source's list is.

use std::time::Duration;

use tokio::sync::mpsc;

use super::actions::Effect;
use super::panes::{GroupSort, PgSessionSort, RedisClientSort, SessionsList, SessionsUi};
use super::state::State;
use super::ui_state::{Confirm, Mode, Pending};
use crate::engines::Timestamp;
use crate::engines::sessions::{
    ClientGroup, ClientSort, PgSession, PgSort, Query, RedisClient, SourceInfo,
};
use crate::ops::sessions::{SESSION_OPS_SOURCE, SessionAct, SessionOp, perform};
use crate::sample::{Body, SourceId, SourceKind};
use crate::sort::Direction;
use crate::sources::Reporter;
use crate::sources::redis::registry::Registry;

/// What the Sessions pane draws (only the list it shows is filled).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionRows {
    /// The list these rows are of.
    pub list: SessionsList,
    /// Postgres sessions with their endpoint.
    pub pg: Vec<(SourceId, PgSession)>,
    /// Redis client groups.
    pub groups: Vec<ClientGroup>,
    /// Redis clients with their node.
    pub clients: Vec<(SourceId, RedisClient)>,
    /// How current each source's list is, with its name.
    pub sources: Vec<(String, SourceInfo<SourceId>)>,
    /// Sources of the list's kind that sent no list yet.
    pub waiting: usize,
}

impl SessionRows {
    /// Rows of the list shown.
    pub fn len(&self) -> usize {
        match self.list {
            SessionsList::Postgres => self.pg.len(),
            SessionsList::RedisGroups => self.groups.len(),
            SessionsList::RedisClients => self.clients.len(),
        }
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows of `ui.list` at `now`.
    pub fn compute(state: &State, ui: &SessionsUi, now: Timestamp) -> Self {
        let name = |id: SourceId| {
            state
                .source(id)
                .map_or_else(|| format!("source {}", id.0), |s| s.name.clone())
        };
        let named = |infos: Vec<SourceInfo<SourceId>>| -> Vec<(String, SourceInfo<SourceId>)> {
            infos.into_iter().map(|i| (name(i.source), i)).collect()
        };
        let desc = |d: Direction| d == Direction::Descending;
        let mut out = SessionRows {
            list: ui.list,
            ..SessionRows::default()
        };
        let of_kind = |pg: bool| {
            let want = |k: SourceKind| match k {
                SourceKind::PgPrimary | SourceKind::PgReplica => pg,
                SourceKind::Redis => !pg,
                SourceKind::Events => false,
            };
            state.sources.iter().filter(|s| want(s.kind)).count()
        };
        match ui.list {
            SessionsList::Postgres => {
                let (key, dir) = ui.pg.order();
                let q = Query {
                    filter: ui.pg.filter.clone(),
                    sort: match key {
                        PgSessionSort::Duration => PgSort::Duration,
                        PgSessionSort::Pid => PgSort::Pid,
                        PgSessionSort::User => PgSort::User,
                        PgSessionSort::Application => PgSort::Application,
                        PgSessionSort::State => PgSort::State,
                    },
                    descending: desc(dir),
                };
                let v = state.sessions.pg_view(now, &q);
                out.pg = v
                    .sessions
                    .into_iter()
                    .map(|(k, s)| (k, s.clone()))
                    .collect();
                out.waiting = of_kind(true).saturating_sub(v.sources.len());
                out.sources = named(v.sources);
            }
            SessionsList::RedisGroups | SessionsList::RedisClients => {
                let (sort, dir, filter) = if ui.list == SessionsList::RedisGroups {
                    let (key, dir) = ui.groups.order();
                    let sort = match key {
                        GroupSort::Memory => ClientSort::Memory,
                        GroupSort::OutputBuffer => ClientSort::OutputBuffer,
                        GroupSort::Idle => ClientSort::Idle,
                        GroupSort::Clients => ClientSort::Clients,
                        GroupSort::Name => ClientSort::Name,
                    };
                    (sort, dir, ui.groups.filter.clone())
                } else {
                    let (key, dir) = ui.clients.order();
                    let sort = match key {
                        RedisClientSort::Memory => ClientSort::Memory,
                        RedisClientSort::OutputBuffer => ClientSort::OutputBuffer,
                        RedisClientSort::Idle => ClientSort::Idle,
                        RedisClientSort::Age => ClientSort::Age,
                        RedisClientSort::Name => ClientSort::Name,
                    };
                    (sort, dir, ui.clients.filter.clone())
                };
                let q = Query {
                    filter,
                    sort,
                    descending: desc(dir),
                };
                let v = state.sessions.redis_view(now, &q);
                if ui.list == SessionsList::RedisGroups {
                    out.groups = v.groups;
                } else {
                    out.clients = v.clients.into_iter().map(|(k, c)| (k, c.clone())).collect();
                }
                out.waiting = of_kind(false).saturating_sub(v.sources.len());
                out.sources = named(v.sources);
            }
        }
        out
    }
}

impl State {
    /// `c` (cancel) or `x` (`end`: terminate a Postgres session, kill a
    /// Redis client) on the selected row: a y/n dialog naming the session,
    /// or a status line saying why not (read-only, the demo, heliostat's
    /// own session, a group row, nothing selected).
    pub(crate) fn ask_session(&mut self, end: bool, now: Timestamp) {
        let what = if end {
            "ending a session"
        } else {
            "cancelling a query"
        };
        if self.session.demo {
            self.ui.set_status(
                format!("demo: the sessions are simulated; {what} needs a live server"),
                true,
                now,
            );
            return;
        }
        if !self.session.writes_allowed {
            let why = self
                .session
                .read_only_reason
                .clone()
                .unwrap_or_else(|| "writes are off in this context".to_string());
            let why = why.strip_prefix("read-only: ").unwrap_or(&why).to_string();
            self.ui.set_status(
                format!("read-only: {what} acts on a server; {why}"),
                true,
                now,
            );
            return;
        }
        let ui = &self.ui.panes.sessions;
        let rows = &self.derived.sessions;
        let asked = match rows.list {
            SessionsList::Postgres => rows
                .pg
                .get(ui.pg.selected)
                .map(|(src, s)| self.pg_dialog(*src, s, end)),
            SessionsList::RedisClients if !end => Some(Err(
                "a Redis client has no query to cancel: x kills its connection".to_string(),
            )),
            SessionsList::RedisClients => rows
                .clients
                .get(ui.clients.selected)
                .map(|(src, c)| self.redis_dialog(*src, c)),
            SessionsList::RedisGroups => Some(Err(
                "a group is many clients: v lists them one by one, then x kills one".to_string(),
            )),
        };
        match asked {
            None => self.ui.set_status("no session selected", true, now),
            Some(Err(why)) => self.ui.set_status(why, true, now),
            Some(Ok(confirm)) => {
                self.ui.confirm = Some(confirm);
                self.ui.mode = Mode::Confirm;
            }
        }
    }

    fn pg_dialog(&self, source: SourceId, s: &PgSession, end: bool) -> Result<Confirm, String> {
        let on = self.source_name(source);
        if s.own {
            return Err(format!(
                "pid {} on {on} is heliostat's own session: never cancelled or terminated",
                s.pid
            ));
        }
        let (title, act, effect) = if end {
            (
                format!("Terminate pid {} on {on}?", s.pid),
                SessionAct::Terminate(s.pid),
                "pg_terminate_backend: the session ends, its open transaction rolls back",
            )
        } else {
            (
                format!("Cancel the query of pid {} on {on}?", s.pid),
                SessionAct::Cancel(s.pid),
                "pg_cancel_backend: the running statement stops, the session stays",
            )
        };
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "–".to_string());
        let lines = vec![
            format!(
                "{} · {} · {} · {}",
                opt(&s.user),
                s.application,
                s.state.label(),
                s.duration_ms()
                    .map_or_else(|| "–".to_string(), crate::units::duration)
            ),
            opt(&s.query),
            effect.to_string(),
            "checked again at the server first: heliostat's own sessions are refused".to_string(),
        ];
        Ok(Confirm {
            title,
            lines,
            action: Pending::Session(SessionOp { source, act }),
        })
    }

    fn redis_dialog(&self, source: SourceId, c: &RedisClient) -> Result<Confirm, String> {
        let on = self.source_name(source);
        if c.own {
            return Err(format!(
                "client {} on {on} is heliostat's own connection: never killed",
                c.id
            ));
        }
        let name = if c.name.is_empty() { "–" } else { &c.name };
        Ok(Confirm {
            title: format!("Kill client id {} on {on}?", c.id),
            lines: vec![
                format!(
                    "{name} · {} · idle {} · last {} · {} used",
                    c.addr,
                    crate::units::duration(c.idle_s * 1000),
                    c.cmd,
                    crate::units::bytes(c.memory())
                ),
                "CLIENT KILL ID: the connection closes; the client may reconnect".to_string(),
                "checked again at the server first: heliostat's own connections are refused"
                    .to_string(),
            ],
            action: Pending::Session(SessionOp {
                source,
                act: SessionAct::Kill(c.id),
            }),
        })
    }

    fn source_name(&self, id: SourceId) -> String {
        self.source(id)
            .map_or_else(|| format!("source {}", id.0), |s| s.name.clone())
    }

    /// "y" in a session dialog: the op goes to the loop; its answer comes
    /// back as a `SessionOp` sample for the status line.
    pub(crate) fn session_confirmed(&mut self, op: SessionOp, now: Timestamp) -> Vec<Effect> {
        let what = match op.act {
            SessionAct::Cancel(pid) => format!("cancelling the query of pid {pid}"),
            SessionAct::Terminate(pid) => format!("terminating pid {pid}"),
            SessionAct::Kill(id) => format!("killing client id {id}"),
        };
        self.ui.set_status(
            format!("{what} on {}…", self.source_name(op.source)),
            false,
            now,
        );
        vec![Effect::Session(op)]
    }
}

/// Session ops of a live console: how to reach each source, and the
/// channel their answers come back on.
#[derive(Debug, Clone)]
pub struct SessionOps {
    /// Where each source connects.
    pub registry: Registry,
    /// The samples channel.
    pub tx: mpsc::Sender<Vec<crate::sample::Sample>>,
}

/// How long a session op may take (connect, check, act).
const OP_TIMEOUT: Duration = Duration::from_secs(5);

impl SessionOps {
    /// Run `op` in its own task; its answer arrives as a sample.
    pub fn start(&self, op: SessionOp) {
        let (registry, tx) = (self.registry.clone(), self.tx.clone());
        tokio::spawn(async move {
            let (text, ok) = match perform(&registry, &op, OP_TIMEOUT).await {
                Ok(t) => (t, true),
                Err(e) => (e.to_string(), false),
            };
            let _ = Reporter::new(SESSION_OPS_SOURCE, tx)
                .send(0, vec![Body::SessionOp { text, ok }])
                .await;
        });
    }
}

#[cfg(test)]
#[path = "sessions_tests.rs"]
mod tests;

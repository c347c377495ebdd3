//! The Sessions pane's rows at a tick: the list the pane shows (Postgres
//! sessions, Redis client groups or Redis clients), filtered and sorted by
//! its table state, with how current each source's list is.

use super::panes::{GroupSort, PgSessionSort, RedisClientSort, SessionsList, SessionsUi};
use super::state::State;
use crate::engines::Timestamp;
use crate::engines::sessions::{
    ClientGroup, ClientSort, PgSession, PgSort, Query, RedisClient, SourceInfo,
};
use crate::sample::{SourceId, SourceKind};
use crate::sort::Direction;

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

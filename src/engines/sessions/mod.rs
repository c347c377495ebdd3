//! Sessions: the latest `CLIENT LIST` of each Redis node and the latest
//! `pg_stat_activity` of each Postgres endpoint, with the time each was
//! read, and the views the Sessions pane draws from: Redis clients grouped
//! by name (or host when unnamed) with their memory, Postgres sessions by
//! duration, both filtered by a substring, each source with its age, its
//! note (a list skipped, partial) and how many rows its reader cut.
//!
//! Pure: time is a parameter. Keyed by any source key `K` (the app's
//! `SourceId`); sources (at most [`MAX_SOURCES`], the longest silent
//! forgotten first), rows per source and groups per view are all capped.

mod rows;
#[cfg(test)]
mod tests;
mod view;

use std::hash::Hash;

use rustc_hash::FxHashMap;

pub use rows::{
    ClientList, MAX_CLIENTS, MAX_SESSIONS, NAME_BYTES, OWN_PREFIX, PgSession, PgSessionList,
    PgState, QUERY_BYTES, RedisClient, is_own_name,
};
pub use view::{
    ClientGroup, ClientSort, MAX_GROUPS, OTHER_GROUP, PgSort, PgView, Query, RedisView, SourceInfo,
};

use super::Timestamp;
use super::bounded::trim;

/// Sources kept per kind.
pub const MAX_SOURCES: usize = 1_024;
/// A list older than this is stale (three of the readers' 5 s rounds).
pub const STALE_MS: u64 = 15_000;

/// A list and when it was read.
#[derive(Debug, Clone, PartialEq)]
struct Latest<T> {
    at: Timestamp,
    list: T,
}

/// The latest session lists per source.
#[derive(Debug, Clone)]
pub struct SessionsEngine<K> {
    redis: FxHashMap<K, Latest<ClientList>>,
    pg: FxHashMap<K, Latest<PgSessionList>>,
}

impl<K> Default for SessionsEngine<K> {
    fn default() -> Self {
        Self {
            redis: FxHashMap::default(),
            pg: FxHashMap::default(),
        }
    }
}

/// Keep at most `max` rows (counted as cut): a list from elsewhere (a
/// replay, a future reader) is held to the same caps as the readers'.
fn cap_rows<T>(rows: &mut Vec<T>, cut: &mut u32, max: usize) {
    if rows.len() > max {
        let extra = u32::try_from(rows.len() - max).unwrap_or(u32::MAX);
        rows.truncate(max);
        *cut = cut.saturating_add(extra);
    }
}

impl<K: Copy + Eq + Hash + Ord> SessionsEngine<K> {
    /// An empty engine.
    pub fn new() -> Self {
        Self::default()
    }

    /// A node's `CLIENT LIST` read at `at`; an older list than the one
    /// held is ignored (samples may arrive out of order).
    pub fn apply_redis(&mut self, source: K, at: Timestamp, list: &ClientList) {
        if self.redis.get(&source).is_some_and(|l| l.at > at) {
            return;
        }
        let mut list = list.clone();
        cap_rows(&mut list.rows, &mut list.cut, MAX_CLIENTS);
        self.redis.insert(source, Latest { at, list });
        trim(&mut self.redis, MAX_SOURCES, |_, l| Some(l.at));
    }

    /// An endpoint's `pg_stat_activity` read at `at` (older ones ignored).
    pub fn apply_pg(&mut self, source: K, at: Timestamp, list: &PgSessionList) {
        if self.pg.get(&source).is_some_and(|l| l.at > at) {
            return;
        }
        let mut list = list.clone();
        cap_rows(&mut list.rows, &mut list.cut, MAX_SESSIONS);
        self.pg.insert(source, Latest { at, list });
        trim(&mut self.pg, MAX_SOURCES, |_, l| Some(l.at));
    }

    /// Forget a source (it left: a node gone from the cluster).
    pub fn forget(&mut self, source: K) {
        self.redis.remove(&source);
        self.pg.remove(&source);
    }

    /// Sources with a Redis client list.
    pub fn redis_sources(&self) -> usize {
        self.redis.len()
    }

    /// Sources with a Postgres session list.
    pub fn pg_sources(&self) -> usize {
        self.pg.len()
    }

    /// One client by node and id, if the latest list has it (what a kill
    /// confirm dialog names).
    pub fn client(&self, source: K, id: u64) -> Option<&RedisClient> {
        self.redis
            .get(&source)?
            .list
            .rows
            .iter()
            .find(|c| c.id == id)
    }

    /// One session by endpoint and pid, if the latest list has it.
    pub fn session(&self, source: K, pid: u32) -> Option<&PgSession> {
        self.pg
            .get(&source)?
            .list
            .rows
            .iter()
            .find(|s| s.pid == pid)
    }

    /// The Redis side at `now`: clients and groups matching `q`, sorted.
    pub fn redis_view(&self, now: Timestamp, q: &Query<ClientSort>) -> RedisView<'_, K> {
        view::redis(&self.redis_lists(), now, q)
    }

    /// The Postgres side at `now`: sessions matching `q`, sorted.
    pub fn pg_view(&self, now: Timestamp, q: &Query<PgSort>) -> PgView<'_, K> {
        let lists: Vec<(K, Timestamp, &PgSessionList)> =
            self.pg.iter().map(|(k, l)| (*k, l.at, &l.list)).collect();
        view::pg(&lists, now, q)
    }

    fn redis_lists(&self) -> Vec<(K, Timestamp, &ClientList)> {
        self.redis
            .iter()
            .map(|(k, l)| (*k, l.at, &l.list))
            .collect()
    }
}

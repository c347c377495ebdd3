//! The views of the session lists at an instant: filtered, sorted, Redis
//! clients grouped. Ties always break by source and id, so a view is the
//! same for the same lists whatever order the maps hold them in.

use std::cmp::Ordering;
use std::hash::Hash;

use rustc_hash::{FxHashMap, FxHashSet};

use super::rows::{ClientList, PgSession, PgSessionList, RedisClient};
use super::{STALE_MS, Timestamp};

/// Groups a Redis view holds at most; clients past them count in
/// [`OTHER_GROUP`] (the groups are made biggest memory first, so the
/// clients that matter get their own).
pub const MAX_GROUPS: usize = 1_000;
/// The group that holds the clients past [`MAX_GROUPS`].
pub const OTHER_GROUP: &str = "(other)";

/// How Redis clients (and their groups) are sorted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientSort {
    /// What they cost the server (`tot-mem`, else `omem + qbuf`).
    #[default]
    Memory,
    /// Output buffer (`omem`).
    OutputBuffer,
    /// Seconds idle (a group: its most idle client).
    Idle,
    /// Seconds connected (a group: its oldest client).
    Age,
    /// Clients in the group (a client row: by memory).
    Clients,
    /// Group name (name, else host), then id.
    Name,
}

/// How Postgres sessions are sorted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PgSort {
    /// [`PgSession::duration_ms`]; idle sessions (not running anything,
    /// holding nothing) after all others whichever the direction.
    #[default]
    Duration,
    /// Process id.
    Pid,
    /// User name.
    User,
    /// `application_name`.
    Application,
    /// State, then duration.
    State,
}

/// What a view shows: rows containing `filter` (ASCII case-insensitive;
/// empty: all), sorted by `sort`, largest first when `descending`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query<S> {
    /// Substring to match.
    pub filter: String,
    /// Sort key.
    pub sort: S,
    /// Largest first.
    pub descending: bool,
}

impl<S: Default> Default for Query<S> {
    /// The pane's default: by memory (Redis) or duration (Postgres), largest first.
    fn default() -> Self {
        Self {
            filter: String::new(),
            sort: S::default(),
            descending: true,
        }
    }
}

/// How current one source's list is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo<K> {
    /// The source.
    pub source: K,
    /// Milliseconds since the list was read.
    pub age_ms: u64,
    /// Older than [`STALE_MS`]: the reader has not sent a newer one.
    pub stale: bool,
    /// Rows the server listed.
    pub total: u32,
    /// Rows the reader did not keep (its cap).
    pub cut: u32,
    /// Why the list is empty or partial, in words.
    pub note: Option<String>,
}

/// Redis clients with the same name (or, unnamed, the same host), across nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientGroup {
    /// The name, the host, or [`OTHER_GROUP`].
    pub label: String,
    /// Grouped by host (the clients have no name).
    pub by_host: bool,
    /// Clients in it.
    pub clients: u32,
    /// Nodes they are connected to.
    pub nodes: u32,
    /// Σ what they cost the server ([`RedisClient::memory`]).
    pub memory: u64,
    /// Σ `omem`.
    pub omem: u64,
    /// Σ `tot-mem` of the clients whose server reports it (`None`: none does).
    pub tot_mem: Option<u64>,
    /// The most idle client's seconds.
    pub max_idle_s: u64,
    /// The oldest client's seconds.
    pub max_age_s: u64,
    /// Every client in it is heliostat's own.
    pub own: bool,
}

/// The Redis side of the pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisView<'a, K> {
    /// Matching clients with their node, sorted.
    pub clients: Vec<(K, &'a RedisClient)>,
    /// Their groups, sorted.
    pub groups: Vec<ClientGroup>,
    /// Every node's list: age, note, cut rows (by source).
    pub sources: Vec<SourceInfo<K>>,
}

/// The Postgres side of the pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgView<'a, K> {
    /// Matching sessions with their endpoint, sorted.
    pub sessions: Vec<(K, &'a PgSession)>,
    /// Every endpoint's list: age, note, cut rows (by source).
    pub sources: Vec<SourceInfo<K>>,
}

/// Whether `hay` contains `needle` (ASCII case-insensitive); an empty
/// needle is in everything.
fn contains(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

fn client_matches(c: &RedisClient, f: &str) -> bool {
    f.is_empty()
        || [&c.name, &c.addr, &c.cmd, &c.flags]
            .into_iter()
            .chain(c.laddr.as_ref())
            .chain(c.user.as_ref())
            .any(|s| contains(s, f))
}

fn session_matches(s: &PgSession, f: &str) -> bool {
    f.is_empty()
        || contains(&s.application, f)
        || contains(s.state.label(), f)
        || contains(&s.pid.to_string(), f)
        || [&s.user, &s.database, &s.client, &s.query]
            .into_iter()
            .flatten()
            .any(|x| contains(x, f))
        || s.wait
            .as_ref()
            .is_some_and(|(t, e)| contains(t, f) || contains(e, f))
}

fn info<K: Copy>(source: K, at: Timestamp, now: Timestamp, total: u32, cut: u32) -> SourceInfo<K> {
    let age_ms = now.millis_since(at);
    SourceInfo {
        source,
        age_ms,
        stale: age_ms > STALE_MS,
        total,
        cut,
        note: None,
    }
}

fn directed(o: Ordering, descending: bool) -> Ordering {
    if descending { o.reverse() } else { o }
}

fn client_key(c: &RedisClient, sort: ClientSort) -> (u64, &str) {
    match sort {
        ClientSort::Memory | ClientSort::Clients => (c.memory(), ""),
        ClientSort::OutputBuffer => (c.omem, ""),
        ClientSort::Idle => (c.idle_s, ""),
        ClientSort::Age => (c.age_s, ""),
        ClientSort::Name => (0, c.group()),
    }
}

/// How current each list is, by source: `fields` gives a list's total,
/// cut rows and note.
fn infos<K: Copy + Ord, L>(
    lists: &[(K, Timestamp, &L)],
    now: Timestamp,
    fields: impl Fn(&L) -> (u32, u32, Option<String>),
) -> Vec<SourceInfo<K>> {
    let mut out: Vec<SourceInfo<K>> = lists
        .iter()
        .map(|(k, at, l)| {
            let (total, cut, note) = fields(l);
            SourceInfo {
                note,
                ..info(*k, *at, now, total, cut)
            }
        })
        .collect();
    out.sort_by_key(|s| s.source);
    out
}

/// The Redis view of `lists` at `now`.
pub(super) fn redis<'a, K: Copy + Eq + Hash + Ord>(
    lists: &[(K, Timestamp, &'a ClientList)],
    now: Timestamp,
    q: &Query<ClientSort>,
) -> RedisView<'a, K> {
    let sources = infos(lists, now, |l| (l.total, l.cut, l.note.clone()));
    let mut clients: Vec<(K, &RedisClient)> = lists
        .iter()
        .flat_map(|(k, _, l)| l.rows.iter().map(move |c| (*k, c)))
        .filter(|(_, c)| client_matches(c, &q.filter))
        .collect();
    // Groups are made biggest first, so a cap folds the smallest.
    clients.sort_by(|a, b| {
        b.1.memory()
            .cmp(&a.1.memory())
            .then(a.0.cmp(&b.0))
            .then(a.1.id.cmp(&b.1.id))
    });
    let mut groups = group(&clients);
    clients.sort_by(|a, b| {
        directed(
            client_key(a.1, q.sort).cmp(&client_key(b.1, q.sort)),
            q.descending,
        )
        .then(a.0.cmp(&b.0))
        .then(a.1.id.cmp(&b.1.id))
    });
    groups.sort_by(|a, b| {
        let o = match q.sort {
            ClientSort::Memory => a.memory.cmp(&b.memory),
            ClientSort::OutputBuffer => a.omem.cmp(&b.omem),
            ClientSort::Idle => a.max_idle_s.cmp(&b.max_idle_s),
            ClientSort::Age => a.max_age_s.cmp(&b.max_age_s),
            ClientSort::Clients => a.clients.cmp(&b.clients),
            ClientSort::Name => a.label.cmp(&b.label),
        };
        directed(o, q.descending)
            .then_with(|| a.label.cmp(&b.label))
            .then(a.by_host.cmp(&b.by_host))
    });
    RedisView {
        clients,
        groups,
        sources,
    }
}

/// Group `clients` (sorted by memory, largest first) by name or host, at
/// most [`MAX_GROUPS`] of them and [`OTHER_GROUP`].
fn group<K: Copy + Eq + Hash>(clients: &[(K, &RedisClient)]) -> Vec<ClientGroup> {
    let mut index: FxHashMap<(&str, bool), usize> = FxHashMap::default();
    let mut nodes: FxHashSet<(usize, K)> = FxHashSet::default();
    let mut groups: Vec<ClientGroup> = Vec::new();
    let mut other: Option<usize> = None;
    for (k, c) in clients {
        let key = (c.group(), c.name.is_empty());
        let i = match index.get(&key) {
            Some(i) => *i,
            None if index.len() < MAX_GROUPS => {
                groups.push(ClientGroup {
                    label: key.0.to_string(),
                    by_host: key.1,
                    own: true,
                    ..ClientGroup::default()
                });
                index.insert(key, groups.len() - 1);
                groups.len() - 1
            }
            None => *other.get_or_insert_with(|| {
                groups.push(ClientGroup {
                    label: OTHER_GROUP.to_string(),
                    own: true,
                    ..ClientGroup::default()
                });
                groups.len() - 1
            }),
        };
        let g = &mut groups[i];
        g.clients = g.clients.saturating_add(1);
        if nodes.insert((i, *k)) {
            g.nodes = g.nodes.saturating_add(1);
        }
        g.memory = g.memory.saturating_add(c.memory());
        g.omem = g.omem.saturating_add(c.omem);
        if let Some(t) = c.tot_mem {
            g.tot_mem = Some(g.tot_mem.unwrap_or(0).saturating_add(t));
        }
        g.max_idle_s = g.max_idle_s.max(c.idle_s);
        g.max_age_s = g.max_age_s.max(c.age_s);
        g.own &= c.own;
    }
    groups
}

fn user(s: &PgSession) -> &str {
    s.user.as_deref().unwrap_or("")
}

/// The Postgres view of `lists` at `now`.
pub(super) fn pg<'a, K: Copy + Ord>(
    lists: &[(K, Timestamp, &'a PgSessionList)],
    now: Timestamp,
    q: &Query<PgSort>,
) -> PgView<'a, K> {
    let sources = infos(lists, now, |l| (l.total, l.cut, l.note.clone()));
    let mut sessions: Vec<(K, &PgSession)> = lists
        .iter()
        .flat_map(|(k, _, l)| l.rows.iter().map(move |s| (*k, s)))
        .filter(|(_, s)| session_matches(s, &q.filter))
        .collect();
    let idle = |s: &PgSession| s.state == super::PgState::Idle;
    sessions.sort_by(|(ka, a), (kb, b)| {
        let o = match q.sort {
            // Idle last in both directions: compare that outside `directed`.
            PgSort::Duration => {
                return idle(a)
                    .cmp(&idle(b))
                    .then(directed(
                        a.duration_ms().cmp(&b.duration_ms()),
                        q.descending,
                    ))
                    .then(ka.cmp(kb))
                    .then(a.pid.cmp(&b.pid));
            }
            PgSort::Pid => a.pid.cmp(&b.pid),
            PgSort::User => user(a).cmp(user(b)),
            PgSort::Application => a.application.cmp(&b.application),
            PgSort::State => a
                .state
                .label()
                .cmp(b.state.label())
                .then(a.duration_ms().cmp(&b.duration_ms())),
        };
        directed(o, q.descending)
            .then(ka.cmp(kb))
            .then(a.pid.cmp(&b.pid))
    });
    PgView { sessions, sources }
}

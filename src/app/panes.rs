//! Each pane's table state, typed: its selection, filter, and sort (an
//! enum of the pane's orders, with a direction). One struct field per
//! pane instead of arrays indexed by pane number; the generic keys
//! (Up/Down, `/`, `s`, `I`) reach a pane through [`TableNav`].

use crate::action::Pane;
use crate::sort::{Direction, SortKey};

/// The table state of one pane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableUi<K> {
    /// Selected row (an index into the pane's filtered, sorted rows).
    pub selected: usize,
    /// Row filter (case-insensitive substring; "" shows all).
    pub filter: String,
    /// The order.
    pub sort: K,
    /// Runs against the order's natural direction.
    pub flipped: bool,
}

impl<K: SortKey> TableUi<K> {
    /// The direction the rows run.
    pub fn direction(&self) -> Direction {
        let d = self.sort.natural();
        if self.flipped { d.flip() } else { d }
    }

    /// The order and its direction, as sorting needs them.
    pub fn order(&self) -> (K, Direction) {
        (self.sort, self.direction())
    }
}

/// What the generic keys do to any pane's table.
pub trait TableNav {
    /// The selected row.
    fn selected(&self) -> usize;
    /// Select a row.
    fn select(&mut self, row: usize);
    /// The filter ("" when none).
    fn filter(&self) -> &str;
    /// The filter, to edit.
    fn filter_mut(&mut self) -> &mut String;
    /// The next order, in its natural direction.
    fn cycle_sort(&mut self);
    /// The same order, the other way.
    fn flip_sort(&mut self);
    /// "rate/s ▼": the sorted column and the direction, for titles and
    /// the status line.
    fn sort_label(&self) -> String;
    /// True when `name` passes the filter.
    fn matches(&self, name: &str) -> bool {
        let f = self.filter();
        f.is_empty() || name.to_lowercase().contains(&f.to_lowercase())
    }
}

impl<K: SortKey> TableNav for TableUi<K> {
    fn selected(&self) -> usize {
        self.selected
    }
    fn select(&mut self, row: usize) {
        self.selected = row;
    }
    fn filter(&self) -> &str {
        &self.filter
    }
    fn filter_mut(&mut self) -> &mut String {
        &mut self.filter
    }
    fn cycle_sort(&mut self) {
        let i = K::ALL.iter().position(|k| *k == self.sort).unwrap_or(0);
        self.sort = K::ALL[(i + 1) % K::ALL.len()];
        self.flipped = false;
    }
    fn flip_sort(&mut self) {
        self.flipped = !self.flipped;
    }
    fn sort_label(&self) -> String {
        format!("{} {}", self.sort.column(), self.direction().arrow())
    }
}

macro_rules! sorts {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $v:ident => $col:literal, $dir:ident;)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub enum $name {
            #[default]
            $($(#[$vdoc])* $v,)+
        }
        impl SortKey for $name {
            const ALL: &'static [Self] = &[$(Self::$v),+];
            fn column(self) -> &'static str {
                match self { $(Self::$v => $col),+ }
            }
            fn natural(self) -> Direction {
                match self { $(Self::$v => Direction::$dir),+ }
            }
        }
    };
}

sorts! {
    /// Heatmap rows.
    HeatSort {
        /// The busiest first (the engine's order).
        Accesses => "accesses", Descending;
        /// The worst hit ratio first.
        HitRatio => "hit ratio", Ascending;
        /// The most database time saved first.
        Saved => "saved", Descending;
        /// By name.
        Name => "row", Ascending;
    }
}

sorts! {
    /// The warming queue.
    WarmSort {
        /// The planner's score, best first.
        Score => "score", Descending;
        /// The soonest to expire first.
        TimeLeft => "time left", Ascending;
        /// The most read first.
        Rate => "rate/s", Descending;
        /// By key.
        Key => "key", Ascending;
    }
}

sorts! {
    /// Backends.
    BackendSort {
        /// By name.
        Name => "backend", Ascending;
        /// The slowest (p50) first.
        Latency => "p50", Descending;
        /// The busiest first.
        Ops => "ops/s", Descending;
    }
}

sorts! {
    /// The optimizer's ranking.
    OptimizerSort {
        /// The best score first (the ranking).
        Score => "score", Descending;
        /// The fastest predicted first.
        Latency => "latency", Ascending;
        /// By name.
        Name => "backend", Ascending;
    }
}

sorts! {
    /// Clients.
    ClientSort {
        /// The most requests per second first.
        Requests => "req/s", Descending;
        /// The most failures first.
        Failures => "fail", Descending;
        /// By name.
        Name => "client", Ascending;
    }
}

sorts! {
    /// Postgres sessions.
    PgSessionSort {
        /// The longest running first (idle sessions last either way).
        Duration => "duration", Descending;
        /// By process id.
        Pid => "pid", Ascending;
        /// By user.
        User => "user", Ascending;
        /// By application name.
        Application => "application", Ascending;
        /// By state (idle in transaction together).
        State => "state", Ascending;
    }
}

sorts! {
    /// Redis client groups.
    GroupSort {
        /// What they cost the server, the most first.
        Memory => "memory", Descending;
        /// Output buffers, the largest first.
        OutputBuffer => "omem", Descending;
        /// The longest idle first.
        Idle => "idle", Descending;
        /// The most clients first.
        Clients => "clients", Descending;
        /// By name (or host).
        Name => "group", Ascending;
    }
}

sorts! {
    /// Redis clients, one row each.
    RedisClientSort {
        /// What it costs the server, the most first.
        Memory => "memory", Descending;
        /// Output buffer, the largest first.
        OutputBuffer => "omem", Descending;
        /// The longest idle first.
        Idle => "idle", Descending;
        /// The longest connected first.
        Age => "age", Descending;
        /// By name (or host).
        Name => "client", Ascending;
    }
}

/// Which list the Sessions pane shows (`v` cycles).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SessionsList {
    /// `pg_stat_activity` of every endpoint.
    #[default]
    Postgres,
    /// `CLIENT LIST` of every node, grouped by client name (or host).
    RedisGroups,
    /// `CLIENT LIST` of every node, one row per connection.
    RedisClients,
}

impl SessionsList {
    /// The next list.
    pub fn next(self) -> Self {
        match self {
            Self::Postgres => Self::RedisGroups,
            Self::RedisGroups => Self::RedisClients,
            Self::RedisClients => Self::Postgres,
        }
    }

    /// Words for the title and the status line.
    pub fn label(self) -> &'static str {
        match self {
            Self::Postgres => "postgres sessions",
            Self::RedisGroups => "redis clients by name",
            Self::RedisClients => "redis clients",
        }
    }
}

/// The Sessions pane: which list, and each list's table.
#[derive(Debug, Clone, Default)]
pub struct SessionsUi {
    /// The list shown.
    pub list: SessionsList,
    /// Postgres sessions.
    pub pg: TableUi<PgSessionSort>,
    /// Redis client groups.
    pub groups: TableUi<GroupSort>,
    /// Redis clients.
    pub clients: TableUi<RedisClientSort>,
}

impl SessionsUi {
    /// The table of the list shown.
    pub fn table(&self) -> &dyn TableNav {
        match self.list {
            SessionsList::Postgres => &self.pg,
            SessionsList::RedisGroups => &self.groups,
            SessionsList::RedisClients => &self.clients,
        }
    }

    /// The table of the list shown, mutably.
    pub fn table_mut(&mut self) -> &mut dyn TableNav {
        match self.list {
            SessionsList::Postgres => &mut self.pg,
            SessionsList::RedisGroups => &mut self.groups,
            SessionsList::RedisClients => &mut self.clients,
        }
    }
}

/// Every pane's table state.
#[derive(Debug, Clone, Default)]
pub struct Panes {
    /// 1 Heatmap.
    pub heatmap: TableUi<HeatSort>,
    /// 2 Warming.
    pub warming: TableUi<WarmSort>,
    /// 3 Backends.
    pub backends: TableUi<BackendSort>,
    /// 4 Optimizer.
    pub optimizer: TableUi<OptimizerSort>,
    /// 5 Clients.
    pub clients: TableUi<ClientSort>,
    /// 6 Sessions.
    pub sessions: SessionsUi,
}

impl Panes {
    /// `pane`'s table, for the generic keys.
    pub fn get(&self, pane: Pane) -> &dyn TableNav {
        match pane {
            Pane::Heatmap => &self.heatmap,
            Pane::Warming => &self.warming,
            Pane::Backends => &self.backends,
            Pane::Optimizer => &self.optimizer,
            Pane::Clients => &self.clients,
            Pane::Sessions => self.sessions.table(),
        }
    }

    /// `pane`'s table, mutably.
    pub fn get_mut(&mut self, pane: Pane) -> &mut dyn TableNav {
        match pane {
            Pane::Heatmap => &mut self.heatmap,
            Pane::Warming => &mut self.warming,
            Pane::Backends => &mut self.backends,
            Pane::Optimizer => &mut self.optimizer,
            Pane::Clients => &mut self.clients,
            Pane::Sessions => self.sessions.table_mut(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycling_starts_each_order_its_natural_way() {
        let mut t = TableUi::<WarmSort>::default();
        assert_eq!(t.sort_label(), "score ▼");
        t.flip_sort();
        assert_eq!(t.sort_label(), "score ▲");
        t.cycle_sort();
        assert_eq!(t.order(), (WarmSort::TimeLeft, Direction::Ascending));
        t.cycle_sort();
        t.cycle_sort();
        assert_eq!(t.sort_label(), "key ▲");
        t.cycle_sort();
        assert_eq!(t.sort, WarmSort::Score);
    }

    #[test]
    fn each_pane_has_its_own_state() {
        let mut p = Panes::default();
        p.get_mut(Pane::Clients).filter_mut().push_str("API");
        p.get_mut(Pane::Backends).select(3);
        assert!(p.get(Pane::Clients).matches("my-api-1"));
        assert!(!p.get(Pane::Clients).matches("worker"));
        assert!(p.get(Pane::Warming).matches("anything"));
        assert_eq!(p.get(Pane::Backends).selected(), 3);
        assert_eq!(p.get(Pane::Heatmap).selected(), 0);
    }
}

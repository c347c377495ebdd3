//! The simulated platform behind the demo: tables with Zipf-distributed
//! traffic, a Redis cache per node with TTL expiry (and cliffs), Postgres
//! behind it, a daily curve with bursts, and a node failure now and then.

/// One simulated table: its traffic share, cache TTL and the cost a hit saves.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// Table name (and key prefix, with a `:`).
    pub name: &'static str,
    /// Cache TTL in seconds.
    pub ttl_s: u32,
    /// Database time a cache hit saves, microseconds.
    pub cost_us: u32,
    /// Best hit ratio the application's access pattern allows.
    pub cap: f64,
    /// Keys written in bulk with one TTL: they expire together (a TTL cliff).
    pub cliff: bool,
    /// The query the application runs on a miss.
    pub query: &'static str,
}

const fn t(
    name: &'static str,
    ttl_s: u32,
    cost_us: u32,
    cap: f64,
    cliff: bool,
    query: &'static str,
) -> TableSpec {
    TableSpec {
        name,
        ttl_s,
        cost_us,
        cap,
        cliff,
        query,
    }
}

/// The demo's tables, most accessed first (Zipf rank = position).
pub const TABLES: &[TableSpec] = &[
    t(
        "users",
        600,
        900,
        0.97,
        false,
        "SELECT * FROM users WHERE id = $1",
    ),
    t(
        "products",
        3600,
        1_400,
        0.98,
        false,
        "SELECT * FROM products WHERE sku = $1",
    ),
    t(
        "sessions",
        300,
        600,
        0.95,
        false,
        "SELECT data FROM sessions WHERE token = $1",
    ),
    t(
        "prices",
        900,
        1_100,
        0.96,
        true,
        "SELECT amount FROM prices WHERE sku = $1 AND region = $2",
    ),
    t(
        "carts",
        120,
        1_800,
        0.80,
        false,
        "SELECT * FROM carts c JOIN cart_items i ON i.cart_id = c.id WHERE c.user_id = $1",
    ),
    t(
        "inventory",
        60,
        2_500,
        0.70,
        false,
        "SELECT qty FROM inventory WHERE sku = $1",
    ),
    t(
        "search_results",
        120,
        25_000,
        0.62,
        false,
        "SELECT id FROM products WHERE to_tsvector(title) @@ plainto_tsquery($1) LIMIT 20",
    ),
    t(
        "recommendations",
        600,
        40_000,
        0.90,
        true,
        "SELECT r.* FROM recommendations r WHERE r.user_id = $1 ORDER BY score DESC LIMIT 10",
    ),
    t(
        "orders",
        900,
        3_200,
        0.75,
        false,
        "SELECT o.*, i.* FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = $1",
    ),
    t(
        "categories",
        86_400,
        700,
        0.99,
        false,
        "SELECT * FROM categories WHERE parent_id = $1",
    ),
    t(
        "reviews",
        1_800,
        5_500,
        0.85,
        false,
        "SELECT * FROM reviews WHERE product_id = $1 ORDER BY created_at DESC LIMIT 5",
    ),
    t(
        "user_settings",
        3_600,
        800,
        0.96,
        false,
        "SELECT * FROM user_settings WHERE user_id = $1",
    ),
    t(
        "coupons",
        1_800,
        1_200,
        0.92,
        false,
        "SELECT * FROM coupons WHERE code = $1 AND expires_at > now()",
    ),
    t(
        "shipments",
        600,
        2_100,
        0.66,
        false,
        "SELECT * FROM shipments WHERE order_id = $1",
    ),
    t(
        "payments",
        300,
        2_900,
        0.35,
        false,
        "SELECT status FROM payments WHERE order_id = $1",
    ),
    t(
        "wishlists",
        1_800,
        1_500,
        0.88,
        false,
        "SELECT product_id FROM wishlists WHERE user_id = $1",
    ),
    t(
        "notifications",
        120,
        1_300,
        0.45,
        false,
        "SELECT * FROM notifications WHERE user_id = $1 AND seen = false",
    ),
    t(
        "feature_flags",
        60,
        400,
        0.99,
        true,
        "SELECT name, enabled FROM feature_flags",
    ),
    t(
        "geo_regions",
        86_400,
        600,
        0.99,
        false,
        "SELECT * FROM geo_regions WHERE code = $1",
    ),
    t(
        "audit_log",
        60,
        4_000,
        0.05,
        false,
        "SELECT * FROM audit_log WHERE actor_id = $1 ORDER BY ts DESC LIMIT 50",
    ),
];

/// Application clients and their share of traffic.
pub const CLIENTS: &[(&str, f64)] = &[
    ("web", 0.40),
    ("mobile-api", 0.25),
    ("search", 0.15),
    ("checkout", 0.12),
    ("batch-etl", 0.08),
];

/// Hot keys tracked per table (the rest of the keyspace is a fill level).
pub const HOT_KEYS: usize = 40;

/// Share of a table's accesses that go to its hot keys.
pub const HOT_SHARE: f64 = 0.35;

/// Simulated state of one hot key.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeySim {
    /// When the cached value expires (ms); 0 = not cached.
    pub expire_at: i64,
    /// Accesses in the current tick.
    pub accesses: u32,
}

/// Simulated cache state of one table.
#[derive(Debug, Clone)]
pub struct TableSim {
    /// Which Redis node holds this table's keys.
    pub node: usize,
    /// Fraction of the long tail that is cached.
    pub tail_fill: f64,
    /// The hot keys.
    pub keys: Vec<KeySim>,
    /// Next bulk reload of a cliff table (ms).
    pub next_cliff: i64,
}

/// Simulated Redis node.
#[derive(Debug, Clone, Default)]
pub struct NodeSim {
    /// Bumped at every restart.
    pub run: u64,
    /// Cumulative counters since the last restart.
    pub hits: u64,
    /// Cumulative misses.
    pub misses: u64,
    /// Cumulative commands.
    pub commands: u64,
    /// Cumulative expired keys.
    pub expired: u64,
    /// Down until this time (ms); 0 = up.
    pub down_until: i64,
}

/// Simulated Postgres endpoint.
#[derive(Debug, Clone, Default)]
pub struct PgSim {
    /// Cumulative transactions.
    pub xacts: u64,
    /// Cumulative rollbacks.
    pub rollbacks: u64,
    /// Cumulative buffer hits.
    pub blks_hit: u64,
    /// Cumulative block reads.
    pub blks_read: u64,
    /// Replication lag, bytes.
    pub lag: u64,
    /// Per-table cumulative (buffer hits, block reads), primary only.
    pub tables: Vec<(u64, u64)>,
}

/// Traffic multiplier for the time of day: low at night, peak mid-afternoon.
pub fn daily_factor(ms: i64) -> f64 {
    let day_s = ms.rem_euclid(86_400_000) as f64 / 1000.0;
    let phase = (day_s / 86_400.0 - 15.0 / 24.0) * std::f64::consts::TAU;
    0.8 + 0.45 * phase.cos()
}

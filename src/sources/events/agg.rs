//! Folds parsed events into per-(client, tables, query, op) and per-key
//! aggregates between two flushes, so the app loop sees a few hundred rows a
//! second however many events arrive. Pure.

use rustc_hash::FxHashMap;

use super::schema::{EventRef, MAX_KEY_BYTES, MAX_NAME_BYTES, MAX_OP_BYTES, Malformed};
use crate::engines::bounded;
use crate::engines::heatmap::fingerprint::Fingerprinter;
use crate::engines::intern::OVERFLOW;
use crate::engines::keyspace::DEFAULT_DELIMITER;
use crate::sample::{AccessAgg, KeyAccess, StreamStats};

/// Groups (client, tables, query, operation) one flush holds; events of
/// further groups are counted in one `(other)` group.
pub const MAX_GROUPS_PER_FLUSH: usize = 5_000;

/// Keys one flush holds; accesses of further keys are dropped and counted
/// (the warming tracker keeps the hottest keys anyway).
pub const MAX_KEYS_PER_FLUSH: usize = 10_000;

#[derive(Debug, Clone)]
struct Group {
    client: String,
    tables: String,
    query: Option<String>,
    op: String,
}

/// Weighted sums: with a sample rate each event counts for `1 / rate`.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    count: f64,
    lookups: f64,
    hits: f64,
    errors: f64,
    saved_us: f64,
    latency_us: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct KeySums {
    count: f64,
    hits: f64,
    misses: f64,
}

/// What one flush hands the app.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flush {
    /// Accesses per group.
    pub accesses: Vec<AccessAgg>,
    /// Accesses per key.
    pub keys: Vec<KeyAccess>,
}

/// Aggregates since the last [`Aggregator::flush`], plus running totals.
///
/// Groups are found by an identity built in a reused buffer from the
/// borrowed fields, so an event of a known group allocates nothing.
#[derive(Debug)]
pub struct Aggregator {
    // Groups by a 128-bit hash of their identity: a key of fixed size
    // however long the names.
    index: FxHashMap<u128, usize>,
    groups: Vec<(Group, Sums)>,
    keys: FxHashMap<Box<str>, KeySums>,
    ident: Vec<u8>,
    // Queries are grouped by fingerprint: texts with literals are unbounded.
    prints: Fingerprinter,
    stats: StreamStats,
    rounding: Rounder,
    // Key-only events group by the key's prefix, split at this.
    delimiter: String,
}

impl Default for Aggregator {
    fn default() -> Self {
        Self::new()
    }
}

/// Rounds weighted sums to whole counts without bias: `x` becomes
/// `floor(x) + 1` with probability `frac(x)`. Nearest rounding at every
/// 250 ms flush skews a quiet group by up to half an event each time
/// (`sample_rate = 0.4`: each event's 2.5 became 3, +20 %); this keeps
/// the totals right on average. Whole sums (no sampling) stay exact, and a
/// fixed seed keeps a replay reproducible.
#[derive(Debug, Clone)]
struct Rounder(u64);

impl Default for Rounder {
    fn default() -> Self {
        Self(0x9E37_79B9_7F4A_7C15)
    }
}

impl Rounder {
    /// splitmix64 → a uniform value in [0, 1).
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn round(&mut self, x: f64) -> u32 {
        if x.is_nan() || x <= 0.0 {
            return 0;
        }
        let whole = x.floor();
        let up = x - whole > 0.0 && self.uniform() < x - whole;
        (whole + f64::from(u8::from(up))).min(f64::from(u32::MAX)) as u32
    }
}

/// Add an access to a key's sums; false when the key had no room.
fn add_key(k: Option<&mut KeySums>, w: f64, lookup: bool, hit: bool) -> bool {
    let Some(k) = k else {
        return false;
    };
    k.count += w;
    if lookup {
        if hit {
            k.hits += w;
        } else {
            k.misses += w;
        }
    }
    true
}

impl Aggregator {
    /// An empty aggregator; key-only events group by the default delimiter.
    pub fn new() -> Self {
        Self::with_delimiter(DEFAULT_DELIMITER)
    }

    /// An empty aggregator whose key-only events group by `delim` (the
    /// `--key-delimiter` the sampler uses), so they share its rows.
    pub fn with_delimiter(delim: &str) -> Self {
        Self {
            index: FxHashMap::default(),
            groups: Vec::new(),
            keys: FxHashMap::default(),
            ident: Vec::new(),
            prints: Fingerprinter::new(100_000),
            stats: StreamStats::default(),
            rounding: Rounder::default(),
            delimiter: delim.to_string(),
        }
    }

    /// Count one entry: parsed, or skipped with the reason.
    pub fn add(&mut self, id: &str, entry: Result<EventRef<'_>, Malformed>) {
        self.stats.read += 1;
        match entry {
            Ok(e) => {
                let dropped = e.tables_dropped() as u64;
                self.stats.tables_dropped = self.stats.tables_dropped.saturating_add(dropped);
                self.add_event(&e);
            }
            Err(why) => {
                self.stats.malformed += 1;
                self.stats.last_malformed = Some(format!("{id}: {why}"));
            }
        }
    }

    fn add_event(&mut self, e: &EventRef<'_>) {
        let w = 1.0 / e.sample_rate;
        let lookup = e.hit.is_some();
        let hit = e.hit == Some(true);
        if let Some(key) = e.key {
            // A long key is kept cut, with a hash of the whole: counted as
            // itself, in bounded memory.
            let key = bounded::name(key, MAX_KEY_BYTES);
            let room = self.keys.len() < MAX_KEYS_PER_FLUSH;
            let k = match self.keys.get_mut(&*key) {
                Some(k) => Some(k),
                None if room => Some(self.keys.entry((*key).into()).or_default()),
                None => None,
            };
            if !add_key(k, w, lookup, hit) {
                self.stats.keys_dropped = self.stats.keys_dropped.saturating_add(1);
            }
        }
        let s = self.group(e);
        s.count += w;
        if lookup {
            s.lookups += w;
        }
        if hit {
            s.hits += w;
            s.saved_us += w * e.saved_us as f64;
        }
        if e.error {
            s.errors += w;
        }
        s.latency_us += w * e.latency_us as f64;
    }

    /// The group's identity: its names as [`EventRef::to_event`] cuts them
    /// (so one identity is one owned group), hashed.
    fn identity(&mut self, e: &EventRef<'_>, query: Option<u64>) -> u128 {
        fn part(id: &mut Vec<u8>, s: &str, max: usize) {
            id.extend_from_slice(bounded::name(s, max).as_bytes());
            id.push(0);
        }
        let id = &mut self.ident;
        id.clear();
        part(id, e.client, MAX_NAME_BYTES);
        for t in e.tables() {
            part(id, t, MAX_NAME_BYTES);
        }
        id.push(1);
        part(
            id,
            e.prefix_as_table(&self.delimiter).unwrap_or_default(),
            MAX_NAME_BYTES,
        );
        if let Some(q) = query {
            id.extend_from_slice(&q.to_le_bytes());
        }
        id.push(0);
        let op = bounded::prefix(e.op, 4 * MAX_OP_BYTES);
        id.extend(op.bytes().map(|b| b.to_ascii_lowercase()));
        xxhash_rust::xxh3::xxh3_128(id)
    }

    fn group(&mut self, e: &EventRef<'_>) -> &mut Sums {
        let query = e.query.map(|q| self.prints.id(q).0);
        let ident = self.identity(e, query.map(|q| self.prints.text_hash(q)));
        let i = match self.index.get(&ident) {
            Some(&i) => i,
            None if self.groups.len() >= MAX_GROUPS_PER_FLUSH => self.other_group(),
            None => {
                let owned = e.to_event(&self.delimiter);
                let text = query
                    .and_then(|q| self.prints.get(q))
                    .map(|f| f.text.clone());
                self.groups.push((
                    Group {
                        client: owned.client,
                        tables: owned.tables.join(","),
                        query: text.or(owned.query),
                        op: owned.op,
                    },
                    Sums::default(),
                ));
                let i = self.groups.len() - 1;
                self.index.insert(ident, i);
                i
            }
        };
        &mut self.groups[i].1
    }

    /// The group that takes events past [`MAX_GROUPS_PER_FLUSH`].
    fn other_group(&mut self) -> usize {
        self.stats.groups_folded = self.stats.groups_folded.saturating_add(1);
        // Not a hash of any identity: those end in an operation's bytes.
        let ident = u128::MAX;
        if let Some(&i) = self.index.get(&ident) {
            return i;
        }
        self.groups.push((
            Group {
                client: OVERFLOW.to_string(),
                tables: OVERFLOW.to_string(),
                query: None,
                op: OVERFLOW.to_string(),
            },
            Sums::default(),
        ));
        let i = self.groups.len() - 1;
        self.index.insert(ident, i);
        i
    }

    /// Note the newest entry's lag behind the wall clock.
    pub fn set_lag(&mut self, lag_ms: i64) {
        self.stats.lag_ms = Some(lag_ms.max(0));
    }

    /// Entries that can surely be added before a cap is reached (each
    /// adds at most one group and one key).
    pub fn room(&self) -> usize {
        (MAX_GROUPS_PER_FLUSH.saturating_sub(self.groups.len()))
            .min(MAX_KEYS_PER_FLUSH.saturating_sub(self.keys.len()))
    }

    /// Whether anything is waiting to be flushed.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.keys.is_empty()
    }

    /// Running totals (entries read, malformed, lag).
    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// Hand over what accumulated since the previous flush. Groups with the
    /// same owned form (`table=a` and `tables=a`) are merged; rows are
    /// sorted so the same events give the same rows.
    pub fn flush(&mut self) -> Flush {
        self.index.clear();
        let mut accesses: Vec<AccessAgg> = Vec::with_capacity(self.groups.len());
        let mut groups = std::mem::take(&mut self.groups);
        groups.sort_unstable_by(|(a, _), (b, _)| {
            (&a.client, &a.tables, &a.query, &a.op).cmp(&(&b.client, &b.tables, &b.query, &b.op))
        });
        let r = &mut self.rounding;
        let mut merged: Vec<(Group, Sums)> = Vec::with_capacity(groups.len());
        for (g, s) in groups {
            match merged.last_mut() {
                Some((l, t))
                    if (&l.client, &l.tables, &l.query, &l.op)
                        == (&g.client, &g.tables, &g.query, &g.op) =>
                {
                    t.count += s.count;
                    t.lookups += s.lookups;
                    t.hits += s.hits;
                    t.errors += s.errors;
                    t.saved_us += s.saved_us;
                    t.latency_us += s.latency_us;
                }
                _ => merged.push((g, s)),
            }
        }
        for (g, s) in merged {
            // Hits, misses and other accesses are rounded apart, so that
            // hits ≤ lookups ≤ count holds in every row.
            let hits = r.round(s.hits);
            let lookups = hits.saturating_add(r.round(s.lookups - s.hits));
            let count = lookups.saturating_add(r.round(s.count - s.lookups));
            accesses.push(AccessAgg {
                client: g.client,
                table: g.tables,
                query: g.query,
                op: g.op,
                count,
                lookups,
                hits,
                errors: r.round(s.errors).min(count),
                saved_us: s.saved_us.round() as u64,
                latency_us: s.latency_us.round() as u64,
            });
        }
        let mut keys: Vec<KeyAccess> = self
            .keys
            .drain()
            .map(|(key, k)| {
                let hits = r.round(k.hits);
                let misses = r.round(k.misses);
                KeyAccess {
                    key: key.into(),
                    count: hits
                        .saturating_add(misses)
                        .saturating_add(r.round(k.count - k.hits - k.misses)),
                    hits,
                    misses,
                }
            })
            .collect();
        keys.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        Flush { accesses, keys }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::heatmap::fingerprint::fingerprint;

    fn ev<'a>(client: &'a str, table: &'a str, key: &'a str, hit: Option<bool>) -> EventRef<'a> {
        EventRef {
            client,
            table: Some(table),
            tables: None,
            query: None,
            key: Some(key),
            op: "get",
            hit,
            latency_us: 100,
            saved_us: 1000,
            error: false,
            sample_rate: 1.0,
        }
    }

    #[test]
    fn events_fold_into_groups_and_keys_exactly() {
        let mut a = Aggregator::new();
        for i in 0..10 {
            a.add("1-0", Ok(ev("api", "users", "user:1", Some(i < 7))));
        }
        a.add("1-1", Ok(ev("api", "users", "user:2", None)));
        a.add("1-2", Ok(ev("worker", "orders", "order:1", Some(false))));
        a.add("1-3", Err(Malformed::NothingAccessed));
        let f = a.flush();
        assert_eq!(f.accesses.len(), 2);
        let api = &f.accesses[0];
        assert_eq!(
            (api.client.as_str(), api.count, api.lookups, api.hits),
            ("api", 11, 10, 7)
        );
        assert_eq!(api.saved_us, 7_000, "only hits save time");
        assert_eq!(api.latency_us, 1_100);
        let u1 = f.keys.iter().find(|k| k.key == "user:1").unwrap();
        assert_eq!((u1.count, u1.hits, u1.misses), (10, 7, 3));
        assert_eq!(a.stats().read, 13);
        assert_eq!(a.stats().malformed, 1);
        assert_eq!(
            a.stats().last_malformed.as_deref(),
            Some("1-3: no table, tables, query or key")
        );
        assert!(a.is_empty(), "a flush empties the aggregates");
        assert_eq!(a.flush(), Flush::default());
    }

    #[test]
    fn queries_group_by_fingerprint_and_stay_stable_when_fingerprinted_again() {
        let mut a = Aggregator::new();
        let texts = [
            "SELECT * FROM users WHERE id = 1",
            "select *  from users where id=2",
        ];
        for q in texts {
            let mut e = ev("api", "users", "user:1", Some(true));
            e.query = Some(q);
            a.add("1-0", Ok(e));
        }
        let f = a.flush();
        assert_eq!(f.accesses.len(), 1, "{:?}", f.accesses);
        let text = f.accesses[0].query.clone().unwrap();
        assert_eq!(f.accesses[0].count, 2);
        assert_eq!(
            fingerprint(&text).text,
            text,
            "the app's fingerprint is the same"
        );
    }

    #[test]
    fn sampled_events_count_for_the_accesses_they_stand_for() {
        let mut a = Aggregator::new();
        for _ in 0..30 {
            let mut e = ev("api", "users", "user:1", Some(true));
            e.sample_rate = 0.1;
            a.add("1-0", Ok(e));
        }
        let f = a.flush();
        assert_eq!(f.accesses[0].count, 300);
        assert_eq!(f.accesses[0].hits, 300);
        assert_eq!(f.keys[0].count, 300);
    }

    #[test]
    fn sampled_counts_stay_unbiased_when_every_flush_holds_one_event() {
        let mut a = Aggregator::new();
        let (mut count, mut hits, mut lookups, mut key_count) = (0u64, 0u64, 0u64, 0u64);
        for i in 0..2000 {
            // Two events in three are hits; rate 0.4: each stands for 2.5.
            let mut e = ev("api", "users", "user:1", Some(i % 3 != 0));
            e.sample_rate = 0.4;
            a.add("1-0", Ok(e));
            let f = a.flush();
            for r in &f.accesses {
                assert!(r.hits <= r.lookups && r.lookups <= r.count, "{r:?}");
                assert!(r.errors <= r.count);
                count += u64::from(r.count);
                hits += u64::from(r.hits);
                lookups += u64::from(r.lookups);
            }
            for k in &f.keys {
                assert!(k.hits + k.misses <= k.count, "{k:?}");
                key_count += u64::from(k.count);
            }
        }
        // Nearest rounding made it 6000 (+20 %).
        let near = |v: u64, truth: f64| (v as f64 - truth).abs() / truth < 0.03;
        assert!(near(count, 5000.0), "{count}");
        assert!(near(lookups, 5000.0), "{lookups}");
        assert!(near(hits, 5000.0 * 2.0 / 3.0), "{hits}");
        assert!(near(key_count, 5000.0), "{key_count}");
    }

    #[test]
    fn a_million_distinct_events_in_one_flush_stay_under_the_caps() {
        let mut a = Aggregator::new();
        for i in 0..1_000_000u32 {
            let name = i.to_string();
            a.add("1-0", Ok(ev(&name, &name, &name, Some(true))));
            assert!(a.groups.len() <= MAX_GROUPS_PER_FLUSH + 1);
            assert!(a.keys.len() <= MAX_KEYS_PER_FLUSH);
        }
        assert_eq!(a.room(), 0, "the reader flushes before reading more");
        let st = a.stats().clone();
        assert_eq!(st.groups_folded, 1_000_000 - MAX_GROUPS_PER_FLUSH as u64);
        assert_eq!(st.keys_dropped, 1_000_000 - MAX_KEYS_PER_FLUSH as u64);
        let f = a.flush();
        assert_eq!(f.accesses.len(), MAX_GROUPS_PER_FLUSH + 1);
        assert_eq!(f.keys.len(), MAX_KEYS_PER_FLUSH);
        let other = f
            .accesses
            .iter()
            .find(|g| g.client == OVERFLOW)
            .expect("(other)");
        assert_eq!(
            u64::from(other.count),
            st.groups_folded,
            "counted, not lost"
        );
        let total: u64 = f.accesses.iter().map(|g| u64::from(g.count)).sum();
        assert_eq!(total, 1_000_000);
        // The next flush starts empty again.
        a.add("2-0", Ok(ev("api", "users", "user:1", Some(true))));
        assert_eq!(a.flush().accesses.len(), 1);
    }

    #[test]
    fn an_event_with_twenty_thousand_tables_and_a_huge_key_costs_little() {
        let mut a = Aggregator::new();
        let tables: Vec<String> = (0..20_000).map(|i| format!("t{i}")).collect();
        let tables = tables.join(",");
        let key = format!("big:{}", "x".repeat(1 << 20));
        for _ in 0..3 {
            let mut e = ev("api", "", &key, Some(true));
            e.table = None;
            e.tables = Some(&tables);
            a.add("1-0", Ok(e));
        }
        assert_eq!(
            a.stats().tables_dropped,
            3 * (20_000 - super::super::schema::MAX_TABLES_PER_EVENT as u64)
        );
        let f = a.flush();
        assert_eq!(f.accesses.len(), 1, "one group for the three");
        assert_eq!(f.accesses[0].table.split(',').count(), 64);
        assert_eq!(f.keys.len(), 1);
        let k = &f.keys[0];
        assert!(k.key.len() <= MAX_KEY_BYTES && bounded::is_cut(&k.key));
        assert_eq!(k.count, 3, "one key, counted as itself");
        // Another huge key with the same start is another key.
        let other = format!("{}y", &key[..key.len() - 1]);
        a.add("1-1", Ok(ev("api", "t", &other, None)));
        a.add("1-2", Ok(ev("api", "t", &key, None)));
        assert_eq!(a.flush().keys.len(), 2);
    }

    #[test]
    fn key_only_events_group_by_prefix_and_keys_without_one_share_a_group() {
        // `user:1` has no `/`, `user/2` no `:`: each joins `(none)` under
        // the other delimiter.
        for (delim, want) in [(":", ["(none)", "user:*"]), ("/", ["(none)", "user/*"])] {
            let mut a = Aggregator::with_delimiter(delim);
            for i in 0..1_000 {
                let key = format!("sess_{i:04}");
                let mut e = ev("api", "", "", Some(false));
                e.table = None;
                e.key = Some(&key);
                a.add("1-0", Ok(e));
            }
            for key in ["user:1", "user/2"] {
                let mut e = ev("api", "", key, Some(true));
                e.table = None;
                a.add("1-1", Ok(e));
            }
            let f = a.flush();
            let mut tables: Vec<&str> = f.accesses.iter().map(|g| g.table.as_str()).collect();
            tables.sort_unstable();
            assert_eq!(tables, want, "one group per prefix, not per key");
            assert_eq!(f.keys.len(), 1_002, "keys are still counted one by one");
        }
    }
}

//! The fingerprint cache: raw query texts to fingerprints, bounded by a
//! count and a byte budget (least recently used go first).

use rustc_hash::FxHashMap;

use super::fingerprint::{Fingerprint, fingerprint};

/// Dense id of a cached fingerprint.
pub type QueryId = u32;

/// Caches fingerprints by the hash of the raw query text, so a query seen a
/// million times is lexed once.
///
/// Bounded: at most `max_prints` fingerprints and `max_bytes` of their
/// texts are kept; past either, the least recently used eighth is
/// forgotten and its ids are handed out again (a caller that keeps ids
/// must expect a reused id to name another fingerprint: compare
/// [`Fingerprinter::text_hash`]).
#[derive(Debug, Clone)]
pub struct Fingerprinter {
    pub(super) by_raw: FxHashMap<u64, QueryId>,
    by_text: FxHashMap<String, QueryId>,
    prints: Vec<Option<Fingerprint>>,
    /// Per id: the tick of its last use, and the hash of its text.
    used: Vec<(u64, u64)>,
    free: Vec<QueryId>,
    tick: u64,
    bytes: usize,
    max_raw: usize,
    max_prints: usize,
    max_bytes: usize,
    evicted: u64,
}

impl Default for Fingerprinter {
    fn default() -> Self {
        Self::new(100_000)
    }
}

/// Heap bytes a kept fingerprint costs (text twice: the print and the
/// index key; table names; bookkeeping).
fn cost(fp: &Fingerprint) -> usize {
    2 * fp.text.len()
        + fp.tables.iter().map(|t| t.len() + 24).sum::<usize>()
        + std::mem::size_of::<Fingerprint>()
        + 64
}

impl Fingerprinter {
    /// A cache that remembers at most `max_raw` distinct raw texts, and
    /// 10 000 fingerprints in 4 MiB of text.
    pub fn new(max_raw: usize) -> Self {
        Self {
            by_raw: FxHashMap::default(),
            by_text: FxHashMap::default(),
            prints: Vec::new(),
            used: Vec::new(),
            free: Vec::new(),
            tick: 0,
            bytes: 0,
            max_raw,
            max_prints: 10_000,
            max_bytes: 4 << 20,
            evicted: 0,
        }
    }

    /// The same cache keeping at most `max_prints` fingerprints and
    /// `max_bytes` of fingerprint data.
    pub fn with_max_prints(mut self, max_prints: usize, max_bytes: usize) -> Self {
        self.max_prints = max_prints.max(1);
        self.max_bytes = max_bytes.max(1);
        self
    }

    /// The id of `sql`'s fingerprint; `true` when the fingerprint is new
    /// (or its id was reused for it).
    pub fn id(&mut self, sql: &str) -> (QueryId, bool) {
        self.tick += 1;
        let h = super::super::intern::key_hash(sql);
        if let Some(&id) = self.by_raw.get(&h) {
            self.touch(id);
            return (id, false);
        }
        let fp = fingerprint(sql);
        let (id, new) = match self.by_text.get(&fp.text) {
            Some(&id) => {
                self.touch(id);
                (id, false)
            }
            None => (self.insert(fp), true),
        };
        if self.by_raw.len() >= self.max_raw.max(1) {
            // Raw texts that differ only in literals are unbounded; forget them
            // wholesale rather than grow without limit (re-lexing is cheap).
            self.by_raw.clear();
        }
        self.by_raw.insert(h, id);
        (id, new)
    }

    fn touch(&mut self, id: QueryId) {
        if let Some(u) = self.used.get_mut(id as usize) {
            u.0 = self.tick;
        }
    }

    fn insert(&mut self, fp: Fingerprint) -> QueryId {
        let c = cost(&fp);
        while !self.by_text.is_empty()
            && (self.by_text.len() >= self.max_prints || self.bytes + c > self.max_bytes)
        {
            self.evict();
        }
        self.bytes += c;
        let used = (self.tick, super::super::intern::key_hash(&fp.text));
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.prints.push(None);
                self.used.push(used);
                QueryId::try_from(self.prints.len() - 1).unwrap_or(QueryId::MAX)
            }
        };
        self.by_text.insert(fp.text.clone(), id);
        if let Some(p) = self.prints.get_mut(id as usize) {
            *p = Some(fp);
        }
        if let Some(u) = self.used.get_mut(id as usize) {
            *u = used;
        }
        id
    }

    /// Forget the least recently used eighth of the fingerprints.
    fn evict(&mut self) {
        let mut ranked: Vec<(u64, QueryId)> = self
            .by_text
            .values()
            .map(|&id| (self.used.get(id as usize).map_or(0, |u| u.0), id))
            .collect();
        let n = (ranked.len() / 8).max(1).min(ranked.len());
        if n < ranked.len() {
            ranked.select_nth_unstable(n - 1);
        }
        for &(_, id) in &ranked[..n] {
            if let Some(fp) = self.prints.get_mut(id as usize).and_then(Option::take) {
                self.bytes = self.bytes.saturating_sub(cost(&fp));
                self.by_text.remove(&fp.text);
                self.free.push(id);
            }
        }
        // Raw texts may map to the ids just freed.
        self.by_raw.clear();
        self.evicted = self.evicted.saturating_add(n as u64);
    }

    /// The fingerprint behind `id`.
    pub fn get(&self, id: QueryId) -> Option<&Fingerprint> {
        self.prints.get(id as usize).and_then(Option::as_ref)
    }

    /// A hash of the text of `id`'s fingerprint: tells a reused id apart.
    pub fn text_hash(&self, id: QueryId) -> u64 {
        self.used.get(id as usize).map_or(0, |u| u.1)
    }

    /// How many distinct fingerprints are known.
    pub fn len(&self) -> usize {
        self.by_text.len()
    }

    /// True when no query was fingerprinted yet.
    pub fn is_empty(&self) -> bool {
        self.by_text.is_empty()
    }

    /// Fingerprints forgotten to stay under the caps.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Approximate heap bytes held.
    pub fn approx_bytes(&self) -> usize {
        self.bytes
            + self.by_raw.capacity() * 16
            + self.prints.capacity() * std::mem::size_of::<Option<Fingerprint>>()
            + self.used.capacity() * 16
    }
}

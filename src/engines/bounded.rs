//! Helpers that keep what outside data names bounded: names cut to a length
//! (distinct names stay distinct), and maps trimmed by a rank when they
//! pass their cap.

use std::borrow::Cow;
use std::hash::Hash;

use rustc_hash::FxHashMap;

use super::intern::key_hash;

/// The longest prefix of `s` of at most `max` bytes that ends on a
/// character boundary.
pub fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Bytes of the `…#` and 8 hex digits a cut name ends with.
const CUT_TAIL: usize = "…#".len() + 8;

/// `s` when it is at most `max` bytes, else its start, `…#` and 8 hex
/// digits of the hash of the whole: at most `max` bytes (for `max` ≥ 16),
/// and two long names that share their start stay apart.
pub fn name(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let head = prefix(s, max.saturating_sub(CUT_TAIL));
    let h = key_hash(s) as u32;
    Cow::Owned(format!("{head}…#{h:08x}"))
}

/// Whether `s` looks like a name [`name`] cut: it ends with `…#` and 8
/// hex digits. Such a name is not the real one and must not be used to
/// address anything (a key must not be written by it).
pub fn is_cut(s: &str) -> bool {
    s.len() >= CUT_TAIL
        && s.is_char_boundary(s.len() - 8)
        && s[..s.len() - 8].ends_with("…#")
        && s[s.len() - 8..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// When `map` holds more than `cap` entries, remove the lowest-ranked ones
/// until it holds `cap - cap / 8` (so the sort is paid once per `cap / 8`
/// insertions, not on every one). `rank` is `None` for an entry that must
/// stay (e.g. one with pending data). Returns how many were removed.
pub fn trim<K, V, R>(
    map: &mut FxHashMap<K, V>,
    cap: usize,
    rank: impl Fn(&K, &V) -> Option<R>,
) -> usize
where
    K: Clone + Eq + Hash,
    R: Ord,
{
    if map.len() <= cap {
        return 0;
    }
    let target = cap - cap / 8;
    let mut ranked: Vec<(R, K)> = map
        .iter()
        .filter_map(|(k, v)| rank(k, v).map(|r| (r, k.clone())))
        .collect();
    let n = (map.len() - target).min(ranked.len());
    if n == 0 {
        return 0;
    }
    if n < ranked.len() {
        ranked.select_nth_unstable_by(n - 1, |a, b| a.0.cmp(&b.0));
    }
    for (_, k) in ranked.into_iter().take(n) {
        map.remove(&k);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_end_on_a_character_boundary() {
        assert_eq!(prefix("abc", 5), "abc");
        assert_eq!(prefix("héllo", 2), "h");
        assert_eq!(prefix("héllo", 3), "hé");
        assert_eq!(prefix("", 0), "");
    }

    #[test]
    fn long_names_are_cut_and_stay_apart() {
        assert!(matches!(name("users", 64), Cow::Borrowed("users")));
        let a = "x".repeat(1 << 20) + "a";
        let b = "x".repeat(1 << 20) + "b";
        let (ca, cb) = (name(&a, 64), name(&b, 64));
        assert!(ca.len() <= 64 && cb.len() <= 64, "{ca} {cb}");
        assert_ne!(ca, cb);
        assert!(ca.starts_with("xxxx") && ca.contains("…#"));
        assert_eq!(name(&a, 64), ca, "the same name is cut the same way");
        assert!(is_cut(&ca) && !is_cut("users") && !is_cut(&a));
        let wide = "é".repeat(100);
        assert!(name(&wide, 64).len() <= 64);
    }

    #[test]
    fn a_million_distinct_keys_stay_under_the_cap() {
        let mut m: FxHashMap<u64, u64> = FxHashMap::default();
        let mut removed = 0;
        for i in 0..1_000_000u64 {
            m.insert(i, i);
            removed += trim(&mut m, 1000, |_, v| Some(*v));
            assert!(m.len() <= 1000);
        }
        assert_eq!(removed + m.len(), 1_000_000);
        assert!(m.keys().all(|&k| k >= 1_000_000 - 1000), "the newest stay");
        // Entries that must stay are never removed, even past the cap.
        let mut pinned: FxHashMap<u64, bool> = (0..10).map(|i| (i, true)).collect();
        assert_eq!(trim(&mut pinned, 4, |_, &p| (!p).then_some(0)), 0);
        assert_eq!(pinned.len(), 10);
    }
}

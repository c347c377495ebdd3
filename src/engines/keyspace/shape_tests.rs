//! The prefix tree: rows that follow the keyspace's shape, bounded.

use proptest::prelude::*;

use super::shape::{PrefixTree, TreeRules, is_id, segments};
use super::{NO_PREFIX, OTHER_PREFIXES};

fn learned(keys: impl IntoIterator<Item = String>, delim: &str) -> PrefixTree {
    let mut t = PrefixTree::new(delim, TreeRules::default());
    for k in keys {
        t.learn(&k);
    }
    t.plan();
    t
}

fn names(t: &PrefixTree) -> Vec<String> {
    let mut v: Vec<String> = t.rows().into_iter().map(|(r, _)| r).collect();
    v.sort();
    v
}

#[test]
fn ids_are_numbers_uuids_hex_and_long_tokens() {
    for id in [
        "42",
        "0",
        "9f1c2e4a",
        "550e8400-e29b-41d4-a716-446655440000",
        "deadbeef00",
        "a1b2c3d4e5f6g7h8i9",
        "sess_9f2a8c7d6e5b4a3c",
    ] {
        assert!(is_id(id), "{id}");
    }
    for word in [
        "user",
        "session",
        "",
        "deadbeef",
        "v2",
        "items",
        "profile_settings",
    ] {
        assert!(!is_id(word), "{word}");
    }
    assert_eq!(segments("order:123:items", ":"), ["order", "*", "items"]);
    assert!(segments("plain", ":").is_empty());
    assert!(segments("a:b", "").is_empty());
}

#[test]
fn sibling_prefixes_under_one_first_segment_get_rows_of_their_own() {
    let keys = (0..3000).map(|i| match i % 3 {
        0 => format!("ux:user:{i}"),
        1 => format!("ux:session:{i}"),
        _ => format!("ux:product:{i}"),
    });
    let t = learned(keys, ":");
    assert_eq!(names(&t), ["ux:product:*", "ux:session:*", "ux:user:*"]);
    assert_eq!(t.row("ux:user:99999"), "ux:user:*");
    assert_eq!(
        t.row("ux:session:abc"),
        "ux:session:*",
        "a word the tree never saw"
    );
    // A sibling the tree never saw: the split row's remnant.
    assert_eq!(t.row("ux:cart:1"), "ux:*");
    assert_eq!(t.row("nothing:here"), OTHER_PREFIXES);
    assert_eq!(t.row("plain"), NO_PREFIX);
}

#[test]
fn ids_in_the_middle_collapse() {
    let keys = (0..2000).map(|i| {
        if i % 2 == 0 {
            format!("order:{i}:items")
        } else {
            format!("order:{i}:meta")
        }
    });
    let t = learned(keys, ":");
    assert_eq!(names(&t), ["order:*:items", "order:*:meta"]);
    assert_eq!(t.row("order:123:items"), "order:*:items");
    let t = learned((0..500).map(|i| format!("order:{i}:items")), ":");
    assert_eq!(names(&t), ["order:*:items"]);
}

#[test]
fn many_children_or_few_keys_keep_the_first_segment() {
    // User names are not ids but many: `user` stays one row.
    let t = learned((0..5000).map(|i| format!("user:name{i}x:profile")), ":");
    assert_eq!(names(&t), ["user:*"]);
    // A small prefix beside a big one does not split.
    let keys = (0..10_000)
        .map(|i| format!("big:{i}"))
        .chain((0..100).map(|i| format!("small:{}:{i}", ["a", "b"][i % 2])));
    let t = learned(keys, ":");
    assert_eq!(names(&t), ["big:*", "small:*"]);
    // One key seen many times is never a row of its own name.
    let t = learned((0..100).map(|_| "config:main".to_string()), ":");
    assert_eq!(names(&t), ["config:*"]);
}

#[test]
fn other_delimiters_work_the_same() {
    let keys = (0..1000).map(|i| match i % 2 {
        0 => format!("app/user/{i}"),
        _ => format!("app/cart/{i}"),
    });
    let t = learned(keys, "/");
    assert_eq!(names(&t), ["app/cart/*", "app/user/*"]);
    let keys = (0..1000).map(|i| match i % 2 {
        0 => format!("app::user::{i}"),
        _ => format!("app::cart::{i}"),
    });
    let t = learned(keys, "::");
    assert_eq!(names(&t), ["app::cart::*", "app::user::*"]);
    assert_eq!(t.row("app:user:1"), NO_PREFIX, "not this delimiter");
}

#[test]
fn a_million_distinct_keys_stay_bounded() {
    let rules = TreeRules::default();
    let mut t = PrefixTree::new(":", rules.clone());
    for i in 0..1_000_000u64 {
        // Many first segments, many non-id second segments, deep tails,
        // long segments.
        let k = format!(
            "p{}:w{}x:{}:q{}:{}:z:z:z",
            i % 3000,
            i % 7919,
            i,
            i % 13,
            "s".repeat((i % 200) as usize)
        );
        t.learn(&k);
        if i % 100_000 == 0 {
            t.plan();
        }
    }
    t.plan();
    assert!(t.nodes() <= rules.max_nodes, "{} nodes", t.nodes());
    let rows = t.rows();
    assert!(
        rows.len() <= rules.root_children.max(rules.max_rows) + 2,
        "{} rows",
        rows.len()
    );
    assert!(rows.iter().all(|(r, _)| r.len() <= 128));
}

#[test]
fn the_same_keys_give_the_same_rows() {
    let keys: Vec<String> = (0..5000)
        .map(|i| format!("a{}:b{}:{i}", i % 7, i % 3))
        .collect();
    let t1 = learned(keys.clone(), ":");
    let t2 = learned(keys, ":");
    assert_eq!(t1.rows(), t2.rows());
}

/// Does `row` hold a key with normalized segments `segs`?
fn holds(row: &str, segs: &[String]) -> bool {
    let r: Vec<&str> = row.split(':').collect();
    let exact = r.len() == segs.len() && r.iter().zip(segs).all(|(a, b)| a == b);
    let under = r.last() == Some(&"*")
        && segs.len() >= r.len() - 1
        && r[..r.len() - 1].iter().zip(segs).all(|(a, b)| a == b);
    exact || under
}

proptest! {
    /// Every key's row holds it (its segments, ids as `*`), the rows are
    /// bounded, and together they count every key learned.
    #[test]
    fn rows_hold_their_keys_and_stay_bounded(
        keys in proptest::collection::vec(
            proptest::collection::vec(prop_oneof!["[ab]", "[0-9]{1,3}", Just("c".to_string())], 1..7),
            1..400,
        ),
        max_rows in 2usize..10,
        root in 1usize..6,
    ) {
        let rules = TreeRules { max_rows, root_children: root, min_keys: 3, split_share: 0.05, ..TreeRules::default() };
        let mut t = PrefixTree::new(":", rules);
        let names: Vec<String> = keys.iter().map(|k| k.join(":")).collect();
        for k in &names {
            t.learn(k);
        }
        t.plan();
        let mut with_path = 0u64;
        for k in &names {
            let row = t.row(k);
            let segs: Vec<String> = segments(k, ":").iter().map(|s| s.to_string()).collect();
            if segs.is_empty() {
                prop_assert_eq!(row, NO_PREFIX);
                continue;
            }
            with_path += 1;
            if row != OTHER_PREFIXES {
                prop_assert!(holds(&row, &segs), "{} in {}", k, row);
            }
        }
        let rows = t.rows();
        prop_assert!(rows.len() <= root.max(max_rows) + 1, "{:?}", rows);
        prop_assert_eq!(rows.iter().map(|(_, n)| n).sum::<u64>(), with_path);
    }
}

//! Batch planning: group keys by the node that owns them, then cut each
//! group into batches, so the IO side can send one pipelined batch per
//! round trip instead of one key at a time (the seed's loop).

use serde::{Deserialize, Serialize};

/// Keys bound for one node, sent in one pipelined round trip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch<K> {
    /// Target node id (interned by the caller).
    pub node: u32,
    /// Keys, in their input order.
    pub keys: Vec<K>,
}

/// Group `(node, key)` pairs by node (ascending node id), keep each node's
/// keys in input order, and cut them into batches of at most `batch_size`
/// (0 is treated as 1 — the seed's `chunks(0)` would panic).
pub fn plan_batches<K>(
    items: impl IntoIterator<Item = (u32, K)>,
    batch_size: usize,
) -> Vec<Batch<K>> {
    let size = batch_size.max(1);
    let mut items: Vec<(u32, K)> = items.into_iter().collect();
    // Stable: equal nodes keep their input order.
    items.sort_by_key(|(node, _)| *node);
    let mut out: Vec<Batch<K>> = Vec::new();
    for (node, key) in items {
        match out.last_mut() {
            Some(b) if b.node == node && b.keys.len() < size => b.keys.push(key),
            _ => {
                let mut keys = Vec::with_capacity(size.min(1024));
                keys.push(key);
                out.push(Batch { node, keys });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn groups_by_node_then_chunks_in_input_order() {
        let items = [(2, "a"), (1, "b"), (2, "c"), (1, "d"), (2, "e"), (1, "f")];
        let got = plan_batches(items, 2);
        let want = vec![
            Batch {
                node: 1,
                keys: vec!["b", "d"],
            },
            Batch {
                node: 1,
                keys: vec!["f"],
            },
            Batch {
                node: 2,
                keys: vec!["a", "c"],
            },
            Batch {
                node: 2,
                keys: vec!["e"],
            },
        ];
        assert_eq!(got, want);
        assert!(plan_batches(Vec::<(u32, u8)>::new(), 10).is_empty());
    }

    #[test]
    fn fixes_seed_chunks_zero_batch_size_panics() {
        let got = plan_batches([(0, 1), (0, 2)], 0);
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|b| b.keys.len() == 1));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn prop_batches_preserve_every_key_in_order(
            items in proptest::collection::vec((0u32..5, any::<u16>()), 0..300),
            size in 0usize..20,
        ) {
            let batches = plan_batches(items.iter().copied(), size);
            for w in batches.windows(2) {
                prop_assert!(w[0].node <= w[1].node);
            }
            for b in &batches {
                prop_assert!(!b.keys.is_empty() && b.keys.len() <= size.max(1));
            }
            for node in 0u32..5 {
                let want: Vec<u16> = items.iter().filter(|(n, _)| *n == node).map(|(_, k)| *k).collect();
                let got: Vec<u16> = batches.iter().filter(|b| b.node == node).flat_map(|b| b.keys.clone()).collect();
                prop_assert_eq!(want, got);
            }
        }
    }
}

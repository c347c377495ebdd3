//! The rendezvous (highest-random-weight) score of a key on a backend.
//!
//! Each backend's score for a key depends only on the key and that backend's
//! name, so removing a backend changes no other backend's score: only the keys
//! whose winner it was move, about 1/n of them (the seed's `hash % n` moved
//! most keys whenever n changed).

const P0: u64 = 0xa076_1d64_78bd_642f;
const P1: u64 = 0xe703_7ed1_a0b4_28db;

/// Folded 64×64→128-bit multiply (wyhash's `mum`).
fn mum(a: u64, b: u64) -> u64 {
    let r = u128::from(a).wrapping_mul(u128::from(b));
    (r as u64) ^ ((r >> 64) as u64)
}

/// The splitmix64 / MurmurHash3 64-bit finaliser: a bijection with full avalanche.
pub(crate) fn fmix64(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Score of `key_hash` on the backend whose name hashes to `backend_hash`;
/// the highest score wins. The XOR term keeps scores distinct per backend even
/// for the one key that zeroes the multiply.
pub fn rendezvous_score(key_hash: u64, backend_hash: u64) -> u64 {
    fmix64(mum(key_hash ^ P0, backend_hash ^ P1) ^ key_hash.rotate_left(29) ^ backend_hash)
}

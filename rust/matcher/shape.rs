//! Subtrees that are copies of one another: same types, ids, sizes and statuses, numbered alike
//! relative to their top and with children in the same order. While no job lists anything in
//! two such subtrees, a `low` or `high` walk over one gives the other's answer, its vertices
//! shifted by the distance between the two tops (and its top's own score by their ids).

use xxhash_rust::xxh3::Xxh3;

use crate::graph::ResourceGraph;

#[derive(Debug)]
pub(super) struct Shapes {
    /// Per vertex: a hash of its subtree, all but its own `id`.
    top: Vec<u64>,
}

impl Shapes {
    pub(super) fn new(g: &ResourceGraph) -> Shapes {
        let n = g.len();
        let (mut top, mut full) = (vec![0u64; n], vec![0u64; n]);
        for v in g.preorder().into_iter().rev() {
            let mut h = Xxh3::new();
            h.update(&g.kind(v).to_le_bytes());
            h.update(&g.size(v).to_le_bytes());
            h.update(&[u8::from(g.is_up(v))]);
            for &c in g.children(v) {
                h.update(&(i64::from(c) - i64::from(v)).to_le_bytes());
                h.update(&full[c as usize].to_le_bytes());
            }
            let t = h.digest();
            let mut with_id = Xxh3::new();
            with_id.update(&t.to_le_bytes());
            with_id.update(&g.id(v).to_le_bytes());
            top[v as usize] = t;
            full[v as usize] = with_id.digest();
        }
        Shapes { top }
    }

    /// The shape of the subtree of `v`, its own `id` left out.
    pub(super) fn of(&self, v: u32) -> u64 {
        self.top[v as usize]
    }
}

//! Subtrees that are copies of one another: same types, ids, sizes and statuses, numbered alike
//! relative to their top and with children in the same order. While no job lists anything in
//! two such subtrees, a `low` or `high` walk over one gives the other's answer, its vertices
//! shifted by the distance between the two tops (and its top's own score by their ids). A
//! subtree whose shape no other has (a rack of nodes numbered across the cluster) is known as
//! such: the walk neither looks it up nor keeps its answer.

use xxhash_rust::xxh3::Xxh3;

use super::hasher::FastMap;
use crate::graph::ResourceGraph;

/// In `Shapes::top`: no other subtree has this vertex's shape.
const ALONE: u64 = 0;

#[derive(Debug)]
pub(super) struct Shapes {
    /// Per vertex: a hash of its subtree, all but its own `id` (never `ALONE`), or `ALONE`.
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
            let t = h.digest().max(ALONE + 1);
            let mut with_id = Xxh3::new();
            with_id.update(&t.to_le_bytes());
            with_id.update(&g.id(v).to_le_bytes());
            top[v as usize] = t;
            full[v as usize] = with_id.digest();
        }
        let mut seen: FastMap<u64, u32> = FastMap::default();
        for &t in &top {
            *seen.entry(t).or_default() += 1;
        }
        for t in top.iter_mut() {
            if seen[t] == 1 {
                *t = ALONE;
            }
        }
        Shapes { top }
    }

    /// The shape of the subtree of `v`, its own `id` left out; `None` when no other subtree
    /// has it (nothing can be answered from a copy of it, nor is worth keeping for one).
    pub(super) fn of(&self, v: u32) -> Option<u64> {
        let t = self.top[v as usize];
        (t != ALONE).then_some(t)
    }
}

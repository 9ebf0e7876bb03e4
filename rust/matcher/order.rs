//! The children of every vertex grouped by type and sorted by `id`: the order in which `low`
//! (ascending) and `high` (descending) score them. With it the walk visits candidates best
//! first and stops once it holds what it needs, instead of scoring every child.

use crate::graph::{ResourceGraph, TypeId};

/// Children of each vertex of one type with distinct `id`s.
const DISTINCT: u8 = 1;
/// Every child of the vertex has `size` 1.
const UNIT: u8 = 2;

#[derive(Debug, Clone)]
pub(super) struct ById {
    /// The children of `v` are `list[start[v]..start[v + 1]]`, sorted by (type, id, edge order).
    start: Vec<u32>,
    list: Vec<u32>,
    /// `DISTINCT` and `UNIT` per vertex.
    flags: Vec<u8>,
    /// How many vertices each type has.
    per_type: Vec<u64>,
}

impl ById {
    pub(super) fn new(g: &ResourceGraph) -> ById {
        let n = g.len();
        let mut start = Vec::with_capacity(n + 1);
        let mut list = Vec::with_capacity(n);
        let mut flags = vec![0u8; n];
        let mut per_type = vec![0u64; g.types.len()];
        start.push(0);
        for v in 0..n as u32 {
            per_type[g.kind[v as usize] as usize] += 1;
            let from = list.len();
            list.extend_from_slice(g.children(v));
            let kids = &mut list[from..];
            kids.sort_by_key(|&c| (g.kind[c as usize], g.node(c).id));
            let distinct = kids.windows(2).all(|w| {
                (g.kind[w[0] as usize], g.node(w[0]).id) != (g.kind[w[1] as usize], g.node(w[1]).id)
            });
            let unit = kids.iter().all(|&c| g.node(c).size == 1);
            flags[v as usize] = u8::from(distinct) * DISTINCT + u8::from(unit) * UNIT;
            start.push(list.len() as u32);
        }
        ById {
            start,
            list,
            flags,
            per_type,
        }
    }

    /// The children of `v` of type `t`, lowest `id` first.
    pub(super) fn of_type(&self, g: &ResourceGraph, v: u32, t: TypeId) -> &[u32] {
        let all = &self.list[self.start[v as usize] as usize..self.start[v as usize + 1] as usize];
        let from = all.partition_point(|&c| g.kind[c as usize] < t);
        let to = all.partition_point(|&c| g.kind[c as usize] <= t);
        &all[from..to]
    }

    /// Whether no two children of `v` of one type share an `id` (so their scores differ).
    pub(super) fn distinct(&self, v: u32) -> bool {
        self.flags[v as usize] & DISTINCT != 0
    }

    /// Whether every child of `v` has `size` 1 (so a candidate among them counts 1).
    pub(super) fn unit(&self, v: u32) -> bool {
        self.flags[v as usize] & UNIT != 0
    }

    /// Whether every vertex of type `t` is a child of `v`.
    pub(super) fn holds_all(&self, g: &ResourceGraph, v: u32, t: TypeId) -> bool {
        self.of_type(g, v, t).len() as u64 == self.per_type[t as usize]
    }
}

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
    /// Every vertex of each type in the containment tree, sorted by (id, index).
    of_kind: Vec<Vec<u32>>,
    /// Per type: whether its vertices in the tree have distinct ids, none lies below another of
    /// its type, and none lies outside the tree (each is then a candidate scored on its own).
    spread: Vec<bool>,
}

impl ById {
    pub(super) fn new(g: &ResourceGraph) -> ById {
        let n = g.len();
        let mut start = Vec::with_capacity(n + 1);
        let mut list = Vec::with_capacity(n);
        let mut flags = vec![0u8; n];
        start.push(0);
        for v in 0..n as u32 {
            let from = list.len();
            list.extend_from_slice(g.children(v));
            let kids = &mut list[from..];
            kids.sort_by_key(|&c| (g.kind(c), g.id(c)));
            let distinct = kids
                .windows(2)
                .all(|w| (g.kind(w[0]), g.id(w[0])) != (g.kind(w[1]), g.id(w[1])));
            let unit = kids.iter().all(|&c| g.size(c) == 1);
            flags[v as usize] = u8::from(distinct) * DISTINCT + u8::from(unit) * UNIT;
            start.push(list.len() as u32);
        }
        let nt = g.types().len();
        let mut of_kind: Vec<Vec<u32>> = vec![Vec::new(); nt];
        let mut spread = vec![true; nt];
        // Down the tree, the types above each vertex (as a bit set when there are few types).
        let mut above: Vec<u64> = vec![0; n];
        for v in g.preorder() {
            let t = g.kind(v) as usize;
            of_kind[t].push(v);
            let mine = above[v as usize];
            if nt <= 64 && mine & (1 << t) != 0 {
                spread[t] = false;
            }
            for &c in g.children(v) {
                above[c as usize] = mine | if nt <= 64 { 1 << t } else { 0 };
            }
        }
        let mut in_tree = vec![0u64; nt];
        for (t, vs) in of_kind.iter_mut().enumerate() {
            in_tree[t] = vs.len() as u64;
            // Keyed once and sorted unstably: the keys are distinct (each vertex once).
            let mut keyed: Vec<(i64, u32)> = vs.iter().map(|&v| (g.id(v), v)).collect();
            keyed.sort_unstable();
            vs.clear();
            vs.extend(keyed.iter().map(|&(_, v)| v));
            if nt > 64 || vs.windows(2).any(|w| g.id(w[0]) == g.id(w[1])) {
                spread[t] = false;
            }
        }
        for k in (0..n as u32).map(|v| g.kind(v)) {
            in_tree[k as usize] = in_tree[k as usize].wrapping_sub(1);
        }
        for (t, left) in in_tree.iter().enumerate() {
            if *left != 0 {
                spread[t] = false;
            }
        }
        ById {
            start,
            list,
            flags,
            of_kind,
            spread,
        }
    }

    /// The children of `v` of type `t`, lowest `id` first.
    pub(super) fn of_type(&self, g: &ResourceGraph, v: u32, t: TypeId) -> &[u32] {
        let all = &self.list[self.start[v as usize] as usize..self.start[v as usize + 1] as usize];
        let from = all.partition_point(|&c| g.kind(c) < t);
        let to = all.partition_point(|&c| g.kind(c) <= t);
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

    /// The vertices of type `t`, lowest `id` first, when each is a candidate on its own (see
    /// `spread`).
    pub(super) fn spread(&self, t: TypeId) -> Option<&[u32]> {
        self.spread[t as usize].then(|| self.of_kind[t as usize].as_slice())
    }
}

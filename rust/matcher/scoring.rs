//! The walk's scoring tables: the candidates found under a vertex per type, grouped with
//! their scores, the best `k` chosen by policy, and `first`'s share tallies.

use super::cxxsort::sort_like_cxx;
use super::Policy;
use crate::graph::TypeId;

#[derive(Debug, Clone, Copy)]
pub(super) struct EvalEdge {
    pub(super) count: u64,
    pub(super) needs: u64,
    pub(super) exclusive: bool,
    pub(super) target: u32,
}

#[derive(Debug, Clone)]
pub(super) struct EGroup {
    pub(super) score: i64,
    pub(super) count: u64,
    pub(super) root: bool,
    pub(super) edges: Vec<EvalEdge>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Evals {
    pub(super) groups: Vec<EGroup>,
    pub(super) qualified: u64,
    pub(super) total: u64,
    pub(super) best_k: u64,
    pub(super) best_i: usize,
    pub(super) cursor: usize,
}

/// Candidates found under one vertex, per type, and the vertex's own score.
#[derive(Debug, Default)]
pub(super) struct Scoring {
    pub(super) evals: Vec<(TypeId, Evals)>,
    pub(super) constrained: bool,
    pub(super) overall: i64,
    pub(super) avail: u64,
}

impl Scoring {
    pub(super) fn evals_mut(&mut self, t: TypeId) -> &mut Evals {
        match self.evals.iter().position(|(k, _)| *k == t) {
            Some(i) => &mut self.evals[i].1,
            None => {
                self.evals.push((t, Evals::default()));
                let last = self.evals.len() - 1;
                &mut self.evals[last].1
            }
        }
    }
    pub(super) fn evals(&self, t: TypeId) -> Option<&Evals> {
        self.evals.iter().find(|(k, _)| *k == t).map(|(_, e)| e)
    }
    pub(super) fn qualified(&self, t: TypeId) -> u64 {
        self.evals(t).map_or(0, |e| e.qualified)
    }
    pub(super) fn total(&self, t: TypeId) -> u64 {
        self.evals(t).map_or(0, |e| e.total)
    }
    pub(super) fn add(&mut self, t: TypeId, group: EGroup) {
        let e = self.evals_mut(t);
        e.total += group.count;
        if group.score > 0 {
            e.qualified += group.count;
        }
        e.groups.push(group);
    }
    pub(super) fn merge(&mut self, other: Scoring) {
        for (t, ev) in other.evals {
            let mine = self.evals_mut(t);
            mine.qualified += ev.qualified;
            mine.total += ev.total;
            mine.groups.extend(ev.groups);
        }
    }
    /// Candidates found under a copy of a subtree, moved onto the subtree `by` vertices away.
    pub(super) fn shifted(evals: &[(TypeId, Evals)], by: i64) -> Scoring {
        let mut out = Scoring::default();
        for (t, ev) in evals {
            let mut moved = ev.clone();
            for e in moved.groups.iter_mut().flat_map(|g| g.edges.iter_mut()) {
                e.target = (i64::from(e.target) + by) as u32;
            }
            out.evals.push((*t, moved));
        }
        out
    }

    /// Sort the candidates of `t` by policy and mark the best `k`; false when fewer qualify.
    pub(super) fn choose_best_k(&mut self, t: TypeId, k: u64, policy: Policy) -> bool {
        let e = self.evals_mut(t);
        if k == 0 || k > e.qualified {
            return false;
        }
        // Fluxion's `std::sort` by score, ties left where that sort leaves them.
        let mut keys: Vec<(i64, usize)> = e.groups.iter().map(|g| g.score).zip(0..).collect();
        match policy {
            Policy::Low => sort_like_cxx(&mut keys, |a, b| a.0 < b.0),
            Policy::High | Policy::First => sort_like_cxx(&mut keys, |a, b| a.0 > b.0),
        }
        let mut old: Vec<Option<EGroup>> = std::mem::take(&mut e.groups)
            .into_iter()
            .map(Some)
            .collect();
        e.groups = keys.iter().filter_map(|&(_, i)| old[i].take()).collect();
        let mut left = k as i64;
        let mut i = 0;
        while left > 0 && i < e.groups.len() {
            left -= e.groups[i].count as i64;
            i += 1;
        }
        e.best_k = k;
        e.best_i = i;
        self.constrained = true;
        true
    }
}

/// Granule-aware progress toward a number of shares of one requested type (`first` policy).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Tally {
    pub(super) per_share: u64,
    pub(super) prev_total: u64,
    pub(super) accum: u64,
    pub(super) shares: u64,
}

impl Tally {
    pub(super) fn satisfies(&self, multiplier: u64) -> bool {
        self.per_share == 0 || self.shares >= multiplier
    }
    pub(super) fn add(&mut self, count: u64) {
        self.accum += count;
        if self.per_share > 0 && self.accum >= self.per_share {
            self.shares += 1;
            self.accum = 0;
        }
    }
}

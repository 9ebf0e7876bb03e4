//! The walk's scoring tables: the candidates found under a vertex per type, grouped with
//! their scores, the best `k` chosen by policy, and `first`'s share tallies.

use super::cxxsort::first_like_cxx;
use super::Policy;
use crate::graph::TypeId;

#[derive(Debug, Clone, Copy)]
pub(super) struct EvalEdge {
    pub(super) count: u64,
    pub(super) needs: u64,
    pub(super) exclusive: bool,
    pub(super) target: u32,
}

/// One candidate: a vertex, or for a slot a bundle of vertices, with its score. Its edges sit
/// in its table's `edges` (one array per table, not one allocation per candidate).
#[derive(Debug, Clone, Copy)]
pub(super) struct EGroup {
    pub(super) score: i64,
    pub(super) count: u64,
    pub(super) root: bool,
    first: u32,
    end: u32,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Evals {
    pub(super) groups: Vec<EGroup>,
    /// The edges of every group, each group's together.
    edges: Vec<EvalEdge>,
    pub(super) qualified: u64,
    pub(super) total: u64,
    pub(super) best_k: u64,
    pub(super) best_i: usize,
    pub(super) cursor: usize,
}

impl Evals {
    /// The edges of `group`, one of this table's.
    pub(super) fn edges(&self, group: &EGroup) -> &[EvalEdge] {
        &self.edges[group.first as usize..group.end as usize]
    }

    /// The groups chosen by the last `choose_best_k`, best first.
    pub(super) fn chosen(&self) -> &[EGroup] {
        &self.groups[..self.best_i]
    }

    fn push(&mut self, score: i64, count: u64, root: bool, edges: &[EvalEdge]) {
        self.total += count;
        if score > 0 {
            self.qualified += count;
        }
        let first = self.edges.len() as u32;
        self.edges.extend_from_slice(edges);
        self.groups.push(EGroup {
            score,
            count,
            root,
            first,
            end: self.edges.len() as u32,
        });
    }

    /// Add the groups of `other` after this table's, their targets moved `by` vertices.
    fn append(&mut self, other: &Evals, by: i64) {
        self.qualified += other.qualified;
        self.total += other.total;
        let offset = self.edges.len() as u32;
        self.groups.extend(other.groups.iter().map(|g| EGroup {
            first: g.first + offset,
            end: g.end + offset,
            ..*g
        }));
        if by == 0 {
            self.edges.extend_from_slice(&other.edges);
        } else {
            self.edges.extend(other.edges.iter().map(|e| EvalEdge {
                target: (i64::from(e.target) + by) as u32,
                ..*e
            }));
        }
    }
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
    /// Room for `n` more single-vertex candidates of type `t`, once it has one (a type
    /// without candidates has no table: that absence is read).
    pub(super) fn reserve(&mut self, t: TypeId, n: usize) {
        if let Some((_, e)) = self.evals.iter_mut().find(|(k, _)| *k == t) {
            e.groups.reserve(n);
            e.edges.reserve(n);
        }
    }
    /// Add a candidate of type `t` holding `edges`.
    pub(super) fn add(&mut self, t: TypeId, score: i64, count: u64, edges: &[EvalEdge]) {
        self.evals_mut(t).push(score, count, false, edges);
    }
    /// Add the root itself as the candidate of its type.
    pub(super) fn add_root(&mut self, t: TypeId, edge: EvalEdge) {
        let (score, count) = (self.overall, self.avail);
        self.evals_mut(t).push(score, count, true, &[edge]);
    }
    /// Add a child `c` that fits as one candidate of type `t` of its own.
    pub(super) fn add_child(&mut self, t: TypeId, c: u32, score: i64, count: u64, exclusive: bool) {
        let edge = EvalEdge {
            count,
            needs: count,
            exclusive,
            target: c,
        };
        self.evals_mut(t).push(score, count, false, &[edge]);
    }
    pub(super) fn merge(&mut self, other: Scoring) {
        for (t, mut ev) in other.evals {
            let mine = self.evals_mut(t);
            if mine.groups.is_empty() && mine.edges.is_empty() {
                // Nothing to keep in order before them: take the tables whole.
                std::mem::swap(&mut mine.groups, &mut ev.groups);
                std::mem::swap(&mut mine.edges, &mut ev.edges);
                mine.qualified += ev.qualified;
                mine.total += ev.total;
            } else {
                mine.append(&ev, 0);
            }
        }
    }
    /// Add the candidates found under a copy of a subtree, moved onto the subtree `by`
    /// vertices away.
    pub(super) fn merge_shifted(&mut self, evals: &[(TypeId, Evals)], by: i64) {
        for (t, ev) in evals {
            self.evals_mut(*t).append(ev, by);
        }
    }

    /// Sort the candidates of `t` by policy and mark the best `k`; false when fewer qualify.
    /// Unless `rest_read` (something reads the candidates past the chosen ones in order), only
    /// the chosen are put in their place: the others stay in no promised order.
    pub(super) fn choose_best_k(
        &mut self,
        t: TypeId,
        k: u64,
        policy: Policy,
        rest_read: bool,
    ) -> bool {
        let e = self.evals_mut(t);
        if k == 0 || k > e.qualified {
            return false;
        }
        let old = std::mem::take(&mut e.groups);
        let n = old.len();
        // Each candidate counts at least one, so the best `k` are among the first `k` places,
        // unless some count nothing: then every place is sorted.
        let places = if rest_read {
            n
        } else {
            usize::try_from(k).map_or(n, |k| k.min(n))
        };
        let mut keys = sort_keys(&old, places, policy);
        if places < n
            && keys[..places]
                .iter()
                .map(|&(_, i)| old[i].count)
                .sum::<u64>()
                < k
        {
            keys = sort_keys(&old, n, policy);
        }
        e.groups = keys.iter().map(|&(_, i)| old[i]).collect();
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

/// The scores of `groups` with their places, the first `places` in the order Fluxion's
/// `std::sort` by score leaves them (ties where that sort leaves them).
fn sort_keys(groups: &[EGroup], places: usize, policy: Policy) -> Vec<(i64, usize)> {
    let mut keys: Vec<(i64, usize)> = groups.iter().map(|g| g.score).zip(0..).collect();
    match policy {
        Policy::Low => first_like_cxx(&mut keys, places, |a, b| a.0 < b.0),
        Policy::High | Policy::First => first_like_cxx(&mut keys, places, |a, b| a.0 > b.0),
    }
    keys
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

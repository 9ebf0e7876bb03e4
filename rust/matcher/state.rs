//! Allocation state beside an immutable graph: the planned spans of every job (allocated now or
//! reserved later), the jobs themselves, and the walk's per-vertex scratch marks and `first`'s
//! cached child orders.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use super::order::ById;
use super::planner::{Plan, Time, Window};
use super::shape::Shapes;
use super::Allocation;
use crate::graph::{ResourceGraph, TypeId, NO_PARENT};

#[derive(Debug, Clone)]
pub struct AllocState {
    /// Every job's spans over the graph's vertices.
    pub(super) plan: Plan,
    /// Traversal order weight of the edge into each vertex (`first` policy): free cores (or
    /// nodes) now, after the last job placed through it; `u64::MAX` before any.
    pub(super) weight: Vec<u64>,
    /// Children in `first`'s exploration order, for the parents explored so far.
    pub(super) order: HashMap<u32, Arc<Vec<u32>>>,
    /// Per-vertex marks on the edge into it, set while choosing and read while recording.
    pub(super) mark_seq: Vec<u64>,
    pub(super) mark_needs: Vec<u64>,
    pub(super) mark_exclusive: Vec<bool>,
    /// The vertices marked since `seq` last changed (some more than once).
    pub(super) marked: Vec<u32>,
    pub(super) seq: u64,
    pub(super) next_jobid: u64,
    /// The jobs placed, allocated now or reserved later.
    pub(super) allocations: BTreeMap<u64, Allocation>,
    /// Children in `low`'s and `high`'s scoring order, for the walk's early stop: built the
    /// first time a `low` or `high` walk asks, so that a graph only loaded, or matched `first`,
    /// never pays for it.
    by_id: OnceLock<Arc<ById>>,
    /// Score every candidate, never stopping early: the walk as Fluxion runs it, kept as the
    /// oracle the early stop is tested against.
    pub(super) exhaustive: bool,
    /// Which subtrees are copies of one another, found the first time a walk asks.
    pub(super) shapes: OnceLock<Arc<Shapes>>,
}

impl AllocState {
    pub fn new(g: &ResourceGraph) -> Self {
        let n = g.len();
        AllocState {
            plan: Plan::new(g),
            weight: vec![u64::MAX; n],
            order: HashMap::new(),
            mark_seq: vec![0; n],
            mark_needs: vec![0; n],
            mark_exclusive: vec![false; n],
            marked: Vec::new(),
            seq: 0,
            next_jobid: 1,
            allocations: BTreeMap::new(),
            by_id: OnceLock::new(),
            exhaustive: false,
            shapes: OnceLock::new(),
        }
    }

    /// The children of every vertex in `low`'s and `high`'s scoring order.
    pub(super) fn by_id(&self, g: &ResourceGraph) -> &Arc<ById> {
        self.by_id.get_or_init(|| Arc::new(ById::new(g)))
    }

    /// Ids of the jobs held: allocated now or reserved.
    pub fn jobids(&self) -> Vec<u64> {
        self.allocations.keys().copied().collect()
    }

    /// A job held, by id.
    pub fn job(&self, jobid: u64) -> Option<&Allocation> {
        self.allocations.get(&jobid)
    }

    /// Whether a job takes an ancestor of `v` whole at some time in `w` (then nothing at `v`
    /// or below records it).
    fn covered_during(&self, g: &ResourceGraph, v: u32, w: Window) -> bool {
        let mut a = g.parent(v);
        while a != NO_PARENT {
            if self.plan.whole_during(a, w) {
                return true;
            }
            a = g.parent(a);
        }
        false
    }

    /// Is any job listed on `v` at some time in `w`, itself or through an ancestor it takes
    /// whole?
    pub fn listed_during(&self, g: &ResourceGraph, v: u32, w: Window) -> bool {
        self.plan.listed_during(v, w) || self.covered_during(g, v, w)
    }

    /// Amount of type `t` free in the subtree of `v` at time `at`.
    pub fn free_at(&self, g: &ResourceGraph, v: u32, t: TypeId, at: Time) -> u64 {
        if self.covered_during(g, v, Window::new(at, 1)) {
            return 0;
        }
        let total = g.subtree_total(v, t);
        if g.children(v).is_empty() {
            // A leaf keeps no subtree steps: what it holds is its own holds.
            return if total == 0 {
                0
            } else {
                self.plan.avail_during(v, total, Window::new(at, 1))
            };
        }
        self.plan.subtree_free_at(v, t, total, at)
    }

    /// Amount of type `t` free in the subtree of `v` now (time zero).
    pub fn free_total(&self, g: &ResourceGraph, v: u32, t: TypeId) -> u64 {
        self.free_at(g, v, t, 0)
    }
}

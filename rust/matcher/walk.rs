//! One walk over the containment tree for one request at one window of time, mirroring
//! Fluxion's DFU traverser: test each vertex against the request level, prune what cannot
//! hold it over the window, explore children (in `first`'s order when that policy stops
//! early), score candidates, choose the best per level, then record what the job takes.

use std::sync::Arc;

use super::hasher::FastMap;
use super::planner::Window;
use super::request::{Req, ABSENT, MATCH_MET, SLOT};
use super::scoring::{EvalEdge, Evals, Scoring, Tally};
use super::shape::Shapes;
use super::state::AllocState;
use super::{Allocation, Policy, Taken};
use crate::graph::{ResourceGraph, TypeId, NO_PARENT};
use crate::jobspec::{Constraint, ConstraintTarget, Jobspec, Request};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Slot,
    Resource,
    Pristine,
    None,
}

/// One run of the walk over a graph for one window of time.
pub(super) struct Walk<'a> {
    g: &'a ResourceGraph,
    st: &'a mut AllocState,
    policy: Policy,
    /// Whether the request could ever fit: every vertex counts as up.
    satisfiability: bool,
    /// The span of time the job would hold what it takes.
    window: Window,
    constraint: Option<&'a Constraint>,
    /// Types the jobspec asks for with `exclusive: true`: taken with their whole subtree.
    exclusive_types: Vec<bool>,
    node_type: Option<TypeId>,
    core_type: Option<TypeId>,
    multilevel: i64,
    node_factor: i64,
    root_needs: u64,
    root_exclusive: bool,
    shortfall: Option<(String, u64, u64)>,
    /// Children re-weighed by this allocation under a parent whose order is cached.
    reordered: Vec<(u32, u32)>,
    /// Answers of subtrees no job touches, by shape and how they were visited.
    memo: FastMap<MemoKey, Memo>,
    /// Subtrees answered from a copy, with how they were visited: walked if chosen.
    served: FastMap<u32, (&'a [Req], bool, bool)>,
    /// Walk every subtree, answering none from a copy (while walking a served one again).
    memo_off: bool,
    /// The marks of the last choice under their parents, once `takes_anything` has read them.
    tree: Option<Marked>,
    /// While recording below a vertex the job takes whole: its hold covers them.
    covered: bool,
}

/// A subtree's shape, the request level it was visited with (by address and length: one walk's
/// levels do not move), whether above the first match, whether exclusive from above.
type MemoKey = (u64, (usize, usize), bool, bool);

/// What `dom_dfv` gave for a subtree of a shape: fit or not, what it passed up, its top.
struct Memo {
    top: u32,
    fits: bool,
    avail: u64,
    overall: i64,
    excl: bool,
    evals: Vec<(TypeId, Evals)>,
}

struct NodeView<'a>(&'a ResourceGraph, u32);

impl ConstraintTarget for NodeView<'_> {
    fn name(&self) -> &str {
        self.0.name(self.1)
    }
    fn rank(&self) -> i64 {
        self.0.rank(self.1)
    }
    fn has_property(&self, key: &str) -> bool {
        self.0.properties(self.1).contains_key(key)
    }
}

impl<'a> Walk<'a> {
    /// A walk of `js` over `window`; with `satisfiability`, down vertices count as up.
    pub(super) fn new(
        g: &'a ResourceGraph,
        st: &'a mut AllocState,
        js: &'a Jobspec,
        policy: Policy,
        window: Window,
        satisfiability: bool,
    ) -> Walk<'a> {
        let mut exclusive_types = vec![false; g.types().len()];
        fn mark(reqs: &[Request], g: &ResourceGraph, out: &mut [bool]) {
            for r in reqs {
                if r.exclusive == Some(true) {
                    if let Some(t) = g.types().get(&r.kind) {
                        out[t as usize] = true;
                    }
                }
                mark(&r.with, g, out);
            }
        }
        mark(&js.resources, g, &mut exclusive_types);
        let mut walk = Walk::for_claim(g, st, policy, window);
        walk.satisfiability = satisfiability;
        walk.constraint = js.constraints.as_ref();
        walk.exclusive_types = exclusive_types;
        walk
    }

    /// A walk that records vertices chosen elsewhere (a job its scheduler already placed)
    /// instead of searching for them: see `claim`. `new` starts from it too.
    pub(super) fn for_claim(
        g: &'a ResourceGraph,
        st: &'a mut AllocState,
        policy: Policy,
        window: Window,
    ) -> Walk<'a> {
        Walk {
            g,
            st,
            policy,
            satisfiability: false,
            window,
            constraint: None,
            exclusive_types: vec![false; g.types().len()],
            node_type: g.types().get("node"),
            core_type: g.types().get("core"),
            multilevel: 0,
            node_factor: 0,
            root_needs: 1,
            root_exclusive: false,
            shortfall: None,
            reordered: Vec::new(),
            memo: FastMap::default(),
            served: FastMap::default(),
            memo_off: false,
            tree: None,
            covered: false,
        }
    }

    /// Mark `vertices` taken exclusively (each whole) and their ancestors shared, ready for
    /// `update`, as `select` marks what it chose.
    pub(super) fn claim(&mut self, vertices: &[u32]) {
        self.new_marks();
        for &v in vertices {
            let size = self.g.size(v);
            self.mark(v, size, true);
            let mut parent = self.g.parent(v);
            while parent != NO_PARENT && self.g.parent(parent) != NO_PARENT {
                if self.st.mark_seq[parent as usize] == self.st.seq {
                    break;
                }
                let size = self.g.size(parent);
                self.mark(parent, size, false);
                parent = self.g.parent(parent);
            }
        }
    }

    /// `fallback`, with the level that fell short when the walk noted one.
    pub(super) fn shortfall_reason(&self, fallback: &str) -> String {
        match &self.shortfall {
            Some((name, need, found)) => {
                format!("{fallback}: needs {need} {name} at one level, {found} fit")
            }
            None => fallback.to_owned(),
        }
    }

    /// Whether the walk noted a level that fell short.
    pub(super) fn fell_short(&self) -> bool {
        self.shortfall.is_some()
    }

    fn kind(&self, v: u32) -> TypeId {
        self.g.kind(v)
    }

    /// How much of `v` no job holds exclusively at any time in the window.
    fn avail(&self, v: u32) -> u64 {
        let size = self.g.size(v);
        self.st.plan.avail_during(v, size, self.window)
    }

    /// The least amount of type `t` free in the subtree of `v` (which has children) at any
    /// time in the window.
    fn free_total(&self, v: u32, t: TypeId) -> u64 {
        let total = self.g.subtree_total(v, t);
        self.st.plan.subtree_free_during(v, t, total, self.window)
    }

    /// Does `v` have a child (in any subsystem) of type `t`?
    fn has_child_of(&self, v: u32, t: TypeId) -> bool {
        self.g.has_child_of_type(v, t)
    }

    /// Match the visited vertex against the request level: which requests apply below it.
    /// For a slot, also the slot request, and whether the request it belongs to matched `u`
    /// itself (then `u` chooses among its slots; a slot at the top level is chosen above).
    fn test<'r>(
        &self,
        u: u32,
        resources: &'r [Req],
        pristine: &mut bool,
    ) -> (&'r [Req], Kind, Option<(&'r Req, bool)>) {
        let ku = self.kind(u);
        let (mut slot, mut matched, mut found) = (None::<&Req>, None::<&Req>, false);
        for r in resources {
            if r.kind == ku {
                if found {
                    return (resources, Kind::None, None);
                }
                matched = Some(r);
                for c in &r.with {
                    if c.is_slot() {
                        slot = Some(c);
                    }
                }
                found = true;
            } else if r.is_slot() {
                if found {
                    return (resources, Kind::None, None);
                }
                slot = Some(r);
                found = true;
            }
        }
        if let Some(s) = slot {
            if s.with
                .iter()
                .all(|c| c.kind != ABSENT && self.has_child_of(u, c.kind))
            {
                *pristine = false;
                return (&s.with, Kind::Slot, Some((s, matched.is_some())));
            }
        }
        if let Some(m) = matched {
            *pristine = false;
            return (&m.with, Kind::Resource, None);
        }
        (
            resources,
            if *pristine {
                Kind::Pristine
            } else {
                Kind::None
            },
            None,
        )
    }

    fn prune(&self, exclusive_in: bool, u: u32, resources: &[Req]) -> bool {
        if !self.satisfiability && !self.g.is_up(u) {
            return false;
        }
        let ku = self.kind(u);
        if let (Some(c), Some(nt)) = (self.constraint, self.node_type) {
            if ku == nt && !c.matches(&NodeView(self.g, u)) {
                return false;
            }
        }
        if self.avail(u) == 0 {
            return false;
        }
        for r in resources {
            if r.kind != ku && !r.is_slot() {
                continue;
            }
            if !r.is_slot() {
                if exclusive_in && r.exclusive == Some(false) {
                    return false;
                }
                if (exclusive_in || r.exclusive == Some(true))
                    && self.st.plan.listed_during(u, self.window)
                {
                    return false;
                }
            }
            if !self.g.children(u).is_empty()
                && r.need.iter().any(|&(t, n)| self.free_total(u, t) < n)
            {
                return false;
            }
        }
        true
    }

    fn discover(&mut self, u: u32) {
        if self.policy == Policy::First && Some(self.kind(u)) == self.node_type {
            let (id, uniq_id) = (self.g.id(u), self.g.uniq_id(u));
            self.node_factor = (id + 2) * 10000 + ((uniq_id % 10000) - 1).abs();
            self.multilevel += self.node_factor;
        }
    }

    fn finish_vertex(&mut self, u: u32, resources: &[Req], dfu: &mut Scoring) -> bool {
        let ku = self.kind(u);
        let mut met = true;
        for r in resources.iter().filter(|r| r.kind == ku) {
            for (i, c) in r.with.iter().enumerate() {
                let qualified = dfu.qualified(c.kind);
                let count = c.count.take(qualified);
                if count == 0 {
                    met = false;
                    self.note_shortfall(c, qualified);
                    break;
                }
                let rest_read = self.st.exhaustive || chosen_again(&r.with, i);
                dfu.choose_best_k(c.kind, count, self.policy, rest_read);
            }
        }
        if self.policy == Policy::First && Some(ku) == self.node_type {
            self.multilevel -= self.node_factor;
        }
        let id = self.g.id(u);
        dfu.overall = if met {
            MATCH_MET + self.multilevel + id + 1
        } else {
            0
        };
        met
    }

    fn note_shortfall(&mut self, r: &Req, found: u64) {
        self.shortfall = Some((r.name.clone(), r.count.min, found));
    }

    fn dom_dfv(
        &mut self,
        u: u32,
        resources: &'a [Req],
        pristine: bool,
        excl: &mut bool,
        to_parent: &mut Scoring,
    ) -> bool {
        let ku = self.kind(u);
        let x_in = *excl
            || resources
                .iter()
                .any(|r| r.kind == ku && r.exclusive == Some(true));
        let mut x_inout = x_in;
        let mut check_pristine = pristine;
        let (next, kind, slot) = self.test(u, resources, &mut check_pristine);
        if kind == Kind::None {
            return false;
        }
        if !self.prune(x_in, u, resources) {
            return false;
        }
        self.discover(u);
        let mut dfu = Scoring::default();
        if kind == Kind::Slot {
            self.dom_slot(u, next, slot, check_pristine, &mut dfu);
        } else {
            // Below a match every candidate is a child of `u`, chosen at `u`; above the first
            // match, candidates of the request's top level are chosen at the root.
            let cut = match kind {
                Kind::Resource => self.cut(u, next, 1, false),
                _ if u == self.g.root() => self.cut(u, next, 1, false),
                _ => None,
            };
            match cut {
                Some(wanted) if kind == Kind::Resource => {
                    self.explore_best(u, next, &mut x_inout, &mut dfu, &wanted)
                }
                Some(wanted)
                    if wanted.len() == 1 && self.st.by_id(self.g).spread(wanted[0].0).is_some() =>
                {
                    self.explore_everywhere(next, &mut dfu, wanted[0])
                }
                // Below a match that asks for nothing more, no child can match.
                _ if kind == Kind::Resource && next.is_empty() => false,
                _ => self.explore(u, next, check_pristine, &mut x_inout, &mut dfu, 1),
            };
        }
        *excl = x_in;
        let avail = self.avail(u);
        if !self.finish_vertex(u, resources, &mut dfu) {
            return false;
        }
        let overall = dfu.overall;
        self.resolve(dfu, to_parent);
        to_parent.avail = avail;
        to_parent.overall = overall;
        true
    }

    /// Whether the subtree of `c` may be answered from a copy: `low` or `high` (whose scores
    /// are the vertices' ids), no constraint (which reads names and ranks), one subsystem, and
    /// no job listing anything in it (known when none lists its parent: a job lists every
    /// vertex above each it takes).
    fn shareable(&self, c: u32, parent_idle: bool) -> bool {
        !self.memo_off
            && !self.st.exhaustive
            && self.policy != Policy::First
            && self.constraint.is_none()
            && self.g.subsystems().len() == 1
            && !self.g.children(c).is_empty()
            && (parent_idle || self.st.plan.idle(c))
    }

    /// `dom_dfv` of `c`, answered from a copy of its subtree walked before in this walk when
    /// there is one: the copy's answer shifted onto `c`. What the walk of `c` would have marked
    /// is marked only if something in it is chosen (`enforce` walks it then). `parent_idle`:
    /// whether no job lists the parent of `c`.
    fn dom_dfv_shared(
        &mut self,
        c: u32,
        resources: &'a [Req],
        (pristine, parent_idle): (bool, bool),
        excl: &mut bool,
        dfu: &mut Scoring,
    ) -> bool {
        if !self.shareable(c, parent_idle) {
            return self.dom_dfv(c, resources, pristine, excl, dfu);
        }
        let g = self.g;
        let shapes = self.st.shapes.get_or_init(|| Arc::new(Shapes::new(g)));
        let Some(shape) = shapes.of(c) else {
            return self.dom_dfv(c, resources, pristine, excl, dfu);
        };
        let level = (resources.as_ptr() as usize, resources.len());
        let key = (shape, level, pristine, *excl);
        if let Some(m) = self.memo.get(&key) {
            self.served.insert(c, (resources, pristine, *excl));
            *excl = m.excl;
            if m.fits {
                dfu.merge_shifted(&m.evals, i64::from(c) - i64::from(m.top));
                dfu.avail = m.avail;
                dfu.overall = m.overall + (g.id(c) - g.id(m.top));
            }
            return m.fits;
        }
        let mut own = Scoring::default();
        let fits = self.dom_dfv(c, resources, pristine, excl, &mut own);
        if fits {
            dfu.merge_shifted(&own.evals, 0);
            dfu.avail = own.avail;
            dfu.overall = own.overall;
        }
        let memo = Memo {
            top: c,
            fits,
            avail: own.avail,
            overall: own.overall,
            excl: *excl,
            evals: own.evals,
        };
        self.memo.insert(key, memo);
        fits
    }

    /// Walk again, for their marks, the subtrees answered from a copy that hold a vertex
    /// `dfu` chose.
    fn walk_served(&mut self, dfu: &Scoring) {
        let g = self.g;
        for (_, ev) in &dfu.evals {
            if ev.best_k == 0 {
                continue;
            }
            for group in ev.chosen().iter().filter(|group| !group.root) {
                for e in ev.edges(group) {
                    let mut v = e.target;
                    while v != NO_PARENT {
                        if let Some((resources, pristine, excl)) = self.served.remove(&v) {
                            let (mut x, mut own) = (excl, Scoring::default());
                            let was = std::mem::replace(&mut self.memo_off, true);
                            self.dom_dfv(v, resources, pristine, &mut x, &mut own);
                            self.memo_off = was;
                            break;
                        }
                        v = g.parent(v);
                    }
                }
            }
        }
    }

    fn resolve(&mut self, dfu: Scoring, to_parent: &mut Scoring) {
        if dfu.overall > 0 {
            if dfu.constrained {
                self.enforce(&dfu, false);
            } else {
                to_parent.merge(dfu);
            }
        }
    }

    /// Children of `u` in the order `first` explores them: heaviest edge first, then higher
    /// `uniq_id`. The order is kept per parent and mended as allocations re-weigh edges.
    fn children_in_order(&mut self, u: u32) -> Arc<Vec<u32>> {
        if let Some(order) = self.st.order.get(&u) {
            return Arc::clone(order);
        }
        let g = self.g;
        let weight = &self.st.weight;
        let mut kids = g.children(u).to_vec();
        kids.sort_by_key(|&c| std::cmp::Reverse((weight[c as usize], g.uniq_id(c))));
        let kids = Arc::new(kids);
        self.st.order.insert(u, Arc::clone(&kids));
        kids
    }

    fn explore(
        &mut self,
        u: u32,
        resources: &'a [Req],
        pristine: bool,
        excl: &mut bool,
        dfu: &mut Scoring,
        multiplier: u64,
    ) -> bool {
        let dynamic = self.policy == Policy::First;
        let mut tallies: Vec<(TypeId, Tally)> = if dynamic {
            resources
                .iter()
                .map(|r| {
                    (
                        r.kind,
                        Tally {
                            per_share: r.count.effective_max(),
                            ..Tally::default()
                        },
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut satisfied: Vec<TypeId> = Vec::new();
        let mut any = false;
        let g = self.g;
        let ordered;
        let kids: &[u32] = if dynamic {
            ordered = self.children_in_order(u);
            &ordered
        } else {
            g.children(u)
        };
        let idle = self.st.plan.idle(u);
        for &c in kids {
            let kc = self.kind(c);
            if dynamic && satisfied.contains(&kc) {
                continue;
            }
            let mut x = *excl;
            if !self.dom_dfv_shared(c, resources, (pristine, idle), &mut x, dfu) {
                continue;
            }
            let count = dfu.avail;
            dfu.add_child(kc, c, dfu.overall, count, x);
            any = true;
            if dynamic {
                for (t, tally) in tallies.iter_mut() {
                    let total = dfu.total(*t);
                    if total > tally.prev_total {
                        let delta = total - tally.prev_total;
                        tally.prev_total = total;
                        tally.add(delta);
                    }
                }
                for (t, tally) in &tallies {
                    if tally.satisfies(multiplier) && !satisfied.contains(t) {
                        satisfied.push(*t);
                    }
                }
                if tallies.iter().all(|(_, t)| t.satisfies(multiplier)) {
                    break;
                }
            }
        }
        any
    }

    /// The slots `u` can host: disjoint bundles of its children, each one slot's `shape`.
    /// `slot` is the slot request, and whether `u` matched the request it belongs to (then `u`
    /// itself chooses among the bundles).
    /// When `u` chooses among its children for `reqs` (each `times` over) by distinct scores, as
    /// `low` and `high` do, how much of each type is wanted: past that, no child can be chosen.
    /// `unit` asks that every child count 1 (bundles of children for slots). `None` when the
    /// choice needs every candidate scored: another policy, a range count, a slot, or ties.
    fn cut(&self, u: u32, reqs: &[Req], times: u64, unit: bool) -> Option<Vec<(TypeId, u64)>> {
        if self.st.exhaustive || self.policy == Policy::First || reqs.is_empty() {
            return None;
        }
        let by_id = self.st.by_id(self.g);
        if !by_id.distinct(u) || (unit && !by_id.unit(u)) {
            return None;
        }
        let mut wanted: Vec<(TypeId, u64)> = Vec::with_capacity(reqs.len());
        for r in reqs {
            let n = fixed(r).filter(|_| !r.is_slot() && r.kind != ABSENT)?;
            if wanted.iter().any(|&(t, _)| t == r.kind) {
                return None;
            }
            wanted.push((r.kind, n.saturating_mul(times)));
        }
        Some(wanted)
    }

    /// `explore` when `cut` allows it: the children of each wanted type, best score first,
    /// until those that fit hold the amount wanted.
    fn explore_best(
        &mut self,
        u: u32,
        resources: &'a [Req],
        excl: &mut bool,
        dfu: &mut Scoring,
        wanted: &[(TypeId, u64)],
    ) -> bool {
        let by_id = Arc::clone(self.st.by_id(self.g));
        let mut any = false;
        for &(t, need) in wanted {
            let kids = by_id.of_type(self.g, u, t);
            // Once one fits, room for as many more as can be wanted (each counts at least one).
            let room = usize::try_from(need).map_or(kids.len(), |n| n.min(kids.len()));
            let (mut have, mut fit) = (0, 0);
            for i in 0..kids.len() {
                let c = self.nth_best(kids, i);
                if self.take_candidate(c, t, resources, (false, *excl), dfu, &mut have) {
                    fit += 1;
                    if fit == 1 {
                        dfu.reserve(t, room.saturating_sub(1));
                    }
                }
                if have >= need {
                    break;
                }
            }
            any |= fit > 0;
        }
        any
    }

    /// The `i`th best of `ids` (in id order) as the policy ranks them: `high` from the end.
    fn nth_best(&self, ids: &[u32], i: usize) -> u32 {
        match self.policy {
            Policy::High => ids[ids.len() - 1 - i],
            _ => ids[i],
        }
    }

    /// Walk below `c` and, when it fits, score it as a candidate of type `t` and add its
    /// available amount to `have`; whether it fit. `(top, excl)`: whether `c` is the request's
    /// top level, and the exclusivity the walk brings to it.
    fn take_candidate(
        &mut self,
        c: u32,
        t: TypeId,
        resources: &'a [Req],
        (top, excl): (bool, bool),
        dfu: &mut Scoring,
        have: &mut u64,
    ) -> bool {
        let mut x = excl;
        if !self.dom_dfv(c, resources, top, &mut x, dfu) {
            return false;
        }
        let count = dfu.avail;
        dfu.add_child(t, c, dfu.overall, count, x);
        *have += count;
        true
    }

    /// `explore` at the root for a request whose one top level is of type `t`, when each vertex
    /// of that type is a candidate on its own: those vertices best score first, each once the
    /// vertices between it and the root have let the walk through (and been scored as the
    /// walk scores them), until those that fit hold the amount wanted.
    fn explore_everywhere(
        &mut self,
        resources: &'a [Req],
        dfu: &mut Scoring,
        (t, need): (TypeId, u64),
    ) -> bool {
        let by_id = Arc::clone(self.st.by_id(self.g));
        let Some(all) = by_id.spread(t) else {
            return false;
        };
        let (g, root) = (self.g, self.g.root());
        let mut through: FastMap<u32, bool> = FastMap::default();
        let mut path = Vec::new();
        let (mut have, mut any) = (0, false);
        for i in 0..all.len() {
            let c = self.nth_best(all, i);
            path.clear();
            let mut a = g.parent(c);
            let mut open = true;
            while a != root {
                if let Some(&known) = through.get(&a) {
                    open = known;
                    break;
                }
                path.push(a);
                a = g.parent(a);
            }
            for &a in path.iter().rev() {
                open = open && self.prune(false, a, resources);
                through.insert(a, open);
                if open {
                    let score = MATCH_MET + g.id(a) + 1;
                    dfu.add_child(self.kind(a), a, score, self.avail(a), false);
                }
            }
            if !open {
                continue;
            }
            any |= self.take_candidate(c, t, resources, (true, false), dfu, &mut have);
            if have >= need {
                break;
            }
        }
        any
    }

    fn dom_slot(
        &mut self,
        u: u32,
        shape: &'a [Req],
        slot: Option<(&'a Req, bool)>,
        pristine: bool,
        dfu: &mut Scoring,
    ) {
        let mut x = true;
        let mut slot_dfu = Scoring::default();
        let nslots = slot.map_or(0, |(s, _)| s.count.effective_max());
        // Chosen here by a fixed count among bundles of whole children, best children first:
        // the first bundles score best, and only as many children as they take can be chosen.
        let cut = slot
            .filter(|&(_, here)| here)
            .and_then(|(s, _)| fixed(s))
            .and_then(|n| self.cut(u, shape, n, true));
        let any = match cut {
            Some(wanted) => self.explore_best(u, shape, &mut x, &mut slot_dfu, &wanted),
            None => self.explore(u, shape, pristine, &mut x, &mut slot_dfu, nslots),
        };
        if !any {
            return;
        }
        let types: Vec<TypeId> = slot_dfu.evals.iter().map(|(t, _)| *t).collect();
        for t in types {
            let k = slot_dfu.qualified(t);
            // Every candidate is read in order below: all of them sorted.
            slot_dfu.choose_best_k(t, k, self.policy, true);
        }
        // How many disjoint bundles of whole candidates each give one slot's share.
        let mut slots = u64::MAX;
        for elem in shape {
            let count = elem.count.take(slot_dfu.qualified(elem.kind));
            let mut tally = Tally {
                per_share: count,
                ..Tally::default()
            };
            if count != 0 {
                if let Some(ev) = slot_dfu.evals(elem.kind) {
                    for g in &ev.groups {
                        tally.add(ev.edges(g)[0].count);
                    }
                }
            }
            let fit = if count == 0 { 0 } else { tally.shares };
            if fit < slots {
                self.note_shortfall(elem, slot_dfu.qualified(elem.kind));
            }
            slots = slots.min(fit);
        }
        // Each slot: its score and where its edges end in `edges`.
        let mut bundles: Vec<(i64, usize)> = Vec::new();
        let mut edges = Vec::new();
        for _ in 0..slots {
            let mut score = MATCH_MET;
            for elem in shape {
                let count = elem.count.take(slot_dfu.qualified(elem.kind));
                let ev = slot_dfu.evals_mut(elem.kind);
                let mut j = 0;
                while j < count {
                    let Some(&g) = ev.groups.get(ev.cursor) else {
                        return;
                    };
                    ev.cursor += 1;
                    let e = ev.edges(&g)[0];
                    edges.push(EvalEdge {
                        count: e.count,
                        needs: e.count,
                        exclusive: true,
                        target: e.target,
                    });
                    score += g.score;
                    j += e.count;
                }
            }
            bundles.push((score, edges.len()));
        }
        let mut from = 0;
        for (score, to) in bundles {
            dfu.add(SLOT, score, 1, &edges[from..to]);
            from = to;
        }
    }

    /// Start a new set of marks: those of the last choice no longer count.
    fn new_marks(&mut self) {
        self.st.seq += 1;
        self.st.marked.clear();
        self.tree = None;
    }

    /// The marked children of each vertex with any, from the marks of the last choice.
    fn marked_children(&self) -> Marked {
        // (parent, child) packed in one word sorts as the pair.
        let mut pairs: Vec<u64> = self
            .st
            .marked
            .iter()
            .map(|&v| (self.g.parent(v), v))
            .filter(|&(parent, _)| parent != NO_PARENT)
            .map(|(parent, v)| u64::from(parent) << 32 | u64::from(v))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let parents = pairs.iter().map(|&p| (p >> 32) as u32).collect();
        let children = pairs.iter().map(|&p| p as u32).collect();
        Marked { parents, children }
    }

    fn mark(&mut self, v: u32, needs: u64, exclusive: bool) {
        let i = v as usize;
        if self.st.mark_seq[i] != self.st.seq {
            self.st.marked.push(v);
        }
        self.st.mark_seq[i] = self.st.seq;
        self.st.mark_needs[i] = needs;
        self.st.mark_exclusive[i] = exclusive;
    }

    fn enforce(&mut self, dfu: &Scoring, unconstrained: bool) {
        if !self.served.is_empty() {
            self.walk_served(dfu);
        }
        for (_, ev) in &dfu.evals {
            if ev.best_k == 0 {
                continue;
            }
            for g in ev.chosen() {
                if g.root {
                    continue;
                }
                for &e in ev.edges(g) {
                    self.mark(e.target, e.needs, e.exclusive);
                    if unconstrained {
                        self.mark_unconstrained_ancestors(e.target, dfu);
                    }
                }
            }
        }
    }

    /// Ancestors of a chosen vertex that no level of the request constrained are shared whole.
    fn mark_unconstrained_ancestors(&mut self, v: u32, dfu: &Scoring) {
        let mut parent = self.g.parent(v);
        while parent != NO_PARENT {
            if self.g.parent(parent) == NO_PARENT {
                break;
            }
            if self.st.mark_seq[parent as usize] == self.st.seq {
                break;
            }
            let target = parent;
            parent = self.g.parent(parent);
            let unconstrained = dfu.evals(self.kind(target)).is_some_and(|e| e.best_k == 0);
            if unconstrained {
                let size = self.g.size(target);
                self.mark(target, size, false);
            }
        }
    }

    pub(super) fn select(&mut self, resources: &'a [Req]) -> bool {
        self.new_marks();
        self.multilevel = 0;
        let root = self.g.root();
        let kr = self.kind(root);
        let excl = resources
            .iter()
            .any(|r| r.kind == kr && r.exclusive == Some(true));
        let mut x_in = excl;
        let mut dfu = Scoring::default();
        if !self.dom_dfv(root, resources, true, &mut x_in, &mut dfu) {
            return false;
        }
        let avail = dfu.avail;
        dfu.add_root(
            kr,
            EvalEdge {
                count: avail,
                needs: avail,
                exclusive: excl,
                target: root,
            },
        );
        for (i, r) in resources.iter().enumerate() {
            let qualified = dfu.qualified(r.kind);
            let count = r.count.take(qualified);
            if count == 0 {
                self.note_shortfall(r, qualified);
                return false;
            }
            let rest_read = self.st.exhaustive || chosen_again(resources, i);
            dfu.choose_best_k(r.kind, count, self.policy, rest_read);
        }
        self.multilevel = 0;
        let mut needs = 1;
        for r in resources.iter().filter(|r| r.kind == kr) {
            let count = r.count.take(dfu.avail);
            if count == 0 {
                return false;
            }
            needs = count;
        }
        if dfu.evals.iter().any(|(_, e)| e.qualified == 0) {
            return false;
        }
        self.enforce(&dfu, true);
        self.root_needs = needs;
        self.root_exclusive = x_in;
        true
    }

    /// Whether the marks of the last `select` lead from the root to anything the job would hold.
    /// They do not when the request's levels skip a level of the graph below its first match
    /// (`node > slot > core` where cores sit under sockets): Fluxion then fails the update.
    pub(super) fn takes_anything(&mut self) -> bool {
        let below = self.marked_children();
        let mut stack = vec![(
            self.g.root(),
            self.root_exclusive,
            self.exclusive_types[self.kind(self.g.root()) as usize],
        )];
        let mut any = false;
        while let Some((u, exclusive, shadow)) = stack.pop() {
            let whole = shadow || self.exclusive_types[self.kind(u) as usize];
            if exclusive || whole {
                any = true;
                break;
            }
            for &c in below.of(u) {
                stack.push((c, self.st.mark_exclusive[c as usize], whole));
            }
        }
        self.tree = Some(below);
        any
    }

    /// Record the chosen vertices as held by `jobid` over the window, walking the marks from
    /// the root.
    pub(super) fn update(&mut self, jobid: u64) -> Allocation {
        let root = self.g.root();
        let shadow = self.exclusive_types[self.kind(root) as usize];
        let mut above = vec![0u64; self.g.types().len()];
        let below = match self.tree.take() {
            Some(tree) => tree,
            None => self.marked_children(),
        };
        let mut rec = Recording {
            jobid,
            taken: Vec::with_capacity(self.st.marked.len()),
            spare: Vec::new(),
        };
        self.update_vertex(
            &below,
            &mut rec,
            root,
            self.root_needs,
            (self.root_exclusive, shadow),
            &mut above,
        );
        let taken = rec.taken;
        self.mend_orders();
        self.st.plan.add_end(self.window.end);
        let allocation = Allocation {
            jobid,
            taken,
            at: self.window.start,
            end: self.window.end,
        };
        self.st.allocations.insert(jobid, allocation.clone());
        allocation
    }

    /// Record what the job takes at `u` and below; add what its subtree holds, per type, to
    /// `above` (the parent's tally). `(exclusive, shadow_from_parent)`: whether the mark into
    /// `u` is exclusive, and whether an exclusive level above takes its whole subtree.
    fn update_vertex(
        &mut self,
        below: &Marked,
        rec: &mut Recording,
        u: u32,
        needs: u64,
        (exclusive, shadow_from_parent): (bool, bool),
        above: &mut [u64],
    ) -> u32 {
        let whole = shadow_from_parent || self.exclusive_types[self.kind(u) as usize];
        let exclusive = exclusive || whole;
        let mut held = 0;
        let g = self.g;
        let has_children = !g.children(u).is_empty();
        let mut mine = Vec::new();
        if has_children {
            mine = rec.spare.pop().unwrap_or_default();
            mine.clear();
            mine.resize(g.types().len(), 0);
        }
        // Taken whole: every child; else the children the choice marked.
        let kids: &[u32] = match (whole, has_children) {
            (true, _) => g.children(u),
            (false, true) => below.of(u),
            (false, false) => &[],
        };
        // Taken whole with all of it: one hold, recorded first, stands for the subtree's.
        let covering = (whole && !self.covered && has_children)
            .then(|| needs.min(self.avail(u)))
            .filter(|&amount| amount >= g.size(u));
        if let Some(amount) = covering {
            self.st
                .plan
                .hold(u, self.window, amount, true, true, rec.jobid);
            self.covered = true;
        }
        for &c in kids {
            let ci = c as usize;
            let x = self.st.mark_exclusive[ci] || whole;
            let child_needs = if whole {
                self.g.size(c)
            } else {
                self.st.mark_needs[ci]
            };
            let under = self.update_vertex(below, rec, c, child_needs, (x, whole), &mut mine);
            if under > 0 {
                if self.policy == Policy::First {
                    self.reweigh(c);
                }
                held += under;
            }
        }
        let mut amount = 0;
        if let Some(whole_amount) = covering {
            self.covered = false;
            held += 1;
            amount = whole_amount;
        } else if exclusive {
            held += 1;
            amount = needs.min(self.avail(u));
        }
        if held > 0 {
            if !self.covered && covering.is_none() {
                self.st
                    .plan
                    .hold(u, self.window, amount, exclusive, false, rec.jobid);
            }
            let kind = self.kind(u) as usize;
            if has_children {
                mine[kind] += amount;
                if !self.covered {
                    self.st.plan.promise(u, self.window, rec.jobid, &mine);
                }
                for (a, m) in above.iter_mut().zip(&mine) {
                    *a += m;
                }
            } else {
                above[kind] += amount;
            }
            rec.taken.push(Taken {
                vertex: u,
                exclusive,
                size: needs,
            });
        }
        if has_children {
            rec.spare.push(mine);
        }
        held
    }

    /// Under `first`, an allocation re-weighs each edge it walked: children are then explored
    /// heaviest first. Fluxion prunes on cores and nodes; an edge's weight is what is free of the
    /// last of those its target tracks: cores for a node, nodes for anything above one.
    fn reweigh(&mut self, c: u32) {
        if self.g.children(c).is_empty() {
            return;
        }
        let kc = Some(self.kind(c));
        let tracked = if kc == self.node_type {
            self.core_type
        } else {
            self.node_type
        };
        let free = tracked.map_or(0, |t| self.st.free_total(self.g, c, t));
        let holds_any = [self.core_type, self.node_type]
            .into_iter()
            .flatten()
            .any(|t| Some(t) != kc && self.g.subtree_total(c, t) > 0);
        if free == 0 && !holds_any {
            return;
        }
        let parent = self.g.parent(c);
        if self.st.order.contains_key(&parent) {
            self.reordered.push((parent, c));
        }
        self.st.weight[c as usize] = free;
    }

    /// Mend the cached child orders the allocation's re-weighing changed: child by child when
    /// few moved, by sorting again when many did (a wide request re-weighs thousands).
    fn mend_orders(&mut self) {
        let mut changes = std::mem::take(&mut self.reordered);
        changes.sort_by_key(|&(parent, _)| parent);
        let g = self.g;
        let key = |weight: u64, v: u32| std::cmp::Reverse((weight, g.uniq_id(v)));
        for group in changes.chunk_by(|a, b| a.0 == b.0) {
            let parent = group[0].0;
            let Some(order) = self.st.order.remove(&parent) else {
                continue;
            };
            let mut order = Arc::unwrap_or_clone(order);
            let weight = &self.st.weight;
            if group.len() * 64 < order.len() {
                // The others keep their weights, so the rest stays sorted once these are out.
                let mut moved: Vec<u32> = group.iter().map(|&(_, c)| c).collect();
                moved.sort_unstable();
                order.retain(|x| moved.binary_search(x).is_err());
                for &(_, c) in group {
                    let new_key = key(weight[c as usize], c);
                    let at = order.partition_point(|&x| key(weight[x as usize], x) < new_key);
                    order.insert(at, c);
                }
            } else {
                order.sort_by_key(|&x| key(weight[x as usize], x));
            }
            self.st.order.insert(parent, Arc::new(order));
        }
    }
}

/// The vertices the last choice marked, under their parents: what `update` walks from the root.
struct Marked {
    /// Sorted by (parent, child), the pairs' halves.
    parents: Vec<u32>,
    children: Vec<u32>,
}

impl Marked {
    /// The marked children of `u`, in index order.
    fn of(&self, u: u32) -> &[u32] {
        let from = self.parents.partition_point(|&p| p < u);
        let to = self.parents.partition_point(|&p| p <= u);
        &self.children[from..to]
    }
}

/// What `update` gathers for job `jobid`: the vertices it takes, and tally arrays to reuse.
struct Recording {
    jobid: u64,
    taken: Vec<Taken>,
    spare: Vec<Vec<u64>>,
}

/// Whether a level of `reqs` after the `i`th is of the same type: choosing among its candidates
/// then starts from the order the `i`th's choice left them in, all of it.
fn chosen_again(reqs: &[Req], i: usize) -> bool {
    reqs[i + 1..].iter().any(|r| r.kind == reqs[i].kind)
}

/// A request's count when it is one number (taken whole or not at all).
fn fixed(r: &Req) -> Option<u64> {
    let n = r.count.min;
    (n > 0 && r.count.effective_max() == n && r.count.take(n) == n).then_some(n)
}

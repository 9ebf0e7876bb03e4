//! Matching jobspecs against a resource graph with Fluxion's semantics: a depth-first walk
//! that counts what fits under each vertex, scores candidates by policy, chooses the best
//! per level without backtracking, then marks and records what the job takes.
//!
//! The walk mirrors Fluxion's DFU traverser step for step (slots taken exclusively, shared
//! ancestors, explicit `exclusive` taking whole subtrees, pooled vertices taken whole, count
//! ranges, `first` stopping early), so the same request on the same graph takes the same
//! vertices Fluxion's `resource-query` takes.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::graph::{ResourceGraph, TypeId, NO_PARENT};
use crate::jgf::Status;
use crate::jobspec::{Constraint, ConstraintTarget, Count, Jobspec, Request};

/// Which vertices are taken when several fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Higher ids first, node by node, stopping as soon as enough is found.
    First,
    /// Lower vertex ids first.
    Low,
    /// Higher vertex ids first.
    High,
}

impl Policy {
    pub fn parse(name: &str) -> Result<Policy> {
        match name {
            "first" => Ok(Policy::First),
            "low" => Ok(Policy::Low),
            "high" => Ok(Policy::High),
            other => Err(Error::matching(format!(
                "unknown policy {other:?}: expected first, low or high"
            ))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Policy::First => "first",
            Policy::Low => "low",
            Policy::High => "high",
        }
    }
}

/// What a match found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Allocated,
    /// Satisfiable (for `satisfiable`), or would fit on the empty graph but not now (for `allocate`).
    Satisfiable,
    Busy,
    Unsatisfiable,
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Allocated => "allocated",
            Outcome::Satisfiable => "satisfiable",
            Outcome::Busy => "busy",
            Outcome::Unsatisfiable => "unsatisfiable",
        }
    }
}

/// One vertex an allocation took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub vertex: u32,
    pub exclusive: bool,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub jobid: u64,
    pub taken: Vec<Taken>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchResult {
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub allocation: Option<Allocation>,
}

/// Allocation state beside an immutable graph: what each vertex has left and who holds it.
#[derive(Debug, Clone)]
pub struct AllocState {
    /// Amount of each vertex not held exclusively.
    avail: Vec<u64>,
    /// Exclusive holds on each vertex.
    exclusive_holds: Vec<u32>,
    /// Jobs whose allocation lists each vertex, shared or not.
    jobs_on: Vec<u32>,
    /// Free amount per type in each subtree: `free[v * ntypes + t]`.
    free: Vec<u64>,
    /// Traversal order weight of the edge into each vertex (`first` policy): free cores after the
    /// last allocation through it, `u64::MAX` before any.
    weight: Vec<u64>,
    /// Children in `first`'s exploration order, for the parents explored so far.
    order: std::collections::HashMap<u32, Vec<u32>>,
    /// Per-vertex marks on the edge into it, set while choosing and read while recording.
    mark_seq: Vec<u64>,
    mark_needs: Vec<u64>,
    mark_exclusive: Vec<bool>,
    seq: u64,
    next_jobid: u64,
    allocations: BTreeMap<u64, Allocation>,
}

impl AllocState {
    pub fn new(g: &ResourceGraph) -> Self {
        let n = g.len();
        AllocState {
            avail: g.doc.nodes.iter().map(|v| v.size).collect(),
            exclusive_holds: vec![0; n],
            jobs_on: vec![0; n],
            free: g.subtree.clone(),
            weight: vec![u64::MAX; n],
            order: std::collections::HashMap::new(),
            mark_seq: vec![0; n],
            mark_needs: vec![0; n],
            mark_exclusive: vec![false; n],
            seq: 0,
            next_jobid: 1,
            allocations: BTreeMap::new(),
        }
    }

    pub fn jobids(&self) -> Vec<u64> {
        self.allocations.keys().copied().collect()
    }

    /// Free amount of type `t` in the subtree of `v`.
    pub fn free_total(&self, g: &ResourceGraph, v: u32, t: TypeId) -> u64 {
        self.free[v as usize * g.types.len() + t as usize]
    }

    fn hold(&mut self, g: &ResourceGraph, v: u32, amount: u64, sign: i64) {
        let nt = g.types.len();
        let t = g.kind[v as usize] as usize;
        let mut cur = v;
        loop {
            let cell = &mut self.free[cur as usize * nt + t];
            *cell = if sign < 0 {
                cell.saturating_sub(amount)
            } else {
                *cell + amount
            };
            let p = g.parent[cur as usize];
            if p == NO_PARENT {
                break;
            }
            cur = p;
        }
    }
}

/// Type id used for `slot` in scoring tables.
const SLOT: TypeId = TypeId::MAX;
/// A request type the graph does not have.
const ABSENT: TypeId = TypeId::MAX - 1;
const MATCH_MET: i64 = 1;

/// A request level with its type interned and what it needs below itself precomputed.
#[derive(Debug, Clone)]
struct Req {
    kind: TypeId,
    count: Count,
    exclusive: Option<bool>,
    with: Vec<Req>,
    /// Least total amount per type below this level, for one instance of it.
    need: Vec<(TypeId, u64)>,
    name: String,
}

impl Req {
    fn is_slot(&self) -> bool {
        self.kind == SLOT
    }
}

fn compile(g: &ResourceGraph, reqs: &[Request]) -> Vec<Req> {
    reqs.iter()
        .map(|r| {
            let with = compile(g, &r.with);
            let mut need: BTreeMap<TypeId, u64> = BTreeMap::new();
            for c in &with {
                if c.kind != SLOT && c.kind != ABSENT {
                    *need.entry(c.kind).or_default() += c.count.min;
                }
                for &(t, n) in &c.need {
                    *need.entry(t).or_default() += c.count.min.saturating_mul(n);
                }
            }
            let kind = if r.is_slot() {
                SLOT
            } else {
                g.types.get(&r.kind).unwrap_or(ABSENT)
            };
            Req {
                kind,
                count: r.count,
                exclusive: r.exclusive,
                with,
                need: need.into_iter().collect(),
                name: r.kind.clone(),
            }
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
struct EvalEdge {
    count: u64,
    needs: u64,
    exclusive: bool,
    target: u32,
}

#[derive(Debug, Clone)]
struct EGroup {
    score: i64,
    count: u64,
    root: bool,
    edges: Vec<EvalEdge>,
}

#[derive(Debug, Clone, Default)]
struct Evals {
    groups: Vec<EGroup>,
    qualified: u64,
    total: u64,
    best_k: u64,
    best_i: usize,
    cursor: usize,
}

/// Candidates found under one vertex, per type, and the vertex's own score.
#[derive(Debug, Default)]
struct Scoring {
    evals: Vec<(TypeId, Evals)>,
    constrained: bool,
    overall: i64,
    avail: u64,
}

impl Scoring {
    fn evals_mut(&mut self, t: TypeId) -> &mut Evals {
        match self.evals.iter().position(|(k, _)| *k == t) {
            Some(i) => &mut self.evals[i].1,
            None => {
                self.evals.push((t, Evals::default()));
                let last = self.evals.len() - 1;
                &mut self.evals[last].1
            }
        }
    }
    fn evals(&self, t: TypeId) -> Option<&Evals> {
        self.evals.iter().find(|(k, _)| *k == t).map(|(_, e)| e)
    }
    fn qualified(&self, t: TypeId) -> u64 {
        self.evals(t).map_or(0, |e| e.qualified)
    }
    fn total(&self, t: TypeId) -> u64 {
        self.evals(t).map_or(0, |e| e.total)
    }
    fn add(&mut self, t: TypeId, group: EGroup) {
        let e = self.evals_mut(t);
        e.total += group.count;
        if group.score > 0 {
            e.qualified += group.count;
        }
        e.groups.push(group);
    }
    fn merge(&mut self, other: Scoring) {
        for (t, ev) in other.evals {
            let mine = self.evals_mut(t);
            mine.qualified += ev.qualified;
            mine.total += ev.total;
            mine.groups.extend(ev.groups);
        }
    }
    /// Sort the candidates of `t` by policy and mark the best `k`; false when fewer qualify.
    fn choose_best_k(&mut self, t: TypeId, k: u64, policy: Policy) -> bool {
        let e = self.evals_mut(t);
        if k == 0 || k > e.qualified {
            return false;
        }
        match policy {
            Policy::Low => e.groups.sort_by_key(|g| g.score),
            Policy::High | Policy::First => e.groups.sort_by_key(|g| std::cmp::Reverse(g.score)),
        }
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
struct Tally {
    per_share: u64,
    prev_total: u64,
    accum: u64,
    shares: u64,
}

impl Tally {
    fn satisfies(&self, multiplier: u64) -> bool {
        self.per_share == 0 || self.shares >= multiplier
    }
    fn add(&mut self, count: u64) {
        self.accum += count;
        if self.per_share > 0 && self.accum >= self.per_share {
            self.shares += 1;
            self.accum = 0;
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Slot,
    Resource,
    Pristine,
    None,
}

/// One run of the walk over a graph, in allocate or satisfiability mode.
struct Walk<'a> {
    g: &'a ResourceGraph,
    st: &'a mut AllocState,
    policy: Policy,
    /// Every resource free and up, as when asking whether a request could ever fit.
    satisfiability: bool,
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
}

struct NodeView<'a>(&'a crate::jgf::Node);

impl ConstraintTarget for NodeView<'_> {
    fn name(&self) -> &str {
        &self.0.name
    }
    fn rank(&self) -> i64 {
        self.0.rank
    }
    fn has_property(&self, key: &str) -> bool {
        self.0.properties().contains_key(key)
    }
}

impl<'a> Walk<'a> {
    fn kind(&self, v: u32) -> TypeId {
        self.g.kind[v as usize]
    }

    fn avail(&self, v: u32) -> u64 {
        if self.satisfiability {
            self.g.doc.nodes[v as usize].size
        } else {
            self.st.avail[v as usize]
        }
    }

    fn free_total(&self, v: u32, t: TypeId) -> u64 {
        if self.satisfiability {
            self.g.subtree_total(v, t)
        } else {
            self.st.free_total(self.g, v, t)
        }
    }

    /// Does `v` have a child (in any subsystem) of type `t`?
    fn has_child_of(&self, v: u32, t: TypeId) -> bool {
        if self.g.children(v).iter().any(|&c| self.kind(c) == t) {
            return true;
        }
        if self.g.subsystems.len() > 1 {
            use petgraph::graph::NodeIndex;
            return self
                .g
                .graph
                .neighbors(NodeIndex::new(v as usize))
                .any(|c| self.g.kind[c.index()] == t);
        }
        false
    }

    /// Match the visited vertex against the request level: which requests apply below it.
    fn test<'r>(
        &self,
        u: u32,
        resources: &'r [Req],
        pristine: &mut bool,
    ) -> (&'r [Req], Kind, u64) {
        let ku = self.kind(u);
        let (mut slot, mut matched, mut found, mut nslots) =
            (None::<&Req>, None::<&Req>, false, 0u64);
        for r in resources {
            if r.kind == ku {
                if found {
                    return (resources, Kind::None, 0);
                }
                matched = Some(r);
                for c in &r.with {
                    if c.is_slot() {
                        slot = Some(c);
                        nslots = c.count.effective_max();
                    }
                }
                found = true;
            } else if r.is_slot() {
                if found {
                    return (resources, Kind::None, 0);
                }
                slot = Some(r);
                nslots = r.count.effective_max();
                found = true;
            }
        }
        if let Some(s) = slot {
            if s.with
                .iter()
                .all(|c| c.kind != ABSENT && self.has_child_of(u, c.kind))
            {
                *pristine = false;
                return (&s.with, Kind::Slot, nslots);
            }
        }
        if let Some(m) = matched {
            *pristine = false;
            return (&m.with, Kind::Resource, 0);
        }
        (
            resources,
            if *pristine {
                Kind::Pristine
            } else {
                Kind::None
            },
            0,
        )
    }

    fn prune(&self, exclusive_in: bool, u: u32, resources: &[Req]) -> bool {
        let node = &self.g.doc.nodes[u as usize];
        if !self.satisfiability && node.status != Status::Up {
            return false;
        }
        let ku = self.kind(u);
        if let (Some(c), Some(nt)) = (self.constraint, self.node_type) {
            if ku == nt && !c.matches(&NodeView(node)) {
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
                    && !self.satisfiability
                    && (self.st.exclusive_holds[u as usize] > 0 || self.st.jobs_on[u as usize] > 0)
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
            let v = &self.g.doc.nodes[u as usize];
            self.node_factor = (v.id + 2) * 10000 + ((v.uniq_id % 10000) - 1).abs();
            self.multilevel += self.node_factor;
        }
    }

    fn finish_vertex(&mut self, u: u32, resources: &[Req], dfu: &mut Scoring) -> bool {
        let ku = self.kind(u);
        let mut met = true;
        for r in resources.iter().filter(|r| r.kind == ku) {
            for c in &r.with {
                let qualified = dfu.qualified(c.kind);
                let count = c.count.take(qualified);
                if count == 0 {
                    met = false;
                    self.note_shortfall(c, qualified);
                    break;
                }
                dfu.choose_best_k(c.kind, count, self.policy);
            }
        }
        if self.policy == Policy::First && Some(ku) == self.node_type {
            self.multilevel -= self.node_factor;
        }
        let id = self.g.doc.nodes[u as usize].id;
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
        resources: &[Req],
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
        let (next, kind, nslots) = self.test(u, resources, &mut check_pristine);
        if kind == Kind::None {
            return false;
        }
        if !self.prune(x_in, u, resources) {
            return false;
        }
        self.discover(u);
        let mut dfu = Scoring::default();
        if kind == Kind::Slot {
            self.dom_slot(u, next, nslots, check_pristine, &mut dfu);
        } else {
            self.explore(u, next, check_pristine, &mut x_inout, &mut dfu, 1);
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
    fn children_in_order(&mut self, u: u32) -> Vec<u32> {
        if let Some(order) = self.st.order.get(&u) {
            return order.clone();
        }
        let g = self.g;
        let weight = &self.st.weight;
        let mut kids = g.children(u).to_vec();
        kids.sort_by_key(|&c| {
            std::cmp::Reverse((weight[c as usize], g.doc.nodes[c as usize].uniq_id))
        });
        self.st.order.insert(u, kids.clone());
        kids
    }

    fn explore(
        &mut self,
        u: u32,
        resources: &[Req],
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
        for &c in kids {
            let kc = self.kind(c);
            if dynamic && satisfied.contains(&kc) {
                continue;
            }
            let mut x = *excl;
            if !self.dom_dfv(c, resources, pristine, &mut x, dfu) {
                continue;
            }
            let count = dfu.avail;
            let score = dfu.overall;
            dfu.add(
                kc,
                EGroup {
                    score,
                    count,
                    root: false,
                    edges: vec![EvalEdge {
                        count,
                        needs: count,
                        exclusive: x,
                        target: c,
                    }],
                },
            );
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

    fn dom_slot(&mut self, u: u32, shape: &[Req], nslots: u64, pristine: bool, dfu: &mut Scoring) {
        let mut x = true;
        let mut slot_dfu = Scoring::default();
        if !self.explore(u, shape, pristine, &mut x, &mut slot_dfu, nslots) {
            return;
        }
        let types: Vec<TypeId> = slot_dfu.evals.iter().map(|(t, _)| *t).collect();
        for t in types {
            let k = slot_dfu.qualified(t);
            slot_dfu.choose_best_k(t, k, self.policy);
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
                        tally.add(g.edges[0].count);
                    }
                }
            }
            let fit = if count == 0 { 0 } else { tally.shares };
            if fit < slots {
                self.note_shortfall(elem, slot_dfu.qualified(elem.kind));
            }
            slots = slots.min(fit);
        }
        let mut groups = Vec::new();
        for _ in 0..slots {
            let mut score = MATCH_MET;
            let mut edges = Vec::new();
            for elem in shape {
                let count = elem.count.take(slot_dfu.qualified(elem.kind));
                let ev = slot_dfu.evals_mut(elem.kind);
                let mut j = 0;
                while j < count {
                    let Some(g) = ev.groups.get(ev.cursor) else {
                        return;
                    };
                    ev.cursor += 1;
                    let e = g.edges[0];
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
            groups.push(EGroup {
                score,
                count: 1,
                root: false,
                edges,
            });
        }
        for g in groups {
            dfu.add(SLOT, g);
        }
    }

    fn mark(&mut self, v: u32, needs: u64, exclusive: bool) {
        let i = v as usize;
        self.st.mark_seq[i] = self.st.seq;
        self.st.mark_needs[i] = needs;
        self.st.mark_exclusive[i] = exclusive;
    }

    fn enforce(&mut self, dfu: &Scoring, unconstrained: bool) {
        for (_, ev) in &dfu.evals {
            if ev.best_k == 0 {
                continue;
            }
            for g in &ev.groups[..ev.best_i] {
                if g.root {
                    continue;
                }
                for e in &g.edges {
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
        let mut parent = self.g.parent[v as usize];
        while parent != NO_PARENT {
            if self.g.parent[parent as usize] == NO_PARENT {
                break;
            }
            if self.st.mark_seq[parent as usize] == self.st.seq {
                break;
            }
            let target = parent;
            parent = self.g.parent[parent as usize];
            let unconstrained = dfu.evals(self.kind(target)).is_some_and(|e| e.best_k == 0);
            if unconstrained {
                let size = self.g.doc.nodes[target as usize].size;
                self.mark(target, size, false);
            }
        }
    }

    fn select(&mut self, resources: &[Req]) -> bool {
        self.st.seq += 1;
        self.multilevel = 0;
        let root = self.g.root;
        let kr = self.kind(root);
        let excl = resources
            .iter()
            .any(|r| r.kind == kr && r.exclusive == Some(true));
        let mut x_in = excl;
        let mut dfu = Scoring::default();
        if !self.dom_dfv(root, resources, true, &mut x_in, &mut dfu) {
            return false;
        }
        let (score, avail) = (dfu.overall, dfu.avail);
        dfu.add(
            kr,
            EGroup {
                score,
                count: avail,
                root: true,
                edges: vec![EvalEdge {
                    count: avail,
                    needs: avail,
                    exclusive: excl,
                    target: root,
                }],
            },
        );
        for r in resources {
            let qualified = dfu.qualified(r.kind);
            let count = r.count.take(qualified);
            if count == 0 {
                self.note_shortfall(r, qualified);
                return false;
            }
            dfu.choose_best_k(r.kind, count, self.policy);
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
    fn takes_anything(&self) -> bool {
        let seq = self.st.seq;
        let mut stack = vec![(
            self.g.root,
            self.root_exclusive,
            self.exclusive_types[self.kind(self.g.root) as usize],
        )];
        while let Some((u, exclusive, shadow)) = stack.pop() {
            let whole = shadow || self.exclusive_types[self.kind(u) as usize];
            if exclusive || whole {
                return true;
            }
            for &c in self.g.children(u) {
                if self.st.mark_seq[c as usize] == seq || whole {
                    stack.push((c, self.st.mark_exclusive[c as usize], whole));
                }
            }
        }
        false
    }

    /// Record the chosen vertices as held by `jobid`, walking the marks from the root.
    fn update(&mut self, jobid: u64) -> Allocation {
        let root = self.g.root;
        let mut taken = Vec::new();
        let shadow = self.exclusive_types[self.kind(root) as usize];
        self.update_vertex(
            root,
            self.root_needs,
            self.root_exclusive,
            shadow,
            &mut taken,
        );
        self.mend_orders();
        let allocation = Allocation { jobid, taken };
        self.st.allocations.insert(jobid, allocation.clone());
        allocation
    }

    fn update_vertex(
        &mut self,
        u: u32,
        needs: u64,
        exclusive: bool,
        shadow_from_parent: bool,
        taken: &mut Vec<Taken>,
    ) -> u32 {
        let whole = shadow_from_parent || self.exclusive_types[self.kind(u) as usize];
        let exclusive = exclusive || whole;
        let mut held = 0;
        let seq = self.st.seq;
        for &c in self.g.children(u) {
            let ci = c as usize;
            if self.st.mark_seq[ci] != seq && !whole {
                continue;
            }
            let x = self.st.mark_exclusive[ci] || whole;
            let child_needs = if whole {
                self.g.doc.nodes[ci].size
            } else {
                self.st.mark_needs[ci]
            };
            let below = self.update_vertex(c, child_needs, x, whole, taken);
            if below > 0 {
                if self.policy == Policy::First {
                    self.reweigh(c);
                }
                held += below;
            }
        }
        if exclusive {
            held += 1;
            let amount = needs.min(self.st.avail[u as usize]);
            self.st.avail[u as usize] -= amount;
            self.st.exclusive_holds[u as usize] += 1;
            self.st.hold(self.g, u, amount, -1);
        }
        if held > 0 {
            self.st.jobs_on[u as usize] += 1;
            taken.push(Taken {
                vertex: u,
                exclusive,
                size: needs,
            });
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
        let parent = self.g.parent[c as usize];
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
        let key =
            |weight: u64, v: u32| std::cmp::Reverse((weight, g.doc.nodes[v as usize].uniq_id));
        for group in changes.chunk_by(|a, b| a.0 == b.0) {
            let parent = group[0].0;
            let Some(mut order) = self.st.order.remove(&parent) else {
                continue;
            };
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
            self.st.order.insert(parent, order);
        }
    }
}

/// The result of matching one jobspec: validated against this graph, then walked.
pub struct Matcher<'a> {
    pub graph: &'a ResourceGraph,
}

const LEVELS_SKIPPED: &str = "the request's levels do not follow the graph's containment: below its first level, \
     each level must be the graph's next one (a request for node > slot > core cannot reach cores that sit under sockets)";

fn unsatisfiable(reason: String) -> MatchResult {
    MatchResult {
        outcome: Outcome::Unsatisfiable,
        reason: Some(reason),
        allocation: None,
    }
}

impl<'a> Matcher<'a> {
    pub fn new(graph: &'a ResourceGraph) -> Self {
        Matcher { graph }
    }

    /// Reasons a request can never fit that need no traversal, checked level by level.
    fn impossible(&self, reqs: &[Req]) -> Option<String> {
        let g = self.graph;
        for r in reqs {
            if r.kind == ABSENT {
                return Some(format!("the graph has no {:?} resources", r.name));
            }
            if r.kind != SLOT {
                for &(t, n) in &r.need {
                    let best = g.max_total_under(r.kind, t);
                    if best < n {
                        return Some(format!(
                            "each {} must hold {} {} but the largest holds {}",
                            r.name,
                            n,
                            g.types.name(t),
                            best
                        ));
                    }
                }
            }
            if let Some(reason) = self.impossible(&r.with) {
                return Some(reason);
            }
        }
        None
    }

    fn totals_short(&self, js: &Jobspec) -> Option<String> {
        let g = self.graph;
        for (name, need) in js.counts() {
            if let Some(t) = g.types.get(&name) {
                let have = g.subtree_total(g.root, t);
                if have < need {
                    return Some(format!(
                        "the request needs {need} {name} in all, the graph has {have}"
                    ));
                }
            }
        }
        None
    }

    fn prepare(&self, js: &Jobspec) -> std::result::Result<Vec<Req>, MatchResult> {
        let reqs = compile(self.graph, &js.resources);
        if let Some(reason) = self.impossible(&reqs).or_else(|| self.totals_short(js)) {
            return Err(unsatisfiable(reason));
        }
        Ok(reqs)
    }

    fn walk<'s>(
        &'s self,
        st: &'s mut AllocState,
        js: &'s Jobspec,
        policy: Policy,
        satisfiability: bool,
    ) -> Walk<'s> {
        let g = self.graph;
        let mut exclusive_types = vec![false; g.types.len()];
        fn mark(reqs: &[Request], g: &ResourceGraph, out: &mut [bool]) {
            for r in reqs {
                if r.exclusive == Some(true) {
                    if let Some(t) = g.types.get(&r.kind) {
                        out[t as usize] = true;
                    }
                }
                mark(&r.with, g, out);
            }
        }
        mark(&js.resources, g, &mut exclusive_types);
        Walk {
            g,
            st,
            policy,
            satisfiability,
            constraint: js.constraints.as_ref(),
            exclusive_types,
            node_type: g.types.get("node"),
            core_type: g.types.get("core"),
            multilevel: 0,
            node_factor: 0,
            root_needs: 1,
            root_exclusive: false,
            shortfall: None,
            reordered: Vec::new(),
        }
    }

    fn shortfall_reason(walk: &Walk, fallback: &str) -> String {
        match &walk.shortfall {
            Some((name, need, found)) => {
                format!("{fallback}: needs {need} {name} at one level, {found} fit")
            }
            None => fallback.to_owned(),
        }
    }

    /// Could the request be met if every resource were free and up?
    pub fn satisfiable(&self, st: &mut AllocState, js: &Jobspec, policy: Policy) -> MatchResult {
        let reqs = match self.prepare(js) {
            Ok(r) => r,
            Err(res) => return res,
        };
        let mut walk = self.walk(st, js, policy, true);
        if walk.select(&reqs) && walk.takes_anything() {
            MatchResult {
                outcome: Outcome::Satisfiable,
                reason: None,
                allocation: None,
            }
        } else if walk.shortfall.is_none() {
            unsatisfiable(LEVELS_SKIPPED.to_owned())
        } else {
            let reason = Self::shortfall_reason(&walk, "no way to fit the request on this graph");
            unsatisfiable(reason)
        }
    }

    /// Allocate the request against the current allocations.
    pub fn allocate(&self, st: &mut AllocState, js: &Jobspec, policy: Policy) -> MatchResult {
        let jobid = st.next_jobid;
        st.next_jobid += 1;
        let reqs = match self.prepare(js) {
            Ok(r) => r,
            Err(res) => return res,
        };
        let nodes_wanted = js.counts().get("node").copied().unwrap_or(0);
        if nodes_wanted > 0 {
            let up = self.graph.up_nodes;
            if nodes_wanted > up {
                return unsatisfiable(format!(
                    "the request needs {nodes_wanted} nodes, {up} are up"
                ));
            }
        }
        let mut walk = self.walk(st, js, policy, false);
        if walk.select(&reqs) {
            if !walk.takes_anything() {
                return unsatisfiable(LEVELS_SKIPPED.to_owned());
            }
            let allocation = walk.update(jobid);
            return MatchResult {
                outcome: Outcome::Allocated,
                reason: None,
                allocation: Some(allocation),
            };
        }
        let busy_reason = Self::shortfall_reason(&walk, "not enough free resources now");
        let mut sat = self.walk(st, js, policy, true);
        if sat.select(&reqs) {
            MatchResult {
                outcome: Outcome::Busy,
                reason: Some(busy_reason),
                allocation: None,
            }
        } else {
            let reason = Self::shortfall_reason(&sat, "no way to fit the request on this graph");
            unsatisfiable(reason)
        }
    }

    /// Give back what job `jobid` holds.
    pub fn release(&self, st: &mut AllocState, jobid: u64) -> Result<()> {
        let allocation = st.allocations.remove(&jobid).ok_or_else(|| {
            Error::matching(format!(
                "no allocation with job id {jobid} is held on this graph"
            ))
        })?;
        for t in &allocation.taken {
            let i = t.vertex as usize;
            if t.exclusive {
                let restored = (st.avail[i] + t.size).min(self.graph.doc.nodes[i].size);
                let amount = restored - st.avail[i];
                st.avail[i] = restored;
                st.exclusive_holds[i] = st.exclusive_holds[i].saturating_sub(1);
                st.hold(self.graph, t.vertex, amount, 1);
            }
            st.jobs_on[i] = st.jobs_on[i].saturating_sub(1);
        }
        Ok(())
    }
}

/// Order taken vertices by containment path, for display and comparison.
pub fn by_path(g: &ResourceGraph, taken: &mut [Taken]) {
    taken.sort_by(|a, b| match g.path(a.vertex).cmp(g.path(b.vertex)) {
        Ordering::Equal => a.vertex.cmp(&b.vertex),
        other => other,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A cluster of `nodes` nodes, each with two sockets of `cores` cores and a 16 GB memory pool.
    fn cluster(nodes: usize, cores: usize) -> ResourceGraph {
        let mut vertices = vec![
            json!({"id": "0", "metadata": {"type": "cluster", "name": "c0", "id": 0, "paths": {"containment": "/c0"}}}),
        ];
        let mut edges = Vec::new();
        let mut next = 1;
        let mut add = |vertices: &mut Vec<serde_json::Value>,
                       edges: &mut Vec<serde_json::Value>,
                       parent: usize,
                       kind: &str,
                       id: usize,
                       path: &str,
                       size: u64,
                       rank: i64|
         -> usize {
            let me = next;
            next += 1;
            vertices.push(json!({"id": me.to_string(), "metadata": {"type": kind, "name": format!("{kind}{id}"), "id": id, "rank": rank, "size": size, "paths": {"containment": path}}}));
            edges.push(json!({"source": parent.to_string(), "target": me.to_string()}));
            me
        };
        let mut core_id = 0;
        for n in 0..nodes {
            let npath = format!("/c0/node{n}");
            let node = add(&mut vertices, &mut edges, 0, "node", n, &npath, 1, n as i64);
            for s in 0..2 {
                let spath = format!("{npath}/socket{s}");
                let socket = add(
                    &mut vertices,
                    &mut edges,
                    node,
                    "socket",
                    n * 2 + s,
                    &spath,
                    1,
                    n as i64,
                );
                for _ in 0..cores {
                    add(
                        &mut vertices,
                        &mut edges,
                        socket,
                        "core",
                        core_id,
                        &format!("{spath}/core{core_id}"),
                        1,
                        n as i64,
                    );
                    core_id += 1;
                }
            }
            add(
                &mut vertices,
                &mut edges,
                node,
                "memory",
                n,
                &format!("{npath}/memory{n}"),
                16,
                n as i64,
            );
        }
        ResourceGraph::from_jgf_value(json!({"graph": {"nodes": vertices, "edges": edges}}), None)
            .unwrap()
    }

    fn jobspec(resources: serde_json::Value) -> Jobspec {
        Jobspec::from_value(
            json!({"version": 9999, "resources": resources, "attributes": {"system": {"duration": 60}},
                   "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}]}),
            None,
        )
        .unwrap()
    }

    fn node_slot_cores(nodes: u64, cores: u64) -> Jobspec {
        jobspec(
            json!([{"type": "node", "count": nodes, "with": [{"type": "slot", "label": "task", "count": 1,
            "with": [{"type": "socket", "count": 1, "with": [{"type": "core", "count": cores}]}]}]}]),
        )
    }

    fn held(g: &ResourceGraph, r: &MatchResult, kind: &str) -> u64 {
        r.allocation.as_ref().map_or(0, |a| {
            a.taken
                .iter()
                .filter(|t| t.exclusive && &*g.node(t.vertex).kind == kind)
                .map(|t| t.size)
                .sum()
        })
    }

    #[test]
    fn allocate_takes_exactly_the_cores_asked_for_exclusively() {
        let g = cluster(2, 4);
        let mut st = AllocState::new(&g);
        let r = Matcher::new(&g).allocate(&mut st, &node_slot_cores(2, 3), Policy::Low);
        assert_eq!(r.outcome, Outcome::Allocated);
        assert_eq!(held(&g, &r, "core"), 6);
        assert_eq!(held(&g, &r, "node"), 0, "nodes above the slot are shared");
    }

    #[test]
    fn low_and_high_policies_take_opposite_ends() {
        let g = cluster(3, 2);
        let js = node_slot_cores(1, 1);
        let first_node = |policy| {
            let mut st = AllocState::new(&g);
            let r = Matcher::new(&g).allocate(&mut st, &js, policy);
            let a = r.allocation.unwrap();
            a.taken
                .iter()
                .map(|t| g.node(t.vertex))
                .find(|n| &*n.kind == "node")
                .unwrap()
                .name
                .clone()
        };
        assert_eq!(first_node(Policy::Low), "node0");
        assert_eq!(first_node(Policy::High), "node2");
    }

    #[test]
    fn a_full_graph_is_busy_and_release_frees_it() {
        let g = cluster(1, 2);
        let mut st = AllocState::new(&g);
        let m = Matcher::new(&g);
        let js = node_slot_cores(1, 2);
        let first = m.allocate(&mut st, &js, Policy::First);
        assert_eq!(first.outcome, Outcome::Allocated);
        let second = m.allocate(&mut st, &js, Policy::First);
        assert_eq!(
            second.outcome,
            Outcome::Allocated,
            "the second socket is still free"
        );
        assert_eq!(
            m.allocate(&mut st, &js, Policy::First).outcome,
            Outcome::Busy
        );
        m.release(&mut st, first.allocation.unwrap().jobid).unwrap();
        assert_eq!(
            m.allocate(&mut st, &js, Policy::First).outcome,
            Outcome::Allocated
        );
    }

    #[test]
    fn more_than_the_graph_holds_is_unsatisfiable_with_a_reason() {
        let g = cluster(2, 4);
        let mut st = AllocState::new(&g);
        let r = Matcher::new(&g).satisfiable(&mut st, &node_slot_cores(3, 1), Policy::First);
        assert_eq!(r.outcome, Outcome::Unsatisfiable);
        let r = Matcher::new(&g).satisfiable(&mut st, &node_slot_cores(1, 5), Policy::First);
        assert_eq!(r.outcome, Outcome::Unsatisfiable);
        assert!(r.reason.unwrap().contains("socket must hold 5 core"));
    }

    #[test]
    fn a_type_the_graph_lacks_is_unsatisfiable() {
        let g = cluster(1, 1);
        let mut st = AllocState::new(&g);
        let js = jobspec(
            json!([{"type": "slot", "label": "task", "count": 1, "with": [{"type": "gpu", "count": 1}]}]),
        );
        let r = Matcher::new(&g).allocate(&mut st, &js, Policy::First);
        assert_eq!(r.outcome, Outcome::Unsatisfiable);
        assert!(r.reason.unwrap().contains("\"gpu\""));
    }

    #[test]
    fn skipping_a_level_below_the_first_match_is_unsatisfiable() {
        let g = cluster(1, 2);
        let mut st = AllocState::new(&g);
        let js = jobspec(
            json!([{"type": "node", "count": 1, "with": [{"type": "slot", "label": "task", "count": 1, "with": [{"type": "core", "count": 1}]}]}]),
        );
        let m = Matcher::new(&g);
        assert_eq!(
            m.satisfiable(&mut st, &js, Policy::First).outcome,
            Outcome::Unsatisfiable
        );
        assert_eq!(
            m.allocate(&mut st, &js, Policy::First).outcome,
            Outcome::Unsatisfiable
        );
        assert!(st.jobids().is_empty());
    }

    #[test]
    fn pooled_memory_is_taken_whole() {
        let g = cluster(1, 1);
        let mut st = AllocState::new(&g);
        let js = jobspec(
            json!([{"type": "node", "count": 1, "with": [{"type": "slot", "label": "task", "count": 1, "with": [{"type": "memory", "count": 4}]}]}]),
        );
        let r = Matcher::new(&g).allocate(&mut st, &js, Policy::Low);
        assert_eq!(held(&g, &r, "memory"), 16);
    }

    #[test]
    fn explicit_exclusive_takes_the_whole_subtree() {
        let g = cluster(1, 3);
        let mut st = AllocState::new(&g);
        let js = jobspec(
            json!([{"type": "node", "count": 1, "exclusive": true, "with": [{"type": "slot", "label": "task", "count": 1,
            "with": [{"type": "socket", "count": 1, "with": [{"type": "core", "count": 1}]}]}]}]),
        );
        let r = Matcher::new(&g).allocate(&mut st, &js, Policy::Low);
        assert_eq!(held(&g, &r, "core"), 6);
        assert_eq!(held(&g, &r, "node"), 1);
    }

    #[test]
    fn unknown_job_ids_cannot_be_released() {
        let g = cluster(1, 1);
        let mut st = AllocState::new(&g);
        assert!(Matcher::new(&g).release(&mut st, 42).is_err());
    }
}

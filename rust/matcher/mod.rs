//! Matching jobspecs against a resource graph with Fluxion's semantics, in time: a request
//! is allocated now, or reserved from the earliest time it fits for its whole duration given
//! every job already planned (resource-query's `allocate_orelse_reserve`), with the vertices
//! Fluxion's DFU traverser would take at that time.
//!
//! `planner` keeps the spans each job holds; `walk` is the traversal at one window of time;
//! `request` and `scoring` are its inputs and tables; `state` is what persists between calls.

mod cxxsort;
mod hasher;
#[cfg(test)]
mod oracle;
mod order;
mod planner;
mod request;
mod scoring;
mod shape;
mod state;
mod walk;

use std::cmp::Ordering;

pub use planner::{job_length, Time, Window, HORIZON};
pub use state::AllocState;

use crate::error::{Error, Result};
use crate::graph::{ResourceGraph, TypeId};
use crate::jobspec::Jobspec;
use request::{compile, Req, ABSENT, SLOT};
use walk::Walk;

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
    /// Taken now (`reserve` too, when the request fits now).
    Allocated,
    /// Taken from a later time (`reserve` only): the allocation's `at`.
    Reserved,
    /// Satisfiable (for `satisfiable`), or would fit on the empty graph but not now (for `allocate`).
    Satisfiable,
    Busy,
    Unsatisfiable,
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Allocated => "allocated",
            Outcome::Reserved => "reserved",
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

/// What one job holds, and when: every vertex it lists over `[at, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub jobid: u64,
    pub taken: Vec<Taken>,
    /// When the job starts, in seconds from the graph's time zero (0: now).
    pub at: Time,
    /// When it gives its vertices back (`HORIZON` for a job without a duration).
    pub end: Time,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchResult {
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub allocation: Option<Allocation>,
}

impl MatchResult {
    /// When the job starts (0 for an allocation now), if it was placed.
    pub fn at(&self) -> Option<Time> {
        self.allocation.as_ref().map(|a| a.at)
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
                            g.types().name(t),
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
            if let Some(t) = g.types().get(&name) {
                let have = g.subtree_total(g.root(), t);
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

    /// The request's least total per type, for the quick test at the root.
    fn root_needs(&self, js: &Jobspec) -> Vec<(TypeId, u64)> {
        js.counts()
            .into_iter()
            .filter_map(|(name, n)| self.graph.types().get(&name).map(|t| (t, n)))
            .collect()
    }

    /// Checks every placement makes first: the request's levels against the graph, its
    /// duration against the horizon, its nodes against those up. `Err` is the answer.
    fn admit(&self, js: &Jobspec) -> std::result::Result<(Vec<Req>, Time), MatchResult> {
        let reqs = self.prepare(js)?;
        let length = job_length(js.duration).map_err(|e| unsatisfiable(e.to_string()))?;
        Ok((reqs, length))
    }

    fn nodes_short(&self, js: &Jobspec) -> Option<String> {
        let wanted = js.counts().get("node").copied().unwrap_or(0);
        let up = self.graph.up_nodes();
        (wanted > 0 && wanted > up)
            .then(|| format!("the request needs {wanted} nodes, {up} are up"))
    }

    /// Walk the request over `window` and, when it fits, record it as job `jobid`.
    fn place(
        &self,
        st: &mut AllocState,
        js: &Jobspec,
        reqs: &[Req],
        policy: Policy,
        window: Window,
        jobid: u64,
    ) -> Placement {
        let mut walk = Walk::new(self.graph, st, js, policy, window, false);
        if !walk.select(reqs) {
            return Placement::DoesNotFit(walk.shortfall_reason("not enough free resources now"));
        }
        if !walk.takes_anything() {
            return Placement::LevelsSkipped;
        }
        Placement::Placed(walk.update(jobid))
    }

    /// Why a request that does not fit now does not: it would fit later (`Busy`), or it
    /// never fits, even with every vertex up and only jobs without an end holding theirs.
    fn not_now(
        &self,
        st: &mut AllocState,
        js: &Jobspec,
        reqs: &[Req],
        policy: Policy,
        busy_reason: String,
    ) -> MatchResult {
        let mut sat = Walk::new(self.graph, st, js, policy, Window::at_horizon(), true);
        if sat.select(reqs) {
            MatchResult {
                outcome: Outcome::Busy,
                reason: Some(busy_reason),
                allocation: None,
            }
        } else {
            unsatisfiable(sat.shortfall_reason("no way to fit the request on this graph"))
        }
    }

    /// Could the request ever be met: with every vertex up, and free but for what jobs
    /// without an end hold (Fluxion asks at the end of its planning horizon)?
    pub fn satisfiable(&self, st: &mut AllocState, js: &Jobspec, policy: Policy) -> MatchResult {
        let reqs = match self.prepare(js) {
            Ok(r) => r,
            Err(res) => return res,
        };
        let mut walk = Walk::new(self.graph, st, js, policy, Window::at_horizon(), true);
        if walk.select(&reqs) && walk.takes_anything() {
            MatchResult {
                outcome: Outcome::Satisfiable,
                reason: None,
                allocation: None,
            }
        } else if !walk.fell_short() {
            unsatisfiable(LEVELS_SKIPPED.to_owned())
        } else {
            unsatisfiable(walk.shortfall_reason("no way to fit the request on this graph"))
        }
    }

    /// Allocate the request now, for its whole duration, around every job planned
    /// (resource-query's `allocate_with_satisfiability`).
    pub fn allocate(&self, st: &mut AllocState, js: &Jobspec, policy: Policy) -> MatchResult {
        let jobid = st.next_jobid;
        st.next_jobid += 1;
        let (reqs, length) = match self.admit(js) {
            Ok(x) => x,
            Err(res) => return res,
        };
        if let Some(reason) = self.nodes_short(js) {
            return unsatisfiable(reason);
        }
        match self.place(st, js, &reqs, policy, Window::new(0, length), jobid) {
            Placement::Placed(allocation) => allocated(Outcome::Allocated, allocation),
            Placement::LevelsSkipped => unsatisfiable(LEVELS_SKIPPED.to_owned()),
            Placement::DoesNotFit(reason) => self.not_now(st, js, &reqs, policy, reason),
        }
    }

    /// Allocate the request now or else reserve it from the earliest time it fits for its
    /// whole duration (resource-query's `allocate_orelse_reserve`). That time is now or the
    /// end of a job held: only then can a window become free. A request without a duration
    /// holds its vertices to the horizon, so it is allocated now or not at all (`Busy`).
    /// The graph is walked only at the times its root has enough of each type free for the
    /// whole window, found from the planner's spans.
    pub fn reserve(&self, st: &mut AllocState, js: &Jobspec, policy: Policy) -> MatchResult {
        let jobid = st.next_jobid;
        st.next_jobid += 1;
        let (reqs, length) = match self.admit(js) {
            Ok(x) => x,
            Err(res) => return res,
        };
        if let Some(reason) = self.nodes_short(js) {
            return MatchResult {
                outcome: Outcome::Busy,
                reason: Some(reason),
                allocation: None,
            };
        }
        let g = self.graph;
        let needs: Vec<(TypeId, u64, u64)> = self
            .root_needs(js)
            .into_iter()
            .map(|(t, n)| (t, g.subtree_total(g.root(), t), n))
            .collect();
        let fits_at = |st: &AllocState, at: Time| st.plan.first_fit(g.root(), &needs, at, length);
        let mut reason = None;
        let mut start = fits_at(st, 0);
        while let Some(at) = start {
            let outcome = if at == 0 {
                Outcome::Allocated
            } else {
                Outcome::Reserved
            };
            match self.place(st, js, &reqs, policy, Window::new(at, length), jobid) {
                Placement::Placed(allocation) => return allocated(outcome, allocation),
                Placement::LevelsSkipped => return unsatisfiable(LEVELS_SKIPPED.to_owned()),
                Placement::DoesNotFit(why) => reason = Some(why),
            }
            start = st.plan.next_end(at).and_then(|at| fits_at(st, at));
        }
        // Why it does not fit: the last walk's word, or the walk's now when none was needed.
        let reason = match reason {
            Some(reason) => reason,
            None => match self.place(st, js, &reqs, policy, Window::new(0, length), jobid) {
                Placement::Placed(allocation) => return allocated(Outcome::Allocated, allocation),
                Placement::LevelsSkipped => return unsatisfiable(LEVELS_SKIPPED.to_owned()),
                Placement::DoesNotFit(why) => why,
            },
        };
        self.not_now(st, js, &reqs, policy, reason)
    }

    /// Record a job its scheduler already placed: on each node of `claims`, `Some(n)` of its
    /// cores (the first free over `window`, in containment order) or `None` for the whole node,
    /// held over `window`. `Err` when a node cannot give that over the window.
    pub fn hold(
        &self,
        st: &mut AllocState,
        claims: &[(u32, Option<u64>)],
        window: Window,
        policy: Policy,
    ) -> Result<Allocation> {
        let g = self.graph;
        if window.start < 0 || window.end <= window.start || window.end > HORIZON {
            return Err(Error::matching(format!(
                "a job is held over [{}, {}) seconds: it must start at 0 or later and end after \
                 it starts, within the planning horizon ({HORIZON} s)",
                window.start, window.end
            )));
        }
        let core = g.types().get("core");
        let mut chosen = Vec::new();
        for &(node, cores) in claims {
            let name = g.name(node);
            match cores {
                None => {
                    if st.listed_during(g, node, window) {
                        return Err(Error::matching(format!(
                            "node {name} is not free over [{}, {}) for a job that holds it whole",
                            window.start, window.end
                        )));
                    }
                    chosen.extend(subtree(g, node));
                }
                Some(n) => {
                    let free: Vec<u32> = subtree(g, node)
                        .filter(|&v| Some(g.kind(v)) == core)
                        .filter(|&v| !st.listed_during(g, v, window))
                        .take(n as usize)
                        .collect();
                    if (free.len() as u64) < n {
                        return Err(Error::matching(format!(
                            "node {name} has {} cores free over [{}, {}), the job holds {n}",
                            free.len(),
                            window.start,
                            window.end
                        )));
                    }
                    chosen.extend(free);
                }
            }
        }
        let jobid = st.next_jobid;
        st.next_jobid += 1;
        let mut walk = Walk::for_claim(g, st, policy, window);
        walk.claim(&chosen);
        Ok(walk.update(jobid))
    }

    /// Give back what job `jobid` holds, or cancel its reservation: its span is free at once.
    pub fn release(&self, st: &mut AllocState, jobid: u64) -> Result<()> {
        let allocation = st.allocations.remove(&jobid).ok_or_else(|| {
            Error::matching(format!(
                "no allocation with job id {jobid} is held on this graph (now or reserved)"
            ))
        })?;
        let listed: Vec<u32> = allocation.taken.iter().map(|t| t.vertex).collect();
        let held = Window {
            start: allocation.at,
            end: allocation.end,
        };
        st.plan.cancel(jobid, &listed, held);
        Ok(())
    }
}

/// `v` and every vertex below it, in containment order.
fn subtree(g: &ResourceGraph, v: u32) -> impl Iterator<Item = u32> + '_ {
    let mut stack = vec![v];
    std::iter::from_fn(move || {
        let u = stack.pop()?;
        stack.extend(g.children(u).iter().rev());
        Some(u)
    })
}

/// What one walk at one window gave.
enum Placement {
    Placed(Allocation),
    /// The request's levels skip a level of the graph: it never fits.
    LevelsSkipped,
    /// Nothing fits over the window; why, naming the level that fell short.
    DoesNotFit(String),
}

fn allocated(outcome: Outcome, allocation: Allocation) -> MatchResult {
    MatchResult {
        outcome,
        reason: None,
        allocation: Some(allocation),
    }
}

/// Order taken vertices by containment path, for display and comparison.
pub fn by_path(g: &ResourceGraph, taken: &mut [Taken]) {
    taken.sort_by(|a, b| match g.path(a.vertex).cmp(&g.path(b.vertex)) {
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
                .filter(|t| t.exclusive && g.type_name(t.vertex) == kind)
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
                .map(|t| t.vertex)
                .find(|&v| g.type_name(v) == "node")
                .map(|v| g.name(v).to_owned())
                .unwrap()
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

    fn timed(nodes: u64, cores: u64, duration: Option<u64>) -> Jobspec {
        let mut doc = json!({"version": 9999, "resources": [{"type": "node", "count": nodes, "with": [
                {"type": "slot", "label": "task", "count": 1, "with": [
                    {"type": "socket", "count": 1, "with": [{"type": "core", "count": cores}]}]}]}],
            "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}]});
        if let Some(d) = duration {
            doc["attributes"] = json!({"system": {"duration": d}});
        }
        Jobspec::from_value(doc, None).unwrap()
    }

    #[test]
    fn reserve_starts_when_the_job_holding_the_vertices_ends() {
        let g = cluster(1, 2);
        let mut st = AllocState::new(&g);
        let m = Matcher::new(&g);
        let whole = timed(1, 2, Some(600));
        assert_eq!(m.reserve(&mut st, &whole, Policy::Low).at(), Some(0));
        assert_eq!(
            m.reserve(&mut st, &whole, Policy::Low).at(),
            Some(0),
            "second socket"
        );
        let third = m.reserve(&mut st, &whole, Policy::Low);
        assert_eq!(third.outcome, Outcome::Reserved);
        assert_eq!(third.at(), Some(600));
        assert_eq!(third.allocation.unwrap().end, 1200);
    }

    #[test]
    fn a_short_job_backfills_before_a_reservation_and_allocate_respects_it() {
        let g = cluster(1, 2);
        let mut st = AllocState::new(&g);
        let m = Matcher::new(&g);
        let long = timed(1, 2, Some(3600));
        m.reserve(&mut st, &long, Policy::Low);
        m.reserve(&mut st, &long, Policy::Low);
        // Both sockets are busy until 3600; a reservation takes socket 0 over [3600, 7200).
        let later = m.reserve(&mut st, &long, Policy::Low);
        assert_eq!(later.at(), Some(3600));
        m.release(&mut st, 1).unwrap();
        // Socket 0 is free over [0, 3600): a job of 600 s fits before the reservation...
        let short = m.allocate(&mut st, &timed(1, 2, Some(600)), Policy::Low);
        assert_eq!(short.outcome, Outcome::Allocated);
        // ...but one of 7200 s would overlap it, and socket 1 is busy: not now.
        let too_long = m.allocate(&mut st, &timed(1, 2, Some(7200)), Policy::Low);
        assert_eq!(too_long.outcome, Outcome::Busy);
    }

    #[test]
    fn cancelling_a_reservation_frees_its_span_at_once() {
        let g = cluster(1, 1);
        let mut st = AllocState::new(&g);
        let m = Matcher::new(&g);
        let js = timed(1, 1, Some(600));
        for _ in 0..2 {
            m.reserve(&mut st, &js, Policy::Low);
        }
        let first_later = m.reserve(&mut st, &js, Policy::Low);
        assert_eq!(first_later.at(), Some(600));
        assert_eq!(m.reserve(&mut st, &js, Policy::Low).at(), Some(600));
        assert_eq!(m.reserve(&mut st, &js, Policy::Low).at(), Some(1200));
        m.release(&mut st, first_later.allocation.unwrap().jobid)
            .unwrap();
        assert_eq!(m.reserve(&mut st, &js, Policy::Low).at(), Some(600));
    }

    #[test]
    fn a_job_without_a_duration_holds_to_the_horizon_and_is_never_reserved() {
        let g = cluster(1, 2);
        let mut st = AllocState::new(&g);
        let m = Matcher::new(&g);
        let (finite, forever) = (timed(1, 2, Some(600)), timed(1, 2, None));
        m.reserve(&mut st, &finite, Policy::Low);
        m.reserve(&mut st, &finite, Policy::Low);
        let waits = m.reserve(&mut st, &forever, Policy::Low);
        assert_eq!(waits.outcome, Outcome::Busy, "it can only start now");
        m.release(&mut st, 1).unwrap();
        let held = m.reserve(&mut st, &forever, Policy::Low);
        assert_eq!(
            held.allocation.as_ref().map(|a| (a.at, a.end)),
            Some((0, HORIZON))
        );
        // Socket 1 frees at 600; socket 0 is held for good.
        let r = m.satisfiable(&mut st, &timed(1, 2, Some(60)), Policy::Low);
        assert_eq!(r.outcome, Outcome::Satisfiable);
        assert_eq!(
            m.reserve(&mut st, &forever, Policy::Low).outcome,
            Outcome::Busy
        );
        m.release(&mut st, 2).unwrap();
        m.reserve(&mut st, &forever, Policy::Low);
        let r = m.satisfiable(&mut st, &timed(1, 2, Some(60)), Policy::Low);
        assert_eq!(
            r.outcome,
            Outcome::Unsatisfiable,
            "both sockets are held for good"
        );
    }

    #[test]
    fn a_job_placed_by_its_scheduler_holds_the_cores_named() {
        let g = cluster(2, 2);
        let mut st = AllocState::new(&g);
        let m = Matcher::new(&g);
        let node0 = (0..g.len() as u32).find(|&v| g.name(v) == "node0").unwrap();
        let held = m
            .hold(
                &mut st,
                &[(node0, Some(3))],
                Window::new(0, 900),
                Policy::First,
            )
            .unwrap();
        let cores = held.taken.iter().filter(|t| t.exclusive).count();
        assert_eq!(cores, 3);
        // One core of node0 is left: a job wanting a whole socket there waits for the hold.
        let both = timed(2, 2, Some(60));
        assert_eq!(m.reserve(&mut st, &both, Policy::Low).at(), Some(900));
        let err = m
            .hold(
                &mut st,
                &[(node0, Some(2))],
                Window::new(0, 60),
                Policy::First,
            )
            .unwrap_err();
        assert!(err.to_string().contains("node0 has 1 cores free"), "{err}");
    }

    #[test]
    fn a_duration_past_the_horizon_is_unsatisfiable_with_a_reason() {
        let g = cluster(1, 1);
        let mut st = AllocState::new(&g);
        let js = timed(1, 1, Some(HORIZON as u64 + 1));
        let r = Matcher::new(&g).reserve(&mut st, &js, Policy::Low);
        assert_eq!(r.outcome, Outcome::Unsatisfiable);
        assert!(r.reason.unwrap().contains("planning horizon"));
    }
}

//! The planned future of one graph: the span of time each job holds each vertex it lists, and
//! per vertex with children, per type, what its subtree holds over time as a sorted list of
//! the times that amount changes, so that the least free over any window is a binary search
//! and a read of the changes inside it, and the earliest start at which a subtree holds
//! enough for a whole window is found without replaying time.
//!
//! Time is in whole seconds from the graph's time zero ("now" when nothing else is said), over
//! resource-query's planning horizon `[0, HORIZON)`. A job holds its vertices over
//! `[at, at + length)`; a job without a duration (0 or absent) holds them to the horizon, as
//! Fluxion's `jobmeta_t::build` gives it the whole graph duration.

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, Result};
use crate::graph::{ResourceGraph, TypeId};

/// Seconds from the graph's time zero.
pub type Time = i64;

/// The end of the planning horizon: resource-query plans a graph over 100 years
/// (flux-sched's `SYSTEM_MAX_DURATION`).
pub const HORIZON: Time = 3_153_600_000;

/// A span of time `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Time,
    pub end: Time,
}

impl Window {
    pub fn new(start: Time, length: Time) -> Window {
        Window {
            start,
            end: start.saturating_add(length),
        }
    }

    /// The last instant of the horizon: what is held there is held forever, so a request that
    /// does not fit then never fits (satisfiability sees only jobs without an end).
    pub fn at_horizon() -> Window {
        Window {
            start: HORIZON - 1,
            end: HORIZON,
        }
    }

    fn overlaps(&self, start: Time, end: Time) -> bool {
        start < self.end && self.start < end
    }
}

/// How long a job with this `attributes.system.duration` holds its resources: the duration
/// rounded up to whole seconds, or the whole horizon when it is 0 or absent.
pub fn job_length(duration: Option<f64>) -> Result<Time> {
    let Some(d) = duration.filter(|&d| d != 0.0) else {
        return Ok(HORIZON);
    };
    if d.is_finite() && d > 0.0 && d.ceil() <= HORIZON as f64 {
        return Ok(d.ceil() as Time);
    }
    Err(Error::matching(format!(
        "attributes.system.duration {d} is not a number of seconds between 0 and the \
         planning horizon ({HORIZON} s)"
    )))
}

/// One job's claim on one vertex: listed over `[start, end)`, holding `amount` of it
/// exclusively when `exclusive`, and with it everything below when `whole` (then nothing below
/// records the job).
#[derive(Debug, Clone, Copy)]
struct Hold {
    start: Time,
    end: Time,
    amount: u64,
    exclusive: bool,
    whole: bool,
    job: u64,
}

/// What a subtree holds of one type over time: from each point's time to the next point's, the
/// point's amount; nothing before the first. Times increase and each amount differs from the
/// one before it (0 before the first point), so no point is redundant.
#[derive(Debug, Clone)]
struct Line {
    kind: TypeId,
    points: Vec<(Time, u64)>,
}

impl Line {
    /// The amount held just before point `i`.
    fn before(&self, i: usize) -> u64 {
        if i == 0 {
            0
        } else {
            self.points[i - 1].1
        }
    }

    /// The index of the point at `t`, made if there is none (holding what is held then).
    fn split(&mut self, t: Time) -> usize {
        let i = self.points.partition_point(|p| p.0 < t);
        if self.points.get(i).is_none_or(|p| p.0 != t) {
            let level = self.before(i);
            self.points.insert(i, (t, level));
        }
        i
    }

    /// Drop point `i` when it changes nothing.
    fn prune(&mut self, i: usize) {
        if i < self.points.len() && self.points[i].1 == self.before(i) {
            self.points.remove(i);
        }
    }

    /// Add `amount` over `w` (take it away with `grow` false).
    fn change(&mut self, w: Window, amount: u64, grow: bool) {
        let i = self.split(w.start);
        let j = self.split(w.end);
        for p in &mut self.points[i..j] {
            p.1 = if grow {
                p.1 + amount
            } else {
                p.1.saturating_sub(amount)
            };
        }
        self.prune(j);
        self.prune(i);
    }

    /// The most held at any time in `w`.
    fn peak(&self, w: Window) -> u64 {
        let i = self.points.partition_point(|p| p.0 <= w.start);
        self.points[i..]
            .iter()
            .take_while(|p| p.0 < w.end)
            .map(|p| p.1)
            .fold(self.before(i), u64::max)
    }

    /// The earliest time at or after `w.start` from which no more than `most` is held until
    /// `w.end`: `w.start` itself when that holds over the whole window, else the time the
    /// last excess in the window ends (`HORIZON` when it never ends).
    fn clear_from(&self, w: Window, most: u64) -> Time {
        let i = self.points.partition_point(|p| p.0 <= w.start);
        let inside = self.points[i..].partition_point(|p| p.0 < w.end) + i;
        // The segments in the window start at points i-1 (from before the window) to inside-1.
        let last_over = (i.saturating_sub(1)..inside)
            .rev()
            .find(|&k| self.points[k].1 > most);
        match last_over {
            None => w.start,
            Some(k) => self.points.get(k + 1).map_or(HORIZON, |p| p.0),
        }
    }
}

/// Where a vertex's exclusive holds begin (they come after what jobs only list): read at the
/// ends when all or none are exclusive, as on most vertices.
fn first_exclusive(holds: &[Hold]) -> usize {
    match (holds.first(), holds.last()) {
        (Some(first), _) if first.exclusive => 0,
        (_, Some(last)) if !last.exclusive => holds.len(),
        _ => holds.partition_point(|h| !h.exclusive),
    }
}

/// A span of time `[start, end)` in the 32 bits a second of the horizon needs: every hold lies
/// within `[0, HORIZON]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

/// No time at all.
const NEVER: Span = Span {
    start: u32::MAX,
    end: 0,
};

impl Span {
    fn of(start: Time, end: Time) -> Span {
        let stamp = |t: Time| t.clamp(0, Time::from(u32::MAX)) as u32;
        Span {
            start: stamp(start),
            end: stamp(end),
        }
    }

    fn meets(self, w: Window) -> bool {
        w.overlaps(Time::from(self.start), Time::from(self.end))
    }
}

/// What a vertex's holds come to, read before (and mostly instead of) the holds themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Summary {
    /// From the first start to the last end of its holds: outside it the vertex, and its
    /// subtree, are free.
    hull: Span,
    /// The exclusive hold that ends last, and its amount (at most `u32::MAX`): inside it at
    /// least that much of the vertex is held.
    tail: Span,
    tail_amount: u32,
    /// From the first start to the last end of the holds that take the subtree whole.
    whole: Span,
}

impl Summary {
    const IDLE: Summary = Summary {
        hull: NEVER,
        tail: NEVER,
        tail_amount: 0,
        whole: NEVER,
    };

    fn add(&mut self, h: &Hold) {
        let span = Span::of(h.start, h.end);
        self.hull.start = self.hull.start.min(span.start);
        self.hull.end = self.hull.end.max(span.end);
        if h.whole {
            self.whole.start = self.whole.start.min(span.start);
            self.whole.end = self.whole.end.max(span.end);
        }
        if h.exclusive && span.end >= self.tail.end {
            self.tail = span;
            self.tail_amount = u32::try_from(h.amount).unwrap_or(u32::MAX);
        }
    }
}

/// No lines kept for a vertex yet.
const NO_LINES: u32 = u32::MAX;

/// Every job's spans on a graph's vertices.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The holds of each vertex, the exclusive ones last (what a job only lists, as every
    /// job lists the root, is passed over without reading it when counting what is held).
    holds: Vec<Vec<Hold>>,
    /// What the holds of each vertex come to, in one dense array.
    summary: Vec<Summary>,
    /// Where the lines of each vertex with children are in `lines`, once a job held there.
    lines_at: Vec<u32>,
    /// Per vertex with children that a job held, what its subtree holds of each type over time.
    lines: Vec<Vec<Line>>,
    /// What each job promised in subtrees: the vertex, the type and the amount, over the
    /// job's window; what `cancel` takes back.
    promised: HashMap<u64, Vec<(u32, TypeId, u64)>>,
    /// How many jobs end at each time: the times a reservation may start.
    ends: BTreeMap<Time, u32>,
}

impl Plan {
    pub fn new(g: &ResourceGraph) -> Plan {
        Plan {
            holds: vec![Vec::new(); g.len()],
            summary: vec![Summary::IDLE; g.len()],
            lines_at: vec![NO_LINES; g.len()],
            lines: Vec::new(),
            promised: HashMap::new(),
            ends: BTreeMap::new(),
        }
    }

    /// Whether no job lists `v` at any time, nor so anything below it: a job lists every
    /// vertex from the root down to each it takes.
    pub fn idle(&self, v: u32) -> bool {
        self.holds[v as usize].is_empty()
    }

    /// Whether no job lists `v`, nor anything below it, at any time in `w`.
    fn clear_during(&self, v: u32, w: Window) -> bool {
        !self.summary[v as usize].hull.meets(w)
    }

    /// Is any job listed on `v` at some time in `w`? (Fluxion's exclusivity checker.)
    pub fn listed_during(&self, v: u32, w: Window) -> bool {
        let summary = self.summary[v as usize];
        summary.hull.meets(w)
            && (summary.tail.meets(w)
                || self.holds[v as usize]
                    .iter()
                    .any(|h| w.overlaps(h.start, h.end)))
    }

    /// Does a job take `v` with its whole subtree at some time in `w`? Below such a hold
    /// nothing records the job: a walk never passes `v` then, and other questions about the
    /// vertices below ask their ancestors this.
    pub fn whole_during(&self, v: u32, w: Window) -> bool {
        self.summary[v as usize].whole.meets(w)
            && self.holds[v as usize]
                .iter()
                .any(|h| h.whole && w.overlaps(h.start, h.end))
    }

    /// How much of `v` (of `size`) no job holds exclusively at any time in `w`.
    pub fn avail_during(&self, v: u32, size: u64, w: Window) -> u64 {
        let summary = self.summary[v as usize];
        if !summary.hull.meets(w) {
            return size;
        }
        if summary.tail.meets(w) && u64::from(summary.tail_amount) >= size {
            return 0;
        }
        let holds = &self.holds[v as usize];
        let holds = &holds[first_exclusive(holds)..];
        let mut peak = 0u64;
        for h in holds.iter().filter(|h| w.overlaps(h.start, h.end)) {
            // The most held at once is held at the start of some overlapping hold.
            let at = h.start.max(w.start);
            let held: u64 = holds
                .iter()
                .filter(|o| o.start <= at && at < o.end)
                .map(|o| o.amount)
                .sum();
            peak = peak.max(held);
        }
        size.saturating_sub(peak)
    }

    /// The line of type `t` below `v`, if a job ever held some there.
    fn line(&self, v: u32, t: TypeId) -> Option<&Line> {
        let at = self.lines_at[v as usize];
        if at == NO_LINES {
            return None;
        }
        self.lines[at as usize].iter().find(|l| l.kind == t)
    }

    /// The least amount of type `t` free in the subtree of `v` (of `total`) at any time in `w`.
    pub fn subtree_free_during(&self, v: u32, t: TypeId, total: u64, w: Window) -> u64 {
        if self.clear_during(v, w) {
            return total;
        }
        let held = self.line(v, t).map_or(0, |l| l.peak(w));
        total.saturating_sub(held)
    }

    /// The amount of type `t` free in the subtree of `v` (of `total`) at instant `at`.
    pub fn subtree_free_at(&self, v: u32, t: TypeId, total: u64, at: Time) -> u64 {
        self.subtree_free_during(v, t, total, Window::new(at, 1))
    }

    /// The first time after `after` at which some job ends.
    pub fn next_end(&self, after: Time) -> Option<Time> {
        self.ends
            .range(after.saturating_add(1)..)
            .next()
            .map(|(&t, _)| t)
    }

    /// The earliest start `at` or after, `at` itself or a time some job ends, from which the
    /// subtree of `v` has, throughout `length` seconds ending within the horizon, at least
    /// `n` of each type `t` free given its `total`, for every `(t, total, n)` in `needs`.
    pub fn first_fit(
        &self,
        v: u32,
        needs: &[(TypeId, u64, u64)],
        at: Time,
        length: Time,
    ) -> Option<Time> {
        let mut start = at;
        loop {
            let w = Window::new(start, length);
            if w.end > HORIZON {
                return None;
            }
            let mut clear = start;
            for &(t, total, n) in needs {
                let most = total.checked_sub(n)?;
                if let Some(l) = self.line(v, t) {
                    clear = clear.max(l.clear_from(w, most));
                }
            }
            if clear == start {
                return Some(start);
            }
            // No start before `clear` fits: the excess that ends then lies in its window.
            start = self.next_end(clear - 1)?;
        }
    }

    /// Record that `job` lists `v` over `w`, holding `amount` of it when `exclusive`, and
    /// everything below it when `whole` (which is exclusive).
    pub fn hold(&mut self, v: u32, w: Window, amount: u64, exclusive: bool, whole: bool, job: u64) {
        let exclusive = exclusive || whole;
        let holds = &mut self.holds[v as usize];
        // An exclusive hold goes last without reading the others: most holds are.
        let at = if exclusive {
            holds.len()
        } else {
            first_exclusive(holds)
        };
        let hold = Hold {
            start: w.start,
            end: w.end,
            amount,
            exclusive,
            whole,
            job,
        };
        holds.insert(at, hold);
        self.summary[v as usize].add(&hold);
    }

    /// Record that over `w` `job` holds `held[t]` of each type `t` in the subtree of `v`.
    pub fn promise(&mut self, v: u32, w: Window, job: u64, held: &[u64]) {
        if self.lines_at[v as usize] == NO_LINES {
            self.lines_at[v as usize] = self.lines.len() as u32;
            self.lines.push(Vec::new());
        }
        let lines = &mut self.lines[self.lines_at[v as usize] as usize];
        let promised = self.promised.entry(job).or_default();
        for (kind, &amount) in held.iter().enumerate().filter(|(_, &a)| a > 0) {
            let kind = kind as TypeId;
            let i = match lines.iter().position(|l| l.kind == kind) {
                Some(i) => i,
                None => {
                    lines.push(Line {
                        kind,
                        points: Vec::new(),
                    });
                    lines.len() - 1
                }
            };
            lines[i].change(w, amount, true);
            promised.push((v, kind, amount));
        }
    }

    /// Record that a job ends at `end`.
    pub fn add_end(&mut self, end: Time) {
        *self.ends.entry(end).or_default() += 1;
    }

    /// Forget every span of `job`, held over `w`, on the vertices it lists (every vertex that
    /// holds a span of it, subtrees included).
    pub fn cancel(&mut self, job: u64, listed: &[u32], w: Window) {
        for &v in listed {
            let holds = &mut self.holds[v as usize];
            holds.retain(|h| h.job != job);
            let summary = &mut self.summary[v as usize];
            *summary = Summary::IDLE;
            for h in holds.iter() {
                summary.add(h);
            }
        }
        for (v, kind, amount) in self.promised.remove(&job).unwrap_or_default() {
            let lines = &mut self.lines[self.lines_at[v as usize] as usize];
            if let Some(l) = lines.iter_mut().find(|l| l.kind == kind) {
                l.change(w, amount, false);
            }
        }
        if let Some(n) = self.ends.get_mut(&w.end) {
            *n -= 1;
            if *n == 0 {
                self.ends.remove(&w.end);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    /// A root and one leaf: the plan needs only the number of vertices.
    fn graph() -> ResourceGraph {
        let vertex = |id: &str, kind: &str, path: &str| {
            json!({"id": id, "metadata": {"type": kind, "name": format!("{kind}0"), "id": 0,
                                          "paths": {"containment": path}}})
        };
        let doc = json!({"graph": {
            "nodes": [vertex("0", "cluster", "/cluster0"), vertex("1", "core", "/cluster0/core0")],
            "edges": [{"source": "0", "target": "1"}]}});
        ResourceGraph::from_jgf_value(doc, None).unwrap()
    }

    const ROOT: u32 = 0;
    const LEAF: u32 = 1;
    /// Enough of each type below the root that no test history holds it all.
    const TOTAL: u64 = 1_000;
    const LEAF_SIZE: u64 = 4;

    /// One job of a test history: its window, what it holds below the root of types 0 and 1,
    /// what it holds of the leaf, and whether it takes the root whole.
    #[derive(Debug, Clone)]
    struct Job {
        id: u64,
        w: Window,
        below: [u64; 2],
        leaf: u64,
        exclusive: bool,
        whole: bool,
    }

    /// What the jobs hold below the root of type `kind` at instant `x`, by replaying them.
    fn held_at(jobs: &[Job], kind: usize, x: Time) -> u64 {
        jobs.iter()
            .filter(|j| j.w.start <= x && x < j.w.end)
            .map(|j| j.below[kind])
            .sum()
    }

    fn peak(jobs: &[Job], kind: usize, w: Window) -> u64 {
        (w.start..w.end)
            .map(|x| held_at(jobs, kind, x))
            .max()
            .unwrap_or(0)
    }

    /// The earliest start at `at` or at a job's end after it with room for `needs` throughout
    /// `length`, trying every candidate in turn.
    fn first_fit_by_replay(jobs: &[Job], needs: [u64; 2], at: Time, length: Time) -> Option<Time> {
        let mut starts: Vec<Time> = jobs.iter().map(|j| j.w.end).filter(|&e| e > at).collect();
        starts.push(at);
        starts.sort_unstable();
        starts.dedup();
        for t in starts {
            let w = Window::new(t, length);
            if w.end > HORIZON {
                return None;
            }
            if (0..2).all(|k| peak(jobs, k, w) <= TOTAL - needs[k]) {
                return Some(t);
            }
        }
        None
    }

    fn job_strategy() -> impl Strategy<Value = (Time, Time, [u64; 2], u64, bool, u8, bool)> {
        (
            0..120i64,
            prop_oneof![4 => 1..40i64, 1 => Just(HORIZON)],
            [0..4u64, 0..4u64],
            0..=LEAF_SIZE,
            any::<bool>(),
            0..4u8,
            prop::bool::weighted(0.2),
        )
    }

    /// Every line's change points increase in time and each changes the amount held.
    fn assert_lines_minimal(plan: &Plan) {
        for line in plan.lines.iter().flatten() {
            for (i, p) in line.points.iter().enumerate() {
                assert_ne!(p.1, line.before(i), "redundant point {p:?} in {line:?}");
                if i > 0 {
                    assert!(line.points[i - 1].0 < p.0, "unsorted {line:?}");
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Promise and cancel random jobs; after each step the planner answers what replaying
        /// the live jobs second by second answers: the least free below the root over windows,
        /// whether a job takes the root whole, what the leaf's holds leave and whether a job
        /// lists it, and the earliest start.
        #[test]
        fn the_planner_answers_as_replaying_time_does(
            steps in prop::collection::vec(job_strategy(), 1..30),
        ) {
            let g = graph();
            let mut plan = Plan::new(&g);
            let mut live: Vec<Job> = Vec::new();
            for (id, (start, length, below, leaf, exclusive, cancel, whole)) in steps.into_iter().enumerate() {
                if cancel == 0 && !live.is_empty() {
                    let gone = live.remove(start as usize % live.len());
                    plan.cancel(gone.id, &[ROOT, LEAF], gone.w);
                } else {
                    let w = Window { start, end: start.saturating_add(length).min(HORIZON) };
                    let job = Job { id: id as u64, w, below, leaf, exclusive, whole };
                    plan.hold(ROOT, w, 0, false, whole, job.id);
                    plan.hold(LEAF, w, leaf, exclusive, false, job.id);
                    plan.promise(ROOT, w, job.id, &below);
                    plan.add_end(w.end);
                    live.push(job);
                }
                assert_lines_minimal(&plan);
                for s in (0..170).step_by(3) {
                    for length in [1, 2, 7, 25] {
                        let w = Window::new(s, length);
                        for kind in 0..2 {
                            prop_assert_eq!(
                                plan.subtree_free_during(ROOT, kind as TypeId, TOTAL, w),
                                TOTAL - peak(&live, kind, w),
                                "type {} over {:?}", kind, w
                            );
                        }
                        let whole = live.iter().any(|j| j.whole && w.overlaps(j.w.start, j.w.end));
                        prop_assert_eq!(plan.whole_during(ROOT, w), whole);
                        let listed = live.iter().any(|j| w.overlaps(j.w.start, j.w.end));
                        prop_assert_eq!(plan.listed_during(LEAF, w), listed);
                        let leaf_peak = (w.start..w.end)
                            .map(|x| live.iter()
                                .filter(|j| j.exclusive && j.w.start <= x && x < j.w.end)
                                .map(|j| j.leaf)
                                .sum::<u64>())
                            .max()
                            .unwrap_or(0);
                        prop_assert_eq!(
                            plan.avail_during(LEAF, LEAF_SIZE, w),
                            LEAF_SIZE.saturating_sub(leaf_peak)
                        );
                    }
                }
                for at in [0, 5, 40, 90] {
                    for length in [1, 10, 30] {
                        for needs in [[1, 1], [TOTAL - 3, 0], [0, TOTAL - 5], [TOTAL - 6, TOTAL - 2]] {
                            let n = [(0, TOTAL, needs[0]), (1, TOTAL, needs[1])];
                            prop_assert_eq!(
                                plan.first_fit(ROOT, &n, at, length),
                                first_fit_by_replay(&live, needs, at, length),
                                "needs {:?} from {} for {}", needs, at, length
                            );
                        }
                    }
                }
            }
            for job in std::mem::take(&mut live) {
                plan.cancel(job.id, &[ROOT, LEAF], job.w);
            }
            prop_assert!(plan.lines.iter().flatten().all(|l| l.points.is_empty()));
            prop_assert!(plan.ends.is_empty() && plan.promised.is_empty());
            prop_assert_eq!(plan.summary[LEAF as usize], Summary::IDLE);
            prop_assert!(plan.idle(ROOT) && plan.idle(LEAF));
        }
    }
}

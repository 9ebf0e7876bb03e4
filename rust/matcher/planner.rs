//! The planned future of one graph: the span of time each job holds each vertex it lists, and
//! per vertex with children the amount of each type its subtree has promised over time, so
//! that what is free over any window is read from the spans without replaying time.
//!
//! Time is in whole seconds from the graph's time zero ("now" when nothing else is said), over
//! resource-query's planning horizon `[0, HORIZON)`. A job holds its vertices over
//! `[at, at + length)`; a job without a duration (0 or absent) holds them to the horizon, as
//! Fluxion's `jobmeta_t::build` gives it the whole graph duration.

use std::collections::BTreeMap;

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
/// exclusively when `exclusive`.
#[derive(Debug, Clone, Copy)]
struct Hold {
    start: Time,
    end: Time,
    amount: u64,
    exclusive: bool,
    job: u64,
}

/// A change, at `at`, of the amount of type `kind` held in a subtree.
#[derive(Debug, Clone, Copy)]
struct Step {
    at: Time,
    kind: TypeId,
    delta: i64,
    job: u64,
}

/// Every job's spans on a graph's vertices.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The holds of each vertex.
    holds: Vec<Vec<Hold>>,
    /// For each vertex with children, the changes of what its subtree holds, sorted by time.
    steps: Vec<Vec<Step>>,
    /// How many jobs end at each time: the times a reservation may start.
    ends: BTreeMap<Time, u32>,
}

impl Plan {
    pub fn new(g: &ResourceGraph) -> Plan {
        Plan {
            holds: vec![Vec::new(); g.len()],
            steps: vec![Vec::new(); g.len()],
            ends: BTreeMap::new(),
        }
    }

    /// Whether no job lists `v` at any time, nor so anything below it: a job lists every
    /// vertex from the root down to each it takes.
    pub fn idle(&self, v: u32) -> bool {
        self.holds[v as usize].is_empty()
    }

    /// Is any job listed on `v` at some time in `w`? (Fluxion's exclusivity checker.)
    pub fn listed_during(&self, v: u32, w: Window) -> bool {
        self.holds[v as usize]
            .iter()
            .any(|h| w.overlaps(h.start, h.end))
    }

    /// How much of `v` (of `size`) no job holds exclusively at any time in `w`.
    pub fn avail_during(&self, v: u32, size: u64, w: Window) -> u64 {
        let holds = &self.holds[v as usize];
        let mut peak = 0u64;
        for h in holds
            .iter()
            .filter(|h| h.exclusive && w.overlaps(h.start, h.end))
        {
            // The most held at once is held at the start of some overlapping hold.
            let at = h.start.max(w.start);
            let held: u64 = holds
                .iter()
                .filter(|o| o.exclusive && o.start <= at && at < o.end)
                .map(|o| o.amount)
                .sum();
            peak = peak.max(held);
        }
        size.saturating_sub(peak)
    }

    /// The least amount of type `t` free in the subtree of `v` (of `total`) at any time in `w`.
    pub fn subtree_free_during(&self, v: u32, t: TypeId, total: u64, w: Window) -> u64 {
        let steps = &self.steps[v as usize];
        let (mut held, mut peak, mut i) = (0i64, None::<i64>, 0);
        while i < steps.len() {
            let at = steps[i].at;
            if at >= w.end {
                break;
            }
            if at > w.start && peak.is_none() {
                peak = Some(held);
            }
            // Every change at one instant is applied before the level is read.
            while i < steps.len() && steps[i].at == at {
                if steps[i].kind == t {
                    held += steps[i].delta;
                }
                i += 1;
            }
            if at > w.start {
                peak = peak.map(|p| p.max(held));
            }
        }
        total.saturating_sub(peak.unwrap_or(held).max(0) as u64)
    }

    /// The amount of type `t` free in the subtree of `v` (of `total`) at instant `at`.
    pub fn subtree_free_at(&self, v: u32, t: TypeId, total: u64, at: Time) -> u64 {
        let held: i64 = self.steps[v as usize]
            .iter()
            .take_while(|s| s.at <= at)
            .filter(|s| s.kind == t)
            .map(|s| s.delta)
            .sum();
        total.saturating_sub(held.max(0) as u64)
    }

    /// The first time after `after` at which some job ends.
    pub fn next_end(&self, after: Time) -> Option<Time> {
        self.ends
            .range(after.saturating_add(1)..)
            .next()
            .map(|(&t, _)| t)
    }

    /// Record that `job` lists `v` over `w`, holding `amount` of it when `exclusive`.
    pub fn hold(&mut self, v: u32, w: Window, amount: u64, exclusive: bool, job: u64) {
        self.holds[v as usize].push(Hold {
            start: w.start,
            end: w.end,
            amount,
            exclusive,
            job,
        });
    }

    /// Record that over `w` `job` holds `held[t]` of each type `t` in the subtree of `v`.
    pub fn promise(&mut self, v: u32, w: Window, job: u64, held: &[u64]) {
        let steps = &mut self.steps[v as usize];
        for (kind, &amount) in held.iter().enumerate().filter(|(_, &a)| a > 0) {
            for (at, delta) in [(w.start, amount as i64), (w.end, -(amount as i64))] {
                let i = steps.partition_point(|s| s.at <= at);
                let kind = kind as TypeId;
                steps.insert(
                    i,
                    Step {
                        at,
                        kind,
                        delta,
                        job,
                    },
                );
            }
        }
    }

    /// Record that a job ends at `end`.
    pub fn add_end(&mut self, end: Time) {
        *self.ends.entry(end).or_default() += 1;
    }

    /// Forget every span of `job` on the vertices it lists (every vertex that holds a span of
    /// it, subtrees included); it ended at `end`.
    pub fn cancel(&mut self, job: u64, listed: &[u32], end: Time) {
        for &v in listed {
            self.holds[v as usize].retain(|h| h.job != job);
            self.steps[v as usize].retain(|s| s.job != job);
        }
        if let Some(n) = self.ends.get_mut(&end) {
            *n -= 1;
            if *n == 0 {
                self.ends.remove(&end);
            }
        }
    }
}

//! The canonical jobspec as typed data: counts, resource requests, tasks, and the
//! validated `Jobspec` with the questions the matcher and the fleet ask of it.

use std::collections::BTreeMap;

use serde_json::Value;

use super::constraints::Constraint;

/// A resource count: a fixed integer is `min == max` with `+ 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub min: u64,
    pub max: u64,
    pub operator: char,
    pub operand: u64,
}

/// The largest count an open range stands for (`{min: 2}` means "2 or more").
pub const UNBOUNDED: u64 = u32::MAX as u64;

impl Count {
    pub fn fixed(n: u64) -> Self {
        Count {
            min: n,
            max: n,
            operator: '+',
            operand: 1,
        }
    }

    /// The most that can be taken when `available` are there, or 0 when `min` cannot be met.
    pub fn take(&self, available: u64) -> u64 {
        if self.min > self.max || self.min > available {
            return 0;
        }
        match self.operator {
            '+' => {
                let count = available.min(self.max);
                count - (count - self.min) % self.operand.max(1)
            }
            '*' => {
                let (mut cur, mut count) = (self.min, 0);
                if self.operand == 1 {
                    return cur;
                }
                while cur <= available && cur <= self.max {
                    count = cur;
                    cur = cur.saturating_mul(self.operand);
                }
                count
            }
            '^' => {
                let (mut cur, mut count) = (self.min, 0);
                if self.operand < 2 || cur == 1 {
                    return cur;
                }
                while cur <= available && cur <= self.max {
                    let base = cur;
                    count = cur;
                    for _ in 1..self.operand {
                        cur = cur.saturating_mul(base);
                    }
                }
                count
            }
            _ => 0,
        }
    }

    /// The count taken when nothing limits it.
    pub fn effective_max(&self) -> u64 {
        self.take(UNBOUNDED)
    }
}

/// One level of a resource request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub kind: String,
    pub count: Count,
    pub unit: Option<String>,
    /// `Some(true)` / `Some(false)` when the jobspec says so, `None` when it is silent.
    pub exclusive: Option<bool>,
    pub label: Option<String>,
    pub with: Vec<Request>,
}

impl Request {
    pub fn is_slot(&self) -> bool {
        self.kind == "slot"
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum TaskCount {
    PerSlot(u64),
    Total(u64),
    PerResource { kind: String, count: u64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub command: Vec<String>,
    pub slot: String,
    pub count: TaskCount,
}

/// A validated canonical jobspec.
#[derive(Debug, Clone, PartialEq)]
pub struct Jobspec {
    pub version: u64,
    pub resources: Vec<Request>,
    pub tasks: Vec<Task>,
    pub duration: Option<f64>,
    pub constraints: Option<Constraint>,
    pub requires: Vec<Value>,
    /// The document as given, for writing it back.
    pub document: Value,
}

impl Jobspec {
    /// The least total amount of each type the request needs.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        fn walk(reqs: &[Request], factor: u64, out: &mut BTreeMap<String, u64>) {
            for r in reqs {
                let n = factor.saturating_mul(r.count.min);
                if !r.is_slot() {
                    *out.entry(r.kind.clone()).or_default() += n;
                }
                walk(&r.with, n, out);
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.resources, 1, &mut out);
        out
    }

    /// The slot request and how many slots the whole request asks for at least.
    pub fn slot(&self) -> Option<&Request> {
        fn find(reqs: &[Request]) -> Option<&Request> {
            reqs.iter()
                .find_map(|r| if r.is_slot() { Some(r) } else { find(&r.with) })
        }
        find(&self.resources)
    }

    /// How many nodes the request takes when every node count, and every count above a
    /// node, is fixed (`min == max`): what any match of it takes. `None` when a range leaves
    /// it to the match, or when the request names no node.
    pub fn fixed_node_count(&self) -> Option<u64> {
        fn walk(reqs: &[Request]) -> Option<u64> {
            let mut total: u64 = 0;
            for r in reqs {
                let fixed = (r.count.min == r.count.max).then_some(r.count.min);
                if r.kind == "node" {
                    total = total.saturating_add(fixed?);
                    continue;
                }
                let below = walk(&r.with)?;
                if below > 0 {
                    total = total.saturating_add(fixed?.saturating_mul(below));
                }
            }
            Some(total)
        }
        walk(&self.resources).filter(|&n| n > 0)
    }
}

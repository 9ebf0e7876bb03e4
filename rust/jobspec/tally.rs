//! Counting what a request asks for: per resource type, the least and the most.

use std::collections::BTreeMap;

use super::model::{Request, UNBOUNDED};

/// How many of each type a request asks for, slots included (as flux-core's
/// `resource_counts` gives them): the least, and the most (`None` when a range is open).
pub fn tally(resources: &[Request]) -> BTreeMap<String, (u64, Option<u64>)> {
    fn walk(
        reqs: &[Request],
        least: u64,
        most: Option<u64>,
        out: &mut BTreeMap<String, (u64, Option<u64>)>,
    ) {
        for r in reqs {
            let n = least.saturating_mul(r.count.min);
            let m = match (most, r.count.max) {
                (Some(f), c) if c < UNBOUNDED => Some(f.saturating_mul(c)),
                _ => None,
            };
            let entry = out.entry(r.kind.clone()).or_insert((0, Some(0)));
            entry.0 = entry.0.saturating_add(n);
            entry.1 = match (entry.1, m) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                _ => None,
            };
            walk(&r.with, n, m, out);
        }
    }
    let mut out = BTreeMap::new();
    walk(resources, 1, Some(1), &mut out);
    out
}

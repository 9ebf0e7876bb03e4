//! The containment tree of a read document: checked to be one tree (one root, one parent per
//! vertex, no cycle), a compspec forest joined into one, size totals bounded, and missing
//! containment paths derived from the tree.

use std::collections::{HashMap, HashSet};

use super::model::{Document, Edge, Node, Status, CONTAINMENT};
use super::read::Interner;
use crate::error::{Error, Result};

/// Join a forest of containment trees into one tree (see `Layout::Forest`). A vertex with
/// two parents or a cycle is left for `containment_root` to report.
pub(super) fn root_forest(nodes: &mut Vec<Node>, edges: &mut Vec<Edge>, strings: &mut Interner) {
    let n = nodes.len();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    for e in edges.iter().filter(|e| &*e.subsystem == CONTAINMENT) {
        parent[e.target].get_or_insert(e.source);
    }
    let roots: Vec<usize> = (0..n).filter(|&v| parent[v].is_none()).collect();
    if roots.len() < 2 {
        return;
    }
    let (containment, contains) = (strings.get(CONTAINMENT), strings.get("contains"));
    let mut by_path: HashMap<&str, usize> = HashMap::new();
    for (v, node) in nodes.iter().enumerate() {
        if !node.path.is_empty() {
            by_path.entry(node.path.as_str()).or_insert(v);
        }
    }
    let mut hung = Vec::new();
    for &r in &roots {
        let above = match nodes[r].path.rsplit_once('/') {
            Some((above, _)) if !above.is_empty() => above,
            _ => continue,
        };
        let Some(&p) = by_path.get(above) else {
            continue;
        };
        // Hanging r under a vertex of its own subtree would make a cycle.
        let mut at = Some(p);
        while let Some(v) = at {
            if v == r {
                break;
            }
            at = parent[v];
        }
        if at.is_none() {
            parent[r] = Some(p);
            hung.push((p, r));
        }
    }
    for (source, target) in hung {
        edges.push(Edge {
            source,
            target,
            subsystem: containment.clone(),
            relation: contains.clone(),
        });
    }
    let apart: Vec<usize> = roots.into_iter().filter(|&v| parent[v].is_none()).collect();
    if apart.len() < 2 {
        return;
    }
    // One root over the trees still apart, named after the first part of their paths when
    // they share it (`spack0`), else `software0`.
    let first = |v: usize| nodes[v].path.split('/').nth(1).unwrap_or("").to_owned();
    let shared = first(apart[0]);
    let name = if !shared.is_empty() && apart.iter().all(|&v| first(v) == shared) {
        shared
    } else {
        "software0".to_owned()
    };
    let taken: HashSet<String> = nodes
        .iter()
        .enumerate()
        .map(|(i, node)| node.jgf_id_at(i).into_owned())
        .collect();
    let mut jgf_id = format!("{name}-root");
    while taken.contains(&jgf_id) {
        jgf_id.push('_');
    }
    let id = nodes.iter().map(|node| node.id).max().unwrap_or(0) + 1;
    let software = strings.get("software");
    let root = nodes.len();
    nodes.push(Node {
        jgf_id,
        kind: software.clone(),
        basename: software,
        name: strings.get(&name),
        id,
        uniq_id: id,
        rank: -1,
        exclusive: false,
        unit: strings.get(""),
        size: 1,
        path: format!("/{name}"),
        status: Status::Up,
        extras: None,
    });
    for target in apart {
        edges.push(Edge {
            source: root,
            target,
            subsystem: containment.clone(),
            relation: contains.clone(),
        });
    }
}

/// Every per-type total the graph keeps (a subtree's cores, the cluster's memory) must be a
/// count a 64-bit integer holds; the whole graph's total per type bounds them all.
pub(super) fn check_size_totals(nodes: &[Node], file: Option<&str>) -> Result<()> {
    // A graph has a few types: a short list, the last type met looked at first.
    let mut totals: Vec<(&str, u64)> = Vec::new();
    let mut last = 0;
    for (i, node) in nodes.iter().enumerate() {
        if totals
            .get(last)
            .is_none_or(|(kind, _)| *kind != &*node.kind)
        {
            last = match totals.iter().position(|(kind, _)| *kind == &*node.kind) {
                Some(k) => k,
                None => {
                    totals.push((&node.kind, 0));
                    totals.len() - 1
                }
            };
        }
        let total = &mut totals[last].1;
        *total = total.checked_add(node.size).ok_or_else(|| {
            Error::jgf(
                file,
                format!("graph.nodes[{i}].metadata.size"),
                format!(
                    "expected the sizes of all {} vertices to add up to at most 2**64-1",
                    node.kind
                ),
            )
        })?;
    }
    Ok(())
}

/// Check that containment edges form one tree and return its root.
pub(super) fn containment_root(
    nodes: &[Node],
    edges: &[Edge],
    file: Option<&str>,
) -> Result<usize> {
    let n = nodes.len();
    const NONE: u32 = u32::MAX;
    let mut parent = vec![NONE; n];
    let mut in_containment = vec![false; n];
    // The children of `v` are `child_list[child_start[v]..child_start[v + 1]]`.
    let mut child_start = vec![0u32; n + 1];
    for (i, e) in edges.iter().enumerate() {
        if &*e.subsystem != CONTAINMENT {
            continue;
        }
        in_containment[e.source] = true;
        in_containment[e.target] = true;
        if parent[e.target] != NONE {
            let p = parent[e.target] as usize;
            return Err(Error::jgf(
                file,
                format!("graph.edges[{i}]"),
                format!(
                    "expected one containment parent per vertex, {} is contained by both {} and {}",
                    nodes[e.target].name, nodes[p].name, nodes[e.source].name
                ),
            ));
        }
        parent[e.target] = e.source as u32;
        child_start[e.source + 1] += 1;
    }
    for v in 0..n {
        child_start[v + 1] += child_start[v];
    }
    let edge_count = child_start[n] as usize;
    let mut fill = child_start.clone();
    let mut child_list = vec![0u32; edge_count];
    for e in edges.iter().filter(|e| &*e.subsystem == CONTAINMENT) {
        child_list[fill[e.source] as usize] = e.target as u32;
        fill[e.source] += 1;
    }
    drop(fill);
    let roots: Vec<usize> = if edge_count == 0 {
        (0..n).collect()
    } else {
        (0..n)
            .filter(|&v| in_containment[v] && parent[v] == NONE)
            .collect()
    };
    let root = match roots.as_slice() {
        [only] => *only,
        [] => {
            return Err(Error::jgf(
                file,
                "graph.edges",
                "expected a containment tree with one root, the containment edges form a cycle",
            ))
        }
        many => {
            let names: Vec<&str> = many.iter().take(4).map(|&v| &*nodes[v].name).collect();
            return Err(Error::jgf(
                file,
                "graph.edges",
                format!(
                    "expected a containment tree with one root, found {} roots ({}{})",
                    many.len(),
                    names.join(", "),
                    if many.len() > 4 { ", ..." } else { "" }
                ),
            ));
        }
    };
    // Every contained vertex must be reachable from the root, or a cycle hides it.
    let mut reached = 0usize;
    let mut stack = vec![root];
    let mut visited = vec![false; n];
    visited[root] = true;
    while let Some(v) = stack.pop() {
        reached += 1;
        for &c in &child_list[child_start[v] as usize..child_start[v + 1] as usize] {
            let c = c as usize;
            if !visited[c] {
                visited[c] = true;
                stack.push(c);
            }
        }
    }
    let expected = if edge_count == 0 {
        1
    } else {
        in_containment.iter().filter(|&&b| b).count()
    };
    if reached != expected {
        let stray = (0..n)
            .find(|&v| in_containment[v] && !visited[v])
            .map(|v| nodes[v].name.to_string())
            .unwrap_or_default();
        return Err(Error::jgf(
            file,
            "graph.edges",
            format!("expected a containment tree, {stray} sits on a containment cycle"),
        ));
    }
    Ok(root)
}

/// Vertices without `paths.containment` get the path their place in the tree implies.
pub(super) fn fill_missing_paths(doc: &mut Document) {
    if doc.nodes.iter().all(|n| !n.path.is_empty()) {
        return;
    }
    let n = doc.nodes.len();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in doc.edges.iter().filter(|e| &*e.subsystem == CONTAINMENT) {
        children[e.source].push(e.target);
    }
    let mut stack = vec![(doc.root, String::new())];
    while let Some((v, prefix)) = stack.pop() {
        if doc.nodes[v].path.is_empty() {
            doc.nodes[v].path = format!("{prefix}/{}", doc.nodes[v].name);
        }
        let path = doc.nodes[v].path.clone();
        for &c in &children[v] {
            stack.push((c, path.clone()));
        }
    }
}

//! Node shapes: what a cluster's containment graph compiles to. Each node is reduced to its
//! shape (a one-node graph of its subtree, names and ids left out), shared by every node
//! alike across the fleet, plus what constraints test (its name, rank and properties).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::error::Result;
use crate::graph::{ResourceGraph, NO_PARENT};
use crate::jgf::{self, Document, Edge, Node, Status, CONTAINMENT};
use crate::jobspec::ConstraintTarget;

/// Levels between a node and its resources that a batch script's per-node request passes
/// over (the scheduler may spread a task over sockets).
pub const BETWEEN_NODE_AND_RESOURCES: &[&str] = &[
    "socket", "numanode", "numa", "group", "die", "l3cache", "l2cache", "l1cache", "board",
];

/// One node of a cluster as constraints see it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeEntry {
    pub shape: u32,
    pub flat_shape: u32,
    pub name: String,
    pub rank: i64,
    pub properties: Vec<String>,
    /// The node and everything below it are up: its shape stands for it when allocating.
    pub up: bool,
}

impl ConstraintTarget for NodeEntry {
    fn name(&self) -> &str {
        &self.name
    }
    fn rank(&self) -> i64 {
        self.rank
    }
    fn has_property(&self, key: &str) -> bool {
        self.properties.iter().any(|p| p == key)
    }
}

/// A containment graph compiled: whether answers may come from its node shapes, and the
/// totals that answer for it without matching.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    /// Every vertex outside the nodes only contains nodes: answers may come from shapes.
    pub decomposable: bool,
    /// Types found above the nodes (the root, racks, ...).
    pub upper_types: Vec<String>,
    /// Size totals per type over the whole graph.
    pub totals: BTreeMap<String, u64>,
    /// Vertices per type: what `cluster list` shows.
    pub counts: BTreeMap<String, u64>,
    pub nodes: Vec<NodeEntry>,
}

/// Shapes as they are compiled: identical node subtrees share one shape, as JGF text.
#[derive(Default)]
pub struct ShapeTable {
    pub shapes: Vec<Vec<u8>>,
    by_key: HashMap<String, u32>,
}

impl ShapeTable {
    /// A table holding `shapes` (JGF text, as the cache keeps them) under their keys.
    pub fn from_shapes(shapes: Vec<Vec<u8>>) -> Result<Self> {
        let mut table = ShapeTable::default();
        for shape in shapes {
            let g = ResourceGraph::from_jgf_bytes(&shape, Some("fleet cache"))?;
            let node = g.children(g.root()).first().copied().unwrap_or(g.root());
            table
                .by_key
                .insert(subtree_key(&g, node, &[]), table.shapes.len() as u32);
            table.shapes.push(shape);
        }
        Ok(table)
    }

    /// The shape of node `v` of `g` with the levels in `drop` removed, added if new.
    fn intern(&mut self, g: &ResourceGraph, v: u32, drop: &[&str]) -> u32 {
        let key = subtree_key(g, v, drop);
        self.add(key, || node_graph(g, v, drop))
    }

    fn add(&mut self, key: String, shape: impl FnOnce() -> Vec<u8>) -> u32 {
        if let Some(&i) = self.by_key.get(&key) {
            return i;
        }
        let i = self.shapes.len() as u32;
        self.shapes.push(shape());
        self.by_key.insert(key, i);
        i
    }

    /// Take in the shapes of a table built apart (by another thread); the numbers its
    /// shapes have here, by their number there.
    pub fn merge(&mut self, other: ShapeTable) -> Vec<u32> {
        let mut keys: Vec<(String, u32)> = other.by_key.into_iter().collect();
        keys.sort_by_key(|&(_, i)| i);
        let mut shapes: Vec<Option<Vec<u8>>> = other.shapes.into_iter().map(Some).collect();
        keys.into_iter()
            .map(|(key, i)| self.add(key, || shapes[i as usize].take().unwrap_or_default()))
            .collect()
    }

    /// The shapes loaded as graphs, to match against.
    pub fn graphs(&self) -> Result<Vec<Arc<ResourceGraph>>> {
        self.shapes
            .iter()
            .map(|s| ResourceGraph::from_jgf_bytes(s, Some("fleet cache")).map(Arc::new))
            .collect()
    }
}

/// What makes two nodes the same for matching: the root above them, and the types, sizes,
/// units and structure of their subtrees (names and ids do not change what fits).
fn subtree_key(g: &ResourceGraph, v: u32, drop: &[&str]) -> String {
    use std::fmt::Write;
    let mut key = String::new();
    let _ = write!(key, "{}|", g.type_name(g.root()));
    let mut position = 0usize;
    let mut stack = vec![(v, usize::MAX)];
    while let Some((u, parent)) = stack.pop() {
        let kind = g.type_name(u);
        let here = if u == v || !drop.contains(&kind) {
            let _ = write!(key, "{}:{}:{}:{};", kind, g.size(u), g.unit(u), parent);
            position += 1;
            position - 1
        } else {
            parent
        };
        for &c in g.children(u).iter().rev() {
            stack.push((c, here));
        }
    }
    key
}

/// A copy of the tree below `start` with the vertices `dropped` says to leave out (their
/// children move up to the nearest kept vertex), under a copy of the root when `under_root`.
fn copy_tree(
    g: &ResourceGraph,
    start: u32,
    under_root: bool,
    dropped: impl Fn(u32) -> bool,
) -> Document {
    let mut nodes: Vec<Node> = Vec::new();
    let mut edges: Vec<Edge> = Vec::new();
    let contains: Arc<str> = Arc::from("contains");
    let containment: Arc<str> = Arc::from(CONTAINMENT);
    let mut keep = |mut copy: Node, parent: Option<usize>, nodes: &mut Vec<Node>| -> usize {
        copy.jgf_id = String::new();
        copy.path = match parent {
            Some(p) => format!("{}/{}", nodes[p].path, copy.name),
            None => format!("/{}", copy.name),
        };
        nodes.push(copy);
        let here = nodes.len() - 1;
        if let Some(p) = parent {
            edges.push(Edge {
                source: p,
                target: here,
                subsystem: containment.clone(),
                relation: contains.clone(),
            });
        }
        here
    };
    let top = under_root.then(|| keep(g.to_node(g.root()), None, &mut nodes));
    // Children are pushed in reverse so that they come out in edge order.
    let mut stack = vec![(start, top)];
    while let Some((u, parent)) = stack.pop() {
        let here = if u == start || !dropped(u) {
            Some(keep(g.to_node(u), parent, &mut nodes))
        } else {
            parent
        };
        for &c in g.children(u).iter().rev() {
            stack.push((c, here));
        }
    }
    Document {
        nodes,
        edges,
        keyed: false,
        edge_style: jgf::EdgeStyle::Subsystem,
        graph_extra: BTreeMap::new(),
        root: 0,
    }
}

/// The one-node graph of node `v`: a root like the cluster's holding that node's subtree,
/// with the levels in `drop` removed. Ids, status and extras are made plain so that the
/// shape says only what matching depends on.
fn node_graph(g: &ResourceGraph, v: u32, drop: &[&str]) -> Vec<u8> {
    let mut doc = copy_tree(g, v, true, |u| drop.contains(&g.type_name(u)));
    for (i, n) in doc.nodes.iter_mut().enumerate() {
        n.uniq_id = i as i64;
        n.status = Status::Up;
        n.extras = None;
    }
    serde_json::to_vec(&jgf::to_value(&doc)).unwrap_or_default()
}

/// Compile the containment graph in `bytes` (read from `file`), adding its node shapes to
/// `table`.
pub fn compile(bytes: &[u8], file: &str, table: &mut ShapeTable) -> Result<Compiled> {
    let g = ResourceGraph::from_jgf_bytes(bytes, Some(file))?;
    let node_type = g.types().get("node");
    let mut nodes = Vec::new();
    let mut decomposable = node_type.is_some();
    let mut upper: Vec<String> = Vec::new();
    // Walk the tree: vertices above nodes must hold nothing but the path to nodes.
    let mut stack = vec![g.root()];
    while let Some(u) = stack.pop() {
        if Some(g.kind(u)) == node_type {
            let shape = table.intern(&g, u, &[]);
            let flat_shape = table.intern(&g, u, BETWEEN_NODE_AND_RESOURCES);
            let mut below = vec![u];
            let mut up = true;
            while let Some(w) = below.pop() {
                up &= g.is_up(w);
                below.extend_from_slice(g.children(w));
            }
            nodes.push(NodeEntry {
                shape,
                flat_shape,
                name: g.name(u).to_owned(),
                rank: g.rank(u),
                properties: g.properties(u).keys().cloned().collect(),
                up,
            });
            continue;
        }
        let kind = g.type_name(u).to_owned();
        if !upper.contains(&kind) {
            upper.push(kind);
        }
        let holds_nodes = node_type.is_some_and(|t| g.subtree_total(u, t) > 0);
        if !holds_nodes {
            decomposable = false;
        }
        stack.extend(g.children(u).iter().rev());
    }
    Ok(Compiled {
        decomposable,
        upper_types: upper,
        totals: g.totals(),
        counts: g.summary(),
        nodes,
    })
}

/// A whole graph with the levels between nodes and their resources removed.
pub fn flatten_graph(g: &ResourceGraph) -> Result<ResourceGraph> {
    let inside_node = |u: u32| {
        let mut p = g.parent(u);
        while p != NO_PARENT {
            if g.type_name(p) == "node" {
                return true;
            }
            p = g.parent(p);
        }
        false
    };
    let doc = copy_tree(g, g.root(), false, |u| {
        inside_node(u) && BETWEEN_NODE_AND_RESOURCES.contains(&g.type_name(u))
    });
    Ok(ResourceGraph::from_document(doc))
}

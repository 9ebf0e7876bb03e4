//! A fleet of clusters compiled for matching. Each containment graph is reduced to its
//! distinct node shapes, shared across the fleet, plus every node's name, rank and
//! properties (what constraints test); the compiled form is cached on disk and rebuilt per
//! cluster only when its graph file changes. Requests that start at the node level or with a
//! top-level slot are answered from the shapes; anything else is matched on the full graph.
//! Either way the answer is the matcher's, and clusters are answered in parallel.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result};
use crate::graph::{ResourceGraph, NO_PARENT};
use crate::input::{read_bounded, MAX_GRAPH_BYTES};
use crate::jgf::{self, Document, Edge, Node, Status, CONTAINMENT};
use crate::jobspec::{Constraint, ConstraintTarget, Count, Jobspec, Request};
use crate::matcher::{AllocState, Matcher, Outcome, Policy};

/// Bumped whenever the cache's layout or meaning changes.
const CACHE_VERSION: u32 = 4;

/// Levels between a node and its resources that a batch script's per-node request passes
/// over (the scheduler may spread a task over sockets).
pub const BETWEEN_NODE_AND_RESOURCES: &[&str] = &[
    "socket", "numanode", "numa", "group", "die", "l3cache", "l2cache", "l1cache", "board",
];

/// A registered cluster: its name and its containment graph file.
#[derive(Debug, Clone)]
pub struct ClusterSource {
    pub name: String,
    pub path: PathBuf,
}

/// What a compiled cluster was compiled from: its graph file's content hash, and the file's
/// status when it was last hashed. An unchanged status (size, modification and change times,
/// inode) means an unchanged file without reading it; a changed status means hashing the
/// file again, and only a changed hash means compiling it again. The change time is what
/// makes this sound: no edit can keep it, even one that restores the modification time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    status: FileStatus,
    content: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FileStatus {
    size: u64,
    modified_ns: i128,
    changed_ns: i128,
    inode: u64,
    device: u64,
}

fn status(path: &Path) -> Result<FileStatus> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| Error::Io {
        file: path.display().to_string(),
        message: e.to_string(),
    })?;
    let ns = |seconds: i64, nanos: i64| i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    Ok(FileStatus {
        size: meta.len(),
        modified_ns: ns(meta.mtime(), meta.mtime_nsec()),
        changed_ns: ns(meta.ctime(), meta.ctime_nsec()),
        inode: meta.ino(),
        device: meta.dev(),
    })
}

fn read_graph(path: &Path) -> Result<Vec<u8>> {
    read_bounded(path, MAX_GRAPH_BYTES, "graph", true)
}

/// One node of a cluster as constraints see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct NodeEntry {
    shape: u32,
    flat_shape: u32,
    name: String,
    rank: i64,
    properties: Vec<String>,
    /// The node and everything below it are up: its shape stands for it when allocating.
    up: bool,
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

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CachedCluster {
    name: String,
    path: String,
    stamp: Stamp,
    /// Every vertex outside the nodes only contains nodes: answers may come from shapes.
    decomposable: bool,
    /// Types found above the nodes (the root, racks, ...).
    upper_types: Vec<String>,
    /// Size totals per type over the whole graph.
    totals: BTreeMap<String, u64>,
    nodes: Vec<NodeEntry>,
}

/// The compiled fleet as stored: clusters and the node shapes they share.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct FleetIndex {
    version: u32,
    /// One-node graphs (a root holding one node), as JGF.
    shapes: Vec<Value>,
    clusters: Vec<CachedCluster>,
}

/// A cluster's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub cluster: String,
    pub ok: bool,
    pub reason: Option<String>,
}

/// What allocating a request on an idle cluster would hold, per type, or why it cannot.
#[derive(Debug, Clone, PartialEq)]
pub struct Taken {
    pub cluster: String,
    pub held: Option<BTreeMap<String, u64>>,
    /// How many `node` vertices the allocation touches, shared or not.
    pub nodes: u64,
    pub reason: Option<String>,
}

/// The compiled fleet, loaded and ready to answer.
pub struct Fleet {
    index: FleetIndex,
    shapes: Vec<Arc<ResourceGraph>>,
    /// Whether the index was (partly) rebuilt on this load.
    pub rebuilt: usize,
}

/// Builds shapes while compiling: identical node subtrees share one shape.
#[derive(Default)]
struct ShapeTable {
    shapes: Vec<Value>,
    by_key: HashMap<String, u32>,
}

impl ShapeTable {
    fn from_index(index: &FleetIndex) -> Result<Self> {
        let mut table = ShapeTable::default();
        for shape in &index.shapes {
            let g = ResourceGraph::from_jgf_value(shape.clone(), Some("fleet cache"))?;
            let node = g.children(g.root()).first().copied().unwrap_or(g.root());
            let key = subtree_key(&g, node, &[]);
            table.by_key.insert(key, table.shapes.len() as u32);
            table.shapes.push(shape.clone());
        }
        Ok(table)
    }

    /// The shape of node `v` of `g` with the levels in `drop` removed, added if new.
    fn intern(&mut self, g: &ResourceGraph, v: u32, drop: &[&str]) -> u32 {
        let key = subtree_key(g, v, drop);
        if let Some(&i) = self.by_key.get(&key) {
            return i;
        }
        let i = self.shapes.len() as u32;
        self.shapes.push(node_graph(g, v, drop));
        self.by_key.insert(key, i);
        i
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
fn node_graph(g: &ResourceGraph, v: u32, drop: &[&str]) -> Value {
    let mut doc = copy_tree(g, v, true, |u| drop.contains(&g.type_name(u)));
    for (i, n) in doc.nodes.iter_mut().enumerate() {
        n.uniq_id = i as i64;
        n.status = Status::Up;
        n.extras = None;
    }
    jgf::to_value(&doc)
}

fn compile(
    source: &ClusterSource,
    bytes: &[u8],
    stamp: Stamp,
    table: &mut ShapeTable,
) -> Result<CachedCluster> {
    let file = source.path.display().to_string();
    let g = ResourceGraph::from_jgf_bytes(bytes, Some(&file))?;
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
    Ok(CachedCluster {
        name: source.name.clone(),
        path: file,
        stamp,
        decomposable,
        upper_types: upper,
        totals: g.totals(),
        nodes,
    })
}

impl FleetIndex {
    fn load(path: &Path) -> Option<FleetIndex> {
        let bytes = read_bounded(path, MAX_GRAPH_BYTES, "fleet cache", true).ok()?;
        let index: FleetIndex = serde_json::from_slice(&bytes).ok()?;
        (index.version == CACHE_VERSION).then_some(index)
    }

    fn save(&self, path: &Path) -> std::io::Result<()> {
        // Only a regular file is replaced: a cache path naming a device or a pipe (even
        // `/dev/null`) is read from, never renamed over.
        if let Ok(meta) = std::fs::metadata(path) {
            if !meta.is_file() {
                return Err(std::io::Error::other(
                    "the cache path is not a regular file",
                ));
            }
        }
        let text = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)
    }
}

impl Fleet {
    /// Bring the compiled fleet at `cache` up to date with `sources` (recompiling only
    /// clusters whose graph file changed) and load it. A cache that cannot be written is
    /// not an error: the fleet is then compiled in memory on every call.
    pub fn open(sources: &[ClusterSource], cache: Option<&Path>) -> Result<Fleet> {
        let previous = cache.and_then(FleetIndex::load).unwrap_or_default();
        let mut table = ShapeTable::from_index(&previous)?;
        let old: HashMap<&str, &CachedCluster> = previous
            .clusters
            .iter()
            .map(|c| (c.name.as_str(), c))
            .collect();
        let mut clusters = Vec::with_capacity(sources.len());
        let mut rebuilt = 0;
        let mut restamped = false;
        for source in sources {
            let now = status(&source.path)?;
            let path = source.path.display().to_string();
            let cached = old
                .get(source.name.as_str())
                .filter(|c| c.path == path)
                .copied();
            if let Some(c) = cached.filter(|c| c.stamp.status == now) {
                clusters.push(c.clone());
                continue;
            }
            let bytes = read_graph(&source.path)?;
            let content = xxh3_64(&bytes);
            let stamp = Stamp {
                status: now,
                content,
            };
            match cached.filter(|c| c.stamp.content == content) {
                Some(c) => {
                    clusters.push(CachedCluster { stamp, ..c.clone() });
                    restamped = true;
                }
                None => {
                    clusters.push(compile(source, &bytes, stamp, &mut table)?);
                    rebuilt += 1;
                }
            }
        }
        let changed = rebuilt > 0 || restamped || clusters.len() != previous.clusters.len();
        let index = compact(FleetIndex {
            version: CACHE_VERSION,
            shapes: table.shapes,
            clusters,
        });
        if changed {
            if let Some(path) = cache {
                // Best effort: an unwritable cache only costs the next call a recompile.
                let _ = index.save(path);
            }
        }
        let shapes = index
            .shapes
            .iter()
            .map(|s| ResourceGraph::from_jgf_value(s.clone(), Some("fleet cache")).map(Arc::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(Fleet {
            index,
            shapes,
            rebuilt,
        })
    }

    pub fn len(&self) -> usize {
        self.index.clusters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.clusters.is_empty()
    }

    pub fn names(&self) -> Vec<String> {
        self.index.clusters.iter().map(|c| c.name.clone()).collect()
    }

    pub fn shape_count(&self) -> usize {
        self.shapes.len()
    }

    /// The distinct shapes of the nodes of every cluster `plan` can answer from shapes.
    fn shapes_for(&self, plan: Option<&Plan>, per_node: bool) -> Vec<u32> {
        let mut wanted: Vec<u32> = self
            .index
            .clusters
            .iter()
            .filter(|c| c.decomposable && plan.is_some_and(|p| p.applies(c)))
            .flat_map(|c| {
                c.nodes
                    .iter()
                    .map(|n| if per_node { n.flat_shape } else { n.shape })
            })
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        wanted
    }

    /// The full containment graph of the cluster called `name`, read from its file; with
    /// `per_node`, with the levels between each node and its resources removed (the view a
    /// batch script's per-node request is matched on).
    pub fn graph(&self, name: &str, per_node: bool) -> Result<ResourceGraph> {
        let c = self
            .index
            .clusters
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| Error::matching(format!("no cluster named {name:?} in this fleet")))?;
        full_graph(c, per_node)
    }

    /// Size totals per type of each cluster's containment graph.
    pub fn totals(&self) -> Vec<(String, BTreeMap<String, u64>)> {
        self.index
            .clusters
            .iter()
            .map(|c| (c.name.clone(), c.totals.clone()))
            .collect()
    }

    /// What allocating `js` (policy `first`) on each idle cluster would hold per type: the
    /// sum of one node's share when the request is `node[n] > ...` and the nodes it would
    /// take are alike and up, the full graph's allocation otherwise.
    pub fn taken(&self, js: &Jobspec, per_node: bool) -> Vec<Taken> {
        let plan = Plan::of(js);
        let mut shape_held: HashMap<u32, Option<BTreeMap<String, u64>>> = HashMap::new();
        if let Some(Plan::Nodes {
            per_node: single, ..
        }) = &plan
        {
            let wanted = self.shapes_for(plan.as_ref(), per_node);
            let held = parallel_map(&wanted, |&s| {
                let g = &self.shapes[s as usize];
                let mut st = AllocState::new(g);
                Matcher::new(g)
                    .allocate(&mut st, single, Policy::First)
                    .allocation
                    .map(|a| held_amounts(g, &a.taken))
            });
            shape_held = wanted.into_iter().zip(held).collect();
        }
        parallel_map(&self.index.clusters, |c| {
            if let Some(Plan::Nodes { count, .. }) = &plan {
                if c.decomposable && plan.as_ref().is_some_and(|p| p.applies(c)) {
                    if let Some(t) =
                        taken_from_shapes(c, *count, &shape_held, per_node, js.constraints.as_ref())
                    {
                        return t;
                    }
                }
            }
            full_graph_taken(c, js, per_node)
        })
    }

    /// Which clusters could run `js` with every resource free, and why not for the others.
    /// `per_node` matches against each node with the levels between it and its resources
    /// removed, as jobs read from batch scripts need.
    pub fn satisfiable(&self, js: &Jobspec, per_node: bool) -> Vec<Fit> {
        let plan = Plan::of(js);
        // Answer each shape once, whichever clusters share it.
        let mut shape_answers: HashMap<u32, ShapeAnswer> = HashMap::new();
        if let Some(plan) = &plan {
            let wanted = self.shapes_for(Some(plan), per_node);
            let answers = parallel_map(&wanted, |&s| plan.answer(&self.shapes[s as usize]));
            shape_answers = wanted.into_iter().zip(answers).collect();
        }
        let needed = js.counts();
        parallel_map(&self.index.clusters, |c| {
            if let Some(reason) = short_in_all(c, &needed) {
                return Fit {
                    cluster: c.name.clone(),
                    ok: false,
                    reason: Some(reason),
                };
            }
            match &plan {
                Some(plan) if c.decomposable && plan.applies(c) => {
                    plan.combine(c, &shape_answers, per_node, js.constraints.as_ref())
                }
                _ => full_graph_fit(c, js, per_node),
            }
        })
    }
}

/// Why a cluster can never hold the request, when its totals alone say so.
fn short_in_all(c: &CachedCluster, needed: &BTreeMap<String, u64>) -> Option<String> {
    needed.iter().find_map(|(kind, &need)| {
        let have = c.totals.get(kind).copied().unwrap_or(0);
        (have < need)
            .then(|| format!("the request needs {need} {kind} in all, the cluster has {have}"))
    })
}

/// A `node[n]` request's holdings summed over the nodes it would take, when every node that
/// qualifies is up and holds the same amounts (which nodes are taken then does not matter).
fn taken_from_shapes(
    c: &CachedCluster,
    count: Count,
    shape_held: &HashMap<u32, Option<BTreeMap<String, u64>>>,
    per_node: bool,
    constraint: Option<&Constraint>,
) -> Option<Taken> {
    let mut share: Option<&BTreeMap<String, u64>> = None;
    let mut qualifying = 0u64;
    for n in &c.nodes {
        if constraint.is_some_and(|k| !k.matches(n)) {
            continue;
        }
        let Some(held) = shape_held
            .get(&(if per_node { n.flat_shape } else { n.shape }))?
            .as_ref()
        else {
            continue;
        };
        if !n.up || share.is_some_and(|s| s != held) {
            return None;
        }
        share = Some(held);
        qualifying += 1;
    }
    let k = count.take(qualifying);
    let Some(share) = share.filter(|_| k > 0) else {
        let reason = format!("needs {} nodes that fit, {qualifying} do", count.min);
        return Some(Taken {
            cluster: c.name.clone(),
            held: None,
            nodes: 0,
            reason: Some(reason),
        });
    };
    let held = share
        .iter()
        .map(|(kind, amount)| (kind.clone(), amount * k))
        .collect();
    Some(Taken {
        cluster: c.name.clone(),
        held: Some(held),
        nodes: k,
        reason: None,
    })
}

/// Keep only the shapes some cluster uses, renumbered.
fn compact(mut index: FleetIndex) -> FleetIndex {
    let mut used = vec![false; index.shapes.len()];
    for c in &index.clusters {
        for n in &c.nodes {
            used[n.shape as usize] = true;
            used[n.flat_shape as usize] = true;
        }
    }
    let mut renumber = vec![0u32; index.shapes.len()];
    let mut kept = Vec::new();
    for (i, shape) in std::mem::take(&mut index.shapes).into_iter().enumerate() {
        if used[i] {
            renumber[i] = kept.len() as u32;
            kept.push(shape);
        }
    }
    for c in &mut index.clusters {
        for n in &mut c.nodes {
            n.shape = renumber[n.shape as usize];
            n.flat_shape = renumber[n.flat_shape as usize];
        }
    }
    index.shapes = kept;
    index
}

fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len().max(1));
    if workers <= 1 || items.len() < 8 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// A cluster's full graph (flattened for per-node matching), read from its file.
fn full_graph(c: &CachedCluster, per_node: bool) -> Result<ResourceGraph> {
    let bytes = read_graph(Path::new(&c.path))?;
    let g = ResourceGraph::from_jgf_bytes(&bytes, Some(&c.path))?;
    if per_node {
        flatten_graph(&g)
    } else {
        Ok(g)
    }
}

/// Amounts per type the exclusive vertices of an allocation hold.
fn held_amounts(g: &ResourceGraph, taken: &[crate::matcher::Taken]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for t in taken.iter().filter(|t| t.exclusive) {
        *out.entry(g.type_name(t.vertex).to_owned()).or_default() += t.size;
    }
    out
}

fn full_graph_taken(c: &CachedCluster, js: &Jobspec, per_node: bool) -> Taken {
    let answer = full_graph(c, per_node).map(|g| {
        let mut st = AllocState::new(&g);
        let r = Matcher::new(&g).allocate(&mut st, js, Policy::First);
        match r.allocation {
            Some(a) => {
                let nodes = a
                    .taken
                    .iter()
                    .filter(|t| g.type_name(t.vertex) == "node")
                    .count();
                (Some(held_amounts(&g, &a.taken)), nodes as u64, None)
            }
            None => (None, 0, r.reason),
        }
    });
    match answer {
        Ok((held, nodes, reason)) => Taken {
            cluster: c.name.clone(),
            held,
            nodes,
            reason,
        },
        Err(e) => Taken {
            cluster: c.name.clone(),
            held: None,
            nodes: 0,
            reason: Some(e.to_string()),
        },
    }
}

fn full_graph_fit(c: &CachedCluster, js: &Jobspec, per_node: bool) -> Fit {
    let answer = (|| -> Result<(bool, Option<String>)> {
        let g = full_graph(c, per_node)?;
        let mut st = AllocState::new(&g);
        let r = Matcher::new(&g).satisfiable(&mut st, js, Policy::First);
        Ok((r.outcome == Outcome::Satisfiable, r.reason))
    })();
    match answer {
        Ok((ok, reason)) => Fit {
            cluster: c.name.clone(),
            ok,
            reason,
        },
        Err(e) => Fit {
            cluster: c.name.clone(),
            ok: false,
            reason: Some(e.to_string()),
        },
    }
}

/// A whole graph with the levels between nodes and their resources removed.
fn flatten_graph(g: &ResourceGraph) -> Result<ResourceGraph> {
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

/// How a request decomposes over nodes: each node answers for itself, and the cluster
/// adds the answers up.
enum Plan {
    /// `node[count] > ...`: a node qualifies when it alone satisfies `node[1] > ...`.
    Nodes {
        count: Count,
        per_node: Jobspec,
        levels: Vec<String>,
    },
    /// A top-level `slot[count] > ...` below the node level: nodes contribute slots.
    Slots {
        count: Count,
        slot: Request,
        template: Jobspec,
        levels: Vec<String>,
    },
}

/// What one shape contributes: for `Nodes` 0 or 1, for `Slots` the slots it holds.
#[derive(Debug, Clone)]
struct ShapeAnswer {
    amount: u64,
    reason: Option<String>,
}

fn types_in(reqs: &[Request], out: &mut Vec<String>) {
    for r in reqs {
        if !r.is_slot() {
            out.push(r.kind.clone());
        }
        types_in(&r.with, out);
    }
}

impl Plan {
    fn of(js: &Jobspec) -> Option<Plan> {
        let [top] = js.resources.as_slice() else {
            return None;
        };
        let mut levels = Vec::new();
        types_in(&top.with, &mut levels);
        let mut single = js.clone();
        single.constraints = None;
        if top.kind == "node" {
            let mut node = top.clone();
            node.count = Count::fixed(1);
            single.resources = vec![node];
            return Some(Plan::Nodes {
                count: top.count,
                per_node: single,
                levels,
            });
        }
        if top.is_slot() && !levels.iter().any(|l| l == "node") {
            return Some(Plan::Slots {
                count: top.count,
                slot: top.clone(),
                template: single,
                levels,
            });
        }
        None
    }

    /// The plan answers from shapes only when no requested type sits above the nodes.
    fn applies(&self, c: &CachedCluster) -> bool {
        let levels = match self {
            Plan::Nodes { levels, .. } | Plan::Slots { levels, .. } => levels,
        };
        !levels.iter().any(|l| c.upper_types.contains(l))
    }

    fn answer(&self, shape: &ResourceGraph) -> ShapeAnswer {
        let satisfiable = |js: &Jobspec| {
            let mut st = AllocState::new(shape);
            Matcher::new(shape).satisfiable(&mut st, js, Policy::First)
        };
        match self {
            Plan::Nodes { per_node, .. } => {
                let r = satisfiable(per_node);
                ShapeAnswer {
                    amount: u64::from(r.outcome == Outcome::Satisfiable),
                    reason: r.reason,
                }
            }
            Plan::Slots { slot, template, .. } => {
                let with_slots = |k: u64| {
                    let mut js = template.clone();
                    let mut s = slot.clone();
                    s.count = Count::fixed(k);
                    js.resources = vec![s];
                    satisfiable(&js)
                };
                // The most slots one node holds: binary search on satisfiability.
                let first = with_slots(1);
                if first.outcome != Outcome::Satisfiable {
                    return ShapeAnswer {
                        amount: 0,
                        reason: first.reason,
                    };
                }
                let (mut lo, mut hi) = (1u64, shape.len() as u64);
                while lo < hi {
                    let mid = (lo + hi).div_ceil(2);
                    if with_slots(mid).outcome == Outcome::Satisfiable {
                        lo = mid;
                    } else {
                        hi = mid - 1;
                    }
                }
                ShapeAnswer {
                    amount: lo,
                    reason: None,
                }
            }
        }
    }

    fn combine(
        &self,
        c: &CachedCluster,
        answers: &HashMap<u32, ShapeAnswer>,
        per_node: bool,
        constraint: Option<&Constraint>,
    ) -> Fit {
        let mut total = 0u64;
        let mut first_reason = None;
        let mut excluded = 0usize;
        for n in &c.nodes {
            if constraint.is_some_and(|k| !k.matches(n)) {
                excluded += 1;
                continue;
            }
            let a = &answers[&(if per_node { n.flat_shape } else { n.shape })];
            total += a.amount;
            if a.amount == 0 && first_reason.is_none() {
                first_reason = a.reason.clone();
            }
        }
        let (count, what) = match self {
            Plan::Nodes { count, .. } => (count, "node"),
            Plan::Slots { count, .. } => (count, "slot"),
        };
        if count.take(total) > 0 {
            return Fit {
                cluster: c.name.clone(),
                ok: true,
                reason: None,
            };
        }
        let mut reason = format!(
            "needs {} {what}{} that fit, {total} do",
            count.min,
            if count.min == 1 { "" } else { "s" }
        );
        if excluded > 0 {
            reason.push_str(&format!(
                " ({excluded} of {} nodes fail the constraints)",
                c.nodes.len()
            ));
        }
        if let Some(why) = first_reason.filter(|_| total == 0) {
            reason.push_str(&format!(": {why}"));
        }
        Fit {
            cluster: c.name.clone(),
            ok: false,
            reason: Some(reason),
        }
    }
}

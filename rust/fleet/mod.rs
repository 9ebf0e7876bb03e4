//! A fleet of clusters compiled for matching. Each containment graph is reduced to its
//! distinct node shapes, shared across the fleet, plus every node's name, rank and
//! properties (what constraints test) — `shapes`; the compiled fleet is kept on disk in one
//! binary, memory-mapped file checked by content hash and rebuilt per cluster, on every
//! core, only when a file changed — `cache`; requests that decompose over nodes are answered
//! from the shapes, anything else on the full graph — `plan`. Either way the answer is the
//! matcher's, and clusters are answered in parallel.

mod cache;
mod plan;
mod shapes;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::graph::ResourceGraph;
use crate::jobspec::Jobspec;
use crate::matcher::{AllocState, Matcher, Policy};

use cache::{Bytes, Entry, FileStatus, Index, Meta, Record, Stamp};
use plan::{alike, parallel_map, Plan, ShapeAnswer};
use shapes::ShapeTable;

pub use shapes::BETWEEN_NODE_AND_RESOURCES;

/// A registered cluster: its name, its containment graph file, and the other files the
/// Python layer reads for it (its configuration, its software graphs), whose record the
/// cache keeps while they are unchanged.
#[derive(Debug, Clone)]
pub struct ClusterSource {
    pub name: String,
    pub path: PathBuf,
    pub aux: Vec<PathBuf>,
    /// For a cluster found in a store: its folder's stamp (its status, and the hash of the
    /// listing `aux` came from), and the status of `aux[0]` (its configuration) taken then.
    found: Option<(Stamp, FileStatus)>,
}

impl ClusterSource {
    /// A cluster known by its containment graph alone.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        ClusterSource {
            name: name.into(),
            path: path.into(),
            aux: Vec::new(),
            found: None,
        }
    }
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

/// Where a store keeps a cluster's files: the name of its configuration and of its
/// containment graph in its folder, and the files that are not part of its record.
pub struct StoreLayout<'a> {
    pub config: &'a str,
    pub containment: &'a str,
    pub skip: &'a [String],
}

fn io_error(e: std::io::Error, at: &Path) -> Error {
    Error::Io {
        file: at.display().to_string(),
        message: e.to_string(),
    }
}

/// The folders of the store at `root` that may be clusters: those not starting with `.`,
/// sorted.
fn store_folders(root: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    if root.is_dir() {
        for entry in std::fs::read_dir(root).map_err(|e| io_error(e, root))? {
            let entry = entry.map_err(|e| io_error(e, root))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let folder = entry
                .file_type()
                .is_ok_and(|t| t.is_dir() || t.is_symlink());
            if folder && !name.starts_with('.') {
                found.push(name);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Cluster `name` of the store at `root`, found as `layout` says: its containment graph and,
/// as the files its record comes from, its configuration and every other `.json` file but
/// those skipped. A folder whose stamp `before` holds, settled and unchanged, is not listed
/// again. None when the folder holds no configuration file and `discover` (an error
/// otherwise).
fn find_cluster(
    root: &Path,
    name: &str,
    layout: &StoreLayout<'_>,
    before: Option<&Meta>,
    discover: bool,
    now: i128,
) -> Result<Option<ClusterSource>> {
    let folder = root.join(name);
    let config = folder.join(layout.config);
    let folder_status = cache::status_or_missing(&folder)?.filter(|s| s.folder);
    let config_status = match folder_status {
        Some(_) => cache::status_or_missing(&config)?.filter(|s| !s.folder),
        None => None,
    };
    let (Some(folder_status), Some(config_status)) = (folder_status, config_status) else {
        if discover {
            return Ok(None);
        }
        return Err(Error::Io {
            file: config.display().to_string(),
            message: "no such cluster configuration".to_owned(),
        });
    };
    let listed = before.and_then(|m| m.folder.filter(|f| f.holds(&folder_status)).map(|f| (m, f)));
    let (aux, stamp) = match listed {
        Some((m, f)) => (m.aux.iter().map(|(a, _)| PathBuf::from(a)).collect(), f),
        None => {
            let mut aux: Vec<PathBuf> = Vec::new();
            for entry in std::fs::read_dir(&folder).map_err(|e| io_error(e, &folder))? {
                let file = entry.map_err(|e| io_error(e, &folder))?.file_name();
                let file = file.to_string_lossy();
                if file.ends_with(".json")
                    && !file.starts_with('.')
                    && file != layout.containment
                    && !layout.skip.iter().any(|s| *s == file)
                {
                    aux.push(folder.join(&*file));
                }
            }
            aux.sort();
            aux.insert(0, config);
            let mut listing = String::new();
            for a in &aux {
                listing.push_str(&a.display().to_string());
                listing.push('\n');
            }
            (
                aux,
                Stamp::new(folder_status, cache::hash(listing.as_bytes()), now),
            )
        }
    };
    Ok(Some(ClusterSource {
        path: folder.join(layout.containment),
        name: name.to_owned(),
        aux,
        found: Some((stamp, config_status)),
    }))
}

/// The compiled fleet, loaded and ready to answer.
pub struct Fleet {
    index: Index,
    shapes: Vec<Arc<ResourceGraph>>,
    /// Where each asked cluster's record sits in the index, in the order asked.
    order: Vec<usize>,
    cache: Option<PathBuf>,
    /// How many clusters were compiled on this load.
    pub rebuilt: usize,
    /// How many files were read and hashed on this load because their status changed, or
    /// was taken too soon after they changed to be trusted.
    pub rehashed: usize,
}

/// Files by path, each with its stamp.
type FileStamps = Vec<(String, Stamp)>;

/// What a cluster's record needs on this load.
enum Check<'a> {
    Fresh(&'a Meta),
    Changed(Box<Record>),
    /// Compile the cluster at this place among the sources, whose other files have these stamps.
    Compile(usize, FileStamps),
}

/// The stamps of `files` now (the first's status given when `first` is), reusing the ones
/// `old` holds for files whose status is unchanged and settled; whether they all still hold
/// the content `old` says; and how many files were hashed.
fn stamps(
    files: &[PathBuf],
    first: Option<FileStatus>,
    old: Option<&[(String, Stamp)]>,
    now: i128,
) -> Result<(FileStamps, bool, usize)> {
    let mut out = Vec::with_capacity(files.len());
    let mut same = old.is_some_and(|o| o.len() == files.len());
    let mut hashed = 0;
    for (i, file) in files.iter().enumerate() {
        let status = match first.filter(|_| i == 0) {
            Some(status) => status,
            None => cache::status(file)?,
        };
        let before = old
            .and_then(|o| o.get(i))
            .filter(|(n, _)| n.as_bytes() == file.as_os_str().as_encoded_bytes());
        if let Some((name, s)) = before.filter(|(_, s)| s.holds(&status)) {
            out.push((name.clone(), *s));
            continue;
        }
        let content = cache::hash_file(file)?;
        hashed += 1;
        same &= before.is_some_and(|(_, s)| s.content == content);
        out.push((file.display().to_string(), Stamp::new(status, content, now)));
    }
    Ok((out, same, hashed))
}

/// The records of `old` by cluster name.
fn by_name(old: Option<&Index>) -> HashMap<&str, &Meta> {
    old.iter()
        .flat_map(|i| i.metas.iter().map(|m| (m.name.as_str(), m)))
        .collect()
}

/// What cluster `source` (at place `i`) needs, given its record `meta` in `old`, and how many
/// of its files were hashed: every file's status is taken, a file is hashed when its status
/// changed, and its graph is compiled only when its content did.
fn check<'a>(
    i: usize,
    source: &ClusterSource,
    meta: Option<&'a Meta>,
    old: Option<&Index>,
    now: i128,
) -> Result<(Check<'a>, usize)> {
    let meta = meta.filter(|m| m.graph.as_bytes() == source.path.as_os_str().as_encoded_bytes());
    let folder = source.found.map(|(stamp, _)| stamp);
    let (aux, aux_same, mut hashed) = stamps(
        &source.aux,
        source.found.map(|(_, config)| config),
        meta.map(|m| m.aux.as_slice()),
        now,
    )?;
    let Some(meta) = meta else {
        return Ok((Check::Compile(i, aux), hashed));
    };
    let status = cache::status(&source.path)?;
    let graph = if meta.graph_stamp.holds(&status) {
        Some(meta.graph_stamp)
    } else {
        let content = cache::hash(&cache::read_graph(&source.path)?);
        hashed += 1;
        (content == meta.graph_stamp.content).then(|| Stamp::new(status, content, now))
    };
    let Some(graph) = graph else {
        return Ok((Check::Compile(i, aux), hashed));
    };
    if graph == meta.graph_stamp && aux_same && aux == meta.aux && folder == meta.folder {
        return Ok((Check::Fresh(meta), hashed));
    }
    // Same content, new stamps: restamped; a changed other file drops the record.
    let mut record = old
        .map(|o| o.record(meta))
        .ok_or_else(|| Error::matching("the fleet cache changed while it was read"))?;
    record.graph_stamp = graph;
    record.folder = folder;
    if !aux_same {
        record.blob = None;
    }
    record.aux = aux;
    Ok((Check::Changed(Box::new(record)), hashed))
}

impl Fleet {
    /// Bring the compiled fleet at `cache` up to date with `sources` and load it: clusters
    /// whose graph changed are compiled again, on every core; the cache keeps clusters it
    /// was not asked about unless `prune`. A cache that cannot be written is not an error:
    /// the fleet is then compiled in memory on every call.
    pub fn open(sources: &[ClusterSource], cache: Option<&Path>, prune: bool) -> Result<Fleet> {
        // Read before any status is taken: a file changing after it has a later change time.
        let now = cache::now_ns();
        let old = cache.and_then(Index::open);
        let (index, rebuilt, rehashed) = {
            let records = by_name(old.as_ref());
            let numbered: Vec<(usize, &ClusterSource)> = sources.iter().enumerate().collect();
            let checked = parallel_map(&numbered, |&(i, source)| {
                let meta = records.get(source.name.as_str()).copied();
                check(i, source, meta, old.as_ref(), now)
            })
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
            refresh(sources, checked, old.as_ref(), cache, prune, now)?
        };
        Fleet::load(index.or(old), sources, cache, rebuilt, rehashed)
    }

    /// The clusters of the store at `root` (`names`, or every folder holding a configuration
    /// file; then clusters gone from the store leave the cache), each found as `layout` says,
    /// brought up to date in `cache` and loaded. Each cluster is found and checked in one
    /// pass, on every core: one status per folder and file, no listing of a folder whose
    /// status is unchanged.
    pub fn open_store(
        root: &Path,
        names: Option<Vec<String>>,
        layout: &StoreLayout<'_>,
        cache: Option<&Path>,
    ) -> Result<Fleet> {
        let now = cache::now_ns();
        let old = cache.and_then(Index::open);
        let discover = names.is_none();
        let names = match names {
            Some(names) => names,
            None => store_folders(root)?,
        };
        let (sources, index, rebuilt, rehashed) = {
            let records = by_name(old.as_ref());
            let found = parallel_map(&names, |name| {
                let meta = records.get(name.as_str()).copied();
                let Some(source) = find_cluster(root, name, layout, meta, discover, now)? else {
                    return Ok(None);
                };
                let checked = check(0, &source, meta, old.as_ref(), now)?;
                Ok(Some((source, checked)))
            })
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
            let (sources, mut checked): (Vec<ClusterSource>, Vec<_>) =
                found.into_iter().flatten().unzip();
            for (place, (c, _)) in checked.iter_mut().enumerate() {
                if let Check::Compile(i, _) = c {
                    *i = place;
                }
            }
            let (index, rebuilt, rehashed) =
                refresh(&sources, checked, old.as_ref(), cache, discover, now)?;
            (sources, index, rebuilt, rehashed)
        };
        Fleet::load(index.or(old), &sources, cache, rebuilt, rehashed)
    }

    fn load(
        index: Option<Index>,
        sources: &[ClusterSource],
        cache: Option<&Path>,
        rebuilt: usize,
        rehashed: usize,
    ) -> Result<Fleet> {
        let index = index.ok_or_else(|| Error::matching("the fleet cache vanished while read"))?;
        let table = ShapeTable::from_shapes(index.shapes.clone())?;
        let shapes = table.graphs()?;
        // The cache holds the clusters in the order asked when it was written for them.
        let in_order = index.metas.len() >= sources.len()
            && sources
                .iter()
                .zip(&index.metas)
                .all(|(s, m)| s.name == m.name);
        let order = if in_order {
            (0..sources.len()).collect()
        } else {
            let at: HashMap<&str, usize> = index
                .metas
                .iter()
                .enumerate()
                .map(|(i, m)| (m.name.as_str(), i))
                .collect();
            sources
                .iter()
                .map(|s| {
                    at.get(s.name.as_str()).copied().ok_or_else(|| {
                        Error::matching(format!("{} is missing from the fleet cache", s.name))
                    })
                })
                .collect::<Result<Vec<_>>>()?
        };
        Ok(Fleet {
            index,
            shapes,
            order,
            cache: cache.map(Path::to_path_buf),
            rebuilt,
            rehashed,
        })
    }

    fn clusters(&self) -> impl Iterator<Item = &Meta> {
        self.order.iter().map(|&i| &self.index.metas[i])
    }

    fn metas(&self) -> Vec<&Meta> {
        self.clusters().collect()
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn names(&self) -> Vec<String> {
        self.clusters().map(|c| c.name.clone()).collect()
    }

    pub fn shape_count(&self) -> usize {
        self.shapes.len()
    }

    /// Size totals per type of each cluster's containment graph.
    pub fn totals(&self) -> Vec<(String, BTreeMap<String, u64>)> {
        self.clusters()
            .map(|c| (c.name.clone(), c.totals.clone()))
            .collect()
    }

    /// Vertices per type of each cluster's containment graph.
    pub fn counts(&self) -> Vec<(String, BTreeMap<String, u64>)> {
        self.clusters()
            .map(|c| (c.name.clone(), c.counts.clone()))
            .collect()
    }

    /// Each cluster's record of its other files, as the Python layer kept it, or None when
    /// there is none or one of those files changed since.
    pub fn records(&self) -> Vec<(String, Option<&[u8]>)> {
        self.clusters()
            .map(|c| (c.name.clone(), self.index.blob(c)))
            .collect()
    }

    /// Keep `records` (by cluster name) in the cache, for clusters whose files are still
    /// as this fleet found them. Best effort: a cache that cannot be written is left alone.
    pub fn keep_records(&self, records: &[(String, Vec<u8>)]) {
        let Some(path) = self.cache.as_deref() else {
            return;
        };
        let Some(current) = Index::open(path) else {
            return;
        };
        let mine: HashMap<&str, &Meta> = self.clusters().map(|m| (m.name.as_str(), m)).collect();
        let given: HashMap<&str, &Vec<u8>> = records.iter().map(|(n, b)| (n.as_str(), b)).collect();
        let mut changed = false;
        let entries: Vec<Entry<'_>> = current
            .metas
            .iter()
            .map(|m| {
                let same = mine.get(m.name.as_str()).is_some_and(|seen| {
                    seen.graph == m.graph && seen.graph_stamp == m.graph_stamp && seen.aux == m.aux
                });
                match given.get(m.name.as_str()).filter(|_| same) {
                    Some(blob) if current.blob(m) != Some(blob.as_slice()) => {
                        changed = true;
                        let mut r = current.record(m);
                        r.blob = Some((*blob).clone());
                        Entry::New(Box::new(r))
                    }
                    _ => Entry::Copied(&current.bytes[m.record.clone()]),
                }
            })
            .collect();
        if changed {
            let _ = cache::save(path, &cache::encode(&current.shapes, &entries));
        }
    }

    /// The full containment graph of the cluster called `name`, read from its file; with
    /// `per_node`, with the levels between each node and its resources removed (the view a
    /// batch script's per-node request is matched on).
    pub fn graph(&self, name: &str, per_node: bool) -> Result<ResourceGraph> {
        let c = self
            .clusters()
            .find(|c| c.name == name)
            .ok_or_else(|| Error::matching(format!("no cluster named {name:?} in this fleet")))?;
        plan::full_graph(c, per_node)
    }

    /// What allocating `js` (policy `first`) on each idle cluster would hold per type: the
    /// sum of one node's share when the request is `node[n] > ...` and the nodes it would
    /// take are alike and up, the full graph's allocation otherwise.
    pub fn taken(&self, js: &Jobspec, per_node: bool) -> Vec<Taken> {
        let plan = Plan::of(js);
        let mut shape_held: HashMap<u32, Option<BTreeMap<String, u64>>> = HashMap::new();
        if let Some(
            nodes @ Plan::Nodes {
                per_node: single, ..
            },
        ) = &plan
        {
            let wanted = shapes_of(&self.metas(), nodes, per_node);
            let held = parallel_map(&wanted, |&s| {
                let g = &self.shapes[s as usize];
                let mut st = AllocState::new(g);
                Matcher::new(g)
                    .allocate(&mut st, single, Policy::First)
                    .allocation
                    .map(|a| plan::held_amounts(g, &a.taken))
            });
            shape_held = wanted.into_iter().zip(held).collect();
        }
        let constraint = js.constraints.as_ref();
        parallel_map(&self.metas(), |c| {
            if let Some(Plan::Nodes { count, .. }) = &plan {
                if c.decomposable && plan.as_ref().is_some_and(|p| p.applies(c)) {
                    let (nodes, _) = alike(c, per_node, constraint, || self.index.nodes(c));
                    if let Some(t) = plan::taken_from_shapes(c, *count, &shape_held, &nodes) {
                        return t;
                    }
                }
            }
            plan::full_graph_taken(c, js, per_node)
        })
    }

    /// Which clusters could run `js` with every resource free, and why not for the others.
    /// `per_node` matches against each node with the levels between it and its resources
    /// removed, as jobs read from batch scripts need.
    pub fn satisfiable(&self, js: &Jobspec, per_node: bool) -> Vec<Fit> {
        let plan = Plan::of(js);
        let needed = js.counts();
        let constraint = js.constraints.as_ref();
        let metas = self.metas();
        // Clusters whose compiled bytes are alike answer alike when the answer comes from
        // their shapes alone (no constraint picks nodes, no graph is read): each is answered
        // as the first of its kind.
        let mut first_of: HashMap<u64, usize> = HashMap::new();
        let asked: Vec<usize> = metas
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let from_shapes = constraint.is_none()
                    && c.decomposable
                    && plan.as_ref().is_some_and(|p| p.applies(c));
                if !from_shapes {
                    return i;
                }
                let bytes = &self.index.bytes[c.alike.clone()];
                let first = *first_of.entry(cache::hash(bytes)).or_insert(i);
                let same = &self.index.bytes[metas[first].alike.clone()] == bytes;
                if same {
                    first
                } else {
                    i
                }
            })
            .collect();
        let answered: Vec<usize> = (0..metas.len()).filter(|&i| asked[i] == i).collect();
        // Answer each shape those clusters hold once, whichever clusters share it.
        let mut shape_answers: HashMap<u32, ShapeAnswer> = HashMap::new();
        if let Some(plan) = &plan {
            let answering: Vec<&Meta> = answered.iter().map(|&i| metas[i]).collect();
            let wanted = shapes_of(&answering, plan, per_node);
            let answers = parallel_map(&wanted, |&s| plan.answer(&self.shapes[s as usize]));
            shape_answers = wanted.into_iter().zip(answers).collect();
        }
        let answer = |c: &Meta| -> (bool, Option<String>) {
            if let Some(reason) = plan::short_in_all(c, &needed) {
                return (false, Some(reason));
            }
            let fit = match &plan {
                Some(plan) if c.decomposable && plan.applies(c) => {
                    let (nodes, excluded) = alike(c, per_node, constraint, || self.index.nodes(c));
                    plan.combine(c, &shape_answers, &nodes, excluded)
                }
                _ => plan::full_graph_fit(c, js, per_node),
            };
            (fit.ok, fit.reason)
        };
        let answers: HashMap<usize, (bool, Option<String>)> = answered
            .iter()
            .copied()
            .zip(parallel_map(&answered, |&i| answer(metas[i])))
            .collect();
        metas
            .iter()
            .zip(&asked)
            .map(|(c, from)| {
                let (ok, reason) = answers.get(from).cloned().unwrap_or((false, None));
                Fit {
                    cluster: c.name.clone(),
                    ok,
                    reason,
                }
            })
            .collect()
    }
}

/// The distinct shapes of the nodes of the `clusters` that `plan` can answer from shapes.
fn shapes_of(clusters: &[&Meta], plan: &Plan, per_node: bool) -> Vec<u32> {
    let mut wanted: Vec<u32> = clusters
        .iter()
        .filter(|c| c.decomposable && plan.applies(c))
        .flat_map(|c| {
            c.histogram
                .iter()
                .map(|h| if per_node { h.flat_shape } else { h.shape })
        })
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    wanted
}

/// The cache brought up to date with the `checked` clusters (`sources`, in order): those to
/// compile compiled, on every core; written and mapped back when anything changed (None when
/// `old` still holds it all); with how many clusters were compiled and files hashed.
fn refresh(
    sources: &[ClusterSource],
    checked: Vec<(Check<'_>, usize)>,
    old: Option<&Index>,
    cache: Option<&Path>,
    prune: bool,
    now: i128,
) -> Result<(Option<Index>, usize, usize)> {
    let rehashed = checked.iter().map(|(_, h)| h).sum();
    let mut checks: Vec<Check<'_>> = checked.into_iter().map(|(c, _)| c).collect();
    let old_shapes = old.map(|o| o.shapes.clone()).unwrap_or_default();
    let compiled = compile_all(sources, &mut checks, old_shapes, now)?;
    let rebuilt = compiled.rebuilt;
    let kept: Vec<&Meta> = match old.filter(|_| !prune) {
        Some(o) => {
            let asked: std::collections::HashSet<&str> =
                sources.iter().map(|s| s.name.as_str()).collect();
            o.metas
                .iter()
                .filter(|m| !asked.contains(m.name.as_str()))
                .collect()
        }
        None => Vec::new(),
    };
    let unchanged = old.is_some_and(|o| o.metas.len() == sources.len() + kept.len())
        && rebuilt == 0
        && checks.iter().all(|c| matches!(c, Check::Fresh(_)));
    if unchanged {
        return Ok((None, rebuilt, rehashed));
    }
    let raw = |m: &Meta| -> &[u8] { old.map_or(&[][..], |o| &o.bytes[m.record.clone()]) };
    let mut entries: Vec<Entry<'_>> = Vec::with_capacity(checks.len() + kept.len());
    for check in checks {
        match check {
            Check::Fresh(m) => entries.push(Entry::Copied(raw(m))),
            Check::Changed(r) => entries.push(Entry::New(r)),
            Check::Compile(..) => {}
        }
    }
    entries.extend(
        compiled
            .records
            .into_iter()
            .map(|r| Entry::New(Box::new(r))),
    );
    entries.extend(kept.iter().map(|m| Entry::Copied(raw(m))));
    let bytes = cache::encode(&compiled.shapes, &entries);
    Ok((Some(written(cache, bytes)?), rebuilt, rehashed))
}

/// The clusters `checks` says to compile, compiled on every core, and the fleet's shapes
/// (the old ones, then the new ones they bring).
struct CompiledAll {
    shapes: Vec<Vec<u8>>,
    records: Vec<Record>,
    rebuilt: usize,
}

fn compile_all(
    sources: &[ClusterSource],
    checks: &mut [Check<'_>],
    old_shapes: Vec<Vec<u8>>,
    now: i128,
) -> Result<CompiledAll> {
    let wanted: Vec<(usize, Vec<(String, Stamp)>)> = checks
        .iter_mut()
        .filter_map(|c| match c {
            Check::Compile(i, aux) => Some((*i, std::mem::take(aux))),
            _ => None,
        })
        .collect();
    if wanted.is_empty() {
        return Ok(CompiledAll {
            shapes: old_shapes,
            records: Vec::new(),
            rebuilt: 0,
        });
    }
    let mut table = ShapeTable::from_shapes(old_shapes)?;
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(wanted.len());
    let chunk = wanted.len().div_ceil(workers);
    let parts: Vec<Result<(ShapeTable, Vec<Record>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = wanted
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut local = ShapeTable::default();
                    let mut records = Vec::with_capacity(part.len());
                    for (i, aux) in part {
                        let source = &sources[*i];
                        let status = cache::status(&source.path)?;
                        let bytes = cache::read_graph(&source.path)?;
                        let file = source.path.display().to_string();
                        let compiled = shapes::compile(&bytes, &file, &mut local)?;
                        records.push(Record {
                            name: source.name.clone(),
                            graph: file,
                            graph_stamp: Stamp::new(status, cache::hash(&bytes), now),
                            folder: source.found.map(|(stamp, _)| stamp),
                            compiled,
                            aux: aux.clone(),
                            blob: None,
                        });
                    }
                    Ok((local, records))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::matching("compiling the fleet failed")))
            })
            .collect()
    });
    let mut records = Vec::with_capacity(wanted.len());
    for part in parts {
        let (local, mut compiled) = part?;
        let renumber = table.merge(local);
        for r in &mut compiled {
            for n in &mut r.compiled.nodes {
                n.shape = renumber[n.shape as usize];
                n.flat_shape = renumber[n.flat_shape as usize];
            }
        }
        records.extend(compiled);
    }
    Ok(CompiledAll {
        shapes: table.shapes,
        rebuilt: records.len(),
        records,
    })
}

/// The new cache's bytes saved to `cache` and mapped back, or kept in memory when there is
/// no cache or it cannot be written (only the next call then pays for compiling again).
fn written(cache: Option<&Path>, bytes: Vec<u8>) -> Result<Index> {
    if let Some(path) = cache {
        if cache::save(path, &bytes).is_ok() {
            if let Some(index) = Index::open(path) {
                return Ok(index);
            }
        }
    }
    Index::parse(Bytes::Owned(bytes))
        .ok_or_else(|| Error::matching("the compiled fleet could not be read back"))
}

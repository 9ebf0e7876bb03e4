//! `fractale.ResourceGraph` and the results of matching on it. The loaded graph is shared and
//! immutable; allocations live beside it behind a lock, and long work runs without the GIL.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyString};

use super::convert::{to_py, to_value};
use super::jobspec::Jobspec;
use crate::error::Error;
use crate::graph::ResourceGraph as CoreGraph;
use crate::input::{read_bounded, Mapped, MAX_GRAPH_BYTES};
use crate::jgf::{self, Layout};
use crate::matcher::{self, AllocState, Matcher, Policy, Window, HORIZON};

#[pyclass(name = "Vertex", module = "fractale", frozen, get_all)]
#[derive(Clone)]
pub struct Vertex {
    path: String,
    #[pyo3(name = "type")]
    kind: String,
    name: String,
    id: i64,
    rank: i64,
    exclusive: bool,
    size: u64,
}

#[pymethods]
impl Vertex {
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let d = PyDict::new(py);
        d.set_item("path", &self.path)?;
        d.set_item("type", &self.kind)?;
        d.set_item("name", &self.name)?;
        d.set_item("id", self.id)?;
        d.set_item("rank", self.rank)?;
        d.set_item("exclusive", self.exclusive)?;
        d.set_item("size", self.size)?;
        Ok(d.into_any().unbind())
    }

    fn __repr__(&self) -> String {
        format!(
            "Vertex({:?}, exclusive={}, size={})",
            self.path, self.exclusive, self.size
        )
    }
}

#[pyclass(name = "Allocation", module = "fractale", frozen)]
pub struct Allocation {
    jobid: u64,
    at: i64,
    end: i64,
    /// What the job holds, as the matcher gave it; its vertices are built on first use.
    graph: Arc<CoreGraph>,
    taken: Vec<matcher::Taken>,
    vertices: OnceLock<Vec<Vertex>>,
}

impl Allocation {
    /// The vertices held, by containment path.
    fn vertices(&self) -> &[Vertex] {
        self.vertices.get_or_init(|| {
            let g = &self.graph;
            let mut taken = self.taken.clone();
            matcher::by_path(g, &mut taken);
            taken
                .iter()
                .map(|t| {
                    let v = t.vertex;
                    Vertex {
                        path: g.path(v).into_owned(),
                        kind: g.type_name(v).to_owned(),
                        name: g.name(v).to_owned(),
                        id: g.id(v),
                        rank: g.rank(v),
                        exclusive: t.exclusive,
                        size: t.size,
                    }
                })
                .collect()
        })
    }
}

#[pymethods]
impl Allocation {
    #[getter]
    fn jobid(&self) -> u64 {
        self.jobid
    }

    /// When the job starts, in seconds from the graph's time zero (0: now).
    #[getter]
    fn at(&self) -> i64 {
        self.at
    }

    /// When it gives its vertices back; None for a job without a duration (held for good).
    #[getter]
    fn end(&self) -> Option<i64> {
        (self.end < HORIZON).then_some(self.end)
    }

    #[getter]
    fn resources(&self) -> Vec<Vertex> {
        self.vertices().to_vec()
    }

    /// Amount taken per resource type: exclusive vertices and their sizes.
    fn counts(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for v in self.vertices().iter().filter(|v| v.exclusive) {
            *out.entry(v.kind.clone()).or_default() += v.size;
        }
        out
    }

    /// Names of the `node` vertices the allocation touches.
    fn nodes(&self) -> Vec<String> {
        self.vertices()
            .iter()
            .filter(|v| v.kind == "node")
            .map(|v| v.name.clone())
            .collect()
    }

    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let d = PyDict::new(py);
        d.set_item("jobid", self.jobid)?;
        d.set_item("at", self.at)?;
        d.set_item("end", self.end())?;
        let list = PyList::empty(py);
        for v in self.vertices() {
            list.append(v.to_dict(py)?)?;
        }
        d.set_item("resources", list)?;
        Ok(d.into_any().unbind())
    }

    fn __len__(&self) -> usize {
        self.taken.len()
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let list = PyList::new(
            py,
            slf.vertices()
                .iter()
                .cloned()
                .map(|v| Py::new(py, v))
                .collect::<PyResult<Vec<_>>>()?,
        )?;
        Ok(list.as_any().try_iter()?.into_any().unbind())
    }

    fn __repr__(&self) -> String {
        format!(
            "Allocation(jobid={}, at={}, vertices={})",
            self.jobid,
            self.at,
            self.taken.len()
        )
    }
}

#[pyclass(name = "MatchResult", module = "fractale", frozen)]
pub struct MatchResult {
    status: &'static str,
    reason: Option<String>,
    allocation: Option<Py<Allocation>>,
}

#[pymethods]
impl MatchResult {
    #[getter]
    fn status(&self) -> &'static str {
        self.status
    }

    /// Why it failed, naming the resource level that fell short.
    #[getter]
    fn reason(&self) -> Option<String> {
        self.reason.clone()
    }

    #[getter]
    fn allocation(&self, py: Python<'_>) -> Option<Py<Allocation>> {
        self.allocation.as_ref().map(|a| a.clone_ref(py))
    }

    /// When the job starts (seconds from the graph's time zero), when it was placed.
    #[getter]
    fn at(&self) -> Option<i64> {
        self.allocation.as_ref().map(|a| a.get().at)
    }

    fn __bool__(&self) -> bool {
        matches!(self.status, "allocated" | "reserved" | "satisfiable")
    }

    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let d = PyDict::new(py);
        d.set_item("status", self.status)?;
        d.set_item("at", self.at())?;
        d.set_item("reason", &self.reason)?;
        match &self.allocation {
            Some(a) => d.set_item("allocation", a.get().to_dict(py)?)?,
            None => d.set_item("allocation", py.None())?,
        }
        Ok(d.into_any().unbind())
    }

    fn __repr__(&self) -> String {
        match (&self.reason, self.at()) {
            (Some(r), _) => format!("MatchResult({:?}, reason={:?})", self.status, r),
            (None, Some(at)) if at > 0 => format!("MatchResult({:?}, at={at})", self.status),
            (None, _) => format!("MatchResult({:?})", self.status),
        }
    }
}

#[pyclass(name = "ResourceGraph", module = "fractale", frozen)]
pub struct ResourceGraph {
    pub graph: Arc<CoreGraph>,
    state: Mutex<AllocState>,
    name: Option<String>,
    /// `node` vertices by name, built the first time a job is held by node names.
    nodes_by_name: OnceLock<BTreeMap<String, u32>>,
}

impl ResourceGraph {
    pub fn new(graph: CoreGraph, name: Option<String>) -> Self {
        let state = Mutex::new(AllocState::new(&graph));
        ResourceGraph {
            graph: Arc::new(graph),
            state,
            name,
            nodes_by_name: OnceLock::new(),
        }
    }

    fn allocation(&self, py: Python<'_>, alloc: matcher::Allocation) -> PyResult<Py<Allocation>> {
        Py::new(
            py,
            Allocation {
                jobid: alloc.jobid,
                at: alloc.at,
                end: alloc.end,
                graph: Arc::clone(&self.graph),
                taken: alloc.taken,
                vertices: OnceLock::new(),
            },
        )
    }

    fn result(&self, py: Python<'_>, r: matcher::MatchResult) -> PyResult<MatchResult> {
        let allocation = match r.allocation {
            None => None,
            Some(alloc) => Some(self.allocation(py, alloc)?),
        };
        Ok(MatchResult {
            status: r.outcome.name(),
            reason: r.reason,
            allocation,
        })
    }

    fn run(
        &self,
        py: Python<'_>,
        jobspec: &Bound<'_, PyAny>,
        policy: &str,
        op: Op,
    ) -> PyResult<MatchResult> {
        let js = Jobspec::coerce(jobspec)?;
        let policy = Policy::parse(policy)?;
        let graph = self.graph.clone();
        let outcome = py.detach(|| {
            let mut state = self
                .state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let m = Matcher::new(&graph);
            match op {
                Op::Satisfiable => m.satisfiable(&mut state, &js, policy),
                Op::Allocate => m.allocate(&mut state, &js, policy),
                Op::Reserve => m.reserve(&mut state, &js, policy),
            }
        });
        self.result(py, outcome)
    }
}

/// Which question a match asks.
#[derive(Clone, Copy)]
enum Op {
    Satisfiable,
    Allocate,
    Reserve,
}

/// Linux's PATH_MAX.
const MAX_PATH_BYTES: usize = 4096;

/// Read a JGF source: a path, JSON text, or bytes of either.
/// `origin` names where text or a document came from (a path names itself): errors carry it.
fn load(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    origin: Option<String>,
    layout: Layout,
) -> PyResult<(CoreGraph, Option<String>)> {
    if let Ok(d) = source.cast::<PyDict>() {
        let file = origin.as_deref();
        let value = to_value(d.as_any())
            .map_err(|c| PyErr::from(Error::jgf(file, c.location, c.problem)))?;
        let g =
            py.detach(|| jgf::from_value_as(value, file, layout).map(CoreGraph::from_document))?;
        return Ok((g, origin));
    }
    let text: Option<String> = if let Ok(s) = source.cast::<PyString>() {
        Some(s.to_cow()?.into_owned())
    } else {
        None
    };
    if let Some(text) = text.as_ref().filter(|t| t.trim_start().starts_with('{')) {
        let text = text.clone();
        let file = origin.clone();
        let g = py.detach(move || {
            jgf::parse_bytes_as(text.as_bytes(), file.as_deref(), layout)
                .map(CoreGraph::from_document)
        })?;
        return Ok((g, origin));
    }
    // Longer than any path the kernel takes: text that is not JGF, never echoed whole.
    if let Some(text) = text.as_ref().filter(|t| t.len() > MAX_PATH_BYTES) {
        return Err(PyErr::from(Error::jgf(
            origin.as_deref(),
            "",
            format!(
                "expected JGF text (a JSON object) or the path of a JGF file, found {} \
                     characters of other text",
                text.chars().count()
            ),
        )));
    }
    let path: std::path::PathBuf = match source.extract() {
        Ok(p) => p,
        Err(_) => {
            return Err(PyTypeError::new_err(format!(
                "expected a path, JGF text or a dict, got {}",
                source.get_type().name()?
            )))
        }
    };
    let name = origin.unwrap_or_else(|| path.display().to_string());
    let file = name.clone();
    let g = py.detach(move || {
        // The file's bytes are let go of before the graph is built from the document.
        let doc = match Mapped::open(&path, MAX_GRAPH_BYTES, "graph")? {
            Some(mapped) => {
                let release = |run: std::ops::Range<usize>| mapped.release(run);
                jgf::parse_bytes_releasing(mapped.bytes(), Some(&file), layout, &release)?
            }
            None => {
                let bytes = read_bounded(&path, MAX_GRAPH_BYTES, "graph", true)?;
                jgf::parse_bytes_as(&bytes, Some(&file), layout)?
            }
        };
        Ok::<_, Error>(CoreGraph::from_document(doc))
    })?;
    Ok((g, Some(name)))
}

#[pymethods]
impl ResourceGraph {
    /// Load a JGF resource graph from a path, a JSON string or a parsed document.
    /// `source` names where text or a document came from, for errors and as the default
    /// name. `forest=True` accepts containment edges that form a forest, as compspec writes
    /// software graphs, joining the trees under their subsystem root.
    #[staticmethod]
    #[pyo3(signature = (jgf, /, *, source = None, name = None, forest = false))]
    fn from_jgf(
        py: Python<'_>,
        jgf: &Bound<'_, PyAny>,
        source: Option<String>,
        name: Option<String>,
        forest: bool,
    ) -> PyResult<ResourceGraph> {
        let layout = if forest { Layout::Forest } else { Layout::Tree };
        let (graph, file) = load(py, jgf, source, layout)?;
        Ok(ResourceGraph::new(graph, name.or(file)))
    }

    /// Could the request be met on this graph if every resource were free?
    #[pyo3(signature = (jobspec, policy = "first"))]
    fn satisfiable(
        &self,
        py: Python<'_>,
        jobspec: &Bound<'_, PyAny>,
        policy: &str,
    ) -> PyResult<MatchResult> {
        self.run(py, jobspec, policy, Op::Satisfiable)
    }

    /// Allocate the request against this graph's current allocations.
    #[pyo3(signature = (jobspec, policy = "first"))]
    fn allocate(
        &self,
        py: Python<'_>,
        jobspec: &Bound<'_, PyAny>,
        policy: &str,
    ) -> PyResult<MatchResult> {
        self.run(py, jobspec, policy, Op::Allocate)
    }

    /// Allocate the request now, or else reserve it from the earliest time it fits for its
    /// whole duration around every job planned (`status` "allocated" or "reserved", `at`).
    #[pyo3(signature = (jobspec, policy = "first"))]
    fn reserve(
        &self,
        py: Python<'_>,
        jobspec: &Bound<'_, PyAny>,
        policy: &str,
    ) -> PyResult<MatchResult> {
        self.run(py, jobspec, policy, Op::Reserve)
    }

    /// Record a job its scheduler already placed: `nodes` maps node names to the cores it
    /// holds there (None: the whole node), held over `[start, end)` seconds from time zero
    /// (`end` None: for good).
    #[pyo3(signature = (nodes, start = 0, end = None, policy = "first"))]
    fn hold(
        &self,
        py: Python<'_>,
        nodes: BTreeMap<String, Option<u64>>,
        start: i64,
        end: Option<i64>,
        policy: &str,
    ) -> PyResult<Py<Allocation>> {
        let policy = Policy::parse(policy)?;
        let g = &self.graph;
        let by_name = self.nodes_by_name.get_or_init(|| {
            let node_type = g.types().get("node");
            (0..g.len() as u32)
                .filter(|&v| Some(g.kind(v)) == node_type)
                .map(|v| (g.name(v).to_owned(), v))
                .collect()
        });
        let mut claims = Vec::with_capacity(nodes.len());
        for (name, cores) in &nodes {
            let v = by_name.get(name).ok_or_else(|| {
                PyErr::from(Error::matching(format!(
                    "the graph has no node named {name:?}"
                )))
            })?;
            claims.push((*v, *cores));
        }
        let window = Window {
            start,
            end: end.unwrap_or(HORIZON),
        };
        let held = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            Matcher::new(g).hold(&mut state, &claims, window, policy)
        };
        let held = held?;
        self.allocation(py, held)
    }

    /// Give back an allocation (or the allocation with this job id).
    fn release(&self, allocation: &Bound<'_, PyAny>) -> PyResult<()> {
        let jobid = if let Ok(a) = allocation.cast::<Allocation>() {
            a.get().jobid
        } else if allocation.is_instance_of::<PyInt>() && !allocation.is_instance_of::<PyBool>() {
            // No allocation has a negative id or one past 64 bits: that is an unknown job.
            match allocation.extract::<u64>() {
                Ok(id) => id,
                Err(_) => {
                    return Err(PyErr::from(Error::Match {
                        message: format!(
                            "no allocation with job id {allocation} is held on this graph"
                        ),
                    }))
                }
            }
        } else {
            return Err(PyTypeError::new_err("expected an Allocation or a job id"));
        };
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        Matcher::new(&self.graph)
            .release(&mut state, jobid)
            .map_err(PyErr::from)
    }

    /// Job ids of the jobs held: allocated now or reserved.
    fn jobs(&self) -> Vec<u64> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .jobids()
    }

    /// How many vertices of each type the graph holds.
    fn summary(&self) -> BTreeMap<String, u64> {
        self.graph.summary()
    }

    /// Total size of each type (memory in its unit, for example).
    fn totals(&self) -> BTreeMap<String, u64> {
        self.graph.totals()
    }

    /// How much of each type no allocation holds now.
    fn free(&self) -> BTreeMap<String, u64> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let g = &self.graph;
        (0..g.types().len() as u32)
            .map(|t| {
                (
                    g.types().name(t).to_owned(),
                    state.free_total(g, g.root(), t),
                )
            })
            .collect()
    }

    fn to_jgf(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let value = py.detach(|| self.graph.to_jgf());
        to_py(py, &value)
    }

    fn subsystems(&self) -> Vec<String> {
        self.graph.subsystems().to_vec()
    }

    #[getter]
    fn name(&self) -> Option<String> {
        self.name.clone()
    }

    #[getter]
    fn vertex_count(&self) -> usize {
        self.graph.len()
    }

    #[getter]
    fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    fn __len__(&self) -> usize {
        self.graph.len()
    }

    fn __repr__(&self) -> String {
        let s: Vec<String> = self
            .graph
            .summary()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!(
            "ResourceGraph({}{})",
            self.name
                .as_deref()
                .map(|n| format!("{n:?}, "))
                .unwrap_or_default(),
            s.join(", ")
        )
    }
}

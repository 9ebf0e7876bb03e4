//! `fractale.CompiledFleet`: the fleet index of a cluster store, answered in Rust.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use super::graph::ResourceGraph;
use super::jobspec::Jobspec;
use crate::fleet::{ClusterSource, Fleet, StoreLayout};

#[pyclass(name = "CompiledFleet", module = "fractale", frozen)]
pub struct CompiledFleet {
    fleet: Fleet,
}

#[pymethods]
impl CompiledFleet {
    /// Compile (or refresh from `cache`) the fleet of `clusters`, given as
    /// `(name, containment graph path)` pairs. Only clusters whose graph file changed since
    /// the cache was written are compiled again; the cache keeps the clusters it holds
    /// beside them.
    #[staticmethod]
    #[pyo3(signature = (clusters, cache = None))]
    fn open(
        py: Python<'_>,
        clusters: Vec<(String, PathBuf)>,
        cache: Option<PathBuf>,
    ) -> PyResult<CompiledFleet> {
        let sources: Vec<ClusterSource> = clusters
            .into_iter()
            .map(|(name, path)| ClusterSource::new(name, path))
            .collect();
        let fleet = py.detach(|| Fleet::open(&sources, cache.as_deref(), false))?;
        Ok(CompiledFleet { fleet })
    }

    /// The clusters of the store at `root` (those named, or every folder holding a
    /// `config` file), each compiled from its `containment` graph; the cache also keeps,
    /// per cluster, the record the Python layer made of its `config` and other graph files
    /// (`records`, `keep_records`), until one of them changes. Files named in `skip` are not
    /// part of a cluster's record. Without `names`, clusters gone from the store leave the
    /// cache.
    #[staticmethod]
    #[pyo3(signature = (root, names, cache, *, config, containment, skip))]
    fn open_store(
        py: Python<'_>,
        root: PathBuf,
        names: Option<Vec<String>>,
        cache: Option<PathBuf>,
        config: String,
        containment: String,
        skip: Vec<String>,
    ) -> PyResult<CompiledFleet> {
        let layout = StoreLayout {
            config: &config,
            containment: &containment,
            skip: &skip,
        };
        let fleet = py.detach(|| Fleet::open_store(&root, names, &layout, cache.as_deref()))?;
        Ok(CompiledFleet { fleet })
    }

    /// Each cluster's record, as `keep_records` kept it, split into its lines, or None when
    /// there is none or one of the files it was made from changed: `(name, lines)` in the
    /// fleet's order. Equal lines are one `bytes` object, so the Python layer hashes each
    /// distinct line once however many clusters share it.
    fn records<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Vec<(String, Option<Bound<'py, PyTuple>>)>> {
        let mut shared: HashMap<&[u8], Bound<'py, PyBytes>> = HashMap::new();
        self.fleet
            .records()
            .into_iter()
            .map(|(name, blob)| {
                let lines = blob
                    .map(|b| {
                        let lines: Vec<Bound<'py, PyBytes>> = b
                            .split(|&c| c == b'\n')
                            .map(|line| {
                                shared
                                    .entry(line)
                                    .or_insert_with(|| PyBytes::new(py, line))
                                    .clone()
                            })
                            .collect();
                        PyTuple::new(py, lines)
                    })
                    .transpose()?;
                Ok((name, lines))
            })
            .collect()
    }

    /// Keep `(name, record)` pairs in the cache for the clusters whose files are still as
    /// this fleet found them (best effort: an unwritable cache is left alone).
    fn keep_records(&self, py: Python<'_>, records: Vec<(String, Vec<u8>)>) {
        py.detach(|| self.fleet.keep_records(&records));
    }

    /// Vertices per type of every cluster's containment graph, by cluster name.
    fn counts(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        self.fleet.counts().into_iter().collect()
    }

    /// For every cluster, in the order given: `(name, fits, reason)` for the request with
    /// every resource free. `per_node` matches each node with the levels between it and
    /// its resources removed, as jobs read from batch scripts need.
    #[pyo3(signature = (jobspec, per_node = false))]
    fn satisfiable(
        &self,
        py: Python<'_>,
        jobspec: &Bound<'_, PyAny>,
        per_node: bool,
    ) -> PyResult<Vec<(String, bool, Option<String>)>> {
        let js = Jobspec::coerce(jobspec)?;
        let fits = py.detach(|| self.fleet.satisfiable(&js, per_node));
        Ok(fits
            .into_iter()
            .map(|f| (f.cluster, f.ok, f.reason))
            .collect())
    }

    /// For every cluster: `(name, held, nodes, reason)`, where `held` is what allocating the
    /// request (policy first) on the idle cluster would hold per type and `nodes` how many
    /// nodes it would touch, or None with the reason it cannot be allocated.
    #[pyo3(signature = (jobspec, per_node = false))]
    #[allow(clippy::type_complexity)]
    fn taken(
        &self,
        py: Python<'_>,
        jobspec: &Bound<'_, PyAny>,
        per_node: bool,
    ) -> PyResult<Vec<(String, Option<BTreeMap<String, u64>>, u64, Option<String>)>> {
        let js = Jobspec::coerce(jobspec)?;
        let taken = py.detach(|| self.fleet.taken(&js, per_node));
        Ok(taken
            .into_iter()
            .map(|t| (t.cluster, t.held, t.nodes, t.reason))
            .collect())
    }

    /// The full containment graph of cluster `name`, read from its file, as a fresh
    /// `ResourceGraph`; with `per_node`, with the levels between each node and its resources
    /// (sockets, NUMA nodes, caches) removed, the view a batch script's request is about.
    #[pyo3(signature = (name, per_node = false))]
    fn graph(&self, py: Python<'_>, name: &str, per_node: bool) -> PyResult<ResourceGraph> {
        let graph = py.detach(|| self.fleet.graph(name, per_node))?;
        Ok(ResourceGraph::new(graph, Some(name.to_owned())))
    }

    /// Size totals per type of every cluster's containment graph, by cluster name.
    fn totals(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        self.fleet.totals().into_iter().collect()
    }

    /// How many clusters were compiled again when this fleet was opened.
    #[getter]
    fn rebuilt(&self) -> usize {
        self.fleet.rebuilt
    }

    /// How many files were read and hashed when this fleet was opened: those whose status
    /// changed, or was taken too soon after they changed to be trusted.
    #[getter]
    fn rehashed(&self) -> usize {
        self.fleet.rehashed
    }

    /// Distinct node shapes across the fleet.
    #[getter]
    fn shape_count(&self) -> usize {
        self.fleet.shape_count()
    }

    fn names(&self) -> Vec<String> {
        self.fleet.names()
    }

    fn __len__(&self) -> usize {
        self.fleet.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "CompiledFleet({} clusters, {} node shapes)",
            self.fleet.len(),
            self.fleet.shape_count()
        )
    }
}

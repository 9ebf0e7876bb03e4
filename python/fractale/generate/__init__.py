"""Generators of subsystem graphs (JGF) from real sources: hwloc, Slurm, Grid Engine, Flux,
Kubernetes, spack, environment modules, and synthetic clusters.

Each generator returns a JGF document (a dict) that fractale's core loads;
``fractale generate`` writes it to a file or straight into the cluster store.
"""

from __future__ import annotations

from fractale.generate.flux import flux_graph
from fractale.generate.gridengine import gridengine_graph, read_qhost
from fractale.generate.hwloc import hwloc_graph, hwloc_graph_from_files, read_lstopo
from fractale.generate.kubernetes import kubernetes_graph
from fractale.generate.slurm import read_scontrol, slurm_graph
from fractale.generate.software import (
    Software,
    module_software,
    software_graph,
    software_in,
    spack_database,
    spack_software,
)
from fractale.generate.synthetic import synthetic_graph

__all__ = [
    "Software",
    "flux_graph",
    "gridengine_graph",
    "hwloc_graph",
    "hwloc_graph_from_files",
    "kubernetes_graph",
    "module_software",
    "read_lstopo",
    "read_qhost",
    "read_scontrol",
    "slurm_graph",
    "software_graph",
    "software_in",
    "spack_database",
    "spack_software",
    "synthetic_graph",
]

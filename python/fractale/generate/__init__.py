"""Generators of subsystem graphs (JGF) from real sources: hwloc, Slurm, Flux, Kubernetes,
spack, environment modules, and synthetic clusters.

Each generator is a function returning a JGF document (a dict) that fractale's core loads;
``fractale generate`` writes it to a file or straight into the cluster store.
"""

from fractale.generate.synthetic import synthetic_graph

__all__ = ["synthetic_graph"]

"""One module per workload manager; importing this package registers them all."""

from fractale.transform.managers import (  # noqa: F401
    cobalt,
    flux,
    jobspec,
    kubernetes,
    lsf,
    moab,
    oar,
    pbs,
    slurm,
)

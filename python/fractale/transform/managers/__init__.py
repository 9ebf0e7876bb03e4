"""One module per workload manager; ``fractale.transform.registry`` imports them all."""

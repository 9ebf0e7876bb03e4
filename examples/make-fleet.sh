#!/usr/bin/env bash
# Rebuild the example fleet in examples/fleet from the sources beside this script:
# three clusters with their containment graphs and the software installed on them.
set -euo pipefail
cd "$(dirname "$0")"
export FRACTALE_HOME="$PWD/fleet"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# quartz: 16 CPU nodes under Slurm (2 sockets x 18 cores, 128 GB), software from spack.
fractale generate synthetic --name quartz --nodes 16 --sockets 2 --cores 18 --gpus 0 \
  --memory 4 --memory-size 32 -o "$work/quartz.json"
fractale generate spack sources/quartz -o "$work/quartz-spack.json"
fractale cluster add quartz --force --scheduler slurm --cost 0.60 \
  --description "CPU cluster: 16 nodes of 36 cores and 128 GB" \
  --containment "$work/quartz.json" --subsystem spack="$work/quartz-spack.json"

# tioga: 8 GPU nodes under Flux (2 sockets x 32 cores, 4 GPUs, 512 GB), Lmod modules.
fractale generate synthetic --name tioga --nodes 8 --sockets 2 --cores 32 --gpus 4 \
  --memory 8 --memory-size 64 -o "$work/tioga.json"
fractale generate modules -o "$work/tioga-modules.json" --modulepath \
  sources/tioga-modules/tcl:sources/tioga-modules/lmod/Core:sources/tioga-modules/lmod/Compiler/gcc/12.2.0
fractale cluster add tioga --force --scheduler flux --cost 2.50 \
  --description "GPU cluster: 8 nodes of 64 cores, 4 GPUs and 512 GB" \
  --containment "$work/tioga.json" --subsystem modules="$work/tioga-modules.json"

# dev: a 2-node PBS development cluster with older software.
fractale generate synthetic --name dev --nodes 2 --sockets 2 --cores 12 --gpus 0 \
  --memory 2 --memory-size 48 -o "$work/dev.json"
fractale generate spack sources/dev -o "$work/dev-spack.json"
fractale cluster add dev --force --scheduler pbs --cost 0.10 \
  --description "Development cluster: 2 nodes of 24 cores" \
  --containment "$work/dev.json" --subsystem spack="$work/dev-spack.json"

rm -f fleet/.lock
fractale cluster list

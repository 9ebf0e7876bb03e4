#!/bin/bash
#FLUX: --job-name=hybrid-sim
#FLUX: --bank=phys42
#FLUX: --queue=batch
#FLUX: --nodes=2
#FLUX: --tasks-per-node=4
#FLUX: --cores-per-slot=8
#FLUX: --gpus-per-node=4
#FLUX: --time-limit=90m
#FLUX: --output=sim-{{id}}.out

module load sim
flux run -N 2 -n 8 -c 8 ./sim --steps 100

#!/bin/bash
#FLUX: --job-name=hybrid-sim
#FLUX: --bank=phys42
#FLUX: --queue=batch
#FLUX: --time-limit=90m
#FLUX: --output=sim-{{id}}.out
#FLUX: --nodes=2
#FLUX: --nslots=8
#FLUX: --cores-per-slot=8
#FLUX: --gpus-per-slot=1

module load sim
flux run -N 2 -n 8 -c 8 -g 1 ./sim --steps 100

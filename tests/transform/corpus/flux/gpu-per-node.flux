#!/bin/bash
#FLUX: --job-name=cosmoflow
#FLUX: -N 4
#FLUX: -n 16
#FLUX: -g 1
#FLUX: -t 10h
#FLUX: -q pdebug
#FLUX: --setattr=system.alloc-bypass=1

flux run -N 4 -n 16 -g 1 python3 cosmoflow.py --data /p/gpfs1/cosmo

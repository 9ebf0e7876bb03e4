#!/bin/bash
#FLUX: --job-name=lulesh-hybrid
#FLUX: -N 8
#FLUX: -n 32
#FLUX: -c 12
#FLUX: -t 4h
#FLUX: --env=OMP_NUM_THREADS=12
#FLUX: --env=OMP_PLACES=cores

flux run -N 8 -n 32 -c 12 ./lulesh2.0 -s 120 -i 500 -p

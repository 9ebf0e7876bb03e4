#!/bin/bash
#FLUX: --job-name=lbann-train
#FLUX: --nodes=2
#FLUX: --nslots=8
#FLUX: --cores-per-slot=10
#FLUX: --gpus-per-slot=1
#FLUX: --time-limit=6h
#FLUX: --exclusive

module load rocm/6.0
flux run -N 2 -n 8 -c 10 -g 1 python3 train_lbann.py --epochs 20

#!/bin/bash
#FLUX: --job-name=ensemble
#FLUX: -N 2
#FLUX: -t 3h
#FLUX: --conf=tbon.topo=kary:0

for i in $(seq 1 16); do
  flux submit -n 4 ./member --seed $i
done
flux queue drain

#!/bin/bash
#FLUX: --job-name=amg-weak
#FLUX: -N 4
#FLUX: -n 128
#FLUX: -t 2h
#FLUX: --queue=pbatch
#FLUX: --bank=guests
#FLUX: --output=amg-{{id}}.out

# AMG2023 weak scaling on four nodes
flux run -N 4 -n 128 ./amg -P 8 4 4 -n 64 64 64 -problem 1

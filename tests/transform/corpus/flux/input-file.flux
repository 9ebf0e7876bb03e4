#!/bin/bash
#FLUX: --job-name=solver
#FLUX: -n 16
#FLUX: -c 2
#FLUX: -t 45m
#FLUX: --input=solver.in
#FLUX: --output=solver.{{name}}.{{id}}.log

flux run -n 16 -c 2 ./solver

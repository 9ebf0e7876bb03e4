#!/bin/bash
#FLUX: --job-name=io-test
#FLUX: -N 2
#FLUX: -n 2
#FLUX: -t 20m
#FLUX: --requires=host:tioga[20-21]
#FLUX: --cwd=/p/lustre1/user/iotest

flux run -N 2 -n 2 ior -a POSIX -b 4g -t 1m -F

#!/bin/bash
#FLUX: --job-name=stage2
#FLUX: -N 1
#FLUX: -n 4
#FLUX: -t 1h
#FLUX: --dependency=afterok:f2KPHp9Mz3T
#FLUX: --dependency=afterany:f2KPHtuqRwf
#FLUX: --urgency=20

flux run -n 4 ./stage2 --from stage1.h5

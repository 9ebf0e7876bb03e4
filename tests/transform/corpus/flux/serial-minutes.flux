#!/bin/sh
#FLUX: -n 1
#FLUX: -t 30
#FLUX: --job-name=postproc
#FLUX: --error=postproc-{{id}}.err
#FLUX: --output=postproc-{{id}}.out

echo "running as flux job $FLUX_JOB_ID"
python3 postprocess.py --input run42/

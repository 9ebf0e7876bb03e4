#!/bin/bash
#FLUX: --job-name=nightly
#FLUX: -n 8
#FLUX: -t 90m
#FLUX: --begin-time=+2h
#FLUX: --env-remove=*
#FLUX: --env=PATH=/usr/bin:/bin

flux run -n 8 ./nightly-regression

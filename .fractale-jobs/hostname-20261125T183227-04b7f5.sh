#!/bin/bash
#SBATCH --job-name=hostname
#SBATCH --ntasks=1

hostname

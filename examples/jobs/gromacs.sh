#!/bin/bash
#SBATCH --job-name=lysozyme-md
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=2
#SBATCH --cpus-per-task=16
#SBATCH --time=02:00:00
#SBATCH --output=lysozyme-%j.out

export OMP_NUM_THREADS=$SLURM_CPUS_PER_TASK
srun gmx_mpi mdrun -s topol.tpr -ntomp $SLURM_CPUS_PER_TASK

"""Launcher lines and job variables in the script body, translated for the target."""

import pytest
from fractale.transform import launchers, variables
from fractale.transform.body import translate


def launch(line, target):
    losses = []
    return launchers.translate_line(line, 1, target, losses), losses


@pytest.mark.parametrize(("target", "expected"), [
    ("slurm", "srun -N 2 -n 8 -c 4 ./app --in x"),
    ("flux", "flux run -N 2 -n 8 -c 4 ./app --in x"),
    ("pbs", "mpiexec -n 8 --ppn=4 --depth=4 ./app --in x"),
    ("lsf", "jsrun -n 8 -a 1 -c 4 -r 4 ./app --in x"),
    ("cobalt", "aprun -n 8 -N 4 -d 4 ./app --in x"),
    ("moab", "mpirun -np 8 -npernode 4 ./app --in x"),
    ("gridengine", "mpirun -np 8 -npernode 4 ./app --in x"),
    ("oar", "mpirun -machinefile $OAR_NODE_FILE -np 8 -npernode 4 ./app --in x"),
])
def test_srun_is_written_with_each_managers_launcher(target, expected):
    line, _ = launch("srun -N 2 -n 8 -c 4 ./app --in x", target)
    assert line == expected


def test_a_node_count_that_does_not_divide_the_tasks_is_reported():
    line, losses = launch("srun -N 3 -n 8 ./app", "pbs")
    assert line == "mpiexec -n 8 ./app"
    assert [loss.reason for loss in losses] == ["pbs's launcher cannot set nodes"]


def test_launchers_drop_the_layout_they_cannot_set_and_say_so():
    line, losses = launch("srun -n 8 -c 4 ./app", "moab")
    assert line == "mpirun -np 8 ./app"
    assert [loss.reason for loss in losses] == ["moab's launcher cannot set cpus per task"]


@pytest.mark.parametrize("line", [
    "mpirun -np 16 ./a.out", "mpiexec -n 16 ./a.out", "jsrun -p16 ./a.out",
    "mpiexec.hydra -np 16 ./a.out", "ibrun -n 16 ./a.out", "jsrun --np 16 ./a.out",
    "flux run -n 16 ./a.out", "flux run --ntasks=16 ./a.out", "aprun -n 16 ./a.out",
    "jsrun -n 16 -a 1 ./a.out", "jsrun --nrs 8 --tasks_per_rs 2 ./a.out",
])
def test_every_launcher_spelling_reads_the_task_count(line):
    assert launch(line, "slurm")[0] == "srun -n 16 ./a.out"


def test_jsrun_resource_sets_become_tasks_cpus_and_gpus():
    line, _ = launch("jsrun -n 12 -a 2 -c 14 -g 2 -r 3 ./nyx", "slurm")
    assert line == "srun -n 24 --ntasks-per-node=6 -c 7 --gpus-per-task=1 ./nyx"


def test_a_host_file_option_is_dropped_since_the_target_finds_its_hosts():
    line, losses = launch("mpirun -machinefile $PBS_NODEFILE -np 4 ./a", "slurm")
    assert line == "srun -n 4 ./a" and losses == []


def test_unknown_launcher_options_are_reported_with_the_line():
    line, losses = launch("srun --mpi=pmix_v3 -n 2 ./a", "flux")
    assert line == "flux run -n 2 ./a"
    assert losses[0].line == 1 and "--mpi=pmix_v3" in losses[0].reason


def test_task_counts_held_in_variables_are_kept():
    line, _ = launch("srun -n $SLURM_NTASKS ./a", "flux")
    assert line == "flux run -n $SLURM_NTASKS ./a"


def test_indentation_and_redirections_are_kept():
    line, _ = launch("    srun -n 2 ./a > out.$i 2>&1 &", "flux")
    assert line == "    flux run -n 2 ./a > out.$i 2>&1 &"


def test_flux_submit_is_translated_and_its_asynchrony_reported():
    line, losses = launch("flux submit -n 4 ./member", "slurm")
    assert line == "srun -n 4 ./member"
    assert "returns at once" in losses[0].reason


def test_lines_that_only_mention_a_launcher_are_left_alone():
    assert launch("echo srun -n 4", "flux")[0] == "echo srun -n 4"
    assert launch("which mpirun", "flux")[0] == "which mpirun"


@pytest.mark.parametrize(("source", "target", "before", "after"), [
    ("slurm", "flux", "echo $SLURM_JOB_ID", "echo $FLUX_JOB_ID"),
    ("flux", "pbs", "echo ${FLUX_JOB_ID}", "echo ${PBS_JOBID}"),
    ("pbs", "lsf", "cd $PBS_O_WORKDIR", "cd $LS_SUBCWD"),
    ("lsf", "oar", "run $LSB_JOBINDEX", "run $OAR_ARRAY_INDEX"),
    ("oar", "cobalt", "n=$(wc -l < $OAR_NODE_FILE)", "n=$(wc -l < $COBALT_NODEFILE)"),
    ("cobalt", "slurm", "echo $COBALT_JOBID", "echo $SLURM_JOB_ID"),
    ("moab", "slurm", "echo $MOAB_NODECOUNT", "echo $SLURM_JOB_NUM_NODES"),
    ("pbs", "slurm", "x=$PBS_ARRAYID", "x=$SLURM_ARRAY_TASK_ID"),
    ("slurm", "kubernetes", "i=$SLURM_ARRAY_TASK_ID", "i=$JOB_COMPLETION_INDEX"),
    # Grid Engine's one id serves the array too; reading it back, it is the job's id.
    ("slurm", "gridengine", "f=$SLURM_ARRAY_JOB_ID.$SLURM_ARRAY_TASK_ID", "f=$JOB_ID.$SGE_TASK_ID"),
    ("gridengine", "slurm", "n=$NSLOTS in ${SGE_O_WORKDIR}",
     "n=$SLURM_NTASKS in ${SLURM_SUBMIT_DIR}"),
    ("gridengine", "pbs", "echo $JOB_ID on $NHOSTS", "echo $PBS_JOBID on $PBS_NUM_NODES"),
])
def test_job_variables_are_renamed_for_the_target(source, target, before, after):
    assert variables.translate_line(before, 1, source, target, []) == after


def test_a_variable_the_target_lacks_is_kept_and_reported():
    losses = []
    line = variables.translate_line("cat $PBS_NODEFILE", 3, "pbs", "slurm", losses)
    assert line == "cat $PBS_NODEFILE"
    assert losses[0].line == 3 and "node file" in losses[0].reason


def test_similar_names_are_not_renamed():
    assert variables.translate_line("echo $SLURM_JOB_IDX $MY_SLURM_JOB_ID", 1, "slurm",
                                    "flux", []) == "echo $SLURM_JOB_IDX $MY_SLURM_JOB_ID"


def test_continued_launch_lines_are_joined_and_translated():
    script = "srun -N 2 \\\n     -n 8 ./app\necho done\n"
    assert translate(script, "slurm", "flux", []) == "flux run -N 2 -n 8 ./app\necho done\n"


def test_body_in_its_own_dialect_is_untouched():
    script = "srun --weird ./a $SLURM_JOB_ID\n"
    assert translate(script, "slurm", "slurm", []) == script


def test_a_script_variable_named_like_another_managers_bare_one_is_left_alone():
    # Grid Engine sets QUEUE and JOB_NAME; in a Slurm script they are the script's own.
    losses = []
    line = variables.translate_line("echo $QUEUE $JOB_NAME $SLURM_JOB_ID", 1, "slurm", "pbs",
                                    losses)
    assert line == "echo $QUEUE $JOB_NAME $PBS_JOBID"
    assert losses == []

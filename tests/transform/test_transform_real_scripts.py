"""The classes of defect real batch scripts showed (issue 10), one test each: what each
class of script must become, and what must be reported rather than translated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fractale.errors import TranslateError
from fractale.transform import launchers, read, render, transform, variables

CORPUS = Path(__file__).parent / "corpus"


def corpus(name: str) -> str:
    return (CORPUS / name).read_text()


def launch(line: str, target: str):
    losses = []
    return launchers.translate_line(line, 1, target, losses), [loss.reason for loss in losses]


def reasons(result) -> list[str]:
    return [str(loss) for loss in result.losses]


# ---------------------------------------------------------------- 1. launcher grammars


@pytest.mark.parametrize(("line", "target", "expected"), [
    # srun flags take no value: -u and --exclusive leave -n its 2
    ("srun -u --exclusive --ntasks-per-socket 1 -n 2 ./probe --verbose", "flux",
     "flux run -n 2 ./probe --verbose"),
    ("jsrun --np 1 ./a.out", "slurm", "srun -n 1 ./a.out"),
    ("mpirun --mca btl ^openib -x LD_LIBRARY_PATH -np 40 simpleFoam -parallel", "slurm",
     "srun -n 40 simpleFoam -parallel"),
    ("mpiexec -genv OMP_NUM_THREADS 4 -ppn 2 -n 8 ./a", "slurm",
     "srun -n 8 --ntasks-per-node=2 ./a"),
    ("aprun -n 256 -N 64 -d 1 -j 1 -cc depth ./xgc-es", "slurm",
     "srun -n 256 --ntasks-per-node=64 -c 1 ./xgc-es"),
    ("ibrun -n 224 -o 0 namd3 +ppn 1 stmv.namd", "pbs", "mpiexec -n 224 namd3 +ppn 1 stmv.namd"),
    ("mpirun.lsf gmx_mpi mdrun -deffnm md", "slurm", "srun gmx_mpi mdrun -deffnm md"),
    ("srun -lu -N2 -n8 ./a", "flux", "flux run -N 2 -n 8 ./a"),
    # assignments and time before the launcher stay before it
    ("OMP_NUM_THREADS=$NCPUS time mpiexec -n 4 ./a", "slurm",
     "OMP_NUM_THREADS=$NCPUS time srun -n 4 ./a"),
])
def test_each_launcher_is_read_with_its_own_option_grammar(line, target, expected):
    assert launch(line, target)[0] == expected


def test_quoted_words_and_a_trailing_ampersand_are_kept_byte_for_byte():
    line = '    srun -l -n 1 -c 1 bash -c "sleep 5; echo member $i on \\$(hostname)" &'
    written, _ = launch(line, "pbs")
    assert written == '    mpiexec -n 1 --depth=1 bash -c "sleep 5; echo member $i on ' \
                      '\\$(hostname)" &'


def test_options_the_target_cannot_carry_are_reported_by_name():
    _, lost = launch("mpirun --mca btl ^openib -np 4 ./a", "slurm")
    assert lost == ["launcher option --mca btl ^openib has no slurm equivalent"]


@pytest.mark.parametrize("line", [
    "srun --not-an-option 3 ./a",  # an option no grammar of srun knows
    'srun -n 2 bash -c "echo unbalanced',  # an open quote
    "mpirun -n16 ./a",  # Open MPI and Hydra take no attached values
])
def test_a_line_that_cannot_be_read_is_left_as_it_is_and_reported(line):
    written, lost = launch(line, "flux")
    assert written == line
    assert lost and "left as it is" in lost[0]


def test_a_translated_script_never_holds_a_rewritten_unreadable_line():
    result = transform(corpus("slurm/launcher-flags.sbatch"), to="pbs")
    assert "mpiexec -n 2 ./probe --verbose" in result.text
    assert "srun --mpi=pmix -K -n 8" not in result.text  # read: -K is a flag
    assert "mpiexec -n 8 ./reduce --in 'results/*.dat' > reduce.log 2>&1" in result.text


# ---------------------------------------------------------------- 2. heterogeneous jobs


def test_a_hetjob_is_read_as_components_never_merged():
    spec, _ = read(corpus("slurm/hetjob-coupled.sbatch"))
    assert (spec.queue, spec.nodes, spec.tasks_per_node) == ("cpu", 4, 32)
    assert spec.components == [{"queue": "gpu", "nodes": 1, "tasks_per_node": 4,
                                "gpus_per_node": 4}]


def test_packjob_is_the_old_name_of_hetjob():
    spec, losses = read(corpus("slurm/packjob-legacy.sbatch"))
    assert spec.components == [{"nodes": 2, "tasks": 16, "memory_per_node": 32768}]
    assert losses == []


def test_components_are_written_where_the_target_has_them():
    slurm = transform(corpus("pbs/select-two-shapes.pbs"), to="slurm").text
    assert "#SBATCH hetjob\n#SBATCH --nodes=1\n#SBATCH --cpus-per-task=16\n" in slurm
    pbs = transform(corpus("slurm/hetjob-coupled.sbatch"), to="pbs")
    assert "select=4:ncpus=32:mpiprocs=32+1:ncpus=4:mpiprocs=4:ngpus=4" in pbs.text
    assert "component 1: queue: PBS Pro sets queue for the whole job" in str(pbs.losses)


def test_a_canonical_jobspec_holds_one_resource_and_task_per_component():
    text = transform(corpus("slurm/hetjob-coupled.sbatch"), to="jobspec").text
    assert text.startswith("version: 9999\n")
    back, _ = read(text, "jobspec")
    assert back.components == [{"nodes": 1, "tasks_per_node": 4, "gpus_per_task": 1}]
    assert (back.nodes, back.tasks_per_node) == (4, 32)


def test_elsewhere_component_zero_is_written_and_the_rest_reported():
    result = transform(corpus("slurm/hetjob-coupled.sbatch"), to="lsf")
    assert "component 0 is written, the other 1 could not be" in str(result.losses)


def test_mpmd_launches_are_written_where_the_launcher_takes_them():
    assert launch("srun -n 1 ./a : -n 2 ./b", "pbs")[0] == "mpiexec -n 1 ./a : -n 2 ./b"
    line = "srun -n 1 ./a : -n 2 ./b"
    written, lost = launch(line, "lsf")
    assert written == line and "one program per launch" in lost[0]


def test_options_of_the_whole_job_in_a_later_component_are_reported():
    _, losses = read("#!/bin/bash\n#SBATCH -n 1\n#SBATCH hetjob\n#SBATCH -n 2 --account=x\n")
    assert [(loss.line, loss.directive) for loss in losses] == [(4, "-n 2 --account=x")]


# ---------------------------------------------------------------- 3. exclusivity


@pytest.mark.parametrize("directive", [
    "-l place=excl", "-l place=scatter:excl", "-l place=pack:exclhost", "-n",
    "-l naccesspolicy=singlejob"])
def test_pbs_and_torque_exclusive_placements_are_exclusive(directive):
    spec, _ = read(f"#!/bin/bash\n#PBS {directive}\n./a\n", "pbs")
    assert spec.exclusive


def test_exclusive_is_written_back_the_same_way():
    assert "#PBS -l place=scatter:excl" in transform(
        corpus("pbs/torque-exclusive.pbs"), to="pbs").text
    assert "#SBATCH --exclusive" in transform(corpus("pbs/place-exclhost.pbs"), to="slurm").text


# ---------------------------------------------------------------- 4. joined output


def test_joined_output_without_a_path_survives_pbs_and_moab():
    for target in ("pbs", "moab"):
        result = transform(corpus("pbs/joined-default-name.pbs"), to=target)
        assert "-j oe" in result.text and result.spec.join_output
        assert not [loss for loss in result.losses if loss.field == "join_output"]


def test_join_into_the_error_file_keeps_the_error_path():
    spec, _ = read(corpus("moab/join-eo.moab"))
    assert (spec.output, spec.error, spec.join_output) == ("postproc.log", None, True)


# ---------------------------------------------------------------- 5. queues


def test_a_queue_list_is_kept_where_the_target_takes_one_and_reduced_elsewhere():
    source = corpus("slurm/aliases-array.sbatch")
    assert "#SBATCH --partition=short,long,debug" in transform(source, to="slurm").text
    assert '#BSUB -q "short long debug"' in transform(source, to="lsf").text
    pbs = transform(source, to="pbs")
    assert "#PBS -q short\n" in pbs.text
    assert "pbs takes one queue: short is written, not long, debug" in str(pbs.losses)
    spec, _ = read(corpus("lsf/depend-by-name.lsf"))
    assert spec.queue == "normal,long"


def test_oar_default_queue_leaves_the_targets_default():
    result = transform(corpus("oar/host-walltime-hours.oar"), to="slurm")
    assert "--partition" not in result.text
    assert "OAR's default queue" in str(result.losses)


def test_a_pbs_queue_at_a_server_keeps_the_queue_and_reports_the_server():
    result = transform(corpus("pbs/select-two-shapes.pbs"), to="slurm")
    assert "#SBATCH --partition=workq\n" in result.text
    assert "server pbs-server01" in str(result.losses)


# ---------------------------------------------------------------- 6. Kubernetes arrays


def test_completions_and_parallelism_are_a_job_array_both_ways():
    spec, _ = read(corpus("kubernetes/completions-pool.yaml"))
    assert spec.array == "0-49%5"
    indexed = transform(corpus("kubernetes/indexed-shards.yaml"), to="slurm").text
    assert "#SBATCH --array=0-7%4" in indexed
    assert "--shard $SLURM_ARRAY_TASK_ID" in indexed
    back = transform(indexed, to="kubernetes").text
    assert "completionMode: Indexed" in back and "completions: 8" in back
    assert "parallelism: 4" in back and "$JOB_COMPLETION_INDEX" in back


def test_parallelism_alone_is_a_work_queue_and_reported():
    manifest = corpus("kubernetes/completions-pool.yaml").replace("  completions: 50\n", "")
    spec, losses = read(manifest, "kubernetes")
    assert spec.array is None and "spec.parallelism" in [loss.directive for loss in losses]


# ---------------------------------------------------------------- 7. name dependencies


def test_name_dependencies_never_go_where_a_job_id_goes():
    result = transform(corpus("lsf/depend-by-name.lsf"), to="slurm")
    assert "#SBATCH --dependency=singleton\n" in result.text
    assert "preprocess" not in result.text
    assert "jobs named 'preprocess'" in str(result.losses)
    assert "ended(assemble)" in transform(result.text, to="lsf").text


# ---------------------------------------------------------------- 8. host selection


def test_hosts_named_in_properties_are_node_lists_not_features():
    oar = transform(corpus("oar/host-walltime-hours.oar"), to="slurm").text
    assert "#SBATCH --nodelist=gros-12,gros-13\n#SBATCH --exclude=gros-40\n" in oar
    assert "--constraint" not in oar
    lsf = transform(corpus("lsf/host-select.lsf"), to="slurm")
    assert "#SBATCH --nodelist=fe-node07,fe-node08\n" in lsf.text
    assert "host group or compute unit" in str(lsf.losses)
    assert "network_address='dahu-3.grenoble.grid5000.fr'" in transform(
        corpus("oar/network-address.oar"), to="oar").text


# ---------------------------------------------------------------- 9. sub-options


def test_every_sub_option_of_a_structured_directive_is_mapped_or_reported():
    _, losses = read(corpus("lsf/gpu-exclusive.lsf"))
    said = [loss.reason for loss in losses]
    assert "-gpu mode=exclusive_process is not in fractale's job model" in said
    assert "-gpu j_exclusive=yes is not in fractale's job model" in said
    assert not [r for r in said if "mps=no" in r]  # LSF's default, the model's too
    assert any("cpubind=core:distribute=pack" in r for r in said)


# ---------------------------------------------------------------- 10. aliases and forms


def test_aliases_and_forms_the_schedulers_accept():
    spec, losses = read(corpus("slurm/aliases-array.sbatch"))
    assert (spec.tasks, spec.tasks_per_node, spec.array) == (4, 2, "0-4%2")
    assert losses == []
    oar, _ = read(corpus("oar/host-walltime-hours.oar"))
    assert oar.walltime == 24 * 3600
    torque, _ = read(corpus("pbs/torque-exclusive.pbs"))
    assert torque.output == "logs/{{name}}.o{{id}}"
    assert torque.error == "logs/{{name}}.e{{id}}"
    assert "#PBS -o logs/\n#PBS -e logs/\n" in render(torque, "pbs")


def test_kubernetes_env_keeps_the_rest_of_the_environment_on_slurm():
    text = transform(corpus("kubernetes/completions-pool.yaml"), to="slurm").text
    assert "#SBATCH --export=ALL,FRAMES=500,OUTPUT=/data/out\n" in text
    spec, _ = read("#!/bin/bash\n#SBATCH --export=A=1\n./a\n")
    assert spec.export_env == "none"  # named alone, they are all the job gets


# ---------------------------------------------------------------- 11. variables


@pytest.mark.parametrize(("line", "source", "target", "written", "reported"), [
    ("echo $COBALT_JOBSIZE", "cobalt", "slurm", "echo $SLURM_JOB_NUM_NODES", []),
    ("echo $SLURM_JOB_ID $SLURM_CPUS_ON_NODE", "moab", "pbs", "echo $PBS_JOBID "
     "$SLURM_CPUS_ON_NODE", ["$SLURM_CPUS_ON_NODE"]),
    ("cat $OAR_RESOURCE_PROPERTIES_FILE", "oar", "slurm", "cat $OAR_RESOURCE_PROPERTIES_FILE",
     ["$OAR_RESOURCE_PROPERTIES_FILE"]),
    ("srun ./a --gpus $SLURM_GPUS", "slurm", "flux", "srun ./a --gpus $SLURM_GPUS",
     ["$SLURM_GPUS"]),
    ("cd $PBS_O_WORKDIR", "pbs", "moab", "cd $PBS_O_WORKDIR", []),  # Moab sets it too
])
def test_every_documented_variable_is_rewritten_or_reported(line, source, target, written,
                                                           reported):
    losses = []
    assert variables.translate_line(line, 1, source, target, losses) == written
    assert [loss.directive for loss in losses] == reported


def test_another_familys_variables_in_a_script_are_translated_or_reported():
    result = transform(corpus("moab/slurm-family.moab"), to="pbs")
    assert "job $PBS_JOBID: $SLURM_CPUS_ON_NODE CPUs" in result.text
    assert "slurm's SLURM_CPUS_ON_NODE" in str(result.losses)


# ---------------------------------------------------------------- 12. pass-through


def test_extra_directives_are_added_for_their_target_only():
    source = corpus("slurm/hetjob-coupled.sbatch")
    text = transform(source, to="slurm", extra=["slurm:--constraint=haswell",
                                                "pbs:-l place=pack"]).text
    assert "#SBATCH --constraint=haswell\n#SBATCH hetjob\n" in text  # the whole job's
    assert "place=pack" not in text
    assert "#PBS -l place=pack" in transform(source, to="pbs", extra=["pbs:-l place=pack"]).text


@pytest.mark.parametrize("entry", [
    "slurm:--constraint=haswell\n#SBATCH --uid=0",  # a second directive
    "slurm:--a --b", "slurm:-J a b", "slurm:haswell", "slurm:--comment='open",
    "slurm:--x=`id`", "kubernetes:--x", "nosuch:--x", "--constraint=haswell",
])
def test_extra_directives_are_checked_for_injection(entry):
    with pytest.raises(TranslateError):
        transform(corpus("slurm/aliases-array.sbatch"), to="slurm", extra=[entry])


def fractale(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from fractale.cli import main; main()",
                           *args], capture_output=True, text=True, check=False)


def test_extra_on_the_command_line(tmp_path):
    script = tmp_path / "job.pbs"
    script.write_text(corpus("pbs/joined-default-name.pbs"))
    done = fractale("transform", str(script), "--to", "slurm",
                    "--extra", "slurm:--constraint=haswell", "--extra", "slurm:--tmp=10G")
    assert done.returncode == 0
    assert "#SBATCH --constraint=haswell\n#SBATCH --tmp=10G\n" in done.stdout
    bad = fractale("transform", str(script), "--to", "slurm", "--extra", "slurm:--a --b")
    assert bad.returncode == 2 and "not one slurm option" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_another_managers_commands_in_a_script_are_reported():
    result = transform(corpus("moab/join-eo.moab"), to="pbs")
    assert "line 9: srun" not in str(result.losses)  # a launch: translated
    psij = "#!/bin/bash\n#SBATCH -N 1\nscontrol show hostnames > nodes\nsrun ./a\n"
    lost = transform(psij, to="pbs").losses
    assert [(loss.line, loss.directive) for loss in lost] == [(3, "scontrol")]

"""Flux as flux-core reads it, and Flux written as a batch allocation with a ``flux run``
launch: each rule of flux batch's directive parser and option grammar, and the slot shape
written for jobs of other managers."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from fractale.errors import TranslateError
from fractale.transform import BatchJob, read, transform, write


def flux(*lines: str, file: str | None = "job.sh") -> BatchJob:
    spec, _ = read("#!/bin/bash\n" + "\n".join(lines) + "\n", "flux", file=file)
    return spec


def refused(*lines: str) -> str:
    with pytest.raises(TranslateError) as err:
        flux(*lines)
    return str(err.value)


# ---------------------------------------------------------------- the directive parser


def test_both_sentinels_are_directives():
    assert flux("#FLUX: -n 4", "hostname").tasks == 4
    assert flux("# flux: -n 4", "hostname").tasks == 4


def test_several_options_on_one_line_and_both_value_forms():
    spec = flux("#FLUX: -N=4 --nslots 8 -c2 --time-limit=30", "hostname")
    assert (spec.nodes, spec.tasks, spec.cpus_per_task, spec.walltime) == (4, 8, 2, 1800)
    assert flux("#FLUX: --nodes 2 -n 2", "hostname").nodes == 2


def test_directives_may_follow_commands_until_the_first_command_after_one():
    spec = flux("module load mpi", "#FLUX: -n 8", "#FLUX: -t 1h", "", "# a comment",
                "flux run ./app")
    assert (spec.tasks, spec.walltime) == (8, 3600)
    assert spec.script == "module load mpi\n\n# a comment\nflux run ./app\n"
    assert "directive after the script's commands" in refused(
        "#FLUX: -n 8", "flux run ./app", "#FLUX: -t 1h")


def test_a_change_of_sentinel_is_refused():
    assert "sentinel changed" in refused("#FLUX: -n 8", "# flux: -t 1h", "hostname")


def test_a_flux_line_without_its_colon_is_reported_not_read():
    spec, losses = read("#!/bin/bash\n#FLUX: -n 2\n#FLUX -N 8\nhostname\n", "flux")
    assert (spec.nodes, spec.tasks) == (None, 2)
    assert [(loss.line, loss.directive) for loss in losses] == [(3, "#FLUX -N 8")]
    assert "colon" in losses[0].reason
    # With nothing else, the script names no slots: the message points at the line.
    assert "line 2 '#FLUX -n8'" in refused("#FLUX -n8", "hostname")


def test_a_script_must_start_with_its_interpreter():
    with pytest.raises(TranslateError, match="#!"):
        read("#FLUX: -n 2\nhostname\n", "flux")


# ---------------------------------------------------------------- flux batch's options


@pytest.mark.parametrize("option", ["--tasks-per-node=4", "--gpus-per-node=2", "--ntasks=4",
                                    "--cores-per-task=2", "--gpus-per-task=1", "--cores=8",
                                    "--tasks-per-core=1"])
def test_run_only_options_are_refused_on_their_line(option):
    message = refused("#FLUX: -N 2", f"#FLUX: {option}", "hostname")
    assert message.startswith("job.sh:3:")
    assert "an option of flux run and flux submit" in message


@pytest.mark.parametrize("option", ["--out=o.txt", "--err=e.txt", "--time 30", "--node=2"])
def test_long_options_must_be_spelled_in_full(option):
    assert "spelled in full" in refused("#FLUX: -n 1", f"#FLUX: {option}", "hostname")


def test_a_run_only_option_exits_2_from_the_command_line(tmp_path):
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\n#FLUX: -N 2\n#FLUX: --tasks-per-node=4\nhostname\n")
    proc = subprocess.run([sys.executable, "-c", "from fractale.cli import main; main()",
                           "transform", "--to", "slurm", str(script)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert f"{script}:3: --tasks-per-node" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(("value", "seconds"), [("30", 1800), ("1.5", 90), ("90s", 90),
                                                ("1.5h", 5400), ("2d", 172800),
                                                ("500ms", 1), ("0", None), ("0s", None)])
def test_time_limits_are_minutes_or_flux_standard_durations(value, seconds):
    assert flux(f"#FLUX: -n 1 -t {value}", "hostname").walltime == seconds


def test_a_later_zero_time_limit_lifts_an_earlier_one():
    assert flux("#FLUX: -n 1 --time-limit=90s", "#FLUX: -t 0s", "hostname").walltime is None


@pytest.mark.parametrize("value", ["-5", "inf", "soon", "2w"])
def test_time_limits_flux_refuses_are_refused(value):
    refused(f"#FLUX: -n 1 -t {value}", "hostname")


def test_nodes_alone_are_taken_whole_one_slot_each():
    spec = flux("#FLUX: -N 3", "hostname")
    assert (spec.nodes, spec.tasks, spec.exclusive) == (3, None, True)
    shared = flux("#FLUX: -N 3 -n 6", "hostname")
    assert (shared.nodes, shared.tasks, shared.exclusive) == (3, 6, False)


@pytest.mark.parametrize(("lines", "why"), [
    (["#FLUX: -t 1h"], "must name its slots"),
    (["#FLUX: -N 4 -n 2"], "greater than the slot count"),
    (["#FLUX: -n 4 -x"], "needs a node count"),
    (["#FLUX: -n 4 -c 0"], "at least 1"),
    (["#FLUX: -N 0 -n 4"], "at least 1"),
])
def test_what_flux_batch_refuses_is_refused(lines, why):
    assert why in refused(*lines, "hostname")


def test_counts_are_checked_once_every_directive_is_read():
    # flux batch checks what its options end with: a later value replaces a bad one.
    spec = flux("#FLUX: -N 0 -c 0", "#FLUX: --nodes 1 --cores-per-slot=4 -n 0", "hostname")
    assert (spec.nodes, spec.tasks, spec.cpus_per_task, spec.exclusive) == (1, None, 4, True)


def test_the_job_is_named_after_its_script_unless_named():
    assert flux("#FLUX: -n 1", "hostname").name == "job.sh"
    assert flux("#FLUX: -n 1 --job-name=sim", "hostname").name == "sim"
    assert flux("#FLUX: -n 1", "hostname", file=None).name is None


def test_dependencies_begin_times_and_urgency():
    spec = flux("#FLUX: -n 1 --dependency=afterok:f2k3 --dependency=begin-time:1700000000",
                "#FLUX: --dependency=singleton --urgency=hold --begin-time=+30m", "hostname")
    assert spec.dependencies == ["afterok:f2k3", "singleton"]
    assert (spec.begin, spec.urgency) == ("+1800", 0)
    assert flux("#FLUX: -n 1 --dependency=begin-time:1700000000", "x").begin == (
        "2023-11-14T22:13:20")


def test_environment_rules():
    spec, losses = read("#!/bin/bash\n#FLUX: -n 1 --env=-* --env=A=1 --env=HOME\nx\n", "flux")
    assert (spec.export_env, spec.environment) == ("none", {"A": "1"})
    assert [loss.directive for loss in losses] == ["--env=HOME"]


def test_options_flux_batch_takes_but_the_model_lacks_are_reported():
    _, losses = read("#!/bin/bash\n#FLUX: -n 1 --rlimit=-* -o mpi=none --conf=x=1\nx\n",
                     "flux")
    assert [loss.directive for loss in losses] == ["--rlimit=-*", "-o mpi=none", "--conf=x=1"]


# ---------------------------------------------------------------- command lines


@pytest.mark.parametrize(("command", "expected"), [
    ("flux run -N 4 --tasks-per-node=2 app", dict(nodes=4, tasks_per_node=2, exclusive=True)),
    ("flux run -N2 --cores=16 app", dict(nodes=2, tasks=2, cpus_per_task=8)),
    ("flux run --nodes=2 --gpus-per-node=4 app", dict(nodes=2, gpus_per_node=4,
                                                      exclusive=True)),
    ("flux run -n8 -N2 -c 2 -g 1 app", dict(nodes=2, tasks=8, cpus_per_task=2,
                                            gpus_per_task=1)),
    ("flux submit -N 2 app", dict(nodes=2, exclusive=True)),
])
def test_command_lines_ask_for_what_flux_run_allocates(command, expected):
    spec, _ = read(command, "flux")
    assert {name: getattr(spec, name) for name in expected} == expected


def test_command_lines_keep_the_task_options_on_the_launch():
    spec, _ = read("flux run -l -t 30 -N1 --cores=4 --tasks-per-core=1 app --in x", "flux")
    assert spec.walltime == 1800
    assert spec.script == "flux run -N1 --cores=4 --tasks-per-core=1 app --in x\n"


@pytest.mark.parametrize("command", ["flux run -n1 -N2 app", "flux run -n 2 --cores=4 app",
                                     "flux run --gpus-per-node=1 app"])
def test_command_lines_flux_refuses_are_refused(command):
    with pytest.raises(TranslateError):
        read(command, "flux")


def test_whole_nodes_with_tasks_per_node_are_a_per_resource_jobspec():
    text, _ = write(BatchJob(nodes=4, tasks_per_node=2, exclusive=True, script="x\n"), "jobspec")
    doc = yaml.safe_load(text)
    assert doc["resources"] == [{"type": "node", "count": 4, "exclusive": True, "with": [
        {"type": "slot", "count": 1, "label": "task", "with": [{"type": "core", "count": 1}]}]}]
    assert doc["attributes"]["system"]["shell"]["options"]["per-resource"] == {
        "type": "node", "count": 2}
    back, _ = read(text, "jobspec")
    assert (back.nodes, back.tasks_per_node, back.exclusive) == (4, 2, True)


# ---------------------------------------------------------------- flux run lines in a body


def test_flux_run_flags_are_not_taken_for_values():
    result = transform("#!/bin/bash\n#FLUX: -N 2 -n 8\n"
                       "flux run -x -l -o cpu-affinity=per-task -N 2 -n 8 ./app -x 1\n"
                       "flux submit --cc 1-4 --wait -n 2 ./member\n", to="slurm", file="job.sh")
    assert "srun -N 2 -n 8 ./app -x 1\n" in result.text
    assert "srun -n 2 ./member\n" in result.text
    dropped = {loss.reason for loss in result.losses if loss.line in (3, 4)}
    assert {"launcher option -x has no slurm equivalent",
            "launcher option -l has no slurm equivalent",
            "launcher option --cc=1-4 has no slurm equivalent",
            "launcher option --wait has no slurm equivalent"} <= dropped


def test_a_bare_flux_run_starts_one_task():
    result = transform("#!/bin/bash\n#FLUX: -n 8\nflux run ./app\n", to="slurm")
    assert "srun -n 1 ./app" in result.text


# ---------------------------------------------------------------- writing Flux

SLURM = """#!/bin/bash
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=4
#SBATCH --cpus-per-task=8
#SBATCH --gpus-per-node=4
#SBATCH --time=01:30:00

srun ./sim --steps 100
mpirun -np 2 ./post
"""


def test_a_job_is_written_as_slots_and_a_flux_run_launch():
    result = transform(SLURM, to="flux")
    directives = [line for line in result.text.splitlines() if line.startswith("#FLUX:")]
    assert directives == ["#FLUX: --time-limit=90m", "#FLUX: --nodes=2", "#FLUX: --nslots=8",
                          "#FLUX: --cores-per-slot=8", "#FLUX: --gpus-per-slot=1"]
    # srun runs every task of the job; flux run is told so.
    assert "flux run -N 2 -n 8 -c 8 -g 1 ./sim --steps 100" in result.text
    assert "flux run -n 2 -c 8 -g 1 ./post" in result.text
    assert {"tasks_per_node", "gpus_per_node"} <= {loss.field for loss in result.losses}


@pytest.mark.parametrize(("spec", "directives"), [
    (BatchJob(), ["--nslots=1"]),
    (BatchJob(tasks=6, cpus_per_task=2), ["--nslots=6", "--cores-per-slot=2"]),
    (BatchJob(nodes=3, exclusive=True), ["--nodes=3"]),
    (BatchJob(nodes=3), ["--nodes=3", "--nslots=3"]),
    (BatchJob(nodes=2, tasks=5, exclusive=True), ["--nodes=2", "--nslots=5", "--exclusive"]),
    (BatchJob(tasks=8, tasks_per_node=4), ["--nodes=2", "--nslots=8"]),
    (BatchJob(nodes=2, gpus_per_node=4), ["--nodes=2", "--nslots=2", "--gpus-per-slot=4"]),
    (BatchJob(tasks=4, exclusive=True), ["--nslots=4"]),
])
def test_every_job_names_slots_or_nodes_with_batch_options_only(spec, directives):
    text, _ = write(spec.replace(script="hostname\n"), "flux")
    assert [line[len("#FLUX: "):] for line in text.splitlines()
            if line.startswith("#FLUX:")] == directives
    read(text, "flux")


def test_what_flux_batch_cannot_say_is_reported():
    _, losses = write(BatchJob(tasks=4, exclusive=True, gpu_type="a100", gpus_per_task=1,
                              memory_per_node=1024, script="x\n"), "flux")
    assert {"exclusive", "gpu_type", "memory_per_node"} <= {loss.field for loss in losses}

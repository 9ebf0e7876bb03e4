"""The public translation API: parse, render, transform, detection and loss reporting."""

import fractale
import pytest
from fractale.errors import TranslateError
from fractale.transform import BatchJob, detect, read, write

SLURM_MPI = """#!/bin/bash
#SBATCH --job-name=lammps-lj
#SBATCH --account=chem123
#SBATCH --partition=pbatch
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=36
#SBATCH --time=02:00:00
#SBATCH --output=lammps-%j.out
#SBATCH --mail-type=END,FAIL
#SBATCH --mail-user=ana@example.org

module load lammps/2023
srun -N 4 -n 144 lmp -in in.lj > run.$SLURM_JOB_ID.log
"""


def test_parse_reads_a_slurm_script_into_the_model():
    spec = fractale.parse(SLURM_MPI)
    assert spec == BatchJob(
        name="lammps-lj", account="chem123", queue="pbatch", nodes=4, tasks_per_node=36,
        walltime=7200, output="lammps-{{id}}.out", mail_events=["end", "fail"],
        mail_user="ana@example.org", dialect="slurm",
        script="module load lammps/2023\nsrun -N 4 -n 144 lmp -in in.lj > run.$SLURM_JOB_ID.log\n",
    )


def test_transform_to_flux_rewrites_directives_launcher_and_variables():
    result = fractale.transform(SLURM_MPI, to="flux")
    assert result.source == "slurm" and result.target == "flux"
    assert "#FLUX: --nodes=4" in result.text
    # flux batch allocates slots: 36 per node on 4 nodes.
    assert "#FLUX: --nslots=144" in result.text
    assert "#FLUX: --time-limit=2h" in result.text
    assert "#FLUX: --output=lammps-{{id}}.out" in result.text
    assert "flux run -N 4 -n 144 lmp -in in.lj > run.$FLUX_JOB_ID.log" in result.text


def test_transform_reports_fields_the_target_cannot_express():
    result = fractale.transform(SLURM_MPI, to="flux")
    lost = {loss.field for loss in result.losses}
    assert {"mail_events", "mail_user"} <= lost
    assert not result.lossless


def test_unmapped_directive_is_reported_with_its_line_number():
    script = SLURM_MPI.replace("#SBATCH --time", "#SBATCH --cpu-freq=high\n#SBATCH --time")
    _, losses = read(script)
    (loss,) = losses
    assert loss.line == 7
    assert loss.directive == "--cpu-freq=high"
    assert "not in fractale's job model" in loss.reason


def test_body_losses_point_at_the_source_line():
    script = SLURM_MPI.replace("srun -N 4", "srun --mpi=pmix -N 4")
    result = fractale.transform(script, to="flux")
    (loss,) = [loss for loss in result.losses if loss.directive and "srun" in loss.directive]
    assert loss.line == 13
    assert "--mpi=pmix" in loss.reason


def test_render_then_parse_gives_back_the_spec():
    spec = fractale.parse(SLURM_MPI)
    assert fractale.parse(fractale.render(spec, "slurm")) == spec


def test_detect_names_the_manager_of_a_script():
    assert detect(SLURM_MPI) == "slurm"
    assert detect("#!/bin/sh\n#FLUX: -N 2\nhostname\n") == "flux"


def test_detect_refuses_text_with_no_directives():
    with pytest.raises(TranslateError, match="cannot tell which workload manager"):
        detect("#!/bin/bash\necho hello\n")


def test_detect_refuses_text_with_two_managers_directives():
    with pytest.raises(TranslateError, match=r"several workload managers \(flux, slurm\)"):
        detect("#!/bin/bash\n#SBATCH -N 2\n#FLUX: -N 2\nhostname\n")


def test_unknown_target_manager_is_an_error():
    with pytest.raises(TranslateError, match="unknown workload manager 'sge'"):
        fractale.render(BatchJob(), "sge")


def test_malformed_value_names_the_file_and_line():
    with pytest.raises(TranslateError) as info:
        fractale.parse("#!/bin/bash\n#SBATCH --time=soon\nhostname\n", file="job.sh")
    assert info.value.file == "job.sh"
    assert info.value.location == "line 2"
    assert "job.sh:2" in str(info.value)


def test_unbalanced_quote_in_a_directive_is_an_error():
    with pytest.raises(TranslateError, match="balanced quotes|cannot read directive"):
        fractale.parse('#!/bin/bash\n#SBATCH --job-name="open\nhostname\n')


def test_directive_after_the_first_command_is_reported_not_applied():
    spec, losses = read("#!/bin/bash\n#SBATCH -N 2\nhostname\n#SBATCH -N 9\n")
    assert spec.nodes == 2
    assert losses[0].line == 4 and "ignores it" in losses[0].reason


def test_flux_command_line_is_read_as_a_job():
    spec = fractale.parse("flux submit -N 2 -n 8 -t 30m --job-name=sim ./sim --steps 10\n")
    assert (spec.nodes, spec.tasks, spec.walltime, spec.name) == (2, 8, 1800, "sim")
    assert spec.script == "flux run -N 2 -n 8 ./sim --steps 10\n"


def test_write_returns_text_and_losses():
    text, losses = write(BatchJob(nodes=1, tasks=4, memory_per_node=2048,
                                 script="hostname\n"), "flux")
    assert text.startswith("#!/bin/bash\n#FLUX: --nodes=1\n#FLUX: --nslots=4\n")
    assert [loss.field for loss in losses] == ["memory_per_node"]


def test_a_node_count_alone_is_written_as_one_shared_slot_per_node_and_said():
    # Flux's -N alone would take the nodes whole: a Slurm -N 2 shares them.
    text, losses = write(BatchJob(nodes=2, script="hostname\n"), "flux")
    assert "#FLUX: --nodes=2\n#FLUX: --nslots=2\n" in text
    assert [loss.field for loss in losses] == ["tasks"]
    text, losses = write(BatchJob(nodes=2, exclusive=True, script="hostname\n"), "flux")
    assert "#FLUX: --nodes=2\n\n" in text and losses == []


def test_spec_round_trips_through_plain_data():
    spec = fractale.parse(SLURM_MPI)
    assert BatchJob.from_dict(spec.to_dict()) == spec
    with pytest.raises(ValueError, match="unknown BatchJob fields: colour"):
        BatchJob.from_dict({"colour": "red"})


def test_write_reports_a_field_the_table_forgot_by_reading_back(monkeypatch):
    from fractale.transform.managers.slurm import Slurm

    rows = tuple(row for row in Slurm._written if "--time" not in row.names)
    monkeypatch.setattr(Slurm, "_written", rows)
    _, losses = write(BatchJob(walltime=600, script="hostname\n"), "slurm")
    (loss,) = [loss for loss in losses if loss.field == "walltime"]
    assert "reads this back as None" in loss.reason

"""Rendering is injection-safe: hostile names, paths and values cannot add directives or
shell commands, and names a manager restricts come out in the form it accepts."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from fractale.transform import BatchJob, read, write
from fractale.transform.directives import DirectiveManager, quote
from fractale.transform.managers.kubernetes import dns1123_label
from fractale.transform.registry import get, names

# Every manager whose jobs are batch scripts with directive comments, and its prefix.
PREFIX = {name: get(name).prefix for name in names() if isinstance(get(name), DirectiveManager)}
SCRIPT_MANAGERS = tuple(PREFIX)

HOSTILE = [
    "evil\n#SBATCH --uid=0",
    "x\ntouch {sentinel}",
    "$(touch {sentinel})",
    "`touch {sentinel}`",
    '"; touch {sentinel}; echo "',
    "a b # c",
    "it's $HOME",
    "tab\there\r\nand\x00nul",
    "back\\slash\\\ntouch {sentinel}",
]


def hostile_spec(value: str) -> BatchJob:
    return BatchJob(
        name=value, account=value, queue=value, output=f"/tmp/{value}.out",
        error=f"{value}.err", workdir=f"/scratch/{value}", constraints=[value],
        environment={"SAFE": "1", "BAD": value}, mail_user=value, reservation=value,
        qos=value, container_image=value, nodes=1, tasks=1, walltime=60,
        script="echo body ran\n", dialect="slurm",
    )


@pytest.mark.parametrize("manager", SCRIPT_MANAGERS)
@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_values_add_no_directive_line(manager, template, tmp_path):
    value = template.format(sentinel=tmp_path / "pwned")
    text, _ = write(hostile_spec(value), manager)
    header = text.split("\n\n", 1)[0].split("\n")
    assert header[0].startswith("#!")
    for line in header[1:]:
        assert line.startswith(PREFIX[manager] + " "), f"not a directive: {line!r}"
    # Reading the text back meets only options fractale wrote: nothing stray or unknown.
    _, losses = read(text, manager)
    assert losses == [], [str(loss) for loss in losses]


@pytest.mark.parametrize("manager", SCRIPT_MANAGERS)
@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_values_run_no_command_when_the_script_runs(manager, template, tmp_path):
    sentinel = tmp_path / "pwned"
    value = template.format(sentinel=sentinel)
    text, _ = write(hostile_spec(value), manager)
    script = tmp_path / "job.sh"
    script.write_text(text)
    proc = subprocess.run(["bash", str(script)], cwd=tmp_path, capture_output=True, text=True,
                          check=False, timeout=30)
    assert proc.stdout == "body ran\n"
    assert not sentinel.exists()


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_values_stay_data_in_a_kubernetes_manifest(template, tmp_path):
    value = template.format(sentinel=tmp_path / "pwned")
    text, _ = write(hostile_spec(value), "kubernetes")
    manifest = yaml.safe_load(text)
    assert list(manifest) == ["apiVersion", "kind", "metadata", "spec"]
    assert re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", manifest["metadata"]["name"])
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["/bin/bash", "-c", "echo body ran\n"]
    assert {"name": "BAD", "value": value} in container["env"]


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_values_stay_data_in_a_jobspec(template, tmp_path):
    value = template.format(sentinel=tmp_path / "pwned")
    text, _ = write(hostile_spec(value), "jobspec")
    system = yaml.safe_load(text)["attributes"]["system"]
    assert system["job"]["name"] == value
    assert system["environment"]["BAD"] == value
    assert system["files"]["script"]["data"] == "#!/bin/bash\necho body ran\n"


def test_names_are_sanitized_for_schedulers_and_reported():
    text, losses = write(BatchJob(name="my job; rm -rf ~", script="true\n"), "pbs")
    assert "#PBS -N my_job__rm_-rf__" in text
    assert any(loss.field == "name" and "written as" in loss.reason for loss in losses)


@pytest.mark.parametrize(("name", "label"), [
    ("My_Big Job!", "my-big-job"), ("---x---", "x"), ("ÜBER", "ber"), ("", "job"),
    ("a" * 80, "a" * 63), ("9lives", "9lives"),
])
def test_kubernetes_names_are_dns_1123_labels(name, label):
    assert dns1123_label(name) == label


def test_a_value_with_spaces_and_hash_is_quoted_whole():
    assert quote("a b # c") == '"a b # c"'
    assert quote("plain-value_1.0") == "plain-value_1.0"


@pytest.mark.parametrize("value", ['say "hi"', "new\nline", "back\\slash", "nul\x00", ""])
def test_values_no_directive_can_carry_are_refused(value):
    with pytest.raises(ValueError):
        quote(value)


@pytest.mark.parametrize("manager", names())
def test_a_refused_value_is_reported_not_dropped_silently(manager):
    _, losses = write(BatchJob(workdir='/data/"quoted"\ndir', nodes=1, tasks=1,
                              script="true\n"), manager)
    if manager in SCRIPT_MANAGERS:
        assert any(loss.field == "workdir" for loss in losses)


@pytest.mark.slurm
def test_slurm_keeps_a_name_with_spaces_hash_and_dollar_as_one_name(slurm, tmp_path):
    name = "my run #2 $HOME"
    text, _ = write(BatchJob(name=name, tasks=1, walltime=60, output=str(tmp_path / "o.txt"),
                            script="true\n"), "slurm")
    script = tmp_path / "named.sbatch"
    script.write_text(text)
    job_id = slurm.sbatch(script, "--hold")
    try:
        assert slurm.job(job_id)["JobName"] == name
    finally:
        slurm.cancel(job_id)

"""`fractale --version` names the package and the compiled core; shell completion (click's,
for bash, zsh and fish, as README.md documents it) completes commands and option choices."""

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import fractale
import pytest
from click.shell_completion import BashComplete, FishComplete, ZshComplete
from click.testing import CliRunner
from fractale.cli import cli

ROOT = Path(__file__).resolve().parents[2]
# The console script pip installed beside this interpreter.
FRACTALE = Path(sys.executable).parent / "fractale"
COMPLETE_VAR = "_FRACTALE_COMPLETE"


def test_version_names_the_package_the_core_and_python():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    package, core = metadata.version("fractale"), fractale.__version__
    assert re.fullmatch(
        rf"fractale {re.escape(package)} \(core {re.escape(core)}, \w+ \d+\.\d+\.\d+\S*\)\n",
        result.output,
    ), result.output


def test_package_and_core_versions_both_come_from_cargo_toml():
    tomllib = pytest.importorskip("tomllib")
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]["version"]
    assert fractale.__version__ == cargo
    assert metadata.version("fractale") == cargo


def test_version_is_answered_before_any_subcommand_is_read():
    result = CliRunner().invoke(cli, ["--version", "no-such-command"])
    assert result.exit_code == 0
    assert result.output.startswith("fractale ")


@pytest.mark.parametrize("shell", [BashComplete, ZshComplete, FishComplete])
@pytest.mark.parametrize(
    ("args", "incomplete", "expected"),
    [
        ([], "tr", ["transform"]),
        (["transform", "--to"], "s", ["slurm"]),
        (["transform", "--from"], "p", ["pbs"]),
        ([], "s", ["satisfy", "script", "select", "show", "status", "submit"]),
    ],
)
def test_click_completes_commands_and_manager_names(shell, args, incomplete, expected):
    complete = shell(cli, {}, "fractale", COMPLETE_VAR)
    assert [item.value for item in complete.get_completions(args, incomplete)] == expected


def run_completion(instruction: str, words: str, cword: str) -> str:
    env = dict(os.environ, **{COMPLETE_VAR: instruction, "COMP_WORDS": words, "COMP_CWORD": cword})
    proc = subprocess.run([str(FRACTALE)], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_installed_command_answers_each_shells_completion_protocol():
    assert FRACTALE.is_file(), f"no console script at {FRACTALE}"
    assert run_completion("bash_complete", "fractale tr", "1") == "plain,transform\n"
    assert run_completion("bash_complete", "fractale transform --to s", "3") == "plain,slurm\n"
    assert run_completion("zsh_complete", "fractale transform --to s", "3") == "plain\nslurm\n_\n"
    # fish passes the command line up to the cursor and the token being completed; click's
    # wire format for fish changed across click 8 releases, so read its fields.
    fish = run_completion("fish_complete", "fractale transform --to s", "s")
    assert set(re.split(r"[\n,\t]", fish)) - {"", "plain", "_"} == {"slurm"}


@pytest.mark.parametrize(
    ("shell", "registers"),
    [
        ("bash", "complete -o nosort -F _fractale_completion fractale"),
        ("zsh", "compdef _fractale_completion fractale"),
        ("fish", 'complete --no-files --command fractale --arguments "(_fractale_completion)"'),
    ],
)
def test_the_readme_source_lines_print_a_script_registering_fractale(shell, registers):
    readme = (ROOT / "README.md").read_text()
    assert f"{COMPLETE_VAR}={shell}_source fractale" in readme
    assert registers in run_completion(f"{shell}_source", "", "")


def test_bash_completes_through_the_sourced_script():
    """A real bash sources what README.md tells users to eval and completes two command lines."""
    script = """
        eval "$(_FRACTALE_COMPLETE=bash_source fractale)"
        complete -p fractale >/dev/null || exit 9
        complete_line() {  # as bash calls a completion function: command, word, previous word
            COMP_WORDS=($1); COMP_CWORD=$2; COMPREPLY=()
            _fractale_completion fractale "${COMP_WORDS[$2]}" "${COMP_WORDS[$2 - 1]}"
            echo "${COMPREPLY[*]}"
        }
        complete_line 'fractale tr' 1
        complete_line 'fractale transform --to s' 3
    """
    env = dict(os.environ, PATH=f"{FRACTALE.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run(["bash", "--norc", "-c", script], env=env, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["transform", "slurm"]

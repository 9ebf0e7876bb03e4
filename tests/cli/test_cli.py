"""The fractale command answers --help and --version, and every subcommand its --help."""

import subprocess
import sys

import fractale
import pytest
from click.testing import CliRunner
from fractale.cli import COMMANDS, cli


def test_version_option_prints_the_package_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert fractale.__version__ in result.output


def test_root_help_lists_every_registered_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_answers_help(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_installed_console_script_answers_help():
    proc = subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert "Usage:" in proc.stdout


def test_unknown_command_exits_2_without_traceback():
    proc = subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", "no-such-command"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "No such command" in proc.stderr

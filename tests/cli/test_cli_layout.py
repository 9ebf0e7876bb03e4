"""How the command line is built: each command in its own module under fractale.cli, none
importing another (what they share is in fractale.cli.options), and `fractale --help`
loading none of them, nor anything heavy."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import fractale.cli
import pytest
from fractale.cli import COMMANDS

CLI = Path(fractale.cli.__file__).parent
COMMAND_MODULES = sorted({module for module, _, _ in COMMANDS.values()})


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_every_command_module_exists_beside_the_shared_options():
    present = {path.stem for path in CLI.glob("*.py")}
    assert set(COMMAND_MODULES) <= present
    # Besides the commands: the root group and what commands share.
    assert present - set(COMMAND_MODULES) == {"__init__", "options"}


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_no_command_module_imports_another(module):
    others = {f"fractale.cli.{name}" for name in COMMAND_MODULES if name != module}
    assert imported_modules(CLI / f"{module}.py") & others == set()


def test_the_import_check_sees_a_command_importing_another(tmp_path):
    # The check above can fail: a module importing a sibling command is caught.
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from fractale.cli.cluster import add\n")
    assert "fractale.cli.cluster" in imported_modules(bad)
    bad.write_text("from fractale.cli import select\n")
    assert "fractale.cli.select" in imported_modules(bad)


def modules_loaded_by(*args: str) -> list[str]:
    """The modules a fresh interpreter holds after running `fractale ARGS`."""
    code = (
        "import json, sys\n"
        "from fractale.cli import cli\n"
        f"cli.main({list(args)!r}, standalone_mode=False)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return json.loads(proc.stdout.splitlines()[-1])


# What `fractale --help` must not pay for: fractale's Python layers and the libraries under
# them (YAML, JSON Schema, the model SDK).
HEAVY = ("fractale.transform", "fractale.fleet", "fractale.store", "fractale.agents",
         "fractale.submission", "fractale.generate", "yaml", "jsonschema", "anthropic")


def test_root_help_loads_no_command_and_nothing_heavy():
    loaded = modules_loaded_by("--help")
    assert [name for name in loaded if name.startswith("fractale.cli.")] == []
    assert [name for name in loaded if name.split(".")[0] in HEAVY or name.startswith(HEAVY)] \
        == []


def test_version_loads_no_command_either():
    loaded = modules_loaded_by("--version")
    assert [name for name in loaded if name.startswith("fractale.cli.")] == []


def test_a_commands_help_loads_that_command_alone():
    loaded = modules_loaded_by("select", "--help")
    assert [name for name in loaded if name.startswith("fractale.cli.")] == [
        "fractale.cli.options", "fractale.cli.select"]

"""``fractale jobspec``: validate canonical jobspecs and count the resources they ask for.

The core judges: by RFC 14 (and RFC 25 for version 1), or with ``--lenient`` by what
flux-core's ``validate_jobspec`` accepts. Exit status 0 when every file passes, 2 otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from fractale.cli.options import UserError, json_option, table

lenient_option = click.option(
    "--lenient",
    is_flag=True,
    help="Accept what flux-core's validate_jobspec accepts (count and duration strings, "
    "nested slots, version 1 with any resource type) instead of RFC 14/25 alone.",
)


# As the core's own jobspec reader: a jobspec is kilobytes, and an endless file is refused.
MAX_JOBSPEC_BYTES = 64 << 20


def _read(path: Path) -> str:
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_JOBSPEC_BYTES + 1)
        if len(data) > MAX_JOBSPEC_BYTES:
            raise UserError(f"{path} goes on past the {MAX_JOBSPEC_BYTES} bytes read at most")
        return data.decode("utf-8")
    except FileNotFoundError:
        raise UserError(f"no such jobspec: {path}") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory, not a jobspec") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from None


def _rules(lenient: bool) -> str:
    return "flux" if lenient else "rfc"


def _check(path: Path, lenient: bool) -> dict[str, Any]:
    """One file's verdict, as ``--json`` prints it."""
    from fractale._core import JobspecError, check_jobspec

    entry: dict[str, Any] = {"file": str(path), "rules": _rules(lenient)}
    try:
        text = _read(path)
        version, _ = check_jobspec(text, str(path), lenient=lenient)
    except UserError as err:
        return {**entry, "valid": False, "version": None,
                "error": {"location": None, "message": err.message}}
    except JobspecError as err:
        error = {"location": err.location, "message": str(err)}
        if not lenient:
            try:
                check_jobspec(text, str(path), lenient=True)
                error["flux_accepts"] = True
            except JobspecError:
                error["flux_accepts"] = False
        return {**entry, "valid": False, "version": None, "error": error}
    return {**entry, "valid": True, "version": version, "error": None}


@click.group("jobspec")
def jobspec() -> None:
    """Validate canonical jobspecs (YAML or JSON) and count what they ask for."""


@jobspec.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@lenient_option
@json_option
def validate(files: tuple[Path, ...], lenient: bool, as_json: bool) -> None:
    """Check each FILE; every error names the place in the file that breaks a rule.

    Exit status 0 when all are valid, 2 when any is not.
    """
    results = [_check(path, lenient) for path in files]
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        rules = "flux-core's rules" if lenient else "RFC 14/25"
        for result in results:
            if result["valid"]:
                click.echo(f"{result['file']}: valid (version {result['version']}, {rules})")
                continue
            message = result["error"]["message"]
            if result["error"].get("flux_accepts"):
                message += " (flux-core accepts it: try --lenient)"
            click.echo(f"invalid: {message}", err=True)
    sys.exit(0 if all(result["valid"] for result in results) else 2)


def _amount(least: int, most: int | None) -> str:
    if most is None:
        return f"{least}+"
    return str(least) if most == least else f"{least}-{most}"


@jobspec.command("count")
@click.argument("file", type=click.Path(path_type=Path))
@lenient_option
@json_option
def count(file: Path, lenient: bool, as_json: bool) -> None:
    """Count the resources FILE asks for, per type, slots included: each count multiplied
    by the counts above it (a range gives its least and most; N+ has no upper bound).

    Exit status 0, or 2 when FILE is not a valid jobspec.
    """
    from fractale._core import check_jobspec

    version, tally = check_jobspec(_read(file), str(file), lenient=lenient)
    if as_json:
        click.echo(json.dumps({
            "file": str(file),
            "version": version,
            "rules": _rules(lenient),
            "counts": {kind: {"min": least, "max": most} for kind, (least, most) in tally.items()},
        }, indent=2))
        return
    rows = [[kind, _amount(least, most)] for kind, (least, most) in tally.items()]
    click.echo(table(["TYPE", "COUNT"], rows))

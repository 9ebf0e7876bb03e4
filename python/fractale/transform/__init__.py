"""Translate jobs between workload managers through one normalized model, ``BatchJob``.

``parse`` reads any manager's job text, ``render`` writes a spec for a manager, and
``transform`` does both, returning a ``Translation`` that lists every directive, option or
field that could not be carried over. ``read``/``write`` are the same with losses returned.
"""

from __future__ import annotations

from collections.abc import Iterable

from fractale.errors import TranslateError
from fractale.renamed import old_names
from fractale.transform import extra as passthrough
from fractale.transform.check import check
from fractale.transform.directives import split_lines
from fractale.transform.model import BatchJob, field_names
from fractale.transform.registry import Manager, all_managers, get, names
from fractale.transform.report import Loss, Translation


def detect(text: str) -> str:
    """The one manager ``text`` is written for; TranslateError when none or several match."""
    if not text.strip():
        raise TranslateError("the input is empty", expected="a batch script or job document")
    claims = [manager.name for manager in all_managers() if manager.claims(text)]
    if len(claims) == 1:
        return claims[0]
    if not claims:
        prefixes = [prefix for manager in all_managers()
                    if (prefix := getattr(manager, "prefix", None))]
        formats = [manager.description for manager in all_managers()
                   if not hasattr(manager, "prefix")]
        raise TranslateError(
            "cannot tell which workload manager the input is written for: it has no "
            f"{', '.join(prefixes)} directive and is not a {' or a '.join(formats)}",
            expected="a batch script with directives, or --from MANAGER",
        )
    raise TranslateError(
        f"the input matches several workload managers ({', '.join(claims)}); "
        "say which with --from",
        expected="directives of one manager only, or --from MANAGER",
    )


def read(text: str, manager: str | None = None, *,
         file: str | None = None) -> tuple[BatchJob, list[Loss]]:
    """Read job text into a spec, with every directive that could not be mapped."""
    if manager is None:
        return get(detect(text)).read(text, file)
    reader = get(manager)
    if text.strip() and not reader.claims(text):
        # A script with none of the named manager's directives but another's: the wrong
        # --from, which would otherwise read as an empty job with nothing reported.
        others = [m.name for m in all_managers() if m.name != reader.name and m.claims(text)]
        if others:
            raise TranslateError(
                f"{file or 'the input'} is not a {reader.description}: it has none of its "
                f"directives and reads as {' or '.join(others)}",
                file=file, expected=f"a {reader.description}, or --from {others[0]}")
    return reader.read(text, file)


def write(spec: BatchJob, manager: str, *,
          extra: Iterable[str] = ()) -> tuple[str, list[Loss]]:
    """Write a spec for a manager, with every field that manager cannot express.

    The text is read back to make sure of it: a field that does not survive and that the
    manager's table did not already report is reported too, so nothing is lost silently.
    ``extra`` holds ``MANAGER:DIRECTIVE`` entries; the target's are added verbatim once
    checked (see ``fractale.transform.extra``).
    """
    target = get(manager)
    added = passthrough.parse(extra).get(target.name, [])
    check(spec)
    text, losses = _write(spec, target)
    return passthrough.add(text, target.name, added), losses


def _write(spec: BatchJob, target: Manager) -> tuple[str, list[Loss]]:
    shaped, chosen = _one_queue(spec, target)
    text, written = target.write(shaped)
    # The same field can be named by two rows (e.g. a layout folded into another); once is
    # enough for the user.
    losses = chosen + list(dict.fromkeys(written))
    reported = {loss.field for loss in losses}
    try:
        back, _ = target.read(text)
    except TranslateError as err:
        losses.append(Loss(f"{target.name} cannot read the written job back: {err}",
                           stage="render"))
        return text, losses
    for name in field_names():
        if name in ("script", "dialect") or name in reported:
            continue
        before, after = getattr(spec, name), getattr(back, name)
        if same_meaning(target, spec, name, before, after):
            continue
        if before != after:
            losses.append(Loss(f"{target.name} reads this back as {after!r}, not {before!r}",
                               field=name, stage="render"))
    return text, losses


def _one_queue(spec: BatchJob, target: Manager) -> tuple[BatchJob, list[Loss]]:
    """A list of queues (``a,b,c``) in the target's spelling, or its first queue when the
    target takes one (reported)."""
    queues = [q for q in (spec.queue or "").split(",") if q]
    if len(queues) < 2:
        return spec, []
    if target.queue_separator is not None:
        return spec.replace(queue=target.queue_separator.join(queues)), []
    return spec.replace(queue=queues[0]), [Loss(
        f"{target.name} takes one queue: {queues[0]} is written, not {', '.join(queues[1:])}",
        field="queue", stage="render")]


def same_meaning(target: Manager, spec: BatchJob, name: str, before: object,
                  after: object) -> bool:
    """Whether a field read back differently still means what was asked: joined output
    where no error file is named (asked for, and the target joins anyway; or not asked, and
    the target joins), or an explicit export of the environment the target exports anyway."""
    if name == "join_output" and spec.error is None:
        # No error file asked: joining is what the target may do; it must when asked.
        return not before or target.joins_output
    return name == "export_env" and before is None and after == target.default_export


def parse(text: str, manager: str | None = None, *, file: str | None = None) -> BatchJob:
    """Read a batch script, jobspec or Job manifest into a ``BatchJob``."""
    return read(text, manager, file=file)[0]


def render(spec: BatchJob, manager: str, *, extra: Iterable[str] = ()) -> str:
    """Write ``spec`` as ``manager``'s job text (see ``write`` for what could not be said)."""
    return write(spec, manager, extra=extra)[0]


def transform(text: str, to: str, source: str | None = None, *,
              file: str | None = None, extra: Iterable[str] = ()) -> Translation:
    """Translate job text from ``source`` (detected when None) to manager ``to``, adding
    the ``extra`` directives given for it (``MANAGER:DIRECTIVE`` entries)."""
    target = get(to).name
    passthrough.parse(extra)
    origin = source or detect(text)
    spec, read_losses = read(text, origin, file=file)
    written, write_losses = write(spec, target, extra=extra)
    lines = _script_lines(text, spec.script)
    remapped = [_in_source(loss, lines) for loss in write_losses]
    return Translation(written, spec, get(origin).name, target, read_losses + remapped)


def _script_lines(text: str, script: str) -> list[int | None]:
    """For each line of the script body, its line number in the source text (or None)."""
    source = split_lines(text)
    out: list[int | None] = []
    cursor = 0
    for line in script.split("\n"):
        found = None
        for index in range(cursor, len(source)):
            if source[index].rstrip() == line.rstrip():
                found = index
                break
        if found is None:
            out.append(None)
        else:
            out.append(found + 1)
            cursor = found + 1
    return out


def _in_source(loss: Loss, lines: list[int | None]) -> Loss:
    """A body loss (numbered within the script) renumbered by the source file's lines."""
    if loss.line is None or loss.field is not None:
        return loss
    index = loss.line - 1
    number = lines[index] if 0 <= index < len(lines) else None
    return Loss(loss.reason, line=number, directive=loss.directive, field=loss.field,
                stage=loss.stage)


# Old names kept for one release.
__getattr__ = old_names(__name__, {"JobSpec": "BatchJob"})

__all__ = [
    "names",
    "BatchJob",
    "Loss",
    "Translation",
    "detect",
    "parse",
    "read",
    "render",
    "transform",
    "write",
]

"""Shared machinery for batch scripts that carry options in comment directives.

A manager module declares a table of ``Option`` rows (flag spellings and the ``Codec`` that
moves a value between the directive and the model) and a few class attributes (directive
prefix, path placeholders, launcher); ``DirectiveManager`` does the rest: finding the
directives, tokenizing them, reporting what no row maps, quoting what it writes so that no
value can open a new line, and handing the script body to the launcher/variable translator.
"""

from __future__ import annotations

import re
import shlex
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from fractale.errors import TranslateError
from fractale.transform import body as body_translation
from fractale.transform.model import BatchJob, field_names, is_default, value_problems
from fractale.transform.registry import Manager
from fractale.transform.report import Loss

# Fields the machinery itself carries, whatever the table holds.
BODY_FIELDS = ("shell", "script", "dialect")

DEFAULT_SHELL = "/bin/bash"

_SAFE_VALUE = re.compile(r"[A-Za-z0-9_./:@%+=,{}\[\]^~*-]+")
_UNQUOTABLE = re.compile(r"[\"\\\x00-\x1f\x7f]")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")


class UnsafeValue(ValueError):
    """A value no directive can carry without changing the script's meaning."""


def quote(value: str) -> str:
    """A directive argument: bare when plain, double-quoted when it holds spaces or ``#``.

    Quotes, backslashes and control characters (newlines above all) are refused: no
    directive parser agrees on escaping them, and a newline would end the comment.
    """
    if _SAFE_VALUE.fullmatch(value):
        return value
    if _UNQUOTABLE.search(value) or value == "":
        raise UnsafeValue(f"{value!r} holds a quote, backslash or control character")
    return f'"{value}"'


def sanitize_name(value: str) -> str:
    """A job name every manager accepts: letters, digits and ``_.+-`` only."""
    cleaned = _NAME_UNSAFE.sub("_", value)
    return cleaned if cleaned else "job"


@dataclass
class Context:
    """State of one read or write: the manager, where we are, what was lost."""

    manager: DirectiveManager
    stage: str = "parse"
    losses: list[Loss] = field(default_factory=list)
    line: int | None = None
    directive: str | None = None
    file: str | None = None
    # Values that several options contribute to and a manager hook settles afterwards.
    scratch: dict[str, Any] = field(default_factory=dict)

    def lose(self, field_name: str | None, reason: str) -> None:
        """Record a field (when writing) or the current directive (when reading) not carried."""
        self.losses.append(Loss(reason, line=self.line, directive=self.directive,
                                field=field_name, stage=self.stage))

    def fail(self, message: str, expected: str) -> TranslateError:
        location = f"line {self.line}" if self.line is not None else None
        where = f"{self.file or '<input>'}:{self.line}: " if self.line is not None else ""
        return TranslateError(f"{where}{message}", file=self.file, location=location,
                              expected=expected)


class Codec(ABC):
    """Moves one option's value between directive text and model fields."""

    fields: tuple[str, ...] = ()
    takes_value = True

    @abstractmethod
    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        """The model fields an option's value sets."""

    def bare(self, ctx: Context) -> dict[str, Any]:
        """The model fields an option given without a value sets. Only options that take none
        (``takes_value`` False) are read so; they read it as an empty value unless they say
        otherwise."""
        return self.read("", ctx)

    @abstractmethod
    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        """One entry per directive to write; ``None`` writes the bare flag."""


@dataclass(frozen=True)
class Option:
    """One row of a manager's table: the spellings of an option and its codec."""

    names: tuple[str, ...]
    codec: Codec
    # Aliases are read but never written; the first writable row for a field wins.
    write: bool = True


# ---------------------------------------------------------------- generic codecs


class Text(Codec):
    """A plain string field."""

    def __init__(self, name: str, *, check: Callable[[str], str] | None = None) -> None:
        self.fields = (name,)
        self.check = check

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        value = value.strip()
        if self.check is not None:
            try:
                value = self.check(value)
            except ValueError as err:
                raise ctx.fail(str(err), "a valid value") from None
        return {self.fields[0]: value}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        value = getattr(spec, self.fields[0])
        return [] if value is None else [value]


class Name(Text):
    """A job name; characters a manager would choke on become ``_`` (and are reported)."""

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        value = getattr(spec, self.fields[0])
        if value is None:
            return []
        cleaned = ctx.manager.sanitize_name(value)
        if cleaned != value:
            ctx.lose(self.fields[0], f"name {value!r} written as {cleaned!r}")
        return [cleaned]


class Int(Codec):
    """A non-negative integer field."""

    def __init__(self, name: str, minimum: int = 0) -> None:
        self.fields = (name,)
        self.minimum = minimum

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        text = value.strip()
        if not re.fullmatch(r"-?\d+", text) or int(text) < self.minimum:
            raise ctx.fail(f"{ctx.directive} expects an integer >= {self.minimum}, got {text!r}",
                           f"an integer >= {self.minimum}")
        return {self.fields[0]: int(text)}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        value = getattr(spec, self.fields[0])
        if value is not None and value < self.minimum:
            ctx.lose(self.fields[0],
                     f"{ctx.manager.name} takes {self.minimum} or more, not {value}")
            return []
        return [] if value is None else [str(value)]


class Flag(Codec):
    """A flag that sets a field to a fixed value (``--exclusive``, ``--requeue``)."""

    takes_value = False

    def __init__(self, name: str, value: Any = True) -> None:
        self.fields = (name,)
        self.value = value

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        return {self.fields[0]: self.value}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return [None] if getattr(spec, self.fields[0]) == self.value else []


class Quantity(Codec):
    """A field read and written through a pair of functions (durations, memory, times)."""

    def __init__(self, name: str, reader: Callable[[str], Any],
                 writer: Callable[[Any], str | None], expected: str) -> None:
        self.fields = (name,)
        self.reader = reader
        self.writer = writer
        self.expected = expected

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        try:
            quantity = self.reader(value)
        except ValueError as err:
            raise ctx.fail(f"{ctx.directive}: {err}", self.expected) from None
        if quantity == 0 and self.fields[0] == "walltime":
            # A zero time limit asks for no limit at all.
            return {}
        return {self.fields[0]: quantity}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        value = getattr(spec, self.fields[0])
        if value is None:
            return []
        try:
            written = self.writer(value)
            exact = written is not None and self.reader(written) == value
        except ValueError:
            written = None
        if written is None:
            ctx.lose(self.fields[0], f"{ctx.manager.name} cannot express {value!r}")
            return []
        if not exact:
            ctx.lose(self.fields[0], f"{value!r} written as {written!r}, the closest "
                                     f"{ctx.manager.name} can express")
        return [written]


class Path(Codec):
    """A path whose job-id/name/array placeholders follow the manager's spelling."""

    def __init__(self, name: str) -> None:
        self.fields = (name,)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        return {self.fields[0]: ctx.manager.path_to_model(value)}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        value = getattr(spec, self.fields[0])
        if value is None:
            return []
        native = ctx.manager.path_from_model(value)
        if native is None:
            ctx.lose(self.fields[0], f"{value!r} uses a placeholder {ctx.manager.name} lacks")
            return []
        return [native]


class Items(Codec):
    """A list field written as one separated value (``-C a&b``, ``-x n1,n2``)."""

    def __init__(self, name: str, separator: str = ",",
                 split: Callable[[str], list[str]] | None = None) -> None:
        self.fields = (name,)
        self.separator = separator
        self.split = split

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        parts = self.split(value) if self.split else value.split(self.separator)
        return {self.fields[0]: [p.strip() for p in parts if p.strip()]}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        items = getattr(spec, self.fields[0])
        return [self.separator.join(items)] if items else []


class Ignored(Codec):
    """An option that changes nothing a job needs on another manager (reported, not kept)."""

    def __init__(self, reason: str, takes_value: bool = True) -> None:
        self.reason = reason
        self.takes_value = takes_value

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        ctx.lose(None, self.reason)
        return {}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return []


# ---------------------------------------------------------------- the manager


class DirectiveManager(Manager):
    """A manager whose batch scripts carry options in ``#PREFIX`` comment lines."""

    prefix: ClassVar[str] = ""
    # Matches the directive prefix at the start of a line; the rest is the options.
    prefix_pattern: ClassVar[re.Pattern[str]]
    options: ClassVar[tuple[Option, ...]] = ()
    # Derived from ``options`` by __init_subclass__: option name -> row, the rows written,
    # and the model fields those rows write.
    _lookup: ClassVar[dict[str, Option]] = {}
    _written: ClassVar[tuple[Option, ...]] = ()
    _fields: ClassVar[frozenset[str]] = frozenset()
    # Neutral placeholder name -> this manager's spelling in output paths.
    placeholders: ClassVar[dict[str, str]] = {}
    # Literal escapes in paths (e.g. Slurm's "%%" for "%").
    path_escapes: ClassVar[dict[str, str]] = {}
    # Long options written as "--name=value" (True) or "--name value" (False).
    long_equals: ClassVar[bool] = True
    # Directives past the first command are ignored by this manager (sbatch, qsub do so).
    header_only: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "prefix" in cls.__dict__ and "prefix_pattern" not in cls.__dict__:
            cls.prefix_pattern = re.compile(re.escape(cls.prefix) + r"(?=\s|$)")
        if "options" in cls.__dict__:
            cls._lookup = {name: opt for opt in cls.options for name in opt.names}
            cls._written = tuple(opt for opt in cls.options if opt.write)
            cls._fields = frozenset(f for opt in cls._written for f in opt.codec.fields)

    # ---- hooks a manager may override

    def finish_read(self, values: dict[str, Any], ctx: Context) -> None:
        """Settle values several options contributed to (``ctx.scratch``)."""

    def extra_directives(self, spec: BatchJob, ctx: Context) -> list[str]:
        """Directive lines the table cannot produce row by row (composite resources)."""
        return []

    def extra_fields(self) -> frozenset[str]:
        """Fields ``extra_directives`` writes."""
        return frozenset()

    def sanitize_name(self, value: str) -> str:
        return sanitize_name(value)

    def starts_component(self, line: str) -> bool:
        """Whether directive ``line`` starts the next component of a heterogeneous job."""
        return False

    # ---- detection

    def claims(self, text: str) -> bool:
        return any(self.prefix_pattern.match(line.lstrip()) for line in split_lines(text))

    # ---- paths

    def path_to_model(self, native: str) -> str:
        tokens = {token: "{{" + name + "}}" for name, token in self.placeholders.items()}
        tokens.update(self.path_escapes)
        if not tokens:
            return native
        pattern = re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))
        return pattern.sub(lambda m: tokens[m.group(0)], native)

    def path_from_model(self, value: str) -> str | None:
        missing = False

        def native(match: re.Match[str]) -> str:
            nonlocal missing
            token = self.placeholders.get(match.group(1))
            if token is None:
                missing = True
                return match.group(0)
            return token

        escaped = value
        for literal_native, literal in self.path_escapes.items():
            escaped = escaped.replace(literal, literal_native)
        out = re.sub(r"\{\{(\w+)\}\}", native, escaped)
        return None if missing else out

    # ---- reading

    def directive_text(self, line: str) -> str | None:
        """The options part of a directive line, or None when it is not a directive."""
        stripped = line.lstrip()
        match = self.prefix_pattern.match(stripped)
        return stripped[match.end():] if match else None

    def read(self, text: str, file: str | None = None) -> tuple[BatchJob, list[Loss]]:
        ctx = Context(self, file=file)
        lines = split_lines(text)
        values: dict[str, Any] = {}
        start = 0
        if lines and lines[0].startswith("#!"):
            values["shell"] = lines[0][2:].strip() or DEFAULT_SHELL
            start = 1
        body: list[str] = []
        in_header = True
        for number, line in enumerate(lines[start:], start=start + 1):
            options = self.directive_text(line)
            if options is None:
                stripped = line.strip()
                if stripped and not stripped.startswith("#"):
                    in_header = False
                body.append(line)
                continue
            if not in_header and self.header_only:
                ctx.losses.append(Loss(
                    f"directive after the first command; {self.name} ignores it",
                    line=number, directive=line.strip(), stage="parse"))
                body.append(line)
                continue
            ctx.line = number
            self.read_directive(options, values, ctx)
        ctx.line = None
        ctx.directive = None
        ctx.scratch = {key: values.pop(key) for key in list(values) if key.startswith("_")}
        self.finish_read(values, ctx)
        check_counts(values, ctx)
        values["script"] = normalize_script("\n".join(body))
        values["dialect"] = self.name
        spec = BatchJob(**values)
        return spec, ctx.losses

    def tokenize(self, options: str, ctx: Context) -> list[str]:
        if not any(c in options for c in "\"'\\#"):
            return options.split()
        try:
            lexer = shlex.shlex(options, posix=True, punctuation_chars=False)
            lexer.whitespace_split = True
            lexer.commenters = "#"
            return list(lexer)
        except ValueError as err:
            ctx.directive = options.strip()
            raise ctx.fail(f"cannot read directive {options.strip()!r}: {err}",
                           "balanced quotes") from None

    def read_directive(self, options: str, values: dict[str, Any], ctx: Context) -> None:
        tokens = self.tokenize(options, ctx)
        i = 0
        while i < len(tokens):
            token = tokens[i]
            i += 1
            name, value, option = self.match_option(token)
            ctx.directive = token
            if option is None:
                if token.startswith("-"):
                    # An unknown option may take the next word as its value: report both.
                    if value is None and i < len(tokens) and not tokens[i].startswith("-"):
                        ctx.directive = f"{token} {tokens[i]}"
                        i += 1
                    ctx.lose(None, f"{self.name} option not in fractale's job model")
                else:
                    ctx.lose(None, "stray argument in a directive")
                continue
            if value is None and not option.codec.takes_value:
                merge(values, option.codec.bare(ctx))
                continue
            if value is None:
                if i >= len(tokens):
                    raise ctx.fail(f"{name} needs a value", f"{name} <value>")
                value = tokens[i]
                i += 1
                ctx.directive = f"{name} {value}"
            merge(values, option.codec.read(value, ctx))

    def match_option(self, token: str) -> tuple[str, str | None, Option | None]:
        """Split ``--name=value``, ``-Xvalue`` or a bare option and look it up."""
        if token in self._lookup:
            return token, None, self._lookup[token]
        if token.startswith("--") and "=" in token:
            name, value = token.split("=", 1)
            return name, value, self._lookup.get(name)
        if token.startswith("-") and not token.startswith("--"):
            for length in range(len(token) - 1, 1, -1):
                option = self._lookup.get(token[:length])
                if option is not None and option.codec.takes_value:
                    return token[:length], token[length:], option
        return token, None, None

    # ---- writing

    def directive(self, name: str, value: str | None) -> str:
        if value is None:
            return f"{self.prefix} {name}"
        if name.startswith("--") and self.long_equals:
            return f"{self.prefix} {name}={quote(value)}"
        return f"{self.prefix} {name} {quote(value)}"

    def write(self, spec: BatchJob) -> tuple[str, list[Loss]]:
        ctx = Context(self, stage="render")
        lines = [f"#!{spec.shell or DEFAULT_SHELL}"]
        for option in self._written:
            for value in option.codec.write(spec, ctx):
                self.emit(lines, option.names[0], value, option.codec.fields, ctx)
        lines.extend(self.extra_directives(spec, ctx))
        report_unwritten(spec, self._fields | self.extra_fields(), ctx)
        script = body_translation.translate(spec.script, spec.dialect, self.name, ctx.losses)
        text = "\n".join(lines) + "\n"
        if script:
            text += "\n" + script
        return text, ctx.losses

    def emit(self, lines: list[str], name: str, value: str | None,
             fields: tuple[str, ...], ctx: Context) -> None:
        try:
            lines.append(self.directive(name, value))
        except UnsafeValue as err:
            ctx.lose(fields[0] if fields else None, f"not written: {err}")


def check_counts(values: dict[str, Any], ctx: Context) -> None:
    """Counts and durations of at least one, sizes not negative."""
    problems = value_problems(values)
    if problems:
        raise ctx.fail("; ".join(problems), "counts of at least 1")


def merge(values: dict[str, Any], updates: dict[str, Any]) -> None:
    """Later directives override scalars and extend lists and mappings."""
    for key, value in updates.items():
        if isinstance(value, list):
            values[key] = values.get(key, []) + [v for v in value if v not in values.get(key, [])]
        elif isinstance(value, dict) and not key.startswith("_"):
            values[key] = {**values.get(key, {}), **value}
        else:
            values[key] = value


def split_lines(text: str) -> list[str]:
    """Lines as a shell sees them: split at newlines only (not at NEL or U+2028)."""
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def normalize_script(script: str) -> str:
    """Leading blank lines and trailing whitespace dropped; one final newline when not empty."""
    lines = split_lines(script)
    while lines and not lines[0].strip():
        lines.pop(0)
    text = "\n".join(lines).rstrip()
    return text + "\n" if text else ""


def report_unwritten(spec: BatchJob, written: frozenset[str], ctx: Context) -> None:
    manager = ctx.manager
    for name in field_names():
        if name in BODY_FIELDS or name in written or is_default(name, getattr(spec, name)):
            continue
        if name == "join_output" and manager.joins_output and spec.error is None:
            continue
        if name == "components":
            ctx.lose(name, f"{manager.name} has no heterogeneous jobs: component 0 is "
                           f"written, the other {len(spec.components)} could not be")
        else:
            ctx.lose(name, f"{manager.name} has no way to express {name}")

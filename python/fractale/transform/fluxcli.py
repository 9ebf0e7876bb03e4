"""Flux's command-line grammar, as flux-core reads it: the options of ``flux batch``,
``flux alloc``, ``flux run`` and ``flux submit`` (which are flags, which take a value), the
POSIX-style split between a command's options and its program, and RFC 36 submission
directives (``#FLUX:`` / ``# flux:``) with flux-core's rule for where they stop.

The tables are written from flux-core 0.88's ``flux.cli`` option definitions. Long options
are matched only when spelled in full (flux-core's parser refuses abbreviations); a short
option may carry its value (``-n4``, ``-N=4``) or cluster with flags (``-xN2``).
"""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass
from typing import Any, NoReturn

FLAG, VALUE, OPTIONAL, COUNT = "flag", "value", "optional value", "count"


@dataclass(frozen=True)
class CliOption:
    """One option of a flux command: its spellings (canonical long name first) and arity."""

    names: tuple[str, ...]
    arity: str = VALUE

    @property
    def name(self) -> str:
        return next(n for n in self.names if n.startswith("--"))


def _options(*rows: tuple[Any, ...]) -> tuple[CliOption, ...]:
    return tuple(CliOption(tuple(row[:-1]), row[-1]) if row[-1] in (FLAG, VALUE, OPTIONAL, COUNT)
                 else CliOption(tuple(row)) for row in rows)


# Every submission command (flux-core MiniCmd).
COMMON = _options(
    ("--help", OPTIONAL),
    ("--bank", "-B"), ("--queue", "-q"), ("--time-limit", "-t"), ("--urgency",),
    ("--job-name",), ("--setopt", "-o"), ("--setattr", "-S"), ("--add-file",),
    ("--dependency",), ("--requires", "--require"), ("--begin-time",), ("--env",),
    ("--env-remove",), ("--env-file",), ("--rlimit",), ("--input",), ("--output",),
    ("--error",), ("--unbuffered", "-u", FLAG), ("--label-io", "-l", FLAG), ("--cwd",),
    ("--flags",), ("--signal",), ("--dry-run", "--dry", FLAG), ("--quiet", FLAG),
    ("--list-plugins", FLAG), ("--debug-emulate", FLAG),
)

# flux batch and flux alloc: an allocation of slots for a new Flux instance.
SLOTS = _options(
    ("--add-brokers",), ("--conf",), ("--broker-opts", "--broker-opt"), ("--dump", OPTIONAL),
    ("--nslots", "-n"), ("--cores-per-slot", "-c"), ("--gpus-per-slot", "-g"),
    ("--nodes", "-N"), ("--exclusive", "-x", FLAG),
)

# flux run and flux submit: tasks, per task or per resource.
TASKS = _options(
    ("--taskmap",), ("--nodes", "-N"), ("--exclusive", "-x", FLAG), ("--ntasks", "-n"),
    ("--cores-per-task", "-c"), ("--gpus-per-task", "-g"), ("--cores",),
    ("--tasks-per-node",), ("--tasks-per-core",), ("--gpus-per-node",),
    ("--verbose", "-v", COUNT),
)

SUBMIT_ONLY = _options(
    ("--cc",), ("--bcc",), ("--wait-event",), ("--wait", FLAG), ("--watch", FLAG),
    ("--log",), ("--log-stderr",), ("--progress", FLAG), ("--jps", FLAG),
)

COMMANDS: dict[str, tuple[CliOption, ...]] = {
    "batch": COMMON + SLOTS + _options(("--wrap", FLAG)),
    "alloc": COMMON + SLOTS + _options(("--verbose", "-v", COUNT), ("--bg", FLAG)),
    "run": COMMON + TASKS + _options(("--wait-event",)),
    "submit": COMMON + TASKS + SUBMIT_ONLY,
}


def valued(command: str) -> frozenset[str]:
    """The spellings of ``flux COMMAND``'s options that take a value."""
    return frozenset(name for name, option in spellings(command).items()
                     if option.arity == VALUE)


def flags(command: str) -> frozenset[str]:
    """The spellings of ``flux COMMAND``'s options that take no value."""
    return frozenset(name for name, option in spellings(command).items()
                     if option.arity != VALUE)


def spellings(command: str) -> dict[str, CliOption]:
    """Every spelling ``flux COMMAND`` accepts -> its option."""
    return {name: option for option in COMMANDS[command] for name in option.names}


class FluxUsageError(ValueError):
    """Arguments flux-core's parser refuses; ``unrecognized`` lists the unknown options."""

    def __init__(self, message: str, unrecognized: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.unrecognized = unrecognized


@dataclass(frozen=True)
class Given:
    """One option as given: its canonical long name, the spelling used, and its value."""

    name: str
    typed: str
    value: str | None


class _Record(argparse.Action):
    """Keeps every option in the order given (argparse's namespace would merge them)."""

    def __call__(self, parser, namespace, values, option_string=None):
        value = values if isinstance(values, str) else None
        namespace.given.append(Given(self.dest, option_string or self.dest, value))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        unknown: tuple[str, ...] = ()
        if message.startswith("unrecognized arguments: "):
            unknown = tuple(message[len("unrecognized arguments: "):].split())
        raise FluxUsageError(message, unknown)


_PARSERS: dict[str, tuple[_Parser, dict[str, CliOption]]] = {}
# How many words argparse takes after an option of each arity.
_NARGS: dict[str, int | str | None] = {FLAG: 0, COUNT: 0, OPTIONAL: "?", VALUE: None}


def _parser(command: str) -> tuple[_Parser, dict[str, CliOption]]:
    if command not in _PARSERS:
        parser = _Parser(prog=f"flux {command}", add_help=False, allow_abbrev=False)
        for option in COMMANDS[command]:
            nargs = _NARGS[option.arity]
            parser.add_argument(*option.names, dest=option.name, action=_Record, nargs=nargs,
                                default=argparse.SUPPRESS)
        _PARSERS[command] = (parser, spellings(command))
    return _PARSERS[command]


_NEGATIVE = re.compile(r"^-\d+$|^-\d*\.\d+$")


def split(words: list[str], command: str) -> tuple[list[str], list[str]]:
    """``words`` cut where flux-core stops reading options: at ``--`` or the first word
    that is not an option (or an option's value); the second part is the program."""
    table = spellings(command)
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--" or not word.startswith("-") or word == "-" or _NEGATIVE.match(word):
            return words[:i], words[i:]
        i += 1
        if (word.startswith("--") and "=" in word) or (not word.startswith("--")
                                                       and len(word) > 2):
            continue
        option = table.get(word)
        if option is None:
            continue
        if option.arity == VALUE and i < len(words):
            i += 1
        elif option.arity == OPTIONAL and i < len(words) and not words[i].startswith("-"):
            i += 1
    return words, []


def parse(words: list[str], command: str) -> list[Given]:
    """The options of ``flux COMMAND`` in ``words`` (options only, see ``split``), in order;
    FluxUsageError for anything flux-core would refuse to parse."""
    parser, _ = _parser(command)
    namespace = argparse.Namespace(given=[])
    parser.parse_args(words, namespace)
    return namespace.given


# ---------------------------------------------------------------- RFC 36 directives

_SENTINEL = re.compile(r"^([^\w]*)((?:flux|FLUX):)(.*)$")
# Lines meant as directives that Flux does not take as such: no colon, or another case.
_NEAR_MISS = re.compile(r"^\s*#\s*flux(?::|\s+-)", re.IGNORECASE)


@dataclass
class Directive:
    """One directive line: its number, its text after the sentinel, and its words."""

    line: int
    text: str
    words: list[str]


@dataclass
class Script:
    """A batch script split as flux-core splits it."""

    directives: list[Directive]
    # Line numbers (1-based) of directive lines; every other line is the script body.
    directive_lines: set[int]
    # (line, text) of lines that look like directives but that Flux does not read.
    near_misses: list[tuple[int, str]]


class DirectiveError(ValueError):
    """A script flux-core refuses while reading its directives; ``line`` says where."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _words(text: str, line: int) -> list[str]:
    """A directive's words, lexed as flux-core lexes them (POSIX shell words, ``#`` comments)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.escapedquotes = "\"'"
    try:
        return list(lexer)
    except ValueError as err:
        raise DirectiveError(f"cannot read directive {text.strip()!r}: {err}", line) from None


def _triple_quotes(text: str, line: int) -> str:
    """A value quoted with paired triple quotes on one line, as one shell word."""
    for quote in ('"""', "'''"):
        count = text.count(quote)
        if count and count % 2 == 0:
            return re.sub(re.escape(quote) + r"(.*?)" + re.escape(quote),
                          lambda m: shlex.quote(m.group(1)), text)
        if count:
            raise DirectiveError("a triple-quoted value spanning several directive lines is "
                                 "not supported by fractale", line)
    return text


def scan(lines: list[str]) -> Script:
    """The directives of a batch script. Directives may follow commands, but once one has
    been read, the first line that is neither blank, a directive, nor starts with the
    directive's prefix (``#``) ends them: a directive after that is an error, as is a
    change of sentinel (``#FLUX:`` then ``# flux:``)."""
    script = Script([], set(), [])
    sentinel = prefix = None
    stopped_after: int | None = None
    for number, line in enumerate(lines, start=1):
        match = _SENTINEL.match(line)
        if match is None:
            if _NEAR_MISS.match(line):
                script.near_misses.append((number, line.strip()))
            if (prefix is not None and stopped_after is None and line.strip()
                    and not line.startswith(prefix.rstrip())):
                stopped_after = number - 1
            continue
        tag = match.group(2)
        if stopped_after is not None:
            raise DirectiveError(f"{line.strip()!r}: a directive after the script's commands "
                                 "began "
                                 f"(directives end at line {stopped_after}); flux batch "
                                 "refuses it", number)
        if sentinel is None:
            prefix, sentinel = match.group(1), match.group(1) + tag
        elif match.group(1) + tag != sentinel:
            raise DirectiveError(f"sentinel changed from {sentinel!r} to "
                                 f"{match.group(1) + tag!r}; all directives of a script "
                                 "must use the same one", number)
        script.directive_lines.add(number)
        text = _triple_quotes(match.group(3), number)
        words = _words(text, number)
        if not words:
            continue
        if not words[0].startswith("-"):
            raise DirectiveError(f"unknown directive {text.strip()!r}: a directive holds "
                                 "options", number)
        script.directives.append(Directive(number, text.strip(), words))
    return script


def is_sentinel(line: str) -> bool:
    return _SENTINEL.match(line) is not None

"""Quantities in the spellings workload managers use: durations, memory sizes, begin times
and job-array ranges, read into the model's units and written back out.

Every reader raises ``ValueError`` with the expected form when a value does not parse.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

# ---------------------------------------------------------------- durations (seconds)


def hms(seconds: int) -> str:
    """``HH:MM:SS`` (hours may exceed 24)."""
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def read_clock(text: str) -> int:
    """``[[HH:]MM:]SS`` or a plain number of seconds (PBS, OAR, Moab, Cobalt clock style)."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 4 or not all(re.fullmatch(r"\d+", p) for p in parts):
        raise ValueError(f"expected [[[DD:]HH:]MM:]SS, got {text!r}")
    seconds = 0
    for part, scale in zip(reversed(parts), (1, 60, 3600, 86400)):
        seconds += int(part) * scale
    return seconds


def read_slurm_time(text: str) -> int:
    """Slurm's ``minutes``, ``MM:SS``, ``HH:MM:SS``, ``D-HH``, ``D-HH:MM``, ``D-HH:MM:SS``."""
    text = text.strip()
    if text.upper() in ("INFINITE", "UNLIMITED"):
        raise ValueError("an unlimited time limit has no duration")
    match = re.fullmatch(r"(\d+)-(\d+)(?::(\d+))?(?::(\d+))?", text)
    if match:
        days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    parts = text.split(":")
    if not all(re.fullmatch(r"\d+", p) for p in parts) or len(parts) > 3:
        raise ValueError(f"expected minutes, MM:SS, HH:MM:SS or D-HH:MM:SS, got {text!r}")
    numbers = [int(p) for p in parts]
    if len(numbers) == 1:
        return numbers[0] * 60
    if len(numbers) == 2:
        return numbers[0] * 60 + numbers[1]
    return numbers[0] * 3600 + numbers[1] * 60 + numbers[2]


def write_slurm_time(seconds: int) -> str:
    days, rest = divmod(int(seconds), 86400)
    if days:
        return f"{days}-{hms(rest)}"
    return hms(rest)


_FSD = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def read_fsd(text: str) -> int:
    """Flux Standard Duration: a number with optional ``s``, ``m``, ``h`` or ``d`` suffix."""
    match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)([smhd]?)", text.strip())
    if not match:
        raise ValueError(f"expected a Flux duration such as 90s, 30m, 2h or 1.5d, got {text!r}")
    value = float(match.group(1)) * _FSD[match.group(2) or "s"]
    if value == 0 or value == math.inf:
        raise ValueError(f"expected a finite, non-zero duration, got {text!r}")
    return math.ceil(value)


def write_fsd(seconds: int) -> str:
    for unit in ("d", "h", "m"):
        if seconds % _FSD[unit] == 0:
            return f"{seconds // _FSD[unit]}{unit}"
    return f"{seconds}s"


def read_minutes_clock(text: str) -> int:
    """LSF ``-W [hours:]minutes`` and Cobalt ``-t minutes`` / ``HH:MM:SS``."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return int(text) * 60
    match = re.fullmatch(r"(\d+):(\d+)", text)
    if match:
        return int(match.group(1)) * 3600 + int(match.group(2)) * 60
    match = re.fullmatch(r"(\d+):(\d+):(\d+)", text)
    if match:
        hours, minutes, seconds = (int(g) for g in match.groups())
        return hours * 3600 + minutes * 60 + seconds
    raise ValueError(f"expected minutes or HH:MM, got {text!r}")


# ---------------------------------------------------------------- memory (MiB)

_MEMORY_UNITS = {"b": 1 / 1048576, "k": 1 / 1024, "m": 1, "g": 1024, "t": 1048576,
                 "p": 1073741824}


def read_memory(text: str, default_unit: str = "m") -> int:
    """A size such as ``4G``, ``500mb``, ``2048`` (in ``default_unit``), ``16GiB``; MiB out."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgtpb]?)(?:i?b|w)?", text.strip().lower())
    if not match:
        raise ValueError(f"expected a memory size such as 4G or 500M, got {text!r}")
    unit = match.group(2) or default_unit
    mib = float(match.group(1)) * _MEMORY_UNITS[unit]
    return max(1, math.ceil(mib)) if mib > 0 else 0


def write_memory(mib: int, style: str = "slurm") -> str:
    """``4G``/``500M`` (slurm), ``4gb``/``500mb`` (pbs, oar, moab), ``4GB``/``500MB`` (lsf)."""
    if mib % 1024 == 0 and mib:
        number, unit = mib // 1024, "g"
    else:
        number, unit = mib, "m"
    if style == "slurm":
        return f"{number}{unit.upper()}"
    if style == "lsf":
        return f"{number}{unit.upper()}B"
    return f"{number}{unit}b"


# ---------------------------------------------------------------- begin times

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2})(?::(\d{2}))?")
_RELATIVE_UNITS = {
    "": 1, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def read_iso(text: str) -> str:
    """An absolute ``YYYY-MM-DD[T ]HH:MM[:SS]`` normalized to ``YYYY-MM-DDTHH:MM:SS``."""
    match = _ISO.fullmatch(text.strip())
    if not match:
        raise ValueError(f"expected YYYY-MM-DDTHH:MM[:SS], got {text!r}")
    year, month, day, hour, minute, second = (int(g or 0) for g in match.groups())
    return iso(datetime(year, month, day, hour, minute, second))


def read_relative(text: str) -> str:
    """``now+1hour``, ``+3600``, ``+2h`` normalized to ``+SECONDS``."""
    match = re.fullmatch(r"(?:now)?\+(\d+)([a-z]*)", text.strip().lower())
    if not match or match.group(2) not in _RELATIVE_UNITS:
        raise ValueError(f"expected now+N[units], got {text!r}")
    return f"+{int(match.group(1)) * _RELATIVE_UNITS[match.group(2)]}"


def read_begin(text: str) -> str:
    """Slurm or Flux style begin time: absolute ISO or relative ``now+N``/``+N``."""
    text = text.strip()
    if "+" in text:
        return read_relative(text)
    return read_iso(text)


def relative_seconds(begin: str) -> int | None:
    return int(begin[1:]) if begin.startswith("+") else None


def absolute(begin: str) -> datetime | None:
    return None if begin.startswith("+") else datetime.strptime(begin, "%Y-%m-%dT%H:%M:%S")


def read_pbs_datetime(text: str) -> str:
    """PBS/Moab ``-a [[[[CC]YY]MM]DD]hhmm[.SS]``; the full ``CCYYMMDDhhmm[.SS]`` is needed
    for an absolute time, shorter forms depend on today and are refused."""
    match = re.fullmatch(r"(\d{12})(?:\.(\d{2}))?", text.strip())
    if not match:
        raise ValueError(f"expected CCYYMMDDhhmm[.SS], got {text!r}")
    stamp = match.group(1)
    return iso(datetime(int(stamp[0:4]), int(stamp[4:6]), int(stamp[6:8]), int(stamp[8:10]),
                        int(stamp[10:12]), int(match.group(2) or 0)))


def write_pbs_datetime(begin: str) -> str | None:
    moment = absolute(begin)
    if moment is None:
        return None
    return moment.strftime("%Y%m%d%H%M") + (f".{moment.second:02d}" if moment.second else "")


def read_lsf_datetime(text: str) -> str:
    """LSF ``-b year:month:day:hour:minute``; shorter forms depend on today and are refused."""
    match = re.fullmatch(r"(\d{4}):(\d{1,2}):(\d{1,2}):(\d{1,2}):(\d{2})", text.strip())
    if not match:
        raise ValueError(f"expected year:month:day:hour:minute, got {text!r}")
    year, month, day, hour, minute = (int(g) for g in match.groups())
    return iso(datetime(year, month, day, hour, minute))


def write_lsf_datetime(begin: str) -> str | None:
    moment = absolute(begin)
    if moment is None or moment.second:
        return None
    return moment.strftime("%Y:%m:%d:%H:%M")


# ---------------------------------------------------------------- job arrays

_RANGE = re.compile(r"(\d+)(?:-(\d+)(?::(\d+))?)?")


def read_array(text: str) -> str:
    """Slurm-style indexes ``1-100:2%10`` or ``1,3,5-7``, checked and normalized."""
    text = text.strip()
    body, _, limit = text.partition("%")
    if limit and not re.fullmatch(r"[1-9]\d*", limit):
        raise ValueError(f"expected a positive limit after %, got {text!r}")
    pieces = body.split(",")
    out = []
    for piece in pieces:
        match = _RANGE.fullmatch(piece)
        if not match:
            raise ValueError(f"expected indexes such as 1-100:2%10, got {text!r}")
        start, end, step = match.groups()
        if end is not None and int(end) < int(start):
            raise ValueError(f"array range {piece!r} ends before it starts")
        if step is not None and int(step) == 0:
            raise ValueError(f"array step must be positive in {piece!r}")
        normalized = str(int(start))
        if end is not None:
            normalized += f"-{int(end)}"
            if step is not None and int(step) != 1:
                normalized += f":{int(step)}"
        out.append(normalized)
    return ",".join(out) + (f"%{int(limit)}" if limit else "")


def array_parts(array: str) -> tuple[list[tuple[int, int, int]], int | None]:
    """The ranges (start, end, step) of a normalized array and its concurrency limit."""
    body, _, limit = array.partition("%")
    ranges = []
    for piece in body.split(","):
        match = _RANGE.fullmatch(piece)
        if match is None:
            raise ValueError(f"{array!r} is not a normalized array range")
        start, end, step = match.groups()
        ranges.append((int(start), int(end if end is not None else start), int(step or 1)))
    return ranges, int(limit) if limit else None


def array_indexes(array: str) -> list[int]:
    ranges, _ = array_parts(array)
    return [i for start, end, step in ranges for i in range(start, end + 1, step)]


# ---------------------------------------------------------------- host lists


def split_hostlist(text: str) -> list[str]:
    """Split ``a,b,node[1-3,7]`` on the commas outside brackets; ranges stay compressed."""
    out, depth, current = [], 0, ""
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "," and depth == 0:
            if current:
                out.append(current)
            current = ""
        else:
            current += char
    if current:
        out.append(current)
    return out

"""Host lists as Slurm and Flux write them: ``node[0-3,7],login[01-02]``."""

from __future__ import annotations

import re

_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """Split on ``separator`` outside brackets."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unbalanced ']' in host list {text!r}")
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth:
        raise ValueError(f"unbalanced '[' in host list {text!r}")
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def expand_hostlist(text: str) -> list[str]:
    """Every host a host list names, in order; zero padding (``nid[001-003]``) is kept."""
    hosts: list[str] = []
    for item in split_top_level(text):
        hosts.extend(_expand_item(item))
    return hosts


def _expand_item(item: str) -> list[str]:
    start = item.find("[")
    if start < 0:
        return [item]
    end = item.index("]", start)
    prefix, body, rest = item[:start], item[start + 1 : end], item[end + 1 :]
    tails = _expand_item(rest) if rest else [""]
    out = []
    for piece in body.split(","):
        match = _RANGE.match(piece.strip())
        if not match:
            raise ValueError(f"bad range {piece!r} in host list {item!r}")
        low_text, high_text = match.group(1), match.group(2) or match.group(1)
        low, high = int(low_text), int(high_text)
        if high < low:
            raise ValueError(f"descending range {piece!r} in host list {item!r}")
        width = len(low_text) if low_text.startswith("0") else 0
        for number in range(low, high + 1):
            for tail in tails:
                out.append(f"{prefix}{number:0{width}d}{tail}")
    return out


def expand_idset(text: str) -> list[int]:
    """The integers of an RFC 22 idset such as ``0-3,7``."""
    out: list[int] = []
    for piece in str(text).split(","):
        piece = piece.strip()
        if not piece:
            continue
        match = _RANGE.match(piece)
        if not match:
            raise ValueError(f"bad idset {text!r}")
        low, high = int(match.group(1)), int(match.group(2) or match.group(1))
        if high < low:
            raise ValueError(f"descending range in idset {text!r}")
        out.extend(range(low, high + 1))
    return out

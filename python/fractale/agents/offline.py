"""The offline backend: scripted or recorded answers handed out in order, without network.

A replay file is YAML::

    model: claude-sonnet-5-5          # optional: the model whose prices cost the answers
    responses:
      - agent: batch                  # optional: only this agent gets this answer
        expect: "--bogus"             # optional: text the agent's prompt must contain
        text: |
          ```bash
          #!/bin/bash
          ...
          ```
        usage: {input_tokens: 900, output_tokens: 120}   # optional
        truncated: false              # optional: the answer stopped at max_tokens

Each call takes the first unused answer meant for its agent (or for any agent). Without
``usage`` the tokens are estimated from the text (four characters a token), so costs and
budgets behave as they would online. ``Recorder`` writes such a file from a live run.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from fractale.agents.llm import LLM, Reply, Request, resolve_model
from fractale.agents.record import redact
from fractale.agents.usage import Ledger, Usage
from fractale.errors import AgentError

CHARS_PER_TOKEN = 4
RESPONSE_KEYS = {"agent", "expect", "text", "usage", "truncated"}


def estimated_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def _load(path: Path) -> tuple[str | None, list[dict[str, Any]]]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise AgentError(f"cannot read replay file {path}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise AgentError(f"{path}: not a replay file: byte {err.start} is not UTF-8 text") from None
    except yaml.YAMLError as err:
        raise AgentError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(document, dict) or not isinstance(document.get("responses"), list):
        raise AgentError(f"{path}: a replay file is a mapping with a 'responses' list")
    model = document.get("model")
    if model is not None and not isinstance(model, str):
        raise AgentError(f"{path}: 'model' must be a model name")
    responses = document["responses"]
    for number, entry in enumerate(responses, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
            raise AgentError(f"{path}: response {number} needs a 'text' string")
        unknown = set(entry) - RESPONSE_KEYS
        if unknown:
            raise AgentError(
                f"{path}: response {number} has unknown keys {sorted(unknown)} "
                f"(expected some of {sorted(RESPONSE_KEYS)})"
            )
        if not isinstance(entry.get("truncated", False), bool):
            raise AgentError(f"{path}: response {number} 'truncated' is true or false")
        usage = entry.get("usage", {})
        if not isinstance(usage, dict) or not all(
            isinstance(value, int) and value >= 0 for value in usage.values()
        ):
            raise AgentError(f"{path}: response {number} 'usage' maps token kinds to counts")
    return model, responses


class ReplayBackend(LLM):
    """Answers from a replay file, deterministically, in order, per agent."""

    def __init__(self, path: Path, ledger: Ledger, *, model: str | None = None) -> None:
        recorded_model, self._responses = _load(Path(path))
        super().__init__(model or recorded_model or resolve_model(None), ledger)
        self.path = Path(path)
        self._used = [False] * len(self._responses)
        self.calls = 0

    def __repr__(self) -> str:
        return f"ReplayBackend({str(self.path)!r})"

    def remaining(self) -> int:
        return self._used.count(False)

    def _complete(self, request: Request) -> Reply:
        self.calls += 1
        for index, entry in enumerate(self._responses):
            if self._used[index] or entry.get("agent") not in (None, request.purpose):
                continue
            expect = entry.get("expect")
            if expect is not None and expect not in request.prompt:
                raise AgentError(
                    f"{self.path}: response {index + 1} expects the {request.purpose} agent's "
                    f"prompt to contain {expect!r}, and it does not"
                )
            self._used[index] = True
            usage = entry.get("usage", {})
            return Reply(
                text=entry["text"],
                usage=Usage.priced(
                    self.model,
                    usage.get("input_tokens", estimated_tokens(request.system + request.prompt)),
                    usage.get("output_tokens", estimated_tokens(entry["text"])),
                    usage.get("cache_creation_input_tokens", 0),
                    usage.get("cache_read_input_tokens", 0),
                ),
                truncated=entry.get("truncated", False),
            )
        raise AgentError(
            f"{self.path}: no response left for the {request.purpose} agent "
            f"(call {self.calls}; the file holds {len(self._responses)} responses)"
        )


class _LiteralDumper(yaml.SafeDumper):
    """Writes multi-line strings as YAML literal blocks, so recorded scripts stay readable."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_LiteralDumper.add_representer(str, _represent_text)


class Recorder(LLM):
    """Passes calls to another backend and keeps every answer in a replay file."""

    def __init__(self, inner: LLM, path: Path) -> None:
        super().__init__(inner.model, inner.ledger)
        self.inner = inner
        self.path = Path(path)
        self._responses: list[dict[str, Any]] = []

    def ask(self, request: Request) -> Reply:
        reply = self.inner.ask(request)
        usage = reply.usage
        entry: dict[str, Any] = {
            "agent": request.purpose,
            "text": reply.text,
            "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
        }
        if reply.truncated:
            entry["truncated"] = True
        self._responses.append(entry)
        document = {"model": self.model, "responses": self._responses}
        # Written after every call, so a run that stops half-way is still rehearsable.
        self.path.write_text(
            yaml.dump(redact(document), Dumper=_LiteralDumper, sort_keys=False),
            encoding="utf-8",
        )
        return reply

    def _complete(self, request: Request) -> Reply:
        return self.inner._complete(request)

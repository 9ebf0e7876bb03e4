"""The one interface every agent talks to a model through, and how a backend is chosen.

A backend answers a ``Request`` (who asks, a system prompt, a user prompt) with a ``Reply``
(text and ``Usage``). ``LLM.ask`` keeps the budget: it refuses a call that could spend past
it and records every call's usage in the ledger.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fractale.agents.usage import Ledger, Usage

DEFAULT_MODEL = "claude-sonnet-5-5"
MODEL_VARIABLE = "FRACTALE_MODEL"
DEFAULT_MAX_TOKENS = 8192


@dataclass(frozen=True)
class Request:
    """One question to a model: ``purpose`` names the agent asking (batch, helper, ...).

    ``schema`` is a JSON Schema the answer must follow, for steps that expect data rather
    than a file: the API then constrains the answer to it (structured output).
    """

    purpose: str
    system: str
    prompt: str
    max_tokens: int = DEFAULT_MAX_TOKENS
    schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class Reply:
    """A model's answer: its text and the tokens it took."""

    text: str
    usage: Usage
    truncated: bool = False


class LLM(ABC):
    """A model backend; subclasses implement ``_complete``, callers use ``ask``."""

    def __init__(self, model: str, ledger: Ledger) -> None:
        self.model = model
        self.ledger = ledger

    def ask(self, request: Request) -> Reply:
        self.ledger.check(self.model, request.system + request.prompt, request.max_tokens)
        reply = self._complete(request)
        self.ledger.add(reply.usage)
        return reply

    @abstractmethod
    def _complete(self, request: Request) -> Reply:
        """Answer one request (no budget bookkeeping: ``ask`` does that)."""


def resolve_model(model: str | None) -> str:
    """``--model``, else ``$FRACTALE_MODEL``, else fractale's default Claude model."""
    return model or os.environ.get(MODEL_VARIABLE) or DEFAULT_MODEL


def open_backend(
    *,
    model: str | None = None,
    ledger: Ledger | None = None,
    replay: Path | None = None,
    record: Path | None = None,
) -> LLM:
    """The offline replay backend when ``replay`` is given, else Anthropic's API.

    ``record`` keeps every answer in a replay file so the run can be rehearsed offline.
    """
    ledger = ledger if ledger is not None else Ledger()
    if replay is not None:
        from fractale.agents.offline import ReplayBackend

        backend: LLM = ReplayBackend(replay, ledger, model=model)
    else:
        from fractale.agents.anthropic_backend import AnthropicBackend

        backend = AnthropicBackend(resolve_model(model), ledger)
    if record is not None:
        from fractale.agents.offline import Recorder

        backend = Recorder(backend, record)
    return backend

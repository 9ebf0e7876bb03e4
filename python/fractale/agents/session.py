"""One agent run's setup, shared by ``fractale agent run`` and the single-step commands.

It opens the model backend, the ledger with its budget, the results records, the cache
and the working directory, and sends log lines through a filter that blanks the API key.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from fractale.agents.base import Context
from fractale.agents.cache import ArtifactCache
from fractale.agents.llm import open_backend
from fractale.agents.record import Records, redact
from fractale.agents.usage import Ledger
from fractale.errors import AgentError


class RedactKeys(logging.Filter):
    """Blanks the API key out of every log record before a handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(verbose: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactKeys())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    for name in ("fractale", "anthropic", "httpx", "httpx2"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level if name == "fractale" or verbose > 1 else logging.WARNING)
        logger.propagate = False


@dataclass
class Options:
    """What the agent commands share."""

    model: str | None = None
    replay: Path | None = None
    record: Path | None = None
    dry_run: bool = False
    max_attempts: int = 3
    budget: float | None = None
    results: Path | None = None
    incremental: bool = False
    use_cache: bool = False
    workdir: Path | None = None
    timeout: float = 3600.0
    pending_timeout: float = 3600.0


def default_workdir(name: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    base = Path("fractale-runs") / f"{stamp}-{name}"
    candidate, number = base, 1
    while candidate.exists():
        number += 1
        candidate = base.with_name(f"{base.name}-{number}")
    return candidate


def open_context(options: Options, name: str, echo: Callable[[str], None]) -> Context:
    if options.max_attempts < 1:
        raise AgentError("--max-attempts must be at least 1")
    if options.budget is not None and options.budget <= 0:
        raise AgentError("--budget is a positive number of dollars")
    if options.incremental and options.results is None:
        raise AgentError("--incremental writes records after every attempt: give --results DIR")
    if options.record is not None and options.replay is not None:
        raise AgentError("--record keeps a live run's answers; it cannot record a --replay")
    ledger = Ledger(budget_usd=options.budget)
    llm = open_backend(
        model=options.model, ledger=ledger, replay=options.replay, record=options.record
    )
    workdir = (options.workdir or default_workdir(name)).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    return Context(
        llm=llm,
        workdir=workdir,
        records=Records(options.results, incremental=options.incremental),
        cache=ArtifactCache() if options.use_cache else None,
        dry_run=options.dry_run,
        max_attempts=options.max_attempts,
        timeout=options.timeout,
        pending_timeout=options.pending_timeout,
        echo=echo,
    )

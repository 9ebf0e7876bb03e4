"""Token usage, its price in dollars, and the budget a run may not exceed.

Every call to a model is recorded as a ``Usage``; a ``Ledger`` adds them up and refuses a
call whose worst case would take spending past ``--budget`` before it is made.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field

from fractale.errors import AgentError, BudgetExceeded

# Dollars per million tokens: (input, output, cache write (5 minutes), cache read), as
# published on Anthropic's pricing page in November 2026 (re-checked on 2026-11-25 against
# the pricing page and the model pages: Fable 5.2's $8/$40 and $0.20 cache reads, Sonnet
# 5.5's $0.10 cache reads since 2026-10-07, Haiku 5.5's two prompt-length bands). Haiku 5.5
# is priced by prompt length; its long-prompt band is in LONG_PROMPT below.
PRICES: dict[str, tuple[float, float, float, float]] = {
    "claude-fable-5-2": (8.00, 40.00, 10.00, 0.20),
    "claude-fable-5-1": (10.00, 50.00, 12.50, 0.25),
    "claude-fable-5": (10.00, 50.00, 12.50, 1.00),
    "claude-opus-5-5": (4.00, 20.00, 5.00, 0.20),
    "claude-opus-5": (5.00, 25.00, 6.25, 0.50),
    "claude-opus-4-8": (5.00, 25.00, 6.25, 0.50),
    "claude-opus-4-7": (5.00, 25.00, 6.25, 0.50),
    "claude-opus-4-6": (5.00, 25.00, 6.25, 0.50),
    "claude-opus-4-5": (5.00, 25.00, 6.25, 0.50),
    "claude-sonnet-5-5": (2.00, 10.00, 2.50, 0.10),
    "claude-sonnet-5": (2.00, 10.00, 2.50, 0.20),
    "claude-sonnet-4-6": (3.00, 15.00, 3.75, 0.30),
    "claude-sonnet-4-5": (3.00, 15.00, 3.75, 0.30),
    "claude-haiku-5-5": (0.10, 0.50, 0.125, 0.01),
    "claude-haiku-4-5": (1.00, 5.00, 1.25, 0.10),
}
LONG_PROMPT: dict[str, tuple[int, tuple[float, float, float, float]]] = {
    "claude-haiku-5-5": (100_000, (0.50, 2.50, 0.625, 0.05)),
}
PRICE_VARIABLE = "FRACTALE_PRICE_PER_MTOK"


def prices_for(model: str, prompt_tokens: int = 0) -> tuple[float, float, float, float] | None:
    """Dollars per million tokens for ``model``, or None when fractale does not know them.

    ``FRACTALE_PRICE_PER_MTOK="INPUT,OUTPUT"`` prices a model missing from the table.
    """
    override = os.environ.get(PRICE_VARIABLE)
    if override:
        try:
            given, earned = (float(part) for part in override.split(","))
        except ValueError:
            raise AgentError(
                f'{PRICE_VARIABLE} must be "INPUT,OUTPUT" dollars per million tokens, '
                f"got {override!r}"
            ) from None
        return (given, earned, given * 1.25, given * 0.1)
    # Dated snapshots (claude-haiku-4-5-20251001) cost what their model does.
    base = re.sub(r"-\d{8}$", "", model)
    if base in LONG_PROMPT and prompt_tokens > LONG_PROMPT[base][0]:
        return LONG_PROMPT[base][1]
    return PRICES.get(base)


@dataclass
class Usage:
    """Tokens one model call used and what they cost (None when the price is unknown)."""

    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float | None = None

    @classmethod
    def priced(
        cls,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cache_creation_input_tokens: int = 0,
        cache_read_input_tokens: int = 0,
    ) -> Usage:
        prompt = input_tokens + cache_creation_input_tokens + cache_read_input_tokens
        rates = prices_for(model, prompt)
        cost = None
        if rates is not None:
            given, earned, written, read = rates
            cost = (
                input_tokens * given
                + output_tokens * earned
                + cache_creation_input_tokens * written
                + cache_read_input_tokens * read
            ) / 1_000_000
        return cls(
            model,
            input_tokens,
            output_tokens,
            cache_creation_input_tokens,
            cache_read_input_tokens,
            cost,
        )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Totals:
    """Usage summed over many calls."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0

    def add(self, usage: Usage) -> None:
        self.calls += 1
        self.input_tokens += usage.input_tokens + usage.cache_creation_input_tokens
        self.input_tokens += usage.cache_read_input_tokens
        self.output_tokens += usage.output_tokens
        if usage.cost_usd is None:
            self.unpriced_calls += 1
        else:
            self.cost_usd += usage.cost_usd

    def to_dict(self) -> dict:
        return {**asdict(self), "cost_usd": round(self.cost_usd, 6)}


def worst_case_tokens(prompt: str) -> int:
    """An upper bound on the tokens a prompt can take: no token is shorter than one byte."""
    return len(prompt.encode("utf-8")) + 16


@dataclass
class Ledger:
    """Every call's usage, and the budget in dollars that the run may not go past."""

    budget_usd: float | None = None
    totals: Totals = field(default_factory=Totals)

    def check(self, model: str, prompt: str, max_tokens: int) -> None:
        """Refuse a call whose worst case would spend more than what is left of the budget."""
        if self.budget_usd is None:
            return
        prompt_tokens = worst_case_tokens(prompt)
        rates = prices_for(model, prompt_tokens)
        if rates is None:
            raise AgentError(
                f"no price is known for model {model!r}, so --budget cannot be kept; "
                f'set {PRICE_VARIABLE}="INPUT,OUTPUT" (dollars per million tokens)'
            )
        worst = (prompt_tokens * rates[0] + max_tokens * rates[1]) / 1_000_000
        left = self.budget_usd - self.totals.cost_usd
        if worst > left:
            raise BudgetExceeded(
                f"stopping before the next model call: it could cost up to ${worst:.4f} and "
                f"${max(left, 0.0):.4f} of the ${self.budget_usd:.2f} budget is left "
                f"(${self.totals.cost_usd:.4f} spent)"
            )

    def add(self, usage: Usage) -> None:
        self.totals.add(usage)

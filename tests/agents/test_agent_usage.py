"""Prices, costs and the budget guard."""

from __future__ import annotations

import pytest
from fractale.agents.usage import Ledger, Usage, prices_for
from fractale.errors import AgentError, BudgetExceeded


def test_dated_snapshots_cost_what_their_model_costs():
    assert prices_for("claude-haiku-4-5-20251001") == prices_for("claude-haiku-4-5")


def test_haiku_5_5_long_prompts_are_priced_in_the_higher_band():
    short = Usage.priced("claude-haiku-5-5", 1000, 1000)
    long = Usage.priced("claude-haiku-5-5", 200_000, 1000)
    assert short.cost_usd == pytest.approx((1000 * 0.10 + 1000 * 0.50) / 1e6)
    assert long.cost_usd == pytest.approx((200_000 * 0.50 + 1000 * 2.50) / 1e6)


def test_unknown_model_has_no_cost_and_cannot_keep_a_budget(monkeypatch):
    monkeypatch.delenv("FRACTALE_PRICE_PER_MTOK", raising=False)
    assert Usage.priced("claude-unknown-9", 10, 10).cost_usd is None
    with pytest.raises(AgentError, match="no price is known for model 'claude-unknown-9'"):
        Ledger(budget_usd=1.0).check("claude-unknown-9", "prompt", 100)


def test_price_variable_prices_an_unknown_model(monkeypatch):
    monkeypatch.setenv("FRACTALE_PRICE_PER_MTOK", "3,15")
    assert Usage.priced("claude-unknown-9", 1_000_000, 0).cost_usd == pytest.approx(3.0)


def test_malformed_price_variable_is_an_error(monkeypatch):
    monkeypatch.setenv("FRACTALE_PRICE_PER_MTOK", "cheap")
    with pytest.raises(AgentError, match="FRACTALE_PRICE_PER_MTOK"):
        prices_for("claude-sonnet-5-5")


def test_budget_allows_calls_until_the_worst_case_no_longer_fits(monkeypatch):
    monkeypatch.delenv("FRACTALE_PRICE_PER_MTOK", raising=False)
    ledger = Ledger(budget_usd=0.02)
    # worst case: (5 + 16) prompt tokens * $2/M + 1000 output tokens * $10/M = $0.010042
    ledger.check("claude-sonnet-5-5", "hello", 1000)
    ledger.add(Usage.priced("claude-sonnet-5-5", 0, 1000))  # $0.01 spent
    with pytest.raises(BudgetExceeded, match=r"\$0.0100 of the \$0.02 budget is left"):
        ledger.check("claude-sonnet-5-5", "hello", 1000)

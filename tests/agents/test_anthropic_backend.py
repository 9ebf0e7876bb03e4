"""The Anthropic backend against the real SDK, its HTTP transport replaced (no network)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import httpx2
import pytest
from fractale.agents.anthropic_backend import AnthropicBackend
from fractale.agents.llm import Request
from fractale.agents.usage import Ledger
from fractale.errors import AgentError, BudgetExceeded

KEY = "sk-ant-test-0123456789abcdefghijklmnop"


def message(text: str = "hello", input_tokens: int = 1200, output_tokens: int = 300, **extra):
    body = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5-5",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens, **extra},
    }
    return httpx2.Response(200, json=body)


def error(status: int, kind: str, headers: dict | None = None) -> httpx2.Response:
    body = {"type": "error", "error": {"type": kind, "message": f"{kind} happened"}}
    return httpx2.Response(status, json=body, headers=headers or {})


class Server:
    """Answers each request with the next scripted response and keeps the requests."""

    def __init__(self, *responses: httpx2.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self.responses.pop(0)


def backend(server: Server, ledger: Ledger | None = None, **kwargs) -> AnthropicBackend:
    client = httpx2.Client(transport=httpx2.MockTransport(server))
    kwargs.setdefault("sleep", lambda seconds: None)
    return AnthropicBackend(
        "claude-sonnet-5-5", ledger or Ledger(), api_key=KEY, http_client=client, **kwargs
    )


REQUEST = Request(purpose="batch", system="You write batch scripts.", prompt="Run hostname.")


def test_request_is_a_messages_call_with_system_prompt_and_user_turn():
    server = Server(message())
    backend(server).ask(REQUEST)
    (sent,) = server.requests
    assert sent.method == "POST"
    assert sent.url.path == "/v1/messages"
    # The SDK authenticates with x-api-key or a bearer token, depending on its version.
    credential = sent.headers.get("x-api-key") or sent.headers.get("authorization", "")
    assert credential.removeprefix("Bearer ") == KEY
    assert sent.headers["anthropic-version"]
    body = json.loads(sent.content)
    assert body["model"] == "claude-sonnet-5-5"
    assert body["system"] == "You write batch scripts."
    assert body["messages"] == [{"role": "user", "content": "Run hostname."}]
    assert body["max_tokens"] == REQUEST.max_tokens


def test_reply_text_joins_the_text_blocks():
    server = Server(message("#!/bin/bash\nhostname\n"))
    assert backend(server).ask(REQUEST).text == "#!/bin/bash\nhostname\n"


def test_usage_and_cost_are_recorded_for_every_call():
    ledger = Ledger()
    server = Server(message(input_tokens=1000, output_tokens=200), message(input_tokens=500))
    llm = backend(server, ledger)
    first = llm.ask(REQUEST)
    llm.ask(REQUEST)
    # claude-sonnet-5-5: $2 per million input tokens, $10 per million output tokens
    assert first.usage.input_tokens == 1000
    assert first.usage.cost_usd == pytest.approx((1000 * 2 + 200 * 10) / 1e6)
    assert ledger.totals.calls == 2
    assert ledger.totals.input_tokens == 1500
    assert ledger.totals.output_tokens == 500
    assert ledger.totals.cost_usd == pytest.approx((1500 * 2 + 500 * 10) / 1e6)


def test_cache_tokens_are_priced_at_their_own_rates():
    server = Server(
        message(input_tokens=100, output_tokens=0, cache_creation_input_tokens=1000,
                cache_read_input_tokens=10000)
    )
    usage = backend(server).ask(REQUEST).usage
    assert usage.cost_usd == pytest.approx((100 * 2 + 1000 * 2.5 + 10000 * 0.1) / 1e6)


def test_rate_limit_is_retried_after_the_servers_retry_after():
    waits: list[float] = []
    server = Server(error(429, "rate_limit_error", {"retry-after": "7"}), message("ok"))
    reply = backend(server, sleep=waits.append).ask(REQUEST)
    assert reply.text == "ok"
    assert len(server.requests) == 2
    assert waits == [7.0]


def test_overload_529_is_retried_with_growing_backoff():
    waits: list[float] = []
    server = Server(
        error(529, "overloaded_error"), error(529, "overloaded_error"), message("finally")
    )
    assert backend(server, sleep=waits.append).ask(REQUEST).text == "finally"
    assert waits == [1.0, 2.0]


def test_server_errors_and_overload_give_up_after_max_retries_with_a_clear_error():
    server = Server(*[error(529, "overloaded_error") for _ in range(3)])
    with pytest.raises(AgentError, match=r"still refusing after 3 tries \(HTTP 529"):
        backend(server, max_retries=2).ask(REQUEST)
    assert len(server.requests) == 3


def test_bad_request_is_not_retried_and_names_the_apis_reason():
    server = Server(error(400, "invalid_request_error"))
    with pytest.raises(AgentError, match="HTTP 400, invalid_request_error"):
        backend(server).ask(REQUEST)
    assert len(server.requests) == 1


def test_refused_key_says_to_check_the_key_without_showing_it():
    server = Server(error(401, "authentication_error"))
    with pytest.raises(AgentError) as caught:
        backend(server).ask(REQUEST)
    assert "ANTHROPIC_API_KEY" in str(caught.value)
    assert KEY not in str(caught.value)


def test_missing_key_is_an_agent_error(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(AgentError, match="ANTHROPIC_API_KEY is not set"):
        AnthropicBackend("claude-sonnet-5-5", Ledger())


def test_missing_key_exits_2_from_the_command_line_without_traceback(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": ":".join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", "agent", "build",
         "--app", "hello", "--workdir", str(tmp_path / "w")],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "ANTHROPIC_API_KEY is not set" in proc.stderr


def test_budget_stops_before_a_call_that_could_exceed_it():
    server = Server(message(input_tokens=1000, output_tokens=1000))
    # Worst case of REQUEST: ~80 prompt tokens at $2/M plus 8192 output tokens at $10/M.
    with pytest.raises(BudgetExceeded, match="stopping before the next model call"):
        backend(server, Ledger(budget_usd=0.05)).ask(REQUEST)
    assert server.requests == []


def test_key_never_reaches_the_logs(caplog):
    caplog.set_level(logging.DEBUG)
    server = Server(error(429, "rate_limit_error"), message("ok"))
    backend(server).ask(REQUEST)
    assert server.requests  # the SDK did send requests carrying the key
    assert KEY not in caplog.text


def test_a_connection_timeout_is_retried():
    calls = []

    def flaky(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx2.ConnectTimeout("timed out", request=request)
        return message("after the timeout")

    llm = backend(flaky)
    assert llm.ask(REQUEST).text == "after the timeout"
    assert len(calls) == 2


def test_a_refusal_stop_reason_is_a_clear_error():
    body = json.loads(message().content)
    body["stop_reason"] = "refusal"
    with pytest.raises(AgentError, match="declined to answer"):
        backend(Server(httpx2.Response(200, json=body))).ask(REQUEST)


def test_a_step_that_expects_data_asks_for_structured_output_with_its_schema():
    schema = {
        "type": "object",
        "properties": {"stop": {"type": "boolean"}},
        "required": ["stop"],
        "additionalProperties": False,
    }
    server = Server(message('{"stop": true}'), message("plain"))
    llm = backend(server)
    llm.ask(Request(purpose="optimize", system="s", prompt="p", schema=schema))
    llm.ask(REQUEST)
    structured, plain = (json.loads(sent.content) for sent in server.requests)
    assert structured["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert "output_config" not in plain


def test_an_answer_stopped_at_max_tokens_is_marked_truncated():
    body = json.loads(message("```bash\n#!/bin/bash\nsrun lmp -in").content)
    body["stop_reason"] = "max_tokens"
    reply = backend(Server(httpx2.Response(200, json=body))).ask(REQUEST)
    assert reply.truncated is True
    assert backend(Server(message())).ask(REQUEST).truncated is False

"""The real backend: Claude through Anthropic's Messages API, with the ``anthropic`` SDK.

The SDK is imported here only, when an agent first needs a model, so ``fractale --help``
never pays for it. Retries on rate limits, overload and dropped connections are fractale's
own (the SDK's are switched off) so that every wait is logged and honours ``retry-after``.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable

from fractale.agents.llm import LLM, Reply, Request
from fractale.agents.usage import Ledger, Usage
from fractale.errors import AgentError

KEY_VARIABLE = "ANTHROPIC_API_KEY"
DEFAULT_TIMEOUT = 300.0
DEFAULT_RETRIES = 5
MAX_BACKOFF = 60.0
# 408 request timeout, 429 rate limited, 5xx server trouble, 529 overloaded.
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504, 529})

log = logging.getLogger("fractale.agents")


def retry_delay(headers: Any, retry: int) -> float:
    """Seconds to wait before retry number ``retry`` (0-based): the server's word, else backoff."""
    if headers is not None:
        for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
            value = headers.get(name)
            if value is None:
                continue
            try:
                seconds = float(value) * scale
            except ValueError:
                continue
            if 0 <= seconds <= MAX_BACKOFF:
                return seconds
    return min(2.0**retry, MAX_BACKOFF)


def error_detail(err: Any) -> str:
    """The API's own ``error.type: message`` from an error body, when it sent one."""
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return f"{inner.get('type', 'error')}: {inner['message']}"
    return str(getattr(err, "message", "") or err)


class AnthropicBackend(LLM):
    """Claude through the Messages API; the key comes from ``ANTHROPIC_API_KEY``."""

    def __init__(
        self,
        model: str,
        ledger: Ledger,
        *,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_RETRIES,
        http_client: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(model, ledger)
        key = api_key or os.environ.get(KEY_VARIABLE)
        if not key:
            raise AgentError(
                f"{KEY_VARIABLE} is not set: export your Anthropic API key, or rehearse "
                "without network with --replay FILE"
            )
        try:
            import anthropic
        except ImportError:
            raise AgentError(
                "the agents need the Anthropic SDK: pip install 'fractale[agents]'"
            ) from None
        self._sdk = anthropic
        self._client = anthropic.Anthropic(
            api_key=key, timeout=timeout, max_retries=0, http_client=http_client
        )
        self.max_retries = max_retries
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"AnthropicBackend(model={self.model!r})"

    def _complete(self, request: Request) -> Reply:
        sdk = self._sdk
        retry = 0
        extra: dict[str, Any] = {}
        if request.schema is not None:
            # Structured output: the API holds the answer to the step's JSON Schema.
            extra["output_config"] = {"format": {"type": "json_schema", "schema": request.schema}}
        while True:
            try:
                message = self._client.messages.create(
                    model=self.model,
                    max_tokens=request.max_tokens,
                    system=request.system,
                    messages=[{"role": "user", "content": request.prompt}],
                    **extra,
                )
            except sdk.APIStatusError as err:
                status = err.status_code
                if status in RETRY_STATUS and retry < self.max_retries:
                    if err.response.headers.get("x-should-retry") != "false":
                        delay = retry_delay(err.response.headers, retry)
                        log.warning(
                            "Anthropic API answered %s (%s); retry %d of %d in %.1fs",
                            status,
                            error_detail(err),
                            retry + 1,
                            self.max_retries,
                            delay,
                        )
                        self._sleep(delay)
                        retry += 1
                        continue
                raise self._refusal(status, err) from None
            except sdk.APIConnectionError as err:
                if retry < self.max_retries:
                    delay = retry_delay(None, retry)
                    log.warning(
                        "cannot reach the Anthropic API (%s); retry %d of %d in %.1fs",
                        type(err).__name__,
                        retry + 1,
                        self.max_retries,
                        delay,
                    )
                    self._sleep(delay)
                    retry += 1
                    continue
                raise AgentError(
                    f"cannot reach the Anthropic API after {self.max_retries + 1} tries "
                    f"({type(err).__name__})"
                ) from None
            return self._reply(message)

    def _refusal(self, status: int, err: Any) -> AgentError:
        detail = error_detail(err)
        if status == 401:
            return AgentError(f"the Anthropic API refused the key ({detail}); check {KEY_VARIABLE}")
        if status in RETRY_STATUS:
            return AgentError(
                f"the Anthropic API is still refusing after {self.max_retries + 1} tries "
                f"(HTTP {status}, {detail})"
            )
        return AgentError(f"the Anthropic API refused the request (HTTP {status}, {detail})")

    def _reply(self, message: Any) -> Reply:
        if message.stop_reason == "refusal":
            raise AgentError(f"model {self.model} declined to answer this request")
        text = "".join(
            block.text for block in message.content if getattr(block, "type", "") == "text"
        )
        used = message.usage
        usage = Usage.priced(
            message.model or self.model,
            used.input_tokens or 0,
            used.output_tokens or 0,
            getattr(used, "cache_creation_input_tokens", None) or 0,
            getattr(used, "cache_read_input_tokens", None) or 0,
        )
        truncated = message.stop_reason == "max_tokens"
        if truncated:
            log.warning("model %s stopped at max_tokens: its answer is cut short", self.model)
        return Reply(text=text, usage=usage, truncated=truncated)

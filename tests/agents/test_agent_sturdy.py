"""Steps that survive bad answers, remember their attempts, and check what they promise.

Each test here fails if one of these faults comes back: one unusable answer ending the
run, a cut-off answer taken as whole, a helper that forgets earlier attempts, a success
condition never checked, the first metric match taken instead of the last, a cache shared
across models, an API key redacted only when it looks like one.
"""

from __future__ import annotations

import json
from pathlib import Path

from fractale.agents.base import Context
from fractale.agents.cache import ArtifactCache
from fractale.agents.conditions import Condition, Outcome
from fractale.agents.llm import LLM, Reply, Request
from fractale.agents.record import Records
from fractale.agents.steps.batch import BatchAgent
from fractale.agents.steps.build import BuildAgent
from fractale.agents.steps.results import ResultsAgent
from fractale.agents.usage import Ledger, Usage

SCRIPT = "#!/bin/bash\n#SBATCH --ntasks=1\nhostname\n"
DOCKERFILE = "FROM ubuntu:24.04\nRUN apt-get update\nCMD [\"lmp\"]\n"


class Scripted(LLM):
    """Answers in order and keeps every request, to see what the agents asked."""

    def __init__(self, *texts: str, model: str = "claude-sonnet-5-5") -> None:
        super().__init__(model, Ledger())
        self.texts = list(texts)
        self.requests: list[Request] = []

    def _complete(self, request: Request) -> Reply:
        self.requests.append(request)
        return Reply(self.texts.pop(0), Usage.priced(self.model, 100, 20))


def test_an_unclosed_code_block_costs_one_attempt_and_the_next_prompt_says_why(
    replay, context, fenced, no_processes
):
    ctx = context(
        replay(
            [
                {"agent": "batch", "text": "```bash\n#!/bin/bash\nhostname\n"},
                {
                    "agent": "batch",
                    "expect": "Your previous answer could not be used: the batch agent's "
                    "answer opens a code block and never closes it",
                    "text": fenced(SCRIPT),
                },
            ]
        ),
        dry_run=True,
    )
    record = BatchAgent({"app": "hostname", "scheduler": "slurm"}).run(ctx, "run")
    assert record.status == "dry-run"
    first, second = record.attempts
    assert first.malformed and not first.success
    assert first.reason == "the batch agent's answer opens a code block and never closes it"
    assert second.artifact == SCRIPT
    assert ctx.llm.remaining() == 0


def test_an_answer_cut_off_at_max_tokens_is_not_taken_as_the_artifact(
    replay, context, fenced, no_processes
):
    ctx = context(
        replay(
            [
                {"agent": "batch", "text": fenced(SCRIPT), "truncated": True},
                {"agent": "batch", "expect": "cut off at the token limit", "text": fenced(SCRIPT)},
            ]
        ),
        dry_run=True,
    )
    record = BatchAgent({"app": "hostname", "scheduler": "slurm"}).run(ctx, "run")
    assert record.status == "dry-run"
    assert record.attempts[0].malformed
    assert "cut off at the token limit (max_tokens)" in record.attempts[0].reason


def test_unusable_answers_use_up_the_attempts_and_fail_the_step_without_an_exception(
    replay, context, no_processes
):
    ctx = context(replay([{"agent": "batch", "text": "```\nnever closed"}] * 2), max_attempts=2)
    record = BatchAgent({"app": "hostname", "scheduler": "slurm"}).run(ctx, "run")
    assert record.status == "failed"
    assert [attempt.malformed for attempt in record.attempts] == [True, True]
    assert "failed after 2 attempts" in record.message


def test_an_unusable_helper_answer_is_asked_again_with_its_problem(
    replay, context, fenced, no_processes
):
    ctx = context(
        replay(
            [
                {"agent": "build", "text": fenced("RUN true\n" + DOCKERFILE)},
                {"agent": "helper", "text": "Explanation: I would move FROM up.\n```"},
                {
                    "agent": "helper",
                    "expect": "Your previous answer could not be used",
                    "text": fenced(DOCKERFILE) + "Explanation: FROM first.\n",
                },
            ]
        ),
        dry_run=True,
    )
    record = BuildAgent({"app": "LAMMPS"}).run(ctx, "image")
    assert [a.malformed for a in record.attempts] == [False, True, False]
    assert record.status == "dry-run"
    # The helper fixed the first attempt's artifact, not the unusable answer.
    assert record.attempts[2].origin == "helper: FROM first."


def test_the_helper_sees_every_earlier_attempt_and_what_it_changed(
    replay, context, fenced, no_processes
):
    first = "RUN true\n" + DOCKERFILE
    second = "LABEL x=1\n" + DOCKERFILE
    ctx = context(
        replay(
            [
                {"agent": "build", "text": fenced(first)},
                {"agent": "helper", "text": fenced(second) + "Explanation: a label first.\n"},
                {
                    "agent": "helper",
                    "expect": "Attempt 1 (generated): failed: a Dockerfile must start with FROM",
                    "text": fenced(DOCKERFILE) + "Explanation: FROM first.\n",
                },
            ]
        ),
        dry_run=True,
    )
    helper_prompts: list[str] = []
    original = ctx.helper.llm.ask

    def keep(request: Request) -> Reply:
        if request.purpose == "helper":
            helper_prompts.append(request.prompt)
        return original(request)

    ctx.helper.llm.ask = keep  # type: ignore[method-assign]
    record = BuildAgent({"app": "LAMMPS"}).run(ctx, "image")
    assert record.status == "dry-run"
    assert "Earlier attempts" not in helper_prompts[0]
    later = helper_prompts[1]
    assert "Attempt 1 (generated): failed: a Dockerfile must start with FROM" in later
    assert "The failing Dockerfile:\n```\nLABEL x=1" in later
    # Attempt 2 is the failing artifact itself; attempt 1's history shows no diff (first).
    assert "Attempt 2" not in later.split("The failing")[0]


def test_a_second_earlier_attempt_is_shown_with_its_diff():
    from fractale.agents.helper import history
    from fractale.agents.record import Attempt

    attempts = [
        Attempt(1, "generated", "FROM a\nRUN x\n", reason="x failed"),
        Attempt(2, "helper: use y", "FROM a\nRUN y\n", reason="y failed"),
    ]
    text = history(attempts)
    assert "Attempt 1 (generated): failed: x failed" in text
    assert "Attempt 2 (helper: use y): failed: y failed\nIt changed:" in text
    assert "-RUN x\n+RUN y" in text


def test_output_contains_is_checked():
    condition = Condition({"output_contains": "hello from fractale"})
    assert condition.unmet(Outcome(True, output="hello from fractale on vm\n")) is None
    assert condition.unmet(Outcome(True, output="goodbye\n")) == (
        "the output does not contain 'hello from fractale'"
    )


def test_a_plan_step_whose_output_lacks_the_text_fails_even_when_the_job_succeeded(
    replay, context, fenced, monkeypatch
):
    def ran(self, ctx, artifact, path):
        return Outcome(True, "job 1 ended COMPLETED", output="bye\n", executed=True)

    monkeypatch.setattr(BatchAgent, "execute", ran)
    ctx = context(replay([{"agent": "batch", "text": fenced(SCRIPT)}]), max_attempts=1)
    step = BatchAgent(
        {"app": "say hello", "scheduler": "slurm"},
        success=Condition({"output_contains": "hello"}),
    )
    record = step.run(ctx, "run")
    assert record.status == "failed"
    assert "the output does not contain 'hello'" in record.message


def test_a_metric_printed_twice_takes_the_last_value(replay, context, fenced):
    patterns = {"metrics": {"wall": {"pattern": r"wall: (\d+)", "type": "int"}}}
    ctx = context(replay([{"agent": "results", "text": fenced(json.dumps(patterns))}]))
    record = ResultsAgent({"output": "wall: 5\nwarm-up done\nwall: 42\n", "metrics": ["wall"]})
    assert record.run(ctx, "m").outputs["metrics"] == {"wall": 42}


def test_the_results_step_asks_for_structured_output_naming_every_metric(tmp_path):
    answer = json.dumps(
        {"metrics": {"rate": {"pattern": r"rate: ([\d.]+)", "type": "float", "unit": "1/s"}}}
    )
    llm = Scripted(answer)
    ctx = Context(llm=llm, workdir=tmp_path)
    record = ResultsAgent({"output": "rate: 2.5\n", "metrics": ["rate"]}).run(ctx, "m")
    assert record.outputs["metrics"] == {"rate": 2.5}
    schema = llm.requests[0].schema
    assert schema["properties"]["metrics"]["required"] == ["rate"]
    entry = schema["properties"]["metrics"]["properties"]["rate"]
    assert entry["properties"]["type"]["enum"] == ["float", "int", "str", "duration"]


def test_the_cache_key_includes_the_model(tmp_path, fenced):
    cache = ArtifactCache(tmp_path / "cache")
    inputs = {"metrics": {"wall": ""}}
    assert cache.key("results", inputs, "claude-sonnet-5-5") != cache.key(
        "results", inputs, "claude-opus-5-5"
    )
    patterns = json.dumps({"metrics": {"wall": {"pattern": r"wall: (\d+)", "type": "int"}}})
    for model, expected_origin in (
        ("claude-sonnet-5-5", "generated"),
        ("claude-sonnet-5-5", "cache"),
        ("claude-opus-5-5", "generated"),
    ):
        llm = Scripted(fenced(patterns), model=model)
        ctx = Context(llm=llm, workdir=tmp_path / model, cache=cache)
        record = ResultsAgent({"output": "wall: 3\n", "metrics": ["wall"]}).run(ctx, "m")
        assert record.attempts[0].origin == expected_origin, model


def test_the_api_key_is_redacted_from_records_whatever_its_shape(
    replay, context, fenced, monkeypatch, tmp_path
):
    key = "corp-gateway-token-7f3a9c2e1b5d"
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    patterns = {"metrics": {"wall": {"pattern": r"wall: (\d+)", "type": "int"}}}
    ctx = context(replay([{"agent": "results", "text": fenced(json.dumps(patterns))}]))
    output = f"token={key}\nwall: 3\n"
    ResultsAgent({"output": output, "metrics": ["wall"]}).run(ctx, "m")
    written = (tmp_path / "results" / "m.json").read_text()
    assert key not in written
    assert "token=[redacted]" in written


def test_records_keep_unusable_answers_marked(replay, context, tmp_path, fenced, no_processes):
    ctx = context(
        replay([{"agent": "batch", "text": "```\n"}, {"agent": "batch", "text": fenced(SCRIPT)}]),
        dry_run=True,
    )
    ctx.records = Records(tmp_path / "out")
    BatchAgent({"app": "hostname", "scheduler": "slurm"}).run(ctx, "run")
    attempts = json.loads(Path(tmp_path / "out" / "run.json").read_text())["attempts"]
    assert [attempt["malformed"] for attempt in attempts] == [True, False]
    assert attempts[0]["command"] == "fractale: read the model's answer"

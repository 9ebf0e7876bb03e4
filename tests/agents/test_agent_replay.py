"""The offline backend replays scripted answers deterministically, and the recorder writes them."""

from __future__ import annotations

import pytest
from fractale.agents.llm import Request
from fractale.agents.offline import Recorder, ReplayBackend
from fractale.agents.usage import Ledger
from fractale.errors import AgentError


def ask(llm, purpose: str, prompt: str = "do it"):
    return llm.ask(Request(purpose=purpose, system="system", prompt=prompt))


def test_answers_come_in_order_for_each_agent(replay):
    path = replay(
        [
            {"agent": "helper", "text": "fix one"},
            {"agent": "batch", "text": "script one"},
            {"text": "anyone"},
            {"agent": "batch", "text": "script two"},
        ]
    )
    llm = ReplayBackend(path, Ledger())
    assert ask(llm, "batch").text == "script one"
    assert ask(llm, "batch").text == "anyone"
    assert ask(llm, "helper").text == "fix one"
    assert ask(llm, "batch").text == "script two"


def test_two_replays_of_one_file_give_the_same_answers_and_costs(replay):
    path = replay([{"text": "alpha"}, {"text": "beta", "usage": {"input_tokens": 10}}])
    runs = []
    for _ in range(2):
        llm = ReplayBackend(path, Ledger())
        replies = [ask(llm, "build"), ask(llm, "build")]
        runs.append([(reply.text, reply.usage) for reply in replies])
    assert runs[0] == runs[1]


def test_usage_is_taken_from_the_file_and_priced_with_its_model(replay):
    path = replay(
        [{"text": "x", "usage": {"input_tokens": 1_000_000, "output_tokens": 100_000}}],
        model="claude-opus-5-5",
    )
    reply = ask(ReplayBackend(path, Ledger()), "batch")
    assert reply.usage.model == "claude-opus-5-5"
    assert reply.usage.cost_usd == pytest.approx(4.0 + 2.0)


def test_usage_is_estimated_from_text_when_the_file_has_none(replay):
    path = replay([{"text": "a" * 400}])
    reply = ask(ReplayBackend(path, Ledger()), "batch", prompt="p" * 394)
    assert reply.usage.output_tokens == 100
    assert reply.usage.input_tokens == 100  # "system" + 394 characters, four per token


def test_running_out_of_answers_names_the_agent(replay):
    llm = ReplayBackend(replay([{"agent": "batch", "text": "only"}]), Ledger())
    ask(llm, "batch")
    with pytest.raises(AgentError, match="no response left for the helper agent"):
        ask(llm, "helper")


def test_an_answer_expecting_text_the_prompt_lacks_is_an_error(replay):
    llm = ReplayBackend(replay([{"expect": "Invalid partition", "text": "fix"}]), Ledger())
    with pytest.raises(AgentError, match="expects the helper agent's prompt to contain"):
        ask(llm, "helper", prompt="sbatch: unrecognized option")


@pytest.mark.parametrize(
    "document, problem",
    [
        ("- just a list\n", "mapping with a 'responses' list"),
        ("responses:\n  - {agent: batch}\n", "response 1 needs a 'text' string"),
        ("responses:\n  - {text: x, when: later}\n", "unknown keys ['when']"),
        ("responses:\n  - {text: x, usage: {input_tokens: -1}}\n", "'usage' maps token kinds"),
        ("responses: [\n", "not valid YAML"),
    ],
)
def test_malformed_replay_files_are_rejected_with_the_problem(tmp_path, document, problem):
    path = tmp_path / "replay.yaml"
    path.write_text(document)
    with pytest.raises(AgentError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        ReplayBackend(path, Ledger())


def test_recorder_writes_a_file_that_replays_the_same_answers(replay, tmp_path):
    source = ReplayBackend(
        replay([{"text": "#!/bin/bash\nhostname\n"}, {"text": "Explanation: fixed"}]), Ledger()
    )
    recorded = tmp_path / "recorded.yaml"
    recorder = Recorder(source, recorded)
    first = [ask(recorder, "batch").text, ask(recorder, "helper").text]
    again = ReplayBackend(recorded, Ledger())
    assert [ask(again, "batch").text, ask(again, "helper").text] == first
    assert "|" in recorded.read_text()  # multi-line scripts stay readable

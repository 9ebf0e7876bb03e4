"""Which model and which backend a run uses."""

from __future__ import annotations

from fractale.agents.llm import DEFAULT_MODEL, open_backend, resolve_model
from fractale.agents.offline import Recorder, ReplayBackend
from fractale.agents.replies import artifact_from, explanation_from
from fractale.agents.usage import prices_for


def test_model_option_beats_the_environment_which_beats_the_default(monkeypatch):
    monkeypatch.setenv("FRACTALE_MODEL", "claude-opus-5-5")
    assert resolve_model("claude-haiku-5-5") == "claude-haiku-5-5"
    assert resolve_model(None) == "claude-opus-5-5"
    monkeypatch.delenv("FRACTALE_MODEL")
    assert resolve_model(None) == DEFAULT_MODEL


def test_the_default_model_has_a_known_price():
    assert prices_for(DEFAULT_MODEL) is not None


def test_replay_selects_the_offline_backend_and_record_wraps_it(replay, tmp_path):
    path = replay([{"text": "x"}])
    assert isinstance(open_backend(replay=path), ReplayBackend)
    assert isinstance(open_backend(replay=path, record=tmp_path / "again.yaml"), Recorder)


def test_the_artifact_is_the_first_fenced_block_and_the_explanation_its_own_line():
    answer = (
        "Here is the fix.\n```bash\n#!/bin/bash\nhostname\n```\n"
        "Explanation: the partition name was wrong.\n```\nignored\n```\n"
    )
    assert artifact_from(answer, who="helper") == "#!/bin/bash\nhostname\n"
    assert explanation_from(answer) == "the partition name was wrong."


def test_an_answer_without_a_fence_is_all_artifact():
    assert artifact_from("FROM alpine\n", who="build") == "FROM alpine\n"

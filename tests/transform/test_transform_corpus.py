"""Every corpus script reads into exactly its expected model, reporting exactly the
directives it is expected to, and is recognised as its manager's without --from."""

import pytest
from fractale.transform import BatchJob, detect, read
from transform_corpus import MANAGERS, expected, ident, scripts

ALL = scripts()


def test_corpus_holds_ten_scripts_per_manager():
    for manager in MANAGERS:
        assert len(scripts(manager)) >= 10, manager


@pytest.mark.parametrize("path", ALL, ids=ident)
def test_script_reads_into_its_expected_model(path):
    spec, _ = read(path.read_text(), path.parent.name, file=path.name)
    assert spec == BatchJob.from_dict(expected(path)["model"])


@pytest.mark.parametrize("path", ALL, ids=ident)
def test_script_reports_exactly_its_unmapped_directives(path):
    _, losses = read(path.read_text(), path.parent.name, file=path.name)
    reported = [{"line": loss.line, "directive": loss.directive} for loss in losses]
    assert reported == expected(path)["unmapped"]
    assert all(loss.reason for loss in losses)


@pytest.mark.parametrize("path", ALL, ids=ident)
def test_script_manager_is_detected(path):
    assert detect(path.read_text()) == path.parent.name

"""The full translation matrix: every corpus script written for every manager, read back by
that manager, keeps every field the translation did not report as lost."""

import fractale
import kubernetes_validate
import pytest
import yaml
from fractale.transform import read, same_meaning, transform
from fractale.transform.managers.jobspec import CANONICAL_VERSION
from fractale.transform.model import field_names
from fractale.transform.registry import get
from transform_corpus import MANAGERS, ident, scripts

BODY = ("script", "dialect")
PAIRS = [(path, target) for path in scripts() for target in MANAGERS]


def pair_id(value):
    return ident(value) if hasattr(value, "parent") else value


@pytest.mark.parametrize(("path", "target"), PAIRS, ids=pair_id)
def test_translation_keeps_every_field_it_does_not_report(path, target):
    # The manager's own writer, without the read-back check fractale.transform.write adds:
    # its table must name every field it cannot carry.
    source_spec, _ = read(path.read_text(), path.parent.name)
    text, losses = get(target).write(source_spec)
    back, _ = get(target).read(text)
    lost = {loss.field for loss in losses}
    target_manager = get(target)
    changed = {name for name in field_names() if name not in BODY
               and getattr(back, name) != getattr(source_spec, name)
               and not same_meaning(target_manager, source_spec, name,
                                    getattr(source_spec, name), getattr(back, name))}
    assert changed <= lost, f"changed without a report: {sorted(changed - lost)}"


@pytest.mark.parametrize("path", scripts(), ids=ident)
def test_every_translation_is_recognised_as_its_target(path):
    for target in MANAGERS:
        text = transform(path.read_text(), to=target, source=path.parent.name).text
        assert fractale.transform(text, to=target).source == target


@pytest.mark.parametrize("path", scripts(), ids=ident)
def test_kubernetes_translation_validates_against_the_job_schema(path):
    text = transform(path.read_text(), to="kubernetes", source=path.parent.name).text
    manifest = yaml.safe_load(text)
    kubernetes_validate.validate(manifest, kubernetes_validate.latest_version(), strict=True)


@pytest.mark.parametrize("path", scripts(), ids=ident)
def test_jobspec_translation_follows_rfc_25_and_fractales_parser(path):
    result = transform(path.read_text(), to="jobspec", source=path.parent.name)
    jobspec = fractale.Jobspec.from_str(result.text)
    if result.spec.components:
        # A heterogeneous job is a canonical jobspec beyond V1 (RFC 14), one top-level
        # resource and task per component.
        assert jobspec.version == CANONICAL_VERSION
        assert len(yaml.safe_load(result.text)["resources"]) == 1 + len(result.spec.components)
        return
    assert jobspec.version == 1  # Jobspec.from_str held it to RFC 25

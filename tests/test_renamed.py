"""Old public names still answer for one release, each use warning with the new name."""

import importlib
import warnings

import fractale
import pytest
from fractale.transform import BatchJob
from fractale.transform.managers.jobspec import FluxJobspecManager, FluxJobspecSubmitter
from fractale.transform.registry import get

# module, old name, new name: every public name renamed this release.
RENAMED = [
    ("fractale", "JobSpec", "BatchJob"),
    ("fractale.transform", "JobSpec", "BatchJob"),
    ("fractale.transform.model", "JobSpec", "BatchJob"),
    ("fractale.transform.managers.jobspec", "Jobspec", "FluxJobspecManager"),
    ("fractale.transform.managers.jobspec", "JobspecSubmitter", "FluxJobspecSubmitter"),
    ("fractale.fleet", "POLICIES", "RULE_NAMES"),
]


@pytest.mark.parametrize(("module", "old", "new"), RENAMED)
def test_an_old_name_is_the_new_object_and_warns_naming_it(module, old, new):
    loaded = importlib.import_module(module)
    with pytest.warns(DeprecationWarning) as caught:
        value = getattr(loaded, old)
    assert value is getattr(loaded, new)
    [warning] = caught
    assert str(warning.message) == f"{module}.{old} is deprecated; use {module}.{new}"
    # The warning points at the code that used the old name, not at fractale.
    assert warning.filename == __file__


def test_from_import_of_an_old_name_warns_too():
    with pytest.warns(DeprecationWarning, match="use fractale.BatchJob"):
        from fractale import JobSpec
    assert JobSpec is BatchJob


def test_the_new_names_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fractale.BatchJob is BatchJob
        assert type(get("jobspec")) is FluxJobspecManager
        assert FluxJobspecManager.submitter is FluxJobspecSubmitter


def test_a_name_that_never_existed_is_still_an_attribute_error():
    for module in ("fractale", "fractale.transform", "fractale.transform.model"):
        with pytest.raises(AttributeError, match="has no attribute 'Jobspecs'"):
            importlib.import_module(module).Jobspecs  # noqa: B018


def test_fractale_transform_is_the_function_even_after_its_subpackage_loads():
    import fractale.transform.registry  # noqa: F401  (binds the subpackage on its parent)

    assert callable(fractale.transform)
    assert fractale.transform("#!/bin/bash\n#SBATCH -N 2\nhostname\n", to="flux").target == "flux"

"""The manager registry is the one place that knows which workload managers exist: every
module under ``fractale.transform.managers`` registers one, and everything else asks it."""

from __future__ import annotations

import pkgutil

import pytest
from fractale import store
from fractale.errors import StoreError, TranslateError
from fractale.transform import launchers, managers, registry, variables


def test_every_manager_module_registers_one_manager_under_its_module_name():
    modules = sorted(module.name for module in pkgutil.iter_modules(managers.__path__))
    assert list(registry.names()) == modules


@pytest.mark.parametrize("name", registry.names())
def test_each_manager_names_only_known_job_variable_concepts(name):
    manager = registry.get(name)
    assert set(manager.variables) <= set(variables.CONCEPTS)
    assert set(manager.variable_aliases.values()) <= set(variables.CONCEPTS)
    assert not set(manager.variable_aliases) & set(manager.variables.values())


@pytest.mark.parametrize("name", registry.names())
def test_each_manager_says_how_it_launches_tasks(name):
    launch = registry.get(name).launch
    assert isinstance(launch, launchers.LaunchWriter)
    assert set(launch.cannot) <= set(launchers.LAYOUT_FIELDS)


def test_a_jobspec_carries_a_flux_batch_script():
    jobspec, flux = registry.get("jobspec"), registry.get("flux")
    assert jobspec.variables == flux.variables and jobspec.launch is flux.launch
    line = launchers.translate_line("srun -n 4 ./app", 1, "jobspec", [])
    assert line == "flux run -n 4 ./app"


def test_clusters_may_run_every_manager_but_the_jobspec_file_format():
    assert set(registry.scheduler_names()) == set(registry.names()) - {"jobspec"}
    for name in registry.scheduler_names():
        assert store.check_scheduler(name.upper()) == name
    with pytest.raises(StoreError, match="expected one of"):
        store.check_scheduler("jobspec")


def test_an_unknown_manager_is_refused_with_the_known_ones():
    with pytest.raises(TranslateError, match="unknown workload manager") as err:
        registry.get("torque-classic")
    assert err.value.expected == "one of " + ", ".join(registry.names())

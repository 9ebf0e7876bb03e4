"""Round trips with generated jobs: for every manager, ``parse(render(spec)) == spec`` for
every spec that manager can express, and any field it cannot express is named by the
renderer rather than lost silently."""

from __future__ import annotations

from datetime import datetime

import pytest
from fractale.transform import BatchJob, same_meaning, units
from fractale.transform.model import MAIL_EVENTS, field_names
from fractale.transform.registry import get, names
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

ident = st.from_regex(r"[a-z][a-z0-9_-]{0,14}[a-z0-9]", fullmatch=True)
label = st.from_regex(r"[a-z][a-z0-9-]{0,14}[a-z0-9]", fullmatch=True)
count = st.integers(1, 64)
memory = st.integers(1, 1 << 20)
seconds = st.integers(1, 10 * 86400)
minutes = st.integers(1, 7 * 24 * 60).map(lambda m: m * 60)
moment = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2035, 1, 1)).map(
    lambda d: d.strftime("%Y-%m-%dT%H:%M:00"))
relative = st.integers(1, 30 * 86400).map(lambda s: f"+{s}")
host = st.from_regex(r"[a-z]{1,6}[0-9]{1,3}", fullmatch=True)
env_name = st.from_regex(r"[A-Z_][A-Z0-9_]{0,10}", fullmatch=True)
env_value = st.from_regex(r"[a-z0-9_./-]{0,12}", fullmatch=True)
job_id = st.from_regex(r"[1-9][0-9]{0,6}", fullmatch=True)
email = st.builds(lambda user, domain: f"{user}@{domain}.org", ident, ident)
command = st.from_regex(r"[a-z][a-z0-9_.-]{0,8}( [a-z0-9_.=-]{1,8}){0,3}", fullmatch=True)
script = st.lists(command, min_size=1, max_size=4).map(lambda lines: "\n".join(lines) + "\n")
unique = dict(unique=True, max_size=3)


def path(placeholders=()):
    piece = st.sampled_from(["out", "logs/run", "/scratch/job", "res.txt", "a_b-c"])
    if placeholders:
        piece = piece | st.sampled_from(["{{" + p + "}}" for p in placeholders])
    parts = st.lists(piece, min_size=1, max_size=3)
    return parts.map(lambda items: ".".join(items))


def array(start=None, steps=True):
    def build(first, length, step, cap):
        first = start if start is not None else first
        step = step if steps else 1
        text = f"{first}-{first + length}" + (f":{step}" if step > 1 else "")
        return text + (f"%{cap}" if cap else "")
    return st.builds(build, st.integers(0, 50), st.integers(1, 500), st.integers(1, 4),
                     st.none() | st.integers(1, 20))


def dependencies(kinds):
    return st.lists(st.builds(lambda kind, job: f"{kind}:{job}", st.sampled_from(kinds),
                              job_id), **unique)


def events(allowed):
    return st.sets(st.sampled_from(allowed)).map(
        lambda chosen: [e for e in MAIL_EVENTS if e in chosen])


def maybe(strategy):
    return st.none() | strategy


def env_and_policy(policies):
    """(environment, export policy) pairs a manager can say."""
    def build(environment, policy):
        return {"environment": environment, "export_env": policy}
    return st.builds(build, st.dictionaries(env_name, env_value, max_size=3),
                     st.sampled_from(policies))


def specs(manager, fields, *, extra=None, check=None):
    """BatchJobs with any subset of ``fields`` set, for ``manager``'s own dialect."""
    strategies = {name: strategy if name in LISTLIKE else maybe(strategy)
                  for name, strategy in fields.items()}

    @st.composite
    def build(draw):
        values = {}
        for name, strategy in strategies.items():
            value = draw(strategy)
            if isinstance(value, dict) and name == "_env":
                values.update(value)
            elif value is not None:
                values[name] = value
        if extra:
            values.update(extra(values, draw))
        values["script"] = draw(script)
        values["dialect"] = manager
        return BatchJob(**values)
    strategy = build()
    return strategy.filter(check) if check else strategy


LISTLIKE = {"environment", "constraints", "dependencies", "mail_events", "nodelist",
            "exclude", "licenses", "_env", "exclusive"}


def _layout_with_nodes(values, draw):
    """Nodes with tasks per node, or a task count over nodes, or tasks alone."""
    shape = draw(st.sampled_from(["per-node", "total", "tasks"]))
    nodes = draw(count)
    if shape == "per-node":
        return {"nodes": nodes, "tasks_per_node": draw(count)}
    if shape == "total":
        return {"nodes": nodes, "tasks": nodes * draw(count)}
    return {"tasks": draw(count)}


def _gridengine_slots(values, draw):
    """One slot, one task of many CPUs (smp), or a task per slot (mpi); GPUs per slot."""
    shape = draw(st.sampled_from(["serial", "smp", "mpi"]))
    out = {}
    if shape == "smp":
        out["cpus_per_task"] = draw(st.integers(2, 64))
    elif shape == "mpi":
        out["tasks"] = draw(st.integers(2, 64))
    if draw(st.booleans()):
        out["gpus_per_task"] = draw(st.integers(1, 4)) * out.get("cpus_per_task", 1)
    if draw(st.booleans()):
        out["nodelist"] = [draw(host)]
    return out


def _flux_slots(draw):
    """Slots alone, slots over nodes (shared or whole), or whole nodes with one slot each:
    what a flux batch script can say."""
    shape = draw(st.sampled_from(["slots", "over-nodes", "whole-nodes"]))
    if shape == "slots":
        return {"tasks": draw(count)}
    nodes = draw(count)
    if shape == "over-nodes":
        return {"nodes": nodes, "tasks": nodes + draw(st.integers(0, 64)),
                "exclusive": draw(st.booleans())}
    return {"nodes": nodes, "exclusive": True}


LOSSLESS = {
    "slurm": dict(
        fields={
            "name": ident, "account": ident, "queue": ident, "nodes": count, "tasks": count,
            "tasks_per_node": count, "cpus_per_task": count, "gpus_per_node": count,
            "gpus_per_task": count, "memory_per_node": memory, "memory_per_cpu": memory,
            "walltime": seconds, "begin": moment | relative,
            "output": path(("id", "name", "array_id", "array_index", "user", "node")),
            "error": path(("id", "array_index")), "input": path(), "workdir": path(),
            "_env": env_and_policy([None, "all"]), "exclusive": st.booleans(),
            "constraints": st.lists(ident, **unique), "reservation": ident,
            "priority": st.integers(-1000, 1000), "qos": ident, "array": array(),
            "dependencies": dependencies(["after", "afterok", "afternotok", "afterany"]),
            "mail_user": email, "mail_events": events(MAIL_EVENTS), "requeue": st.booleans(),
            "nodelist": st.lists(host, **unique), "exclude": st.lists(host, **unique),
            "licenses": st.dictionaries(ident, st.integers(1, 99), max_size=2),
        },
        extra=lambda values, draw: {"gpu_type": draw(maybe(ident))}
        if values.get("gpus_per_node") or values.get("gpus_per_task") else {},
    ),
    "flux": dict(
        fields={
            "name": ident, "account": ident, "queue": ident, "cpus_per_task": count,
            "gpus_per_task": count, "walltime": seconds, "begin": moment | relative,
            "output": path(("id", "name")), "error": path(("id",)), "input": path(),
            "workdir": path(), "_env": env_and_policy([None, "none"]),
            "constraints": st.lists(ident, **unique), "urgency": st.integers(0, 31),
            "dependencies": dependencies(["after", "afterok", "afternotok", "afterany"]),
            "exclude": st.lists(host, **unique),
        },
        extra=lambda values, draw: {"nodelist": draw(st.lists(host, **unique)),
                                    **_flux_slots(draw)},
    ),
    "pbs": dict(
        fields={
            "name": ident, "account": ident, "queue": ident, "cpus_per_task": count,
            "gpus_per_node": count, "memory_per_node": memory, "walltime": seconds,
            "begin": moment, "output": path(("array_index",)), "input": path(),
            "workdir": path(), "_env": env_and_policy([None, "all"]),
            "exclusive": st.booleans(), "priority": st.integers(-1000, 1000),
            "array": array(), "mail_user": email,
            "dependencies": dependencies(["after", "afterok", "afternotok", "afterany"]),
            "mail_events": events(("begin", "end", "fail")), "requeue": st.booleans(),
        },
        extra=lambda values, draw: {
            "nodes": draw(count), "tasks_per_node": draw(maybe(count)),
            **({"gpu_type": draw(maybe(ident))} if values.get("gpus_per_node") else {}),
            **({"error": draw(path(("array_index",)))} if draw(st.booleans()) else {}),
        },
    ),
    "lsf": dict(
        fields={
            "account": ident, "queue": ident, "tasks": count, "tasks_per_node": count,
            "cpus_per_task": count, "memory_per_cpu": memory, "walltime": minutes,
            "begin": moment, "output": path(("id", "array_index")), "error": path(("id",)),
            "input": path(), "workdir": path(), "_env": env_and_policy([None, "all"]),
            "exclusive": st.booleans(), "constraints": st.lists(ident, **unique),
            "dependencies": dependencies(["after", "afterok", "afternotok", "afterany"]),
            "mail_user": email, "mail_events": events(("begin", "end")),
            "requeue": st.booleans(), "nodelist": st.lists(host, **unique),
            "priority": st.integers(1, 1000), "reservation": ident, "array": array(),
        },
        extra=lambda values, draw: {
            "name": draw(ident),
            **draw(st.sampled_from([{}, {"gpus_per_node": 2, "gpu_type": "v100"},
                                    {"gpus_per_task": 1}])),
        },
    ),
    "oar": dict(
        fields={
            "name": ident, "account": ident, "queue": ident, "walltime": seconds,
            "output": path(("id", "name")), "error": path(("id",)), "workdir": path(),
            "constraints": st.lists(ident, **unique), "begin": moment,
            "dependencies": dependencies(["afterany"]), "mail_events": events(
                ("begin", "end", "fail")),
            "requeue": st.just(True),
        },
        extra=lambda values, draw: {
            **draw(st.sampled_from([{}, {"nodes": 2, "tasks_per_node": 8}, {"tasks": 4},
                                    {"nodes": 1, "gpus_per_node": 2}, {"nodes": 3}])),
            **({"mail_user": draw(email)} if values.get("mail_events") else {}),
            **({"array": f"1-{draw(count)}"} if draw(st.booleans()) else {}),
        },
    ),
    "cobalt": dict(
        fields={
            "name": ident, "account": ident, "queue": ident, "nodes": count, "tasks": count,
            "walltime": seconds, "output": path(("id",)), "error": path(("id",)),
            "input": path(), "workdir": path(),
            "environment": st.dictionaries(env_name, env_value, max_size=3),
            "constraints": st.lists(ident, **unique), "nodelist": st.lists(host, **unique),
            "dependencies": dependencies(["afterok"]),
        },
        extra=lambda values, draw: {"mail_user": draw(email), "mail_events": ["begin", "end"]}
        if draw(st.booleans()) else {},
    ),
    "moab": dict(
        fields={
            "name": ident, "account": ident, "queue": ident, "gpus_per_node": count,
            "memory_per_node": memory, "memory_per_cpu": memory, "walltime": seconds,
            "output": path(), "workdir": path(), "_env": env_and_policy([None, "all"]),
            "exclusive": st.booleans(), "constraints": st.lists(ident, **unique),
            "priority": st.integers(-1000, 1000), "qos": ident, "array": array(),
            "dependencies": dependencies(["after", "afterok", "afternotok", "afterany"]),
            "mail_user": email, "mail_events": events(("begin", "end", "fail")),
            "requeue": st.booleans(), "begin": moment,
        },
        extra=lambda values, draw: {
            "nodes": draw(count), "tasks_per_node": draw(maybe(count)),
            **({"error": draw(path())} if draw(st.booleans()) else {}),
        },
    ),
    "kubernetes": dict(
        fields={
            "queue": label, "cpus_per_task": count, "gpus_per_node": count,
            "gpu_type": label, "memory_per_node": memory, "walltime": seconds,
            "workdir": path(), "environment": st.dictionaries(env_name, env_value, max_size=3),
            # A node selector holds one value per label.
            "constraints": st.lists(st.builds(lambda k, v: f"{k}={v}", label, label),
                                    unique_by=lambda c: c.split("=")[0], max_size=3),
            "qos": label, "requeue": st.booleans(), "nodelist": st.lists(host, **unique),
            "exclude": st.lists(host, **unique), "container_image": st.sampled_from(
                ["python:3.12", "ghcr.io/acme/sim:1.2", "busybox"]),
            "shell": st.sampled_from(["/bin/bash", "/bin/sh"]),
        },
        extra=lambda values, draw: {
            "name": draw(label),
            **({"array": draw(array(start=0, steps=False))} if draw(st.booleans()) else {}),
        },
    ),
    "gridengine": dict(
        fields={
            "name": ident, "account": ident, "queue": ident, "memory_per_cpu": memory,
            "walltime": seconds, "begin": moment, "output": path(("name", "array_index",
                                                                "user", "node")),
            "error": path(("name", "array_index")), "input": path(), "workdir": path(),
            "_env": env_and_policy([None, "all"]), "exclusive": st.booleans(),
            "priority": st.integers(-1000, 1000), "array": array(start=1),
            "dependencies": dependencies(["afterany"]), "mail_user": email,
            "mail_events": events(("begin", "end", "fail")), "requeue": st.booleans(),
            "exclude": st.lists(host, **unique), "reservation": job_id,
        },
        extra=_gridengine_slots,
    ),
    "jobspec": dict(
        fields={
            "name": ident, "account": ident, "queue": ident, "gpus_per_task": count,
            "walltime": seconds, "begin": moment, "output": path(("id", "name")),
            "error": path(("id",)), "input": path(), "workdir": path(),
            "environment": st.dictionaries(env_name, env_value, max_size=3),
            "constraints": st.lists(ident, **unique), "nodelist": st.lists(host, **unique),
            "exclude": st.lists(host, **unique),
            "dependencies": dependencies(["after", "afterok", "afternotok", "afterany"]),
        },
        extra=lambda values, draw: {
            **_layout_with_nodes(values, draw),
            **({"cpus_per_task": draw(st.integers(2, 64))} if draw(st.booleans()) else {}),
        },
    ),
}


def _kubernetes_array_ok(spec):
    if spec.array is None:
        return True
    ranges, limit = units.array_parts(spec.array)
    return limit is None or limit < ranges[0][1] + 1


CHECKS = {
    # An Indexed Job whose parallelism equals its completions reads back without a limit.
    "kubernetes": _kubernetes_array_ok,
    # An exclusive jobspec needs a node level.
    "jobspec": lambda spec: not spec.exclusive or spec.nodes is not None,
}


def roundtrip(spec, manager):
    text, losses = get(manager).write(spec)
    back, _ = get(manager).read(text)
    return back, losses


@pytest.mark.parametrize("manager", names())
def test_every_spec_the_manager_can_express_round_trips_exactly(manager):
    recipe = LOSSLESS[manager]

    @SETTINGS
    @given(specs(manager, recipe["fields"], extra=recipe.get("extra"),
                 check=CHECKS.get(manager)))
    def check(spec):
        back, losses = roundtrip(spec, manager)
        assert losses == [], [str(loss) for loss in losses]
        assert back == spec or not [
            name for name in field_names() if getattr(back, name) != getattr(spec, name)
            and not same_meaning(get(manager), spec, name, getattr(spec, name),
                                 getattr(back, name))]

    check()


ANY_SPEC = st.builds(
    BatchJob,
    name=maybe(st.text(max_size=12)), account=maybe(ident), queue=maybe(ident),
    nodes=maybe(count), tasks=maybe(count), tasks_per_node=maybe(count),
    cpus_per_task=maybe(count), gpus_per_task=maybe(count), gpus_per_node=maybe(count),
    gpu_type=maybe(ident), memory_per_node=maybe(memory), memory_per_cpu=maybe(memory),
    walltime=maybe(seconds), begin=maybe(moment | relative),
    output=maybe(path(("id", "name", "array_id", "array_index", "user", "node"))),
    error=maybe(path(("id", "array_index"))), input=maybe(path()), workdir=maybe(path()),
    environment=st.dictionaries(env_name, env_value, max_size=3),
    export_env=st.sampled_from([None, "all", "none"]), exclusive=st.booleans(),
    constraints=st.lists(ident, **unique), reservation=maybe(ident),
    priority=maybe(st.integers(-1000, 1000)), urgency=maybe(st.integers(0, 31)),
    qos=maybe(ident), array=maybe(array()),
    dependencies=dependencies(["after", "afterok", "afternotok", "afterany", "singleton"]),
    mail_user=maybe(email), mail_events=events(MAIL_EVENTS), requeue=maybe(st.booleans()),
    nodelist=st.lists(host, **unique), exclude=st.lists(host, **unique),
    licenses=st.dictionaries(ident, st.integers(1, 99), max_size=2),
    container_image=maybe(st.sampled_from(["python:3.12", "ghcr.io/acme/sim:1.2"])),
    script=script,
)


@pytest.mark.parametrize("manager", names())
def test_fields_a_manager_cannot_express_are_named_by_its_renderer(manager):
    @SETTINGS
    @given(ANY_SPEC)
    def check(spec):
        spec = spec.replace(dialect=manager)
        back, losses = roundtrip(spec, manager)
        named = {loss.field for loss in losses}
        changed = {name for name in field_names()
                   if name not in ("script", "dialect") and getattr(back, name) != getattr(
                       spec, name) and not same_meaning(get(manager), spec, name, getattr(
                           spec, name), getattr(back, name))}
        assert changed <= named, f"lost silently: {sorted(changed - named)}"
        assert back.script == spec.script

    check()

"""Fuzz translation: reading any text as any manager's job, and writing BatchJobs built from
the fuzzer's bytes for every manager. Anything but a ``TranslateError`` is a finding, and so
is a batch script holding a line that is neither a directive nor a line of the job's script.

    python tests/fuzz/fuzz_transform.py -max_total_time=300 CORPUS_DIR
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from fractale.errors import TranslateError
    from fractale.transform import BatchJob, get, names, read, write

MANAGERS = names()
TEXT_FIELDS = ("name", "account", "queue", "output", "error", "workdir", "array", "begin",
               "mail_user", "qos", "reservation", "container_image", "shell", "gpu_type")
COUNT_FIELDS = ("nodes", "tasks", "tasks_per_node", "cpus_per_task", "gpus_per_node",
                "walltime", "memory_per_node")


def _spec(provider: atheris.FuzzedDataProvider) -> BatchJob:
    fields: dict = {}
    for name in TEXT_FIELDS:
        if provider.ConsumeBool():
            fields[name] = provider.ConsumeUnicodeNoSurrogates(24)
    for name in COUNT_FIELDS:
        if provider.ConsumeBool():
            fields[name] = provider.ConsumeIntInRange(-2, 2**40)
    if provider.ConsumeBool():
        fields["environment"] = {provider.ConsumeUnicodeNoSurrogates(8):
                                 provider.ConsumeUnicodeNoSurrogates(16)}
    fields["exclusive"] = provider.ConsumeBool()
    fields["script"] = provider.ConsumeUnicodeNoSurrogates(64)
    return BatchJob(**fields)


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    manager = MANAGERS[provider.ConsumeIntInRange(0, len(MANAGERS) - 1)]
    if provider.ConsumeBool():
        text = provider.ConsumeUnicodeNoSurrogates(len(data))
        source = None if provider.ConsumeBool() else manager
        try:
            read(text, source)
        except TranslateError:
            pass
        return
    spec = _spec(provider)
    try:
        text, _ = write(spec, manager)
    except TranslateError:
        return
    # Nothing a field holds may open a line of its own: besides its shebang and directives,
    # a batch script holds no more lines than the job's script had.
    prefix = getattr(get(manager), "prefix", None)
    if prefix is None:
        return
    commands = [line for line in text.split("\n")[1:]
                if line.strip() and not line.startswith(prefix)]
    if len(commands) > len([line for line in spec.script.split("\n") if line.strip()]):
        raise AssertionError(f"{manager}: a value opened a line of its own in {text!r}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()

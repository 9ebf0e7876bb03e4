"""Moab batch scripts (``#MSUB``): PBS-style options with Torque resource lists and Moab's
own extensions (``-l qos=``, ``-l depend=``, ``-W x=``, ``-t name[range]%limit``).
"""

from __future__ import annotations

import re
from typing import Any

from fractale.transform import launchers
from fractale.transform.codecs import Array, MailEvents, read_dependencies
from fractale.transform.directives import (
    Context,
    DirectiveManager,
    Flag,
    Ignored,
    Int,
    Name,
    Option,
    Text,
    check_counts,
)
from fractale.transform.managers.pbs import (
    MAIL,
    AdditionalAttributes,
    Destination,
    Export,
    Join,
    Rerunnable,
    Resources,
    StreamPath,
    begin_codec,
    pbs_array,
    settle_job_memory,
    settle_join,
)
from fractale.transform.registry import register
from fractale.transform.submitter import (
    Command,
    Status,
    Submitter,
    first_match,
    integer,
    last_line,
)


class ExtendedAttributes(AdditionalAttributes):
    """``-W x=depend:afterok:ID`` and ``-W depend=...``; other ``-W`` keys are reported."""

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        key, _, setting = value.partition("=")
        if key == "x" and setting.lower().startswith("depend:"):
            return {"dependencies": read_dependencies(setting[len("depend:"):], ctx)}
        return super().read(value, ctx)


def _array_from_moab(value: str) -> str:
    """``name[1-10:2]%5`` or ``[1-10]`` -> ``1-10:2%5``."""
    match = re.fullmatch(r"[^\[]*\[([^\]]+)\](%\d+)?", value.strip())
    if match:
        return match.group(1) + (match.group(2) or "")
    return value


def _array_to_moab(array, ctx):
    native = pbs_array(array, ctx)
    if native is None:
        return None
    body, _, limit = native.partition("%")
    return f"array[{body}]" + (f"%{limit}" if limit else "")


OPTIONS = (
    Option(("-N",), Name("name")),
    Option(("-A",), Text("account")),
    Option(("-q",), Destination()),
    Option(("-l",), Resources("torque")),
    Option(("-o",), StreamPath("output")),
    Option(("-e",), StreamPath("error")),
    Option(("-j",), Join()),
    Option(("-d",), Text("workdir")),
    Option(("-V",), Flag("export_env", "all")),
    Option(("-v",), Export()),
    Option(("-W",), ExtendedAttributes()),
    Option(("-t",), Array(_array_to_moab, _array_from_moab)),
    Option(("-a",), begin_codec()),
    Option(("-p",), Int("priority", -1024)),
    Option(("-M",), Text("mail_user")),
    Option(("-m",), MailEvents(MAIL, "", none="n")),
    Option(("-r",), Rerunnable()),
    Option(("-S",), Ignored("shell path option; fractale keeps the script's #! line")),
    Option(("-h",), Ignored("submits held; not in fractale's job model", takes_value=False)),
    Option(("-E",), Ignored("only changes which variables Moab sets", takes_value=False)),
    Option(("-F",), Ignored("script arguments are not in fractale's job model")),
    Option(("-K",), Ignored("waits for the job; not in fractale's job model", takes_value=False)),
)


@register
class Moab(DirectiveManager):
    name = "moab"
    description = "Moab batch script (#MSUB)"
    prefix = "#MSUB"
    options = OPTIONS
    variables = {
        "job_id": "MOAB_JOBID", "job_name": "MOAB_JOBNAME", "node_count": "MOAB_NODECOUNT",
        "task_count": "MOAB_PROCCOUNT", "node_list": "MOAB_NODELIST", "queue": "MOAB_CLASS",
        "array_index": "MOAB_JOBARRAYINDEX", "account": "MOAB_ACCOUNT",
    }
    variable_aliases = {"PBS_JOBID": "job_id", "PBS_O_WORKDIR": "submit_dir",
                        "PBS_NODEFILE": "node_file"}
    variable_prefixes = ("MOAB_",)
    commands = ("msub", "showq", "checkjob", "mjobctl", "canceljob", "showstart", "qsub",
                "qstat", "qdel", "pbsdsh")
    launch = launchers.LaunchWriter(launchers.write_mpirun(None),
                                    ("nodes", "cpus_per_task", "gpus_per_task"), mpmd=True)


    def finish_read(self, values, ctx):
        settle_job_memory(values, ctx)
        settle_join(values, ctx)
        if ctx.scratch.get("_components"):
            values["components"] = ctx.scratch["_components"]
            for component in values["components"]:
                check_counts(component, ctx)



# Submitting ------------------------------------------------------------------------------

# checkjob's "State:" words.
MOAB_STATES = {
    "IDLE": "pending", "HOLD": "pending", "USERHOLD": "pending", "SYSTEMHOLD": "pending",
    "BATCHHOLD": "pending", "DEFERRED": "pending", "BLOCKED": "pending",
    "NOTQUEUED": "pending", "STAGING": "pending", "STAGED": "pending",
    "STARTING": "running", "RUNNING": "running", "SUSPENDED": "running",
    "CANCELING": "running",
    "COMPLETED": "completed", "REMOVED": "cancelled", "VACATED": "failed",
}


class MoabSubmitter(Submitter):
    """``msub`` (``-h`` to hold); ``checkjob``, whose ``State:`` and ``Completion Code:``
    lines are read; ``mjobctl -c``."""

    native_states = MOAB_STATES
    default_outputs = ("{{name}}.o{{seq}}", "{{name}}.e{{seq}}")

    def submit_command(self, script, hold):
        return Command(["msub", *(["-h"] if hold else []), script])

    def job_id(self, output):
        return last_line(output)

    def placeholders(self, job_id):
        return {"id": job_id, "seq": job_id.rsplit(".", 1)[-1] if job_id.startswith("Moab.")
                else job_id.split(".")[0]}

    def status_commands(self, job_id, workdir=None):
        return [["checkjob", job_id]]

    def read_status(self, job_id, result):
        native = first_match(r"^State:\s*(\w+)", result.stdout, re.MULTILINE)
        if not result.ok or native is None:
            return None
        state = self.state(native)
        code = integer(first_match(r"^Completion Code:\s*(-?\d+)", result.stdout, re.MULTILINE))
        if state == "completed" and code:
            state = "failed"
        if state in ("pending", "running"):
            code = None
        reason = first_match(r"^(?:BLOCK MSG|Message\[\d+\]|Holds):\s*(.+)$", result.stdout,
                             re.MULTILINE)
        return Status(state, native, code, reason)

    def cancel_command(self, job_id):
        return ["mjobctl", "-c", job_id]


Moab.submitter = MoabSubmitter

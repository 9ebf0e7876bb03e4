"""The batch agent: writes a batch script for Slurm or Flux, submits it, waits, reads it back.

The scheduler comes from the cluster registry when a cluster is named, or is given directly.
A failed submission or a job that does not complete goes to the helper for a fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fractale.agents.base import Context, StepAgent
from fractale.agents.clusters import cluster_scheduler, cluster_summary
from fractale.agents.conditions import Condition, Outcome
from fractale.agents.schedulers import SCHEDULERS
from fractale.errors import AgentError

SYSTEM = """\
You are the batch agent of fractale, an expert in {manager} batch scripts on HPC clusters. \
Write one complete batch script that runs the application described to you on the cluster \
described to you: a #!/bin/bash line, the resource request as {directive} directives, then \
the commands. Ask only for what the job needs; leave out the output path (fractale sets \
it). The script must end with the application's exit status.

Answer with the script in one fenced code block and nothing else."""

MANAGER_NAMES = {"slurm": "Slurm", "flux": "Flux"}


class BatchAgent(StepAgent):
    name = "batch"
    kind = "batch script"
    filename = "job.sh"
    INPUTS = {
        "app": (True, "what to run: the application, its command line and what it needs"),
        "cluster": (False, "a cluster registered with `fractale cluster add`"),
        "scheduler": (False, "slurm or flux, when no cluster is named"),
        "nodes": (False, "nodes to ask for"),
        "tasks": (False, "tasks (processes) to run"),
        "time": (False, "wall-time limit, e.g. 10m"),
        "script": (False, "a batch script to start from instead of asking the model"),
        "notes": (False, "anything else the script must do"),
    }
    OUTPUTS = {
        "artifact": "the batch script's text",
        "path": "where the batch script was written",
        "output": "what the job printed",
        "output_path": "the job's output file",
        "jobid": "the scheduler's job id",
        "state": "the job's final state",
        "exit_code": "the job's exit code",
    }

    def __init__(self, inputs: dict[str, Any], *, success: Condition | None = None) -> None:
        super().__init__(inputs, success=success)
        cluster, scheduler = self.inputs.get("cluster"), self.inputs.get("scheduler")
        if cluster and not scheduler:
            scheduler = cluster_scheduler(str(cluster))
        if not scheduler:
            raise AgentError("the batch agent needs a cluster or a scheduler (slurm or flux)")
        scheduler = str(scheduler).lower()
        if scheduler not in SCHEDULERS:
            raise AgentError(
                f"the batch agent runs jobs on {' or '.join(SCHEDULERS)}, not {scheduler!r}"
            )
        self.scheduler = scheduler
        self.SYSTEM = SYSTEM.format(
            manager=MANAGER_NAMES[scheduler], directive=SCHEDULERS[scheduler].directive
        )

    def goal(self) -> str:
        lines = [
            f"Write a {MANAGER_NAMES[self.scheduler]} batch script that runs: {self.inputs['app']}"
        ]
        if self.inputs.get("cluster"):
            lines.append(f"Cluster: {cluster_summary(str(self.inputs['cluster']))}")
        for key, label in (("nodes", "Nodes"), ("tasks", "Tasks"), ("time", "Time limit")):
            if self.inputs.get(key) not in (None, ""):
                lines.append(f"{label}: {self.inputs[key]}")
        if self.inputs.get("notes"):
            lines.append(f"Also: {self.inputs['notes']}")
        lines.append("The job must run to completion with exit status 0.")
        return "\n".join(lines)

    def given_artifact(self) -> tuple[str, str] | None:
        given = self.inputs.get("script")
        if not given:
            return None
        text = str(given)
        return (text if text.endswith("\n") else f"{text}\n"), "input"

    def execute(self, ctx: Context, artifact: str, path: Path) -> Outcome:
        scheduler = SCHEDULERS[self.scheduler](ctx.executor)
        output_path = path.with_name("job.out")
        ctx.echo(f"[{self.name}] submitting {path} to {self.scheduler}")
        job = scheduler.run(path, output_path, ctx.timeout, ctx.pending_timeout)
        outputs = {
            "artifact": artifact,
            "path": str(path),
            "output": job.output,
            "output_path": str(output_path),
            "jobid": job.jobid,
            "state": job.state,
            "exit_code": job.exit_code,
        }
        if job.jobid is None:
            return Outcome(
                False,
                f"{job.submission.argv[0]} rejected the script (exit {job.submission.returncode})",
                output=job.submission.output,
                returncode=job.submission.returncode,
                command=job.submission.command,
                state=job.state,
                executed=True,
                outputs=outputs,
            )
        verdict = f"job {job.jobid} ended {job.state} with exit code {job.exit_code}"
        if job.state == "PENDING":
            verdict = f"job {job.jobid} never started: {job.output.splitlines()[-1]}"
        return Outcome(
            job.succeeded,
            verdict,
            output=job.output,
            returncode=job.exit_code,
            command=job.submission.command,
            state=job.state,
            executed=True,
            outputs=outputs,
        )

"""Running a Kubernetes resource with ``kubectl`` for the agents that run there (Job, MiniCluster).

Before an apply, the resource is deleted and fractale waits until it is gone, so a new
attempt never meets the last one's immutable fields or reads its old failure. While the
Job runs, its logs are followed for a bounded time and size; it may wait for its pods to
start for ``pending`` seconds and run for ``timeout`` seconds. When it ends, the events of
its pods are collected: they say what logs cannot (image pulls, scheduling, OOM kills).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from fractale.agents.conditions import Outcome
from fractale.agents.execute import Completed, Executor

if TYPE_CHECKING:
    from fractale.agents.base import Context

POLL_SECONDS = 2.0
# What fractale keeps of a Job's logs, and how long it lets a follow run on after the end.
LOG_LIMIT_BYTES = 1_000_000
LOG_GRACE_SECONDS = 10.0
EVENT_LINES = 40
STARTED_PHASES = frozenset({"Running", "Succeeded", "Failed"})


@dataclass
class JobEnd:
    """How a Job ended: Complete, Failed, Pending (never started) or Unknown (timed out)."""

    condition: str
    detail: str
    logs: str
    events: str

    def output(self) -> str:
        parts = [self.logs.rstrip()]
        if self.detail:
            parts.append(f"fractale: {self.detail}")
        if self.events:
            parts.append(f"--- events of the Job's pods ---\n{self.events}")
        return "\n".join(part for part in parts if part)


class Kubectl:
    """kubectl with the step's context and namespace."""

    def __init__(
        self, executor: Executor, *, context: str | None = None, namespace: str | None = None
    ) -> None:
        self.executor = executor
        self.argv = ["kubectl"]
        if context:
            self.argv.append(f"--context={context}")
        if namespace:
            self.argv.append(f"--namespace={namespace}")
        self.context = context

    def missing(self) -> str | None:
        """Why no cluster can take a resource, or None when kubectl has one."""
        if not self.executor.available("kubectl"):
            return "kubectl is not installed"
        if self.context:
            return None
        current = self.executor.run(["kubectl", "config", "current-context"], timeout=30)
        if current.returncode != 0 or not current.output.strip():
            return "kubectl has no current context"
        return None

    def run(self, *args: str, timeout: float = 120, **kwargs: Any) -> Completed:
        return self.executor.run([*self.argv, *args], timeout=timeout, **kwargs)

    def replace(self, resource: str, path: str, timeout: float) -> tuple[Completed, Completed]:
        """Delete ``resource`` (kind/name) and wait until it is gone, then apply ``path``."""
        deleted = self.run(
            "delete",
            resource,
            "--ignore-not-found=true",
            "--wait=true",
            f"--timeout={int(timeout)}s",
            timeout=timeout + 30,
        )
        if deleted.returncode != 0:
            return deleted, deleted
        return deleted, self.run("apply", "-f", path)

    def pods(self, selector: str) -> list[dict[str, Any]]:
        shown = self.run("get", "pods", f"--selector={selector}", "--output=json", timeout=60)
        try:
            return list(json.loads(shown.output).get("items", [])) if shown.returncode == 0 else []
        except ValueError:
            return []

    def condition(self, job: str) -> tuple[str | None, str]:
        """The Job's terminal condition (Complete or Failed) and its message, if it has one."""
        shown = self.run("get", f"job/{job}", "--output=json", timeout=60)
        if shown.returncode != 0:
            return None, ""
        try:
            status = json.loads(shown.output).get("status", {})
        except ValueError:
            return None, ""
        for condition in status.get("conditions", []) or []:
            if condition.get("status") == "True" and condition.get("type") in (
                "Complete",
                "Failed",
            ):
                return condition["type"], condition.get("message", "")
        return None, ""

    def events(self, job: str) -> str:
        """Events of the Job and its pods, oldest first, one line each."""
        shown = self.run("get", "events", "--output=json", timeout=60)
        try:
            items = json.loads(shown.output).get("items", []) if shown.returncode == 0 else []
        except ValueError:
            items = []
        lines = []
        for item in sorted(items, key=lambda event: str(event.get("lastTimestamp") or "")):
            involved = item.get("involvedObject") or {}
            name = str(involved.get("name") or "")
            if name != job and not name.startswith(f"{job}-"):
                continue
            lines.append(
                f"{item.get('type', '')} {item.get('reason', '')} "
                f"{involved.get('kind', '')}/{name}: {str(item.get('message', '')).strip()}"
            )
        return "\n".join(lines[-EVENT_LINES:])

    def wait_job(
        self,
        job: str,
        selector: str,
        logs_of: str,
        *,
        timeout: float,
        pending: float,
        echo: Callable[[str], None],
    ) -> JobEnd:
        """Follow ``logs_of`` (a pod selector or job/NAME) while waiting for ``job`` to end."""
        stop = threading.Event()
        followed: list[Completed] = []

        def follow() -> None:
            target = [f"--selector={logs_of}"] if "=" in logs_of else [logs_of]
            followed.append(
                self.run(
                    "logs",
                    "--follow",
                    "--all-containers=true",
                    f"--limit-bytes={LOG_LIMIT_BYTES}",
                    f"--pod-running-timeout={int(pending)}s",
                    *target,
                    timeout=pending + timeout,
                    echo=echo,
                    stop=stop,
                )
            )

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        submitted = time.monotonic()
        started: float | None = None
        condition, detail = None, ""
        while True:
            condition, detail = self.condition(job)
            if condition is not None:
                break
            moment = time.monotonic()
            if started is None:
                phases = [pod.get("status", {}).get("phase") for pod in self.pods(selector)]
                if any(phase in STARTED_PHASES for phase in phases):
                    started = moment
                elif moment - submitted > pending:
                    condition = "Pending"
                    detail = f"no pod of job/{job} started within {pending:g}s"
                    break
            elif moment - started > timeout:
                condition = "Unknown"
                detail = f"job/{job} did not end within {timeout:g}s of starting"
                break
            time.sleep(POLL_SECONDS)
        # The follow ends by itself when the pods do; never wait on it for long.
        follower.join(LOG_GRACE_SECONDS if condition in ("Complete", "Failed") else 0)
        stop.set()
        follower.join(5)
        logs = followed[0].output if followed else ""
        return JobEnd(condition, detail, logs, self.events(job))


def apply_and_follow(ctx: Context, kubectl: Kubectl, step: str, resource: str, path: str,
                     job: str, log_target: str, following: str,
                     outputs: dict[str, Any]) -> Outcome:
    """Replace ``resource`` (``kind/name``) with the manifest at ``path`` (deleting the
    earlier one and waiting for it to go), then follow the Job ``job`` it runs to its end,
    its logs read from ``log_target``: the outcome of a Kubernetes step."""
    deleted, applied = kubectl.replace(resource, path, ctx.timeout)
    if applied.returncode != 0:
        kind = resource.split("/", 1)[0]
        what = f"delete of the earlier {kind}" if applied is deleted else "apply"
        return Outcome(
            False,
            f"kubectl {what} failed (exit {applied.returncode})",
            output=applied.output,
            returncode=applied.returncode,
            command=applied.command,
            executed=True,
            outputs=outputs,
        )
    ctx.echo(f"[{step}] applied {resource}; following {following}")
    end = kubectl.wait_job(
        job,
        f"job-name={job}",
        log_target,
        timeout=ctx.timeout,
        pending=ctx.pending_timeout,
        echo=lambda line: ctx.echo(f"[{job}] {line}"),
    )
    outputs.update(
        {"applied": True, "logs": end.logs, "condition": end.condition, "events": end.events}
    )
    return Outcome(
        end.condition == "Complete",
        f"{resource} ended {end.condition}" + (f": {end.detail}" if end.detail else ""),
        output=end.output(),
        returncode=0 if end.condition == "Complete" else 1,
        command=applied.command,
        state=end.condition,
        executed=True,
        outputs=outputs,
    )

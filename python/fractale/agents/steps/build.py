"""The build agent: writes a Dockerfile for an application and builds it when it can.

The build runs with ``docker`` (when its daemon answers) or ``podman``; without either the
agent writes the files and says that the build was not run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fractale.agents.base import Context, StepAgent
from fractale.agents.conditions import Outcome

SYSTEM = """\
You are the build agent of fractale, an expert in container images for HPC applications. \
Write one Dockerfile that builds the application described to you from a public base image, \
with its dependencies, and sets a sensible default command. Answer with the Dockerfile in \
one fenced block and nothing else."""


def tag_for(app: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", app.lower()).strip("-")[:40].strip("-")
    return f"fractale/{slug or 'app'}:latest"


class BuildAgent(StepAgent):
    name = "build"
    kind = "Dockerfile"
    filename = "Dockerfile"
    INPUTS = {
        "app": (True, "the application to package and what it needs"),
        "tag": (False, "the image tag (default fractale/<app>:latest)"),
        "context": (False, "a directory whose files the build may copy"),
        "builder": (False, "docker or podman (default: whichever works)"),
        "notes": (False, "anything else the image must have"),
    }
    OUTPUTS = {
        "artifact": "the Dockerfile's text",
        "path": "where the Dockerfile was written",
        "image": "the image tag",
        "built": "whether the image was built",
        "context": "the build context directory",
    }
    SYSTEM = SYSTEM

    def goal(self) -> str:
        lines = [f"Write a Dockerfile for: {self.inputs['app']}"]
        if self.inputs.get("context"):
            lines.append(f"The build context is {self.inputs['context']}.")
        if self.inputs.get("notes"):
            lines.append(f"Also: {self.inputs['notes']}")
        return "\n".join(lines)

    def check(self, ctx: Context, artifact: str) -> str | None:
        instructions = [
            line.split(None, 1)[0].upper()
            for line in artifact.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        if not instructions or instructions[0] not in ("FROM", "ARG"):
            return "a Dockerfile must start with FROM (or ARG before FROM)"
        if "FROM" not in instructions:
            return "the Dockerfile has no FROM instruction"
        return None

    def check_command(self) -> str:
        return "fractale: check the Dockerfile's instructions"

    def image(self) -> str:
        return str(self.inputs.get("tag") or tag_for(str(self.inputs["app"])))

    def context_dir(self, path: Path) -> Path:
        return Path(str(self.inputs["context"])) if self.inputs.get("context") else path.parent

    def dry_outputs(self, artifact: str, path: Path) -> dict[str, Any]:
        return {
            "artifact": artifact,
            "path": str(path),
            "image": self.image(),
            "built": False,
            "context": str(self.context_dir(path)),
        }

    def builder(self, ctx: Context) -> str | None:
        """docker when its daemon answers, else podman, else None."""
        wanted = self.inputs.get("builder")
        for program in [wanted] if wanted else ["docker", "podman"]:
            if not ctx.executor.available(program):
                continue
            probe = ctx.executor.run([program, "info"], timeout=60)
            if probe.returncode == 0:
                return program
        return None

    def execute(self, ctx: Context, artifact: str, path: Path) -> Outcome:
        outputs = self.dry_outputs(artifact, path)
        builder = self.builder(ctx)
        if builder is None:
            which = self.inputs.get("builder") or "docker or podman"
            return Outcome(
                True,
                f"wrote {path}; the build was not run: no working {which} on this machine",
                output=f"wrote {path}; build not run (no working {which})",
                executed=False,
                outputs=outputs,
            )
        built = ctx.executor.run(
            [
                builder,
                "build",
                "--tag",
                self.image(),
                "--file",
                str(path),
                str(self.context_dir(path)),
            ],
            timeout=ctx.timeout,
            echo=lambda line: ctx.echo(f"[{builder}] {line}"),
        )
        outputs["built"] = built.returncode == 0
        return Outcome(
            built.returncode == 0,
            f"{builder} build exited {built.returncode}",
            output=built.output,
            returncode=built.returncode,
            command=built.command,
            executed=True,
            outputs=outputs,
        )

"""The build agent: writes a Dockerfile for an application, builds it and pushes it.

The build runs with ``docker`` (when its daemon answers) or ``podman``. The image is pushed
when its tag names a registry (``ghcr.io/me/app:1``, ``localhost:5000/app``) or the step asks
with ``push: true``, so that a cluster can pull it. Without a builder the step fails, saying
so: an image that was not built cannot run (``--dry-run`` only writes and checks).
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
        "push": (False, "push the image (default: when the tag names a registry)"),
        "notes": (False, "anything else the image must have"),
    }
    OUTPUTS = {
        "artifact": "the Dockerfile's text",
        "path": "where the Dockerfile was written",
        "image": "the image tag",
        "built": "whether the image was built",
        "pushed": "whether the image was pushed",
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
            "pushed": False,
            "context": str(self.context_dir(path)),
        }

    def pushes(self) -> bool:
        """Whether the image goes to a registry: asked for, or its tag names one."""
        wanted = self.inputs.get("push")
        if wanted is not None:
            return str(wanted).lower() in ("true", "yes", "1")
        first = self.image().split("/", 1)[0]
        return "/" in self.image() and ("." in first or ":" in first or first == "localhost")

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
                False,
                f"wrote {path} but did not build it: no working {which} on this machine "
                "(use --dry-run to only write and check)",
                output=f"wrote {path}; build not run (no working {which})",
                final=True,
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
        if built.returncode != 0 or not self.pushes():
            return Outcome(
                built.returncode == 0,
                f"{builder} build exited {built.returncode}",
                output=built.output,
                returncode=built.returncode,
                command=built.command,
                executed=True,
                outputs=outputs,
            )
        pushed = ctx.executor.run(
            [builder, "push", self.image()],
            timeout=ctx.timeout,
            echo=lambda line: ctx.echo(f"[{builder}] {line}"),
        )
        outputs["pushed"] = pushed.returncode == 0
        return Outcome(
            pushed.returncode == 0,
            f"built {self.image()}; {builder} push exited {pushed.returncode}",
            output=f"{built.output}\n{pushed.output}",
            returncode=pushed.returncode,
            command=pushed.command,
            executed=True,
            outputs=outputs,
        )

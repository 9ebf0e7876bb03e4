"""The transform agent: finishes a translation where fractale's tables leave directives out.

fractale translates the job itself first. When its report lists unmapped directives, the
model writes the complete target script carrying them over; the result must read cleanly
with fractale's own parser for the target manager, or the parser's complaint goes to the
helper for the next attempt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fractale.agents.base import Context, StepAgent
from fractale.agents.conditions import Condition, Outcome
from fractale.errors import AgentError, FractaleError

SYSTEM = """\
You are the transform agent of fractale, an expert in every HPC workload manager's job \
language (Slurm, Flux, PBS, LSF, OAR, Cobalt, Moab, Kubernetes). fractale translated a job \
and lists the directives it could not map. Write the complete job for the target manager: \
keep everything fractale translated, and carry each unmapped directive over with the \
target's own directive, or with an equivalent command in the script when the target has \
no directive for it. Never drop a requirement silently: when nothing can express it, keep \
it as a comment that says why.

Answer with the complete target job in one fenced code block and nothing else."""


def _translate(text: str, to: str, source: str | None) -> Any:
    import fractale

    translate = getattr(fractale, "transform", None)
    if not callable(translate):
        raise AgentError("this fractale has no translation layer (fractale.transform)")
    return translate(text, to=to, source=source)


def parse_problems(text: str, manager: str) -> list[str]:
    """Why fractale's parser for ``manager`` does not read ``text`` cleanly (empty if it does)."""
    from fractale.transform import read

    try:
        _, losses = read(text, manager)
    except FractaleError as err:
        where = getattr(err, "location", None)
        return [f"{where}: {err}" if where else str(err)]
    return [f"{loss} (fractale's {manager} parser)" for loss in losses]


class TransformAgent(StepAgent):
    name = "transform"
    kind = "job script"
    INPUTS = {
        "script": (False, "the job to translate (its text)"),
        "script_file": (False, "a file holding the job to translate"),
        "to": (True, "the workload manager to translate to"),
        "source": (False, "the manager the job is written for (default: detected)"),
    }
    OUTPUTS = {
        "artifact": "the completed translation",
        "path": "where it was written",
        "unmapped": "what fractale's tables could not translate, before the model's help",
    }
    SYSTEM = SYSTEM

    def __init__(self, inputs: dict[str, Any], *, success: Condition | None = None) -> None:
        super().__init__(inputs, success=success)
        if not self.inputs.get("script") and not self.inputs.get("script_file"):
            raise AgentError("the transform agent needs a script, or a script_file to read")
        self.to = str(self.inputs["to"]).lower()
        self.filename = f"job.{self.to}"
        self._translation: Any = None

    def original(self) -> str:
        if self.inputs.get("script"):
            return str(self.inputs["script"])
        path = Path(str(self.inputs["script_file"]))
        try:
            return path.read_text(encoding="utf-8")
        except OSError as err:
            raise AgentError(f"cannot read {path}: {err.strerror}") from None

    def translation(self) -> Any:
        if self._translation is None:
            source = self.inputs.get("source")
            self._translation = _translate(self.original(), self.to, source and str(source))
        return self._translation

    def unmapped(self) -> list[str]:
        return [str(loss) for loss in self.translation().losses]

    def goal(self) -> str:
        translation = self.translation()
        unmapped = "\n".join(f"- {line}" for line in self.unmapped())
        return (
            f"Translate this {translation.source} job to {translation.target}.\n\n"
            f"The original:\n```\n{self.original().rstrip()}\n```\n\n"
            f"fractale's translation:\n```\n{translation.text.rstrip()}\n```\n\n"
            f"What fractale could not translate:\n{unmapped}\n"
            f"The result must read cleanly with fractale's {translation.target} parser."
        )

    def given_artifact(self) -> tuple[str, str] | None:
        translation = self.translation()
        if translation.losses:
            return None
        # Nothing unmapped: fractale's own translation is the whole answer.
        text = translation.text
        return (text if text.endswith("\n") else text + "\n"), "translation"

    def check(self, ctx: Context, artifact: str) -> str | None:
        problems = parse_problems(artifact, self.to)
        return "\n".join(problems) if problems else None

    def check_command(self) -> str:
        return f"fractale: parse with fractale's {self.to} parser"

    def dry_outputs(self, artifact: str, path: Path) -> dict[str, Any]:
        return {"artifact": artifact, "path": str(path), "unmapped": self.unmapped()}

    def execute(self, ctx: Context, artifact: str, path: Path) -> Outcome:
        # Reading cleanly with fractale's parser (``check``) is this agent's whole test.
        return Outcome(
            True,
            f"reads cleanly with fractale's {self.to} parser",
            output=f"parsed {path} as {self.to}",
            returncode=0,
            command=self.check_command(),
            executed=False,
            outputs=self.dry_outputs(artifact, path),
        )

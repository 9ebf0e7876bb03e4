"""The corpus of realistic job scripts under tests/transform/corpus, one folder per manager,
each script beside ``<script>.expected.yaml`` holding its expected model and the directives
fractale is expected to report as unmapped."""

from __future__ import annotations

from pathlib import Path

import yaml
from fractale.transform.registry import names

ROOT = Path(__file__).parent / "corpus"
# Every manager the registry knows has a folder of its own.
MANAGERS = names()


def scripts(manager: str | None = None) -> list[Path]:
    folders = [ROOT / manager] if manager else [ROOT / name for name in MANAGERS]
    return sorted(path for folder in folders for path in folder.iterdir()
                  if not path.name.endswith(".expected.yaml"))


def expected(script: Path) -> dict:
    return yaml.safe_load(script.with_name(script.name + ".expected.yaml").read_text())


def ident(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"

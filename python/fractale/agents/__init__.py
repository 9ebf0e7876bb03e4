"""fractale's agents: take a job from intent to a running, verified execution.

A step agent is expert in one task (translate, write and run a batch script, a Kubernetes
Job, a MiniCluster, a container build, extract results, price a run); it keeps its artifact
and attempts and retries on failure with the helper's fix. The helper reads a failure and
the attempts before it and proposes a fix. A study (optimize, scale) runs the application
many times through the steps and learns from the figures. The manager follows a plan of
steps and decides, or asks the model, what to do when one fails. Every agent talks to a model
through ``fractale.agents.llm``; nothing here imports the Anthropic SDK until a model is used.
"""

from fractale.agents.llm import DEFAULT_MODEL, LLM, Reply, Request, open_backend
from fractale.agents.usage import Ledger, Usage

__all__ = ["DEFAULT_MODEL", "LLM", "Ledger", "Reply", "Request", "Usage", "open_backend"]

"""The cost agent: the cheapest configurations that fit an application, from a price table.

The model reads the application and the user's price table (fractale's own table of common
AWS and Google Cloud instances when none is given) and proposes configurations
(instance type, how many, hours) with its estimates and reasons, through structured
output. fractale checks each against the table (the instance exists, enough of it can be
had, the CPUs, memory and GPUs the application needs fit) and sends a proposal that does
not fit back through the helper; then it prices every option itself (count × price per
hour × hours), saying where the model's arithmetic differs; that runs nothing, so a dry
run prices too. Where clusters are registered
it cross-checks the fleet's own ``cost`` figures: a table entry naming a cluster against
that cluster's cost per node-hour, and, given the job, the price ``fractale select
--by cost`` puts on each cluster that can run it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fractale.agents.base import Context, StepAgent
from fractale.agents.conditions import Condition, Outcome
from fractale.agents.prices import BUNDLED, PriceTable, load_prices
from fractale.agents.record import write_json
from fractale.agents.tables import text_table
from fractale.errors import AgentError, FractaleError

DEFAULT_OPTIONS = 3
# The model's estimate may differ from fractale's by rounding; more than this is reported.
TOLERANCE = 0.01

SYSTEM = """\
You are the cost agent of fractale, an expert in sizing HPC and cloud runs. From an \
application's description and a price table of instance types (or cluster nodes), propose \
the cheapest configurations that can run it: which instance, how many, how many hours the \
run will take on them, the cost (count x price per hour x hours) and why. Use only \
instances from the table, no more of one than it allows, and enough CPUs, memory and GPUs \
for the application. Answer with one JSON object and nothing else:
{"options": [{"instance": NAME, "count": N, "hours": H, "estimate_usd": COST, "reason": WHY}],
 "assumptions": "what you assumed about the application's run time and needs"}"""


class CostAgent(StepAgent):
    name = "cost"
    kind = "cost estimate (JSON)"
    filename = "cost.json"
    INPUTS = {
        "app": (True, "the application, its size and how it runs"),
        "prices": (False, "the price table (YAML): instance types or cluster nodes "
                          "(fractale's own table of AWS and Google Cloud instances if not given)"),
        "cpus": (False, "CPUs the application needs in all"),
        "memory_gb": (False, "memory it needs in all, in GB"),
        "gpus": (False, "GPUs it needs in all"),
        "hours": (False, "how long it runs on a reference machine, if known"),
        "options": (False, f"how many configurations to propose ({DEFAULT_OPTIONS})"),
        "job": (False, "the job (batch script or jobspec) to price on registered clusters"),
        "notes": (False, "anything else that matters (deadline, provider, region)"),
    }
    OUTPUTS = {
        "artifact": "the model's answer (JSON)",
        "path": "where it was written",
        "options": "the configurations, cheapest first, priced by fractale",
        "cheapest": "the cheapest configuration",
        "checks": "what the cross-checks found",
        "fleet": "the price of the job on each registered cluster that can run it",
        "table": "the options as a text table",
        "json_path": "the JSON file of the estimate",
        "prices": "the price table the options are priced from",
    }
    SYSTEM = SYSTEM

    def __init__(self, inputs: dict[str, Any], *, success: Condition | None = None) -> None:
        super().__init__(inputs, success=success)
        prices = self.inputs.get("prices")
        self.table: PriceTable = load_prices(Path(str(prices)) if prices else BUNDLED)
        self.needs: dict[str, float] = {}
        for key in ("cpus", "memory_gb", "gpus"):
            if self.inputs.get(key) not in (None, ""):
                try:
                    self.needs[key] = float(self.inputs[key])
                except (TypeError, ValueError):
                    raise AgentError(f"the cost agent's {key} is a number") from None
        try:
            self.count = int(self.inputs.get("options") or DEFAULT_OPTIONS)
        except ValueError:
            raise AgentError("the cost agent's options is a whole number") from None
        if self.count < 1:
            raise AgentError("the cost agent's options must be at least 1")

    def goal(self) -> str:
        instances = "\n".join(
            f"- {json.dumps(instance.to_dict())}" for instance in self.table.instances.values()
        )
        lines = [
            f"Propose the {self.count} cheapest configurations that can run: {self.inputs['app']}",
            f"Prices ({self.table.currency} per instance-hour"
            + (f"; {self.table.source}" if self.table.source else "")
            + f"):\n{instances}",
        ]
        wanted = {"cpus": "CPUs", "memory_gb": "GB of memory", "gpus": "GPUs"}
        for key, value in self.needs.items():
            lines.append(f"The application needs {value:g} {wanted[key]} in all.")
        if self.inputs.get("hours"):
            lines.append(f"Known run time on a reference machine: {self.inputs['hours']} hours.")
        if self.inputs.get("notes"):
            lines.append(f"Also: {self.inputs['notes']}")
        return "\n".join(lines)

    def schema(self) -> dict[str, Any]:
        option = {
            "type": "object",
            "properties": {
                "instance": {"enum": list(self.table.instances)},
                "count": {"type": "integer"},
                "hours": {"type": "number"},
                "estimate_usd": {"type": "number"},
                "reason": {"type": "string"},
            },
            "required": ["instance", "count", "hours", "estimate_usd", "reason"],
            "additionalProperties": False,
        }
        return {
            "type": "object",
            "properties": {
                "options": {"type": "array", "items": option},
                "assumptions": {"type": "string"},
            },
            "required": ["options", "assumptions"],
            "additionalProperties": False,
        }

    def options(self, artifact: str) -> tuple[list[dict[str, Any]], str]:
        """The proposed options, or AgentError saying every way they do not fit."""
        try:
            document = json.loads(artifact)
        except ValueError as err:
            raise AgentError(f"the estimate is not valid JSON: {err}") from None
        options = document.get("options") if isinstance(document, dict) else None
        if not isinstance(options, list) or not options:
            raise AgentError('the estimate must be {"options": [...], "assumptions": ...}')
        problems = []
        for number, option in enumerate(options, start=1):
            problems += [f"option {number}: {problem}" for problem in self._problems(option)]
        if problems:
            raise AgentError("\n".join(problems))
        return options, str(document.get("assumptions") or "")

    def _problems(self, option: Any) -> list[str]:
        if not isinstance(option, dict):
            return ["an option is a mapping"]
        instance = self.table.instances.get(str(option.get("instance")))
        if instance is None:
            return [f"{option.get('instance')!r} is not in the price table"]
        count, hours = option.get("count"), option.get("hours")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            return [f"count must be a whole number of at least 1, not {count!r}"]
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or hours <= 0:
            return [f"hours must be a positive number, not {hours!r}"]
        estimate = option.get("estimate_usd")
        if isinstance(estimate, bool) or not isinstance(estimate, (int, float)):
            return [f"estimate_usd must be a number, not {estimate!r}"]
        problems = []
        if instance.max_count is not None and count > instance.max_count:
            problems.append(
                f"{count} x {instance.name}: the table allows at most {instance.max_count}"
            )
        have = {"cpus": instance.cpus, "memory_gb": instance.memory_gb, "gpus": instance.gpus}
        for key, needed in self.needs.items():
            if count * have[key] < needed:
                problems.append(
                    f"{count} x {instance.name} has {count * have[key]:g} {key}; the "
                    f"application needs {needed:g}"
                )
        return problems

    def check(self, ctx: Context, artifact: str) -> str | None:
        try:
            self.options(artifact)
        except AgentError as err:
            return str(err)
        return None

    def check_command(self) -> str:
        return "fractale: check the options against the price table and the application's needs"

    def estimate(self, artifact: str, path: Path) -> dict[str, Any]:
        """The options priced and cross-checked; nothing runs, so a dry run does this too."""
        proposed, assumptions = self.options(artifact)
        priced, checks = [], []
        for option in proposed:
            instance = self.table.instances[option["instance"]]
            cost = option["count"] * instance.price_per_hour * float(option["hours"])
            model = float(option["estimate_usd"])
            priced.append(
                {
                    "instance": instance.name,
                    "count": option["count"],
                    "hours": float(option["hours"]),
                    "price_per_hour": instance.price_per_hour,
                    "cost": round(cost, 4),
                    "model_estimate": model,
                    "reason": option.get("reason", ""),
                }
            )
            if abs(model - cost) > max(TOLERANCE * cost, 0.005):
                checks.append(
                    f"{option['count']} x {instance.name} for {option['hours']:g} h: the model "
                    f"estimated {model:.2f}, fractale computes {cost:.2f} {self.table.currency}"
                )
        priced.sort(key=lambda entry: (entry["cost"], entry["instance"]))
        checks += self.cluster_checks()
        fleet, fleet_checks = self.fleet_prices(priced[0])
        checks += fleet_checks
        json_path = path.with_name("estimate.json")
        write_json(
            json_path,
            {
                "prices": str(self.table.path),
                "currency": self.table.currency,
                "options": priced,
                "assumptions": assumptions,
                "checks": checks,
                "fleet": fleet,
            },
        )
        return {
            "artifact": artifact,
            "path": str(path),
            "options": priced,
            "cheapest": priced[0],
            "checks": checks,
            "fleet": fleet,
            "table": self.text(priced, fleet, checks),
            "json_path": str(json_path),
            "prices": str(self.table.path),
        }

    def dry_outputs(self, artifact: str, path: Path) -> dict[str, Any]:
        return self.estimate(artifact, path)

    def execute(self, ctx: Context, artifact: str, path: Path) -> Outcome:
        outputs = self.estimate(artifact, path)
        cheapest = outputs["cheapest"]
        return Outcome(
            True,
            f"cheapest: {cheapest['count']} x {cheapest['instance']} for {cheapest['hours']:g} h, "
            f"{cheapest['cost']:.2f} {self.table.currency}",
            output=outputs["table"],
            returncode=0,
            command=self.check_command(),
            executed=True,
            outputs=outputs,
        )

    def cluster_checks(self) -> list[str]:
        """Table entries that name a registered cluster, against that cluster's own cost."""
        from fractale.store import Store

        entries = [entry for entry in self.table.instances.values() if entry.cluster]
        if not entries:
            return []
        store, checks = Store(), []
        known = set(store.names())
        for entry in entries:
            if entry.cluster not in known:
                checks.append(f"{entry.name}: cluster {entry.cluster!r} is not registered")
                continue
            cost = store.get(entry.cluster).cost
            if cost is None:
                checks.append(f"{entry.name}: cluster {entry.cluster!r} has no cost registered")
            elif abs(cost - entry.price_per_hour) > 1e-9:
                checks.append(
                    f"{entry.name}: the table prices a node-hour at {entry.price_per_hour:g}, "
                    f"cluster {entry.cluster!r} is registered at {cost:g}"
                )
        return checks

    def fleet_prices(self, cheapest: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
        """What the fleet's cost rule says the job costs on each registered cluster."""
        if not self.inputs.get("job"):
            return [], []
        from fractale.fleet import Fleet
        from fractale.store import Store

        store = Store()
        if not store.names():
            return [], ["no clusters are registered: the job was not priced on the fleet"]
        try:
            selection = Fleet(store).select(str(self.inputs["job"]), "cost")
        except FractaleError as err:
            return [], [f"the fleet cannot price the job: {err}"]
        fleet = []
        for cluster, score in selection.scores.items():
            if isinstance(score, dict):
                fleet.append({"cluster": cluster, **score})
        priced = [entry for entry in fleet if entry.get("price") is not None]
        checks = []
        if priced:
            best = min(priced, key=lambda entry: entry["price"])
            relation = "cheaper than" if best["price"] < cheapest["cost"] else "no cheaper than"
            checks.append(
                f"the fleet's cheapest cluster for the job, {best['cluster']} at "
                f"{best['price']:.2f}, is {relation} the cheapest option ({cheapest['cost']:.2f})"
            )
        return fleet, checks

    def text(
        self, priced: list[dict[str, Any]], fleet: list[dict[str, Any]], checks: list[str]
    ) -> str:
        rows = [
            [
                str(rank),
                entry["instance"],
                str(entry["count"]),
                f"{entry['hours']:g}",
                f"{entry['price_per_hour']:g}",
                f"{entry['cost']:.2f}",
                entry["reason"][:60],
            ]
            for rank, entry in enumerate(priced, start=1)
        ]
        headers = [
            "#",
            "instance",
            "count",
            "hours",
            "per hour",
            f"cost ({self.table.currency})",
            "why",
        ]
        text = text_table(headers, rows)
        for entry in fleet:
            price = entry.get("price")
            text += f"\nfleet: {entry['cluster']}: " + (
                f"{entry.get('nodes')} node(s) x {entry.get('hours'):g} h = {price:.2f}"
                if price is not None
                else "no cost registered"
            )
        for check in checks:
            text += f"\ncheck: {check}"
        return text

"""A straightforward pure-Python matcher over ``json.load``: the baseline the core is measured
against. It reads the same JGF, walks the containment tree depth first, and takes the first
vertices that fit, with a set of taken vertices as its allocation state."""

from __future__ import annotations

import json


class PythonGraph:
    def __init__(self, path: str) -> None:
        with open(path) as handle:
            document = json.load(handle)
        nodes = document["graph"]["nodes"]
        self.types = [n["metadata"]["type"] for n in nodes]
        self.sizes = [n["metadata"].get("size", 1) for n in nodes]
        index = {n["id"]: i for i, n in enumerate(nodes)}
        self.children: list[list[int]] = [[] for _ in nodes]
        has_parent = [False] * len(nodes)
        for edge in document["graph"]["edges"]:
            source, target = index[edge["source"]], index[edge["target"]]
            self.children[source].append(target)
            has_parent[target] = True
        self.root = has_parent.index(False)
        self.taken: dict[int, set[int]] = {}
        self.busy: set[int] = set()

    def _find(self, vertex: int, request: dict, free_only: bool, claim: set[int]) -> bool:
        """Does ``vertex`` (of the request's type) hold everything ``request`` asks below it?"""
        for child_request in request.get("with", []):
            if child_request["type"] == "slot":
                if not self._count(vertex, child_request, free_only, claim, slot=True):
                    return False
            elif not self._count(vertex, child_request, free_only, claim):
                return False
        return True

    def _count(self, vertex, request, free_only, claim, slot=False) -> bool:
        """Find ``request['count']`` matches of the request below ``vertex``."""
        wanted = request["count"] if isinstance(request["count"], int) else request["count"]["min"]
        if slot:
            found = 0
            for _ in range(wanted):
                if self._find(vertex, request, free_only, claim):
                    found += 1
            return found == wanted
        found = 0
        stack = list(reversed(self.children[vertex]))
        while stack and found < wanted:
            v = stack.pop()
            if self.types[v] == request["type"]:
                if free_only and (v in self.busy or v in claim):
                    continue
                trial: set[int] = set()
                if self._find(v, request, free_only, trial | claim):
                    claim.add(v)
                    claim.update(trial)
                    found += 1
            else:
                stack.extend(reversed(self.children[v]))
        return found >= wanted

    def _match(self, jobspec: dict, free_only: bool) -> set[int] | None:
        claim: set[int] = set()
        top = {"type": self.types[self.root], "with": jobspec["resources"]}
        return claim if self._find(self.root, top, free_only, claim) else None

    def satisfiable(self, jobspec: dict) -> bool:
        return self._match(jobspec, free_only=False) is not None

    def allocate(self, jobspec: dict) -> int | None:
        claim = self._match(jobspec, free_only=True)
        if claim is None:
            return None
        jobid = len(self.taken) + 1
        while jobid in self.taken:
            jobid += 1
        self.taken[jobid] = claim
        self.busy |= claim
        return jobid

    def release(self, jobid: int) -> None:
        self.busy -= self.taken.pop(jobid)

"""Rules and stories as a graph (intent → action → next), and what no flow uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

from bot.rasa.stories_check import unused_intents, unused_responses
from bot.studio.workspace import Workspace

SKIPPED_ACTIONS = frozenset({"action_listen", "action_session_start", "action_restart"})
HEADLINE = "usage, tip accepted, upgrade with installment, applied"
"""The headline story (data/stories/headline.yml)."""


@dataclass(frozen=True)
class Flow:
    """One rule or story as the path of steps it walks."""

    name: str
    kind: str
    file: str
    steps: tuple[str, ...]
    """``intent:<name>`` and ``action:<name>`` nodes in order (form bookkeeping left out)."""


@dataclass
class Graph:
    """Nodes with how many flows use them, and edges between consecutive steps."""

    flows: list[Flow] = field(default_factory=list)
    nodes: dict[str, int] = field(default_factory=dict)
    edges: dict[tuple[str, str], int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "flows": [f.__dict__ | {"steps": list(f.steps)} for f in self.flows],
            "nodes": [{"id": n, "uses": c} for n, c in sorted(self.nodes.items())],
            "edges": [{"from": a, "to": b, "uses": c} for (a, b), c in sorted(self.edges.items())],
            "headline": HEADLINE,
        }


def graph(ws: Workspace) -> Graph:
    """Every rule and story of the working copy (or the project) as one graph."""
    out = Graph()
    data = ws.path("data")
    for path in sorted(p for p in data.rglob("*.yml") if "nlu" not in p.relative_to(data).parts):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for kind in ("rules", "stories"):
            for block in doc.get(kind) or []:
                steps = tuple(_steps(block.get("steps") or []))
                name = str(block.get("rule") or block.get("story") or "?")
                out.flows.append(Flow(name, "rule" if kind == "rules" else "story", path.name, steps))
                for node in steps:
                    out.nodes[node] = out.nodes.get(node, 0) + 1
                for a, b in pairwise(steps):
                    out.edges[(a, b)] = out.edges.get((a, b), 0) + 1
    return out


def unused(project: Path) -> dict[str, list[str]]:
    """Intents no flow or test uses, responses nothing runs (the ``make stories-check`` lists)."""
    return {"intents": unused_intents(project), "responses": unused_responses(project)}


def path_of_events(events: list[dict[str, Any]]) -> list[str]:
    """A conversation's path from Rasa tracker events: user intents and the actions that ran."""
    path = []
    for event in events:
        if event.get("event") == "user":
            intent = (event.get("parse_data") or {}).get("intent") or {}
            if intent.get("name"):
                path.append(f"intent:{intent['name']}")
        elif event.get("event") == "action" and event.get("name") not in SKIPPED_ACTIONS:
            path.append(f"action:{event['name']}")
    return path


def _steps(raw: list[Any]) -> list[str]:
    out = []
    for step in raw:
        if not isinstance(step, dict):
            continue
        if "intent" in step:
            out.append(f"intent:{step['intent']}")
        elif "action" in step:
            out.append(f"action:{step['action']}")
    return out

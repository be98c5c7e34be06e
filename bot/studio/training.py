"""NLU training examples as a designer sees them: per intent, duplicates, held-out overlap, additions."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import InputError
from bot.nlu.evaluate import Example, parse_example, read_examples
from bot.nlu.normalize import normalize
from bot.studio.workspace import Workspace

NLU_DIR = "data/nlu"
HELDOUT = "tests/nlu_heldout.yml"
MAX_EXAMPLE_CHARS = 100


@dataclass(frozen=True)
class Overview:
    """Examples per intent, and the sentences a designer should look at."""

    intents: dict[str, list[dict[str, Any]]]
    duplicates: list[dict[str, Any]]
    """The same sentence (as the NLU sees it) under two or more intents."""
    heldout_overlap: list[str]
    """Training sentences that are also in the held-out evaluation set."""


def overview(ws: Workspace) -> Overview:
    """Read every training file of the working copy (or the project)."""
    examples = training_examples(ws)
    heldout = {normalize(e.text) for e in read_examples(ws.project / HELDOUT)}
    by_text: dict[str, set[str]] = defaultdict(set)
    intents: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for file, ex in examples:
        key = normalize(ex.text)
        by_text[key].add(ex.intent)
        intents[ex.intent].append(
            {
                "text": ex.text,
                "file": file,
                "entities": [list(e) for e in ex.entities],
                "heldout": key in heldout,
            }
        )
    dupes = [{"text": t, "intents": sorted(i)} for t, i in sorted(by_text.items()) if len(i) > 1]
    overlap = sorted(t for t in by_text if t in heldout)
    for items in intents.values():
        for item in items:
            item["duplicate"] = len(by_text[normalize(item["text"])]) > 1
    return Overview(dict(sorted(intents.items())), dupes, overlap)


def training_examples(ws: Workspace) -> list[tuple[str, Example]]:
    """(file name, example) for every intent example under ``data/nlu``."""
    folder = ws.path(NLU_DIR)
    return [(p.name, ex) for p in sorted(folder.glob("*.yml")) for ex in read_examples(p)]


def add_example(ws: Workspace, intent: str, text: str) -> str:
    """Append an example to the intent's block in the working copy; returns the file changed."""
    text = text.strip()
    if not text or len(text) > MAX_EXAMPLE_CHARS or "\n" in text:
        raise InputError(f"例句要有1到{MAX_EXAMPLE_CHARS}个字，且只有一行", code="bad_example")
    parse_example(text, intent)
    ws.ensure()
    for path in sorted((ws.root / NLU_DIR).glob("*.yml")):
        updated = _append(path.read_text(encoding="utf-8"), intent, text)
        if updated is not None:
            path.write_text(updated, encoding="utf-8")
            return f"{NLU_DIR}/{path.name}"
    raise InputError(f"训练数据里没有意图 {intent}", code="unknown_intent", status=404)


def _append(doc: str, intent: str, text: str) -> str | None:
    lines = doc.splitlines(keepends=True)
    header = re.compile(rf"^\s*-\s*intent:\s*{re.escape(intent)}\s*$")
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        return None
    last = start
    indent = "      "
    for i in range(start + 1, len(lines)):
        stripped = lines[i].strip()
        if re.match(r"^-\s*(intent|synonym|lookup|regex):", stripped):
            break
        if stripped.startswith("- "):
            last = i
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    if last == start:
        return None
    lines.insert(last + 1, f"{indent}- {text}\n")
    return "".join(lines)


def heldout_path(project: Path) -> Path:
    """The held-out evaluation set."""
    return project / HELDOUT

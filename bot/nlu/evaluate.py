"""Score NLU parses against an annotated set: intent accuracy, macro F1, entity F1, confusions.

Reads Rasa's NLU YAML (``- intent:`` blocks of ``- example`` lines, entities as ``[text](entity)``
or ``[text]{"entity": ..., "value": ...}``) with a small parser so it runs in either environment.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.nlu.normalize import normalize

_INTENT = re.compile(r"^\s*-\s*intent:\s*(\S+)\s*$")
_EXAMPLE = re.compile(r"^\s+-\s+(.*\S)\s*$")
_BLOCK_END = re.compile(r"^\s*-\s*(?:intent|synonym|lookup|regex):")
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<name>[^)]+)\)|(?P<json>\{[^}]*\}))")


@dataclass(frozen=True)
class Example:
    """One annotated sentence."""

    text: str
    intent: str
    entities: tuple[tuple[str, str], ...]
    """(entity, canonical value as text); the value is the annotated text when none is given."""


def read_examples(path: Path) -> list[Example]:
    """Every intent example of a Rasa NLU YAML file."""
    examples: list[Example] = []
    intent: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        header = _INTENT.match(line)
        if header:
            intent = header.group(1)
            continue
        if _BLOCK_END.match(line):
            intent = None
            continue
        body = _EXAMPLE.match(line)
        if intent and body and not line.lstrip().startswith("examples:"):
            examples.append(parse_example(body.group(1), intent))
    return examples


def parse_example(annotated: str, intent: str) -> Example:
    """Strip ``[text](entity)`` annotations, keeping (entity, value) pairs."""
    entities: list[tuple[str, str]] = []

    def plain(match: re.Match[str]) -> str:
        text = match.group("text")
        if match.group("name"):
            entities.append((match.group("name"), text))
        else:
            spec = json.loads(match.group("json"))
            entities.append((str(spec["entity"]), str(spec.get("value", text))))
        return text

    return Example(_ANNOTATION.sub(plain, annotated), intent, tuple(entities))


@dataclass
class Report:
    """Scores of one evaluation run."""

    total: int = 0
    correct: int = 0
    intent_f1: dict[str, float] = field(default_factory=dict)
    entity_tp: int = 0
    entity_fp: int = 0
    entity_fn: int = 0
    confusions: list[dict[str, Any]] = field(default_factory=list)
    entity_errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        """Share of examples whose top intent is the annotated one."""
        return self.correct / self.total if self.total else 0.0

    @property
    def macro_f1(self) -> float:
        """Unweighted mean of the per-intent F1 scores."""
        return sum(self.intent_f1.values()) / len(self.intent_f1) if self.intent_f1 else 0.0

    @property
    def entity_f1(self) -> float:
        """Micro F1 over (entity, canonical value) pairs."""
        denominator = 2 * self.entity_tp + self.entity_fp + self.entity_fn
        return 2 * self.entity_tp / denominator if denominator else 1.0

    def summary(self) -> dict[str, Any]:
        """Flat figures for results.json."""
        return {
            "nlu_intent_accuracy": round(self.intent_accuracy, 4),
            "nlu_intent_macro_f1": round(self.macro_f1, 4),
            "nlu_entity_f1": round(self.entity_f1, 4),
            "nlu_heldout_examples": self.total,
        }


def predicted_entities(parse: dict[str, Any]) -> list[tuple[str, str]]:
    """(entity, value as text) pairs of a Rasa parse result."""
    return [(str(e.get("entity")), str(e.get("value"))) for e in parse.get("entities") or []]


def score(examples: Iterable[Example], parse: Callable[[str], dict[str, Any]]) -> Report:
    """Parse every example and compare intent and entities with the annotations."""
    report = Report()
    pairs: list[tuple[str, str]] = []
    for example in examples:
        result = parse(example.text)
        predicted = str((result.get("intent") or {}).get("name"))
        pairs.append((example.intent, predicted))
        report.total += 1
        if predicted == example.intent:
            report.correct += 1
        else:
            report.confusions.append({"text": example.text, "expected": example.intent, "got": predicted})
        _score_entities(report, example, predicted_entities(result))
    report.intent_f1 = _per_intent_f1(pairs)
    return report


def _score_entities(report: Report, example: Example, got: list[tuple[str, str]]) -> None:
    expected, found = Counter(example.entities), Counter(got)
    hits = sum((expected & found).values())
    report.entity_tp += hits
    report.entity_fp += sum(found.values()) - hits
    report.entity_fn += sum(expected.values()) - hits
    if expected != found:
        report.entity_errors.append(
            {"text": example.text, "expected": sorted(expected), "got": sorted(found)}
        )


def _per_intent_f1(pairs: list[tuple[str, str]]) -> dict[str, float]:
    scores: dict[str, float] = {}
    for intent in sorted({expected for expected, _ in pairs}):
        tp = sum(1 for e, p in pairs if e == intent and p == intent)
        fp = sum(1 for e, p in pairs if e != intent and p == intent)
        fn = sum(1 for e, p in pairs if e == intent and p != intent)
        scores[intent] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return scores


def render(report: Report) -> str:
    """Human-readable report: headline figures, per-intent F1, confusions and entity errors."""
    lines = [
        f"examples: {report.total}",
        f"intent accuracy: {report.intent_accuracy:.4f}",
        f"intent macro F1: {report.macro_f1:.4f}",
        f"entity F1: {report.entity_f1:.4f} (tp {report.entity_tp}, fp {report.entity_fp}, "
        f"fn {report.entity_fn})",
        "per-intent F1:",
        *(f"  {name:<20} {f1:.3f}" for name, f1 in report.intent_f1.items()),
        f"confusions ({len(report.confusions)}):",
        *(f"  {c['expected']} → {c['got']}: {c['text']}" for c in report.confusions),
        f"entity errors ({len(report.entity_errors)}):",
        *(f"  {e['text']}: expected {e['expected']}, got {e['got']}" for e in report.entity_errors),
    ]
    return "\n".join(lines)


NOT_A_MISFIRE = frozenset(
    {"out_of_scope", "device_control", "nlu_fallback", "greet", "goodbye", "bot_challenge",
     "repeat", "speak_slower"}
)  # fmt: skip
"""Intents that commit or offer nothing; any other intent on a negative sentence is a misfire (a
finance, offer, consent or confirmation intent: affirm, deny and inform included)."""


@dataclass
class NegativeReport:
    """How the NLU treats sentences that are not the skill's business."""

    total: int = 0
    misfires: list[dict[str, Any]] = field(default_factory=list)

    @property
    def misfire_rate(self) -> float:
        """Share of negatives that got a finance, offer, consent or confirmation intent."""
        return len(self.misfires) / self.total if self.total else 0.0


def score_negatives(examples: Iterable[Example], parse: Callable[[str], dict[str, Any]]) -> NegativeReport:
    """Parse every negative sentence; list those that got an intent outside ``NOT_A_MISFIRE``."""
    report = NegativeReport()
    for example in examples:
        intent = parse(example.text).get("intent") or {}
        report.total += 1
        if str(intent.get("name")) not in NOT_A_MISFIRE:
            report.misfires.append(
                {"text": example.text, "got": intent.get("name"), "confidence": intent.get("confidence")}
            )
    return report


def normalized_texts(examples: Iterable[Example]) -> set[str]:
    """Texts as the NLU sees them (for overlap checks between training and held-out sets)."""
    return {normalize(e.text) for e in examples}

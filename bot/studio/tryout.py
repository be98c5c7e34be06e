"""What the NLU made of an utterance, for a designer: normalised text, ranking, entities, fallback."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml
from sqlmodel import Session

from bot.finance.catalog import products

FALLBACK = "nlu_fallback"


def fallback_threshold(config_text: str) -> float:
    """The FallbackClassifier threshold of a Rasa ``config.yml`` (0 when there is none)."""
    doc = yaml.safe_load(config_text) or {}
    for component in doc.get("pipeline") or []:
        if isinstance(component, dict) and component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0))
    return 0.0


def explain(parse: dict[str, Any], normalized: str, threshold: float, words: set[str]) -> dict[str, Any]:
    """The designer's view: parse result plus normalised text, fallback reason and catalog flags."""
    ranking = [r for r in parse.get("intent_ranking") or [] if isinstance(r, dict)]
    intent = parse.get("intent") or {}
    reason = None
    if intent.get("name") == FALLBACK:
        best = next((r for r in ranking if r.get("name") != FALLBACK), None)
        if best is not None:
            reason = (
                f"最可能的意图 {best['name']} 置信度 {float(best.get('confidence', 0)):.2f}，"
                f"低于阈值 {threshold:.2f}，所以走了兜底"
            )
    entities = [
        {
            "entity": e.get("entity"),
            "value": e.get("value"),
            "text": _span(parse.get("text") or normalized, e),
            "extractor": e.get("extractor"),
            "in_catalog": e.get("entity") not in ("brand", "product") or str(e.get("value")) in words,
        }
        for e in parse.get("entities") or []
    ]
    return {
        "text": parse.get("text"),
        "normalized": normalized,
        "intent": intent,
        "intent_ranking": ranking[:10],
        "entities": entities,
        "fallback": reason,
        "threshold": threshold,
    }


def catalog_words(session: Session, tenant_id: str) -> dict[str, list[str]]:
    """The words of a tenant's catalog a designer can use: categories, brands, products."""
    items = products(session, tenant_id)
    return {
        "device_type": _sorted(p.category for p in items),
        "brand": _sorted(p.brand for p in items),
        "product": _sorted(p.sku for p in items),
        "names": _sorted(p.name for p in items),
    }


def words_of(catalog: dict[str, list[str]]) -> set[str]:
    """Every brand and SKU of a catalog (for the ``in_catalog`` flag of entities)."""
    return set(catalog["brand"]) | set(catalog["product"])


def _sorted(values: Iterable[str]) -> list[str]:
    return sorted(set(values))


def _span(text: str, entity: dict[str, Any]) -> str | None:
    start, end = entity.get("start"), entity.get("end")
    if isinstance(start, int) and isinstance(end, int):
        return text[start:end]
    return None

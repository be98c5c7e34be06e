"""Custom Rasa 3.6 NLU components (engine environment): turn normalisation, numeral entities and the
boundary gate.

Referenced from config.yml by dotted path (``bot.nlu.components.TextNormalizer``); Rasa imports
this module from the project folder. Importing it also registers the spaCy tokenizer of
:mod:`bot.nlu.spacy_zh`, which the pipeline folder loaded by ``SpacyNLP`` needs.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import bot.nlu.spacy_zh  # noqa: F401  (registers the spaCy tokenizer used by models/spacy-zh)
from bot.nlu.gate import gate
from bot.nlu.normalize import normalize
from bot.nlu.numerals import extract_numbers
from bot.nlu.periods import extract_periods
from bot.nlu.text import moved_span

_LOGGER = logging.getLogger(__name__)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class TextNormalizer(GraphComponent):  # type: ignore[misc]
    """Applies bot.nlu.normalize.normalize to every message, at training and at run time alike."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TextNormalizer:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Normalise the examples and move their entity annotations with the text."""
        for example in training_data.training_examples:
            _normalize_example(example)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Normalise incoming messages."""
        for message in messages:
            _normalize_example(message)
        return messages


def _normalize_example(message: Message) -> None:
    original = message.get(TEXT)
    if not isinstance(original, str):
        return
    text = normalize(original)
    if text == original:
        return
    entities = []
    for entity in message.get(ENTITIES) or []:
        span = moved_span(original, text, int(entity["start"]), int(entity["end"]))
        if span is None:
            _LOGGER.warning("entity %s lost by normalisation of an example", entity.get("entity"))
            continue
        moved = {**entity, "start": span[0], "end": span[1]}
        if entity.get("value") == original[int(entity["start"]) : int(entity["end"])]:
            moved["value"] = text[span[0] : span[1]]
        entities.append(moved)
    message.set(TEXT, text)
    if message.get(ENTITIES):
        message.set(ENTITIES, entities)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class NumeralEntityExtractor(GraphComponent, EntityExtractorMixin):  # type: ignore[misc]
    """periods, years and amount with canonical numeric values (十二期 → 12, 一万二 → 12000), and
    numbered time periods (最近三天 → last_3_days, 十月份 → month_10) in place of any time_period an
    earlier extractor found in the same words."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> NumeralEntityExtractor:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        """Add the numbers found in each message's (normalised) text to its entities."""
        for message in messages:
            text = message.get(TEXT) or ""
            found = [
                {
                    "entity": n.entity,
                    "value": n.value,
                    "start": n.start,
                    "end": n.end,
                    "confidence": 1.0,
                }
                for n in extract_numbers(text)
            ]
            periods = [
                {"entity": "time_period", "value": p.value, "start": p.start, "end": p.end, "confidence": 1.0}
                for p in extract_periods(text)
            ]
            found = self.add_extractor_name(found + periods)
            kept = [e for e in message.get(ENTITIES) or [] if not _overlaps_any(e, periods)]
            message.set(ENTITIES, kept + found, add_to_output=True)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class BoundaryGate(GraphComponent):  # type: ignore[misc]
    """After the classifier: a sentence without a word of the domain is not a finance, offer, consent
    or confirmation intent, a bare answer without words of its own (or a value the NLU found) is no
    answer, nor is a greeting or farewell without its words (:mod:`bot.nlu.gate`); it becomes
    device_control or out_of_scope."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> BoundaryGate:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        """Overrule the intent of each message the gate says is not ours; the ranking leads with it."""
        for message in messages:
            intent = message.get(INTENT) or {}
            found = {str(e.get("entity")) for e in message.get(ENTITIES) or []}
            name = gate(str(intent.get("name")), message.get(TEXT) or "", found)
            if name is None:
                continue
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != name]
            message.set(INTENT, {"name": name, "confidence": 1.0}, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [{"name": name, "confidence": 1.0}, *ranking], add_to_output=True)
        return messages


def _overlaps_any(entity: dict[str, Any], periods: list[dict[str, Any]]) -> bool:
    """Whether an earlier time_period entity shares characters with a numbered period."""
    if entity.get("entity") != "time_period":
        return False
    start, end = entity.get("start", -1), entity.get("end", -1)
    return any(start < p["end"] and p["start"] < end for p in periods)

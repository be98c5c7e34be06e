"""Training data covers the whole contract; the held-out set is separate from it."""

from __future__ import annotations

from collections import Counter

from bot.config import load_config
from bot.nlu.evaluate import Example, normalized_texts, read_examples

PROJECT = load_config().project_dir
HELDOUT = PROJECT / "tests" / "nlu_heldout.yml"

CONTRACT_INTENTS = {
    "greet", "goodbye", "affirm", "deny", "inform", "ask_energy_usage", "ask_energy_saving",
    "ask_installment", "ask_cost_details", "ask_warranty", "ask_insurance", "ask_trade_in",
    "ask_green_points", "ask_device_status", "ask_why_offer", "consent_grant", "consent_revoke",
    "stop_offers", "cancel_application", "bot_challenge", "out_of_scope",
}  # fmt: skip
"""CONTRACTS.md §1."""
CONTRACT_INTENTS |= {"ask_application_status"}  # CONTRACTS.md §5 (issue 16)
CONTRACT_ENTITIES = {"device_type", "brand", "product", "periods", "years", "amount", "time_period"}
"""CONTRACTS.md §2."""


def training_examples() -> list[Example]:
    return [e for path in sorted((PROJECT / "data" / "nlu").glob("*.yml")) for e in read_examples(path)]


def test_every_contract_intent_has_at_least_30_training_examples() -> None:
    counts = Counter(e.intent for e in training_examples())
    assert set(counts) == CONTRACT_INTENTS
    assert {intent: n for intent, n in counts.items() if n < 30} == {}


def test_training_data_exercises_every_contract_entity_and_recogniser_spacing() -> None:
    examples = training_examples()
    assert {name for e in examples for name, _ in e.entities} == CONTRACT_ENTITIES
    spaced = [e for e in examples if " " in e.text]
    assert len(spaced) >= 60


def test_heldout_set_has_at_least_8_examples_per_intent_with_spaced_variants() -> None:
    examples = read_examples(HELDOUT)
    counts = Counter(e.intent for e in examples)
    assert set(counts) == CONTRACT_INTENTS
    assert min(counts.values()) >= 8
    assert sum(1 for e in examples if " " in e.text) >= len(examples) // 5
    assert {name for e in examples for name, _ in e.entities} == CONTRACT_ENTITIES


def test_heldout_sentences_never_appear_in_training_data() -> None:
    overlap = normalized_texts(read_examples(HELDOUT)) & normalized_texts(training_examples())
    assert overlap == set()


def test_heldout_entity_values_are_canonical() -> None:
    allowed_periods = {"this_month", "last_month", "this_year", "last_year", "last_7_days"}
    for example in read_examples(HELDOUT):
        for name, value in example.entities:
            if name in {"periods", "years", "amount"}:
                assert value.isdigit(), (example.text, name, value)
            if name == "time_period":
                assert value in allowed_periods, (example.text, value)

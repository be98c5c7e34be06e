"""Training data covers the whole contract; the held-out set is separate from it."""

from __future__ import annotations

from collections import Counter

from bot.config import load_config
from bot.nlu.evaluate import Example, normalized_texts, read_examples
from bot.periods import SAME_PERIOD_LAST_YEAR, is_time_period

PROJECT = load_config().project_dir
HELDOUT = PROJECT / "tests" / "nlu_heldout.yml"

CONTRACT_INTENTS = {
    "greet", "goodbye", "affirm", "deny", "inform", "ask_energy_usage", "ask_energy_saving",
    "ask_installment", "ask_cost_details", "ask_warranty", "ask_insurance", "ask_trade_in",
    "ask_green_points", "ask_device_status", "ask_why_offer", "consent_grant", "consent_revoke",
    "stop_offers", "cancel_application", "bot_challenge", "out_of_scope",
    # CONTRACTS.md §5 (issue 17)
    "complain", "repeat", "speak_slower", "explain_term", "redeem_points", "ask_subscription",
}  # fmt: skip
"""CONTRACTS.md §1 and §5."""
CONTRACT_INTENTS |= {"ask_application_status"}  # CONTRACTS.md §5 (issue 16)
BOUNDARY_INTENTS = {"device_control"}
"""Issue 18: commands for the host assistant (lights, timers, media…), answered with handled: false."""
INTENTS = CONTRACT_INTENTS | BOUNDARY_INTENTS
NEGATIVES = (PROJECT / "tests" / "nlu_negatives.yml", PROJECT / "tests" / "nlu_negatives_b.yml")
REASON_NEGATIVES = tuple(PROJECT / "tests" / f"nlu_negatives_{batch}.yml" for batch in "cde")
"""Batches C, D and E, labelled by the reason a turn is handed back for (docs/nlu.md)."""
CONTRACT_ENTITIES = {"device_type", "brand", "product", "periods", "years", "amount", "time_period"}
"""CONTRACTS.md §2."""


def training_examples() -> list[Example]:
    return [e for path in sorted((PROJECT / "data" / "nlu").glob("*.yml")) for e in read_examples(path)]


def test_every_contract_intent_has_at_least_30_training_examples() -> None:
    counts = Counter(e.intent for e in training_examples())
    assert set(counts) == INTENTS
    assert {intent: n for intent, n in counts.items() if n < 30} == {}


def test_training_data_exercises_every_contract_entity_and_recogniser_spacing() -> None:
    examples = training_examples()
    assert {name for e in examples for name, _ in e.entities} == CONTRACT_ENTITIES
    spaced = [e for e in examples if " " in e.text]
    assert len(spaced) >= 60


def test_heldout_set_has_at_least_8_examples_per_intent_with_spaced_variants() -> None:
    examples = read_examples(HELDOUT)
    counts = Counter(e.intent for e in examples)
    assert set(counts) == INTENTS
    assert min(counts.values()) >= 8
    assert sum(1 for e in examples if " " in e.text) >= len(examples) // 5
    assert {name for e in examples for name, _ in e.entities} == CONTRACT_ENTITIES


def test_heldout_sentences_never_appear_in_training_data() -> None:
    overlap = normalized_texts(read_examples(HELDOUT)) & normalized_texts(training_examples())
    assert overlap == set()


def test_heldout_entity_values_are_canonical() -> None:

    for example in read_examples(HELDOUT):
        for name, value in example.entities:
            if name in {"periods", "years", "amount"}:
                assert value.isdigit(), (example.text, name, value)
            if name == "time_period":
                assert is_time_period(value) or value == SAME_PERIOD_LAST_YEAR, (example.text, value)


def test_heldout_negatives_are_device_commands_and_chatter_never_trained_on() -> None:
    negatives = [e for path in NEGATIVES for e in read_examples(path)]
    counts = Counter(e.intent for e in negatives)
    assert set(counts) == {"device_control", "out_of_scope"}
    assert counts["device_control"] >= 180 and counts["out_of_scope"] >= 60
    assert sum(1 for e in negatives if " " in e.text) >= len(negatives) // 10
    trained = normalized_texts(training_examples())
    assert normalized_texts(negatives) & trained == set()
    assert normalized_texts(negatives) & normalized_texts(read_examples(HELDOUT)) == set()


def test_reason_labelled_negatives_cover_every_reason_and_are_never_trained_on() -> None:
    seen = normalized_texts(training_examples()) | normalized_texts(read_examples(HELDOUT))
    seen |= normalized_texts([e for path in NEGATIVES for e in read_examples(path)])
    for path in REASON_NEGATIVES:
        batch = read_examples(path)
        counts = Counter(e.intent for e in batch)
        assert set(counts) == {"device_control", "out_of_scope", "chitchat"}, path
        assert min(counts.values()) >= 25 and len(batch) >= 100, path
        assert sum(1 for e in batch if " " in e.text) >= len(batch) // 10, path
        texts = normalized_texts(batch)
        assert len(texts) == len(batch) and texts & seen == set(), path
        seen |= texts

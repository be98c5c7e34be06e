"""The pure helpers of the benchmark suite (no stack, no timings)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bench.__main__ import BENCHMARKS, derived
from bench.baseline import alternate, project_files, write_project
from bench.conversation import extra_waits, growth_pct, latency_ratio
from bench.stats import percentile
from bench.voice import eos_frame, frames


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == pytest.approx(50.5)
    assert percentile(values, 0.95) == pytest.approx(95.05)
    assert percentile([3.0], 0.95) == 3.0


def test_latency_ratio_compares_the_last_window_with_the_first() -> None:
    latencies = [10.0] * 50 + [99.0] * 450 + [15.0] * 50
    assert latency_ratio(latencies, 50) == pytest.approx(1.5)


def test_growth_and_extra_waits() -> None:
    assert growth_pct(1000.0, 1100.0) == pytest.approx(10.0)
    assert extra_waits([50.0, 120.0, 200.0], [40.0, 50.0, 60.0]) == [0.0, 70.0, 150.0]


def test_frames_cut_pcm_into_30_ms_pieces_and_find_the_end_of_speech() -> None:
    pcm = bytes(16000 * 2)  # one second
    chunks = frames(pcm, 30)
    assert len(chunks) == 34 and len(chunks[0]) == 960 and len(chunks[-1]) == 320
    assert eos_frame(0.0) == 0
    assert eos_frame(0.061) == 2  # 61 ms lies in the third frame


def test_ratio_is_taken_from_our_turns_timed_alongside_the_stock_ones() -> None:
    figures = {"turn_p95_ms": 90.0, "turn_alongside_baseline_p95_ms": 66.0, "baseline_turn_p95_ms": 60.0}
    assert derived(figures) == {"turn_p95_ratio_vs_baseline": 1.1, "turn_p95_ratio_vs_baseline_apart": 1.5}
    assert derived({"turn_p95_ms": 90.0, "baseline_turn_p95_ms": 60.0}) == {
        "turn_p95_ratio_vs_baseline_apart": 1.5
    }
    assert derived({"turn_p95_ms": 90.0, "turn_alongside_baseline_p95_ms": 66.0}) == {}


def test_the_two_assistants_alternate_in_blocks_after_both_warm_up() -> None:
    calls: list[tuple[str, int]] = []

    def turn(name: str) -> Callable[[int], float]:
        def one(i: int) -> float:
            calls.append((name, i))
            return float(i)

        return one

    stock, ours = alternate(turn("stock"), turn("ours"), count=5, warmup=2, block=2)
    assert stock == ours == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert calls == [
        ("stock", 0), ("ours", 0), ("stock", 1), ("ours", 1),
        ("stock", 2), ("stock", 3), ("ours", 2), ("ours", 3),
        ("stock", 4), ("stock", 5), ("ours", 4), ("ours", 5),
        ("stock", 6), ("ours", 6),
    ]  # fmt: skip


def test_every_benchmark_module_has_a_run_function() -> None:
    import importlib

    for name in BENCHMARKS:
        assert callable(importlib.import_module(name).run), name


def test_stock_project_answers_every_intent_with_a_plain_response() -> None:
    files = project_files(["greet", "ask_energy_usage", "nlu_fallback"], ["device_type"])
    domain, rules = files["domain.yml"], files["data/rules.yml"]["rules"]
    assert domain["intents"] == ["greet", "ask_energy_usage"]
    assert set(domain["responses"]) == {"utter_greet", "utter_ask_energy_usage", "utter_nlu_fallback"}
    assert {r["steps"][0]["intent"] for r in rules} == {"greet", "ask_energy_usage", "nlu_fallback"}
    names = [c["name"] for c in files["config.yml"]["pipeline"]]
    assert names[0] == "JiebaTokenizer" and "DIETClassifier" in names
    assert not any(n.startswith("bot.") or n.startswith("Spacy") for n in names)


def test_stock_project_gets_our_nlu_data(tmp_path: Path) -> None:
    write_project(tmp_path)
    ours = sorted(p.name for p in (Path(__file__).parent.parent / "data" / "nlu").glob("*.yml"))
    assert sorted(p.name for p in (tmp_path / "data" / "nlu").glob("*.yml")) == ours
    domain = yaml.safe_load((tmp_path / "domain.yml").read_text(encoding="utf-8"))
    assert "ask_energy_usage" in domain["intents"] and "device_type" in domain["entities"]


class _Answers:
    """Stands in for a running stack: canned converse outcomes by text."""

    def __init__(self, outcomes: dict[str, dict[str, object]]) -> None:
        self.outcomes = outcomes

    def converse(self, token: str, text: str) -> tuple[int, dict[str, object]]:
        return 200, self.outcomes[text]


def test_negatives_count_handled_turns_and_wrong_reasons() -> None:
    from bench.nlu import converse_negatives
    from bot.nlu.evaluate import Example

    stack = _Answers(
        {
            "开灯": {"handled": False, "reason": "device_control"},
            "讲个笑话": {"handled": False, "reason": "out_of_scope"},
            "你好": {"handled": True},
            "几点了": {"handled": False, "reason": "out_of_scope"},
        }
    )
    examples = [
        Example("开灯", "device_control", ()),
        Example("讲个笑话", "chitchat", ()),
        Example("你好", "chitchat", ()),
        Example("几点了", "out_of_scope", ()),
    ]
    turns = converse_negatives(stack, examples)  # type: ignore[arg-type]
    assert turns.handled == ["你好"] and turns.handled_false_rate == pytest.approx(0.75)
    assert turns.reason_agreement == pytest.approx(0.5)
    unlabelled = converse_negatives(stack, [Example("开灯", "negative", ())])  # type: ignore[arg-type]
    assert unlabelled.reasons == [] and unlabelled.reason_agreement == 0.0


def test_vad_bench_reads_onset_offset_and_false_endpoints_from_the_endpointer() -> None:
    import numpy as np

    from bench.vad import Recording, judge
    from bot.speech.vad import FRAME_BYTES, VadSettings

    settings = VadSettings(trailing_silence_ms=300)
    loud = np.full(FRAME_BYTES // 2, 1000, dtype="<i2")
    quiet = np.zeros(FRAME_BYTES // 2, dtype="<i2")

    def audio(pattern: str) -> np.ndarray:
        return np.concatenate([loud if c == "S" else quiet for c in pattern])

    def by_level(frame: bytes) -> bool:
        return bool(frame[:2] != b"\x00\x00")

    speech = "." * 10 + "S" * 20 + "." * 20  # speech from 300 to 900 ms
    whole = judge(Recording("x", audio(speech), 300.0, 900.0), settings, by_level, [0.0])
    assert (whole.onset_error_ms, whole.offset_error_ms) == (0.0, 0.0)
    assert not whole.false_endpoint and not whole.no_end and whole.starts == 1
    split = "." * 10 + "S" * 8 + "." * 11 + "S" * 8 + "." * 20  # a 330 ms pause ends it early
    cut = judge(Recording("y", audio(split), 300.0, 1110.0), settings, by_level, [0.0])
    assert cut.false_endpoint and cut.starts == 2
    endless = judge(Recording("z", audio("." * 10 + "S" * 30), 300.0, 900.0), settings, by_level, [0.0])
    assert endless.no_end and endless.offset_error_ms is None

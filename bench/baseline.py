"""Baseline in the same run: a stock Rasa assistant of the same size, timed beside ours.

A temporary Rasa project gets our NLU data (``data/nlu/*.yml`` with lookups and synonyms) and the
domain's intents and entities, one plain ``utter_<intent>`` response and one rule per intent, and
the pipeline stock Rasa offers for Chinese without our components (JiebaTokenizer, RegexFeaturizer,
char n-gram CountVectorsFeaturizer, DIETClassifier, EntitySynonymMapper, FallbackClassifier) with
RulePolicy. It is trained with the engine's ``rasa train`` and served by ``rasa run`` on a free
port; REST turns go straight to it (no gateway, no action server, no database), the same number of
turns with the same questions as ``bench.turns``.

Our stack's turns are timed again **alongside** the stock ones: after both warm up, the two take
turns in blocks of ``BLOCK`` (stock, ours, stock, …), so a drift of the machine over the run (a
neighbour, a frequency change, the minutes that training takes) falls on both.
``turn_p95_ratio_vs_baseline`` is ours over stock from these alternating blocks;
``turn_p95_ratio_vs_baseline_apart`` keeps the ratio of ``bench.turns``' p95 (taken at the start of
the run) over the stock p95, for comparison with earlier runs.

``train_seconds`` is ours: ``bot train --force`` into a temporary models folder (``models/`` is
never touched).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from bench import turns
from bench.stats import percentile
from bot.config import PROJECT_ROOT, load_config
from bot.errors import StackError
from bot.rasa.training import engine_env, rasa_executable, train
from bot.testing.harness import RunningStack, free_port

PIPELINE: list[dict[str, Any]] = [
    {"name": "JiebaTokenizer"},
    {"name": "RegexFeaturizer", "use_lookup_tables": True, "use_word_boundaries": False},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
    {"name": "CountVectorsFeaturizer"},
    {"name": "DIETClassifier", "epochs": 100, "constrain_similarities": True, "random_seed": 7},
    {"name": "EntitySynonymMapper"},
    {"name": "FallbackClassifier", "threshold": 0.45, "ambiguity_threshold": 0.05},
]
"""Stock components only, with Rasa's default DIET (two transformer layers) for 100 epochs and our
thresholds: the stock assistant issue 23's goals were set against. Ours has had a smaller DIET since
(no transformer layers, ``config.yml``); the baseline stays what the goals were measured on."""
POLICIES: list[dict[str, Any]] = [{"name": "RulePolicy"}]
SERVE_TIMEOUT_S = 300.0
BLOCK = 20
"""Turns per block when the stock assistant and ours alternate."""


def project_files(intents: Iterable[str], entities: Iterable[str]) -> dict[str, Any]:
    """The generated project's config, domain and rules, as YAML-ready data."""
    names = [i for i in intents if i != "nlu_fallback"]
    responses = {f"utter_{name}": [{"text": f"这是对「{name}」的回答。"}] for name in names}
    responses["utter_nlu_fallback"] = [{"text": "抱歉，我没听懂。"}]
    rules = [
        {"rule": f"answer {name}", "steps": [{"intent": name}, {"action": f"utter_{name}"}]}
        for name in [*names, "nlu_fallback"]
    ]
    return {
        "config.yml": {
            "recipe": "default.v1",
            "language": "zh",
            "assistant_id": "stock-baseline",
            "pipeline": PIPELINE,
            "policies": POLICIES,
        },
        "domain.yml": {
            "version": "3.1",
            "intents": names,
            "entities": list(entities),
            "responses": responses,
            "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": False},
        },
        "data/rules.yml": {"version": "3.1", "rules": rules},
        "credentials.yml": {"rest": None},
    }


def write_project(target: Path, source: Path = PROJECT_ROOT) -> None:
    """Generate the stock project under ``target`` from our domain and NLU data."""
    domain = yaml.safe_load((source / "domain.yml").read_text(encoding="utf-8"))
    files = project_files(domain["intents"], domain.get("entities", []))
    (target / "data" / "nlu").mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        text = yaml.safe_dump(content, allow_unicode=True, sort_keys=False)
        (target / name).write_text(text, encoding="utf-8")
    for nlu in sorted((source / "data" / "nlu").glob("*.yml")):
        shutil.copy(nlu, target / "data" / "nlu" / nlu.name)


def _run_rasa(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    exe = str(rasa_executable(load_config()))
    result = subprocess.run(
        [exe, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"rasa {args[0]} failed: {(result.stdout + result.stderr)[-2000:]}")


def _post(url: str, payload: dict[str, Any]) -> Any:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVE_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"rasa run exited:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2) as resp:
                if json.loads(resp.read()).get("model_file"):
                    return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"rasa run not ready in {SERVE_TIMEOUT_S} s")


Turn = Callable[[int], float]
"""The ``i``-th turn of ``bench.turns``' sequence on one assistant; its wall time in ms."""


def stock_turn(port: int) -> Turn:
    """A REST turn to the stock assistant: the ``bench.turns`` questions over three senders."""
    url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"

    def one(i: int) -> float:
        started = time.perf_counter()
        _post(url, {"sender": f"baseline-{i % 3}", "message": turns.QUESTIONS[i % len(turns.QUESTIONS)]})
        return (time.perf_counter() - started) * 1000

    return one


def alternate(
    first: Turn, second: Turn, count: int, warmup: int, block: int
) -> tuple[list[float], list[float]]:
    """Both assistants' ``count`` turns after ``warmup`` each, timed in alternating blocks."""
    for i in range(warmup):
        first(i)
        second(i)
    a: list[float] = []
    b: list[float] = []
    for start in range(warmup, warmup + count, block):
        numbers = range(start, min(start + block, warmup + count))
        a += [first(i) for i in numbers]
        b += [second(i) for i in numbers]
    return a, b


def stock_turns(workdir: Path, ours: Turn) -> tuple[list[float], list[float], float]:
    """Train and serve the stock assistant; its turn latencies and ours, timed alternately, and its
    training seconds."""
    write_project(workdir)
    env = engine_env()
    started = time.monotonic()
    _run_rasa(["train", "--out", "models", "--fixed-model-name", "stock"], workdir, env)
    train_s = time.monotonic() - started
    port = free_port()
    log = workdir / "rasa.log"
    argv = [str(rasa_executable(load_config())), "run", "--model", "models/stock.tar.gz"]
    argv += ["--credentials", "credentials.yml", "-i", "127.0.0.1", "-p", str(port), "--enable-api"]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(port, proc, log)
        stock, alongside = alternate(stock_turn(port), ours, turns.TURNS, turns.WARMUP, BLOCK)
        return stock, alongside, train_s
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


PROJECT_INPUTS = ("config.yml", "domain.yml", "credentials.yml", "data", "bot")
"""What training reads: copied, so the shared ``models/`` (spaCy pipeline included) stays untouched."""


def our_train_seconds(tmp: Path) -> float:
    """``bot train --force`` (spaCy build + ``rasa train``) on a copy of the project, models in ``tmp``."""
    project = tmp / "project"
    project.mkdir()
    for name in PROJECT_INPUTS:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, project / name)
    (project / "models").mkdir()
    config = replace(load_config(), project_dir=project, models_dir=project / "models")
    _, seconds = train(config, force=True)
    return round(seconds or 0.0, 1)


def run(stack: RunningStack) -> dict[str, Any]:
    """Baseline turn latency, ours alongside it, and our training time (``bench.__main__`` derives
    the ratios)."""
    # A fresh, empty Rasa cache: a warm one turns both trainings into cache hits (seconds).
    os.environ["RASA_CACHE_DIRECTORY"] = tempfile.mkdtemp(prefix="rasa-cache-bench-")
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        samples, alongside, stock_train_s = stock_turns(Path(tmp), lambda i: turns.turn(stack, i))
    figures: dict[str, Any] = {
        "baseline_turn_p50_ms": round(statistics.median(samples), 1),
        "baseline_turn_p95_ms": round(percentile(samples, 0.95), 1),
        "turn_alongside_baseline_p50_ms": round(statistics.median(alongside), 1),
        "turn_alongside_baseline_p95_ms": round(percentile(alongside, 0.95), 1),
        "baseline_train_seconds": round(stock_train_s, 1),
    }
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        try:
            figures["train_seconds"] = our_train_seconds(Path(tmp))
        except StackError as err:  # keep the baseline's figures
            print(f"training our model failed: {err}", flush=True)
    return figures

"""``make stories-check``: a designer's report on the dialogue data.

1. ``rasa data validate`` (domain, NLU, stories and rules agree);
2. the conversation tests (``tests/test_*.yml``) against the trained model, listing failed stories;
3. the outcome-level conversation tests (``tests/conversations/*.yml``) through a real stack (pytest
   runs ``tests/test_conversations.py``), with what the assistant actually said for each failure;
4. intents no story, rule or conversation test uses, and responses no story, rule or action uses.

Rasa runs in the engine environment as a subprocess; nothing here imports it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.config import Config, load_config
from bot.rasa.training import engine_env, rasa_executable, train

TESTS_DIR = "tests"
OUTCOME_TESTS = "tests/test_conversations.py"
_SUMMARY = re.compile(r"(\d+) (passed|failed|error)")
_UTTER = re.compile(r"\"(utter_[a-z0-9_]*)")
_BUILTIN_INTENTS = frozenset({"nlu_fallback"})


@dataclass
class StoryRun:
    """Outcome of ``rasa test core`` on the conversation tests."""

    ok: bool
    stories: int
    failed: list[str] = field(default_factory=list)
    output: str = ""


def validate(config: Config, domain: Path | None = None, data: Path | None = None) -> tuple[bool, list[str]]:
    """``rasa data validate --fail-on-warnings``: success and its warnings (unused responses aside).

    ``domain`` and ``data`` check other files than the project's (a designer's working copy).
    """
    files = ["--domain", str(domain or "domain.yml"), "--data", str(data or "data")]
    result = _rasa(config, "data", "validate", "--fail-on-warnings", *files)
    lines = (result.stdout + result.stderr).splitlines()
    warnings = [
        line.strip()
        for line in lines
        if ("UserWarning" in line or "ERROR" in line) and "is not used in any story or rule" not in line
    ]
    return result.returncode == 0, warnings


def run_conversation_tests(config: Config, out_dir: Path, fail_fast: bool = False) -> StoryRun:
    """Run the conversation tests with the model for the current data (trained if missing)."""
    model, _ = train(config)
    args = ["test", "core", "--model", str(model), "--stories", TESTS_DIR, "--out", str(out_dir)]
    if fail_fast:
        args.append("--fail-on-prediction-errors")
    result = _rasa(config, *args)
    failed_file = out_dir / "failed_test_stories.yml"
    failed = _story_names(failed_file) if failed_file.exists() else []
    total = len(_story_names_in(config.project_dir / TESTS_DIR))
    return StoryRun(result.returncode == 0 and not failed, total, failed, result.stdout + result.stderr)


@dataclass
class OutcomeRun:
    """Outcome of the outcome-level conversation tests (pytest on a real stack)."""

    ok: bool
    passed: int
    failed: int
    details: list[str] = field(default_factory=list)
    """For each failed case: what was expected and what the assistant actually said."""


def run_outcome_tests(config: Config) -> OutcomeRun:
    """Run ``tests/test_conversations.py`` (real Rasa, action server and gateway) and read its result."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", OUTCOME_TESTS, "-m", "stack", "-q", "-p", "no:cacheprovider"],
        cwd=config.project_dir,
        capture_output=True,
        text=True,
        timeout=3600,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return parse_outcome(result.returncode, result.stdout + result.stderr)


def parse_outcome(returncode: int, output: str) -> OutcomeRun:
    """pytest's summary and the failed cases' descriptions (``bot.studio.runner.describe``)."""
    counts = {kind: 0 for kind in ("passed", "failed", "error")}
    for line in output.splitlines()[-5:]:
        for number, kind in _SUMMARY.findall(line):
            counts[kind] = int(number)
    keep = ("FAILED: ", "user: ", "expected: ", "actual reply: ", "actual card: ", "error: ")
    details: list[str] = []
    for line in output.splitlines():
        text = line[1:].strip().removeprefix("AssertionError: ") if line.startswith("E ") else ""
        if text.startswith(keep) and text not in details[-1:]:
            details.append(text[:300])
    failed = counts["failed"] + counts["error"]
    return OutcomeRun(returncode == 0 and failed == 0, counts["passed"], failed, details)


def unused_intents(project: Path) -> list[str]:
    """Domain intents that no story, rule or conversation test mentions."""
    used = {step["intent"] for step in _all_steps(project) if "intent" in step}
    return sorted(set(_domain(project).get("intents", [])) - used - _BUILTIN_INTENTS)


def unused_responses(project: Path) -> list[str]:
    """Responses that no story or rule runs and no action names (fully or by prefix)."""
    used = {step["action"] for step in _all_steps(project) if "action" in step}
    named = set()
    for path in (project / "actions").glob("*.py"):
        named.update(_UTTER.findall(path.read_text(encoding="utf-8")))
    prefixes = tuple(n for n in named if n.endswith("_"))
    return sorted(
        r
        for r in _domain(project).get("responses", {})
        if r not in used | named and not r.startswith(prefixes)
    )


def report(config: Config, out_dir: Path) -> tuple[str, bool]:
    """The whole report as text, and whether validation and every conversation test passed."""
    valid, warnings = validate(config)
    run = run_conversation_tests(config, out_dir)
    outcome = run_outcome_tests(config)
    project = config.project_dir
    lines = [
        "Dialogue data report",
        "====================",
        f"rasa data validate: {'ok' if valid else 'FAILED'}",
        *(f"  {w}" for w in warnings),
        f"conversation tests: {run.stories - len(run.failed)}/{run.stories} stories pass",
        *(f"  FAILED: {name}" for name in run.failed),
    ]
    if run.failed:
        lines.append(f"  details: {out_dir / 'failed_test_stories.yml'}")
    if not run.ok and not run.failed:
        lines.append("  rasa test failed:\n" + "\n".join(run.output.strip().splitlines()[-15:]))
    lines.append(
        f"outcome tests (what the assistant says): {outcome.passed}/{outcome.passed + outcome.failed} pass"
    )
    lines += [f"  {d}" for d in outcome.details]
    lines.append(
        "intents never used in stories, rules or tests: " + (", ".join(unused_intents(project)) or "none")
    )
    lines.append("responses never used: " + (", ".join(unused_responses(project)) or "none"))
    return "\n".join(lines), valid and run.ok and outcome.ok


def main(argv: list[str] | None = None) -> int:
    """Print the report; exit 1 when validation or a conversation test fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="results folder (default var/stories-check)")
    args = parser.parse_args(argv)
    config = load_config()
    text, ok = report(config, args.out or config.var_dir / "stories-check")
    print(text)
    return 0 if ok else 1


def _rasa(config: Config, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(rasa_executable(config)), *args],
        cwd=config.project_dir,
        env=engine_env(),
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _domain(project: Path) -> dict[str, Any]:
    return _load(project / "domain.yml")


def _story_files(project: Path) -> list[Path]:
    data = [p for p in (project / "data").rglob("*.yml") if "nlu" not in p.parts]
    return data + sorted((project / TESTS_DIR).glob("test_*.yml"))


def _all_steps(project: Path) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for path in _story_files(project):
        doc = _load(path)
        for block in doc.get("stories", []) + doc.get("rules", []):
            steps.extend(s for s in block.get("steps", []) if isinstance(s, dict))
            steps.extend(s for s in block.get("condition", []) if isinstance(s, dict))
    return steps


def _story_names(path: Path) -> list[str]:
    return [s.get("story", "?") for s in _load(path).get("stories", []) or []]


def _story_names_in(folder: Path) -> list[str]:
    return [name for path in sorted(folder.glob("test_*.yml")) for name in _story_names(path)]


if __name__ == "__main__":
    sys.exit(main())

"""Train the Rasa model in the engine environment, only when its inputs changed (fingerprint)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from bot.config import Config
from bot.errors import StackError
from bot.rasa.progress import OutputReader, Stage, TrainProgress, at

Progress = Callable[[TrainProgress], None]
"""Called with each step of a training run (``bot train`` draws it)."""

MODEL_PREFIX = "skill-"
SPACY_DIR = "models/spacy-zh"
"""The spaCy ``zh`` pipeline SpacyNLP loads (built from data/lexicon by ``bot.nlu.build``)."""
_INPUTS = ("config.yml", "domain.yml")
"""Besides ``data/`` and the NLU's own modules (``bot/nlu/*.py``)."""
_COPIED = frozenset({"domain.yml", "data"})
"""What a designer's working copy replaces (the pipeline and the NLU's code stay the project's)."""


def engine_env() -> dict[str, str]:
    """Environment for Rasa processes: quiet TensorFlow, no telemetry prompts or uploads."""
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        PYTHONWARNINGS="ignore",
    )
    return env


def rasa_executable(config: Config) -> Path:
    """The ``rasa`` command of the engine environment, or a StackError saying how to create it."""
    exe = config.engine_venv / "bin" / "rasa"
    if not exe.exists():
        raise StackError(f"Rasa engine environment missing at {config.engine_venv}: run `make setup`")
    return exe


def training_inputs(project: Path) -> list[Path]:
    """Files whose content decides the model: pipeline, domain and all training data."""
    data = sorted(p for p in (project / "data").rglob("*") if p.is_file())
    components = sorted((project / "bot" / "nlu").glob("*.py"))
    return [project / name for name in _INPUTS] + data + components


def fingerprint(project: Path, copy: Path | None = None) -> str:
    """Hash of the training inputs (paths and contents); with ``copy``, a working copy's
    ``domain.yml`` and ``data/`` stand for the project's (``bot.studio.workspace``)."""
    digest = hashlib.sha256()
    for path in training_inputs(project):
        relative = path.relative_to(project)
        own = copy / relative if copy is not None and relative.parts[0] in _COPIED else path
        digest.update(str(relative).encode())
        digest.update(b"\0")
        digest.update(own.read_bytes() if own.is_file() else b"")
    if copy is not None:  # examples a designer added in new files of the copy
        for extra in sorted(p for p in (copy / "data").rglob("*") if p.is_file()):
            if not (project / extra.relative_to(copy)).is_file():
                digest.update(str(extra.relative_to(copy)).encode() + b"\0" + extra.read_bytes())
    return digest.hexdigest()[:16]


def model_path(config: Config) -> Path:
    """Where the model for the current training inputs is (or will be) stored."""
    return config.models_dir / f"{MODEL_PREFIX}{fingerprint(config.project_dir)}.tar.gz"


def build_spacy(config: Config) -> Path:
    """(Re)build the spaCy pipeline in the engine environment; it must exist to train and to run."""
    out = config.project_dir / SPACY_DIR
    argv = [str(config.engine_venv / "bin" / "python"), "-m", "bot.nlu.build", "--out", str(out)]
    rasa_executable(config)  # fails clearly when the engine environment is missing
    result = subprocess.run(
        argv,
        cwd=config.project_dir,
        env=engine_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"building the spaCy pipeline failed:\n{result.stderr[-2000:]}")
    return out


def train(config: Config, force: bool = False, progress: Progress | None = None) -> tuple[Path, float | None]:
    """Train unless a model for the current inputs exists; returns the model and seconds spent.

    ``progress`` hears the stage and fraction as Rasa reports them (nothing when no training runs).
    """
    path = model_path(config)
    if path.exists() and not force:
        return path, None
    report = progress or (lambda _: None)
    started = time.monotonic()
    report(at(Stage.SPACY, 0.0, "jieba 词典与实体规则"))
    build_spacy(config)
    _rasa_train(config, Path("domain.yml"), Path("data"), path, report)
    return path, time.monotonic() - started


def train_copy(
    config: Config, copy: Path, out_dir: Path, prefix: str, progress: Progress | None = None
) -> tuple[Path, float | None]:
    """Train a model of a working copy (its ``domain.yml`` and ``data/``, the project's pipeline)
    into ``out_dir`` unless one for its current inputs exists; returns it and the seconds spent.

    Rasa runs in the project folder like ``bot train``, so it shares Rasa's training cache there
    (``.rasa/cache``): a change to responses retrains the dialogue policies, not the NLU. The
    spaCy pipeline is the project's (``bot train`` builds it); the copy's lexicon is not rebuilt.
    """
    path = out_dir / f"{prefix}{fingerprint(config.project_dir, copy)}.tar.gz"
    if path.exists():
        return path, None
    report = progress or (lambda _: None)
    started = time.monotonic()
    if not (config.project_dir / SPACY_DIR).is_dir():
        report(at(Stage.SPACY, 0.0, "jieba 词典与实体规则"))
        build_spacy(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    _rasa_train(config, copy / "domain.yml", copy / "data", path, report)
    return path, time.monotonic() - started


def _rasa_train(config: Config, domain: Path, data: Path, path: Path, report: Progress) -> None:
    """``rasa train`` in the project folder into ``path``, reporting progress; StackError on failure."""
    report(at(Stage.NLU, 0.0))
    argv = [
        str(rasa_executable(config)),
        "train",
        "--config",
        "config.yml",
        "--domain",
        str(domain),
        "--data",
        str(data),
        "--out",
        str(path.parent),
        "--fixed-model-name",
        path.name.removesuffix(".tar.gz"),
    ]
    returncode, tail = _run_reporting(argv, config.project_dir, report)
    if returncode != 0 or not path.exists():
        raise StackError(f"rasa train failed (exit {returncode}):\n{tail}")
    report(at(Stage.DONE, 1.0, path.name))


def _run_reporting(argv: list[str], cwd: Path, report: Progress) -> tuple[int, str]:
    """Run ``rasa train``, turning its output into progress; returns exit code and last lines."""
    reader = OutputReader()
    last: deque[str] = deque(maxlen=15)
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=engine_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        bufsize=1,
    ) as proc:
        assert proc.stdout is not None
        for chunk in iter(lambda: proc.stdout.read(512), ""):  # type: ignore[union-attr]
            last.extend(line for line in chunk.replace("\r", "\n").splitlines() if line.strip())
            for event in reader.feed(chunk):
                report(event if event.stage is not Stage.DONE else at(Stage.PACKAGING, 1.0))
        returncode = proc.wait()
    return returncode, "\n".join(last)

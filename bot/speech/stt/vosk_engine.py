"""Vosk (Kaldi) behind the SpeechToText interface: the model is loaded once, one recogniser per session."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.speech.stt.base import SttError, SttInfo
from bot.speech.stt.grammar import compile_grammar
from bot.speech.stt.snap import DEFAULT_THRESHOLD, Alternative, Snapped, snap
from bot.speech.stt.text import UNKNOWN

_LOGGER = logging.getLogger(__name__)

REQUIRED_FILES = ("am/final.mdl", "conf/model.conf")
GRAPHS = (("graph/HCLG.fst",), ("graph/HCLr.fst", "graph/Gr.fst"))
"""A static graph, or a dynamic one (lookahead: what grammar mode needs)."""
N_BEST = 5
"""Alternatives a grammar session asks the decoder for (scored against the phrases by :func:`snap`)."""


def model_problems(model_dir: Path) -> list[str]:
    """What is missing for ``model_dir`` to be a loadable Vosk model (empty when it looks complete)."""
    if not model_dir.is_dir():
        return [f"{model_dir} is not a folder"]
    problems = [f"missing {name}" for name in REQUIRED_FILES if not (model_dir / name).is_file()]
    if not any(all((model_dir / f).is_file() for f in graph) for graph in GRAPHS):
        problems.append("missing graph/HCLG.fst (or graph/HCLr.fst + graph/Gr.fst)")
    return problems


class VoskSession:
    """One utterance on its own KaldiRecognizer.

    A grammar session (``phrases`` given) asks the decoder for its n-best list and, when
    ``snap_threshold`` is set, returns a listed phrase or nothing (:mod:`bot.speech.stt.snap`).
    """

    def __init__(
        self,
        recognizer: Any,
        phrases: Sequence[str] | None = None,
        snap_threshold: float | None = DEFAULT_THRESHOLD,
    ):
        self._rec = recognizer
        self._phrases = phrases
        self._threshold = snap_threshold
        self._segments: list[str] = []
        self._partial = ""
        self.snapped: Snapped | None = None
        """The phrase the grammar session settled on (after :meth:`finish`), with its confidence."""

    def accept(self, pcm: bytes) -> str | None:
        """Feed PCM16; returns the partial text when it changed."""
        if not pcm:
            return None
        if self._rec.AcceptWaveform(pcm):
            # Vosk's own endpointer closed a segment: keep it, the utterance goes on.
            self._keep(_best(json.loads(self._rec.Result())))
            return self._update("")
        return self._update(json.loads(self._rec.PartialResult()).get("partial", ""))

    def finish(self) -> str:
        """The final raw text of the whole utterance (a grammar session: a listed phrase or empty)."""
        result = json.loads(self._rec.FinalResult())
        if self._phrases is None or self._threshold is None:
            self._keep(_best(result))
            return " ".join(self._segments)
        prefix = " ".join(self._segments)
        alternatives = [
            Alternative(f"{prefix} {a.text}".strip(), a.score) for a in _alternatives(result)
        ] or ([Alternative(prefix, 0.0)] if prefix else [])
        self.snapped = snap(alternatives, self._phrases, self._threshold)
        return self.snapped.phrase if self.snapped is not None else ""

    def _keep(self, text: str) -> None:
        if text.strip():
            self._segments.append(text.strip())

    def _update(self, partial: str) -> str | None:
        text = " ".join([*self._segments, partial]).strip()
        if text == self._partial:
            return None
        self._partial = text
        return text


def _alternatives(result: dict[str, Any]) -> list[Alternative]:
    """The n-best list of a Vosk result (a single ``text`` when alternatives were not asked for)."""
    if "alternatives" in result:
        found = result["alternatives"]
        return [Alternative(a.get("text", ""), float(a.get("confidence", 0.0))) for a in found]
    return [Alternative(result.get("text", ""), 0.0)]


def _best(result: dict[str, Any]) -> str:
    alternatives = _alternatives(result)
    return alternatives[0].text if alternatives else ""


class VoskSpeechToText:
    """A Vosk model; thread-safe to share, each session belongs to one caller."""

    def __init__(
        self,
        model_dir: Path,
        language: str = "zh",
        name: str | None = None,
        snap_threshold: float | None = DEFAULT_THRESHOLD,
    ):
        self._dir = model_dir
        self.snap_threshold = snap_threshold
        """Grammar results below this confidence are empty; None returns the decoder's words as they are."""
        self._info = SttInfo(f"vosk:{name or model_dir.name}", language, 16000, model_dir)
        self._model: Any = None
        self._lock = threading.Lock()
        self._grammars: dict[tuple[str, ...], tuple[str, list[str]]] = {}

    @property
    def info(self) -> SttInfo:
        """Engine, language and audio format."""
        return self._info

    def load(self) -> Any:
        """Load the model (once); SttError naming the folder when it is missing or broken."""
        with self._lock:
            if self._model is None:
                problems = model_problems(self._dir)
                if problems:
                    raise SttError(f"speech model at {self._dir} unusable: {'; '.join(problems)}")
                import vosk

                vosk.SetLogLevel(-1)
                try:
                    self._model = vosk.Model(str(self._dir))
                except Exception as err:
                    raise SttError(f"speech model at {self._dir} failed to load: {err}") from err
                _LOGGER.info("loaded Vosk model %s", self._dir)
            return self._model

    def has_word(self, word: str) -> bool:
        """Whether the model's vocabulary contains ``word``."""
        return int(self.load().vosk_model_find_word(word)) >= 0

    @property
    def supports_grammar(self) -> bool:
        """Grammar mode needs a dynamic graph (small models); big static graphs ignore it."""
        return all((self._dir / f).is_file() for f in GRAPHS[1])

    def start(self, grammar: Sequence[str] | None = None) -> VoskSession:
        """A new recogniser, restricted to ``grammar`` phrases when given (and supported)."""
        import vosk

        model = self.load()
        if grammar is not None and not self.supports_grammar:
            _LOGGER.warning("model %s has a static graph: grammar ignored", self._dir.name)
            grammar = None
        if grammar is None:
            return VoskSession(vosk.KaldiRecognizer(model, self._info.sample_rate))
        spec, phrases = self._grammar_spec(tuple(grammar))
        recognizer = vosk.KaldiRecognizer(model, self._info.sample_rate, spec)
        recognizer.SetMaxAlternatives(N_BEST)
        return VoskSession(recognizer, phrases, self.snap_threshold)

    def phrases(self, grammar: Sequence[str]) -> list[str]:
        """The grammar's phrases this model can say, in its words (what grammar sessions snap to)."""
        return self._grammar_spec(tuple(grammar))[1]

    def _grammar_spec(self, grammar: tuple[str, ...]) -> tuple[str, list[str]]:
        cached = self._grammars.get(grammar)
        if cached is None:
            compiled = compile_grammar(grammar, self.has_word)
            phrases = [p for p in compiled if p != UNKNOWN]
            if not phrases:
                raise SttError(
                    "none of the grammar phrases can be said with this model", code="grammar_empty"
                )
            cached = (json.dumps(compiled, ensure_ascii=False), phrases)
            if len(self._grammars) < 64:
                self._grammars[grammar] = cached
        return cached

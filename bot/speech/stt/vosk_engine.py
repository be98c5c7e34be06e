"""Vosk (Kaldi) behind the SpeechToText interface: the model is loaded once, one recogniser per session.

A recogniser builds its decoding graph lazily (the lookahead composition of the model's graph with
its language model or a grammar): a new one spends ~0.5 s of CPU on its first 240 ms of audio, which
on a two-core box put every voice turn half a second behind the speaker. So recognisers are kept
(``Recognisers``) and reused once their session has finished. After ``FinalResult`` Vosk has already
deleted the decoder, the feature pipeline (with the i-vector adaptation to the speaker) and the
silence weighting, and rebuilds them on the next audio (``Recognizer::FinalResult``/``CleanUp`` in
vosk-api's ``recognizer.cc``): what a reused recogniser keeps of an earlier utterance is only which
parts of the graph were built, never anything computed from its audio. A session that did not
finish is dropped, never reused.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
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
IDLE_PER_GRAPH = 4
"""Finished recognisers kept per decoding graph (free speech, each grammar)."""
IDLE_GRAPHS = 16
"""Decoding graphs whose recognisers are kept (the least recently used beyond it are dropped)."""


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
        finished: Callable[[Any], None] | None = None,
    ):
        self._rec = recognizer
        self._finished = finished
        """Takes the recogniser back once the session has its final result."""
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
        rec = self._recogniser()
        if rec.AcceptWaveform(pcm):
            # Vosk's own endpointer closed a segment: keep it, the utterance goes on.
            self._keep(_best(json.loads(rec.Result())))
            return self._update("")
        return self._update(json.loads(rec.PartialResult()).get("partial", ""))

    def finish(self) -> str:
        """The final raw text of the whole utterance (a grammar session: a listed phrase or empty).
        The session is over: its recogniser goes back to the engine for another utterance."""
        rec, self._rec = self._recogniser(), None
        result = json.loads(rec.FinalResult())
        if self._finished is not None:
            self._finished(rec)
        if self._phrases is None or self._threshold is None:
            self._keep(_best(result))
            return " ".join(self._segments)
        prefix = " ".join(self._segments)
        alternatives = [
            Alternative(f"{prefix} {a.text}".strip(), a.score) for a in _alternatives(result)
        ] or ([Alternative(prefix, 0.0)] if prefix else [])
        self.snapped = snap(alternatives, self._phrases, self._threshold)
        return self.snapped.phrase if self.snapped is not None else ""

    def _recogniser(self) -> Any:
        if self._rec is None:
            raise SttError("recogniser session already finished", code="stt_failed")
        return self._rec

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


class Recognisers:
    """Finished recognisers kept for reuse, per decoding graph: ``None`` for free speech, else the
    grammar's spec. At most ``per_graph`` per graph and ``graphs`` graphs (least recently used
    dropped); ``per_graph = 0`` keeps none."""

    def __init__(self, per_graph: int = IDLE_PER_GRAPH, graphs: int = IDLE_GRAPHS):
        self._per_graph, self._graphs = per_graph, graphs
        self._idle: OrderedDict[str | None, list[Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.created = 0
        self.reused = 0

    def take(self, graph: str | None, create: Callable[[], Any]) -> Any:
        """A kept recogniser of ``graph``, or a new one from ``create``."""
        with self._lock:
            idle = self._idle.get(graph)
            if idle:
                self._idle.move_to_end(graph)
                self.reused += 1
                return idle.pop()
            self.created += 1
            _LOGGER.info(
                "new recogniser (%s; %d made so far)", "free" if graph is None else "grammar", self.created
            )
        return create()

    def give_back(self, graph: str | None, recogniser: Any) -> None:
        """Keep a recogniser whose session has its final result."""
        if self._per_graph <= 0:
            return
        with self._lock:
            idle = self._idle.setdefault(graph, [])
            self._idle.move_to_end(graph)
            if len(idle) < self._per_graph:
                idle.append(recogniser)
            while len(self._idle) > self._graphs:
                self._idle.popitem(last=False)

    def idle(self) -> int:
        """Recognisers kept now."""
        with self._lock:
            return sum(len(kept) for kept in self._idle.values())


class VoskSpeechToText:
    """A Vosk model; thread-safe to share, each session belongs to one caller."""

    def __init__(
        self,
        model_dir: Path,
        language: str = "zh",
        name: str | None = None,
        snap_threshold: float | None = DEFAULT_THRESHOLD,
        idle_per_graph: int = IDLE_PER_GRAPH,
    ):
        self._dir = model_dir
        self.snap_threshold = snap_threshold
        """Grammar results below this confidence are empty; None returns the decoder's words as they are."""
        self._info = SttInfo(f"vosk:{name or model_dir.name}", language, 16000, model_dir)
        self._model: Any = None
        self._lock = threading.Lock()
        self._grammars: dict[tuple[str, ...], tuple[str, list[str]]] = {}
        self.recognisers = Recognisers(idle_per_graph)
        """Finished recognisers, reused by later sessions (their decoding graph is already built)."""

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

    def warm(self, seconds: float = 1.0) -> None:
        """Build a free-speech recogniser's graph ahead of the first utterance (``seconds`` of
        silence decoded, its result dropped) and keep the recogniser for that utterance."""
        session = self.start(None)
        session.accept(bytes(int(self._info.sample_rate * seconds) * 2))
        session.finish()

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
        rate = self._info.sample_rate
        if grammar is None:
            free = self.recognisers.take(None, lambda: vosk.KaldiRecognizer(model, rate))
            return VoskSession(free, finished=lambda rec: self.recognisers.give_back(None, rec))
        spec, phrases = self._grammar_spec(tuple(grammar))
        recognizer = self.recognisers.take(spec, lambda: _grammar_recogniser(vosk, model, rate, spec))
        return VoskSession(
            recognizer, phrases, self.snap_threshold, lambda rec: self.recognisers.give_back(spec, rec)
        )

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


def _grammar_recogniser(vosk: Any, model: Any, rate: int, spec: str) -> Any:
    recognizer = vosk.KaldiRecognizer(model, rate, spec)
    recognizer.SetMaxAlternatives(N_BEST)
    return recognizer

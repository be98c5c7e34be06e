"""A dedicated thread that owns a non-thread-safe engine, fed by a queue, with a restarting watchdog.

pyttsx3 must be created and driven from one thread; a call that hangs must not hang the product.
Every job carries a deadline: when it passes, the watchdog abandons that thread (Python cannot kill
it; it is a daemon and its late result is dropped), builds a fresh engine on a new thread and
reports a TtsError for the job.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Generic, TypeVar

from bot.speech.tts.base import TtsError

_LOGGER = logging.getLogger(__name__)

E = TypeVar("E")
R = TypeVar("R")

_Job = tuple[Callable[[E], object], "Future[object]"]


class EngineWorker(Generic[E]):
    """Runs jobs ``fn(engine)`` one at a time on the engine's own thread."""

    def __init__(self, factory: Callable[[], E], timeout_s: float = 10.0, name: str = "tts-engine"):
        self._factory = factory
        self.timeout_s = timeout_s
        self._name = name
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Job[E] | None] | None = None
        self._thread: threading.Thread | None = None
        self.restarts = 0
        """How often the watchdog replaced a hung or dead engine."""

    def call(self, fn: Callable[[E], R], timeout_s: float | None = None) -> R:
        """Run ``fn(engine)`` on the engine thread; TtsError when it fails or overruns its deadline."""
        future: Future[object] = Future()
        with self._lock:
            jobs = self._ensure_thread()
            jobs.put((fn, future))
        try:
            result = future.result(timeout=timeout_s or self.timeout_s)
        except FutureTimeout as err:
            self._restart("hung")
            raise TtsError("语音合成超时，请稍后再试", code="tts_timeout") from err
        except TtsError:
            raise
        except Exception as err:
            raise TtsError(f"语音合成失败：{type(err).__name__}", code="tts_failed") from err
        return result  # type: ignore[return-value]

    def close(self) -> None:
        """Stop the engine thread (pending jobs finish first)."""
        with self._lock:
            if self._queue is not None:
                self._queue.put(None)
            self._queue, self._thread = None, None

    def _ensure_thread(self) -> queue.Queue[_Job[E] | None]:
        if self._thread is not None and not self._thread.is_alive():
            _LOGGER.warning("%s thread died; restarting", self._name)
            self.restarts += 1
            self._queue, self._thread = None, None
        if self._queue is None:
            jobs: queue.Queue[_Job[E] | None] = queue.Queue()
            thread = threading.Thread(target=self._serve, args=(jobs,), name=self._name, daemon=True)
            thread.start()
            self._queue, self._thread = jobs, thread
        return self._queue

    def _restart(self, why: str) -> None:
        with self._lock:
            _LOGGER.warning("%s %s: abandoning its thread, starting a fresh engine", self._name, why)
            if self._queue is not None:
                self._drain(self._queue)
            self._queue, self._thread = None, None
            self.restarts += 1

    @staticmethod
    def _drain(jobs: queue.Queue[_Job[E] | None]) -> None:
        """Fail jobs queued behind the hung one, and tell its thread to stop if it ever wakes."""
        while True:
            try:
                job = jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job[1].set_exception(TtsError("语音合成引擎重启中，请重试", code="tts_restarting"))
        jobs.put(None)

    def _serve(self, jobs: queue.Queue[_Job[E] | None]) -> None:
        try:
            engine = self._factory()
        except Exception as err:  # the engine cannot start: fail what is queued, retry on the next call
            _LOGGER.error("%s failed to start: %s", self._name, err)
            with self._lock:
                if self._queue is jobs:
                    self._queue, self._thread = None, None
                self._fail_all(jobs, err)
            return
        while (job := jobs.get()) is not None:
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(engine))
            except BaseException as err:  # delivered to the caller, never lost
                future.set_exception(err)

    @staticmethod
    def _fail_all(jobs: queue.Queue[_Job[E] | None], err: Exception) -> None:
        """Fail what is queued (under the worker's lock, so nothing slips in after)."""
        while True:
            try:
                job = jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                job[1].set_exception(TtsError(f"语音合成引擎无法启动：{err}", code="tts_unavailable"))

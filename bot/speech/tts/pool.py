"""A bounded synthesiser pool: so many answers spoken at once, waited for on the pool's own threads.

The synthesiser itself is one engine thread fed by a queue (``worker``); whoever waits for its next
sentence holds a thread meanwhile. Those waits run here, never on the threads that serve database
work, and an answer beyond the pool's size is refused at once with ``tts_busy`` (its text is still
shown) instead of queueing behind every other household's.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bot.speech.places import Places
from bot.speech.tts.base import TtsError


class TtsBusy(TtsError):
    """Every place of the pool is taken."""

    code = "tts_busy"
    status = 503


class SynthPool(Places):
    """``size`` answers spoken at once; their blocking waits run on the pool's threads."""

    def __init__(self, size: int):
        super().__init__(size, ThreadPoolExecutor(max_workers=size, thread_name_prefix="tts"))

    def busy(self) -> TtsBusy:
        """Every answer's place is taken: the text is shown, nothing waits for a synthesiser."""
        return TtsBusy("语音播报正忙，请看屏幕上的文字")

    def close(self) -> None:
        """Stop the threads (calls in flight finish first)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

"""spaCy parts of the Chinese pipeline: a jieba tokenizer that keeps catalog words whole.

Importing this module registers ``bot.jieba_userdict_tokenizer.v1`` in spaCy's registry (a
decorator, no other work); Rasa performs the import through :mod:`bot.nlu.components` before its
``SpacyNLP`` loads the pipeline folder built by :mod:`bot.nlu.build`. Engine environment only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import srsly
from spacy.tokens import Doc
from spacy.util import DummyTokenizer, get_words_and_spaces, registry

TOKENIZER_NAME = "bot.jieba_userdict_tokenizer.v1"
USER_DICT_FILE = "userdict.txt"
DEFAULT_FREQ = 200000


class JiebaUserDictTokenizer(DummyTokenizer):  # type: ignore[misc]
    """jieba segmentation with its own dictionary instance plus the catalog's user words."""

    def __init__(self, vocab: Any, user_dict: str = "") -> None:
        self.vocab = vocab
        self.user_dict = user_dict
        self._segmenter: Any = None

    def __call__(self, text: str) -> Any:
        words = [w for w in self._jieba().cut(text, HMM=True) if w]
        words, spaces = get_words_and_spaces(words, text)
        return Doc(self.vocab, words=words, spaces=spaces)

    def _jieba(self) -> Any:
        """Create the segmenter on first use (loading jieba's dictionary takes about a second)."""
        if self._segmenter is None:
            import jieba

            segmenter = jieba.Tokenizer()
            for word, freq in parse_user_dict(self.user_dict):
                segmenter.add_word(word, freq=freq)
            self._segmenter = segmenter
        return self._segmenter

    def to_disk(self, path: str | Path, **kwargs: Any) -> None:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / USER_DICT_FILE).write_text(self.user_dict, encoding="utf-8")

    def from_disk(self, path: str | Path, **kwargs: Any) -> JiebaUserDictTokenizer:
        self.user_dict = (Path(path) / USER_DICT_FILE).read_text(encoding="utf-8")
        self._segmenter = None
        return self

    def to_bytes(self, **kwargs: Any) -> bytes:
        return bytes(srsly.msgpack_dumps({"user_dict": self.user_dict}))

    def from_bytes(self, data: bytes, **kwargs: Any) -> JiebaUserDictTokenizer:
        self.user_dict = str(srsly.msgpack_loads(data)["user_dict"])
        self._segmenter = None
        return self


def parse_user_dict(text: str) -> Iterable[tuple[str, int]]:
    """(word, frequency) pairs of a jieba user dictionary (``word [freq] [tag]`` per line)."""
    for line in text.splitlines():
        parts = line.split()
        if parts:
            digits = len(parts) > 1 and parts[1].isascii() and parts[1].isdigit()
            freq = int(parts[1]) if digits else DEFAULT_FREQ
            yield parts[0], freq


@registry.tokenizers(TOKENIZER_NAME)  # type: ignore[untyped-decorator]
def create_tokenizer() -> Callable[[Any], JiebaUserDictTokenizer]:
    """spaCy tokenizer factory; the user dictionary is restored from the pipeline folder."""

    def make(nlp: Any) -> JiebaUserDictTokenizer:
        return JiebaUserDictTokenizer(nlp.vocab)

    return make

"""Build the spaCy ``zh`` pipeline Rasa's SpacyNLP loads: jieba + catalog user words + entity ruler.

``python -m bot.nlu.build`` (``make nlu``) in the engine environment, from the project folder. It
reads what ``bot nlu lookups`` generated from the catalog (``data/lexicon/``) and writes
``models/spacy-zh``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.nlu.spacy_zh import TOKENIZER_NAME

LEXICON_DIR = Path("data/lexicon")
DEFAULT_OUT = Path("models/spacy-zh")


def build(lexicon_dir: Path = LEXICON_DIR) -> Any:
    """A blank zh pipeline with the catalog's user dictionary and entity-ruler patterns."""
    import spacy

    user_dict = (lexicon_dir / "userdict.txt").read_text(encoding="utf-8")
    patterns = [json.loads(line) for line in (lexicon_dir / "patterns.jsonl").read_text("utf-8").splitlines()]
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER_NAME}}})
    nlp.tokenizer.user_dict = user_dict
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True})
    ruler.add_patterns(patterns)
    nlp.meta.update(name="bot_zh", version="1.0.0", description="jieba + catalog entity ruler")
    return nlp


def main(argv: list[str]) -> int:
    """Build and save the pipeline; prints where it went."""
    parser = argparse.ArgumentParser(prog="python -m bot.nlu.build")
    parser.add_argument("--lexicon", type=Path, default=LEXICON_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    missing = [n for n in ("userdict.txt", "patterns.jsonl") if not (args.lexicon / n).exists()]
    if missing:
        print(f"error: {args.lexicon} lacks {', '.join(missing)}: run `bot nlu lookups`", file=sys.stderr)
        return 2
    nlp = build(args.lexicon)
    nlp.to_disk(args.out)
    print(f"spaCy pipeline written to {args.out} ({len(nlp.get_pipe('entity_ruler'))} patterns)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

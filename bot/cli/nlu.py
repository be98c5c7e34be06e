"""``bot nlu``: check what the NLU understands, regenerate its vocabulary, evaluate it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bot.cli.nlu_client import DESIGNER_TOKEN, parse_via_gateway, render_parse
from bot.config import PROJECT_ROOT, Config
from bot.nlu.evaluate import read_examples, render, score
from bot.nlu.lexicon import build_lexicon, load_catalog
from bot.nlu.lookups import write_all

HELDOUT = Path("tests/nlu_heldout.yml")

DEMO_CATALOGS = PROJECT_ROOT / "bot" / "seed" / "data"
"""Where ``bot nlu lookups`` finds catalogs when none is named: the packaged demo catalogs."""


def register(subparsers: Any) -> None:
    """Add ``bot nlu parse|lookups|eval``."""
    nlu = subparsers.add_parser("nlu", help="Chinese understanding (NLU) tools")
    sub = nlu.add_subparsers(dest="nlu_command", required=True, metavar="ACTION")

    parse = sub.add_parser("parse", help="intent, confidence and entities of a sentence (running gateway)")
    parse.add_argument("text", nargs="+", help="the sentence, typed or recogniser-style")
    _gateway_args(parse)
    parse.add_argument("--json", action="store_true", help="print the raw JSON")
    parse.set_defaults(handler=_parse)

    lookups = sub.add_parser("lookups", help="regenerate lookups, synonyms and jieba words from the catalog")
    lookups.add_argument(
        "--catalog",
        type=Path,
        action="append",
        help="catalog JSON file (repeatable; default: every packaged demo tenant catalog)",
    )
    lookups.set_defaults(handler=_lookups)

    ev = sub.add_parser("eval", help="score the running NLU on an annotated file (default: held-out)")
    ev.add_argument("--file", type=Path, help=f"Rasa NLU YAML (default {HELDOUT})")
    _gateway_args(ev)
    ev.add_argument("--json", action="store_true", help="print figures and errors as JSON")
    ev.set_defaults(handler=_eval)


def _gateway_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", default=DESIGNER_TOKEN, help="designer token")
    parser.add_argument("--url", help="gateway URL (default from config)")


def _base(args: argparse.Namespace, config: Config) -> str:
    return str(args.url or f"http://{config.host}:{config.port}").rstrip("/")


def _parse(args: argparse.Namespace, config: Config) -> int:
    result = parse_via_gateway(_base(args, config), args.token, " ".join(args.text))
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else render_parse(result))
    return 0


def _lookups(args: argparse.Namespace, config: Config) -> int:
    written = write_all(build_lexicon(merged_catalogs(args.catalog)), config.project_dir)
    for path in written:
        print(f"wrote {path}")
    print("next: `make nlu` rebuilds models/spacy-zh, `make train` retrains the Rasa model")
    return 0


def merged_catalogs(paths: list[Path] | None = None) -> dict[str, Any]:
    """The products of several catalogs (default: every packaged demo tenant's) as one catalog."""
    chosen = paths or sorted(DEMO_CATALOGS.glob("*_catalog.json"))
    return {"products": [p for path in chosen for p in load_catalog(path)["products"]]}


def _eval(args: argparse.Namespace, config: Config) -> int:
    path = args.file or config.project_dir / HELDOUT
    base = _base(args, config)
    report = score(read_examples(path), lambda text: parse_via_gateway(base, args.token, text))
    if args.json:
        body = {**report.summary(), "confusions": report.confusions, "entity_errors": report.entity_errors}
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        print(render(report))
    return 0

"""The responses (``utter_*``) of the domain: list, check the wording rules, edit in place.

Edits replace only the ``- text:`` lines of one response in the YAML text, so comments (such as
``# one variation``) and the rest of the file stay as they were.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from bot.errors import InputError
from bot.offers.service import FREE_WORDS

SPOKEN_LIMIT = 60
"""A spoken answer stays short; details go on the panel card."""
LONGER_ON_PURPOSE = frozenset({"utter_read_back_installment"})
"""The read-back names seller, item, periods, APR, monthly amount and total in one breath."""
INTEREST_FREE_RESPONSES = frozenset({"utter_quote_interest_free", "utter_cost_details_free"})
"""The only responses allowed to claim 0 interest: the actions use them only when the APR is 0."""
VALUE_WIDTH = 4
"""Characters a ``{value}`` counts for when the length is checked (a typical figure)."""
_VALUE = re.compile(r"{([^}]+)}")
_NAME = re.compile(r"^utter_[a-z0-9_]+$")


@dataclass(frozen=True)
class Response:
    """One response with its variations and the values they take."""

    name: str
    variations: tuple[str, ...]
    values: tuple[str, ...]
    problems: tuple[str, ...]


def responses(domain_text: str) -> list[Response]:
    """Every response of a domain, with the rule problems of each."""
    doc = yaml.safe_load(domain_text) or {}
    out = []
    for name, items in (doc.get("responses") or {}).items():
        texts = tuple(str(i.get("text", "")) for i in items or [] if isinstance(i, dict))
        values = tuple(sorted({v for t in texts for v in _VALUE.findall(t)}))
        out.append(Response(name, texts, values, tuple(check(name, texts))))
    return out


def check(name: str, variations: list[str] | tuple[str, ...]) -> list[str]:
    """The wording rules: 免息 only in the APR-0 responses; each variation speakable in ≤ 60 characters."""
    problems = []
    for i, text in enumerate(variations, 1):
        free = [w for w in FREE_WORDS if w in text]
        if free and name not in INTEREST_FREE_RESPONSES:
            problems.append(
                f"第{i}条：「{free[0]}」只能用在年化利率为0的回复里（{'、'.join(sorted(INTEREST_FREE_RESPONSES))}）"
            )
        spoken = spoken_length(text)
        if spoken > SPOKEN_LIMIT and name not in LONGER_ON_PURPOSE:
            problems.append(f"第{i}条：约{spoken}字，超过{SPOKEN_LIMIT}字，不便朗读；细节请放到卡片上")
        if not text.strip():
            problems.append(f"第{i}条是空的")
    fields = [set(_VALUE.findall(t)) for t in variations]
    if fields and any(not f <= max(fields, key=len) for f in fields):
        problems.append("各条变体用到的取值不一致")
    return problems


def spoken_length(text: str) -> int:
    """Length as spoken, each ``{value}`` counted as a typical figure."""
    return len(_VALUE.sub("x" * VALUE_WIDTH, text))


def replace_variations(domain_text: str, name: str, variations: list[str]) -> str:
    """The domain text with ``name``'s ``- text:`` lines replaced; comments are kept."""
    if not _NAME.match(name):
        raise InputError("回复名必须是 utter_ 开头的小写名字", code="bad_response")
    cleaned = [v.strip() for v in variations if isinstance(v, str) and v.strip()]
    if not cleaned or len(cleaned) != len(variations):
        raise InputError("每条变体都要有文字", code="bad_response")
    lines = domain_text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == f"  {name}:"), None)
    if start is None:
        raise InputError(f"没有名为 {name} 的回复", code="unknown_response", status=404)
    end = start + 1
    while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    kept = [line for line in lines[start + 1 : end] if not line.lstrip().startswith("- text:")]
    new = [f"    - text: {json.dumps(v, ensure_ascii=False)}\n" for v in cleaned]
    result = "".join([*lines[: start + 1], *kept, *new, *lines[end:]])
    yaml.safe_load(result)
    return result


def as_json(resp: Response) -> dict[str, Any]:
    """JSON-ready form of a response."""
    return {
        "name": resp.name,
        "variations": list(resp.variations),
        "values": list(resp.values),
        "problems": list(resp.problems),
    }

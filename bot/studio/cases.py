"""Outcome-level conversation tests (``tests/conversations/*.yml``): the format and its checks.

A case names a device (household and kind), an optional starting state, then user turns, each with
expectations on what the assistant *says and shows* and on the household's state after the turn.
``docs/designing.md`` documents the format. Nothing here talks to Rasa or a database: the runner
(``bot.studio.runner``) feeds each turn's reply body and a state snapshot to :func:`check_turn`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.errors import InputError
from bot.offers.service import FREE_WORDS

KINDS = {"speaker": "智能音箱", "panel": "中控屏"}
"""Device kinds a case may speak through, and the device category each becomes."""
DEFAULT_TENANT = "demo"
"""The tenant of a case that names none (the demo households 张家 and 李家)."""
_TURN_KEYS = frozenset(
    {"user", "says", "not_says", "in_order", "card", "card_said", "no_card", "handled", "reason", "state"}
)
_GIVEN_KEYS = frozenset({"consents", "points", "readings", "application", "subscription"})
_STATE_KEYS = frozenset({"application", "applications", "consents", "points", "subscription"})


@dataclass(frozen=True)
class Given:
    """The household's state before the first turn (None: as the demo seed left it)."""

    consents: tuple[str, ...] | None = None
    """Exactly these scopes in force; the others withdrawn."""
    points: int | None = None
    """The green points balance."""
    readings: str | None = None
    """``none``: the household has no meter readings."""
    application: Mapping[str, Any] | None = None
    """``{sku, periods}``: a pending installment application for that quote."""
    subscription: Mapping[str, Any] | None = None
    """``{id, renews_in_days}``: a renewing maintenance subscription of the catalog, taken out through
    its offer and a confirmed application, whose next renewal is that many days away."""


@dataclass(frozen=True)
class Turn:
    """One user utterance and what must hold after it."""

    user: str
    says: tuple[str, ...] = ()
    not_says: tuple[str, ...] = ()
    in_order: tuple[str, ...] = ()
    card: Mapping[str, Any] | None = None
    """``type`` plus any card fields (dotted paths for nested ones) and their expected values."""
    card_said: tuple[str, ...] = ()
    """Fields of the card whose value must also be spoken (the panel and the voice agree)."""
    no_card: bool = False
    handled: bool | None = None
    reason: str | None = None
    """Why the turn is not handled (CONTRACTS.md §5: device_control, chitchat …); implies handled false."""
    state: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One conversation test."""

    name: str
    household: str
    kind: str
    turns: tuple[Turn, ...]
    given: Given = Given()
    source: str = ""
    """File the case came from."""
    tenant: str | None = None
    """The household's tenant when the case names one (else the runner's tenant)."""


@dataclass(frozen=True)
class TurnResult:
    """A turn as it happened: what was said, the cards, and each expectation that failed."""

    user: str
    texts: tuple[str, ...]
    cards: tuple[Mapping[str, Any], ...]
    failures: tuple[str, ...]


def load_cases(folder: Path) -> list[Case]:
    """Every case of every ``*.yml`` file in ``folder``, in file order."""
    cases: list[Case] = []
    for path in sorted(folder.glob("*.yml")):
        cases.extend(parse_cases(path.read_text(encoding="utf-8"), path.name))
    names = [c.name for c in cases]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"duplicate case names: {', '.join(dupes)}", code="bad_case")
    return cases


def parse_cases(text: str, source: str = "") -> list[Case]:
    """The cases of one YAML document; InputError names the case and key that is wrong."""
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        raise InputError(f"{source}: expected a mapping with a 'cases' list", code="bad_case")
    return [_case(raw, source) for raw in doc["cases"]]


def _case(raw: Any, source: str) -> Case:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise InputError(f"{source}: every case needs a name", code="bad_case")
    where = f"{source}: {raw['name']}"
    device = raw.get("device")
    if not isinstance(device, dict) or not isinstance(device.get("household"), str):
        raise InputError(f"{where}: device needs a household", code="bad_case")
    kind = device.get("kind", "speaker")
    if kind not in KINDS:
        raise InputError(f"{where}: device kind must be one of {', '.join(KINDS)}", code="bad_case")
    turns = raw.get("turns")
    if not isinstance(turns, list) or not turns:
        raise InputError(f"{where}: needs at least one turn", code="bad_case")
    return Case(
        raw["name"],
        device["household"],
        kind,
        tuple(_turn(t, where) for t in turns),
        _given(raw.get("given") or {}, where),
        source,
        device.get("tenant"),
    )


def _given(raw: Any, where: str) -> Given:
    _only(raw, _GIVEN_KEYS, f"{where}: given")
    consents = raw.get("consents")
    if consents is not None and not isinstance(consents, list):
        raise InputError(f"{where}: given.consents must be a list of scopes", code="bad_case")
    if raw.get("readings") not in (None, "none"):
        raise InputError(f"{where}: given.readings may only be 'none'", code="bad_case")
    app = raw.get("application")
    if app is not None and not (isinstance(app, dict) and isinstance(app.get("sku"), str)):
        raise InputError(f"{where}: given.application needs a sku (and periods)", code="bad_case")
    points = raw.get("points")
    if points is not None and (not isinstance(points, int) or points < 0):
        raise InputError(f"{where}: given.points must be a whole number ≥ 0", code="bad_case")
    sub = raw.get("subscription")
    if sub is not None and not (
        isinstance(sub, dict)
        and isinstance(sub.get("id"), str)
        and isinstance(sub.get("renews_in_days"), int)
    ):
        raise InputError(f"{where}: given.subscription needs an id and renews_in_days", code="bad_case")
    return Given(
        tuple(str(s) for s in consents) if consents is not None else None,
        points,
        raw.get("readings"),
        raw.get("application"),
        sub,
    )


def _turn(raw: Any, where: str) -> Turn:
    if not isinstance(raw, dict) or not isinstance(raw.get("user"), str):
        raise InputError(f"{where}: every turn needs a 'user' utterance", code="bad_case")
    _only(raw, _TURN_KEYS, f"{where}: turn {raw['user']!r}")
    card = raw.get("card")
    if card is not None and (not isinstance(card, dict) or "type" not in card):
        raise InputError(f"{where}: card expectations need a type", code="bad_case")
    if raw.get("card_said") and card is None:
        raise InputError(f"{where}: card_said needs a card (its type)", code="bad_case")
    state = raw.get("state") or {}
    _only(state, _STATE_KEYS, f"{where}: state")
    reason = raw.get("reason")
    if reason is not None and (not isinstance(reason, str) or raw.get("handled", False) is not False):
        raise InputError(f"{where}: reason is a word and means handled: false", code="bad_case")
    return Turn(
        raw["user"],
        _strings(raw.get("says")),
        _strings(raw.get("not_says")),
        _strings(raw.get("in_order")),
        card,
        _strings(raw.get("card_said")),
        bool(raw.get("no_card", False)),
        False if reason is not None else raw.get("handled"),
        reason,
        state,
    )


def _only(raw: Any, keys: frozenset[str], where: str) -> None:
    if not isinstance(raw, dict):
        raise InputError(f"{where} must be a mapping", code="bad_case")
    unknown = sorted(set(raw) - keys)
    if unknown:
        raise InputError(f"{where}: unknown keys {', '.join(unknown)}", code="bad_case")


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))


def check_turn(turn: Turn, body: Mapping[str, Any], state: Mapping[str, Any]) -> TurnResult:
    """Compare one reply body (``POST /api/v1/converse``) and the state after it with ``turn``."""
    replies = body.get("replies") or []
    texts = tuple(str(r.get("text") or "") for r in replies)
    cards = tuple(r["card"] for r in replies if isinstance(r.get("card"), dict))
    spoken = "".join(texts)
    failures = [
        *(f"says {w!r}" for w in turn.says if not any(alt in spoken for alt in w.split("|"))),
        *(f"does not say {w!r}" for w in turn.not_says if w in spoken),
        *_order(turn.in_order, spoken),
        *_card(turn, cards, texts),
        *_handled(turn, body),
        *_state(turn.state, state),
        *invariant_failures(texts),
    ]
    return TurnResult(turn.user, texts, cards, tuple(failures))


def invariant_failures(texts: Sequence[str]) -> list[str]:
    """Rules every turn obeys: the APR before any monthly figure; 免息 only with an APR of 0%."""
    out = []
    spoken = "".join(texts)
    if "月供" in spoken and ("年化利率" not in spoken or spoken.index("年化利率") > spoken.index("月供")):
        out.append("rule: the APR (年化利率) comes before any monthly payment (月供)")
    if any(w in spoken for w in FREE_WORDS) and "年化利率0%" not in spoken:
        out.append("rule: 免息 only when the APR is 0%")
    return out


def _order(words: Sequence[str], spoken: str) -> list[str]:
    at = -1
    for word in words:
        found = spoken.find(word, at + 1)
        if found < 0:
            return [f"says {' … '.join(repr(w) for w in words)} in this order"]
        at = found
    return []


def _card(turn: Turn, cards: Sequence[Mapping[str, Any]], texts: Sequence[str]) -> list[str]:
    if turn.no_card and cards:
        return [f"shows no card (got {', '.join(str(c.get('type')) for c in cards)})"]
    if turn.card is None:
        return []
    wanted = str(turn.card["type"])
    card = next((c for c in cards if c.get("type") == wanted), None)
    if card is None:
        return [f"shows a {wanted} card"]
    spoken = "".join(texts)
    out = [
        f"says the card's {key} ({field_of(card, key)!r})"
        for key in turn.card_said
        if field_of(card, key) is None or str(field_of(card, key)) not in spoken
    ]
    for key, expected in turn.card.items():
        if key == "type":
            continue
        actual = field_of(card, key)
        if str(actual) != str(expected):
            out.append(f"card {wanted}.{key} is {expected!r} (got {actual!r})")
    return out


def field_of(card: Mapping[str, Any], path: str) -> Any:
    """A card field by dotted path (``product.sku``, ``scopes.0.scope``); None when missing."""
    value: Any = card
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isascii() and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _handled(turn: Turn, body: Mapping[str, Any]) -> list[str]:
    """``handled`` is checked only when the gateway reports it (CONTRACTS.md §5)."""
    if turn.handled is None or "handled" not in body:
        return []
    if body["handled"] != turn.handled:
        return [f"handled is {turn.handled} (got {body['handled']}, reason {body.get('reason')!r})"]
    if turn.reason is not None and body.get("reason") != turn.reason:
        return [f"reason is {turn.reason} (got {body.get('reason')!r})"]
    return []


def _state(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    out = []
    for key, want in expected.items():
        got = actual.get(key)
        if key == "consents":
            have = got or {}
            out += [
                f"consent {scope} is {_granted(on)} (got {_granted(have.get(scope))})"
                for scope, on in want.items()
                if bool(have.get(scope)) != bool(on)
            ]
        elif str(got) != str(want):
            out.append(f"state {key} is {want!r} (got {got!r})")
    return out


def _granted(value: Any) -> str:
    return "granted" if value else "withdrawn"

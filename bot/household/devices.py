"""Which of a household's devices a question means: by name (「卧室空调」), by room (「主卧那台」), by
category when only one matches, or several that need a choice (「那台空调」 with two of them)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.store.models import Device

ROOM_WORDS: dict[str, tuple[str, ...]] = {
    "卧室": ("卧",),
    "卧房": ("卧",),
    "睡房": ("卧",),
    "主卧": ("主卧",),
    "次卧": ("次卧",),
    "客卧": ("客卧", "次卧"),
    "儿童房": ("儿童", "次卧"),
    "客厅": ("客厅",),
    "大厅": ("客厅",),
    "餐厅": ("餐厅",),
    "厨房": ("厨房",),
    "阳台": ("阳台",),
    "书房": ("书房",),
    "卫生间": ("卫生间", "浴室"),
    "浴室": ("浴室", "卫生间"),
    "洗手间": ("卫生间", "浴室"),
}
"""Room words people say → substrings of the stored room names they cover (卧室 covers 主卧, 次卧)."""

_ONE_OF = re.compile(r"[那这哪]一?[台部]|[那这]一?个(?!月|星期|礼拜|周|时候)")
"""「那台空调」「这个冰箱」: the question is about one device."""


class Pick(StrEnum):
    """How the devices were picked."""

    ALL = "all"
    """No device named: the whole home."""
    CATEGORY = "category"
    """Every device of the category (可以 sum)."""
    ONE = "one"
    """Exactly one device."""
    AMBIGUOUS = "ambiguous"
    """Several match and the question needs one: ask which."""
    NONE = "none"
    """Nothing in the household matches."""


@dataclass(frozen=True)
class Selection:
    """The devices a question is about."""

    pick: Pick
    devices: tuple[Device, ...]
    said: str | None = None
    """The room or name words heard, if any."""


def select_devices(devices: Sequence[Device], text: str, category: str | None) -> Selection:
    """The devices ``text`` (the user's words) means, among a household's ``devices``."""
    text = text.replace(" ", "")
    pool = [d for d in devices if category in (None, d.category)]
    named = [d for d in pool if d.name and d.name in text]
    if named:
        return _of(named, named[0].name)
    said, rooms = _rooms_said(text)
    if said is not None:
        in_room = [d for d in pool if any(r in d.room for r in rooms)]
        return _of(in_room, said) if in_room else Selection(Pick.NONE, (), said)
    if category is None:
        return Selection(Pick.ALL, tuple(devices))
    if not pool:
        return Selection(Pick.NONE, ())
    if len(pool) == 1:
        return Selection(Pick.ONE, tuple(pool))
    return Selection(Pick.AMBIGUOUS if _ONE_OF.search(text) else Pick.CATEGORY, tuple(pool))


def _of(found: list[Device], said: str) -> Selection:
    return Selection(Pick.ONE if len(found) == 1 else Pick.AMBIGUOUS, tuple(found), said)


def _rooms_said(text: str) -> tuple[str | None, tuple[str, ...]]:
    for word in sorted(ROOM_WORDS, key=len, reverse=True):
        if word in text:
            return word, ROOM_WORDS[word]
    return None, ()


def room_choices(devices: Sequence[Device]) -> list[str]:
    """What to say to pick one of ``devices``: 「主卧的空调」 (the name when rooms repeat)."""
    rooms = [d.room for d in devices]
    return [f"{d.room}的{d.category}" if rooms.count(d.room) == 1 else d.name for d in devices]

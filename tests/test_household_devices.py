"""Which devices a question means: by name, by room (卧室 covers 主卧 and 次卧), by category."""

from __future__ import annotations

from datetime import date

import pytest

from bot.household.devices import Pick, room_choices, select_devices
from bot.store.models import Device


def _device(i: int, name: str, category: str, room: str) -> Device:
    day = date(2020, 1, 1)
    return Device(
        id=i,
        household_id=1,
        category=category,
        name=name,
        brand="b",
        model="m",
        room=room,
        purchased_on=day,
        warranty_until=day,
    )


HOME = [
    _device(1, "客厅空调", "空调", "客厅"),
    _device(2, "卧室空调", "空调", "主卧"),
    _device(3, "厨房冰箱", "冰箱", "厨房"),
]
TWO_BEDROOMS = [*HOME, _device(4, "儿童房空调", "空调", "次卧")]


@pytest.mark.parametrize(
    ("text", "category", "pick", "ids"),
    [
        ("卧室空调这个月用电多少", "空调", Pick.ONE, [2]),
        ("主卧那台用了多少电", None, Pick.ONE, [2]),
        ("客厅的空调", "空调", Pick.ONE, [1]),
        ("空调这个月用了多少电", "空调", Pick.CATEGORY, [1, 2]),
        ("那台空调用了多少电", "空调", Pick.AMBIGUOUS, [1, 2]),
        ("冰箱用了多少电", "冰箱", Pick.ONE, [3]),
        ("家里用了多少电", None, Pick.ALL, [1, 2, 3]),
        ("阳台空调", "空调", Pick.NONE, []),
        ("热水器用了多少", "热水器", Pick.NONE, []),
    ],
)
def test_the_devices_meant(text: str, category: str | None, pick: Pick, ids: list[int]) -> None:
    chosen = select_devices(HOME, text, category)
    assert chosen.pick is pick and [d.id for d in chosen.devices] == ids


def test_a_room_word_covering_two_rooms_needs_a_choice() -> None:
    chosen = select_devices(TWO_BEDROOMS, "卧 室 的 空调用了多少电", "空调")
    assert chosen.pick is Pick.AMBIGUOUS and [d.id for d in chosen.devices] == [2, 4]
    assert room_choices(chosen.devices) == ["主卧的空调", "次卧的空调"]
    assert select_devices(TWO_BEDROOMS, "次卧的", "空调").devices[0].id == 4

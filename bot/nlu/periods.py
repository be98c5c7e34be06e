"""Numbered time periods people say, as ``time_period`` values of CONTRACTS.md §5.

最近三天 / 近10天 / 过去两周 / 最近一个月 → ``last_3_days`` / ``last_10_days`` /
``last_14_days`` / ``last_30_days``; 十月份 / 10月 /
九月 → ``month_10`` / ``month_10`` / ``month_9`` (the latest month of that number). Fixed words
(今天, 上周, 去年同期…) come from the catalog lexicon (``bot.nlu.lexicon.TIME_PERIODS``). Input is
text already normalised by :func:`bot.nlu.normalize.normalize`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.nlu.numerals import parse_number

MAX_DAYS = 366
_UNIT_DAYS = {"天": 1, "日": 1, "月": 30}
"""Longest ``last_N_days`` accepted (a year of readings)."""

_COUNT = r"[零一二两三四五六七八九十百\d]{1,4}"
_LAST_DAYS = re.compile(rf"(?:最近|近|过去|这|前)({_COUNT})(?:个)?(天|日|周|星期|礼拜|月)")
_MONTH = re.compile(
    r"(?<![\d零一二两三四五六七八九十个每上下这本当])(十[一二]?|[一二三四五六七八九]|1[0-2]|[1-9])月(份)?(?![供付还])"
)


@dataclass(frozen=True)
class PeriodMention:
    """One numbered period found in text."""

    value: str
    """``last_N_days`` or ``month_M``."""
    start: int
    end: int
    text: str


def extract_periods(text: str) -> list[PeriodMention]:
    """Every numbered period in normalised text, left to right."""
    found = [m for m in (_last_days(x) for x in _LAST_DAYS.finditer(text)) if m is not None]
    found += [m for m in (_month(x) for x in _MONTH.finditer(text)) if m is not None]
    return sorted(found, key=lambda m: m.start)


def _last_days(match: re.Match[str]) -> PeriodMention | None:
    count = parse_number(match.group(1))
    if count is None or count != int(count) or count <= 0:
        return None
    days = int(count) * _UNIT_DAYS.get(match.group(2), 7)
    if days > MAX_DAYS:
        return None
    return PeriodMention(f"last_{days}_days", match.start(), match.end(), match.group())


def _month(match: re.Match[str]) -> PeriodMention | None:
    number = parse_number(match.group(1))
    if number is None or not 1 <= number <= 12:
        return None
    return PeriodMention(f"month_{int(number)}", match.start(), match.end(), match.group())

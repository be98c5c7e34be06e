"""Numbers people say, as canonical entity values: periods (months), years and amounts in yuan.

Handles Chinese and Arabic numerals and colloquial forms: 十二期 / 12期 / 分一年 → periods 12,
三年延保 → years 3, 三千六 → 3600, 一万二 → 12000, 两千块 → 2000, 1.5万 → 15000. Input is text
already normalised by :func:`bot.nlu.normalize.normalize` (half-width digits, recogniser spaces joined).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_DIGITS = {"零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_DIGITS.update({"六": 6, "七": 7, "八": 8, "九": 9})
_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = (("亿", 100_000_000), ("万", 10_000))

_NUMBER = re.compile(
    r"\d+(?:\.\d+)?(?:[万千百](?:\d(?![\d.]))?)?"
    r"|[一二两三四五六七八九十幺〇零][零〇一二两三四五六七八九十百千万亿幺]*"
)
_CURRENCY = re.compile(r"^(?:块钱|块|元|圆|人民币|rmb)", re.IGNORECASE)
_NON_MONEY_UNIT = re.compile(
    r"^(?:度|升|匹|公斤|斤|千瓦|瓦|英寸|寸|年|岁|个|期|天|周|月|次|积分|分(?![\d一二两三四五六七八九十])"
    r"|小时|台|级|号|楼|平|米|点|%|倍|人|户|张|层|遍|秒|档|集|首|曲|季|[a-zA-Z])"
)
_SET_POINT_BEFORE = re.compile(r"(?:调|设|设置|改|升|降|开|加|减|增加|减少)(?:高|低|大|小)?[到成至为]$")
"""A bare number after 调到/设成/改为… is a set point (色温调到四千, 音量调到十二), not money."""
_MONTHS = re.compile(r"^个?月")
_PERIOD_FORBIDDEN_BEFORE = re.compile(r"(?:第|每|哪|几|前|后|头|这|上|下|本)$")
_YEAR_FORBIDDEN_BEFORE = re.compile(r"(?:去年|今年|明年|前年|这|那|近|最近|过去|每|头|前|后|第|上|本)$")
_INSTALLMENT = re.compile(r"分期|月供|首付|还款|每期|期数|分\S{0,4}期|分[一二两三四五六七八九十\d半]+[年个]")
_WARRANTY = re.compile(r"延保|保修|质保|盐包|严保|延长保|续保")
_FILLER_WORDS = re.compile(r"[吧的就要选那呢啊嗯好我也是]|就要|那就")

MAX_PERIODS, MAX_YEARS, MAX_AMOUNT = 60, 30, Decimal(100_000_000)


@dataclass(frozen=True)
class NumberEntity:
    """One number found in text, with its canonical value."""

    entity: str
    """``periods``, ``years`` or ``amount``."""
    value: int | float
    """Months, years, or yuan (an int when whole)."""
    start: int
    end: int
    text: str


def parse_number(text: str) -> Decimal | None:
    """Value of a numeral in any common form (十二, 12, 一万二, 三千六, 1.5万, 一二), else None."""
    text = text.strip()
    if not text:
        return None
    mixed = re.fullmatch(r"(\d+(?:\.\d+)?)(?:([万千百])(\d)?)?", text)
    if mixed:
        return _mixed(mixed.group(1), mixed.group(2), mixed.group(3))
    if any(ch not in _DIGITS and ch not in _SMALL_UNITS and ch not in "万亿" for ch in text):
        return None
    if all(ch in _DIGITS for ch in text):
        return Decimal("".join(str(_DIGITS[ch]) for ch in text)) if len(text) > 1 else Decimal(_DIGITS[text])
    value = _with_big_units(text)
    return None if value is None else Decimal(value)


def _mixed(number: str, unit: str | None, tail: str | None) -> Decimal | None:
    try:
        value = Decimal(number)
    except InvalidOperation:
        return None
    if unit is None:
        return value
    scale = {"万": 10_000, "千": 1000, "百": 100}[unit]
    extra = Decimal(int(tail) * scale // 10) if tail else Decimal(0)
    return value * scale + extra


def _with_big_units(text: str) -> int | None:
    """Numerals with 万/亿 sections; a single digit after the unit is colloquial (一万二 → 12000)."""
    for unit, scale in _BIG_UNITS:
        if unit in text:
            high, _, low = text.partition(unit)
            if not high or unit in low:
                return None
            high_value = _with_big_units(high)
            if high_value is None:
                return None
            if len(low) == 1 and low in _DIGITS:
                return high_value * scale + _DIGITS[low] * scale // 10
            low_value = _with_big_units(low.lstrip("零〇")) if low.lstrip("零〇") else 0
            return None if low_value is None or low_value >= scale else high_value * scale + low_value
    return _below_ten_thousand(text)


def _below_ten_thousand(text: str) -> int | None:
    """十二 → 12, 二十四 → 24, 三千零六 → 3006, 一百五 → 150; None when malformed (十十, 二三百)."""
    total, pending, last_unit, zero = 0, None, 10_000, False
    for i, ch in enumerate(text):
        if ch in "零〇":
            if pending is not None:
                return None
            zero = True
        elif ch in _DIGITS:
            if pending is not None:
                return None
            pending = _DIGITS[ch]
        else:
            unit = _SMALL_UNITS[ch]
            if unit >= last_unit or (pending is None and not (ch == "十" and i == 0)):
                return None
            total += (1 if pending is None else pending) * unit
            last_unit, pending, zero = unit, None, False
    if pending is not None:
        colloquial = last_unit in (100, 1000) and not zero
        total += pending * last_unit // 10 if colloquial else pending
    return total


def extract_numbers(text: str) -> list[NumberEntity]:
    """Every periods/years/amount mention in normalised text, left to right."""
    found: list[NumberEntity] = []
    installment = bool(_INSTALLMENT.search(text))
    warranty = bool(_WARRANTY.search(text))
    for match in _NUMBER.finditer(text):
        value = parse_number(match.group())
        if value is None or value <= 0:
            continue
        entity = _classify(text, match.start(), match.end(), value, installment, warranty)
        if entity is not None:
            found.append(entity)
    return found


def _classify(
    text: str, start: int, end: int, value: Decimal, installment: bool, warranty: bool
) -> NumberEntity | None:
    before, after = text[:start], text[end:]
    if _glued_to_latin(text, start, end):
        return None
    if after.startswith("期"):
        if _PERIOD_FORBIDDEN_BEFORE.search(before):
            return None
        return _entity("periods", value, text, start, end + 1, MAX_PERIODS)
    months = _MONTHS.match(after)
    by_month = before.endswith("分") or (installment and value >= 2)  # 一个月 is "a month", not a plan
    if months and by_month and not _PERIOD_FORBIDDEN_BEFORE.search(before):
        return _entity("periods", value, text, start, end + months.end(), MAX_PERIODS)
    if after.startswith("年"):
        return _years(text, start, end, value, installment, warranty)
    currency = _CURRENCY.match(after)
    if currency:
        return _entity("amount", value, text, start, end + currency.end(), None)
    if before.endswith("分") and not _NON_MONEY_UNIT.match(after) and value <= MAX_PERIODS:
        return _entity("periods", value, text, start, end, MAX_PERIODS)
    if _NON_MONEY_UNIT.match(after) or before.endswith("百分之") or _SET_POINT_BEFORE.search(before):
        return None
    spoken_big = any(unit in text[start:end] for unit in "百千万亿")
    if spoken_big or (text[start].isdigit() and value >= 100):
        return _entity("amount", value, text, start, end, None)
    return None


def _years(
    text: str, start: int, end: int, value: Decimal, installment: bool, warranty: bool
) -> NumberEntity | None:
    """N年: installment months after 分 or in an installment question, else warranty years."""
    before, rest = text[:start], text[end + 1 :]
    if _YEAR_FORBIDDEN_BEFORE.search(before) or value >= 1900:
        return None
    span_end = end + 1 + (1 if rest.startswith("期") else 0)
    if before.endswith("分") or rest.startswith("期") or (installment and not warranty):
        return _entity("periods", value * 12, text, start, span_end, MAX_PERIODS)
    bare = not _FILLER_WORDS.sub("", before + rest)
    if warranty or rest.startswith("的") or bare:
        return _entity("years", value, text, start, end + 1, MAX_YEARS)
    return None


def _entity(
    name: str, value: Decimal, text: str, start: int, end: int, limit: int | None
) -> NumberEntity | None:
    if name == "amount":
        if value > MAX_AMOUNT:
            return None
        number: int | float = int(value) if value == value.to_integral_value() else float(value)
    else:
        if value != value.to_integral_value() or not 1 <= value <= (limit or 0):
            return None
        number = int(value)
    return NumberEntity(name, number, start, end, text[start:end])


def _glued_to_latin(text: str, start: int, end: int) -> bool:
    """Model codes such as M40, T30, V5, 2K, 21Face are names, not numbers."""
    left = text[start - 1] if start > 0 else ""
    right = text[end] if end < len(text) else ""
    return (left.isascii() and left.isalpha()) or (right.isascii() and right.isalpha() and right not in "kK")

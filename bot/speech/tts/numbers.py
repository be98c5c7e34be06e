"""Chinese reading of numbers, money, percentages, dates and times, applied before synthesis.

``1,072.00元`` → ``一千零七十二元``, ``13.03%`` → ``百分之十三点零三``, ``2026-03-01`` →
``二零二六年三月一日``. espeak-ng reads Arabic digits digit by digit or in English, so every number
is rewritten first.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_DIGITS = "零一二三四五六七八九"
_SMALL_UNITS = ("", "十", "百", "千")
_BIG_UNITS = ("", "万", "亿", "万亿")
_NUM = r"\d{1,3}(?:,\d{3})+(?!,?\d)(?:\.\d+)?|\d+(?:\.\d+)?"
"""A number as written: thousands grouped by commas only when every group is whole (``1,0000`` is not)."""
_FULL_WIDTH = str.maketrans("０１２３４５６７８９％．：", "0123456789%.:")
"""Full-width digits and number signs (punctuation such as ``，`` is kept: it is a pause)."""
_MEASURE_WORDS = "个台次年天种块位只件条张项周期倍"
"""A lone 2 before these is read 两 (两个, 两年); elsewhere 二."""


def digits_zh(digits: str) -> str:
    """Digit by digit: ``2026`` → ``二零二六``."""
    return "".join(_DIGITS[int(d)] for d in digits if d in "0123456789")


def _section(n: int) -> str:
    """0 < n < 10000 without leading 零."""
    out, zero = "", False
    for pos in (3, 2, 1, 0):
        d = n // 10**pos % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += ("两" if d == 2 and pos >= 2 else _DIGITS[d]) + _SMALL_UNITS[pos]
    return out


def integer_zh(n: int) -> str:
    """An integer in words: 1072 → 一千零七十二, 12000 → 一万两千, 100010 → 十万零一十."""
    if n < 0:
        return "负" + integer_zh(-n)
    if n == 0:
        return "零"
    sections: list[int] = []
    while n:
        sections.append(n % 10000)
        n //= 10000
    if len(sections) > len(_BIG_UNITS):
        return digits_zh(str(sum(s * 10000**i for i, s in enumerate(sections))))
    out, need_zero = "", False
    for i in reversed(range(len(sections))):
        sec = sections[i]
        if sec == 0:
            need_zero = bool(out)
            continue
        if out and (need_zero or sec < 1000):
            out += "零"
        words = "两" if sec == 2 and i > 0 else _section(sec)
        out += words + _BIG_UNITS[i]
        need_zero = False
    return out[1:] if out.startswith("一十") else out


def decimal_zh(number: str) -> str:
    """A decimal numeral as written (commas allowed): ``13.03`` → ``十三点零三``."""
    number = number.replace(",", "")
    whole, _, frac = number.partition(".")
    sign = "负" if whole.startswith("-") else ""
    words = integer_zh(int(whole.lstrip("-") or "0"))
    return sign + words + ("点" + digits_zh(frac) if frac else "")


def money_zh(number: str) -> str:
    """An amount in yuan: ``1,072.00`` → ``一千零七十二元``, ``3.50`` → ``三元五角``."""
    number = number.replace(",", "")
    whole, _, frac = number.partition(".")
    frac = (frac + "00")[:2]
    yuan, jiao, fen = int(whole or "0"), int(frac[0]), int(frac[1])
    out = integer_zh(yuan) + "元" if yuan or not (jiao or fen) else ""
    if yuan == 2:
        out = "两元"
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif fen and yuan:
        out += "零"
    if fen:
        out += _DIGITS[fen] + "分"
    return out


def _date(m: re.Match[str]) -> str:
    year, month, day = m.group(1), int(m.group(2)), m.group(3) or m.group(4)
    out = f"{digits_zh(year)}年{integer_zh(month)}月"
    return out + (f"{integer_zh(int(day))}日" if day else "")


def _time(m: re.Match[str]) -> str:
    hour, minute = int(m.group(1)), int(m.group(2))
    return f"{integer_zh(hour)}点" + (f"{integer_zh(minute)}分" if minute else "整")


def _plain(m: re.Match[str]) -> str:
    number, after = m.group(1), m.group(2) or ""
    bare = number.replace(",", "")
    if "." not in bare and (len(bare) > 16 or (len(bare) > 1 and bare.startswith("0"))):
        return digits_zh(bare) + after
    if bare == "2" and after and after[0] in _MEASURE_WORDS:
        return "两" + after
    return decimal_zh(number) + after


_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"(\d{4})\s*[-/年]\s*(\d{1,2})\s*(?:[-/]\s*(\d{1,2})(?!\d)|月\s*(?:(\d{1,2})\s*[日号])?)"),
        _date,
    ),
    (re.compile(r"(?<![\d.])(\d{4})年"), lambda m: digits_zh(m.group(1)) + "年"),
    (
        re.compile(rf"(-?)({_NUM})\s*%"),
        lambda m: ("负" if m.group(1) else "") + "百分之" + decimal_zh(m.group(2)),
    ),
    (re.compile(rf"[¥￥]\s*({_NUM})(?:\s*元)?"), lambda m: money_zh(m.group(1))),
    (re.compile(rf"({_NUM})\s*元(?![角分])"), lambda m: money_zh(m.group(1))),
    (re.compile(r"(?<!\d)([01]?\d|2[0-3]):([0-5]\d)(?!\d)"), _time),
    (re.compile(rf"({_NUM})\s*(?:kWh|kwh|KWH|千瓦时)"), lambda m: decimal_zh(m.group(1)) + "千瓦时"),
    (re.compile(rf"({_NUM})\s*[-~～]\s*(?=\d)"), lambda m: decimal_zh(m.group(1)) + "到"),
    (re.compile(rf"({_NUM})(.?)"), _plain),
)


def speakable(text: str) -> str:
    """Rewrite every number in ``text`` as Chinese words, ready for a Mandarin voice."""
    text = text.translate(_FULL_WIDTH)
    for pattern, replace in _RULES:
        text = pattern.sub(replace, text)
    return text

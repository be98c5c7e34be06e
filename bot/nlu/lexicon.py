"""Entity vocabulary generated from the catalog: canonical values and the words that mean them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.nlu.normalize import normalize

CATEGORY_ALIASES: Mapping[str, tuple[str, ...]] = {
    "空调": ("挂机", "柜机", "空调机", "变频空调", "中央空调", "冷气机", "空凋", "空掉"),
    "冰箱": ("电冰箱", "冰相"),
    "洗衣机": ("滚筒洗衣机", "波轮洗衣机", "洗烘一体机", "洗衣机器"),
    "热水器": ("电热水器", "燃气热水器", "热水机"),
    "新风机": ("新风系统", "新风设备", "新风"),
    "扫地机器人": ("扫地机", "扫拖机", "扫拖机器人", "扫地机器", "扫拖一体机", "拖地机器人"),
    "空气净化器": ("净化器", "空净"),
    "智能门锁": ("指纹锁", "门锁", "电子锁", "密码锁", "智能锁"),
    "摄像头": ("监控", "摄像机", "监控摄像头", "监控器", "设想头"),
    "电视": ("电视机", "智慧屏", "液晶电视"),
    "洗碗机": ("刷碗机",),
    "智能音箱": ("音箱", "智能喇叭"),
}
"""Device categories of CONTRACTS.md §2 and what people (and the recogniser) call them."""

BRAND_ALIASES: Mapping[str, tuple[str, ...]] = {
    "小米": ("米家", "xiaomi"),
    "华为": ("华为智选", "huawei"),
    "美的": ("midea", "小天鹅", "华凌"),
    "海尔": ("haier", "卡萨帝", "统帅"),
    "格力": ("gree", "格力电器"),
    "云米": ("viomi",),
    "科沃斯": ("ecovacs",),
    "欧瑞博": ("orvibo",),
}
"""Sub-brands and Latin names; used only for brands that the catalog actually carries."""

TIME_PERIODS: Mapping[str, tuple[str, ...]] = {
    "this_month": ("这个月", "本月", "这月", "当月", "这一个月", "本月份"),
    "last_month": ("上个月", "上月", "上一个月", "前一个月", "上月份"),
    "this_year": ("今年", "本年", "今年以来", "本年度"),
    "last_year": ("去年", "上一年", "去年一年", "上年度"),
    "last_7_days": (
        "最近七天",
        "最近7天",
        "近七天",
        "近7天",
        "过去七天",
        "过去7天",
        "最近一周",
        "过去一周",
        "近一周",
        "最近一个星期",
        "最近一个礼拜",
    ),
    # Added with issue 17 (CONTRACTS.md §5). Numbered periods (最近三天 → last_3_days, 十月份 →
    # month_10) are found by bot.nlu.periods, not listed here.
    "today": ("今天", "今日", "今儿", "今儿个", "今天一天"),
    "yesterday": ("昨天", "昨日", "昨儿", "昨儿个", "昨天一天"),
    "this_week": ("本周", "这周", "这一周", "这个星期", "这星期", "本星期", "这礼拜", "这个礼拜"),
    "last_week": ("上周", "上一周", "上个星期", "上星期", "上礼拜", "上个礼拜"),
    "same_period_last_year": ("去年同期", "去年同一时期", "去年这个时候", "去年同月", "去年的同期"),
}
"""Canonical time_period values of CONTRACTS.md §2 and their spoken forms."""

_SPEC = re.compile(r"^\d+(?:\.\d+)?(?:匹|升|公斤|英寸|寸|风量|L|kg)$|^大\d+匹$")
_GENERIC = re.compile(
    r"级|能效|变频|定频|智能|对开门|多门|十字|法式|滚筒|直驱|超净|速热|全自动|全能|扫拖|一体"
)
_LATIN = re.compile(r"^[A-Za-z0-9.\-]+$")


@dataclass
class Lexicon:
    """Canonical value → surface forms, per entity (the canonical value is itself a form)."""

    forms: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """entity → canonical value → forms (canonical first, then aliases, no duplicates)."""

    def add(self, entity: str, value: str, *aliases: str) -> None:
        """Record forms of a value; a form already claimed by another value is not reused."""
        claimed = self.claimed(entity)
        forms = self.forms.setdefault(entity, {}).setdefault(value, [])
        for form in (value, *aliases):
            key = form.lower()
            if form and key not in claimed and form not in forms:
                forms.append(form)
                claimed[key] = value

    def claimed(self, entity: str) -> dict[str, str]:
        """Lower-cased form → value, for one entity."""
        return {f.lower(): v for v, fs in self.forms.get(entity, {}).items() for f in fs}

    def synonyms(self, entity: str) -> dict[str, list[str]]:
        """Canonical value → forms that differ from it (the EntitySynonymMapper's view)."""
        return {v: [f for f in fs if f != v] for v, fs in self.forms.get(entity, {}).items()}

    def all_forms(self) -> list[tuple[str, str, str]]:
        """(entity, form, value) for every form, longest forms first."""
        rows = [(e, f, v) for e, vals in self.forms.items() for v, fs in vals.items() for f in fs]
        return sorted(rows, key=lambda r: (-len(r[1]), r[0], r[1]))

    def words(self) -> list[str]:
        """Words the segmenter must keep whole (CJK forms of every entity)."""
        return sorted({f for _, f, _ in self.all_forms() if re.search(r"[\u4e00-\u9fff]", f)})


def load_catalog(path: Path) -> dict[str, Any]:
    """Read a catalog file in the `bot catalog import` JSON shape."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("products"), list):
        raise ValueError(f"{path}: not a catalog (no 'products' list)")
    return data


def build_lexicon(catalog: Mapping[str, Any]) -> Lexicon:
    """Categories, brands, products and time periods, with every alias the catalog supports."""
    products: list[Mapping[str, Any]] = [p for p in catalog["products"] if isinstance(p, dict)]
    lexicon = Lexicon()
    for sku, names in product_aliases(products).items():
        lexicon.add("product", sku, *names)
    for category, aliases in CATEGORY_ALIASES.items():
        lexicon.add("device_type", category, *aliases)
    for category in sorted({str(p["category"]) for p in products} - set(CATEGORY_ALIASES)):
        lexicon.add("device_type", category)
    for brand in sorted({str(p["brand"]) for p in products}):
        lexicon.add("brand", brand, *BRAND_ALIASES.get(brand, ()))
    for period, forms in TIME_PERIODS.items():
        lexicon.add("time_period", period, *forms)
    return lexicon


def product_aliases(products: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """SKU → names people use: the full name, and distinctive series/model words with brand prefixes."""
    tokens = {str(p["sku"]): str(p["name"]).split() for p in products}
    counts: dict[str, int] = {}
    for words in tokens.values():
        for word in set(_core(w) for w in words[1:]):
            counts[word] = counts.get(word, 0) + 1
    aliases: dict[str, list[str]] = {}
    for product in products:
        sku, brand = str(product["sku"]), str(product["brand"])
        words = tokens[sku]
        prefixes = _prefixes(brand, words[0] if words else brand)
        found = [normalize(" ".join(words)), "".join(words)]
        run: list[str] = []
        for word in [_core(w) for w in words[1:]] + [""]:
            unique = bool(word) and counts.get(word) == 1
            if unique and _SPEC.match(word):
                found += [p + word for p in prefixes]
            elif unique and not _GENERIC.search(word):
                run.append(word)
                continue
            found += _run_aliases(run, prefixes, words)
            run = []
        aliases[sku] = list(dict.fromkeys(found))
    return aliases


def _core(word: str) -> str:
    """A name word without the category it ends with (全热交换新风系统 → 全热交换)."""
    for category, aliases in CATEGORY_ALIASES.items():
        for form in sorted((category, *aliases), key=len, reverse=True):
            if word.endswith(form) and len(word) > len(form):
                return word[: -len(form)]
            if word == form:
                return ""
    return word


def _prefixes(brand: str, first_word: str) -> list[str]:
    prefixes = [brand, first_word]
    if first_word.startswith(brand) and len(first_word) - len(brand) >= 2:
        prefixes.append(first_word[len(brand) :])
    return list(dict.fromkeys(prefixes))


def _run_aliases(run: list[str], prefixes: list[str], words: list[str]) -> list[str]:
    """Aliases from consecutive distinctive words, e.g. 地宝 T30 → 地宝T30, 科沃斯地宝T30."""
    if not run:
        return []
    out: list[str] = []
    for i in range(len(run)):
        for j in range(i + 1, len(run) + 1):
            core = "".join(run[i:j])
            standalone = len(core) >= 3 if _LATIN.match(core) else len(core) >= 2
            out += ([core] if standalone else []) + [p + core for p in prefixes]
    last = run[-1]
    if last in words:  # a Latin model code followed by a suffix word (T30 Pro)
        nxt = words.index(last) + 1
        if nxt < len(words) and _LATIN.match(words[nxt]) and _LATIN.match(last):
            out += [f"{last} {words[nxt]}", f"{last}{words[nxt]}"]
    return out

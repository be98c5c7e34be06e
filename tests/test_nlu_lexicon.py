"""The NLU vocabulary is generated from the catalog, and the committed files match the generator."""

from __future__ import annotations

import json
from pathlib import Path

from bot.cli.nlu import DEMO_CATALOGS, merged_catalogs
from bot.config import load_config
from bot.nlu.lexicon import CATEGORY_ALIASES, TIME_PERIODS, build_lexicon, load_catalog
from bot.nlu.lookups import render_lookups, render_patterns, render_user_dict

PROJECT = load_config().project_dir
DEMO_CATALOG = DEMO_CATALOGS / "demo_catalog.json"


def test_committed_lookups_are_what_the_generator_writes_for_the_demo_catalog() -> None:
    lexicon = build_lexicon(merged_catalogs())  # every demo tenant's catalog
    assert (PROJECT / "data/nlu/lookups.yml").read_text("utf-8") == render_lookups(lexicon)
    assert (PROJECT / "data/lexicon/userdict.txt").read_text("utf-8") == render_user_dict(lexicon)
    assert (PROJECT / "data/lexicon/patterns.jsonl").read_text("utf-8") == render_patterns(lexicon)


def test_every_catalog_product_brand_and_category_gets_a_canonical_value() -> None:
    catalog = load_catalog(DEMO_CATALOG)
    lexicon = build_lexicon(catalog)
    assert set(lexicon.forms["product"]) == {p["sku"] for p in catalog["products"]}
    assert set(lexicon.forms["brand"]) == {p["brand"] for p in catalog["products"]}
    assert {p["category"] for p in catalog["products"]} <= set(lexicon.forms["device_type"])
    assert set(lexicon.forms["time_period"]) == set(TIME_PERIODS)


def test_series_names_people_say_map_to_the_sku() -> None:
    claimed = build_lexicon(load_catalog(DEMO_CATALOG)).claimed("product")
    assert claimed["云佳"] == "GREE-KFR35-YJ1"
    assert claimed["米家m40"] == "XIAOMI-MIJIA-M40"
    assert claimed["地宝t30"] == "ECOVACS-T30PRO"
    assert claimed["智慧屏v5"] == "HUAWEI-TV-V5-65"
    # words shared by several products name none of them
    assert "1.5匹" not in claimed and "pro" not in claimed


def test_contract_synonyms_are_present() -> None:
    synonyms = build_lexicon(load_catalog(DEMO_CATALOG)).synonyms("device_type")
    for alias, category in [("挂机", "空调"), ("柜机", "空调"), ("指纹锁", "智能门锁"), ("门锁", "智能门锁")]:
        assert alias in synonyms[category]
    for alias, category in [("监控", "摄像头"), ("新风系统", "新风机"), ("扫地机", "扫地机器人")]:
        assert alias in synonyms[category]
    assert set(CATEGORY_ALIASES) >= {"空调", "冰箱", "洗衣机", "热水器", "新风机", "扫地机器人", "空气净化器"}
    assert "米家" in build_lexicon(load_catalog(DEMO_CATALOG)).synonyms("brand")["小米"]


def test_a_new_catalog_product_reaches_the_vocabulary(tmp_path: Path) -> None:
    catalog = load_catalog(DEMO_CATALOG)
    catalog["products"].append(
        {"sku": "MIDEA-DW-X9", "category": "洗碗机", "brand": "美的", "name": "美的 晶焰 X9 嵌入式洗碗机"}
    )
    lexicon = build_lexicon(catalog)
    assert lexicon.claimed("product")["美的晶焰"] == "MIDEA-DW-X9"
    patterns = [json.loads(line) for line in render_patterns(lexicon).splitlines()]
    assert {"label": "product", "pattern": "晶焰", "id": "MIDEA-DW-X9"} in patterns
    assert "晶焰" in render_user_dict(lexicon)

"""Issue 17 through the real stack (gateway, trained Rasa, action server, database): the period and
device asked, comparisons, honest answers outside the readings, repeat / slower / explain, complaints.
Each test asserts the spoken text and the card content."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from bot.testing.harness import RunningStack, make_stack
from tests.test_dialogue_stack import say

pytestmark = pytest.mark.stack

ZHANG, PANEL, LI = "demo-zhang-speaker", "demo-zhang-panel", "demo-li-speaker"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = make_stack(tmp_path_factory.mktemp("everyday"))
    running.start()
    yield running
    running.stop()


def card(replies: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [r["card"] for r in replies if r["card"] and r["card"]["type"] == kind]
    assert found, f"no {kind} card in {replies}"
    return found[0]


def spoken(replies: list[dict[str, Any]]) -> str:
    return "".join(r["text"] for r in replies)


def one_decimal(kwh: str) -> str:
    return str(Decimal(kwh).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def get(stack: RunningStack, path: str, token: str) -> dict[str, Any]:
    req = urllib.request.Request(f"{stack.url}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        body: dict[str, Any] = json.loads(resp.read())
        return body


@pytest.mark.parametrize(
    ("text", "period", "label", "subject"),
    [
        ("昨天冰箱用了几度电", "yesterday", "昨天", "冰箱"),
        ("上周洗衣机用了多少电", "last_week", "上周", "洗衣机"),
        ("最近三天家里用了多少电", "last_3_days", "最近3天", "全屋"),
        ("十月份电费多少", "month_10", "10月", "全屋"),
    ],
)
def test_the_period_asked_is_the_period_answered(
    stack: RunningStack, text: str, period: str, label: str, subject: str
) -> None:
    replies = say(stack, LI if subject == "冰箱" else ZHANG, text)
    usage = card(replies, "energy_usage")
    assert usage["period"] == period and usage["period_label"] == label and usage["subject"] == subject
    words = spoken(replies)
    assert label in words and one_decimal(usage["kwh"]) in words and usage["cost"] in words
    assert "本月" not in words


def test_today_is_not_yet_measured_and_the_answer_names_what_exists(stack: RunningStack) -> None:
    replies = say(stack, ZHANG, "我家空调今天用了多少电")
    words = spoken(replies)
    assert words.startswith("今天还没有用电记录") and "现有记录是" in words
    assert not any(r["card"] and r["card"]["type"] == "energy_usage" for r in replies)


def test_a_room_means_that_device_only(stack: RunningStack) -> None:
    both = card(say(stack, ZHANG, "空调这个月用了多少电"), "energy_usage")
    bedroom_replies = say(stack, ZHANG, "卧室空调这个月用电多少")
    bedroom = card(bedroom_replies, "energy_usage")
    assert bedroom["subject"] == "卧室空调" and both["subject"] == "空调"
    assert Decimal(bedroom["kwh"]) < Decimal(both["kwh"])
    assert "卧室空调" in spoken(bedroom_replies) and one_decimal(bedroom["kwh"]) in spoken(bedroom_replies)


def test_that_one_asks_which_with_the_rooms_then_answers_for_the_room_said(stack: RunningStack) -> None:
    asked = say(stack, PANEL, "那台空调这个月用了多少电")
    choice = card(asked, "device_choice")
    assert choice["suggestions"] == ["客厅的空调", "主卧的空调"]
    assert "2台空调" in spoken(asked) and "客厅" in spoken(asked) and "主卧" in spoken(asked)
    answered = say(stack, PANEL, "主卧的")
    usage = card(answered, "energy_usage")
    assert usage["subject"] == "卧室空调" and usage["period"] == "this_month"


def test_compared_with_last_month_from_the_households_readings(stack: RunningStack) -> None:
    replies = say(stack, ZHANG, "这个月比上个月多还是少")
    usage = card(replies, "energy_usage")
    compare = usage["compare"]
    diff = Decimal(usage["kwh"]) - Decimal(compare["kwh"])
    assert Decimal(compare["kwh_diff"]) == diff
    words = spoken(replies)
    assert ("多" if diff > 0 else "少") + one_decimal(str(abs(diff))) + "度" in words
    assert compare["period_label"] in words and [p["label"] for p in usage["series"]][1] == "本月"


def test_which_appliance_uses_the_most(stack: RunningStack) -> None:
    replies = say(stack, ZHANG, "上个月哪个电器最费电")
    usage = card(replies, "energy_usage")
    top = usage["top_devices"]
    assert Decimal(top[0]["kwh"]) >= Decimal(top[1]["kwh"])
    assert spoken(replies).startswith(f"上个月最费电的是{top[0]['name']}")


def test_same_period_last_year_outside_the_readings_is_answered_honestly(stack: RunningStack) -> None:
    replies = say(stack, ZHANG, "这个月电费比去年同期高了多少")
    words = spoken(replies)
    assert words.startswith("去年同期没有用电记录") and "现有记录是" in words


def test_repeat_and_slower_say_the_last_answer_again(stack: RunningStack) -> None:
    first = say(stack, LI, "冰箱上个月用了多少电")
    again = say(stack, LI, "再说一遍")
    assert spoken(again) == spoken(first)
    assert card(again, "energy_usage") == card(first, "energy_usage")
    slower = say(stack, LI, "说慢一点")
    assert spoken(slower) == "好的，我说慢一点。" + spoken(first)


def test_what_does_it_mean_explains_the_term_just_used(stack: RunningStack) -> None:
    quote = say(stack, LI, "新风机分十二期每个月多少钱")
    assert "年化利率" in spoken(quote)
    explained = spoken(say(stack, LI, "什么意思"))
    assert explained.startswith("年化利率是") and "一年" in explained
    assert spoken(say(stack, LI, "冷静期是什么意思")).startswith("冷静期是申请确认后7天内")


def test_complaint_gives_the_hotline_and_a_ticket_both_sides_see(stack: RunningStack) -> None:
    replies = say(stack, ZHANG, "我要投诉")
    contact = card(replies, "service_contact")
    words = spoken(replies)
    assert f"编号{contact['ticket']}" in words and "400-000-1234" in words and "每天8点到20点" in words
    person = say(stack, ZHANG, "帮我转人工")
    assert "400-000-1234" in spoken(person) and "不是真人" not in spoken(person)
    mine = get(stack, "/api/v1/me/complaints", ZHANG)["complaints"]
    assert [t["category"] for t in mine[:2]] == ["contact", "complaint"]
    assert mine[1]["ticket"] == contact["ticket"]
    admin = get(stack, "/api/v1/admin/complaints", "demo-admin")["complaints"]
    assert {t["ticket"] for t in mine} <= {t["ticket"] for t in admin}
    assert get(stack, "/api/v1/me/complaints", LI)["complaints"] == []


def test_a_subscription_asked_for_states_price_coverage_and_renewal(stack: RunningStack) -> None:
    replies = say(stack, LI, "扫地机耗材能订阅吗")
    offer = card(replies, "subscription_offer")
    words = spoken(replies)
    assert offer["subscription_id"] == "sub-robot-parts" and offer["renewal"]["automatic"] is True
    assert f"每年{offer['price']}元" in words and offer["service"] in words
    assert "到期自动续费" in words and "续费前5天提醒" in words and "随时可以取消" in words
    whole_home = say(stack, LI, "有没有包年保养")
    assert "每年" in spoken(whole_home) and card(whole_home, "subscription_offer")["price"]


def test_points_come_from_the_ledger_with_their_reason(stack: RunningStack) -> None:
    balance = card(say(stack, PANEL, "我有多少积分"), "points_balance")
    latest = balance["recent"][0]["reason"]
    assert balance["balance"] >= 990 and latest.startswith(("洗衣机", "电热水器"))
    origin = spoken(say(stack, PANEL, "积分是怎么来的"))
    assert f"积分来自省下的电：最近一笔是{latest}" in origin and "比换新前少用" in origin
    fresh_air = say(stack, PANEL, "用积分兑换新风机滤网")  # 3,990 points
    if balance["balance"] < 3990:
        missing = 3990 - balance["balance"]
        assert f"换新风滤网换新年卡还差{missing}分" in spoken(fresh_air), "the balance never goes negative"

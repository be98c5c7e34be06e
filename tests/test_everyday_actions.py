"""Issue 17 actions with tracker fixtures against the year-long demo seed: the period asked, rooms,
comparisons, honest answers outside the readings, complaints with the tenant's hotline."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from actions.energy import ActionEnergyUsage
from actions.everyday import ActionComplain, ActionExplainTerm
from bot.household import complaints
from bot.store.everyday import ComplaintTicket
from tests.dialogue_kit import card_of, each_text, names, talk


def test_a_room_picks_one_device_and_the_period_asked_is_answered(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    said = chat.run(
        ActionEnergyUsage(),
        "ask_energy_usage",
        {"device_type": "空调", "time_period": "yesterday"},
        text="卧室空调昨天用了多少电",
    )
    card = card_of(said, "energy_usage")
    assert card["period"] == "yesterday" and card["subject"] == "卧室空调" and len(card["series"]) == 1
    assert names(said)[0] == "utter_energy_usage_device"
    assert any(t.startswith("卧室空调昨天") or t.startswith("昨天卧室空调") for t in said[0].texts())
    assert chat.slots["time_period"] == "yesterday"


def test_that_one_air_conditioner_asks_which_then_a_room_answers(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    said = chat.run(
        ActionEnergyUsage(), "ask_energy_usage", {"device_type": "空调"}, text="那台空调用了多少电"
    )
    assert names(said) == ["utter_ask_which_device"]
    assert card_of(said, "device_choice")["suggestions"] == ["客厅的空调", "主卧的空调"]
    assert chat.slots["awaiting"] == "device_choice"
    answer = chat.run(ActionEnergyUsage(), "inform", text="主卧的")
    assert card_of(answer, "energy_usage")["subject"] == "卧室空调"


def test_today_has_no_readings_yet_and_the_answer_names_what_exists(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    said = chat.run(ActionEnergyUsage(), "ask_energy_usage", {"time_period": "today"}, text="今天用了多少电")
    assert names(said) == ["utter_energy_period_no_data"]
    text = said[0].texts()[0]
    assert text.startswith("今天还没有用电记录") and "到" in text and "月" in text


def test_compared_with_last_month_gives_the_difference_and_two_bars(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    tracker = chat.tracker("ask_energy_usage", {"time_period": "last_month"}, text="比上个月多还是少")
    tracker.latest_message["entities"][0].update(start=1, end=4)  # as the NLU reports it
    said = chat.run_on(ActionEnergyUsage(), tracker)
    assert names(said)[0] in (
        "utter_energy_compare_more",
        "utter_energy_compare_less",
        "utter_energy_compare_same",
    )
    card = card_of(said, "energy_usage")
    base, other = Decimal(card["kwh"]), Decimal(card["compare"]["kwh"])
    assert Decimal(card["compare"]["kwh_diff"]) == base - other
    assert [p["label"] for p in card["series"]] == ["上个月同期", "本月"]


def test_same_period_last_year_outside_the_readings_is_said_honestly(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    said = chat.run(
        ActionEnergyUsage(),
        "ask_energy_usage",
        {"time_period": "same_period_last_year"},
        text="这个月电费比去年同期高了多少",
    )
    # a year of readings: last year's same days are just before the first reading
    assert names(said) == ["utter_energy_compare_no_data"]
    assert said[0].texts()[0].startswith("去年同期没有用电记录")


def test_a_complaint_is_recorded_and_the_hotline_is_given(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    said = chat.run(ActionComplain(), "complain", text="我要投诉")
    assert names(said) == ["utter_complaint_recorded", "utter_service_hotline"]
    card = card_of(said, "service_contact")
    assert card["hotline"] == "400-000-1234" and card["hours"] == "每天8点到20点"
    with Session(actions_db) as session:
        (ticket,) = session.exec(select(ComplaintTicket)).all()
        assert ticket.category == "complaint" and card["ticket"] == ticket.id
        assert complaints.for_household(session, ticket.household_id)[0]["ticket"] == ticket.id
        assert complaints.for_tenant(session, ticket.tenant_id)[0]["category"] == "complaint"
    again = chat.run(ActionComplain(), "complain", text="帮我转人工")
    assert names(again)[0] == "utter_contact_recorded"


def test_a_named_term_is_explained(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    said = chat.run(ActionExplainTerm(), "explain_term", text="冷静期是什么意思")
    assert names(said) == ["utter_term_cooling_off"] and "7天" in next(each_text(said))

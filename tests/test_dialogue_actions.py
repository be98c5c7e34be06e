"""Actions driven with tracker fixtures against a real (SQLite) demo database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from actions.aftercare import ActionInsurance, ActionWarranty
from actions.commitment import ActionCancelApplication, ActionDecline, ActionReadBack, ActionStartApplication
from actions.consent import ActionConsentGrant, ActionConsentRevoke, ActionDeleteData
from actions.device_status import ActionDeviceStatus
from actions.energy import ActionEnergyUsage
from actions.fallback import ActionFallback
from actions.installment import ActionCostDetails, ActionInstallmentQuote
from actions.points import ActionGreenPoints
from actions.respect import ActionStopOffers, ActionWhyOffer
from actions.trade_in import ActionTradeIn
from actions.upgrade import ActionEnergySaving
from bot.conversation.boundary import marker
from bot.finance.installments import apr_from_cash_flows, display_apr
from bot.household import consent, points
from bot.store.ledger import Application, OfferAudit
from bot.store.models import EnergyReading, Household
from tests.dialogue_kit import card_of, each_text, names, talk


def audit_rows(engine: Engine, household_id: int | None = None) -> list[OfferAudit]:
    with Session(engine) as session:
        query = select(OfferAudit)
        if household_id is not None:
            query = query.where(OfferAudit.household_id == household_id)
        return list(session.exec(query.order_by(OfferAudit.id)).all())


def application_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(Application)).one())


# ---- energy ------------------------------------------------------------------------------------


def test_household_usage_names_the_biggest_consumer_and_offers_one_tip_per_session(
    actions_db: Engine,
) -> None:
    chat = talk(actions_db, "张家")
    said = chat.run(ActionEnergyUsage(), "ask_energy_usage", text="家里这个月用了多少电")
    assert names(said)[:2] == ["utter_energy_usage_household", "utter_energy_biggest"]
    assert card_of(said, "energy_usage")["device_type"] is None
    assert names(said)[-1] == "utter_energy_tip" and chat.slots["awaiting"] == "upgrade"
    (tip,) = audit_rows(actions_db)
    assert tip.proactive and tip.kind == "upgrade" and tip.data_scopes == ["energy_data"]
    assert tip.text == said[-1].texts()[0], "the audit stores exactly what was said"
    again = chat.run(ActionEnergyUsage(), "ask_energy_usage", {"device_type": "空调"})
    assert "utter_energy_tip" not in names(again), "at most one proactive offer per session"
    assert len(audit_rows(actions_db)) == 1


def test_no_tip_without_consent_and_no_data_used_for_an_offer(actions_db: Engine) -> None:
    chat = talk(actions_db, "李家")
    said = chat.run(ActionEnergyUsage(), "ask_energy_usage", {"device_type": "空调"})
    assert names(said) == ["utter_energy_usage_device"]
    assert audit_rows(actions_db) == []


def test_stop_offers_silences_the_tip_but_not_the_answer(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    assert names(chat.run(ActionStopOffers(), "stop_offers")) == ["utter_offers_stopped"]
    said = chat.run(ActionEnergyUsage(), "ask_energy_usage", {"device_type": "空调"})
    assert names(said) == ["utter_energy_usage_device"]
    assert audit_rows(actions_db) == []


def test_a_follow_up_value_keeps_the_device_asked_about(actions_db: Engine) -> None:
    chat = talk(actions_db, "李家")
    chat.run(ActionEnergyUsage(), "ask_energy_usage", {"device_type": "冰箱"})
    said = chat.run(ActionEnergyUsage(), "inform", {"time_period": "last_month"})
    card = card_of(said, "energy_usage")
    assert card["device_type"] == "冰箱" and card["period"] == "last_month"


# ---- consent and the upgrade ------------------------------------------------------------------


def test_upgrade_needs_consent_first_then_offers_savings_and_stops_after_withdrawal(
    actions_db: Engine,
) -> None:
    chat = talk(actions_db, "李家")
    asked = chat.run(ActionEnergySaving(), "ask_energy_saving", {"device_type": "空调"})
    assert names(asked) == ["utter_consent_request_upgrade"]
    card = card_of(asked, "consent_request")
    assert [s["scope"] for s in card["scopes"]] == ["energy_data"] and card["withdraw"] and card["purpose"]
    assert not any(ch.isdigit() for text in each_text(asked) for ch in text), "no figures before consent"
    assert audit_rows(actions_db) == [] and chat.slots["awaiting"] == "consent"

    granted = chat.run(ActionConsentGrant(), "affirm", text="好的")
    assert names(granted)[0] == "utter_consent_granted"
    assert "utter_upgrade_not_worth" in names(granted) or "utter_upgrade_offer" in names(granted)
    figures = next(s for s in granted if s.response in ("utter_upgrade_not_worth", "utter_upgrade_offer"))
    assert Decimal(figures.values["saving"]) > 0

    chat.run(ActionConsentRevoke(), "consent_revoke", text="撤回授权")
    again = chat.run(ActionEnergySaving(), "ask_energy_saving", {"device_type": "空调"})
    assert names(again) == ["utter_consent_request_upgrade"]


def test_headline_upgrade_explains_the_device_saving_installment_and_points(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    said = chat.run(ActionEnergySaving(), "ask_energy_saving", text="怎么省电")
    assert names(said) == [
        "utter_upgrade_why",
        "utter_upgrade_offer",
        "utter_upgrade_installment",
        "utter_upgrade_points",
    ]
    card = card_of(said, "energy_saving")
    assert card["device"]["name"] == "客厅空调" and card["product"]["energy_grade"] == 1
    inst = card["installment"]
    assert Decimal(inst["monthly_saving"]) * 12 == Decimal(card["money_saved_per_year"]).quantize(
        Decimal("0.01")
    ) or (abs(Decimal(inst["monthly_saving"]) * 12 - Decimal(card["money_saved_per_year"])) < Decimal("0.06"))
    assert Decimal(inst["net_monthly_cost"]) == Decimal(inst["monthly_payment"]) - Decimal(
        inst["monthly_saving"]
    )
    spoken = said[2].texts()[0]
    assert spoken.index("年化利率") < spoken.index("月供")
    assert chat.slots["awaiting"] == "installment" and chat.slots["product"] == card["product"]["sku"]
    (row,) = audit_rows(actions_db)
    assert row.text == "".join(s.texts()[0] for s in said) and row.apr == Decimal(inst["apr"])

    quote = chat.run(ActionInstallmentQuote(), "affirm")
    qcard = card_of(quote, "installment_quote")
    assert qcard["monthly_saving"] == inst["monthly_saving"], "the saving is set against the payment"


def test_consent_for_device_usage_resumes_the_warranty(actions_db: Engine) -> None:
    chat = talk(actions_db, "李家")
    asked = chat.run(ActionWarranty(), "ask_warranty", {"device_type": "冰箱"})
    assert names(asked) == ["utter_consent_request_warranty"]
    assert [s["scope"] for s in card_of(asked, "consent_request")["scopes"]] == ["device_usage"]
    said = chat.run(ActionConsentGrant(), "affirm")
    assert names(said)[0] == "utter_consent_granted" and "utter_warranty_offer" in names(said)
    with Session(actions_db) as session:
        states = consent.status(session, audit_rows(actions_db)[0].household_id)
    assert {s.value: st.granted for s, st in states.items()} == {"energy_data": False, "device_usage": True}


def test_data_deletion_is_confirmed_then_executed(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    asked = chat.run(ActionConsentRevoke(), "consent_revoke", text="把我的数据删掉")
    assert names(asked) == ["utter_ask_delete_data"] and chat.slots["awaiting"] == "delete_data"
    said = chat.run(ActionDeleteData(), "affirm", text="确认删除")
    assert names(said) == ["utter_data_deleted"] and int(said[0].values["readings"]) > 0
    assert said[0].card is not None and said[0].card["type"] == "data_erased", "the gateway finishes it"
    with Session(actions_db) as session:
        assert session.exec(select(func.count()).select_from(EnergyReading)).one() > 0, "李家 keeps hers"
    usage = chat.run(ActionEnergyUsage(), "ask_energy_usage", {"device_type": "空调"})
    assert names(usage) == ["utter_energy_no_readings"]


@pytest.mark.parametrize("reply", ["嗯", "好的", "对", "可以", "嗯 嗯", "不要删", "别删了"])
def test_a_bare_yes_does_not_confirm_the_irreversible_deletion(actions_db: Engine, reply: str) -> None:
    chat = talk(actions_db, "张家")
    chat.run(ActionConsentRevoke(), "consent_revoke", text="把我的数据删掉")
    said = chat.run(ActionDeleteData(), "affirm", text=reply)
    assert names(said) == ["utter_ask_delete_data_explicit"] and chat.slots["awaiting"] == "delete_data"
    usage = chat.run(ActionEnergyUsage(), "ask_energy_usage", {"device_type": "空调"})
    assert names(usage)[0] == "utter_energy_usage_device", "nothing deleted"


def test_confirm_delete_read_as_a_revocation_answers_the_pending_question(actions_db: Engine) -> None:
    """「确认删除」 may be classified consent_revoke: while the question is pending it confirms it."""
    chat = talk(actions_db, "张家")
    chat.run(ActionConsentRevoke(), "consent_revoke", text="删除我的数据")
    said = chat.run(ActionConsentRevoke(), "consent_revoke", text="确认删除")
    assert names(said) == ["utter_data_deleted"] and chat.slots["awaiting"] is None


def test_declining_a_deletion_keeps_the_data(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    chat.run(ActionConsentRevoke(), "consent_revoke", text="删除我的数据")
    assert names(chat.run(ActionDecline(), "deny")) == ["utter_delete_cancelled"]
    usage = chat.run(ActionEnergyUsage(), "ask_energy_usage", {"device_type": "空调"})
    assert names(usage)[0] == "utter_energy_usage_device"


# ---- installments -------------------------------------------------------------------------------


def quote_for(actions_db: Engine, household: str, sku: str, periods: int) -> tuple[list, dict]:  # type: ignore[type-arg]
    chat = talk(actions_db, household)
    chat.slots.update(product=sku, periods=str(periods))
    said = chat.run(ActionInstallmentQuote(), "ask_installment")
    return said, card_of(said, "installment_quote")


def test_quote_states_the_apr_first_and_its_card_apr_is_the_irr_of_its_payments(actions_db: Engine) -> None:
    said, card = quote_for(actions_db, "李家", "HAIER-XF-FA350", 12)
    assert names(said) == ["utter_quote", "utter_quote_costs", "utter_ask_apply"]
    text = said[0].texts()[0]
    assert text.index("年化利率") < text.index("月供") and "13.03%" in text and "1072.00" in text
    received = (
        Decimal(card["product"]["price"])
        - Decimal(card["down_payment"])
        - Decimal(card.get("upfront_fee", "0"))
    )
    payments = [Decimal(row["payment"]) for row in card["schedule"]]
    assert Decimal(card["apr"]) == display_apr(apr_from_cash_flows(received, payments))
    costs = said[1].texts()[0]
    assert card["total_cost"] in costs and card["fees_total"] in costs and card["partner"] in costs


def test_only_a_true_zero_apr_is_called_interest_free(actions_db: Engine) -> None:
    said, card = quote_for(actions_db, "李家", "HAIER-BCD470-G1", 6)
    assert names(said)[0] == "utter_quote_interest_free" and card["apr"] == "0.0000"
    said, card = quote_for(actions_db, "李家", "ECOVACS-T30PRO", 12)
    assert names(said)[:2] == ["utter_quote", "utter_quote_costs_down"], "3 % upfront fee, 10 % down"
    assert Decimal(card["apr"]) > 0 and not card["interest_free"]


def test_cost_details_are_answered_from_the_audited_quote(actions_db: Engine) -> None:
    chat = talk(actions_db, "李家")
    chat.slots.update(product="HAIER-XF-FA350", periods="12")
    chat.run(ActionInstallmentQuote(), "ask_installment")
    said = chat.run(ActionCostDetails(), "ask_cost_details", text="年化利率是多少")
    (row,) = audit_rows(actions_db)
    assert names(said) == ["utter_cost_details"]
    assert said[0].values["fees"] == row.terms["fees_total"] and said[0].values["apr_text"] == "13.03%"
    assert chat.slots["awaiting"] == "apply", "a side question keeps the pending question"


def test_changing_the_period_count_requotes(actions_db: Engine) -> None:
    chat = talk(actions_db, "李家")
    chat.slots.update(product="HAIER-XF-FA350", periods="12")
    chat.run(ActionInstallmentQuote(), "ask_installment")
    chat.slots["periods"] = "24"
    said = chat.run(ActionInstallmentQuote(), "inform", {"periods": "24"})
    assert card_of(said, "installment_quote")["periods"] == 24
    assert [r.terms["periods"] for r in audit_rows(actions_db)] == ["12", "24"]


def test_a_period_count_no_plan_offers_is_said_plainly(actions_db: Engine) -> None:
    said, _ = quote_for(actions_db, "李家", "HAIER-XF-FA350", 12)
    chat = talk(actions_db, "李家")
    chat.slots.update(product="HAIER-XF-FA350", periods="18")
    said = chat.run(ActionInstallmentQuote(), "ask_installment")
    assert names(said) == ["utter_quote_unavailable"]


# ---- commitment ---------------------------------------------------------------------------------


def quoted(actions_db: Engine) -> object:
    chat = talk(actions_db, "李家")
    chat.slots.update(product="HAIER-XF-FA350", periods="12")
    chat.run(ActionInstallmentQuote(), "ask_installment")
    return chat


def test_read_back_confirm_pending_card_and_a_second_confirmation_changes_nothing(actions_db: Engine) -> None:
    chat = quoted(actions_db)
    back = chat.run(ActionReadBack(), "affirm")  # type: ignore[attr-defined]
    assert names(back) == ["utter_read_back_installment", "utter_ask_confirm"]
    read = back[0].texts()[0]
    for part in ("中国建设银行股份有限公司", "12期", "13.03%", "1072.00", "12864.00"):
        assert part in read
    assert read.index("年化利率") < read.index("月供")
    assert application_count(actions_db) == 0, "nothing is written before the explicit confirmation"
    done = chat.run(ActionStartApplication(), "affirm")  # type: ignore[attr-defined]
    card = card_of(done, "application_status")
    assert names(done) == ["utter_application_pending"] and card["state"] == "pending"
    assert card["completion"]["voice_binding"] is False and card["completion"]["qr_endpoint"].endswith("/qr")
    again = chat.run(ActionStartApplication(), "affirm")  # type: ignore[attr-defined]
    assert names(again) == ["utter_application_exists"]
    assert card_of(again, "application_status")["application_id"] == card["application_id"]
    assert application_count(actions_db) == 1


def test_cancel_within_the_window_cancels_the_application(actions_db: Engine) -> None:
    chat = quoted(actions_db)
    chat.run(ActionReadBack(), "affirm")  # type: ignore[attr-defined]
    chat.run(ActionStartApplication(), "affirm")  # type: ignore[attr-defined]
    said = chat.run(ActionCancelApplication(), "cancel_application", text="取消刚才的申请")  # type: ignore[attr-defined]
    assert names(said) == ["utter_application_cancelled"]
    assert card_of(said, "application_status")["state"] == "cancelled"
    nothing = talk(actions_db, "张家").run(
        ActionCancelApplication(), "cancel_application", text="取消我的申请"
    )
    assert names(nothing) == ["utter_cancel_nothing"]


def test_cancel_during_the_read_back_starts_nothing(actions_db: Engine) -> None:
    chat = quoted(actions_db)
    chat.run(ActionReadBack(), "affirm")  # type: ignore[attr-defined]
    said = chat.run(ActionCancelApplication(), "cancel_application")  # type: ignore[attr-defined]
    assert names(said) == ["utter_application_not_started"] and application_count(actions_db) == 0


# ---- aftercare, points, device status ----------------------------------------------------------


def test_too_old_for_a_warranty_offers_a_maintenance_subscription_instead(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    said = chat.run(ActionWarranty(), "ask_warranty", {"device_type": "冰箱"})
    assert names(said) == ["utter_warranty_too_old", "utter_subscription_offer", "utter_ask_apply"]
    assert card_of(said, "subscription_offer")["price"]
    back = chat.run(ActionReadBack(), "affirm")
    assert names(back) == ["utter_read_back_purchase", "utter_ask_confirm"]


def test_insurance_is_explained_and_handed_off_never_priced_by_voice(actions_db: Engine) -> None:
    chat = talk(actions_db, "李家")
    said = chat.run(ActionInsurance(), "ask_insurance", {"device_type": "摄像头"})
    card = card_of(said, "insurance_handoff")
    assert card["handoff_url"].startswith("https://") and card["insurer"] in said[0].texts()[0]
    assert all("元" not in text and card["reference_price"] not in text for text in each_text(said))
    assert "awaiting" not in chat.slots or chat.slots["awaiting"] is None, "no application by voice"


def test_trade_in_values_the_old_unit_by_its_age(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    said = chat.run(ActionTradeIn(), "ask_trade_in", {"device_type": "冰箱"})
    card = card_of(said, "trade_in_quote")
    assert card["old_age_years"] >= 10 and card["old_unit_value"] == "40.00"
    assert names(said)[-1] == "utter_ask_apply"


def card_household(engine: Engine) -> int:
    with Session(engine) as session:
        home = session.exec(select(Household).where(Household.name == "张家")).one()
        assert home.id is not None
        return home.id


def test_points_balance_and_what_they_buy(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    said = chat.run(ActionGreenPoints(), "ask_green_points", text="积分能换什么")
    assert names(said) == ["utter_points_balance", "utter_points_options"]
    card = card_of(said, "points_balance")
    with Session(actions_db) as session:
        balance = points.balance(session, card_household(actions_db))
    assert card["balance"] == balance > 0 and card["rewards"], "the seed's upgrades have earned points"
    cheapest = min(r["points_price"] for r in card["rewards"])
    assert balance >= cheapest == 990, "the earned points redeem at least the cheapest service"
    heater = chat.run(ActionGreenPoints(), "redeem_points", {"device_type": "热水器"})
    assert names(heater)[-2:] == ["utter_points_can_redeem", "utter_ask_apply"]
    assert heater[-2].values == {"name": "热水器除垢保养", "points": 990}
    fresh_air = chat.run(ActionGreenPoints(), "redeem_points", {"device_type": "新风机"})  # 3990 points
    if balance < 3990:
        assert names(fresh_air)[-1] == "utter_points_short"
        assert fresh_air[-1].values["missing"] == 3990 - balance


def test_device_status_says_age_warranty_and_recent_faults(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    said = chat.run(ActionDeviceStatus(), "ask_device_status", {"device_type": "扫地机器人"})
    assert names(said)[1] == "utter_device_faults"
    assert said[1].values["count"] == 3 and said[1].values["last"] == "主刷缠绕"
    assert card_of(said, "device_status")["devices"][0]["faults_last_year"] == 3


# ---- respect ------------------------------------------------------------------------------------


def test_why_this_offer_is_answered_from_the_audit_row(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    chat.run(ActionEnergySaving(), "ask_energy_saving")
    said = chat.run(ActionWhyOffer(), "ask_why_offer")
    (row,) = audit_rows(actions_db)
    assert said[0].values["explanation"] == row.explanation
    assert card_of(said, "offer_audit")["offer_id"] == row.id
    assert names(said)[1] == "utter_why_offer_data"
    assert names(talk(actions_db, "李家").run(ActionWhyOffer(), "ask_why_offer")) == ["utter_why_offer_none"]


def test_two_stage_fallback(actions_db: Engine) -> None:
    chat = talk(actions_db, "李家")
    assert names(chat.run(ActionFallback(), "nlu_fallback")) == ["utter_ask_rephrase"]
    assert names(chat.run(ActionFallback(), "nlu_fallback")) == ["utter_default"]


# ---- routing of short answers -----------------------------------------------------------------


def test_a_yes_does_what_was_asked_and_a_bare_value_continues_the_topic(actions_db: Engine) -> None:
    from actions.answers import ActionAffirm, ActionInform

    chat = talk(actions_db, "李家")
    idle_yes = chat.run(ActionAffirm(), "affirm")  # nothing asked: not ours (handled: false)
    assert names(idle_yes) == ["utter_decline_not_awaited"] and idle_yes[0].card == marker("not_awaited")
    idle_value = chat.run(ActionInform(), "inform", {"device_type": "冰箱"})
    assert names(idle_value) == ["utter_inform_without_topic"] and idle_value[0].card == marker("not_awaited")
    chat.slots.update(product="HAIER-XF-FA350", periods="12")
    chat.run(ActionInstallmentQuote(), "ask_installment")
    requote = chat.run(ActionInform(), "inform", {"periods": "24"})
    assert card_of(requote, "installment_quote")["periods"] == 24
    assert names(chat.run(ActionAffirm(), "affirm"))[0] == "utter_read_back_installment"
    assert names(chat.run(ActionAffirm(), "affirm")) == ["utter_application_pending"]
    assert names(chat.run(ActionAffirm(), "affirm")) == ["utter_application_exists"]
    assert application_count(actions_db) == 1
    chat.run(ActionDeviceStatus(), "ask_device_status", {"device_type": "冰箱"})
    follow = chat.run(ActionInform(), "inform", {"device_type": "电视"})
    assert card_of(follow, "device_status")["devices"][0]["name"] == "电视"


def test_an_apr_question_inside_the_form_lists_the_apr_of_each_period_count(actions_db: Engine) -> None:
    chat = talk(actions_db, "李家")
    chat.slots.update(product="HAIER-XF-FA350", periods="12")
    chat.run(ActionInstallmentQuote(), "ask_installment")
    chat.slots.update(product="GREE-KFR35-YJ1", periods=None)
    chat.active_loop = "installment_form"
    said = chat.run(ActionCostDetails(), "ask_cost_details", text="年化利率是多少")
    assert names(said) == ["utter_cost_details_options"]
    assert "12期13.03%" in said[0].values["options"] and "3期" in said[0].values["options"]


def test_a_bare_inform_with_no_value_heard_falls_back(actions_db: Engine) -> None:
    from actions.answers import ActionInform

    chat = talk(actions_db, "李家")
    chat.run(ActionGreenPoints(), "ask_green_points")
    assert names(chat.run(ActionInform(), "inform", text="嗯那个")) == ["utter_ask_rephrase"]

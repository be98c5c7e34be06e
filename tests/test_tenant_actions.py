"""The action server with two tenants: a conversation of a zhijia household never gets the demo
tenant's products, partners, tariff or persona (and the other way round); its configuration
(features, cancellation window, greeting) applies. Tracker fixtures, real seeded SQLite database."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from actions.aftercare import ActionInsurance, ActionWarranty
from actions.energy import ActionEnergyUsage
from actions.greet import ActionGreet
from actions.installment import ActionInstallmentQuote, ValidateInstallmentForm
from actions.points import ActionGreenPoints
from actions.session import ActionSessionStart
from actions.trade_in import ActionTradeIn
from actions.upgrade import ActionEnergySaving
from bot.store.db import utcnow
from bot.store.ledger import OfferAudit
from bot.tenants.config import apply_tenant_config, tenant_config_of
from tests.dialogue_kit import card_of, domain, names, talk

CENT = Decimal("0.01")
DEMO_PARTNERS = {"中国建设银行股份有限公司", "招商银行股份有限公司", "马上消费金融股份有限公司"}
ZHIJIA_PARTNERS = {"中国工商银行股份有限公司", "招联消费金融股份有限公司"}


def _quote(engine: Engine, household: str, sku: str, periods: int = 12) -> list:  # type: ignore[type-arg]
    chat = talk(engine, household)
    chat.slots.update(product=sku, periods=str(periods))
    return chat.run(ActionInstallmentQuote(), "ask_installment")


def test_each_tenant_quotes_only_its_own_products_and_lenders(actions_db: Engine) -> None:
    wang = card_of(_quote(actions_db, "王家", "PANA-FY-35ZDP"), "installment_quote")
    assert wang["partner"] in ZHIJIA_PARTNERS and wang["product"]["sku"] == "PANA-FY-35ZDP"
    zhang = card_of(_quote(actions_db, "张家", "HAIER-XF-FA350"), "installment_quote")
    assert zhang["partner"] in DEMO_PARTNERS
    for household, foreign in (("王家", "HAIER-XF-FA350"), ("张家", "PANA-FY-35ZDP")):
        said = _quote(actions_db, household, foreign)
        assert all(s.card is None or s.card.get("type") != "installment_quote" for s in said), foreign


def test_a_category_resolves_to_the_tenants_own_product(actions_db: Engine) -> None:
    for household, expected in (("王家", "PANA-FY-35ZDP"), ("张家", "HAIER-XF-FA350")):
        chat = talk(actions_db, household)
        tracker = chat.tracker("ask_installment", {"device_type": "新风机"}, text="新风机分期")
        form = ValidateInstallmentForm()
        slots = asyncio.run(form.extract_product(CollectingDispatcher(), tracker, domain()))
        assert slots.get("product") == expected, (household, slots)


def test_insurance_is_handed_to_the_tenants_own_partner_url(actions_db: Engine) -> None:
    wang = talk(actions_db, "王家").run(ActionInsurance(), "ask_insurance", {"device_type": "智能门锁"})
    card = card_of(wang, "insurance_handoff")
    assert card["insurer"] == "众安在线财产保险股份有限公司"
    assert card["handoff_url"] == "https://insure.zhongan.example.cn/zhijia"
    zhang = card_of(
        talk(actions_db, "张家").run(ActionInsurance(), "ask_insurance", {"device_type": "智能门锁"}),
        "insurance_handoff",
    )
    assert zhang["insurer"] == "中国平安财产保险股份有限公司"


def test_energy_costs_use_the_tenants_own_tariff(actions_db: Engine) -> None:
    said = talk(actions_db, "王家").run(
        ActionEnergyUsage(), "ask_energy_usage", {"time_period": "last_month"}
    )
    card = card_of(said, "energy_usage")
    kwh, cost = Decimal(card["kwh"]), Decimal(card["cost"])
    assert kwh > 0
    shanghai_floor = (kwh * Decimal("0.617")).quantize(CENT, ROUND_DOWN)
    assert cost >= shanghai_floor, "Shanghai tier-1 price 0.617, never Beijing's 0.4883"
    zhang = card_of(
        talk(actions_db, "张家").run(ActionEnergyUsage(), "ask_energy_usage", {"time_period": "last_month"}),
        "energy_usage",
    )
    zhang_kwh, zhang_cost = Decimal(zhang["kwh"]), Decimal(zhang["cost"])
    assert zhang_cost < (zhang_kwh * Decimal("0.617")).quantize(CENT), "Beijing prices stay with demo"


def test_the_persona_and_greeting_are_the_tenants(actions_db: Engine) -> None:
    wang = talk(actions_db, "王家")
    events = ActionSessionStart().run(CollectingDispatcher(), wang.tracker("greet"), domain())
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert (slots["assistant_name"], slots["brand_name"]) == ("小智", "智家")
    assert slots["sign_off"] == "好的，小智随时在。再见！"
    (greeting,) = wang.run(ActionGreet(), "greet")
    assert greeting.response == "utter_greet_tenant" and "智家的小智" in greeting.values["greeting"]
    (hello,) = talk(actions_db, "张家").run(ActionGreet(), "greet")
    assert hello.response == "utter_greet" and hello.values["assistant_name"] == "小居"


def test_a_disabled_feature_is_declined_politely_and_never_offered(actions_db: Engine) -> None:
    said = talk(actions_db, "王家").run(ActionGreenPoints(), "ask_green_points")
    assert names(said) == ["utter_feature_unavailable"]
    assert said[0].texts() == ["抱歉，智家暂不提供绿色积分服务。"]
    assert names(talk(actions_db, "张家").run(ActionGreenPoints(), "ask_green_points")) != [
        "utter_feature_unavailable"
    ]


def test_the_quote_card_carries_the_tenants_cancellation_window(actions_db: Engine) -> None:
    before = utcnow()
    wang = card_of(_quote(actions_db, "王家", "PANA-FY-35ZDP"), "installment_quote")
    zhang = card_of(_quote(actions_db, "张家", "HAIER-XF-FA350"), "installment_quote")
    assert datetime.fromisoformat(wang["cancel_until"]) - before >= timedelta(days=14)
    assert datetime.fromisoformat(zhang["cancel_until"]) - before < timedelta(days=8)


def _disable(engine: Engine, feature: str) -> None:
    with Session(engine) as session:
        cfg = tenant_config_of(session, "zhijia")
        features = cfg.features.model_copy(update={feature: False})
        apply_tenant_config(session, cfg.model_copy(update={"features": features}))
        session.commit()


def test_disabled_installments_end_the_form_and_are_declined_without_an_offer(actions_db: Engine) -> None:
    _disable(actions_db, "installments")
    chat = talk(actions_db, "王家")
    tracker = chat.tracker("ask_installment", {"device_type": "新风机"}, text="新风机分期")
    required = asyncio.run(
        ValidateInstallmentForm().required_slots(
            ["product", "periods"], CollectingDispatcher(), tracker, domain()
        )
    )
    assert required == []
    said = _quote(actions_db, "王家", "PANA-FY-35ZDP")
    assert names(said) == ["utter_feature_unavailable"]
    assert said[0].texts() == ["抱歉，智家暂不提供分期服务。"]
    with Session(actions_db) as session:
        assert session.exec(select(OfferAudit)).all() == [], "nothing offered, nothing audited"
    zhang = card_of(_quote(actions_db, "张家", "HAIER-XF-FA350"), "installment_quote")
    assert zhang["partner"] in DEMO_PARTNERS, "the other tenant is unaffected"


def test_the_upgrade_tip_never_mentions_a_disabled_feature(actions_db: Engine) -> None:
    said = talk(actions_db, "王家").run(ActionEnergySaving(), "ask_energy_saving", text="怎么省电")
    spoken = "".join(s.texts()[0] for s in said)
    assert "utter_upgrade_offer" in names(said), names(said)
    assert "积分" not in spoken, "zhijia has no green points"
    assert names(said)[-2:] == ["utter_upgrade_installment", "utter_upgrade_ask_installment"]
    _disable(actions_db, "installments")
    again = talk(actions_db, "王家").run(ActionEnergySaving(), "ask_energy_saving", text="怎么省电")
    assert "utter_upgrade_installment" not in names(again) and "分期" not in "".join(
        s.texts()[0] for s in again
    )


@pytest.mark.parametrize(
    ("feature", "action", "intent", "name"),
    [
        ("warranty", ActionWarranty(), "ask_warranty", "延保"),
        ("trade_in", ActionTradeIn(), "ask_trade_in", "以旧换新"),
        ("insurance", ActionInsurance(), "ask_insurance", "保险"),
    ],
)
def test_each_disabled_feature_is_declined_by_its_action(
    actions_db: Engine, feature: str, action: Any, intent: str, name: str
) -> None:
    _disable(actions_db, feature)
    said = talk(actions_db, "王家").run(action, intent, {"device_type": "空调"})
    assert names(said) == ["utter_feature_unavailable"]
    assert said[0].texts() == [f"抱歉，智家暂不提供{name}服务。"]
    with Session(actions_db) as session:
        assert session.exec(select(OfferAudit)).all() == []

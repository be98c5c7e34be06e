"""Trade-in netted into the installment: the price less the old unit's credit and the subsidy is what
is financed, the APR is the IRR of that amount's cash flows, and every part keeps its own name."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from actions.commitment import ActionReadBack, ActionStartApplication
from actions.installment import ActionInstallmentQuote
from actions.trade_in import ActionTradeIn
from bot.errors import InputError
from bot.finance.installments import apr_from_cash_flows, display_apr
from bot.finance.quote import Deductions, best_quote, installment_card, quote_installment
from bot.finance.trade_in import deductions_of, trade_in_quote
from bot.offers import applications
from bot.offers.records import OfferRecord
from bot.store.db import utcnow
from bot.store.journey import OutboxMessage
from bot.store.ledger import OfferAudit
from bot.topics import commitment
from bot.topics.installment import quote_terms
from bot.topics.trade_in import installment_periods
from tests.dialogue_kit import card_of, each_text, names, talk
from tests.finance_fixtures import demo_plan, demo_product, demo_rows, npv

D = Decimal
IN_2026 = date(2026, 6, 1)
"""A purchase under the 2026 national programme (the demo catalog's)."""
FRIDGE_CREDITS = Deductions(D("40.00"), D("899.85"), "2026年家电以旧换新国家补贴")
"""张家's 2014 fridge (40 元 recycling value) for the 5,999 元 Viomi fridge (15 % national subsidy)."""


def test_the_installment_is_on_the_price_less_the_credit_and_the_subsidy() -> None:
    quote = quote_installment(demo_product("VIOMI-BCD521-G1"), demo_plan("ccb-12"), 12, FRIDGE_CREDITS)
    assert quote.price == D("5999.00") and quote.net_price == D("5059.15")
    assert quote.principal == D("5059.15")  # no down payment on this plan
    inst = quote.installment
    assert inst.monthly_fee == D("30.35")  # 0.6 % of 5,059.15, not of 5,999
    assert inst.monthly_payment == D("451.95")  # 421.60 principal + 30.35 fee
    assert quote.total_cost == D("5059.15") + inst.fees_total


def test_the_apr_is_the_irr_of_the_amount_actually_financed() -> None:
    quote = quote_installment(demo_product("VIOMI-BCD521-G1"), demo_plan("ccb-12"), 12, FRIDGE_CREDITS)
    payments = quote.installment.repayments
    assert quote.apr_exact == apr_from_cash_flows(D("5059.15"), payments)
    assert abs(npv(quote.apr_exact / 12, D("5059.15"), payments)) < D("1e-20")
    assert quote.apr == display_apr(quote.apr_exact) == D("0.1303")
    assert sum(payments) < D("5999.00"), "what is repaid is set against what is financed, not the price"


def test_a_down_payment_is_a_share_of_the_net_price_and_is_not_financed() -> None:
    tv = demo_product("HUAWEI-TV-V5-65")
    credits = Deductions(D("80.00"), D("0.00"))
    quote = best_quote(tv, demo_rows("finance_plans"), 12, credits)
    assert quote.plan_id == "msxf-promo-12"  # lowest APR for a TV
    assert quote.net_price == D("5919.00")
    assert quote.down_payment == D("591.90")
    assert quote.principal == D("5327.10")
    card = installment_card(quote)
    assert card["trade_in"] == {
        "price": "5999.00",
        "trade_in_credit": "80.00",
        "subsidy": "0.00",
        "subsidy_source": "",
        "net_price": "5919.00",
        "down_payment": "591.90",
        "principal": "5327.10",
    }


def test_the_plan_limits_apply_to_what_is_left_to_finance() -> None:
    washer = demo_product("XIAOMI-XQG100-G1")  # 1,799 元
    credits = Deductions(D("50.00"), D("269.85"))  # 1,479.15 left
    assert quote_installment(washer, demo_plan("ccb-12"), 12, credits).principal == D("1479.15")
    big_credit = Deductions(D("900.00"), D("0.00"))  # 899 left: below ccb-12's 1,000 minimum
    with pytest.raises(InputError) as err:
        quote_installment(washer, demo_plan("ccb-12"), 12, big_credit)
    assert err.value.code == "plan_not_eligible"


@pytest.mark.parametrize(
    "credits",
    [Deductions(D("6000.00"), D("0.00")), Deductions(D("-1.00"), D("0.00")), Deductions(D("0"), D("-5"))],
)
def test_credits_that_leave_nothing_or_are_negative_are_refused(credits: Deductions) -> None:
    with pytest.raises(InputError) as err:
        quote_installment(demo_product("VIOMI-BCD521-G1"), demo_plan("ccb-12"), 12, credits)
    assert err.value.code == "bad_deductions"


def test_a_trade_in_without_subsidy_nets_only_the_old_unit_value() -> None:
    grade3 = demo_product("MIDEA-KFR35-G3")
    trade = trade_in_quote(
        demo_rows("trade_in_rules"),
        category="空调",
        old_age_years=8,
        purchased_on=IN_2026,
        new_product=grade3,
    )
    credits = deductions_of(trade)
    assert (credits.trade_in_credit, credits.subsidy, credits.subsidy_source) == (D("120.00"), D("0.00"), "")
    assert quote_installment(grade3, demo_plan("ccb-12"), 12, credits).net_price == D("2079.00")


def test_a_plain_quote_is_unchanged_and_names_its_principal() -> None:
    quote = quote_installment(demo_product("HAIER-XF-FA350"), demo_plan("ccb-12"), 12)
    assert (quote.net_price, quote.principal, quote.installment.monthly_payment) == (
        D("12000.00"),
        D("12000.00"),
        D("1072.00"),
    )
    card = installment_card(quote)
    assert "trade_in" not in card and card["principal"] == "12000.00"
    assert "trade_in_credit" not in quote_terms(quote)


def test_the_terms_keep_every_part_and_the_financed_principal() -> None:
    quote = quote_installment(demo_product("VIOMI-BCD521-G1"), demo_plan("ccb-12"), 12, FRIDGE_CREDITS)
    terms = quote_terms(quote)
    assert terms["price"] == "5999.00" and terms["financed_principal"] == "5059.15"
    assert (terms["trade_in_credit"], terms["subsidy"], terms["net_price"]) == ("40.00", "899.85", "5059.15")


def _record(kind: str, terms: dict[str, str]) -> OfferRecord:
    now = utcnow()
    return OfferRecord(1, 1, "s", kind, "x", None, False, terms, None, "e", (), (), {}, "t", now)


def test_the_read_back_names_each_part_and_never_calls_a_credit_a_price() -> None:
    quote = quote_installment(demo_product("VIOMI-BCD521-G1"), demo_plan("ccb-12"), 12, FRIDGE_CREDITS)
    shape, values = commitment.read_back(_record("installment", quote_terms(quote)))
    assert shape == "installment_trade_in"
    assert (values["price"], values["credit"], values["subsidy"], values["principal"]) == (
        "5999.00",
        "40.00",
        "899.85",
        "5059.15",
    )
    trade = {"name": "冰箱以旧换新", "seller": "小居家电", "trade_in_credit": "40.00", "subsidy": "899.85"}
    shape, values = commitment.read_back(_record("trade_in", trade))
    assert shape == "trade_in" and "price" not in values and values["credit"] == "40.00"


@pytest.mark.parametrize(
    ("text", "periods", "expected"),
    [
        ("旧冰箱换新分期", None, 12),
        ("旧 冰箱 换 新 分期", None, 12),
        ("旧空调换新的月供多少", None, 12),
        ("旧冰箱换新的分二十四期", "24", 24),
        ("旧冰箱能以旧换新吗", None, None),
        ("以旧换新补贴上限多少", None, None),
    ],
)
def test_an_installment_is_asked_for_by_its_words_or_a_number_of_periods(
    text: str, periods: str | None, expected: int | None
) -> None:
    assert installment_periods(text, periods) == expected


# ---- the action, on the demo database ----------------------------------------------------------


def test_old_fridge_for_a_new_one_in_installments_speaks_the_parts_then_the_apr(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    said = chat.run(ActionTradeIn(), "ask_trade_in", {"device_type": "冰箱"}, text="旧冰箱换新分期")
    assert names(said) == ["utter_trade_in_netted", "utter_quote", "utter_quote_costs", "utter_ask_apply"]
    card = card_of(said, "installment_quote")
    parts = card["trade_in"]
    assert (parts["price"], parts["trade_in_credit"], parts["subsidy"]) == ("5999.00", "40.00", "899.85")
    assert parts["principal"] == card["principal"] == "5059.15"
    assert card["apr_text"] == "13.03%" and card["monthly_payment"] == "451.95"
    spoken = "".join(each_text(said))
    assert "共" not in spoken and spoken.index("年化利率") < spoken.index("月供")
    for word in ("价格5999.00元", "旧机抵扣40.00元", "国家补贴899.85元", "分期本金5059.15元"):
        assert word in spoken
    with Session(actions_db) as session:
        offer = session.exec(select(OfferAudit).order_by(OfferAudit.id.desc())).first()  # type: ignore[union-attr]
        assert offer is not None and offer.kind == "installment"
        assert offer.terms["financed_principal"] == "5059.15"
        assert offer.text == "".join(s.texts()[0] for s in said[:3]), "the audit holds what was said"
    assert chat.slots["awaiting"] == "apply" and chat.slots["periods"] == "12"


def test_the_read_back_and_the_application_carry_the_financed_principal(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    chat.run(
        ActionTradeIn(), "ask_trade_in", {"device_type": "冰箱", "periods": "24"}, text="旧冰箱换新分二十四期"
    )
    back = chat.run(ActionReadBack(), "affirm")
    assert names(back) == [
        "utter_read_back_installment",
        "utter_read_back_trade_in_parts",
        "utter_ask_confirm",
    ]
    assert back[0].values["periods"] == "24"
    assert back[1].values["principal"] == "5059.15" and back[1].values["credit"] == "40.00"
    started = chat.run(ActionStartApplication(), "affirm", text="确认")
    card = card_of(started, "application_status")
    assert card["terms"]["financed_principal"] == "5059.15"
    with Session(actions_db) as session:
        applications.confirm(session, card["offer_id"], _household(actions_db), utcnow(), via="panel")
        message = session.exec(select(OutboxMessage)).one()
        assert message.body["financed_principal"] == "5059.15"
        assert message.body["terms"]["trade_in_credit"] == "40.00"


def test_a_plain_trade_in_reads_back_credits_not_a_price(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    said = chat.run(ActionTradeIn(), "ask_trade_in", {"device_type": "冰箱"}, text="旧冰箱能以旧换新吗")
    assert names(said) == ["utter_trade_in_quote", "utter_trade_in_subsidy", "utter_ask_apply"]
    back = chat.run(ActionReadBack(), "affirm")
    assert names(back) == ["utter_read_back_trade_in", "utter_ask_confirm"]
    text = back[0].texts()[0]
    assert "旧机抵扣40.00元" in text and "国家补贴899.85元" in text and "共" not in text


def test_another_period_count_keeps_the_trade_in_and_another_product_does_not(actions_db: Engine) -> None:
    chat = talk(actions_db, "张家")
    chat.run(ActionTradeIn(), "ask_trade_in", {"device_type": "冰箱"}, text="旧冰箱换新分期")
    again = chat.run(ActionInstallmentQuote(), "ask_installment", {"periods": "24"}, text="二十四期呢")
    assert names(again) == ["utter_trade_in_netted", "utter_quote", "utter_quote_costs", "utter_ask_apply"]
    card = card_of(again, "installment_quote")
    assert (card["periods"], card["principal"], card["trade_in"]["subsidy"]) == (24, "5059.15", "899.85")
    chat.slots["product"] = "HAIER-BCD470-G1"  # what the form fills from 「海尔冰箱呢」
    other = chat.run(ActionInstallmentQuote(), "ask_installment", text="海尔冰箱呢")
    plain = card_of(other, "installment_quote")
    assert "trade_in" not in plain and plain["principal"] == "4599.00"
    assert names(other)[0] == "utter_quote"


def _household(engine: Engine) -> int:
    from bot.store.models import Household

    with Session(engine) as session:
        home = session.exec(select(Household).where(Household.name == "张家")).one()
        assert home.id is not None
        return home.id

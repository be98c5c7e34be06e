"""Green points in conversation: balance, how they are earned, what they buy (maintenance services)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from bot.finance.aftercare import SubscriptionTerms, subscriptions_for
from bot.finance.catalog import subscriptions
from bot.household import points
from bot.store.ledger import PointsRule
from bot.topics.installment import spoken_list

RECENT_MOVEMENTS = 5
_ASKS_ORIGIN = re.compile(r"怎么来|哪来|哪儿来|从哪|怎么得|为什么有|怎么攒的")


def asks_origin(text: str) -> bool:
    """「积分怎么来的」: answered from the ledger's reasons."""
    return bool(_ASKS_ORIGIN.search(text))


def earning_rate(session: Session, tenant_id: str) -> Decimal | None:
    """Points per kWh saved under the tenant's active rule (None without one)."""
    rule = session.exec(
        select(PointsRule)
        .where(PointsRule.tenant_id == tenant_id, col(PointsRule.active).is_(True))
        .order_by(col(PointsRule.id))
    ).first()
    return None if rule is None else rule.points_per_kwh


def rewards(session: Session, tenant_id: str, category: str | None = None) -> list[SubscriptionTerms]:
    """Maintenance services redeemable with points (of a category and whole-home ones), cheapest first."""
    found = subscriptions_for(subscriptions(session, tenant_id), category)
    priced = [s for s in found if s.points_price is not None]
    return sorted(priced, key=lambda s: (s.points_price or 0, s.subscription_id))


def all_rewards(session: Session, tenant_id: str) -> list[SubscriptionTerms]:
    """Every service redeemable with points, cheapest first."""
    terms = [
        SubscriptionTerms(s.id, s.name, s.category, s.service, s.price, s.period_months, s.points_price)
        for s in subscriptions(session, tenant_id)
        if s.points_price is not None
    ]
    return sorted(terms, key=lambda s: (s.points_price or 0, s.subscription_id))


def spoken_rewards(items: Sequence[SubscriptionTerms], limit: int = 3) -> str:
    """「热水器除垢保养990分、空调深度清洗年卡1290分」."""
    return spoken_list(f"{s.name}{s.points_price}分" for s in items[:limit])


def points_card(
    session: Session, household_id: int, rate: Decimal | None, items: Sequence[SubscriptionTerms]
) -> dict[str, Any]:
    """The ``points_balance`` card: balance, earning rule, redeemable services, recent movements."""
    history = points.history(session, household_id)[-RECENT_MOVEMENTS:]
    return {
        "type": "points_balance",
        "title": "",
        "balance": points.balance(session, household_id),
        "points_per_kwh": None if rate is None else str(rate),
        "rewards": [
            {
                "subscription_id": s.subscription_id,
                "name": s.name,
                "points_price": s.points_price,
                "service": s.service,
            }
            for s in items
        ],
        "recent": [
            {
                "delta": m.delta,
                "kind": m.kind,
                "balance_after": m.balance_after,
                "reason": m.note,
                "at": m.created_at.isoformat(),
            }
            for m in reversed(history)
        ],
    }

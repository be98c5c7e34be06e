"""Invariants of issue 8, checked over the database after faults and load (pure reads).

Each check returns ``Violation`` rows naming the invariant and ids only (never personal data):
offers presented were audited first, no offer used data after its consent was withdrawn, one
application per offer, no success was reported that the database does not hold, no household saw
another's devices or offers, and each accepted turn has exactly one stored outcome; and of the
application journey: one partner delivery per confirmed application, no decision without a
confirmation, no change after a cancellation. The load
generator's own bookkeeping (every request got exactly one response) is checked by
``client_ledger``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect
from sqlmodel import Session, col, func, select

from bot.store.journey import ApplicationEvent, OutboxMessage, PartnerDecision
from bot.store.ledger import Application, OfferAudit
from bot.store.models import ConsentEvent, Device, Turn

_DECIDED = frozenset({"approved", "declined", "disbursed"})
SUCCESS_STATES: Mapping[str, frozenset[str]] = {
    "pending": frozenset({"pending", "confirmed", "cancelled", "expired"}) | _DECIDED,
    "confirmed": frozenset({"confirmed", "cancelled"}) | _DECIDED,
    "approved": frozenset({"approved", "disbursed", "cancelled"}),
    "declined": frozenset({"declined"}),
    "disbursed": frozenset({"disbursed"}),
    "cancelled": frozenset({"cancelled"}),
    "expired": frozenset({"expired"}),
}
"""State a turn reported → states the stored application may have reached since."""


@dataclass(frozen=True)
class Violation:
    """One broken invariant: which, and the ids that show it."""

    invariant: str
    ids: Mapping[str, int | str]
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        """JSON form for ``bot invariants --json``."""
        return {"invariant": self.invariant, "ids": dict(self.ids), "detail": self.detail}


@dataclass(frozen=True)
class StoredCard:
    """A card of a stored turn outcome, with the turn it came from."""

    turn_id: int
    device_id: int
    household_id: int | None
    created_at: datetime
    card: Mapping[str, Any]


def check_all(session: Session) -> list[Violation]:
    """Every database invariant; an empty list means all hold."""
    cards = list(stored_cards(session))
    found: list[Violation] = []
    for check in (duplicate_turns, withdrawn_consent_offers, duplicate_applications, *JOURNEY_CHECKS):
        found += check(session)
    for card_check in (unaudited_offers, false_success, foreign_data):
        found += card_check(session, cards)
    return found


def stored_cards(session: Session) -> Iterator[StoredCard]:
    """Cards of every stored turn outcome (an unreadable outcome is itself reported elsewhere)."""
    households = dict(session.exec(select(Device.id, Device.household_id)).all())
    for turn in session.exec(select(Turn).order_by(col(Turn.id))).all():
        try:
            outcome = json.loads(turn.outcome)
        except ValueError:
            continue
        replies = outcome.get("replies", []) if isinstance(outcome, dict) else []
        for reply in replies if isinstance(replies, list) else []:
            card = reply.get("card") if isinstance(reply, dict) else None
            if isinstance(card, dict) and turn.id is not None:
                hh = households.get(turn.device_id)
                yield StoredCard(turn.id, turn.device_id, hh, _utc(turn.created_at), card)


def duplicate_turns(session: Session) -> list[Violation]:
    """Each accepted turn has exactly one outcome: one ``Turn`` row per (device, turn_key)."""
    found: list[Violation] = []
    if not _has_turn_constraint(session):
        found.append(
            Violation("one_outcome_per_turn", {"table": "turn"}, "unique (device_id, turn_key) missing")
        )
    rows = session.exec(
        select(Turn.device_id, Turn.turn_key, func.count())
        .group_by(col(Turn.device_id), col(Turn.turn_key))
        .having(func.count() > 1)
    ).all()
    for device_id, _key, count in rows:
        found.append(Violation("one_outcome_per_turn", {"device_id": device_id}, f"{count} outcomes"))
    for turn_id, outcome in session.exec(select(Turn.id, Turn.outcome)).all():
        if not _is_outcome(outcome):
            found.append(Violation("one_outcome_per_turn", {"turn_id": turn_id or 0}, "outcome unreadable"))
    return found


def withdrawn_consent_offers(session: Session) -> list[Violation]:
    """No offer used a data scope whose latest consent event at that time was not a grant."""
    events = session.exec(select(ConsentEvent).order_by(col(ConsentEvent.at), col(ConsentEvent.id))).all()
    found: list[Violation] = []
    for offer in session.exec(select(OfferAudit).order_by(col(OfferAudit.id))).all():
        for scope in offer.data_scopes or []:
            latest = _latest_event(events, offer.household_id, scope, _utc(offer.created_at))
            if latest is None or not latest.granted:
                ids: dict[str, int | str] = {"offer_id": offer.id or 0, "household_id": offer.household_id}
                found.append(Violation("no_offer_after_withdrawal", ids, f"scope {scope} not granted"))
    return found


def duplicate_applications(session: Session) -> list[Violation]:
    """At most one application per offer, and for the offer's own household."""
    found: list[Violation] = []
    rows = session.exec(
        select(Application.offer_id, func.count())
        .group_by(col(Application.offer_id))
        .having(func.count() > 1)
    ).all()
    for offer_id, count in rows:
        found.append(Violation("one_application_per_offer", {"offer_id": offer_id}, f"{count} applications"))
    owners = dict(session.exec(select(OfferAudit.id, OfferAudit.household_id)).all())
    for app in session.exec(select(Application)).all():
        if owners.get(app.offer_id) != app.household_id:
            ids = {"application_id": app.id or 0, "offer_id": app.offer_id}
            found.append(
                Violation("one_application_per_offer", ids, "application of another household's offer")
            )
    return found


def unaudited_offers(session: Session, cards: list[StoredCard]) -> list[Violation]:
    """Every card carrying an ``offer_id`` has its audit row, written no later than the turn."""
    found: list[Violation] = []
    for sc in cards:
        offer_id = _int(sc.card.get("offer_id"))
        if offer_id is None:
            continue
        row = session.get(OfferAudit, offer_id)
        ids = {"turn_id": sc.turn_id, "offer_id": offer_id}
        if row is None:
            found.append(Violation("offer_audited_first", ids, "no audit row"))
        elif _utc(row.created_at) > sc.created_at:
            found.append(Violation("offer_audited_first", ids, "audit row written after the turn"))
    return found


def false_success(session: Session, cards: list[StoredCard]) -> list[Violation]:
    """An application a turn reported exists, for that offer, in that state or a later one."""
    found: list[Violation] = []
    for sc in cards:
        if sc.card.get("type") != "application_status":
            continue
        app_id, reported = _int(sc.card.get("application_id")), str(sc.card.get("state", ""))
        ids: dict[str, int | str] = {"turn_id": sc.turn_id, "application_id": app_id or 0}
        row = session.get(Application, app_id) if app_id is not None else None
        if row is None:
            found.append(Violation("no_false_success", ids, "reported application not stored"))
        elif _int(sc.card.get("offer_id")) not in (None, row.offer_id):
            found.append(Violation("no_false_success", ids, "reported for another offer"))
        elif row.state not in SUCCESS_STATES.get(reported, frozenset()):
            found.append(Violation("no_false_success", ids, f"reported {reported}, stored {row.state}"))
    return found


def foreign_data(session: Session, cards: list[StoredCard]) -> list[Violation]:
    """Stored cards reference only the household's own devices, offers and applications."""
    lookups: dict[str, Callable[[int], int | None]] = {
        "offer_id": lambda i: _owner(session.get(OfferAudit, i)),
        "device_id": lambda i: _owner(session.get(Device, i)),
        "application_id": lambda i: _owner(session.get(Application, i)),
    }
    found: list[Violation] = []
    for sc in cards:
        for key, owner_of in lookups.items():
            ref = _int(sc.card.get(key))
            if ref is None:
                continue
            owner = owner_of(ref)
            if owner is not None and owner != sc.household_id:
                ids: dict[str, int | str] = {"turn_id": sc.turn_id, key: ref}
                found.append(Violation("no_cross_household_data", ids, f"{key} of another household"))
    return found


def client_ledger(sent: Mapping[str, int], answered: Mapping[str, int]) -> list[Violation]:
    """Client-side bookkeeping of a load run: every request sent once got exactly one response."""
    found: list[Violation] = []
    for request_id in sorted(set(sent) | set(answered)):
        n_sent, n_answered = sent.get(request_id, 0), answered.get(request_id, 0)
        if n_sent != 1 or n_answered != 1:
            detail = f"sent {n_sent}, answered {n_answered}"
            found.append(Violation("one_response_per_request", {"request": request_id}, detail))
    return found


def summary(violations: list[Violation]) -> dict[str, int]:
    """Violations counted per invariant."""
    return dict(Counter(v.invariant for v in violations))


def _has_turn_constraint(session: Session) -> bool:
    insp = inspect(session.connection())
    uniques = [set(u["column_names"]) for u in insp.get_unique_constraints("turn")]
    uniques += [{c for c in i["column_names"] if c} for i in insp.get_indexes("turn") if i.get("unique")]
    return {"device_id", "turn_key"} in uniques


def _latest_event(
    events: Sequence[ConsentEvent], household_id: int, scope: str, at: datetime
) -> ConsentEvent | None:
    latest = None
    for event in events:
        if event.household_id == household_id and event.scope == scope and _utc(event.at) <= at:
            latest = event
    return latest


def _owner(row: OfferAudit | Device | Application | None) -> int | None:
    return None if row is None else row.household_id


def _is_outcome(raw: str) -> bool:
    try:
        outcome = json.loads(raw)
    except ValueError:
        return False
    return isinstance(outcome, dict) and isinstance(outcome.get("replies"), list)


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- the application journey (issue 16) ----------------------------------------------------------


def one_delivery_per_confirmation(session: Session) -> list[Violation]:
    """A confirmed application has exactly one confirmation message to its partner; others none."""
    counts = Counter(
        session.exec(select(OutboxMessage.application_id).where(OutboxMessage.kind == "confirmation")).all()
    )
    found: list[Violation] = []
    for app in session.exec(select(Application)).all():
        wanted = 1 if app.confirmed_at is not None else 0
        if app.id is not None and counts.get(app.id, 0) != wanted:
            ids = {"application_id": app.id}
            found.append(
                Violation("one_delivery_per_confirmed_application", ids, f"{counts.get(app.id, 0)} messages")
            )
    return found


def decisions_need_confirmation(session: Session) -> list[Violation]:
    """No decision applied to, and no decided state of, an application never confirmed."""
    confirmed = {a.id for a in session.exec(select(Application)).all() if a.confirmed_at is not None}
    found: list[Violation] = []
    applied = session.exec(select(PartnerDecision).where(PartnerDecision.outcome == "applied")).all()
    for decision in applied:
        if decision.application_id not in confirmed:
            ids = {"application_id": decision.application_id, "decision_id": decision.id or 0}
            found.append(Violation("no_decision_without_confirmation", ids, decision.decision))
    for app in session.exec(select(Application).where(col(Application.state).in_(_DECIDED))).all():
        if app.id not in confirmed:
            found.append(
                Violation("no_decision_without_confirmation", {"application_id": app.id or 0}, app.state)
            )
    return found


def frozen_after_cancellation(session: Session) -> list[Violation]:
    """Nothing happens to an application after it was cancelled, and it stays cancelled."""
    events = session.exec(select(ApplicationEvent).order_by(col(ApplicationEvent.id))).all()
    cancelled_at: dict[int, int] = {}
    found: list[Violation] = []
    for event in events:
        if event.application_id in cancelled_at:
            ids = {"application_id": event.application_id, "event_id": event.id or 0}
            found.append(Violation("no_change_after_cancellation", ids, event.kind))
        elif event.kind == "cancelled":
            cancelled_at[event.application_id] = event.id or 0
    for app in session.exec(select(Application)).all():
        if app.id in cancelled_at and app.state != "cancelled":
            found.append(
                Violation("no_change_after_cancellation", {"application_id": app.id or 0}, app.state)
            )
    return found


JOURNEY_CHECKS = (one_delivery_per_confirmation, decisions_need_confirmation, frozen_after_cancellation)

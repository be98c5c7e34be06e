"""Complaints and requests for a person (「我要投诉」「转人工」「联系客服」): a ticket is recorded for the
household and its tenant's service team; the answer names the tenant's hotline and hours."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from bot.store.everyday import ComplaintTicket
from bot.store.ledger import Application

_COMPLAINT = re.compile(r"投诉|不满意|太烦|举报|反映|差评|骗")


class ComplaintCategory(StrEnum):
    """What the household asked for."""

    COMPLAINT = "complaint"
    """「我要投诉」: something went wrong."""
    CONTACT = "contact"
    """「转人工」「联系客服」: reach a person."""


def category_of(text: str) -> ComplaintCategory:
    """A complaint when the words say so, else a request to reach a person."""
    return ComplaintCategory.COMPLAINT if _COMPLAINT.search(text) else ComplaintCategory.CONTACT


def record(
    session: Session,
    tenant_id: str,
    household_id: int,
    conversation_id: str,
    text: str,
    concerns: str | None,
    offer_id: int | None,
    at: datetime,
) -> ComplaintTicket:
    """Record a ticket (flushed, so it has its number); the application is the offer's, if any."""
    application = None
    if offer_id is not None:
        application = session.exec(
            select(Application.id).where(
                Application.offer_id == offer_id, Application.household_id == household_id
            )
        ).first()
    ticket = ComplaintTicket(
        tenant_id=tenant_id,
        household_id=household_id,
        conversation_id=conversation_id[:40],
        category=category_of(text).value,
        concerns=concerns,
        offer_id=offer_id,
        application_id=application,
        created_at=at,
    )
    session.add(ticket)
    session.flush()
    return ticket


def as_json(ticket: ComplaintTicket) -> dict[str, Any]:
    """A ticket as the household and the admin see it (no words of the conversation)."""
    return {
        "ticket": ticket.id,
        "household_id": ticket.household_id,
        "category": ticket.category,
        "concerns": ticket.concerns,
        "offer_id": ticket.offer_id,
        "application_id": ticket.application_id,
        "state": ticket.state,
        "created_at": ticket.created_at.isoformat(),
    }


def for_household(session: Session, household_id: int) -> list[dict[str, Any]]:
    """The household's tickets, newest first."""
    query = select(ComplaintTicket).where(ComplaintTicket.household_id == household_id)
    return [as_json(t) for t in session.exec(query.order_by(col(ComplaintTicket.id).desc())).all()]


def for_tenant(session: Session, tenant_id: str) -> list[dict[str, Any]]:
    """Every ticket of the tenant's households, newest first."""
    query = select(ComplaintTicket).where(ComplaintTicket.tenant_id == tenant_id)
    return [as_json(t) for t in session.exec(query.order_by(col(ComplaintTicket.id).desc())).all()]

"""Analytics table: one row per recorded tracker event from Rasa's event broker.

Only what the dashboards need is kept: intent names and confidences, response names, card types and
offer ids. User text, entities and slot values never land here (user text is personal data).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class AnalyticsEvent(SQLModel, table=True):
    """A turn (user intent or bot response) or an offer card shown, idempotent by ``event_key``."""

    id: int | None = Field(default=None, primary_key=True)
    event_key: str = Field(max_length=64, unique=True)
    """sha256 over sender, event type, timestamp, row kind and body hash: redeliveries collide."""
    kind: str = Field(max_length=8)
    """``turn`` or ``offer``."""
    event: str = Field(max_length=12)
    """Rasa event type the row came from (``user`` or ``bot``)."""
    conversation_id: str = Field(max_length=80, index=True)
    """Rasa sender id: the gateway's random conversation id, not a person or device id."""
    intent: str | None = Field(default=None, max_length=80)
    """Intent name of a user turn."""
    confidence: float | None = None
    """Intent confidence of a user turn (0..1)."""
    action: str | None = Field(default=None, max_length=80)
    """Response (``utter_*``) behind a bot utterance, when Rasa names it."""
    card_type: str | None = Field(default=None, max_length=40)
    """``type`` of the card a bot message carried."""
    offer_id: str | None = Field(default=None, max_length=40)
    """Offer audit id of an offer card."""
    occurred_at: datetime = Field(index=True)
    """Event time as stamped by Rasa (UTC)."""
    recorded_at: datetime
    """When the consumer stored the row."""

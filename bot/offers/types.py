"""Typed inputs and outputs of the offer service: candidates, context, caps, offers, refusals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum


class OfferKind(StrEnum):
    """What is offered; the order here breaks ties between equally ranked candidates."""

    INSTALLMENT = "installment"
    UPGRADE = "upgrade"
    WARRANTY = "warranty"
    INSURANCE = "insurance"
    TRADE_IN = "trade_in"
    POINTS = "points"
    SUBSCRIPTION = "subscription"


class RefusalReason(StrEnum):
    """Why a candidate was not offered."""

    SENSITIVE_DATA = "sensitive_data"
    NEEDS_CONSENT = "needs_consent"
    UNTRUTHFUL_TERMS = "untruthful_terms"
    OFF_TOPIC = "off_topic"
    STOP_OFFERS = "stop_offers"
    SESSION_CAP = "session_cap"
    WEEKLY_CAP = "weekly_cap"
    DAILY_CAP = "daily_cap"
    QUIET_HOURS = "quiet_hours"
    FEATURE_DISABLED = "feature_disabled"
    NO_CANDIDATES = "no_candidates"


@dataclass(frozen=True)
class Candidate:
    """An offer the caller could make, with its terms already computed."""

    kind: OfferKind
    subject: str
    """SKU, device id or plan id."""
    terms: Mapping[str, str]
    """Money and rates as decimal strings (``apr`` as a fraction, e.g. "0.1303")."""
    explanation: str
    """Short Chinese reason: why it fits, from which data."""
    text: str
    """The sentence to be spoken or shown."""
    data_scopes: frozenset[str] = frozenset()
    """Consent scopes whose data produced the candidate (energy_data, device_usage)."""
    uses_sensitive_data: bool = False
    """Camera images, faces, voiceprints, lock logs: such candidates are always refused."""
    topics: frozenset[str] = frozenset()
    """Turn topics besides ``kind`` this candidate fits (e.g. ask_energy_usage)."""
    inputs: Mapping[str, str] = field(default_factory=dict)
    """The data the candidate was computed from, kept in the audit row."""
    rank: int = 0
    """Caller's preference, lower first."""


@dataclass(frozen=True)
class OfferContext:
    """Where the offer would be made."""

    household_id: int
    session_id: str
    """Conversation id."""
    topic: str | None
    """Topic of the turn (an OfferKind value or an intent name); None matches every candidate."""
    proactive: bool
    """The assistant offers on its own (counts against caps, stopped by "stop offers")."""


@dataclass(frozen=True)
class Caps:
    """Limits on proactive offers."""

    per_session: int = 1
    per_week: int = 3
    week: timedelta = timedelta(days=7)
    per_day: int | None = None
    """Proactive offers per local calendar day (tenant time zone); None: no daily cap."""
    quiet_hours: tuple[time, time] | None = None
    """(start, end) local wall-clock times without proactive offers; may wrap midnight."""
    timezone: str = "Asia/Shanghai"
    """Time zone of the daily cap and the quiet hours."""
    disabled: frozenset[OfferKind] = frozenset()
    """Kinds the tenant does not provide at all: refused as ``feature_disabled``, proactive or not."""


@dataclass(frozen=True)
class Offer:
    """An offer that may be made now; ``offer_id`` is its committed audit row."""

    offer_id: int
    kind: OfferKind
    subject: str
    terms: Mapping[str, str]
    apr: Decimal | None
    explanation: str
    text: str
    data_scopes: tuple[str, ...]
    consent_refs: tuple[int, ...]
    proactive: bool
    created_at: datetime


@dataclass(frozen=True)
class Refusal:
    """A candidate that was not offered, and why."""

    kind: OfferKind
    subject: str
    reason: RefusalReason
    missing_scopes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Decision:
    """The outcome: at most one offer, and the refusals of the candidates ranked before it."""

    offer: Offer | None
    refusals: tuple[Refusal, ...]

    @property
    def reason(self) -> RefusalReason | None:
        """Why nothing is offered (the best-ranked candidate's refusal); None with an offer."""
        if self.offer is not None:
            return None
        return self.refusals[0].reason if self.refusals else RefusalReason.NO_CANDIDATES

    @property
    def missing_scopes(self) -> frozenset[str]:
        """Scopes to ask consent for when the best-ranked candidate needs them."""
        return self.refusals[0].missing_scopes if self.offer is None and self.refusals else frozenset()


DEFAULT_CAPS = Caps()
"""One proactive offer per session, three per rolling week."""

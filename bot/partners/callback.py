"""``POST /api/v1/partners/{partner}/decisions``: verify the partner's signature, then apply.

The secret is the one of ``{partner}`` in the configuration of the tenant the application belongs
to, and the application must have gone to that partner. Nothing is written before the signature
checks out; an unknown application answers like a bad signature (no existence oracle).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session

from bot.errors import AuthError, InputError
from bot.offers import decisions, journey
from bot.offers.decisions import DecisionOutcome
from bot.partners import signing
from bot.store.ledger import Application, OfferAudit
from bot.store.models import Household
from bot.tenants.config import tenant_config_of

_REFUSED = "签名不正确"


def receive(session: Session, partner: str, body: bytes, signature: str, now: datetime) -> DecisionOutcome:
    """Verify and apply one decision callback; AuthError (401) for anything not signed right."""
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError("请求体必须是 JSON", code="bad_json") from err
    if not isinstance(raw, dict):
        raise InputError("请求体必须是 JSON 对象", code="bad_json")
    app_id = raw.get("application_id")
    row = session.get(Application, app_id) if isinstance(app_id, int) else None
    household = session.get(Household, row.household_id) if row else None
    offer = session.get(OfferAudit, row.offer_id) if row else None
    if row is None or household is None or offer is None:
        raise AuthError(_REFUSED, code="signature_invalid")
    config = tenant_config_of(session, household.tenant_id)
    endpoint = config.partners.get(partner)
    if endpoint is None:
        raise AuthError(_REFUSED, code="signature_invalid")
    signing.verify(endpoint.secret, signature, body, now.timestamp())
    routed = config.partner_for(journey.partner_of(offer.terms))
    if routed is None or routed[0] != partner:
        raise AuthError("这笔申请不是发给该合作方的", code="wrong_partner", status=403)
    request = decisions.parse_request(raw)
    return decisions.apply_decision(session, partner, household.tenant_id, request, now)

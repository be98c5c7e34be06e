"""Bearer tokens of a tenant: issue (admin, designer), list without secrets, revoke, demo checks.

A token is shown once when issued and stored only as its SHA-256; lists and revocations use its
public id (a prefix of that hash). ``live_demo_tokens`` finds the fixed demo tokens a production
database must not hold.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from bot.errors import InputError, NotFoundError
from bot.store.credentials import DEMO_TOKENS
from bot.store.models import ApiToken, Tenant, TokenRole
from bot.store.repo import TOKEN_ID_CHARS, hash_token, issue_token, token_id
from bot.tenants.config import apply_tenant_config, parse_tenant_config

ISSUABLE = (TokenRole.ADMIN.value, TokenRole.DESIGNER.value)
_TENANT_ID = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")


def create_tenant(session: Session, tenant_id: str, name: str, assistant_name: str, brand: str) -> Tenant:
    """A new manufacturer with default configuration; refuses an id that exists."""
    if not _TENANT_ID.match(tenant_id):
        raise InputError("厂商 id 只能用小写字母、数字、-、_（2–40 个字符，字母开头）", code="bad_tenant_id")
    if session.get(Tenant, tenant_id) is not None:
        raise InputError(f"厂商 {tenant_id} 已存在", code="tenant_exists", status=409)
    raw = {
        "id": tenant_id,
        "name": name.strip(),
        "brand": (brand or name).strip(),
        "assistant_name": assistant_name,
    }
    return apply_tenant_config(session, parse_tenant_config(raw, f"tenant {tenant_id}"))


def issue(
    session: Session, tenant_id: str, role: str, label: str, now: datetime, expires_days: int | None = None
) -> tuple[str, str]:
    """A new admin or designer token of the tenant; returns (token shown once, its public id)."""
    if role not in ISSUABLE:
        raise InputError("只能签发 admin 或 designer 凭证（设备凭证通过配对获得）", code="bad_role")
    if session.get(Tenant, tenant_id) is None:
        raise NotFoundError(f"没有找到厂商 {tenant_id}", code="tenant_not_found")
    if expires_days is not None and expires_days < 1:
        raise InputError("有效期至少 1 天", code="bad_expiry")
    token = f"{role[:3]}-{secrets.token_urlsafe(32)}"
    expires = None if expires_days is None else now + timedelta(days=expires_days)
    issue_token(session, token, role, tenant_id, None, label or role, now, expires)
    session.flush()
    return token, token_id(hash_token(token))


def listing(session: Session, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's tokens without secrets, newest first."""
    rows = session.exec(
        select(ApiToken).where(ApiToken.tenant_id == tenant_id).order_by(col(ApiToken.created_at).desc())
    ).all()
    return [
        {
            "token_id": token_id(row.token_hash),
            "role": row.role,
            "device_id": row.device_id,
            "label": row.label,
            "created_at": row.created_at.isoformat(),
            "expires_at": None if row.expires_at is None else row.expires_at.isoformat(),
            "revoked_at": None if row.revoked_at is None else row.revoked_at.isoformat(),
        }
        for row in rows
    ]


def revoke(session: Session, tenant_id: str, public_id: str, now: datetime) -> None:
    """Revoke one token of the tenant by its public id; 404 for unknown ids and other tenants' alike."""
    if not re.fullmatch(rf"[0-9a-f]{{{TOKEN_ID_CHARS}}}", public_id):
        raise NotFoundError("没有找到这个凭证", code="token_not_found")
    row = session.exec(
        select(ApiToken).where(
            col(ApiToken.token_hash).startswith(public_id), ApiToken.tenant_id == tenant_id
        )
    ).first()
    if row is None:
        raise NotFoundError("没有找到这个凭证", code="token_not_found")
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)


def live_demo_tokens(session: Session) -> list[str]:
    """The fixed demo tokens that are stored and not revoked."""
    hashes = {hash_token(t): t for t in DEMO_TOKENS}
    rows = session.exec(
        select(ApiToken.token_hash).where(
            col(ApiToken.token_hash).in_(hashes), col(ApiToken.revoked_at).is_(None)
        )
    ).all()
    return sorted(hashes[h] for h in rows)


def revoke_demo_tokens(session: Session, now: datetime) -> list[str]:
    """Revoke every live fixed demo token; returns their names."""
    names = live_demo_tokens(session)
    for name in names:
        row = session.get(ApiToken, hash_token(name))
        if row is not None:
            row.revoked_at = now
            session.add(row)
    return names

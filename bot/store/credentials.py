"""Tables of onboarding: pairing codes (stored hashed), wrong-code counters, removed households.

Bearer tokens themselves stay in ``models.ApiToken`` (one lookup path, ``repo.authenticate``).
``DEMO_TOKENS`` names the fixed tokens of the demo seed, so a production gateway can refuse to
start while any of them is live.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import datetime

from sqlmodel import Field, Session, SQLModel

DEMO_TOKENS: tuple[str, ...] = (
    "demo-admin",
    "demo-designer",
    "demo-li-speaker",
    "demo-wang-panel",
    "demo-wang-speaker",
    "demo-zhang-panel",
    "demo-zhang-speaker",
    "demo-zhijia-admin",
)
"""Every fixed token ``bot seed --demo`` creates (published in the README, so never in production)."""


class PairingCode(SQLModel, table=True):
    """A one-time code a speaker, panel or hub exchanges for its own bearer token."""

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    salt: str = Field(max_length=32)
    code_hash: str = Field(max_length=64)
    """SHA-256 of ``salt:code``; the code itself is shown once to the installer."""
    created_at: datetime
    expires_at: datetime = Field(index=True)
    used_at: datetime | None = None


class PairingFailure(SQLModel, table=True):
    """Consecutive wrong pairing codes of one source (or of everyone: key ``*``)."""

    key: str = Field(primary_key=True, max_length=80)
    failures: int = 0
    window_start: datetime
    locked_until: datetime | None = None


class RemovedHousehold(SQLModel, table=True):
    """A household a manufacturer removed whose offer records must stay (the regulator's record)."""

    household_id: int = Field(foreign_key="household.id", primary_key=True)
    removed_at: datetime


class HubSecret(SQLModel, table=True):
    """A hub's MQTT password (its token) as Mosquitto's PBKDF2-SHA512 hash, for the broker's passwd file."""

    device_id: int = Field(foreign_key="device.id", primary_key=True)
    broker_hash: str = Field(max_length=200)


MOSQUITTO_ITERATIONS = 101
"""What ``mosquitto_passwd`` 2.0 uses; the broker reads the count from each line."""


def mosquitto_hash(
    password: str, *, salt: bytes | None = None, iterations: int = MOSQUITTO_ITERATIONS
) -> str:
    """``$7$<iterations>$<salt>$<hash>``: a line of Mosquitto's password file (after ``user:``)."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def remember_hub_secret(session: Session, device_id: int, token: str) -> None:
    """Keep the broker hash of a hub's new token (its MQTT password), replacing the old one."""
    row = session.get(HubSecret, device_id) or HubSecret(device_id=device_id, broker_hash="")
    row.broker_hash = mosquitto_hash(token)
    session.add(row)

"""Import every table module so ``SQLModel.metadata`` is complete (migrations, tests, seed)."""

from __future__ import annotations

from sqlmodel import SQLModel

from bot.store import analytics, catalog, credentials, everyday, journey, ledger, models, subscriptions

__all__ = [
    "analytics",
    "catalog",
    "credentials",
    "everyday",
    "journey",
    "ledger",
    "metadata",
    "models",
    "subscriptions",
]

metadata = SQLModel.metadata

"""One error hierarchy for every stage: a stable ``code``, a message and an HTTP status."""

from __future__ import annotations

APOLOGY = "抱歉，系统开小差了，请稍后再试。"
"""What a household hears when something failed on our side (never a stack trace or an English message)."""


class BotError(Exception):
    """Base of every error the product reports to a caller."""

    code = "internal_error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def to_json(self) -> dict[str, dict[str, str]]:
        """The JSON error body of the gateway API."""
        return {"error": {"code": self.code, "message": self.message}}


class ConfigError(BotError):
    """The configuration cannot be used."""

    code = "config_error"


class InputError(BotError):
    """The caller sent something we cannot accept."""

    code = "bad_input"
    status = 400


class AuthError(BotError):
    """Missing or unknown credentials."""

    code = "unauthorized"
    status = 401


class NotFoundError(BotError):
    """The thing asked for does not exist (for this caller)."""

    code = "not_found"
    status = 404


class StoreError(BotError):
    """The database failed."""

    code = "store_unavailable"
    status = 503


class DialogueError(BotError):
    """The dialogue engine (Rasa) failed or is unreachable."""

    code = "dialogue_unavailable"
    status = 503


class StackError(BotError):
    """Starting or supervising the processes of the stack failed."""

    code = "stack_error"

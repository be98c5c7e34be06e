"""Bundle errors: a stable ``code``, a Chinese + English message and the file at fault."""

from __future__ import annotations

from bot.errors import BotError


class BundleError(BotError):
    """A bundle cannot be built, verified, installed or rolled back."""

    code = "bundle_invalid"
    status = 422

    def __init__(self, zh: str, en: str, *, code: str | None = None, file: str | None = None):
        where = f" [{file}]" if file else ""
        super().__init__(f"{zh} / {en}{where}", code=code)
        self.file = file


def corrupt(file: str, zh: str, en: str) -> BundleError:
    """Damaged content: a checksum, size or archive structure does not match."""
    return BundleError(zh, en, code="bundle_corrupt", file=file)


def mismatch(file: str, zh: str, en: str) -> BundleError:
    """Well-formed, but not for this box (engine version, tenant)."""
    return BundleError(zh, en, code="bundle_mismatch", file=file)

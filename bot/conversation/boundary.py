"""The skill's boundary: whether a turn was the skill's to handle, and why not.

An action that does not handle a turn (a device command, chatter, a yes with nothing pending) sends
a *boundary marker*: a custom payload ``{"type": "boundary", "reason": ...}``, alone (the tenant
chose silence) or with a short decline. The turn runner takes the marker out of the replies and
reports ``"handled": false`` with the reason in the turn outcome (CONTRACTS.md §5), so the host
assistant beside the skill can take the utterance. No marker: the turn was handled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from bot.conversation.dialogue import Reply

MARKER_TYPE: Final = "boundary"
"""``type`` of the custom payload that marks a turn as not handled."""


class Reason:
    """Why a turn was not handled (the ``reason`` of the outcome; CONTRACTS.md §5)."""

    DEVICE_CONTROL: Final = "device_control"
    """A command for a device, a timer, media, a scene: the host assistant's job."""
    OUT_OF_SCOPE: Final = "out_of_scope"
    """A question or an errand about the world (weather, date and time, facts, travel, shopping)."""
    CHITCHAT: Final = "chitchat"
    """Everyday chatter with the assistant: jokes and stories, feelings, questions about the assistant."""
    NOT_AWAITED: Final = "not_awaited"
    """A bare yes/no/value while the skill asked nothing (「继续」 out of the blue)."""
    NOT_UNDERSTOOD: Final = "not_understood"
    """Below the NLU's confidence threshold, with nothing pending."""


def marker(reason: str) -> dict[str, Any]:
    """The custom payload an action sends with (or instead of) its decline."""
    return {"type": MARKER_TYPE, "handled": False, "reason": reason}


@dataclass(frozen=True)
class Verdict:
    """Whether the turn was handled; ``reason`` only when not."""

    handled: bool = True
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"handled": true}`` or ``{"handled": false, "reason": ...}``."""
        if self.handled:
            return {"handled": True}
        return {"handled": False, "reason": self.reason or Reason.OUT_OF_SCOPE}


def split(replies: list[Reply]) -> tuple[list[Reply], Verdict]:
    """The replies without boundary markers, and the verdict the markers carry."""
    kept: list[Reply] = []
    verdict = Verdict()
    for reply in replies:
        card = reply.card
        if card is None or card.get("type") != MARKER_TYPE:
            kept.append(reply)
            continue
        verdict = Verdict(False, str(card.get("reason") or Reason.OUT_OF_SCOPE))
        if reply.text:
            kept.append(Reply(reply.text))
    return kept, verdict


def verdict_of(outcome: dict[str, Any]) -> Verdict:
    """The verdict of a (possibly stored) turn outcome; outcomes without the key were handled."""
    if outcome.get("handled", True) is not False:
        return Verdict()
    return Verdict(False, str(outcome.get("reason") or Reason.OUT_OF_SCOPE))

"""家居金融语音助手: an offline, Mandarin-first voice skill for smart homes."""

from __future__ import annotations

__version__ = "0.1.0"

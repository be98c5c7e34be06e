"""Typed keys of the objects the gateway shares between handlers."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from sqlalchemy.engine import Engine

from bot.config import Config
from bot.conversation.dialogue import Dialogue
from bot.conversation.pipeline import Speech, VoicePipeline
from bot.conversation.turns import TurnRunner
from bot.gateway.caps import Caps
from bot.gateway.settings import GatewaySettings

CONFIG = web.AppKey("config", Config)
ENGINE = web.AppKey("engine", Engine)
DIALOGUE = web.AppKey("dialogue", Dialogue)
RUNNER = web.AppKey("runner", TurnRunner)
HTTP = web.AppKey("http", aiohttp.ClientSession)
SETTINGS = web.AppKey("settings", GatewaySettings)
SPEECH = web.AppKey("speech", Speech)
PIPELINE = web.AppKey("pipeline", VoicePipeline)
UPLOADS = web.AppKey("uploads", Caps)
"""Spoken turns in flight (``/converse/audio``): per device and per process."""

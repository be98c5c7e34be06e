"""The outbox dispatcher: delivers due messages to the partner endpoint of the tenant configuration,
signed (``bot.partners.signing``) with an ``Idempotency-Key``; retries with back-off; dead-letters.

Runs inside every gateway process (claims keep them from sending one message twice at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import aiohttp
from sqlalchemy.engine import Engine

from bot.partners import outbox, signing
from bot.partners.outbox import Claimed
from bot.store.db import session_scope, utcnow
from bot.tenants.config import PartnerEndpoint, tenant_config_of

_LOGGER = logging.getLogger(__name__)
POLL_S = 0.5
"""How often the outbox is read for due messages."""
TIMEOUT_S = 10.0
"""One delivery attempt's timeout (well inside the claim's lease)."""


class Dispatcher:
    """Delivers the outbox; ``run_once`` does one pass (tests), ``running`` the loop (gateway)."""

    def __init__(self, engine: Engine, http: aiohttp.ClientSession, now: Callable[[], datetime] = utcnow):
        self._engine, self._http, self._now = engine, http, now

    async def run_once(self) -> int:
        """Claim what is due and attempt each; returns how many were attempted."""
        claimed = await asyncio.to_thread(self._claim)
        for message in claimed:
            await self._attempt(message)
        return len(claimed)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The dispatch loop as a background task for the lifetime of the context."""
        task = asyncio.create_task(self._loop(), name="outbox-dispatcher")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # a database hiccup must not end the loop
                _LOGGER.exception("outbox pass failed")
            await asyncio.sleep(POLL_S)

    def _claim(self) -> list[Claimed]:
        with session_scope(self._engine) as session:
            return outbox.claim_due(session, self._now())

    def _endpoint(self, message: Claimed) -> tuple[str, PartnerEndpoint] | None:
        with session_scope(self._engine) as session:
            return tenant_config_of(session, message.tenant_id).partner_for(message.partner)

    async def _attempt(self, message: Claimed) -> None:
        found = await asyncio.to_thread(self._endpoint, message)
        if found is None:
            await self._record(message, 1, f"租户没有为合作方 {message.partner} 配置接收地址")
            return
        partner_id, endpoint = found
        body = json.dumps({**message.body, "partner": partner_id}, ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message.idempotency_key,
            signing.HEADER: signing.signature(endpoint.secret, body, int(time.time())),
        }
        try:
            async with self._http.post(
                endpoint.url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)
            ) as resp:
                ok = resp.status < 300 or resp.status == 409  # 409: the partner has it already
                reason = "" if ok else f"HTTP {resp.status}"
        except (aiohttp.ClientError, TimeoutError) as err:
            ok, reason = False, f"{type(err).__name__}: 无法连接合作方"
        if ok:
            await asyncio.to_thread(self._delivered, message)
        else:
            await self._record(message, endpoint.max_attempts, reason)

    def _delivered(self, message: Claimed) -> None:
        with session_scope(self._engine) as session:
            outbox.delivered(session, message.message_id, self._now())

    async def _record(self, message: Claimed, max_attempts: int, reason: str) -> None:
        _LOGGER.warning("delivery %s attempt %d failed: %s", message.message_id, message.attempt, reason)

        def write() -> None:
            with session_scope(self._engine) as session:
                outbox.failed(session, message.message_id, message.attempt, max_attempts, reason, self._now())

        await asyncio.to_thread(write)

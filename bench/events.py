"""Household event latency: an application written by another process (as the action server does)
→ the open panel's event stream (``GET /api/v1/me/events``) delivers it."""

from __future__ import annotations

import json
import statistics
import threading
import time
import urllib.request
from typing import Any

from sqlmodel import Session, select

from bench.stats import percentile
from bot.offers import applications
from bot.offers import service as offers
from bot.offers.types import Candidate, OfferContext, OfferKind
from bot.store.db import make_engine, utcnow
from bot.store.models import Household
from bot.testing.harness import RunningStack

SAMPLES = 30
OFFER = Candidate(
    kind=OfferKind.WARRANTY,
    subject="bench",
    terms={"name": "空调延保3年", "price": "269.00", "seller": "中国人民财产保险股份有限公司"},
    explanation="bench",
    text="bench",
)


def _listen(stack: RunningStack, seen: dict[int, float], ready: threading.Event) -> None:
    req = urllib.request.Request(
        f"{stack.url}/api/v1/me/events", headers={"Authorization": "Bearer demo-zhang-panel"}
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        ready.set()
        for raw in resp:
            line = raw.decode().strip()
            if line.startswith("data: ") and '"application.created"' in line:
                seen[int(json.loads(line[6:])["offer_id"])] = time.perf_counter()
                if len(seen) >= SAMPLES:
                    return


def run(stack: RunningStack) -> dict[str, Any]:
    """Start ``SAMPLES`` applications one by one and time each until the panel's stream has it."""
    seen: dict[int, float] = {}
    ready = threading.Event()
    threading.Thread(target=_listen, args=(stack, seen, ready), daemon=True).start()
    ready.wait(30)
    engine = make_engine(stack.db_url)
    latencies: list[float] = []
    with Session(engine) as session:
        home = session.exec(select(Household).where(Household.name == "张家")).one()
        assert home.id is not None
        for _ in range(SAMPLES):
            context = OfferContext(household_id=home.id, session_id="bench", topic=None, proactive=False)
            offer = offers.decide(session, context, [OFFER], utcnow()).offer
            assert offer is not None
            started = time.perf_counter()
            applications.start(session, offer.offer_id, home.id, utcnow())
            while offer.offer_id not in seen and time.perf_counter() - started < 10:
                time.sleep(0.005)
            latencies.append((seen.get(offer.offer_id, float("inf")) - started) * 1000)
            time.sleep(0.1)
    engine.dispose()
    return {
        "event_p50_ms": round(statistics.median(latencies), 1),
        "event_p95_ms": round(percentile(latencies, 0.95), 1),
        "event_samples": len(latencies),
    }

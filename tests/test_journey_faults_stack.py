"""A gateway process killed (SIGKILL) while a delivery is in flight: after a restart the outbox
delivers again with the same idempotency key, so the partner applies it exactly once; nothing is
lost. Real ``bot serve`` processes on a real SQLite file, a real HTTP partner on loopback."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.offers import applications
from bot.offers import service as offers
from bot.offers.types import Candidate, OfferContext, OfferKind
from bot.partners import signing
from bot.store.db import make_engine, utcnow
from bot.store.journey import OutboxMessage
from bot.store.models import Household
from bot.testing.harness import BOT, RunningStack, free_port, make_stack

pytestmark = pytest.mark.stack

SECRET = "demo-lender-shared-secret-not-for-production"
QUOTE = Candidate(
    kind=OfferKind.INSTALLMENT,
    subject="XF-300",
    terms={"apr": "0.1303", "monthly_payment": "1072.00", "periods": "12",
           "partner": "中国建设银行股份有限公司", "product": "新风机", "total_cost": "12864.00"},
    explanation="您询问了新风机分期",
    text="年化利率百分之十三点零三，每月一千零七十二元",
)  # fmt: skip


class SlowPartner(ThreadingHTTPServer):
    """Answers each delivery after ``delay`` seconds; applies each idempotency key once."""

    def __init__(self, port: int, delay: float):
        self.delay, self.posts, self.applied = delay, [], set()
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: SlowPartner

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        signing.verify(SECRET, self.headers[signing.HEADER], body, time.time())
        key = self.headers["Idempotency-Key"]
        self.server.posts.append(key)
        time.sleep(self.server.delay)
        self.server.applied.add(key)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"received": true}')

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def partner() -> Iterator[SlowPartner]:
    server = SlowPartner(free_port(), delay=8.0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def serve(stack: RunningStack) -> subprocess.Popen[bytes]:
    log = (stack.var_dir / "serve.log").open("ab")
    proc = subprocess.Popen([BOT, "serve"], env=stack.env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{stack.url}/api/v1/openapi.json", timeout=2).close()
            return proc
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    proc.kill()
    raise AssertionError("bot serve did not start")


def outbox_states(stack: RunningStack) -> list[str]:
    engine = make_engine(stack.db_url)
    with Session(engine) as session:
        states = [m.state for m in session.exec(select(OutboxMessage)).all()]
    engine.dispose()
    return states


def pending_application(stack: RunningStack) -> int:
    engine = make_engine(stack.db_url)
    with Session(engine) as session:
        home = session.exec(select(Household).where(Household.name == "张家")).one()
        assert home.id is not None
        context = OfferContext(household_id=home.id, session_id="s1", topic=None, proactive=False)
        offer = offers.decide(session, context, [QUOTE], utcnow()).offer
        assert offer is not None
        applications.start(session, offer.offer_id, home.id, utcnow())
    engine.dispose()
    return offer.offer_id


def test_a_gateway_killed_mid_delivery_delivers_after_restart_and_the_partner_applies_once(
    tmp_path: Path, partner: SlowPartner
) -> None:
    stack = make_stack(tmp_path, {"BOT_PARTNER_SIM_PORT": str(partner.server_address[1])})
    assert stack.bot("seed", "--demo", timeout=300).returncode == 0
    offer_id = pending_application(stack)
    gateway = serve(stack)
    try:
        req = urllib.request.Request(
            f"{stack.url}/api/v1/me/applications/{offer_id}/confirm",
            method="POST",
            headers={"Authorization": "Bearer demo-zhang-panel"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert json.loads(resp.read())["state"] == "confirmed"
        deadline = time.monotonic() + 60
        while not partner.posts and time.monotonic() < deadline:
            time.sleep(0.1)
        assert partner.posts, "the delivery is in flight"
    finally:
        gateway.send_signal(signal.SIGKILL)  # killed before it could record the delivery
        gateway.wait()
    assert outbox_states(stack) == ["pending"]
    gateway = serve(stack)
    try:
        deadline = time.monotonic() + 120
        while outbox_states(stack) != ["delivered"] and time.monotonic() < deadline:
            time.sleep(0.5)
        assert outbox_states(stack) == ["delivered"]
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=60)
    assert len(partner.posts) >= 2 and set(partner.posts) == {partner.posts[0]}, "redelivered, same key"
    assert len(partner.applied) == 1, "the partner applied it once"
    checked = stack.bot("invariants")
    assert checked.returncode == 0, checked.stdout + checked.stderr

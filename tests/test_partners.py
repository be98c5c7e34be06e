"""Partner signatures, and the demo partner simulator (demo mode only; signed both ways; deduplicates)."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.cli.main import main
from bot.errors import AuthError
from bot.partners import signing
from bot.partners.simulator import SimulatorSettings, create_simulator, decision_for

SECRET = "demo-lender-shared-secret-not-for-production"


def test_a_signature_verifies_only_its_own_body_secret_and_time() -> None:
    body, now = b'{"a": 1}', time.time()
    header = signing.signature(SECRET, body, int(now))
    signing.verify(SECRET, header, body, now)
    for bad_secret, bad_body, bad_now, code in (
        ("other-secret-of-some-length", body, now, "signature_invalid"),
        (SECRET, b'{"a": 2}', now, "signature_invalid"),
        (SECRET, body, now + signing.TOLERANCE_S + 1, "signature_stale"),
    ):
        with pytest.raises(AuthError) as err:
            signing.verify(bad_secret, header, bad_body, bad_now)
        assert err.value.code == code
    with pytest.raises(AuthError) as missing:
        signing.verify(SECRET, "", body, now)
    assert missing.value.code == "signature_missing"


def test_the_simulator_approves_or_declines_by_its_rule() -> None:
    rule = SimulatorSettings(gateway_url="http://127.0.0.1:1", decline_above=Decimal("10000"))
    assert decision_for(rule, {"total_cost": "9999.00"}) == ("approved", "")
    assert decision_for(rule, {"total_cost": "12864.00"}) == ("declined", "amount")
    assert decision_for(SimulatorSettings(gateway_url="x"), {"total_cost": "99999"}) == ("approved", "")


def test_the_simulator_runs_only_in_demo_mode(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("BOT_DEMO", "false")
    assert main(["demo-partner"]) != 0
    assert "demo mode" in capsys.readouterr().err


async def test_the_simulator_takes_signed_deliveries_once(aiohttp_client: Any, demo_db: Engine) -> None:
    settings = SimulatorSettings(gateway_url="http://127.0.0.1:1", delay_s=3600)
    client = await aiohttp_client(create_simulator(settings, demo_db))
    message = {"kind": "cancellation", "application_id": 1, "tenant_id": "demo", "partner": "demo-lender"}
    body = json.dumps(message).encode()
    unsigned = await client.post("/deliveries", data=body)
    assert unsigned.status == 401
    headers = {
        "Idempotency-Key": "app-1-cancellation",
        signing.HEADER: signing.signature(SECRET, body, int(time.time())),
    }
    assert (await (await client.post("/deliveries", data=body, headers=headers)).json()) == {"received": True}
    assert (await (await client.post("/deliveries", data=body, headers=headers)).json()) == {
        "duplicate": True
    }
    listed = (await (await client.get("/deliveries")).json())["deliveries"]
    assert [d["idempotency_key"] for d in listed] == ["app-1-cancellation"]

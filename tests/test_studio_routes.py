"""The studio's endpoints with a fake dialogue: tenant scoping, sandbox households, the working copy."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Config
from bot.gateway.app import create_app
from bot.store.db import utcnow
from bot.store.models import Conversation, Device, Household, TokenRole
from bot.store.repo import issue_token
from bot.studio.sandbox import SANDBOX_PREFIX
from tests.fakes import FakeDialogue
from tests.gateway_kit import Client, no_speech

ROOT = Path(__file__).resolve().parents[1]
DEMO = {"Authorization": "Bearer demo-designer"}
ZHIJIA = {"Authorization": "Bearer zhijia-designer-test"}


@pytest.fixture
def dialogue() -> FakeDialogue:
    return FakeDialogue()


@pytest.fixture
async def client(aiohttp_client: Any, demo_db: Engine, tmp_path: Path, dialogue: FakeDialogue) -> Client:
    with Session(demo_db) as session:
        issue_token(session, "zhijia-designer-test", TokenRole.DESIGNER, "zhijia", None, "designer", utcnow())
        session.commit()
    config = Config(actions_port=1, var_dir=tmp_path)
    app = create_app(config, engine=demo_db, dialogue=dialogue, speech=no_speech())
    result: Client = await aiohttp_client(app)
    return result


async def test_a_designer_sees_only_the_catalog_words_and_households_of_its_tenant(client: Client) -> None:
    zhijia = await (await client.get("/api/v1/studio/catalog", headers=ZHIJIA)).json()
    demo = await (await client.get("/api/v1/studio/catalog", headers=DEMO)).json()
    assert zhijia["tenant"] == "zhijia" and zhijia["households"] == ["王家"]
    assert "大金" in zhijia["words"]["brand"] and "格力" not in zhijia["words"]["brand"]
    assert "GREE-KFR35-YJ1" not in zhijia["words"]["product"]
    assert demo["households"] == ["张家", "李家"] and "大金" not in demo["words"]["brand"]


async def test_try_talks_in_a_sandbox_copy_of_the_tenants_demo_household(
    client: Client, demo_db: Engine, dialogue: FakeDialogue
) -> None:
    resp = await client.post("/api/v1/studio/try", headers=ZHIJIA, json={"text": "你好"})
    assert resp.status == 200
    body = await resp.json()
    assert body["nlu"]["normalized"] == "你好" and body["nlu"]["intent"]["name"] == "echo"
    assert body["turn"]["replies"][0]["text"] == "echo:你好"
    sender = dialogue.calls[-1][0]
    with Session(demo_db) as session:
        conv = session.get(Conversation, sender)
        assert conv is not None
        home = session.get(Household, conv.household_id)
        assert home is not None and home.tenant_id == "zhijia" and home.name == f"{SANDBOX_PREFIX}王家"
        real = session.exec(select(Household).where(Household.name == "王家")).one()
        real_devices = session.exec(select(Device.id).where(Device.household_id == real.id)).all()
        copied = session.exec(select(Device).where(Device.household_id == home.id)).all()
        assert len(copied) == len(real_devices) + 1, "every device copied, plus the sandbox panel"
        touched = session.exec(select(Conversation).where(Conversation.household_id == real.id)).all()
        assert touched == [], "the real household is never talked in"


async def test_a_household_of_another_tenant_cannot_be_sandboxed(client: Client) -> None:
    resp = await client.post("/api/v1/studio/sandbox", headers=ZHIJIA, json={"household": "张家"})
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "household_not_found"


async def test_rule_check_flags_free_words_and_long_sentences(client: Client) -> None:
    resp = await client.post(
        "/api/v1/studio/responses/check",
        headers=DEMO,
        json={"name": "utter_quote", "variations": ["{product}分{periods}期免息", "好" * 61]},
    )
    body = await resp.json()
    assert any("免息" in p for p in body["problems"]) and any("超过60字" in p for p in body["problems"])
    free = await client.post(
        "/api/v1/studio/responses/check",
        headers=DEMO,
        json={"name": "utter_quote_interest_free", "variations": ["年化利率0%，真免息"]},
    )
    assert (await free.json())["problems"] == []


async def test_a_saved_response_lands_in_the_tenants_working_copy_only(
    client: Client, tmp_path: Path
) -> None:
    project_domain = (ROOT / "domain.yml").read_text(encoding="utf-8")
    resp = await client.put(
        "/api/v1/studio/responses/utter_goodbye", headers=ZHIJIA, json={"variations": ["再会，{sign_off}"]}
    )
    assert resp.status == 200
    body = await resp.json()
    assert '+    - text: "再会，{sign_off}"' in body["diff"]
    assert "再会" in (tmp_path / "studio" / "zhijia" / "domain.yml").read_text(encoding="utf-8")
    assert (ROOT / "domain.yml").read_text(encoding="utf-8") == project_domain
    demo = await (await client.get("/api/v1/studio/responses", headers=DEMO)).json()
    assert demo["diff"] == "" and all("再会" not in v for r in demo["responses"] for v in r["variations"])


async def test_unknown_response_and_bad_bodies_are_clear_errors(client: Client) -> None:
    missing = await client.put(
        "/api/v1/studio/responses/utter_nope", headers=DEMO, json={"variations": ["x"]}
    )
    assert missing.status == 404
    bad = await client.post("/api/v1/studio/responses/check", headers=DEMO, json={"name": "utter_greet"})
    assert bad.status == 400 and (await bad.json())["error"]["code"] == "bad_response"
    check = await client.post("/api/v1/studio/checks", headers=DEMO, json={"kind": "train"})
    assert check.status == 400


async def test_an_added_example_is_counted_and_flagged_as_a_duplicate(client: Client) -> None:
    before = await (await client.get("/api/v1/studio/training", headers=DEMO)).json()
    greet = before["intents"]["greet"][0]["text"]
    resp = await client.post(
        "/api/v1/studio/training", headers=DEMO, json={"intent": "goodbye", "text": greet}
    )
    assert resp.status == 201 and (await resp.json())["file"].startswith("data/nlu/")
    after = await (await client.get("/api/v1/studio/training", headers=DEMO)).json()
    assert after["counts"]["goodbye"] == before["counts"]["goodbye"] + 1
    assert {"text": greet, "intents": ["goodbye", "greet"]} in after["duplicates"]


async def test_flows_hold_the_headline_story(client: Client) -> None:
    body = await (await client.get("/api/v1/studio/flows", headers=DEMO)).json()
    headline = next(f for f in body["flows"] if f["name"] == body["headline"])
    assert headline["steps"][:2] == ["intent:ask_energy_usage", "action:action_energy_usage"]
    assert {"from": "intent:ask_energy_usage", "to": "action:action_energy_usage"} in [
        {"from": e["from"], "to": e["to"]} for e in body["edges"]
    ]


async def test_a_check_job_of_one_tenant_is_invisible_to_the_other(client: Client) -> None:
    started = await client.post(
        "/api/v1/studio/checks", headers=DEMO, json={"kind": "conversations", "yaml": "cases: []"}
    )
    job = (await started.json())["job_id"]
    assert (await client.get(f"/api/v1/studio/checks/{job}", headers=ZHIJIA)).status == 404
    assert (await client.get(f"/api/v1/studio/checks/{job}", headers=DEMO)).status == 200


async def test_the_studio_page_has_the_panels_csp(client: Client) -> None:
    resp = await client.get("/studio")
    assert resp.status == 200 and "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert (await client.get("/studio/../domain.yml")).status == 404


async def test_the_heldout_check_parses_every_example_and_reports_scores(
    client: Client, dialogue: FakeDialogue
) -> None:
    started = await client.post("/api/v1/studio/checks", headers=DEMO, json={"kind": "heldout"})
    assert started.status == 202
    job_id, total = (await started.json()).values()
    body: dict[str, Any] = {"state": "running"}
    for _ in range(200):
        body = await (await client.get(f"/api/v1/studio/checks/{job_id}", headers=DEMO)).json()
        if body["state"] != "running":
            break
        await asyncio.sleep(0.05)
    assert body["state"] == "done" and body["done"] == total == len(dialogue.parsed) > 100
    report = body["results"][0]
    assert report["ok"] is False, "a model that answers 'echo' fails the bar"
    assert f"examples: {total}" in report["report"] and "intent accuracy: 0.0000" in report["report"]

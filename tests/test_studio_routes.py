"""The studio's endpoints with a fake dialogue: tenant scoping, sandbox households, the working copy."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.admin.tokens import create_tenant
from bot.config import Config
from bot.conversation.pipeline import Speech
from bot.errors import InputError
from bot.finance.catalog_io import import_catalog
from bot.finance.catalog_parse import parse_json_catalog
from bot.gateway.app import create_app
from bot.rasa.training import fingerprint
from bot.speech.audio import pcm16_to_wav, wav_to_pcm16
from bot.speech.settings import SpeechSettings
from bot.store.db import utcnow
from bot.store.ledger import Application, OfferAudit
from bot.store.models import (
    ApiToken,
    ConsentEvent,
    Conversation,
    Device,
    EnergyReading,
    Household,
    TokenRole,
    Turn,
)
from bot.store.repo import issue_token
from bot.studio import sandbox, template
from bot.studio.sandbox import SANDBOX_PREFIX
from bot.studio.workspace import workspace
from tests.fakes import FakeDialogue, FakeTts
from tests.gateway_kit import Client, no_speech
from tests.speech_fixtures import espeak_wav, korean_engine

ROOT = Path(__file__).resolve().parents[1]
DEMO = {"Authorization": "Bearer demo-designer"}
ZHIJIA = {"Authorization": "Bearer zhijia-designer-test"}
ACME_CATALOG = json.dumps(
    {
        "products": [
            {
                "sku": "ACME-AC-1",
                "category": "空调",
                "brand": "艾克美",
                "model": "AC1",
                "name": "艾克美空调",
                "price": "2999.00",
                "energy_grade": 1,
            },
            {
                "sku": "ACME-FR-1",
                "category": "冰箱",
                "brand": "艾克美",
                "model": "FR1",
                "name": "艾克美冰箱",
                "price": "3999.00",
                "energy_grade": 1,
            },
        ]
    },
    ensure_ascii=False,
)
"""A manufacturer without any demo household: two products."""


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
    assert zhijia["tenant"] == "zhijia" and zhijia["households"] == ["王家", "样板家庭"]
    assert "大金" in zhijia["words"]["brand"] and "格力" not in zhijia["words"]["brand"]
    assert "GREE-KFR35-YJ1" not in zhijia["words"]["product"]
    assert demo["households"] == ["张家", "李家", "样板家庭"] and "大金" not in demo["words"]["brand"]


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
    check = await client.post("/api/v1/studio/checks", headers=DEMO, json={"kind": "deploy"})
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
    body = await finished(client, job_id, DEMO)
    assert body["state"] == "done" and body["done"] == total == len(dialogue.parsed) > 100
    report = body["results"][0]
    assert report["ok"] is False, "a model that answers 'echo' fails the bar"
    assert f"examples: {total}" in report["report"] and "intent accuracy: 0.0000" in report["report"]


ROWS = (Household, Device, EnergyReading, ApiToken, Conversation, Turn, ConsentEvent, OfferAudit, Application)
"""Tables a sandbox writes to; none of them may grow across tries."""
PENDING_CASE = """cases:
  - name: 起始有一个待确认的申请
    device: {household: 张家, kind: speaker}
    given: {application: {sku: HAIER-XF-FA350, periods: 12}, points: 50}
    turns:
      - user: 取消刚才的分期申请
        says: [已经取消]
"""


async def finished(client: Client, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """The check job's status once it stopped running (or after ten seconds)."""
    body: dict[str, Any] = {"state": "running"}
    for _ in range(200):
        body = await (await client.get(f"/api/v1/studio/checks/{job_id}", headers=headers)).json()
        if body["state"] != "running":
            break
        await asyncio.sleep(0.05)
    return body


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {t.__tablename__: len(session.exec(select(t)).all()) for t in ROWS}  # type: ignore[attr-defined]


def sandboxes(engine: Engine) -> list[str]:
    with Session(engine) as session:
        names = session.exec(select(Household.name)).all()
    return [n for n in names if n.startswith(SANDBOX_PREFIX)]


async def test_tries_and_resets_leave_one_sandbox_and_shutdown_leaves_none(
    aiohttp_client: Any, demo_db: Engine, tmp_path: Path
) -> None:
    before = counts(demo_db)
    app = create_app(
        Config(actions_port=1, var_dir=tmp_path), engine=demo_db, dialogue=FakeDialogue(), speech=no_speech()
    )
    client = await aiohttp_client(app)
    for household in ("张家", "李家", "样板家庭", "张家"):
        reset = await client.post("/api/v1/studio/sandbox", headers=DEMO, json={"household": household})
        assert reset.status == 201
        for text in ("你好", "空调用了多少电", "再见"):
            assert (await client.post("/api/v1/studio/try", headers=DEMO, json={"text": text})).status == 200
        assert sandboxes(demo_db) == [f"{SANDBOX_PREFIX}{household}"], "the previous sandbox is gone"
    await client.close()
    assert sandboxes(demo_db) == [] and counts(demo_db) == before


async def test_a_sandbox_left_by_a_stopped_gateway_is_removed_at_the_next_start(
    aiohttp_client: Any, demo_db: Engine, tmp_path: Path
) -> None:
    before = counts(demo_db)
    with Session(demo_db, expire_on_commit=False) as session:
        sandbox.create(session, "demo", "李家", "中控屏", utcnow() - timedelta(days=2))
        sandbox.create(session, "demo", "张家", "中控屏", utcnow())  # another gateway's, in use
    app = create_app(
        Config(actions_port=1, var_dir=tmp_path), engine=demo_db, dialogue=FakeDialogue(), speech=no_speech()
    )
    client = await aiohttp_client(app)
    assert sandboxes(demo_db) == [f"{SANDBOX_PREFIX}张家"]
    await client.close()
    assert counts(demo_db)["household"] == before["household"] + 1


async def test_conversation_checks_remove_each_cases_sandbox(client: Client, demo_db: Engine) -> None:
    before = counts(demo_db)
    started = await client.post(
        "/api/v1/studio/checks", headers=DEMO, json={"kind": "conversations", "yaml": PENDING_CASE}
    )
    job_id = (await started.json())["job_id"]
    body = await finished(client, job_id, DEMO)
    assert body["state"] == "done" and body["done"] == 1
    assert "actual reply: echo:取消刚才的分期申请" in body["results"][0]["report"], "it ran its turn"
    assert sandboxes(demo_db) == [] and counts(demo_db) == before


def test_removing_a_sandbox_deletes_every_row_of_it_and_refuses_a_real_home(demo_db: Engine) -> None:
    before = counts(demo_db)
    with Session(demo_db, expire_on_commit=False) as session:
        box = sandbox.create(
            session,
            "demo",
            "张家",
            "智能音箱",
            utcnow(),
            {"application": {"sku": "HAIER-XF-FA350"}, "points": 80},
        )
        assert sandbox.snapshot(session, box.household_id)["application"] == "pending"
        assert counts(demo_db)["application"] == before["application"] + 1
        assert sandbox.remove(session, box.household_id) > 20
        real = session.exec(select(Household).where(Household.name == "张家")).one()
        with pytest.raises(InputError):
            sandbox.remove(session, real.id or 0)
    assert counts(demo_db) == before


async def test_a_tenant_without_demo_homes_gets_a_sample_household_of_its_own(
    client: Client, demo_db: Engine
) -> None:
    with Session(demo_db) as session:
        create_tenant(session, "acme", "艾克美电器", "小艾", "艾克美")
        import_catalog(session, "acme", parse_json_catalog(ACME_CATALOG))
        issue_token(session, "acme-designer-test", TokenRole.DESIGNER, "acme", None, "designer", utcnow())
        session.commit()
    acme = {"Authorization": "Bearer acme-designer-test"}
    seen = await (await client.get("/api/v1/studio/catalog", headers=acme)).json()
    assert seen["households"] == ["样板家庭"]
    assert seen["words"]["brand"] == ["艾克美"] and seen["words"]["product"] == ["ACME-AC-1", "ACME-FR-1"]
    demo = await (await client.get("/api/v1/studio/catalog", headers=DEMO)).json()
    assert "艾克美" not in demo["words"]["brand"] and "ACME-AC-1" not in demo["words"]["product"]
    body = await (
        await client.post("/api/v1/studio/try", headers=acme, json={"text": "空调用了多少电"})
    ).json()
    assert body["sandbox"]["household"] == "样板家庭"
    with Session(demo_db) as session:
        home = session.get(Household, body["sandbox"]["household_id"])
        assert home is not None and home.tenant_id == "acme" and home.name == f"{SANDBOX_PREFIX}样板家庭"
        devices = session.exec(select(Device).where(Device.household_id == home.id)).all()
        assert sorted(d.category for d in devices) == ["中控屏", "冰箱", "空调"]
        assert {d.brand for d in devices if d.category != "中控屏"} == {"艾克美"}
        aircon = next(d for d in devices if d.category == "空调")
        readings = session.exec(select(EnergyReading).where(EnergyReading.device_id == aircon.id)).all()
        assert len(readings) == template.DAYS and all(r.kwh > 0 for r in readings)
    other = await client.post("/api/v1/studio/sandbox", headers=DEMO, json={"household": "样板家庭"})
    assert other.status == 201 and (await other.json())["sandbox"]["household_id"] != home.id
    with Session(demo_db) as session:
        copy = session.get(Household, (await other.json())["sandbox"]["household_id"])
        assert copy is not None and copy.tenant_id == "demo"


async def test_a_spoken_try_goes_through_the_real_recogniser_then_the_same_nlu_view(
    aiohttp_client: Any, demo_db: Engine, tmp_path: Path
) -> None:
    dialogue = FakeDialogue()
    speech = Speech(SpeechSettings(), stt=korean_engine(), tts=FakeTts())
    app = create_app(
        Config(actions_port=1, var_dir=tmp_path), engine=demo_db, dialogue=dialogue, speech=speech
    )
    client = await aiohttp_client(app)
    wav = pcm16_to_wav(bytes(16000) + wav_to_pcm16(espeak_wav("안녕하세요 감사합니다")) + bytes(32000))
    resp = await client.post(
        "/api/v1/studio/try/audio", data=wav, headers={**DEMO, "Content-Type": "audio/wav"}
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    heard = body["transcript"]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in heard), heard
    assert body["nlu"]["normalized"] == heard and body["nlu"]["intent"]["name"] == "echo"
    assert dialogue.parsed[-1] == heard and body["turn"]["replies"][0]["text"] == f"echo:{heard}"
    assert body["sandbox"]["household"] == "张家"
    silent = await client.post(
        "/api/v1/studio/try/audio",
        data=pcm16_to_wav(bytes(32000)),
        headers={**DEMO, "Content-Type": "audio/wav"},
    )
    assert silent.status == 422 and (await silent.json())["error"]["code"] == "no_speech"
    typed = await client.post("/api/v1/studio/try/audio", data=b"{}", headers=DEMO)
    assert typed.status == 415


async def test_training_an_unchanged_working_copy_trains_nothing(client: Client, tmp_path: Path) -> None:
    started = await client.post("/api/v1/studio/checks", headers=ZHIJIA, json={"kind": "train"})
    assert started.status == 202
    job_id = (await started.json())["job_id"]
    body = await finished(client, job_id, ZHIJIA)
    assert body["state"] == "done", body
    assert body["results"][0]["trained"] is False and "没有改动，不需要训练" in body["results"][0]["report"]
    assert not (tmp_path / "studio-rasa").exists(), "no model, no studio Rasa server"


def test_a_working_copys_fingerprint_follows_its_domain_and_data(tmp_path: Path) -> None:
    ws = workspace(ROOT, tmp_path, "demo")
    ws.ensure()
    assert fingerprint(ROOT, ws.root) == fingerprint(ROOT)
    domain = ws.read("domain.yml").replace("有事随时问我。", "有事随时问我吧。")
    ws.write("domain.yml", domain)
    changed = fingerprint(ROOT, ws.root)
    assert changed != fingerprint(ROOT)
    (ws.root / "data" / "nlu" / "extra.yml").write_text('version: "3.1"\nnlu: []\n', encoding="utf-8")
    assert fingerprint(ROOT, ws.root) not in (changed, fingerprint(ROOT))

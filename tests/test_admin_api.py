"""The manufacturer admin API: catalog import (all or nothing), aggregates without personal data,
the regulator's export (equal to what the household sees in 我的数据), device token rotation."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.admin import services as admin
from bot.finance.catalog_io import list_catalog
from bot.offers import applications
from bot.offers import service as offers
from bot.offers.types import Candidate, OfferContext, OfferKind
from bot.store.db import utcnow
from bot.store.models import ApiToken, Device, Household
from bot.store.repo import hash_token
from tests.fakes import FakeDialogue
from tests.gateway_kit import ZHANG, Client, make_client

WANG = {"Authorization": "Bearer demo-wang-speaker"}
WANG_PANEL = {"Authorization": "Bearer demo-wang-panel"}
ADMIN = {"Authorization": "Bearer demo-zhijia-admin"}
PRODUCT = {
    "sku": "ZJ-HUB-1",
    "category": "智能音箱",
    "brand": "智家",
    "model": "HUB1",
    "name": "智家 中枢音箱",
    "price": "399.00",
}
CSV_OK = "sku,category,brand,model,name,price\nZJ-A,空调,松下,A1,松下 空调 A1,2999.00\n"
CSV_BAD = CSV_OK + "ZJ-B,空调,松下,B1,松下 空调 B1,not-a-price\n"


def _candidate(subject: str, total: str) -> Candidate:
    return Candidate(
        kind=OfferKind.INSTALLMENT,
        subject=subject,
        terms={"apr": "0.0680", "total_cost": total, "periods": "12", "partner": "中国工商银行股份有限公司"},
        explanation="您询问了分期",
        text="年化利率百分之六点八",
    )


@pytest.fixture
async def client(aiohttp_client: Any, demo_db: Engine) -> Client:
    return await make_client(aiohttp_client, demo_db, FakeDialogue())


def _wang(demo_db: Engine) -> int:
    with Session(demo_db) as session:
        household = session.exec(select(Household).where(Household.name == "王家")).one()
        assert household.id is not None
        return household.id


def _offers(demo_db: Engine, household_id: int, *, applied: int, plain: int) -> list[int]:
    ids = []
    with Session(demo_db, expire_on_commit=False) as session:
        for n in range(applied + plain):
            context = OfferContext(household_id, f"s{n}", None, False)
            offer = offers.decide(session, context, [_candidate(f"SKU-{n}", "3000.00")], utcnow()).offer
            assert offer is not None
            if n < applied:
                applications.start(session, offer.offer_id, household_id, utcnow())
            ids.append(offer.offer_id)
    return ids


async def test_a_json_catalog_is_imported_for_the_admins_tenant_only(client: Client, demo_db: Engine) -> None:
    resp = await client.post("/api/v1/admin/catalog", headers=ADMIN, json={"products": [PRODUCT]})
    assert resp.status == 200
    assert (await resp.json())["created"] == {"products": 1}
    with Session(demo_db) as session:
        assert "ZJ-HUB-1" in {p["sku"] for p in list_catalog(session, "zhijia")["products"]}
        assert "ZJ-HUB-1" not in {p["sku"] for p in list_catalog(session, "demo")["products"]}


async def test_csv_rows_import_and_one_bad_row_rejects_the_whole_body_with_its_reason(
    client: Client, demo_db: Engine
) -> None:
    csv_headers = {**ADMIN, "Content-Type": "text/csv"}
    bad = await client.post("/api/v1/admin/catalog?kind=products", headers=csv_headers, data=CSV_BAD)
    assert bad.status == 422
    body = await bad.json()
    assert body["error"]["code"] == "catalog_rejected"
    assert [(p["where"], p["field"]) for p in body["problems"]] == [("line 3", "price")]
    with Session(demo_db) as session:
        assert "ZJ-A" not in {p["sku"] for p in list_catalog(session, "zhijia")["products"]}
    ok = await client.post("/api/v1/admin/catalog?kind=products", headers=csv_headers, data=CSV_OK)
    assert ok.status == 200 and (await ok.json())["created"] == {"products": 1}


@pytest.mark.parametrize(
    ("query", "content_type", "status", "code"),
    [
        ("", "text/csv", 400, "bad_kind"),
        ("?kind=lottery", "text/csv", 400, "bad_kind"),
        ("", "text/plain", 415, "unsupported_media_type"),
    ],
)
async def test_catalog_bodies_that_cannot_be_read_are_refused(
    client: Client, query: str, content_type: str, status: int, code: str
) -> None:
    resp = await client.post(
        f"/api/v1/admin/catalog{query}", headers={**ADMIN, "Content-Type": content_type}, data=CSV_OK
    )
    assert resp.status == status
    assert (await resp.json())["error"]["code"] == code


async def test_devices_are_counted_without_personal_data(client: Client, demo_db: Engine) -> None:
    resp = await client.get("/api/v1/admin/devices", headers=ADMIN)
    assert resp.status == 200
    body = await resp.json()
    assert body["households"] == 1 and body["devices"] == 6
    for key in ("by_category", "by_brand", "by_energy_grade", "by_age_band"):
        assert sum(body[key].values()) == body["devices"], key
    assert body["by_brand"]["大金"] == 1 and body["by_category"]["智能音箱"] == 1
    text = str(body)
    with Session(demo_db) as session:
        names = [d.name for d in session.exec(select(Device)).all()] + ["王家", "张家"]
    assert not any(name in text for name in names if name not in body["by_category"])


def test_age_bands_use_whole_years() -> None:
    today = date(2026, 6, 1)
    assert admin.age_band(date(2023, 6, 2), today) == "0-3"
    assert admin.age_band(date(2023, 6, 1), today) == "3-5"
    assert admin.age_band(date(2016, 6, 1), today) == "10+"


async def test_offers_are_counted_by_kind_state_and_day(client: Client, demo_db: Engine) -> None:
    _offers(demo_db, _wang(demo_db), applied=2, plain=1)
    body = await (await client.get("/api/v1/admin/offers", headers=ADMIN)).json()
    assert body["offers"] == 3
    assert body["by_kind"] == {"installment": 3}
    assert body["by_state"] == {"offered": 1, "pending": 2}
    assert sum(row["count"] for row in body["rows"]) == 3
    assert set(body["by_day"]) == {row["day"] for row in body["rows"]}


async def test_the_export_is_exactly_what_the_household_sees_in_my_data(
    client: Client, demo_db: Engine
) -> None:
    wang = _wang(demo_db)
    _offers(demo_db, wang, applied=1, plain=2)
    change = {"scope": "device_usage", "granted": False, "channel": "panel"}
    assert (await client.post("/api/v1/me/consents", headers=WANG_PANEL, json=change)).status == 200
    sees_consents = await (await client.get("/api/v1/me/consents", headers=WANG)).json()
    sees_offers = await (await client.get("/api/v1/me/offers", headers=WANG)).json()
    resp = await client.get(f"/api/v1/admin/households/{wang}/export", headers=ADMIN)
    assert resp.status == 200
    export = await resp.json()
    assert export["household_id"] == wang
    assert export["consents"] == sees_consents
    assert export["offers"] == sees_offers["offers"]
    assert len(export["offers"]) == 3 and len(export["consents"]["history"]) == 3


async def test_unknown_or_foreign_ids_are_not_found_alike(client: Client, demo_db: Engine) -> None:
    with Session(demo_db) as session:
        zhang = session.exec(select(Household).where(Household.name == "张家")).one()
    for path in (f"/api/v1/admin/households/{zhang.id}/export", "/api/v1/admin/households/999999/export"):
        resp = await client.get(path, headers=ADMIN)
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "household_not_found"
    assert (await client.get("/api/v1/admin/households/abc/export", headers=ADMIN)).status == 400


async def test_rotation_returns_a_new_token_once_and_revokes_the_old_one(
    client: Client, demo_db: Engine
) -> None:
    with Session(demo_db) as session:
        speaker = session.get(ApiToken, hash_token("demo-wang-speaker"))
        assert speaker is not None and speaker.device_id is not None
        device_id = speaker.device_id
    resp = await client.post(f"/api/v1/admin/devices/{device_id}/tokens/rotate", headers=ADMIN)
    assert resp.status == 200
    body = await resp.json()
    assert body["revoked"] == 1 and body["device_id"] == device_id
    new = {"Authorization": f"Bearer {body['token']}"}
    assert (await client.get("/api/v1/me/consents", headers=WANG)).status == 401
    assert (await client.get("/api/v1/me/consents", headers=new)).status == 200
    assert (await client.get("/api/v1/me/consents", headers=WANG_PANEL)).status == 200, (
        "other devices keep theirs"
    )
    assert (await client.get("/api/v1/me/consents", headers=ZHANG)).status == 200
    with Session(demo_db) as session:
        assert session.get(ApiToken, hash_token(body["token"])) is not None, "stored as its hash"
    again = await (
        await client.post(f"/api/v1/admin/devices/{device_id}/tokens/rotate", headers=ADMIN)
    ).json()
    assert again["token"] != body["token"]
    assert (await client.get("/api/v1/me/consents", headers=new)).status == 401


async def test_above_the_tenants_threshold_the_panel_tap_is_refused_and_the_card_says_phone(
    client: Client, demo_db: Engine
) -> None:
    wang = _wang(demo_db)  # zhijia: oob_confirm_above = 5000
    with Session(demo_db, expire_on_commit=False) as session:
        context = OfferContext(wang, "big", None, False)
        offer = offers.decide(session, context, [_candidate("PANA-FY-35ZDP", "10586.40")], utcnow()).offer
        assert offer is not None
        applications.start(session, offer.offer_id, wang, utcnow())
    card = await (await client.get(f"/api/v1/me/applications/{offer.offer_id}", headers=WANG_PANEL)).json()
    assert card["completion"]["channels"] == ["phone"]
    tap = await client.post(f"/api/v1/me/applications/{offer.offer_id}/confirm", headers=WANG_PANEL)
    assert tap.status == 403 and (await tap.json())["error"]["code"] == "confirm_on_phone"
    (small,) = _offers(demo_db, wang, applied=1, plain=0)
    done = await client.post(f"/api/v1/me/applications/{small}/confirm", headers=WANG_PANEL)
    assert done.status == 200 and (await done.json())["state"] == "confirmed"

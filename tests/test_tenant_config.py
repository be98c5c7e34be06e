"""Tenant configuration: packaged files, validation naming the file and field, storage, and its use
by the offer service (caps, quiet hours, daily cap), applications (out-of-band threshold) and the
insurer hand-offs."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from bot.cli.main import main
from bot.errors import ConfigError
from bot.finance.aftercare import InsuranceHandoff
from bot.offers import applications
from bot.offers import service as offers
from bot.offers.types import Candidate, Decision, OfferContext, OfferKind, RefusalReason
from bot.seed.tenants import packaged_tenant_config
from bot.store.db import make_engine
from bot.store.models import Tenant
from bot.store.tables import metadata
from bot.tenants.config import (
    TenantConfig,
    _toml_table,
    apply_tenant_config,
    dump_tenant_config,
    load_tenant_config,
    parse_tenant_config,
    partner_handoffs,
    tenant_config_of,
)
from tests.factories import add_household, ensure_tenant

PACKAGED = Path(__file__).resolve().parent.parent / "bot" / "seed" / "data" / "tenants"
TIP = Candidate(
    kind=OfferKind.UPGRADE,
    subject="KFR-35GW/1",
    terms={"money_saved_per_year": "412.50"},
    explanation="您家空调比一级能效机型多用电",
    text="换一台一级能效空调，每年大约省四百一十二元",
)


def _raw(name: str = "zhijia") -> dict[str, Any]:
    return tomllib.loads((PACKAGED / f"{name}.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["demo", "zhijia"])
def test_packaged_tenant_files_load_and_round_trip_through_toml(name: str) -> None:
    cfg = load_tenant_config(PACKAGED / f"{name}.toml")
    assert cfg.id == name
    assert load_tenant_config(PACKAGED / f"{name}.toml") == packaged_tenant_config(name)
    assert parse_tenant_config(tomllib.loads(dump_tenant_config(cfg))) == cfg


def test_the_two_demo_tenants_differ_in_persona_tariff_and_partners() -> None:
    demo, zhijia = packaged_tenant_config("demo"), packaged_tenant_config("zhijia")
    assert (demo.assistant_name, zhijia.assistant_name) == ("小居", "小智")
    assert (demo.tariff.region, zhijia.tariff.region) == ("beijing", "shanghai")
    assert not set(demo.insurers) & set(zhijia.insurers)
    assert demo.tts == zhijia.tts, "one gateway process speaks with one espeak-ng voice"


def _set(raw: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *parents, leaf = dotted.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
    if value is _DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return raw


_DELETE = object()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("offers.quiet_hours.start", "late"),
        ("offers.quiet_hours.end", time(21, 30)),
        ("offers.max_per_day", -1),
        ("offers.per_week", "many"),
        ("offers.lottery", 1),
        ("tariff.region", "mars"),
        ("tariff.flat_price", "-0.5"),
        ("tts.rate", 1000),
        ("tts.voice", ""),
        ("wording.greeting", ""),
        ("cancel_window_days", 0),
        ("oob_confirm_above", "lots"),
        ("insurers.众安在线财产保险股份有限公司", "http://insecure.example.cn"),
        ("features.installments", "maybe"),
        ("features.lottery", True),
        ("timezone", "Mars/Olympus"),
        ("id", "Bad Id"),
        ("assistant_name", _DELETE),
        ("colour", "red"),
    ],
)
def test_a_bad_field_is_named_with_its_file_and_path(tmp_path: Path, field: str, value: Any) -> None:
    folder = tmp_path / "tenants"
    folder.mkdir()
    raw = _set(_raw(), field, value)
    path = folder / "zhijia.toml"
    cfg_text = _toml_of(raw)
    path.write_text(cfg_text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_tenant_config(path)
    message = err.value.message
    assert message.startswith("tenants/zhijia.toml: "), message
    named = field if field != "offers.quiet_hours.end" else "offers.quiet_hours"
    assert message.split(": ")[1].startswith(named), message


def _toml_of(raw: dict[str, Any]) -> str:
    """TOML text of arbitrary (even invalid) values, written with the module's own writer."""
    return _toml_table(raw, ())


def test_a_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tenants" / "x.toml"
    path.parent.mkdir()
    path.write_text('id = "x"\nname = \n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^tenants/x.toml: not valid TOML"):
        load_tenant_config(path)


def test_a_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nothere\.toml: cannot read"):
        load_tenant_config(tmp_path / "nothere.toml")


def test_apply_creates_then_updates_the_tenant_and_its_stored_config(session: Session) -> None:
    cfg = packaged_tenant_config("zhijia")
    apply_tenant_config(session, cfg)
    session.commit()
    assert tenant_config_of(session, "zhijia") == cfg
    changed = cfg.model_copy(update={"assistant_name": "小智同学", "cancel_window_days": 10})
    apply_tenant_config(session, changed)
    apply_tenant_config(session, changed)
    session.commit()
    row = session.get(Tenant, "zhijia")
    assert row is not None and row.assistant_name == "小智同学"
    assert (row.tariff_region, row.tariff_yuan_per_kwh) == ("shanghai", Decimal("0.617"))
    assert tenant_config_of(session, "zhijia").cancel_window == timedelta(days=10)


def test_a_stored_config_is_parsed_once_per_version(session: Session) -> None:
    cfg = packaged_tenant_config("zhijia")
    apply_tenant_config(session, cfg)
    session.commit()
    first = tenant_config_of(session, "zhijia")
    assert tenant_config_of(session, "zhijia") is first, "the same stored text is not parsed again"
    apply_tenant_config(session, cfg.model_copy(update={"assistant_name": "小智同学"}))
    session.commit()
    assert tenant_config_of(session, "zhijia").assistant_name == "小智同学", "a new version is read"


def test_a_tenant_without_stored_config_gets_the_defaults_of_its_row(session: Session) -> None:
    tenant = ensure_tenant(session)
    cfg = tenant_config_of(session, tenant.id)
    assert cfg.assistant_name == tenant.assistant_name
    assert cfg.offers.per_session == 1 and cfg.offers.per_week == 3
    assert cfg.offers.quiet_hours is None and cfg.offers.max_per_day is None
    assert cfg.oob_confirm_above is None and cfg.cancel_window_days == 7
    assert all(cfg.features.model_dump().values())


def _tenant_with(session: Session, **update: Any) -> int:
    base = packaged_tenant_config("zhijia")
    apply_tenant_config(session, base.model_copy(update=update))
    session.commit()
    return add_household(session, "王家", tenant_id="zhijia")


def _proactive(session: Session, hh: int, at: datetime, sid: str) -> Decision:
    cfg = tenant_config_of(session, "zhijia")
    return offers.decide(session, OfferContext(hh, sid, None, True), [TIP], at, offers.caps_of(cfg))


def test_quiet_hours_hold_back_proactive_offers_in_tenant_local_time(session: Session) -> None:
    hh = _tenant_with(session)
    late = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai, inside 21:30–08:00
    decision = _proactive(session, hh, late, "s1")
    assert decision.offer is None
    assert decision.refusals[0].reason == RefusalReason.QUIET_HOURS
    noon = datetime(2026, 3, 3, 4, 0, tzinfo=UTC)
    assert _proactive(session, hh, noon, "s2").offer is not None


def test_the_daily_cap_counts_the_tenant_local_day(session: Session) -> None:
    hh = _tenant_with(session)  # max_per_day = 1
    morning = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)  # 09:00 Shanghai
    assert _proactive(session, hh, morning, "s1").offer is not None
    later = _proactive(session, hh, morning + timedelta(hours=3), "s2")
    assert later.offer is None and later.refusals[0].reason == RefusalReason.DAILY_CAP
    next_day = _proactive(session, hh, morning + timedelta(days=1), "s3")
    assert next_day.offer is not None


def _applied(session: Session, hh: int, total: str) -> int:
    cand = Candidate(
        kind=OfferKind.INSTALLMENT,
        subject="PANA-FY-35ZDP",
        terms={"apr": "0.12", "total_cost": total, "periods": "12"},
        explanation="您询问了新风机分期",
        text="年化利率百分之十二",
    )
    decision = offers.decide(session, OfferContext(hh, "s1", None, False), [cand], datetime.now(UTC))
    assert decision.offer is not None
    applications.start(session, decision.offer.offer_id, hh, datetime.now(UTC))
    return decision.offer.offer_id


def test_above_the_out_of_band_threshold_only_the_phone_completes(session: Session) -> None:
    hh = _tenant_with(session, oob_confirm_above=Decimal("5000"))
    small, large = _applied(session, hh, "4999.00"), _applied(session, hh, "10586.40")
    now = datetime.now(UTC)
    assert applications.confirm(session, small, hh, now, via="panel").state == "confirmed"
    with pytest.raises(applications.ApplicationError) as err:
        applications.confirm(session, large, hh, now, via="panel")
    assert err.value.code == "confirm_on_phone"
    assert applications.confirm(session, large, hh, now, via="phone").state == "confirmed"


def _handoff(insurer: str) -> InsuranceHandoff:
    return InsuranceHandoff(
        "p", "门锁险", insurer, "盗抢", Decimal("39.00"), 12, "https://catalog.example.cn"
    )


def test_insurer_handoffs_go_only_to_configured_partners_at_their_urls() -> None:
    cfg = packaged_tenant_config("zhijia")
    kept = partner_handoffs(cfg, [_handoff("众安在线财产保险股份有限公司"), _handoff("某未签约保险公司")])
    assert [(h.insurer, h.handoff_url) for h in kept] == [
        ("众安在线财产保险股份有限公司", "https://insure.zhongan.example.cn/zhijia")
    ]
    bare = TenantConfig(id="bare", name="b", brand="b", assistant_name="b")
    assert (
        partner_handoffs(bare, [_handoff("某未签约保险公司")])[0].handoff_url == "https://catalog.example.cn"
    )


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty schema in a SQLite file named by ``BOT_DATABASE_URL``."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    monkeypatch.delenv("BOT_CONFIG", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("BOT_DATABASE_URL", url)
    return url


def test_cli_applies_shows_and_checks_tenant_files(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenant", "apply", str(PACKAGED / "zhijia.toml")]) == 0
    assert "applied" in capsys.readouterr().out
    assert main(["tenant", "show", "zhijia", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert parse_tenant_config(shown) == packaged_tenant_config("zhijia")
    assert main(["tenant", "show", "zhijia"]) == 0
    assert parse_tenant_config(tomllib.loads(capsys.readouterr().out)) == packaged_tenant_config("zhijia")
    bad = tmp_path / "tenants" / "bad.toml"
    bad.parent.mkdir()
    bad.write_text(_toml_of(_set(_raw(), "offers.quiet_hours.start", "late")), encoding="utf-8")
    assert main(["tenant", "check", str(bad)]) == 2
    assert "tenants/bad.toml: offers.quiet_hours.start:" in capsys.readouterr().err
    assert main(["tenant", "show", "nobody"]) == 2

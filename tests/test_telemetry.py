"""Vendor telemetry adapters, ingest without double counting, and ``bot telemetry import``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot.cli.main import main
from bot.store.db import make_engine
from bot.store.models import Device, EnergyReading, Household, Tenant
from bot.store.tables import metadata
from bot.telemetry.formats import ADAPTERS, adapter
from bot.telemetry.ingest import import_payload
from bot.telemetry.power import PowerSamples
from bot.telemetry.records import ParseResult, TelemetryFormatError

D = Decimal
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _home(session: Session, devices: int = 2) -> list[int]:
    """A Beijing tenant with one household and ``devices`` devices; returns their ids."""
    session.add(
        Tenant(
            id="acme",
            name="Acme",
            brand="Acme",
            assistant_name="小A",
            tariff_yuan_per_kwh=D("0.4883"),
        )
    )
    session.flush()
    home = Household(tenant_id="acme", name="张家")
    session.add(home)
    session.flush()
    ids = []
    for n in range(devices):
        dev = Device(
            household_id=home.id or 0,
            category="空调",
            name=f"空调{n}",
            brand="格力",
            model="KFR-35",
            room="客厅",
            purchased_on=date(2015, 5, 1),
            warranty_until=date(2021, 5, 1),
        )
        session.add(dev)
        session.flush()
        ids.append(dev.id or 0)
    session.commit()
    return ids


def _parse(fmt: str, payload: str) -> ParseResult:
    return adapter(fmt).parse(payload, now=NOW, tz=SH)


def _meter(*records: object) -> str:
    return json.dumps({"records": list(records)})


def _stored_kwh(session: Session) -> Decimal:
    return session.exec(select(func.coalesce(func.sum(EnergyReading.kwh), 0))).one()


# --- meter_kwh ---------------------------------------------------------------------------------


def test_meter_totals_become_interval_differences() -> None:
    result = _parse(
        "meter_kwh",
        _meter(
            {"device_id": 1, "time": "2025-03-01T00:00:00+08:00", "total_kwh": "100.0"},
            {"device_id": 1, "time": "2025-03-01T01:00:00+08:00", "total_kwh": "100.5"},
            {"device_id": 1, "time": "2025-03-01T02:00:00+08:00", "total_kwh": 101.7},
        ),
    )
    assert result.rejected == ()
    assert [(r.start, r.seconds, r.kwh) for r in result.readings] == [
        (datetime(2025, 2, 28, 16, tzinfo=UTC), 3600, D("0.500")),
        (datetime(2025, 2, 28, 17, tzinfo=UTC), 3600, D("1.200")),
    ]


def test_meter_naive_time_is_local_shanghai_time() -> None:
    result = _parse(
        "meter_kwh",
        _meter(
            {"device_id": 1, "time": "2025-03-01T08:00:00", "total_kwh": 1},
            {"device_id": 1, "time": "2025-03-01T09:00:00", "total_kwh": 2},
        ),
    )
    assert result.readings[0].start == datetime(2025, 3, 1, 0, tzinfo=UTC)


def test_meter_reset_rejects_only_that_interval() -> None:
    times = [f"2025-03-01T0{h}:00:00+08:00" for h in range(4)]
    totals = ["100", "101", "5", "6"]
    result = _parse(
        "meter_kwh",
        _meter(*({"device_id": 1, "time": t, "total_kwh": v} for t, v in zip(times, totals, strict=True))),
    )
    assert [r.kwh for r in result.readings] == [D("1.000"), D("1.000")]
    assert [(r.index, r.where) for r in result.rejected] == [(2, "records[2]")]
    assert "reset or rollback" in result.rejected[0].reason


def test_meter_bad_records_are_rejected_with_reasons() -> None:
    result = _parse(
        "meter_kwh",
        _meter(
            {"device_id": 1, "time": "2025-03-01T00:00:00+08:00", "total_kwh": "abc"},
            {"device_id": 1, "time": "2025-03-01T01:00:00+08:00", "total_kwh": -3},
            {"device_id": 1, "time": "yesterday", "total_kwh": 1},
            {"device_id": 1, "time": "2030-01-01T00:00:00+08:00", "total_kwh": 1},
            {"device_id": "x", "time": "2025-03-01T02:00:00+08:00", "total_kwh": 1},
            "not an object",
            {"device_id": 1, "time": "2025-03-01T03:00:00+08:00", "total_kwh": "NaN"},
        ),
    )
    reasons = {r.index: r.reason for r in result.rejected}
    assert sorted(reasons) == [0, 1, 2, 3, 4, 5, 6]
    assert "not a number" in reasons[0]
    assert "negative" in reasons[1]
    assert "ISO 8601" in reasons[2]
    assert "future" in reasons[3]
    assert "device_id" in reasons[4]
    assert "finite" in reasons[6]
    assert result.readings == ()


def test_meter_gap_longer_than_a_day_is_not_counted() -> None:
    result = _parse(
        "meter_kwh",
        _meter(
            {"device_id": 1, "time": "2025-03-01T00:00:00+08:00", "total_kwh": 1},
            {"device_id": 1, "time": "2025-03-03T00:00:00+08:00", "total_kwh": 30},
        ),
    )
    assert result.readings == ()
    assert "exceeds 24 h" in result.rejected[0].reason


def test_conflicting_duplicates_in_a_batch_are_all_rejected_identical_ones_kept_once() -> None:
    t0, t1 = "2025-03-01T00:00:00+08:00", "2025-03-01T01:00:00+08:00"
    result = _parse(
        "meter_kwh",
        _meter(
            {"device_id": 1, "time": t0, "total_kwh": 10},
            {"device_id": 1, "time": t0, "total_kwh": 10},
            {"device_id": 1, "time": t1, "total_kwh": 11},
            {"device_id": 1, "time": t1, "total_kwh": 12},
        ),
    )
    assert result.duplicates == 1
    assert [r.index for r in result.rejected] == [2, 3]
    assert all("conflicting duplicates" in r.reason for r in result.rejected)
    assert result.readings == ()


@pytest.mark.parametrize("payload", ['[{"device_id": 1}]', '{"rows": []}', "{not json", ""])
def test_meter_file_of_wrong_shape_is_unusable(payload: str) -> None:
    with pytest.raises(TelemetryFormatError):
        _parse("meter_kwh", payload)


# --- interval_wh -------------------------------------------------------------------------------

CSV_HEAD = "device_id,interval_start,minutes,energy_wh\n"


def test_interval_wh_converts_wh_to_kwh_and_local_time_to_utc() -> None:
    result = _parse("interval_wh", CSV_HEAD + "1,2025-03-01 08:00,60,1500\n2,2025-03-01 08:15,15,12.5\n")
    assert result.rejected == ()
    assert [(r.device_id, r.start, r.seconds, r.kwh) for r in result.readings] == [
        (1, datetime(2025, 3, 1, 0, 0, tzinfo=UTC), 3600, D("1.500")),
        (2, datetime(2025, 3, 1, 0, 15, tzinfo=UTC), 900, D("0.013")),
    ]


def test_interval_wh_bad_rows_are_rejected_with_line_numbers() -> None:
    rows = [
        "1,2025-03-01 08:00,60,-5",  # line 2: negative
        "1,2025-03-01 09:00,60,lots",  # line 3: non-numeric
        "1,2025-03-01 10:00,0,100",  # line 4: bad minutes
        "1,2025-03-01 11:00,7.5,100",  # line 5: fractional minutes
        "1,31/02/2025,60,100",  # line 6: unparsable
        "1,2030-03-01 08:00,60,100",  # line 7: future
        "1,2025-03-01 12:00,60",  # line 8: missing field
        "1,2025-03-01 13:00,60,100",  # line 9: good
    ]
    result = _parse("interval_wh", CSV_HEAD + "\n".join(rows) + "\n")
    assert [r.where for r in result.rejected] == [f"line {n}" for n in range(2, 9)]
    assert "negative" in result.rejected[0].reason
    assert "not a number" in result.rejected[1].reason
    assert "minutes" in result.rejected[2].reason and "minutes" in result.rejected[3].reason
    assert "future" in result.rejected[5].reason
    assert "fields" in result.rejected[6].reason
    assert len(result.readings) == 1 and result.readings[0].kwh == D("0.100")


def test_interval_csv_without_the_columns_is_unusable() -> None:
    with pytest.raises(TelemetryFormatError, match="missing: minutes,energy_wh"):
        _parse("interval_wh", "device_id,interval_start,kwh\n1,2025-03-01 08:00,1.5\n")


# --- power_w -----------------------------------------------------------------------------------

T10 = int(datetime(2025, 3, 1, 10, tzinfo=UTC).timestamp())


def _power(points: list[list[object]], dev: object = 1) -> str:
    return json.dumps({"series": [{"dev": dev, "points": points}]})


def test_power_constant_1000_w_for_an_hour_is_one_kwh_in_one_hourly_reading() -> None:
    points: list[list[object]] = [[T10 + 300 * i, 1000] for i in range(13)]
    result = _parse("power_w", _power(points))
    assert result.rejected == ()
    assert [(r.start, r.seconds, r.kwh) for r in result.readings] == [
        (datetime(2025, 3, 1, 10, tzinfo=UTC), 3600, D("1.000"))
    ]


def test_power_ramp_is_integrated_and_cut_at_the_hour() -> None:
    # 0 W at 10:30 rising linearly to 1200 W at 11:30 (one sample pair, gap allowed up to an hour)
    payload = _power([[T10 + 1800, 0], [T10 + 5400, 1200]])
    result = PowerSamples(max_gap_seconds=3600).parse(payload, now=NOW, tz=SH)
    assert [(r.start.minute, r.seconds, r.kwh) for r in result.readings] == [
        (30, 1800, D("0.150")),  # mean 300 W for half an hour
        (0, 1800, D("0.450")),  # mean 900 W for half an hour
    ]


def test_power_gap_longer_than_limit_is_rejected_and_not_counted() -> None:
    payload = _power([[T10, 1200], [T10 + 300, 1200], [T10 + 2400, 1200], [T10 + 2700, 1200]])
    result = _parse("power_w", payload)
    assert [r.index for r in result.rejected] == [2]
    assert "gap of 2100 s" in result.rejected[0].reason
    assert [(r.seconds, r.kwh) for r in result.readings] == [(300, D("0.100")), (300, D("0.100"))]


def test_power_bad_samples_are_rejected() -> None:
    payload = _power(
        [
            [T10, "lots"],
            [T10 + 60, -5],
            [float(T10 + 120), 10],
            [T10 + 180],
            [1_900_000_000, 5],
            [T10 + 240, 7],
        ]
    )
    result = _parse("power_w", payload)
    reasons = [r.reason for r in result.rejected]
    assert [r.where for r in result.rejected] == [f"series[0].points[{i}]" for i in range(5)]
    assert "not a number" in reasons[0] and "negative" in reasons[1]
    assert "epoch seconds" in reasons[2] and "[epoch_seconds, watts]" in reasons[3]
    assert "future" in reasons[4]


def test_power_series_without_a_device_is_rejected_whole() -> None:
    result = _parse("power_w", _power([[T10, 1], [T10 + 60, 1]], dev=None))
    assert result.readings == ()
    assert result.rejected[0].where == "series[0]" and "2 points skipped" in result.rejected[0].reason


def test_every_registered_format_has_a_distinct_name() -> None:
    assert set(ADAPTERS) == {"meter_kwh", "interval_wh", "power_w"}
    with pytest.raises(TelemetryFormatError, match="known: interval_wh, meter_kwh, power_w"):
        adapter("csv")


# --- ingest ------------------------------------------------------------------------------------


def test_resent_batch_is_skipped_not_double_counted(session: Session) -> None:
    ids = _home(session)
    payload = CSV_HEAD + f"{ids[0]},2025-03-01 08:00,60,1500\n{ids[1]},2025-03-01 08:00,60,500\n"
    first = import_payload(session, "interval_wh", payload, now=NOW)
    second = import_payload(session, "interval_wh", payload, now=NOW)
    assert (first.stored, first.skipped, second.stored, second.skipped) == (2, 0, 0, 2)
    assert _stored_kwh(session) == D("2.000")


def test_resent_power_batch_is_skipped(session: Session) -> None:
    (dev,) = _home(session, 1)
    payload = _power([[T10 + 300 * i, 1000] for i in range(25)], dev=dev)
    first = import_payload(session, "power_w", payload, now=NOW)
    again = import_payload(session, "power_w", payload, now=NOW)
    assert (first.stored, again.stored, again.skipped) == (2, 0, 2)
    assert _stored_kwh(session) == D("2.000")


def test_conflicting_value_for_a_stored_interval_is_rejected_and_old_value_kept(
    session: Session,
) -> None:
    (dev,) = _home(session, 1)
    import_payload(session, "interval_wh", CSV_HEAD + f"{dev},2025-03-01 08:00,60,1500\n", now=NOW)
    report = import_payload(session, "interval_wh", CSV_HEAD + f"{dev},2025-03-01 08:00,60,1800\n", now=NOW)
    assert report.stored == 0
    assert "conflicts with the reading already stored" in report.rejected[0].reason
    assert "1.5" not in report.rejected[0].reason, "the stored value is never echoed"
    assert _stored_kwh(session) == D("1.500")


def test_overlapping_interval_with_another_start_is_rejected(session: Session) -> None:
    (dev,) = _home(session, 1)
    import_payload(session, "interval_wh", CSV_HEAD + f"{dev},2025-03-01 08:00,60,1500\n", now=NOW)
    quarter = CSV_HEAD + f"{dev},2025-03-01 08:15,15,400\n{dev},2025-03-01 09:00,15,400\n"
    report = import_payload(session, "interval_wh", quarter, now=NOW)
    assert report.stored == 1
    assert [r.where for r in report.rejected] == ["line 2"]
    assert "would count twice" in report.rejected[0].reason
    assert _stored_kwh(session) == D("1.900")


def test_overlap_inside_one_batch_is_rejected(session: Session) -> None:
    (dev,) = _home(session, 1)
    payload = CSV_HEAD + f"{dev},2025-03-01 08:00,60,1500\n{dev},2025-03-01 08:30,30,700\n"
    report = import_payload(session, "interval_wh", payload, now=NOW)
    assert (report.stored, len(report.rejected)) == (1, 1)


def test_unknown_device_is_rejected(session: Session) -> None:
    _home(session, 1)
    report = import_payload(session, "interval_wh", CSV_HEAD + "999,2025-03-01 08:00,60,1500\n", now=NOW)
    assert report.stored == 0
    assert report.rejected[0].reason == "unknown device 999"


# --- CLI ---------------------------------------------------------------------------------------


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A file database with the schema and one household with two devices."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("BOT_DATABASE_URL", url)
    monkeypatch.delenv("BOT_CONFIG", raising=False)
    engine: Engine = make_engine(url)
    metadata.create_all(engine)
    with Session(engine) as session:
        _home(session)
    engine.dispose()
    return url


def test_cli_imports_a_file_and_lists_rejected_rows(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "readings.csv"
    path.write_text(CSV_HEAD + "1,2025-03-01 08:00,60,1500\n1,2025-03-01 09:00,60,oops\n", encoding="utf-8")
    assert main(["telemetry", "import", "--format", "interval_wh", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 stored, 0 skipped (already stored), 1 rejected" in out
    assert "rejected #1 (line 3): energy_wh is not a number" in out
    assert main(["telemetry", "import", "--format", "interval_wh", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["stored"], report["skipped"], len(report["rejected"])) == (0, 1, 1)


def test_cli_broken_csv_exits_nonzero_with_clear_error(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.csv"
    path.write_text("device;start;wh\n1;2025-03-01 08:00;1500\n", encoding="utf-8")
    assert main(["telemetry", "import", "--format", "interval_wh", str(path)]) == 2
    err = capsys.readouterr().err
    assert "bad_telemetry_file" in err and "CSV header needs columns" in err


def test_cli_json_of_wrong_shape_exits_nonzero(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "meter.json"
    path.write_text('[{"device_id": 1, "time": "2025-03-01T08:00:00", "total_kwh": 1}]', encoding="utf-8")
    assert main(["telemetry", "import", "--format", "meter_kwh", str(path)]) == 2
    assert "expected a JSON object with a 'records' list" in capsys.readouterr().err


def test_cli_file_in_another_format_exits_nonzero(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "readings.csv"
    path.write_text(CSV_HEAD + "1,2025-03-01 08:00,60,1500\n", encoding="utf-8")
    assert main(["telemetry", "import", "--format", "power_w", str(path)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_cli_missing_file_exits_nonzero(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["telemetry", "import", "--format", "power_w", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_cli_without_schema_points_to_db_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    path = tmp_path / "r.csv"
    path.write_text(CSV_HEAD + "1,2025-03-01 08:00,60,1500\n", encoding="utf-8")
    assert main(["telemetry", "import", "--format", "interval_wh", str(path)]) == 2
    assert "bot db upgrade" in capsys.readouterr().err


@pytest.mark.parametrize("energy_wh", ["1e13", "9999999999", "40000"])
def test_more_energy_than_a_device_can_use_is_rejected_and_the_batch_keeps_the_rest(
    session: Session, energy_wh: str
) -> None:
    (dev,) = _home(session, 1)
    payload = CSV_HEAD + f"{dev},2025-03-01 08:00,60,{energy_wh}\n{dev},2025-03-01 09:00,60,900\n"
    report = import_payload(session, "interval_wh", payload, now=NOW)
    assert report.stored == 1 and len(report.rejected) == 1
    assert "more than this device can use" in report.rejected[0].reason
    assert _stored_kwh(session) == D("0.900")


@pytest.mark.parametrize("raw", ["²", "٣", "１"])
def test_a_device_id_of_non_ascii_digits_is_a_record_error(raw: str) -> None:
    from bot.telemetry.records import RecordError, device_id

    with pytest.raises(RecordError):
        device_id(raw)

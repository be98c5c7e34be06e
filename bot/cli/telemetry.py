"""``bot telemetry``: import vendor energy files and list the formats they may use."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bot.cli.progress import progress_view
from bot.config import Config
from bot.errors import ConfigError
from bot.periods import DEFAULT_TZ
from bot.store.db import in_session
from bot.telemetry.formats import ADAPTERS
from bot.telemetry.ingest import IngestReport, import_payload
from bot.telemetry.records import TelemetryFormatError


def register(subparsers: Any) -> None:
    """Add the ``telemetry`` subcommands."""
    telemetry = subparsers.add_parser("telemetry", help="energy telemetry from device vendors")
    actions = telemetry.add_subparsers(dest="telemetry_command", required=True, metavar="ACTION")

    imp = actions.add_parser("import", help="normalise a vendor file and store its readings")
    imp.add_argument("--format", required=True, choices=sorted(ADAPTERS), help="vendor format")
    imp.add_argument("file", type=Path, help="the vendor file (JSON or CSV, UTF-8)")
    imp.add_argument("--tz", default=DEFAULT_TZ, help="timezone of timestamps without an offset")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.set_defaults(handler=_import)

    formats = actions.add_parser("formats", help="list the supported vendor formats")
    formats.set_defaults(handler=_formats)

    mqtt = actions.add_parser("mqtt", help="ingest payloads from MQTT <prefix>/<source>/telemetry/<format>")
    mqtt.set_defaults(handler=_mqtt)

    auth = actions.add_parser(
        "mqtt-auth", help="write Mosquitto's password file and ACL: one user per paired hub"
    )
    auth.add_argument("--out", type=Path, required=True, help="folder for passwd and acl (mode 600)")
    auth.set_defaults(handler=_mqtt_auth)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise TelemetryFormatError(f"{path} is not UTF-8 text: {err}") from err
    except OSError as err:
        raise TelemetryFormatError(f"cannot read {path}: {err.strerror or err}") from err


def _import(args: argparse.Namespace, config: Config) -> int:
    payload = _read(args.file)
    try:
        with progress_view() as view:
            report = in_session(
                config.db_url, lambda s: import_payload(s, args.format, payload, tz=args.tz, report=view)
            )
    except TelemetryFormatError as err:
        expected = ADAPTERS[args.format].summary
        raise TelemetryFormatError(
            f"{args.file}: {err.message}; --format {args.format} expects {expected}"
        ) from err
    print(json.dumps(report_json(report), ensure_ascii=False) if args.json else report_text(report))
    return 0


def report_json(report: IngestReport) -> dict[str, Any]:
    """The import report as a JSON-ready dict."""
    return {
        "format": report.format,
        "stored": report.stored,
        "skipped": report.skipped,
        "rejected": [{"index": r.index, "where": r.where, "reason": r.reason} for r in report.rejected],
    }


def report_text(report: IngestReport) -> str:
    """The import report for a terminal: counts, then one line per rejected record."""
    lines = [
        f"{report.format}: {report.stored} stored, {report.skipped} skipped (already stored), "
        f"{len(report.rejected)} rejected"
    ]
    lines += [f"  rejected #{r.index} ({r.where}): {r.reason}" for r in report.rejected]
    return "\n".join(lines)


def _formats(args: argparse.Namespace, config: Config) -> int:
    for name in sorted(ADAPTERS):
        print(f"{name:<12} {ADAPTERS[name].summary}")
    return 0


def _mqtt(args: argparse.Namespace, config: Config) -> int:
    from bot.telemetry.mqtt import run_until_signal

    return run_until_signal(config.mqtt_url, config.db_url)


def _mqtt_auth(args: argparse.Namespace, config: Config) -> int:
    from bot.store.db import utcnow
    from bot.telemetry.broker_auth import broker_files
    from bot.telemetry.mqtt import broker

    if not config.mqtt_url:
        raise ConfigError("未配置 MQTT：请设置 mqtt_url（BOT_MQTT_URL）")
    where = broker(config.mqtt_url)
    files = in_session(
        config.db_url, lambda s: broker_files(s, where.prefix, where.username, where.password, utcnow())
    )
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in (("passwd", files.passwd), ("acl", files.acl)):
        path = args.out / name
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {args.out / 'passwd'} ({files.hubs} hubs + the ingest user) and {args.out / 'acl'}")
    print("mosquitto.conf: allow_anonymous false, password_file <passwd>, acl_file <acl>; reload with SIGHUP")
    return 0

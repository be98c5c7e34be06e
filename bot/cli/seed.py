"""``bot seed --demo``: the demo tenants and households (the one command that imports ``bot.seed``)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.progress import progress_view
from bot.config import Config
from bot.errors import ConfigError
from bot.seed.demo import seed_demo
from bot.store.db import make_engine, migrate, utcnow

DEMO_TOKENS = {
    "demo-zhang-speaker": "张家客厅音箱（已授权用电数据）",
    "demo-zhang-panel": "张家中控屏（已授权用电数据）",
    "demo-li-speaker": "李家卧室音箱（未授权）",
    "demo-designer": "对话设计师（NLU 调试）",
}


def register(subparsers: Any) -> None:
    """Add ``bot seed``."""
    seed = subparsers.add_parser("seed", help="create demo data (idempotent)")
    seed.add_argument("--demo", action="store_true", required=True, help="seed the demo households")
    seed.set_defaults(handler=_seed)


DEMO_OFF = (
    "演示数据只能在演示模式下创建：其凭证（demo-admin、demo-zhang-speaker…）公开在 README 里。"
    "请设置 demo = true（配置文件）或 BOT_DEMO=true，`make demo` 会自动设置；"
    "正式部署请用 `bot tenant create` 和管理接口接入真实家庭（README「Production profile」）"
)


def _seed(args: argparse.Namespace, config: Config) -> int:
    if not config.demo:
        raise ConfigError(DEMO_OFF, code="demo_off")
    migrate(config.db_url)
    engine = make_engine(config.db_url)
    try:
        with progress_view() as view:
            report = seed_demo(engine, utcnow(), partner_port=config.partner_sim_port, report=view)
    finally:
        engine.dispose()
    print(
        f"demo seed: {report.households} households, {report.devices} devices, "
        f"{report.readings_added} new readings"
    )
    _print_tokens()
    return 0


def _print_tokens() -> None:
    print("demo tokens:")
    for token, who in DEMO_TOKENS.items():
        print(f"  {token:<20} {who}")

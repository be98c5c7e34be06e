"""Per-tenant configuration: one validated TOML file per manufacturer, stored on its ``Tenant`` row.

A manufacturer deploying the skill sets its brand and assistant persona, TTS voice/rate, wording
overrides, tariff, offer caps and quiet hours, cancellation window, the amount above which an
application must be completed on the phone (out of band), insurer hand-off URLs and which
financial features are enabled, and whether a turn that is not the skill's is declined aloud or
in silence (``boundary.decline``). ``load_tenant_config`` names the file and the exact field path of
any error (``tenants/zhijia.toml: offers.quiet_hours.start: …``).
"""

from __future__ import annotations

import functools
import json
import tomllib
from collections.abc import Sequence
from dataclasses import replace
from datetime import time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlmodel import Session

from bot.energy.tariff import SCHEDULE_KEYS
from bot.errors import ConfigError, NotFoundError
from bot.finance.aftercare import InsuranceHandoff
from bot.store.models import Tenant

_TENANT_ID = r"^[a-z][a-z0-9_-]{1,39}$"


def _https(url: str) -> str:
    if not url.startswith("https://") or len(url) <= len("https://"):
        raise ValueError("hand-off URL must start with https://")
    return url


HandoffUrl = Annotated[str, AfterValidator(_https)]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TtsConfig(_Section):
    """Speech output. One gateway process speaks with one espeak-ng voice (libespeak is global):
    tenants sharing a gateway must use the same ``voice``; ``rate`` too (see docs/manufacturers.md)."""

    voice: str = Field(default="cmn", min_length=1, max_length=40)
    rate: int = Field(default=175, ge=80, le=400)
    """Words per minute."""


class WordingConfig(_Section):
    """Optional overrides of domain.yml wording; ``{assistant_name}`` and ``{brand}`` are filled in."""

    greeting: str | None = Field(default=None, min_length=1, max_length=120)
    sign_off: str | None = Field(default=None, min_length=1, max_length=120)


class TariffConfig(_Section):
    """Residential tariff schedule key (``bot.energy.tariff``) and its tier-1 flat price."""

    region: str = "beijing"
    flat_price: Decimal = Field(default=Decimal("0.4883"), gt=0, le=5, max_digits=8, decimal_places=4)

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in SCHEDULE_KEYS:
            raise ValueError(f"unknown tariff region {value!r}; known: {', '.join(SCHEDULE_KEYS)}")
        return value


class QuietHours(_Section):
    """No proactive offer between ``start`` and ``end`` (tenant local time; may wrap midnight)."""

    start: time
    end: time

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end are equal: leave quiet_hours out for none")
        return self


class OffersConfig(_Section):
    """Caps on proactive offers (``bot.offers.service.caps_of``): per session, week and day; quiet hours."""

    per_session: int = Field(default=1, ge=0, le=10)
    per_week: int = Field(default=3, ge=0, le=50)
    max_per_day: int | None = Field(default=None, ge=0, le=20)
    """None: no daily cap (as before tenants had a configuration)."""
    quiet_hours: QuietHours | None = None
    """None: proactive offers at any hour."""


class FeaturesConfig(_Section):
    """Financial services this manufacturer offers; a disabled one is declined and never offered."""

    installments: bool = True
    warranty: bool = True
    insurance: bool = True
    trade_in: bool = True
    points: bool = True
    subscription: bool = True


class BoundaryConfig(_Section):
    """What the skill does with a turn that is not its business (a device command, chatter): the turn
    is always reported ``handled: false`` so the host assistant can take it; this says whether the
    skill also speaks a short decline."""

    decline: Literal["speak", "silent"] = "speak"
    """``speak``: a one-sentence decline (the host may still answer); ``silent``: no reply at all."""


class ServiceConfig(_Section):
    """How the household reaches the manufacturer's people (「转人工」「我要投诉」)."""

    hotline: str | None = Field(default=None, pattern=r"^[0-9][0-9-]{4,19}$")
    """Service telephone number, e.g. 400-000-0000; None: tickets are followed up by call-back."""
    hours: str | None = Field(default=None, min_length=1, max_length=40)
    """Opening hours as spoken, e.g. 每天8点到20点."""


_LOOPBACK = ("http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:", "http://localhost/")


def _partner_url(url: str) -> str:
    if url.startswith(_LOOPBACK) or (url.startswith("https://") and len(url) > len("https://")):
        return url
    raise ValueError("partner URL must start with https:// (plain http only on this machine)")


class StudioConfig(_Section):
    """The designer studio (``docs/designing.md``)."""

    households: list[str] = Field(default_factory=list, max_length=20)
    """Demo homes of this tenant that designers may copy into sandbox conversations (made for them,
    never a real home); the studio's own sample household is always offered as well."""


class PartnerEndpoint(_Section):
    """Where a partner receives applications (the outbox dispatcher signs every delivery)."""

    url: Annotated[str, AfterValidator(_partner_url)]
    secret: str = Field(min_length=16, max_length=200)
    """Shared HMAC-SHA256 secret: signs deliveries and verifies the partner's decisions."""
    legal_names: list[str] = Field(default_factory=list)
    """Partners (legal names as in the catalog) this endpoint serves; empty: every other partner."""
    max_attempts: int = Field(default=8, ge=1, le=50)
    """Delivery attempts before the message is dead-lettered (reason shown to the tenant admin)."""


class TenantConfig(_Section):
    """Everything a manufacturer configures for its deployment."""

    id: str = Field(pattern=_TENANT_ID)
    name: str = Field(min_length=1, max_length=120)
    brand: str = Field(min_length=1, max_length=60)
    assistant_name: str = Field(min_length=1, max_length=40)
    wake_phrase: str | None = Field(default=None, min_length=1, max_length=20)
    """What wakes the tenant's speakers and panels (e.g. 小居小居); None: the assistant's name twice."""
    timezone: str = "Asia/Shanghai"
    tts: TtsConfig = TtsConfig()
    wording: WordingConfig = WordingConfig()
    tariff: TariffConfig = TariffConfig()
    offers: OffersConfig = OffersConfig()
    cancel_window_days: int = Field(default=7, ge=1, le=90)
    oob_confirm_above: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    """元: an application whose amount exceeds this is completed only on the phone (QR hand-off to
    the partner), not by a tap on the panel; None: the panel tap is enough for any amount. Voice
    alone never completes an application."""
    insurers: dict[str, HandoffUrl] = Field(default_factory=dict)
    """Insurer (legal name as in the catalog) → hand-off URL (https)."""
    features: FeaturesConfig = FeaturesConfig()
    boundary: BoundaryConfig = BoundaryConfig()
    service: ServiceConfig = ServiceConfig()
    studio: StudioConfig = StudioConfig()
    partners: dict[str, PartnerEndpoint] = Field(default_factory=dict)
    """Partner id (the decision callback's ``{partner}``, e.g. ``demo-lender``) → its endpoint."""

    def partner_for(self, legal_name: str) -> tuple[str, PartnerEndpoint] | None:
        """The endpoint serving ``legal_name``: one that names it, else one serving every partner."""
        named = [(k, p) for k, p in self.partners.items() if legal_name in p.legal_names]
        fallback = [(k, p) for k, p in self.partners.items() if not p.legal_names]
        found = named or fallback
        return found[0] if found else None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}") from err
        return value

    @model_validator(mode="after")
    def _caps_consistent(self) -> TenantConfig:
        daily = self.offers.max_per_day
        if daily is not None and daily > self.offers.per_week:
            raise ValueError("offers.max_per_day must not exceed offers.per_week")
        return self

    @property
    def cancel_window(self) -> timedelta:
        """The cancellation window as a duration."""
        return timedelta(days=self.cancel_window_days)

    def feature_enabled(self, feature: str) -> bool:
        """Whether a feature (``installments``, ``warranty``, …) is enabled; unknown names raise."""
        return bool(getattr(self.features, feature))


def load_tenant_config(path: Path) -> TenantConfig:
    """Read and validate one tenant TOML file; any error names the file and the field path."""
    label = _label(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(
            f"{label}: cannot read: {err.strerror or err}", code="tenant_config_invalid"
        ) from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{label}: not valid TOML: {err}", code="tenant_config_invalid") from err
    return parse_tenant_config(raw, label)


def parse_tenant_config(raw: dict[str, Any], label: str = "<tenant config>") -> TenantConfig:
    """Validate a mapping (e.g. parsed TOML or stored JSON); errors name ``label`` and the field path."""
    try:
        return TenantConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(f"{label}: {_first_error(err)}", code="tenant_config_invalid") from err


def dump_tenant_config(cfg: TenantConfig) -> str:
    """TOML text that ``load_tenant_config`` reads back to an equal configuration."""
    return _toml_table(cfg.model_dump(mode="python"), ())


def apply_tenant_config(session: Session, cfg: TenantConfig) -> Tenant:
    """Create or update the tenant row and its stored configuration (in the caller's transaction)."""
    tenant = session.get(Tenant, cfg.id) or Tenant(
        id=cfg.id,
        name=cfg.name,
        brand=cfg.brand,
        assistant_name=cfg.assistant_name,
        tariff_yuan_per_kwh=cfg.tariff.flat_price,
    )
    tenant.name, tenant.brand, tenant.assistant_name = cfg.name, cfg.brand, cfg.assistant_name
    tenant.timezone = cfg.timezone
    tenant.tariff_region, tenant.tariff_yuan_per_kwh = cfg.tariff.region, cfg.tariff.flat_price
    tenant.config = json.dumps(cfg.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)
    session.add(tenant)
    session.flush()
    return tenant


def wake_phrase_of(cfg: TenantConfig) -> str:
    """The tenant's wake phrase (its assistant's name said twice unless configured)."""
    return cfg.wake_phrase or cfg.assistant_name * 2


def tenant_config_of(session: Session, tenant_id: str) -> TenantConfig:
    """The stored configuration of a tenant (defaults from its row when none was applied)."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFoundError("没有找到这个厂商", code="tenant_not_found")
    return config_of_row(tenant)


def config_of_row(tenant: Tenant) -> TenantConfig:
    """The configuration stored on a tenant row, or one derived from its columns."""
    if tenant.config:
        return _stored_config(tenant.id, tenant.config)
    return TenantConfig(
        id=tenant.id,
        name=tenant.name,
        brand=tenant.brand,
        assistant_name=tenant.assistant_name,
        timezone=tenant.timezone,
        tariff=TariffConfig(region=tenant.tariff_region, flat_price=tenant.tariff_yuan_per_kwh),
    )


@functools.lru_cache(maxsize=64)
def _stored_config(tenant_id: str, stored: str) -> TenantConfig:
    """Parsed once per stored version: every action call reads its tenant's configuration."""
    return parse_tenant_config(json.loads(stored), f"tenant {tenant_id}")


def wording(cfg: TenantConfig, text: str | None) -> str | None:
    """A wording override with ``{assistant_name}`` and ``{brand}`` filled in (None: no override)."""
    if text is None:
        return None
    return text.replace("{assistant_name}", cfg.assistant_name).replace("{brand}", cfg.brand)


def partner_handoffs(cfg: TenantConfig, handoffs: Sequence[InsuranceHandoff]) -> list[InsuranceHandoff]:
    """Insurance hand-offs through the tenant's configured partners, with the configured URLs.

    With no ``insurers`` configured the catalog's own URLs stand; otherwise insurers that are not
    configured partners are left out.
    """
    if not cfg.insurers:
        return list(handoffs)
    return [replace(h, handoff_url=cfg.insurers[h.insurer]) for h in handoffs if h.insurer in cfg.insurers]


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(file)"
    return f"{where}: {first['msg']}"


def _toml_table(table: dict[str, Any], prefix: tuple[str, ...]) -> str:
    """One TOML table (``[a.b]``) with its scalars, then its sub-tables; ``None`` values are omitted."""
    lines = [f"[{'.'.join(_toml_key(p) for p in prefix)}]"] if prefix else []
    lines += [
        f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items() if not isinstance(v, dict | None)
    ]
    blocks = ["\n".join(lines)] if lines else []
    blocks += [_toml_table(v, (*prefix, k)) for k, v in table.items() if isinstance(v, dict)]
    return "\n\n".join(b.rstrip("\n") for b in blocks) + "\n"


def _toml_key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "")
    return key if bare.isascii() and bare.isalnum() else json.dumps(key, ensure_ascii=False)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _label(path: Path) -> str:
    parts = path.parts
    return "/".join(parts[-2:]) if len(parts) >= 2 else str(path)

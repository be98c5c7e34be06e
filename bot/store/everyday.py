"""Tables of the household's everyday assistant: complaint tickets (「我要投诉」「转人工」) and the
appliance changes whose measured savings earn green points."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel


class ComplaintTicket(SQLModel, table=True):
    """A complaint or a request for a person, recorded when the household asks; seen by the household
    (我的数据) and by the tenant's admin."""

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=40)
    household_id: int = Field(foreign_key="household.id", index=True)
    conversation_id: str = Field(max_length=40)
    """The conversation (Rasa sender) it was raised in."""
    category: str = Field(max_length=20)
    """A ``ComplaintCategory`` value: complaint or contact (reach a person)."""
    concerns: str | None = Field(default=None, max_length=20)
    """What it is about: installment, warranty, offer… (the topic of the conversation), if known."""
    offer_id: int | None = Field(default=None)
    """The offer it concerns (the conversation's latest), if any (no foreign key: a ticket outlives
    whatever it is about)."""
    application_id: int | None = Field(default=None)
    """The household's latest application when the complaint is about one."""
    state: str = Field(default="open", max_length=12)
    """open, then closed by the tenant's service team."""
    created_at: datetime


class DeviceChange(SQLModel, table=True):
    """An appliance replaced by a more efficient one on ``changed_on``: its readings after that day are
    measured against its own baseline before it (``bot.energy.measured``) and earn green points."""

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    changed_on: date
    """First local day of the new appliance."""
    note: str = Field(default="", max_length=120)
    """What changed, e.g. 换新一级能效冰箱."""

"""Installment engine: schedule, fees, total cost and APR by IRR (monthly IRR × 12, PBOC 2021).

Everything is ``Decimal``. The borrower receives the amount financed minus any upfront fee at
month 0 and repays one payment at the end of each month; the APR is 12 × the monthly rate that
makes the present value of the repayments equal to what was received. The displayed APR is
rounded half-up to 4 places, except that a positive APR is never shown as 0 (it becomes 0.0001):
"免息/0利息" may be said only when the APR is exactly 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, Protocol

from bot.errors import InputError

CENT = Decimal("0.01")
APR_STEP = Decimal("0.0001")
_ZERO = Decimal(0)
_PRECISION = 50
_TOLERANCE = Decimal("1e-30")
_MAX_MONTHLY_RATE = Decimal(1000)
_MAX_STEPS = 400


def money(value: Decimal) -> Decimal:
    """Round an amount to cents, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class FeeTerms:
    """The buyer-paid fees of a plan for one period count."""

    periods: int
    monthly_fee_rate: Decimal = _ZERO
    """Fee per month as a share of the amount financed (flat, on the original principal)."""
    upfront_fee_rate: Decimal = _ZERO
    """Fee taken at the start as a share of the amount financed."""


@dataclass(frozen=True)
class ScheduleRow:
    """One monthly repayment."""

    period: int
    principal: Decimal
    fee: Decimal
    payment: Decimal
    remaining: Decimal
    """Principal still owed after this payment."""


@dataclass(frozen=True)
class Installment:
    """The computed terms of financing one amount over some months."""

    principal: Decimal
    """Amount financed."""
    periods: int
    upfront_fee: Decimal
    monthly_fee: Decimal
    monthly_payment: Decimal
    """The regular payment (the last one may differ by a few cents of rounding)."""
    schedule: tuple[ScheduleRow, ...]
    fees_total: Decimal
    apr_exact: Decimal
    """12 × monthly IRR, unrounded."""
    apr: Decimal
    """The APR as displayed: 4 places, never 0 unless exactly 0."""

    @property
    def amount_received(self) -> Decimal:
        """What the borrower effectively receives at month 0."""
        return self.principal - self.upfront_fee

    @property
    def repayments(self) -> tuple[Decimal, ...]:
        """The monthly payments, in order."""
        return tuple(row.payment for row in self.schedule)


class _HasApr(Protocol):
    @property
    def apr_exact(self) -> Decimal: ...

    @property
    def fees_total(self) -> Decimal: ...


def _check_terms(principal: Decimal, terms: FeeTerms) -> None:
    if terms.periods < 1:
        raise InputError("分期期数必须大于0", code="bad_periods")
    if principal < terms.periods:
        raise InputError("分期金额太小", code="amount_too_small")
    if terms.monthly_fee_rate < 0 or terms.upfront_fee_rate < 0:
        raise InputError("费率不能为负", code="bad_fee_rate")
    if terms.upfront_fee_rate >= 1:
        raise InputError("首付手续费率必须小于100%", code="bad_fee_rate")


def _principal_parts(principal: Decimal, periods: int) -> list[Decimal]:
    regular = money(principal / periods)
    return [regular] * (periods - 1) + [principal - regular * (periods - 1)]


def build_schedule(principal: Decimal, terms: FeeTerms) -> tuple[ScheduleRow, ...]:
    """Equal principal parts (rounding on the last) plus the flat monthly fee."""
    fee = money(principal * terms.monthly_fee_rate)
    rows: list[ScheduleRow] = []
    remaining = principal
    for period, part in enumerate(_principal_parts(principal, terms.periods), start=1):
        remaining -= part
        rows.append(ScheduleRow(period, part, fee, part + fee, remaining))
    return tuple(rows)


def build_installment(principal: Decimal, terms: FeeTerms) -> Installment:
    """Schedule, fees and APR for financing ``principal`` (already net of any down payment)."""
    principal = money(principal)
    _check_terms(principal, terms)
    schedule = build_schedule(principal, terms)
    upfront = money(principal * terms.upfront_fee_rate)
    payments = [row.payment for row in schedule]
    exact = apr_from_cash_flows(principal - upfront, payments)
    return Installment(
        principal=principal,
        periods=terms.periods,
        upfront_fee=upfront,
        monthly_fee=schedule[0].fee,
        monthly_payment=schedule[0].payment,
        schedule=schedule,
        fees_total=upfront + sum((row.fee for row in schedule), _ZERO),
        apr_exact=exact,
        apr=display_apr(exact),
    )


def present_value(rate: Decimal, payments: Sequence[Decimal]) -> Decimal:
    """Value at month 0 of payments at the end of months 1..n, discounted at a monthly ``rate``."""
    return _value_and_slope(rate, payments)[0]


def _value_and_slope(rate: Decimal, payments: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """Present value of the payments and its derivative with respect to the rate."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        factor = Decimal(1) / (1 + rate)
        discount, value, slope = Decimal(1), _ZERO, _ZERO
        for month, payment in enumerate(payments, start=1):
            discount *= factor
            value += payment * discount
            slope -= month * payment * discount * factor
        return value, slope


def _bracket(received: Decimal, payments: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """Rates ``low < high`` with PV(low) > received ≥ PV(high)."""
    low, high = _ZERO, Decimal("0.01")
    while present_value(high, payments) > received:
        low, high = high, high * 2
        if high > _MAX_MONTHLY_RATE:
            raise InputError("利率超出可计算范围", code="bad_cash_flows")
    return low, high


def monthly_irr(received: Decimal, payments: Sequence[Decimal]) -> Decimal:
    """Monthly r ≥ 0 with ``received`` = Σ payment_k / (1+r)^k (safeguarded Newton)."""
    if received <= 0 or not payments or any(p < 0 for p in payments):
        raise InputError("现金流无效", code="bad_cash_flows")
    owed = sum(payments, _ZERO)
    if owed < received:
        raise InputError("还款总额低于到手金额", code="bad_cash_flows")
    if owed == received:
        return _ZERO
    low, high = _bracket(received, payments)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        rate = (low + high) / 2
        for _ in range(_MAX_STEPS):
            value, slope = _value_and_slope(rate, payments)
            if value > received:
                low = rate
            else:
                high = rate
            newton = rate - (value - received) / slope
            following = newton if low < newton < high else (low + high) / 2
            if abs(following - rate) <= _TOLERANCE or high - low <= _TOLERANCE:
                return following
            rate = following
    raise InputError("利率计算未收敛", code="bad_cash_flows")


def apr_from_cash_flows(received: Decimal, payments: Sequence[Decimal]) -> Decimal:
    """Unrounded APR: monthly IRR × 12."""
    return monthly_irr(received, payments) * 12


def display_apr(apr_exact: Decimal) -> Decimal:
    """The APR to show: 4 places half up, but a positive APR never rounds to 0."""
    shown = apr_exact.quantize(APR_STEP, rounding=ROUND_HALF_UP)
    return APR_STEP if apr_exact > 0 and shown == 0 else shown


def apr_text(apr: Decimal) -> str:
    """Percent text of a displayed APR, e.g. ``Decimal("0.1303")`` → ``"13.03%"``."""
    return f"{(apr * 100).quantize(CENT, rounding=ROUND_HALF_UP)}%"


def is_interest_free(quote: _HasApr | Mapping[str, Any]) -> bool:
    """True only when the APR is exactly 0 and nothing is charged: the one case "免息/0利息" may be said.

    Takes an installment or quote, or audited terms / a card (``apr`` and ``fees_total`` strings).
    """
    if isinstance(quote, Mapping):
        apr = Decimal(str(quote["apr"]))
        fees = Decimal(str(quote.get("fees_total", "0")))
        return apr == 0 and fees == 0
    return quote.apr_exact == 0 and quote.fees_total == 0

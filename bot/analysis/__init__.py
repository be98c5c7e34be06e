"""Energy analysis: use and cost per period, label checks, upgrade payback, measured savings.

- ``usage``: household and device kWh and cost over a resolved ``Period`` (tiered tariff).
- ``upgrades``: pure arithmetic on ``Candidate`` products: saving, payback, saving vs installment.
- ``measured``: figures from a device's own readings: annual use, label check, saving vs baseline.
"""

from __future__ import annotations

from bot.analysis.measured import (
    AnnualUse,
    MeasuredSaving,
    UsageBasis,
    annual_price,
    annual_use,
    measured_saving,
    rating_check,
    saving_against_baseline,
)
from bot.analysis.upgrades import (
    Candidate,
    RatingComparison,
    SavingVsInstallment,
    UpgradeSaving,
    compare_with_rating,
    rank_upgrades,
    saving_vs_installment,
    upgrade_saving,
)
from bot.analysis.usage import (
    Context,
    DeviceUsage,
    HouseholdUsage,
    SeriesPoint,
    context,
    device_usage,
    household_usage,
)

__all__ = [
    "AnnualUse",
    "Candidate",
    "Context",
    "DeviceUsage",
    "HouseholdUsage",
    "MeasuredSaving",
    "RatingComparison",
    "SavingVsInstallment",
    "SeriesPoint",
    "UpgradeSaving",
    "UsageBasis",
    "annual_price",
    "annual_use",
    "compare_with_rating",
    "context",
    "device_usage",
    "household_usage",
    "measured_saving",
    "rank_upgrades",
    "rating_check",
    "saving_against_baseline",
    "saving_vs_installment",
    "upgrade_saving",
]

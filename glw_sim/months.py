"""Calendar months as scenarios write them (``YYYY-MM``): validation, parsing, arithmetic, activity windows."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import BaseModel, field_validator, model_validator

#: the plan's date: every run that reaches it reports its figures there too (besides the horizon)
PLAN_MILESTONE = "2030-06"


def check_month(v: Any) -> str:
    """A ``YYYY-MM`` string, or ``ValueError`` saying what was expected (for pydantic validators)."""
    v = str(v)
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", v):
        raise ValueError("expected a month as YYYY-MM, e.g. 2025-06")
    return v


def parse_month(text: str) -> date:
    y, m = str(text).split("-")[:2]
    return date(int(y), int(m), 1)


def add_months(d: date, k: int) -> date:
    t = d.year * 12 + d.month - 1 + k
    return date(t // 12, t % 12 + 1, 1)


def months_between(a: str, b: str) -> int:
    """Months from ``a`` to ``b`` (``YYYY-MM``; negative when ``b`` is earlier)."""
    da, db = parse_month(a), parse_month(b)
    return (db.year - da.year) * 12 + db.month - da.month


def is_active(now: date, start: str | None, end: str | None) -> bool:
    """Whether ``now`` lies in the window from ``start`` to ``end`` (either may be open: None)."""
    return (start is None or parse_month(start) <= now) and (end is None or now <= parse_month(end))


def milestone_dates(scenario: dict) -> list[str]:
    """The dates a run reports besides its horizon: the plan's (:data:`PLAN_MILESTONE`) when the run reaches it,
    and those the scenario lists, in order (a resolved scenario as a dict: the manifest's)."""
    start = (scenario.get("horizon") or {}).get("start", "2025-06")
    end = add_months(parse_month(start), int((scenario.get("horizon") or {}).get("months", 120))).isoformat()[:7]
    listed = [str(m) for m in scenario.get("milestones") or []]
    return sorted({m for m in [PLAN_MILESTONE, *listed] if start <= m <= end})


class Period(BaseModel):
    """Base for a pydantic model with ``start`` and optional ``end`` (``YYYY-MM``): both checked as months
    (:func:`check_month`), and ``end`` not before ``start``. List it before the model's other base."""

    @field_validator("start", "end", mode="before", check_fields=False)
    @classmethod
    def _months(cls, v: Any) -> str | None:
        return None if v is None else check_month(v)

    @model_validator(mode="after")
    def _order(self):
        end = getattr(self, "end", None)
        if end is not None and end < self.start:
            raise ValueError(f"end {end} is before start {self.start}")
        return self


"""Calendar months as scenarios write them (``YYYY-MM``): validation, parsing, arithmetic, activity windows."""

from __future__ import annotations

import re
from datetime import date
from typing import Any


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


def is_active(now: date, start: str | None, end: str | None) -> bool:
    """Whether ``now`` lies in the window from ``start`` to ``end`` (either may be open: None)."""
    return (start is None or parse_month(start) <= now) and (end is None or now <= parse_month(end))

"""The values of the report's tables: amounts in yuan (from integer fen, exact to the fen), times in the company's
own time zone, and the scopes a table's rows are given for (each community, then the company)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from propfee.reports.summary import CompanyDay


def yuan(fen: int) -> float:
    return fen / 100


def local_time(moment: datetime | str | None, tz: ZoneInfo) -> str | None:
    """A time as the company reads it: in its own time zone (the records keep UTC or any offset)."""
    if moment is None:
        return None
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return at.astimezone(tz).isoformat()


DEFAULT_TZ = ZoneInfo(CompanyDay().timezone)


def report_timezone(summary: dict[str, object]) -> ZoneInfo:
    return ZoneInfo(str(summary.get("timezone") or DEFAULT_TZ.key))


_TOTAL = ("", "合计 / Total")  # the company rows of a table, after the communities'


def scopes(summary: dict[str, object]) -> list[tuple[tuple[str, str], dict[str, Any]]]:
    """(community id, name) and figures of each community, then of the company."""
    scopes = [((c["community_id"], c["name"]), c) for c in summary["communities"]]  # type: ignore[attr-defined]
    return [*scopes, (_TOTAL, summary["totals"])]  # type: ignore[list-item]

"""The day's staff actions as tables (summary "staff_actions", schema 7), for every format to render: what each
collector recorded, and what each department's staff did with tickets. A summary before schema 7 has neither:
its tables are empty."""

from __future__ import annotations

from typing import Any

from propfee.reports.formats import Column, ReportTable
from propfee.reports.formats.words import code_words
from propfee.reports.history import TASK_OUTCOMES
from propfee.reports.staff_day import TICKET_FIGURES, UNKNOWN

_ZH, _EN = code_words("zh-CN"), code_words("en")
_OUTCOMES = (*TASK_OUTCOMES, UNKNOWN)

COLLECTOR_ACTION_COLUMNS = (
    Column("collector_id", "催缴员编号", "Collector ID"),
    Column("collector", "催缴员", "Collector"),
    Column("recorded_by", "记录人", "Recorded by"),
    Column("where", "记录途径", "Recorded in", "code"),
    Column("recorded", "记录结果数", "Outcomes recorded", "int"),
    *(Column(f"outcome_{o}", f"结果：{_ZH[o]}", f"Outcome: {_EN[o]}", "int") for o in _OUTCOMES),
    Column("notes", "备注数", "Notes", "int"),
)

TICKET_ACTION_COLUMNS = (
    Column("department", "部门", "Department", "code"),
    Column("staff", "处理人", "Staff"),
    Column("where", "记录途径", "Recorded in", "code"),
    Column("claimed", "认领", "Claimed", "int"),
    Column("reassigned", "转派", "Reassigned", "int"),
    Column("replied_sent", "回复已发送", "Replies sent", "int"),
    Column("replied_queued", "回复待发送", "Replies queued", "int"),
    Column("replied_not_sent", "回复未发出", "Replies not sent", "int"),
    Column("resolved", "办结", "Resolved", "int"),
    Column("total", "操作合计", "Actions", "int"),
)


def _section(summary: dict[str, object]) -> dict[str, Any]:
    return dict(summary["totals"].get("staff_actions") or {})  # type: ignore[attr-defined]


def staff_action_tables(summary: dict[str, object]) -> list[ReportTable]:
    section = _section(summary)
    collectors = tuple(
        (
            row["collector_id"],
            row["collector"],
            row["recorded_by"],
            row["where"],
            row["recorded"],
            *(row["outcomes"].get(o, 0) for o in _OUTCOMES),
            row["notes"],
        )
        for row in section.get("collectors", ())
    )
    tickets = tuple(
        (row["department"], row["staff"], row["where"], *(row[f] for f in TICKET_FIGURES), row["total"])
        for row in section.get("tickets", ())
    )
    return [
        ReportTable("collector_actions", "催缴员记录", "Recorded outcomes", COLLECTOR_ACTION_COLUMNS, collectors),
        ReportTable("ticket_actions", "工单处理记录", "Ticket actions by staff", TICKET_ACTION_COLUMNS, tickets),
    ]

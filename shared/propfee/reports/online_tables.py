"""The report's online payments as tables (summary "online_payments", schema 6), for every format to render."""

from __future__ import annotations

from typing import Any

from propfee.reports.formats import Cell, Column, ReportTable
from propfee.reports.online import NO_REMINDER, ORDER_FIGURES, PROVIDERS
from propfee.reports.table_values import scopes
from propfee.reports.table_values import yuan as _yuan


def _scopes(summary: dict[str, object]) -> list[tuple[tuple[str, str], dict[str, Any]]]:
    """Each community's online payments, then the company's."""
    return [(scope, figures["online_payments"]) for scope, figures in scopes(summary)]


SOURCE_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("community", "小区", "Community"),
    Column("span", "统计区间", "Span", "code"),
    Column("source", "来源", "Source", "code"),
    Column("payments", "笔数", "Payments", "int"),
    Column("amount_yuan", "金额（元）", "Amount (yuan)", "yuan"),
    Column("amount_fen", "金额（分）", "Amount (fen)", "int"),
    Column("reconciled", "其中对账补记", "Of them applied from the bill", "int"),
    Column("online_share", "线上笔数占比", "Online share (payments)", "percent"),
    Column("days_missing", "缺少天数", "Days missing", "int"),
)


def sources_table(summary: dict[str, object]) -> ReportTable:
    """Per scope, the day and the month to date: each provider (online), then imported."""
    rows: list[tuple[Cell, ...]] = []
    for scope, figures in _scopes(summary):
        for span in ("day", "month_to_date"):
            f = figures[span]
            missing = f.get("days_missing")
            for provider in PROVIDERS:
                p = f["providers"][provider]
                rows.append(
                    (*scope, span, provider, p["count"], _yuan(p["amount_fen"]), p["amount_fen"], p["reconciled"],
                     None, None)
                )  # fmt: skip
            imported = f["imported"]
            rows.append(
                (*scope, span, "import", imported["count"], _yuan(imported["amount_fen"]), imported["amount_fen"],
                 None, f["online_share"], missing)
            )  # fmt: skip
    return ReportTable("online_payments", "线上缴费与导入", "Online and imported payments", SOURCE_COLUMNS, tuple(rows))


HOURS_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("community", "小区", "Community"),
    Column("step", "催缴步骤", "Step", "code"),
    Column("channel", "渠道", "Channel", "code"),
    Column("payments", "缴费笔数", "Payments", "int"),
    Column("online", "其中线上", "Of them online", "int"),
    Column("median_hours", "中位小时数", "Median hours"),
    Column("p90_hours", "90分位小时数", "90th percentile hours"),
)


def reminder_hours_table(summary: dict[str, object]) -> ReportTable:
    """From the unit's latest reminder to its payment, per step and channel; the payments with no reminder
    before them in the week last."""
    rows: list[tuple[Cell, ...]] = []
    for scope, figures in _scopes(summary):
        hours = figures["reminder_to_payment"]
        for s in hours["steps"]:
            rows.append(
                (*scope, s["step"], s["channel"], s["payments"], s["online"], s["median_hours"], s["p90_hours"])
            )
        rows.append((*scope, NO_REMINDER, None, hours["without_reminder"], None, None, None))
    return ReportTable(
        "reminder_to_payment", "催缴到缴费的时长", "Hours from reminder to payment", HOURS_COLUMNS, tuple(rows)
    )


OPENED_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("community", "小区", "Community"),
    Column("channel", "渠道", "Channel", "code"),
    Column("reminders_today", "今日带链接催缴", "Reminders with a link today", "int"),
    Column("opened_today", "当日打开", "Opened that day", "int"),
    Column("today_rate", "当日打开率", "Opened that day (share)", "percent"),
    Column("cohort_day", "7天前", "Cohort day", "date"),
    Column("cohort_reminders", "7天前带链接催缴", "Reminders with a link 7 days ago", "int"),
    Column("cohort_opened", "7天内打开", "Opened within 7 days", "int"),
    Column("cohort_rate", "7天打开率", "Opened within 7 days (share)", "percent"),
)


def links_opened_table(summary: dict[str, object]) -> ReportTable:
    names = ("reminders_today", "opened_today", "today_rate")
    rows = [
        (
            *scope,
            c["channel"],
            *(c[n] for n in names),
            figures["link_opened"]["cohort_day"],
            c["cohort_reminders"],
            c["cohort_opened"],
            c["cohort_rate"],
        )
        for scope, figures in _scopes(summary)
        for c in figures["link_opened"]["channels"]
    ]
    return ReportTable("links_opened", "账单链接打开率", "Bill links opened", OPENED_COLUMNS, tuple(rows))


ORDER_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("community", "小区", "Community"),
    Column("provider", "支付渠道", "Provider", "code"),
    Column("started", "发起订单", "Orders started", "int"),
    Column("paid", "已支付", "Paid", "int"),
    Column("held", "财务待核", "Held for finance", "int"),
    Column("paid_otherwise", "以其他方式缴费", "Paid another way", "int"),
    Column("abandoned", "未支付（放弃）", "Abandoned", "int"),
    Column("abandoned_yuan", "放弃金额（元）", "Abandoned (yuan)", "yuan"),
    Column("pending", "未到时限", "Not yet due", "int"),
)


def abandoned_orders_table(summary: dict[str, object]) -> ReportTable:
    rows = [
        (
            *scope,
            p["provider"],
            *(p[n] for n in ORDER_FIGURES if n not in ("abandoned_fen", "pending")),
            _yuan(p["abandoned_fen"]),
            p["pending"],
        )
        for scope, figures in _scopes(summary)
        for p in figures["abandoned_orders"]["providers"]
    ]
    return ReportTable("abandoned_orders", "未完成支付订单", "Orders started, not paid", ORDER_COLUMNS, tuple(rows))


def online_tables(summary: dict[str, object]) -> list[ReportTable]:
    return [
        sources_table(summary),
        reminder_hours_table(summary),
        links_opened_table(summary),
        abandoned_orders_table(summary),
    ]

"""The report's tables of what it keeps from one day to the next (propfee.reports.history): the 30-day trend,
reminder effectiveness, the collectors' work and progress against phased targets."""

from __future__ import annotations

from datetime import date, timedelta

from propfee.reports.formats import Cell, Column, ReportTable
from propfee.reports.formats.words import code_words
from propfee.reports.history import TASK_OUTCOMES
from propfee.reports.table_values import scopes, yuan

# the page shows the trend's last days; the workbook and the CSV every day
PAGE_TREND_DAYS = 14


TREND_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("community", "小区", "Community"),
    Column("date", "日期", "Date", "date"),
    Column("payments", "收款笔数", "Payments", "int"),
    Column("collected_yuan", "收款（元）", "Collected (yuan)", "yuan"),
    Column("period", "当期", "Period"),
    Column("collection_rate", "当期收缴率", "Collection rate", "percent"),
    Column("back_arrears_rate", "清欠率", "Back arrears rate", "percent"),
)


def trend_table(summary: dict[str, object]) -> ReportTable:
    rows = [
        (
            *scope,
            row["date"],
            row["payments"],
            yuan(row["collected_fen"]),
            row.get("period"),
            row["collection_rate"],
            row["back_arrears_rate"],
        )
        for scope, figures in scopes(summary)
        for row in figures["trend"]
    ]
    since = (date.fromisoformat(str(summary["date"])) - timedelta(days=PAGE_TREND_DAYS - 1)).isoformat()
    recent = tuple(row for row in rows if str(row[2]) >= since)
    return ReportTable(
        "trend", "近30天趋势", "30-day trend", TREND_COLUMNS, tuple(rows), recent if recent != tuple(rows) else None
    )


EFFECT_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("community", "小区", "Community"),
    Column("step", "催缴步骤", "Step", "code"),
    Column("cohort_reminded", "7天前触达户数", "Units reached 7 days ago", "int"),
    Column("cohort_paid", "其中7天内缴费", "Of them paid within 7 days", "int"),
    Column("cohort_rate", "7天缴费率", "Paid within 7 days", "percent"),
    Column("reminded_30d", "30天触达户数", "Units reached (30 days)", "int"),
    Column("paid_30d", "30天内7天缴费户数", "Paid within 7 days (30 days)", "int"),
    Column("rate_30d", "30天7天缴费率", "Paid within 7 days (30-day rate)", "percent"),
)


def effectiveness_table(summary: dict[str, object]) -> ReportTable:
    names = ("cohort_reminded", "cohort_paid", "cohort_rate", "reminded_30d", "paid_30d", "rate_30d")
    rows = [
        (*scope, row["step"], *(row[n] for n in names))
        for scope, figures in scopes(summary)
        for row in figures["reminder_effectiveness"]
    ]
    return ReportTable("reminder_effectiveness", "催缴效果", "Reminder effectiveness", EFFECT_COLUMNS, tuple(rows))


_ZH, _EN = code_words("zh-CN"), code_words("en")
COLLECTOR_COLUMNS = (
    Column("collector_id", "催缴员编号", "Collector ID"),
    Column("name", "姓名", "Name"),
    Column("role", "岗位", "Role", "code"),
    Column("open", "未完成任务", "Open tasks", "int"),
    Column("open_overdue", "超时未完成", "Open past deadline", "int"),
    Column("done_today", "今日完成", "Done today", "int"),
    *(Column(f"done_{o}", f"结果：{_ZH[o]}", f"Outcome: {_EN[o]}", "int") for o in TASK_OUTCOMES),
    Column("promised_yuan", "承诺缴费金额（元）", "Promised (yuan)", "yuan"),
)


def collectors_table(summary: dict[str, object]) -> ReportTable:
    rows = [
        (
            c["collector_id"],
            c["name"],
            c["role"],
            c["open"],
            c["open_overdue"],
            sum(c["done"].values()),
            *(c["done"].get(o, 0) for o in TASK_OUTCOMES),
            yuan(c["promised_fen"]),
        )
        for c in summary["totals"]["collectors"]  # type: ignore[index]
    ]
    return ReportTable("collectors", "催缴人员", "Collectors", COLLECTOR_COLUMNS, tuple(rows))


TARGET_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("phase", "阶段", "Phase"),
    Column("end", "截止日", "Ends", "date"),
    Column("days_left", "剩余天数", "Days left", "int"),
    Column("measure", "指标", "Measure", "code"),
    Column("collector_id", "催缴员", "Collector"),
    Column("target", "目标", "Target"),  # a rate (fraction), yuan or a count, as the measure says
    Column("actual", "完成", "Actual"),
    Column("progress", "完成率", "Progress", "percent"),
)


def _progress(target: float | None, actual: float | None) -> float | None:
    if target is None or actual is None or target <= 0:
        return None
    return round(actual / target, 4)


def targets_table(summary: dict[str, object]) -> ReportTable:
    rows: list[tuple[Cell, ...]] = []
    for c in summary["communities"]:  # type: ignore[attr-defined]
        t = c["targets"]
        if t is None:
            continue
        head = (c["community_id"], t["phase"], t["end"], t["days_left"])
        rate_target, rate_actual = t["collection_rate"]["target"], t["collection_rate"]["actual"]
        rows.append((*head, "collection_rate", None, rate_target, rate_actual, _progress(rate_target, rate_actual)))
        back = t["back_arrears_collected_fen"]
        back_target = yuan(back["target"]) if back["target"] is not None else None
        rows.append(
            (*head, "back_arrears_collected_yuan", None, back_target, yuan(back["actual"]), _progress(*back.values()))
        )
        for collector_id, measures in t["collectors"].items():
            for measure, figures in measures.items():
                target, actual = figures["target"], figures["actual"]
                rows.append((*head, measure, collector_id, target, actual, _progress(target, actual)))
    return ReportTable("targets", "阶段性指标", "Phased targets", TARGET_COLUMNS, tuple(rows))

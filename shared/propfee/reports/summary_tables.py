"""The report's tables, built once from the summary and the day's records, for every format to render: the day's
figures here, what the report keeps from day to day in propfee.reports.history_tables."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from propfee.reports.formats import Cell, Column, ReportTable
from propfee.reports.history_tables import collectors_table, effectiveness_table, targets_table, trend_table
from propfee.reports.online_tables import online_tables
from propfee.reports.sections import TICKET_FIGURES
from propfee.reports.staff_day_tables import staff_action_tables
from propfee.reports.summary import CommunityDay
from propfee.reports.table_values import DEFAULT_TZ, local_time, report_timezone, scopes, yuan

# report_formats renders each table as CSV, as a sheet of the workbook and as a table of the HTML page.
# Amounts are in yuan (from integer fen, exact to the fen), rates are fractions.


COMMUNITY_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("community", "小区", "Community"),
    Column("payments_today", "今日收款笔数", "Payments today", "int"),
    Column("collected_today_yuan", "今日收款（元）", "Collected today (yuan)", "yuan"),
    Column("period", "本期", "Period"),
    Column("billed_yuan", "本期应收（元）", "Billed (yuan)", "yuan"),
    Column("paid_yuan", "本期实收（元）", "Paid (yuan)", "yuan"),
    Column("collection_rate", "本期收缴率", "Collection rate", "percent"),
    Column("back_arrears_outstanding_yuan", "往期欠费（元）", "Back arrears outstanding (yuan)", "yuan"),
    Column("outstanding_yuan", "欠费合计（元）", "Outstanding (yuan)", "yuan"),
    Column("sms_sent", "短信已发", "SMS sent", "int"),
    Column("email_sent", "邮件已发", "Emails sent", "int"),
    Column("reminders_skipped", "跳过催缴", "Reminders skipped", "int"),
)


def communities_table(summary: dict[str, object]) -> ReportTable:
    rows = []
    for c in summary["communities"]:  # type: ignore[attr-defined]
        sent = c["reminders"]["sent"]
        rows.append(
            (
                c["community_id"],
                c["name"],
                c["collections"]["count"],
                yuan(c["collections"]["amount_fen"]),
                c["current_period"]["period"],
                yuan(c["current_period"]["billed_fen"]),
                yuan(c["current_period"]["paid_fen"]),
                c["current_period"]["collection_rate"],
                yuan(c["back_arrears"]["outstanding_fen"]),
                yuan(c["outstanding_fen"]),
                sent.get("sms", 0),
                sent.get("email", 0),
                sum(c["reminders"]["skipped"].values()),
            )
        )
    return ReportTable("communities", "小区汇总", "Communities", COMMUNITY_COLUMNS, tuple(rows))


COLLECTION_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("unit_id", "房号", "Unit"),
    Column("paid_at", "付款时间", "Paid at", "datetime"),
    Column("amount_yuan", "金额（元）", "Amount (yuan)", "yuan"),
    Column("amount_fen", "金额（分）", "Amount (fen)", "int"),
    Column("method", "付款方式", "Method", "code"),
    Column("reference", "付款流水号", "Reference"),
)


def collections_table(entries: list[CommunityDay], tz: ZoneInfo = DEFAULT_TZ) -> ReportTable:
    rows = [
        (
            entry.community.community_id,
            p.unit_id,
            local_time(p.paid_at, tz),
            yuan(p.amount_fen),
            p.amount_fen,
            p.method,
            p.reference,
        )
        for entry in entries
        for p in sorted(entry.activity.payments, key=lambda p: (p.paid_at, p.reference))
    ]
    return ReportTable("collections", "今日收款", "Collections", COLLECTION_COLUMNS, tuple(rows))


REMINDER_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("unit_id", "房号", "Unit"),
    Column("at", "时间", "At", "datetime"),
    Column("step", "催缴步骤", "Step", "code"),
    Column("channel", "渠道", "Channel", "code"),
    Column("status", "状态", "Status", "code"),
    Column("balance_yuan", "欠费（元）", "Balance (yuan)", "yuan"),
    Column("skip_reason", "跳过原因", "Skip reason", "code"),
)


def reminders_table(entries: list[CommunityDay], tz: ZoneInfo = DEFAULT_TZ) -> ReportTable:
    rows: list[tuple[Cell, ...]] = []
    for entry in entries:
        community_id = entry.community.community_id
        for r in sorted(entry.activity.reminders, key=lambda r: (r.claimed_at, r.unit_id, r.step)):
            rows.append(
                (
                    community_id,
                    r.unit_id,
                    local_time(r.claimed_at, tz),
                    r.step,
                    r.channel.value,
                    r.status.value,
                    yuan(r.balance_fen),
                    None,
                )
            )
        for s in sorted(entry.activity.skips, key=lambda s: (s.at, s.unit_id, s.step)):
            rows.append((community_id, s.unit_id, local_time(s.at, tz), s.step, None, "skipped", None, s.reason))
    return ReportTable("reminders", "今日催缴", "Reminders", REMINDER_COLUMNS, tuple(rows))


AGING_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("community", "小区", "Community"),
    Column("bucket", "账龄", "Days overdue", "code"),
    Column("units", "户数", "Units", "int"),
    Column("overdue_yuan", "欠费（元）", "Overdue (yuan)", "yuan"),
    Column("overdue_fen", "欠费（分）", "Overdue (fen)", "int"),
)


def aging_table(summary: dict[str, object]) -> ReportTable:
    rows = [
        (*scope, b["bucket"], b["units"], yuan(b["overdue_fen"]), b["overdue_fen"])
        for scope, figures in scopes(summary)
        for b in figures["arrears_aging"]["buckets"]
    ]
    return ReportTable("arrears_aging", "欠费账龄", "Arrears aging", AGING_COLUMNS, tuple(rows))


DEBTOR_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("rank", "排名", "Rank", "int"),
    Column("unit_id", "房屋编号", "Unit ID"),
    Column("unit", "房号", "Unit"),
    Column("overdue_yuan", "逾期欠费（元）", "Overdue (yuan)", "yuan"),
    Column("overdue_fen", "逾期欠费（分）", "Overdue (fen)", "int"),
    Column("oldest_due", "最早应缴日", "Oldest due date", "date"),
    Column("days_overdue", "逾期天数", "Days overdue", "int"),
    Column("hold", "暂停催缴", "Hold in force", "code"),
    Column("key_customer", "关键客户", "Key customer", "code"),
)


def top_debtors_table(summary: dict[str, object]) -> ReportTable:
    rows = [
        (
            d["community_id"],
            rank,
            d["unit_id"],
            d["unit"],
            yuan(d["overdue_fen"]),
            d["overdue_fen"],
            d["oldest_due"],
            d["days_overdue"],
            d["hold"],
            "yes" if d["key_customer"] else "no",
        )
        for c in summary["communities"]  # type: ignore[attr-defined]
        for rank, d in enumerate(c["top_debtors"], start=1)
    ]
    return ReportTable("top_debtors", "重点欠费户", "Top debtors", DEBTOR_COLUMNS, tuple(rows))


REPLY_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("community", "小区", "Community"),
    Column("intent", "业主回复类型", "Reply intent", "code"),
    Column("messages", "条数", "Messages", "int"),
)


def replies_table(summary: dict[str, object]) -> ReportTable:
    rows = [
        (*scope, intent, count) for scope, figures in scopes(summary) for intent, count in figures["replies"].items()
    ]
    return ReportTable("replies", "今日业主回复", "Owners' replies", REPLY_COLUMNS, tuple(rows))


TICKET_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("community", "小区", "Community"),
    Column("department", "部门", "Department", "code"),
    Column("new_today", "今日新增", "New today", "int"),
    Column("open", "未办结", "Open", "int"),
    Column("overdue", "已超时", "Overdue", "int"),
    Column("resolved_today", "今日办结", "Resolved today", "int"),
)


def tickets_table(summary: dict[str, object]) -> ReportTable:
    rows = [
        (*scope, department, *(counts[name] for name in TICKET_FIGURES))
        for scope, figures in scopes(summary)
        for department, counts in figures["tickets"].items()
    ]
    return ReportTable("tickets", "工单（按部门）", "Tickets by department", TICKET_COLUMNS, tuple(rows))


ISSUE_COLUMNS = (
    Column("ticket_id", "工单号", "Ticket"),
    Column("department", "部门", "Department", "code"),
    Column("intent", "类型", "Intent", "code"),
    Column("category", "类别", "Category", "code"),
    Column("community_id", "小区编号", "Community ID"),
    Column("created_at", "创建时间", "Created", "datetime"),
    Column("due_by", "办结期限", "Due", "datetime"),
    Column("escalated_at", "升级时间", "Escalated", "datetime"),
    Column("unit_ids", "房屋", "Units"),
    Column("reason", "原因", "Reason", "code"),
)


def leftover_issues_table(summary: dict[str, object]) -> ReportTable:
    tz = report_timezone(summary)
    rows = [
        (
            i["ticket_id"],
            i["department"],
            i["intent"],
            i["category"],
            i["community_id"],
            local_time(i["created_at"], tz),
            local_time(i["due_by"], tz),
            local_time(i["escalated_at"], tz),
            " ".join(i["unit_ids"]),
            " ".join(reason for reason in ("overdue", "dispute") if i[reason]),
        )
        for i in summary["totals"]["leftover_issues"]  # type: ignore[index]
    ]
    return ReportTable("leftover_issues", "遗留问题", "Leftover issues", ISSUE_COLUMNS, tuple(rows))


DEAD_LETTER_COLUMNS = (
    Column("queue", "死信队列", "Dead-letter queue", "code"),
    Column("messages", "积压消息数", "Messages waiting", "int"),
)


def dead_letters_table(summary: dict[str, object]) -> ReportTable:
    rows = tuple(summary["totals"]["dead_letters"].items())  # type: ignore[index]
    return ReportTable("dead_letters", "死信队列", "Dead-letter queues", DEAD_LETTER_COLUMNS, rows)


RECONCILIATION_COLUMNS = (
    Column("provider", "支付渠道", "Provider"),
    Column("bill_day", "账单日期", "Bill day", "date"),
    Column("rows", "账单笔数", "Bill rows", "int"),
    Column("payments_yuan", "支付金额（元）", "Paid (yuan)", "yuan"),
    Column("refunds_yuan", "退款金额（元）", "Refunded (yuan)", "yuan"),
    Column("matched", "已对平", "Matched", "int"),
    Column("reconciled", "补记入账（未收到通知）", "Applied from the bill (no notification)", "int"),
    Column("reconciled_yuan", "补记金额（元）", "Applied from the bill (yuan)", "yuan"),
    Column("unknown", "无此订单", "Unknown", "int"),
    Column("mismatched", "不一致", "Mismatched", "int"),
    Column("ticket_id", "财务工单", "Finance ticket"),
)
FINDING_COLUMNS = (
    Column("provider", "支付渠道", "Provider"),
    Column("bill_day", "账单日期", "Bill day", "date"),
    Column("discrepancy", "差异", "Discrepancy"),
    Column("kind", "类型", "Kind"),
    Column("transaction_id", "交易号", "Transaction"),
    Column("out_trade_no", "商户订单号", "Order"),
    Column("amount_yuan", "金额（元）", "Amount (yuan)", "yuan"),
    Column("at", "时间", "At", "datetime"),
    Column("detail", "说明", "Detail"),
)


def reconciliation_tables(summary: dict[str, object]) -> list[ReportTable]:
    """The day's reconciliation of each provider's bill, and what it listed for finance."""
    tz = report_timezone(summary)
    records = summary["totals"]["reconciliation"]  # type: ignore[index]
    rows = tuple(
        (
            r["provider"],
            r["bill_day"],
            r["rows"],
            yuan(r["payments_fen"]),
            yuan(r["refunds_fen"]),
            r["matched"],
            r["reconciled"],
            yuan(r["reconciled_fen"]),
            r["unknown"],
            r["mismatched"],
            r["ticket_id"],
        )
        for r in records
    )
    findings = tuple(
        (
            r["provider"],
            r["bill_day"],
            f["discrepancy"],
            f["kind"],
            f["transaction_id"],
            f["out_trade_no"],
            yuan(f["amount_fen"]),
            local_time(f["at"], tz),
            f["detail"],
        )
        for r in records
        for f in r["findings"]
    )
    return [
        ReportTable("reconciliation", "支付对账", "Payment reconciliation", RECONCILIATION_COLUMNS, rows),
        ReportTable("reconciliation_findings", "对账差异", "Reconciliation findings", FINDING_COLUMNS, findings),
    ]


def report_tables(summary: dict[str, object], entries: list[CommunityDay]) -> list[ReportTable]:
    return [
        communities_table(summary),
        collections_table(entries, report_timezone(summary)),
        reminders_table(entries, report_timezone(summary)),
        aging_table(summary),
        top_debtors_table(summary),
        replies_table(summary),
        tickets_table(summary),
        leftover_issues_table(summary),
        dead_letters_table(summary),
        trend_table(summary),
        effectiveness_table(summary),
        collectors_table(summary),
        *staff_action_tables(summary),
        targets_table(summary),
        *reconciliation_tables(summary),
        *online_tables(summary),
    ]

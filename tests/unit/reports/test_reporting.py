"""The daily summary and its CSV files: right figures, totals that add up, safe to open in Excel, reproducible."""

import csv
import io
import json
import random
import zipfile
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from propfee.domain.activity import DayActivity
from propfee.domain.cells import safe_cell
from propfee.domain.day_snapshot import DaySnapshot
from propfee.domain.models import Collector, Community, PeriodTotal, Task, Ticket, Unit
from propfee.reports.formats import csv_bytes
from propfee.reports.publishing import community_report_files, publish_daily_report, report_files
from propfee.reports.summary import CommunityDay, build_summary
from propfee.reports.summary_tables import (
    aging_table,
    collections_table,
    communities_table,
    dead_letters_table,
    leftover_issues_table,
    reminders_table,
    replies_table,
    tickets_table,
    top_debtors_table,
)
from tests.support import REPORT_FILE_NAMES
from tests.support.builders import SHANGHAI
from tests.support.report_day import (
    BOM,
    DAY,
    GENERATED_AT,
    HOSTILE,
    REPLY_INTENTS,
    Ledger,
    company,
    debtors,
    entries,
    payment,
)


@pytest.fixture
def summary():
    return build_summary(DAY, GENERATED_AT, entries())


# ---------------------------------------------------------------- the summary


def test_summary_header(summary):
    assert summary["schema_version"] == 7
    assert summary["timezone"] == "Asia/Shanghai"
    assert summary["date"] == "2025-03-05"
    assert summary["generated_at"] == GENERATED_AT.isoformat()
    assert [c["community_id"] for c in summary["communities"]] == ["C01", "C02"]


def test_community_figures(summary):
    sunshine, garden = summary["communities"]

    assert sunshine["name"] == "阳光花园"
    assert sunshine["collections"] == {"count": 3, "amount_fen": 60_000}
    assert sunshine["current_period"] == {
        "period": "2025-03",
        "billed_fen": 100_000,
        "paid_fen": 60_000,
        "collection_rate": 0.6,
    }
    assert sunshine["back_arrears"] == {
        "billed_fen": 150_000,
        "paid_fen": 140_000,
        "outstanding_fen": 10_000,
        "collection_rate": 0.9333,
    }
    assert sunshine["outstanding_fen"] == 50_000
    assert sunshine["reminders"] == {
        "sent": {"email": 1, "sms": 2},
        "failed": {"sms": 1},
        "unconfirmed": {"sms": 1},
        "assigned": {"call": 1},
        "skipped": {"frequency_cap": 2, "key_customer": 1},
    }

    assert garden["collections"] == {"count": 0, "amount_fen": 0}
    assert garden["current_period"]["collection_rate"] == 0.0
    assert garden["back_arrears"] == {"billed_fen": 0, "paid_fen": 0, "outstanding_fen": 0, "collection_rate": None}
    assert garden["outstanding_fen"] == 50_000
    assert garden["reminders"] == {
        "sent": {},
        "failed": {"email": 1},
        "unconfirmed": {},
        "assigned": {},
        "skipped": {"frequency_cap": 1},
    }


def test_totals(summary):
    totals = summary["totals"]

    assert totals["collections"] == {"count": 3, "amount_fen": 60_000}
    assert totals["current_period"] == {"billed_fen": 150_000, "paid_fen": 60_000, "collection_rate": 0.4}
    assert totals["back_arrears"] == {
        "billed_fen": 150_000,
        "paid_fen": 140_000,
        "outstanding_fen": 10_000,
        "collection_rate": 0.9333,
    }
    assert totals["outstanding_fen"] == 100_000
    assert totals["reminders"] == {
        "sent": {"email": 1, "sms": 2},
        "failed": {"email": 1, "sms": 1},
        "unconfirmed": {"sms": 1},
        "assigned": {"call": 1},
        "skipped": {"frequency_cap": 3, "key_customer": 1},
    }


def test_totals_are_the_sum_of_the_communities(summary):
    totals, communities = summary["totals"], summary["communities"]

    for section, field in [
        ("collections", "count"),
        ("collections", "amount_fen"),
        ("current_period", "billed_fen"),
        ("current_period", "paid_fen"),
        ("back_arrears", "billed_fen"),
        ("back_arrears", "paid_fen"),
        ("back_arrears", "outstanding_fen"),
    ]:
        assert totals[section][field] == sum(c[section][field] for c in communities), (section, field)
    assert totals["outstanding_fen"] == sum(c["outstanding_fen"] for c in communities)
    for kind in ("sent", "failed", "unconfirmed", "assigned", "skipped"):
        keys = {k for c in communities for k in c["reminders"][kind]}
        assert totals["reminders"][kind] == {k: sum(c["reminders"][kind].get(k, 0) for c in communities) for k in keys}


def test_an_empty_day_has_zero_figures_and_no_rates():
    quiet = CommunityDay(Community(community_id="C09", name="新区"), DayActivity(), [])

    figures = build_summary(DAY, GENERATED_AT, [quiet])

    assert figures["totals"]["collections"] == {"count": 0, "amount_fen": 0}
    assert figures["totals"]["current_period"]["collection_rate"] is None
    assert figures["totals"]["back_arrears"]["collection_rate"] is None
    assert figures["totals"]["outstanding_fen"] == 0


def test_the_current_period_follows_the_report_day():
    figures = build_summary(date(2025, 2, 28), GENERATED_AT, entries())

    sunshine = figures["communities"][0]
    assert sunshine["current_period"]["period"] == "2025-02"
    assert sunshine["current_period"]["billed_fen"] == 100_000
    assert sunshine["back_arrears"]["billed_fen"] == 50_000


# ---------------------------------------------------------------- CSV files


# ---------------------------------------------------------------- arrears aging and top debtors (recounted)


def _outstanding(d: Ledger) -> list[tuple[date, int]]:
    """Each bill's due date and what is still owed of it, from the raw bill and the payments' allocations."""
    return [(b.due, b.amount_fen - sum(a.get(b.period, 0) for a in d.allocations)) for b in d.bills]


def _age_name(days: int) -> str:
    if days <= 30:
        return "1-30"
    if days <= 90:
        return "31-90"
    if days <= 180:
        return "91-180"
    if days <= 365:
        return "181-365"
    return "over_365"


def recount_aging(ledgers: list[Ledger]) -> dict[str, tuple[int, int]]:
    """bucket -> (units, overdue fen), straight from the raw records."""
    units: Counter[str] = Counter()
    fen: Counter[str] = Counter()
    for d in ledgers:
        overdue = [((DAY - due).days, owed) for due, owed in _outstanding(d) if owed > 0 and due < DAY]
        if overdue:
            units[_age_name(max(days for days, _ in overdue))] += 1
            for days, owed in overdue:
                fen[_age_name(days)] += owed
    return {name: (units[name], fen[name]) for name in ("1-30", "31-90", "91-180", "181-365", "over_365")}


def recount_top(ledgers: list[Ledger], community_id: str) -> list[tuple[str, int, str, int]]:
    rows = []
    for d in ledgers:
        overdue = [(due, owed) for due, owed in _outstanding(d) if owed > 0 and due < DAY]
        if overdue:
            oldest = min(due for due, _ in overdue)
            rows.append((d.unit.unit_id, sum(owed for _, owed in overdue), oldest.isoformat(), (DAY - oldest).days))
    return sorted(rows, key=lambda r: (-r[1], community_id, r[0]))[:10]


def _aging(figures: dict) -> dict[str, tuple[int, int]]:
    return {b["bucket"]: (b["units"], b["overdue_fen"]) for b in figures["arrears_aging"]["buckets"]}


def test_arrears_aging_equals_a_recount_from_bills_and_payments(summary):
    sunshine, garden = summary["communities"]
    raw_garden = [debtors("C02")[8], debtors("C02")[9]]

    assert _aging(sunshine) == recount_aging(debtors("C01"))
    assert _aging(garden) == recount_aging(raw_garden)
    assert _aging(summary["totals"]) == recount_aging(debtors("C01") + raw_garden)
    total = summary["totals"]["arrears_aging"]
    assert total["units"] == sum(u for u, _ in _aging(summary["totals"]).values())
    assert total["overdue_fen"] == sum(f for _, f in _aging(summary["totals"]).values())
    assert total["as_of"] == "2025-03-05"


def test_arrears_aging_by_hand():
    aging = _aging(build_summary(DAY, GENERATED_AT, entries())["communities"][0])

    # 30 | 31, 90 | 91, 180 | 181, 365 | 366 days; the unit with bills 120 and 10 days overdue is counted once,
    # at 120 days (91-180), its money split between the buckets; the bill due today is not overdue; the refund
    # re-opened 7,500 of a bill 45 days overdue; the unit due only today and the paid-up one are not debtors
    assert aging == {
        "1-30": (1, 10_030 + 30_000),
        "31-90": (2 + 3, 10_031 + 10_090 + 7_500 + 49_000 + 40_000),
        "91-180": (2 + 1, 10_091 + 10_180 + 25_000),
        "181-365": (2, 10_181 + 10_365),
        "over_365": (1, 10_366),
    }


def test_top_debtors_equal_a_recount_most_owed_first(summary):
    sunshine, garden = summary["communities"]

    def shown(figures):
        return [(d["unit_id"], d["overdue_fen"], d["oldest_due"], d["days_overdue"]) for d in figures["top_debtors"]]

    assert shown(sunshine) == recount_top(debtors("C01"), "C01")
    assert len(shown(sunshine)) == 10  # 12 debtors: the two owing least are left out
    assert "C01-B05-0030" not in [d["unit_id"] for d in sunshine["top_debtors"]]
    assert shown(garden) == recount_top([debtors("C02")[8], debtors("C02")[9]], "C02")
    company = summary["totals"]["top_debtors"]
    assert [(d["community_id"], d["unit_id"]) for d in company[:3]] == [
        ("C01", "C01-B06-0001"),  # a tie at 55,000 fen: by community, then unit
        ("C02", "C02-B06-0001"),
        ("C01", "C01-B06-0003"),
    ]
    assert len(company) == 10


def test_a_top_debtor_shows_its_label_hold_in_force_and_key_customer_flag_never_an_owner(summary):
    by_unit = {d["unit_id"]: d for d in summary["communities"][0]["top_debtors"]}

    first = by_unit["C01-B06-0001"]
    assert first == {
        "community_id": "C01",
        "unit_id": "C01-B06-0001",
        "unit": "B06-0001",
        "overdue_fen": 55_000,
        "oldest_due": "2024-11-05",
        "days_overdue": 120,
        "hold": "dispute",  # the manual hold ended on 2025-01-01
        "key_customer": True,
    }
    assert by_unit["C01-B06-0003"]["hold"] is None  # the promise ended yesterday
    assert by_unit["C01-B06-0004"]["hold"] == "promise_to_pay"  # promised until today
    text = json.dumps(summary, ensure_ascii=False)
    assert "王芳" not in text and "李雷" not in text and "+86138" not in text


# ---------------------------------------------------------------- owners' replies, tickets, leftover issues, DLQs


def test_replies_by_intent_per_community_unmatched_and_in_total():
    summary = build_summary(DAY, GENERATED_AT, entries(), company())

    sunshine, garden = summary["communities"]
    assert sunshine["replies"] == dict(Counter(REPLY_INTENTS))
    assert garden["replies"] == {"help": 1}
    assert summary["unmatched"]["replies"] == {"opt_out": 1, "unknown": 1}
    assert summary["totals"]["replies"] == dict(Counter([*REPLY_INTENTS, "help", "unknown", "opt_out"]))


def test_tickets_by_department_new_open_overdue_resolved():
    summary = build_summary(DAY, GENERATED_AT, entries(), company())

    def figures(engineering, customer_service, finance):
        keys = ("new_today", "open", "overdue", "resolved_today")
        named = {"customer_service": customer_service, "engineering": engineering, "finance": finance}
        return {name: dict(zip(keys, counts, strict=True)) for name, counts in named.items() if counts}

    sunshine, garden = summary["communities"]
    assert sunshine["tickets"] == figures((2, 2, 1, 1), (0, 2, 1, 0), (0, 1, 0, 1))
    assert garden["tickets"] == figures((0, 1, 1, 0), None, None)
    assert summary["unmatched"]["tickets"] == figures(None, (1, 1, 1, 0), None)
    assert summary["totals"]["tickets"] == figures((2, 3, 2, 1), (1, 3, 2, 0), (0, 1, 0, 1))


def test_leftover_issues_are_open_tickets_past_deadline_and_open_disputes():
    summary = build_summary(DAY, GENERATED_AT, entries(), company())

    assert [(i["ticket_id"], i["overdue"], i["dispute"]) for i in summary["communities"][0]["leftover_issues"]] == [
        ("T20250305-00000102", True, False),
        ("T20250305-00000103", True, False),
        ("T20250305-00000105", False, True),
    ]
    issue = summary["communities"][0]["leftover_issues"][0]
    assert issue == {
        "ticket_id": "T20250305-00000102",
        "department": "engineering",
        "intent": "complaint",
        "category": "lift",
        "community_id": "C01",
        "created_at": "2025-03-01T09:00:00+08:00",
        "due_by": "2025-03-02T09:00:00+08:00",
        "escalated_at": "2025-03-02T10:00:00+08:00",
        "unit_ids": ["C01-B06-0001"],
        "overdue": True,
        "dispute": False,
    }
    assert [i["ticket_id"] for i in summary["totals"]["leftover_issues"]] == [
        "T20250305-00000102",
        "T20250305-00000202",
        "T20250305-00000014",
        "T20250305-00000103",
        "T20250305-00000105",
    ]


def test_dead_letter_depths_in_the_totals():
    summary = build_summary(DAY, GENERATED_AT, entries(), company())

    assert summary["totals"]["dead_letters"] == {"delivery_events": 0, "inbound_sms": 1, "send": 0, "tickets": 2}
    assert build_summary(DAY, GENERATED_AT, entries())["totals"]["dead_letters"] == {}


def test_version_7_keeps_every_key_of_versions_1_to_6(summary):
    version_1 = {"collections", "current_period", "back_arrears", "outstanding_fen", "reminders"}
    version_2 = {"arrears_aging", "top_debtors", "replies", "tickets", "leftover_issues"}
    version_3 = {"trend", "reminder_effectiveness"}
    version_4 = {"balance"}
    version_6 = {"online_payments"}
    earlier = version_1 | version_2 | version_3 | version_4 | version_6
    assert earlier | {"community_id", "name", "targets"} == set(summary["communities"][0])
    version_7 = {"staff_actions"}
    assert earlier | version_7 | {"dead_letters", "collectors", "reconciliation"} == set(summary["totals"])
    header = {"schema_version", "date", "generated_at", "timezone"}
    assert header | {"totals", "communities", "unmatched"} == set(summary)


def test_the_owners_words_and_contacts_never_reach_a_report_file():
    files = report_files(DAY, GENERATED_AT, entries(), company())

    for name, content in files.items():
        text = content.decode("utf-8", errors="replace") if not name.endswith(".xlsx") else _xlsx_text(content)
        for secret in ("业主的原话", "楼上漏水", "+8613700000000", "8613700000000", "王芳", "李雷", "msg-1"):
            assert secret not in text, (name, secret)


def _xlsx_text(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "".join(archive.read(n).decode() for n in archive.namelist() if n.endswith(".xml"))


def test_the_new_tables_list_the_summary():
    summary = build_summary(DAY, GENERATED_AT, entries(), company())

    aging = _rows(csv_bytes(aging_table(summary)))
    assert aging[0] == ["community_id", "community", "bucket", "units", "overdue_yuan", "overdue_fen"]
    assert len(aging) == 1 + 5 * 3  # two communities and the company, five buckets each
    assert aging[-1][:2] == ["", "合计 / Total"]
    assert sum(int(r[5]) for r in aging[1:11]) == sum(int(r[5]) for r in aging[11:])
    debtors_rows = _rows(csv_bytes(top_debtors_table(summary)))
    assert debtors_rows[1][:4] == ["C01", "1", "C01-B06-0001", "B06-0001"]
    assert debtors_rows[1][4:] == ["550.00", "55000", "2024-11-05", "120", "dispute", "yes"]
    assert len(debtors_rows) == 1 + 10 + 2
    replies = _rows(csv_bytes(replies_table(summary)))
    assert ["C02", "锦绣家园", "help", "1"] in replies
    assert ["", "合计 / Total", "complaint", "2"] in replies
    ticket_rows = _rows(csv_bytes(tickets_table(summary)))
    assert ["C01", "阳光花园", "engineering", "2", "2", "1", "1"] in ticket_rows
    issues = _rows(csv_bytes(leftover_issues_table(summary)))
    assert [r[0] for r in issues[1:]] == [i["ticket_id"] for i in summary["totals"]["leftover_issues"]]
    assert issues[1][8:] == ["C01-B06-0001", "overdue"]
    assert _rows(csv_bytes(dead_letters_table(summary)))[1:] == [
        ["delivery_events", "0"],
        ["inbound_sms", "1"],
        ["send", "0"],
        ["tickets", "2"],
    ]


def _rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def test_every_csv_starts_with_a_utf8_bom_once():
    for name, content in report_files(DAY, GENERATED_AT, entries()).items():
        if name.endswith(".csv"):
            assert content.startswith(BOM), name
            assert not content[len(BOM) :].startswith(BOM), name
            assert content.decode("utf-8-sig")  # valid UTF-8 throughout


def test_communities_csv_rows(summary):
    header, sunshine, garden = _rows(csv_bytes(communities_table(summary)))

    assert header[:4] == ["community_id", "community", "payments_today", "collected_today_yuan"]
    row = dict(zip(header, sunshine, strict=True))
    assert row["community"] == "阳光花园"
    assert row["payments_today"] == "3"
    assert row["collected_today_yuan"] == "600.00"
    assert row["billed_yuan"] == "1000.00"  # no thousands separator in a spreadsheet cell
    assert row["collection_rate"] == "60.00%"
    assert row["back_arrears_outstanding_yuan"] == "100.00"
    assert row["outstanding_yuan"] == "500.00"
    assert (row["sms_sent"], row["email_sent"], row["reminders_skipped"]) == ("2", "1", "3")
    assert dict(zip(header, garden, strict=True))["collection_rate"] == "0.00%"


def test_collections_csv_lists_each_payment_in_time_order():
    header, *rows = _rows(csv_bytes(collections_table(entries())))

    assert header == ["community_id", "unit_id", "paid_at", "amount_yuan", "amount_fen", "method", "reference"]
    assert [(r[0], r[3], r[4]) for r in rows] == [
        ("C01", "300.00", "30000"),
        ("C01", "200.00", "20000"),
        ("C01", "100.00", "10000"),
    ]


def test_reminders_csv_lists_reminders_and_skips():
    header, *rows = _rows(csv_bytes(reminders_table(entries())))

    assert header == ["community_id", "unit_id", "at", "step", "channel", "status", "balance_yuan", "skip_reason"]
    statuses = [(r[0], r[5]) for r in rows]
    assert statuses.count(("C01", "skipped")) == 3
    assert ("C02", "failed") in statuses
    assert len(rows) == 6 + 3 + 1 + 1
    assert ("C01", "claimed") in statuses
    assert {r[7] for r in rows if r[5] == "skipped"} == {"frequency_cap", "key_customer"}


@pytest.mark.parametrize("value", [*HOSTILE, "\r=1"])
def test_safe_cell_neutralises_formulas(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["阳光花园", "C01-B03-1502", "A=1", "", "1234.56", 42, -5, None, 0.5])
def test_safe_cell_leaves_ordinary_values_alone(value):
    assert safe_cell(value) == value


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_text_never_reaches_a_spreadsheet_as_a_formula(value):
    days = entries(community_name=value)
    days[0] = CommunityDay(
        days[0].community,
        DayActivity(payments=(payment("C01", 9, 1_000, 9, method=value, reference=value),)),
        days[0].periods,
    )

    files = report_files(DAY, GENERATED_AT, days)

    community_row = _rows(files["communities.csv"])[1]
    assert community_row[1] == "'" + value
    payment_row = _rows(files["collections.csv"])[1]
    assert (payment_row[5], payment_row[6]) == ("'" + value, "'" + value)
    for name, content in files.items():
        if name.endswith(".csv"):
            for row in _rows(content):
                assert not [cell for cell in row if cell[:1] in ("=", "+", "-", "@", "\t", "\r")], name


@pytest.mark.parametrize(
    "value", ["\r=1", "PAY-1\r=SUM(1)", 'PAY-1\r=HYPERLINK("http://x")', "PAY-1\n=1", "PAY-1\r\n=1"]
)
def test_a_line_break_inside_a_value_stays_inside_its_cell(value):
    # a bank reference or payment method with a line break must not start a new row: the text after it would
    # land at the start of a row, where a spreadsheet evaluates it as a formula
    days = entries()
    days[0] = CommunityDay(
        days[0].community, DayActivity(payments=(payment("C01", 1, 500, 9, reference=value),)), days[0].periods
    )

    text = csv_bytes(collections_table(days)).decode("utf-8-sig")

    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        pytest.fail(f"collections.csv is malformed for reference {value!r}: {error}\n{text!r}")
    assert len(rows) == 2
    assert rows[1][6] in (value, "'" + value)


# ---------------------------------------------------------------- reproducible output


def test_report_files_are_byte_identical_for_identical_inputs():
    first = report_files(DAY, GENERATED_AT, entries())
    second = report_files(DAY, GENERATED_AT, entries())

    assert set(first) == REPORT_FILE_NAMES
    assert first == second


def test_report_files_do_not_depend_on_the_order_activity_was_read_in():
    rng = random.Random(7)

    def shuffled(items):
        items = list(items)
        rng.shuffle(items)
        return items

    reordered = [
        CommunityDay(
            entry.community,
            DayActivity(
                payments=tuple(shuffled(entry.activity.payments)),
                reminders=tuple(shuffled(entry.activity.reminders)),
                skips=tuple(shuffled(entry.activity.skips)),
            ),
            shuffled(entry.periods),
            owing=tuple(shuffled(entry.owing)),
            reply_intents=tuple(shuffled(entry.reply_intents)),
            tickets=tuple(shuffled(entry.tickets)),
        )
        for entry in entries()
    ]
    assert reordered[0].activity != entries()[0].activity  # the seed really changes the order

    assert report_files(DAY, GENERATED_AT, reordered) == report_files(DAY, GENERATED_AT, entries())


def test_summary_json_is_the_summary():
    content = report_files(DAY, GENERATED_AT, entries())["summary.json"]

    assert json.loads(content.decode("utf-8")) == build_summary(DAY, GENERATED_AT, entries())
    assert "阳光花园".encode() in content  # readable Chinese, not \\u escapes


# ---------------------------------------------------------------- publishing


class _Reader:
    """The table in memory: units as the arrears index holds them, owners' messages, tickets by department."""

    def __init__(self, days: list[CommunityDay]):
        self.days = {day.community.community_id: day for day in days}
        # every unit of the estate, debtors or not: units_owing picks what the sparse index would hold
        self.units = {"C01": [d.unit for d in debtors("C01")], "C02": [debtors("C02")[8].unit, debtors("C02")[9].unit]}
        self.all_tickets = [t for day in days for t in day.tickets] + list(company().tickets)
        self.messages = {
            community_id: [
                {"kind": "inbound", "body": "业主的原话：楼上漏水", "sender": "+8613700000000"}
                | ({"classification": {"intent": intent}} if intent != "not_classified" else {"outcome": "flood"})
                for intent in intents
            ]
            for community_id, intents in {
                **{c: d.reply_intents for c, d in self.days.items()},
                "UNKNOWN": company().reply_intents,
            }.items()
        }
        self.ticket_queries: list[tuple[str, str]] = []
        self.snapshots: list[DaySnapshot] = []

    def communities(self) -> list[Community]:
        return [day.community for day in reversed(self.days.values())]  # any order: the report sorts them

    def day_activity(self, community_id: str, day: date) -> DayActivity:
        assert DAY - timedelta(days=7) <= day <= DAY  # the day, and the week its effectiveness looks back on
        return self.days[community_id].activity if day == DAY else DayActivity()

    def period_totals(self, community_id: str) -> list[PeriodTotal]:
        return self.days[community_id].periods

    def units_owing(self, community_id: str, due_before: date) -> list[Unit]:
        assert due_before == DAY
        return [u for u in self.units[community_id] if u.oldest_due is not None and u.oldest_due < due_before]

    def day_messages(self, community_id: str, day: date) -> list[dict[str, Any]]:
        assert day == DAY
        return self.messages.get(community_id, [])

    def tickets(self, department: str, status: str = "open", due_before: datetime | None = None) -> list[Ticket]:
        self.ticket_queries.append((department, status))
        return [t for t in self.all_tickets if t.department == department and t.status.value == status]

    def collectors(self) -> list[Collector]:
        return []

    def tasks(self, collector_id: str, status: str = "open") -> list[Task]:
        return []

    def report_snapshots(self, community_id: str, first: date, last: date) -> list[DaySnapshot]:
        return [s for s in self.snapshots if s.community_id == community_id and first <= s.day <= last]

    def keep_report_snapshot(self, snapshot: DaySnapshot) -> DaySnapshot:
        kept = next(
            (s for s in self.snapshots if (s.community_id, s.day) == (snapshot.community_id, snapshot.day)), None
        )
        if kept is None:
            self.snapshots.append(snapshot)
        return kept or snapshot

    def report_snapshot_before(self, community_id: str, day: date) -> DaySnapshot | None:
        return max(
            (s for s in self.snapshots if s.community_id == community_id and s.day < day),
            key=lambda s: s.day,
            default=None,
        )


class _Depths:
    def depths(self) -> dict[str, int]:
        return dict(company().dead_letters)


class _Store:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = (body, content_type)


def test_publishing_writes_every_file_under_the_dated_prefix_with_its_content_type():
    store = _Store()

    reader = _Reader(entries())

    keys = publish_daily_report(DAY, GENERATED_AT, reader, store, _Depths(), SHANGHAI)

    assert keys == list(store.objects)
    assert ("legal", "resolved") in reader.ticket_queries and len(reader.ticket_queries) == 7 * 2
    # the report kept a snapshot of each community's day, and its trend and effectiveness come from it
    kept = {s.community_id: s for s in reader.snapshots}
    assert set(kept) == {"C01", "C02"} and {s.day for s in kept.values()} == {DAY}
    with_history = [replace(e, history=(kept[e.community.community_id],)) for e in entries()]
    company_set = report_files(DAY, GENERATED_AT, with_history, company())
    expected = {f"reports/2025-03-05/{name}": body for name, body in company_set.items()}
    for entry in with_history:  # and each community's own set
        community_set = community_report_files(DAY, GENERATED_AT, entry, SHANGHAI)
        prefix = f"reports/2025-03-05/communities/{entry.community.community_id}/"
        expected.update({prefix + name: body for name, body in community_set.items()})
    assert {key: body for key, (body, _) in store.objects.items()} == expected
    types = {key.rsplit("/", 1)[1]: content_type for key, (_, content_type) in store.objects.items()}
    assert types["summary.json"] == "application/json"
    assert types["communities.csv"] == "text/csv; charset=utf-8"
    assert (
        types["report.xlsx"]
        == types["report.en.xlsx"]
        == ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )
    assert types["report.html"] == types["report.en.html"] == "text/html; charset=utf-8"

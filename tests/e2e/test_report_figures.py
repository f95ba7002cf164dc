"""The daily report's new figures through the real functions: arrears aging and top debtors from the sparse
arrears index, owners' replies and tickets from the activity and inbox indexes, and the dead-letter depths,
each equal to what the test set up."""

import json
import uuid
from datetime import date, datetime, timedelta

import pytest

from propfee.accounts import ledger
from propfee.accounts.ledger import with_bill
from propfee.aws.dynamo_table import to_attributes
from propfee.aws.feedback import FeedbackTable
from propfee.domain.models import HoldKind, Owner, Payment, Ticket
from propfee.feedback.ticketing import resolve_ticket
from propfee.local.sandbox import Sandbox
from tests.support import SHANGHAI, at, bill, community, unit
from tests.support.sandbox import START, assert_calls_allowed

pytestmark = pytest.mark.e2e

DAY = START.date()  # 2026-11-11: its report is written at 00:15 the next day
LEAK, PAID, STRANGER = "+8613900000001", "+8613900000003", "+8613900000999"
OLD_TICKET, DISPUTE_TICKET = "T20261105-00000001", "T20261110-00000002"

# unit -> [(period, amount fen, days overdue on DAY)], owner phone, changes
ESTATE = {
    "C01-B01-0101": ([("2026-10", 25_000, 30)], LEAK, {}),
    "C01-B01-0102": ([("2026-10", 26_000, 31)], PAID, {}),
    "C01-B01-0103": ([("2025-11", 30_000, 366), ("2026-09", 25_000, 62)], "+8613900000004", {"key_customer": True}),
    "C01-B01-0104": ([("2026-05", 27_000, 181)], "+8613900000005", {}),  # 2,000 of it paid below
    "C01-B01-0105": ([("2026-08", 24_000, 91)], "+8613900000006", {}),
    "C01-B01-0106": ([("2026-08", 23_000, 90)], "+8613900000007", {}),
    "C01-B01-0107": ([], "+8613900000008", {}),  # paid up
    "C01-B01-0108": ([("2026-11", 20_000, 0)], "+8613900000009", {}),  # due on the day: not overdue yet
}


def _estate() -> list:
    units = []
    for unit_id, (bills, phone, changes) in ESTATE.items():
        built = unit(unit_id, owners=(Owner(name="业主" + unit_id[-2:], phone=phone),), **changes)
        for period, amount, days in bills:
            built = with_bill(built, bill(unit_id, period, amount, DAY - timedelta(days=days)))
        if unit_id == "C01-B01-0104":  # a partial payment
            partial = Payment(
                reference="PART-1",
                unit_id=unit_id,
                community_id="C01",
                amount_fen=2_000,
                paid_at=at("2026-11-01 10:00"),
            )
            built = ledger.allocate(built, partial).unit_after
        units.append(built)
    return units


def _ticket(ticket_id: str, department: str, intent: str, created: str, due: str, **changes) -> Ticket:
    return Ticket(
        ticket_id=ticket_id,
        community_id="C01",
        unit_ids=("C01-B01-0106",),
        department=department,
        intent=intent,
        channel="sms",
        contact="+8613900000007",
        message="业主的原话",
        created_at=at(created),
        due_by=at(due),
        source_id=f"seed-{ticket_id}",
        **changes,
    )


@pytest.fixture()
def estate():
    with Sandbox(start=START) as running:
        table = FeedbackTable(running.resources["PropfeeTable"], SHANGHAI)
        table.put_community(community())
        table.put_buildings_and_units([], _estate())
        # tickets from earlier days: one long past its deadline, one open bill dispute within it
        for seeded in (
            _ticket(OLD_TICKET, "engineering", "complaint", "2026-11-05 10:00", "2026-11-07 10:00", category="lift"),
            _ticket(
                DISPUTE_TICKET, "finance", "bill_dispute", "2026-11-10 10:00", "2026-11-12 10:00", hold=HoldKind.DISPUTE
            ),
        ):
            table.db.put_item(TableName=table.name, Item=to_attributes(FeedbackTable._ticket_item(seeded)))
        running.table = table
        yield running


def reply(sandbox: Sandbox, phone: str, text: str) -> None:
    payload = {
        "originationNumber": phone,
        "destinationNumber": "+8610690000",
        "messageKeyword": "KEYWORD_0123",
        "messageBody": text,
        "inboundMessageId": str(uuid.uuid4()),
    }
    sandbox.client("sns").publish(TopicArn=sandbox.resources["InboundSmsTopic"], Message=json.dumps(payload))


def _expected_aging() -> dict[str, tuple[int, int]]:
    """bucket -> (units, overdue fen), recounted from ESTATE (less the partial payment)."""
    edges = (("1-30", 30), ("31-90", 90), ("91-180", 180), ("181-365", 365), ("over_365", 10**6))
    units = dict.fromkeys((name for name, _ in edges), 0)
    fen = dict.fromkeys(units, 0)
    for unit_id, (bills, _, _) in ESTATE.items():
        overdue = [(days, amount - (2_000 if unit_id == "C01-B01-0104" else 0)) for _, amount, days in bills if days]
        if overdue:
            units[next(name for name, top in edges if max(d for d, _ in overdue) <= top)] += 1
            for days, amount in overdue:
                fen[next(name for name, top in edges if days <= top)] += amount
    return {name: (units[name], fen[name]) for name in units}


def test_the_report_shows_aging_top_debtors_replies_tickets_and_dead_letters(estate):
    estate.advance(at("2026-11-11 09:45"))
    reply(estate, LEAK, "楼上漏水三个月了没人修，修好再交")
    reply(estate, PAID, "我昨天已经在app上交过了")
    reply(estate, STRANGER, "我家水管爆了")
    topic = estate.resources["InboundSmsTopic"]
    estate.client("sns").publish(TopicArn=topic, Message="not json")  # two for the dead-letter queue
    estate.client("sns").publish(TopicArn=topic, Message=json.dumps({"messageBody": "hi"}))
    estate.advance(at("2026-11-11 10:30"))
    [paid_claim] = [t for t in estate.table.tickets("finance") if t.ticket_id != DISPUTE_TICKET]
    assert paid_claim.intent == "paid_claim"
    resolve_ticket(estate.table, paid_claim.ticket_id, "财务核实：已到账", at("2026-11-11 16:00"))
    estate.advance(at("2026-11-12 00:20"))

    body = estate.client("s3").get_object(
        Bucket=estate.resources["ReportBucket"], Key="reports/2026-11-11/summary.json"
    )
    summary = json.loads(body["Body"].read())
    assert summary["schema_version"] == 7
    [c01] = summary["communities"]
    totals = summary["totals"]
    # the headline's balance adds up: opening + new bills - collected + adjustments = closing
    balance = totals["balance"]
    assert balance["closing_fen"] == totals["outstanding_fen"]
    assert balance["collected_fen"] == totals["collections"]["amount_fen"]
    if balance["opening_fen"] is not None:
        moved = balance["new_bills_fen"] - balance["collected_fen"] + balance["adjustments_fen"]
        assert balance["opening_fen"] + moved == balance["closing_fen"]

    aging = {b["bucket"]: (b["units"], b["overdue_fen"]) for b in c01["arrears_aging"]["buckets"]}
    assert aging == _expected_aging()
    assert aging == {
        "1-30": (1, 25_000),
        "31-90": (2, 26_000 + 25_000 + 23_000),
        "91-180": (1, 24_000),
        "181-365": (1, 25_000),
        "over_365": (1, 30_000),
    }
    assert totals["arrears_aging"] == c01["arrears_aging"]

    top = [
        (d["unit_id"], d["unit"], d["overdue_fen"], d["days_overdue"], d["hold"], d["key_customer"])
        for d in c01["top_debtors"]
    ]
    assert top == [
        ("C01-B01-0103", "B01-0103", 55_000, 366, None, True),
        ("C01-B01-0102", "B01-0102", 26_000, 31, None, False),  # its paid claim was resolved: hold released
        ("C01-B01-0101", "B01-0101", 25_000, 30, "complaint", False),
        ("C01-B01-0104", "B01-0104", 25_000, 181, None, False),
        ("C01-B01-0105", "B01-0105", 24_000, 91, None, False),
        ("C01-B01-0106", "B01-0106", 23_000, 90, None, False),
    ]
    assert c01["top_debtors"][0]["oldest_due"] == (DAY - timedelta(days=366)).isoformat()
    assert totals["top_debtors"] == c01["top_debtors"]

    assert c01["replies"] == {"complaint": 1, "paid_claim": 1}
    assert sum(summary["unmatched"]["replies"].values()) == 1  # the stranger
    assert sum(totals["replies"].values()) == 3

    assert c01["tickets"] == {
        "engineering": {"new_today": 1, "open": 2, "overdue": 1, "resolved_today": 0},
        "finance": {"new_today": 1, "open": 1, "overdue": 0, "resolved_today": 1},
    }
    assert summary["unmatched"]["tickets"] == {
        "customer_service": {"new_today": 1, "open": 1, "overdue": 0, "resolved_today": 0}
    }
    issues = {i["ticket_id"]: i for i in c01["leftover_issues"]}
    assert set(issues) == {OLD_TICKET, DISPUTE_TICKET}
    assert (issues[OLD_TICKET]["overdue"], issues[OLD_TICKET]["dispute"]) == (True, False)
    assert issues[OLD_TICKET]["escalated_at"] is not None  # the hourly escalation saw it
    assert (issues[DISPUTE_TICKET]["overdue"], issues[DISPUTE_TICKET]["dispute"]) == (False, True)
    assert totals["leftover_issues"] == c01["leftover_issues"]

    # every queue's DLQ and every asynchronously invoked function's own, by name; only the two poison texts wait
    assert {"send", "inbound_sms", "delivery_events", "tickets", "plan_runs", "daily_report_runs"} <= set(
        totals["dead_letters"]
    )
    assert {name: n for name, n in totals["dead_letters"].items() if n} == {"inbound_sms": 2}

    # the tables, and nothing of what owners wrote or who they are
    files = estate.client("s3").list_objects_v2(Bucket=estate.resources["ReportBucket"], Prefix="reports/2026-11-11/")
    names = {o["Key"].rsplit("/", 1)[1] for o in files["Contents"]}
    assert {"arrears_aging.csv", "top_debtors.csv", "replies.csv", "tickets.csv", "leftover_issues.csv"} <= names
    assert "dead_letters.csv" in names
    for name in names - {"report.xlsx", "report.en.xlsx"}:
        text = (
            estate.client("s3")
            .get_object(Bucket=estate.resources["ReportBucket"], Key=f"reports/2026-11-11/{name}")["Body"]
            .read()
            .decode("utf-8")
        )
        for secret in ("漏水", "交过了", "水管", "业主的原话", "+86139", "业主01"):
            assert secret not in text, (name, secret)
    assert "DailyReportFunction" in {function for function, _ in estate.function_calls}
    assert ("DailyReportFunction", "sqs:GetQueueAttributes") in estate.function_calls
    assert_calls_allowed(estate.function_calls)


def test_a_demo_shaped_month_reports_its_online_payments_as_the_table_records_them(tmp_path):
    """The simulated company's first days (owners paying from their reminders' links with both providers, the
    others at the office through the billing system's export): each day's online and imported payments, and the
    month to date, recounted from the ledger items; the links opened and the hours to pay from the reminders."""
    from collections import Counter

    from propfee.aws.dynamo_table import from_attributes
    from propfee.local.simulation.run import DemoOptions, run_demo

    captured: dict = {}

    def keep(demo) -> None:
        pages = demo.table.db.get_paginator("scan").paginate(TableName=demo.table.name)
        captured["items"] = [from_attributes(i) for page in pages for i in page["Items"]]

    days = 14  # the first reminders (the 7th) are a cohort with a week behind it in the last report
    summary = run_demo(DemoOptions(households=60, days=days, seed=11, out=tmp_path), on_finish=keep)
    online_made = summary["payments"]["online"]
    assert sum(online_made.values()) > 0, online_made

    recount: dict[str, Counter] = {}
    for p in (i for i in captured["items"] if i.get("kind") == "payment" and i["amount_fen"] > 0):
        day = datetime.fromisoformat(p["paid_at"]).astimezone(SHANGHAI).date().isoformat()
        key = "import" if p.get("source", "import") == "import" else p["method"]
        recount.setdefault(day, Counter())[key] += 1
    month: Counter = Counter()
    steps_online = 0
    for offset in range(days):
        report_day = date.fromisoformat(summary["start"]) + timedelta(days=offset)
        report = json.loads((tmp_path / "reports" / report_day.isoformat() / "summary.json").read_text("utf-8"))
        assert report["schema_version"] == 7, report_day
        section = report["totals"]["online_payments"]
        figures = section["day"]
        shown = Counter({p: f["count"] for p, f in figures["providers"].items() if f["count"]})
        if figures["imported"]["count"]:
            shown["import"] = figures["imported"]["count"]
        assert shown == recount.get(report_day.isoformat(), Counter()), report_day
        month.update(shown)
        to_date = section["month_to_date"]
        assert to_date["days_missing"] == 0
        assert {p: f["count"] for p, f in to_date["providers"].items()} == {
            p: month[p] for p in ("wechat_pay", "alipay")
        }
        assert to_date["imported"]["count"] == month["import"]
        opened = {c["channel"]: c for c in section["link_opened"]["channels"]}
        steps_online += sum(s["online"] for s in section["reminder_to_payment"]["steps"])
        assert [c["community_id"] for c in report["communities"]]  # every community has the section too
        assert all("online_payments" in c for c in report["communities"])
    # every payment made on a provider's cashier reached the ledger and the reports, each after a reminder
    assert {p: month[p] for p in online_made} == online_made
    assert steps_online == sum(online_made.values())
    # the last report's cohort (the first reminders, a week before): those whose unit's link was opened in the week
    # after them, recounted from the evidence records and the openings kept
    cohort_day = date.fromisoformat(summary["end"]) - timedelta(days=7)
    openings: dict[str, list[datetime]] = {}
    for o in (i for i in captured["items"] if i.get("kind") == "link_opened"):
        openings.setdefault(o["unit_id"], []).append(datetime.fromisoformat(o["at"]))
    cohort = [
        r
        for r in captured["items"]
        if r.get("kind") == "reminder"
        and datetime.fromisoformat(r["claimed_at"]).astimezone(SHANGHAI).date() == cohort_day
        and r["status"] in ("sent", "delivered")
        and "/b/" in (r.get("text") or "")
    ]
    sent = {r["unit_id"]: datetime.fromisoformat(r.get("sent_at") or r["claimed_at"]) for r in cohort}
    was_opened = [u for u, t in sent.items() if any(t <= o <= t + timedelta(days=7) for o in openings.get(u, ()))]
    assert (opened["sms"]["cohort_reminders"], opened["sms"]["cohort_opened"]) == (len(cohort), len(was_opened))
    assert was_opened, "some owners reminded that day opened their link and paid online"
    last = tmp_path / "reports" / (date.fromisoformat(summary["end"])).isoformat()
    assert "线上缴费与导入" in (last / "report.html").read_text("utf-8")
    assert "Online and imported payments" in (last / "report.en.html").read_text("utf-8")
    assert (last / "online_payments.csv").read_text("utf-8-sig").startswith("community_id,community,span,source")

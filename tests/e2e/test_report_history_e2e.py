"""The report's memory through the real functions over ten days: reminders go out from the plan and send
functions, owners pay (and one is refunded) through the table, a collector closes a call task; the report of a
day a week after the first reminders follows that cohort exactly as a recount from the evidence records and the
payments says, and the trend holds one row per report, equal to that day's own summary."""

import json
from datetime import date, datetime, timedelta

import pytest

from propfee import cli
from propfee.aws.dynamo import PropfeeTable
from propfee.aws.dynamo_table import from_attributes
from propfee.domain.models import Collector, Owner, Payment
from propfee.local.sandbox import Sandbox
from tests.support import SHANGHAI, at, bill, community, unit
from tests.support.sandbox import START

pytestmark = pytest.mark.e2e

FIRST = START.date()  # 2026-11-11: the first reminders
COHORT_REPORT = FIRST + timedelta(days=7)  # 2026-11-18: the report that follows the 11-11 cohort
LAST = FIRST + timedelta(days=9)  # 2026-11-20

# unit -> due date of its 2026-10 bill: 1 day overdue on 11-11 (sms_d1), 15 (call_d15), 30 (sms_d30)
ESTATE = {
    "C01-B01-0101": date(2026, 11, 10),  # pays two days after its message
    "C01-B01-0102": date(2026, 11, 10),  # pays a week and ten hours after: too late for the cohort
    "C01-B01-0103": date(2026, 10, 27),  # called by K1, promises, pays
    "C01-B01-0104": date(2026, 11, 10),  # had paid part before; gets a refund, never pays
    "C01-B01-0105": date(2026, 10, 12),  # never pays
}
PAYMENTS = [  # (local time, unit, fen)
    ("2026-11-13 10:00", "C01-B01-0101", 25_000),
    ("2026-11-14 11:00", "C01-B01-0104", -2_000),
    ("2026-11-15 16:00", "C01-B01-0103", 25_000),
    ("2026-11-18 20:00", "C01-B01-0102", 25_000),
]
REACHED = {"sent", "delivered", "assigned"}


@pytest.fixture()
def estate():
    with Sandbox(start=START) as running:
        table = PropfeeTable(running.resources["PropfeeTable"], SHANGHAI)
        table.put_community(community())
        table.put_collectors([Collector(collector_id="K1", name="张伟", communities=("C01",))])
        owners = {u: (Owner(name="业主" + u[-2:], phone=f"+86139000001{u[-2:]}"),) for u in ESTATE}
        table.put_buildings_and_units([], [unit(u, owners=owners[u]) for u in ESTATE])
        for unit_id, due in ESTATE.items():
            assert table.issue_bill(bill(unit_id, "2026-10", 25_000, due))
        early = Payment(
            reference="EARLY-0104",
            unit_id="C01-B01-0104",
            community_id="C01",
            amount_fen=5_000,
            paid_at=at("2026-11-01 10:00"),
        )
        assert table.record_payment(early) is not None
        running.table = table
        yield running


def _items(sandbox: Sandbox) -> list[dict]:
    items = []
    for page in sandbox.client("dynamodb").get_paginator("scan").paginate(TableName=sandbox.table.name):
        items.extend(from_attributes(i) for i in page["Items"])
    return items


def _summary(sandbox: Sandbox, day: date) -> dict:
    body = sandbox.client("s3").get_object(
        Bucket=sandbox.resources["ReportBucket"], Key=f"reports/{day.isoformat()}/summary.json"
    )
    return json.loads(body["Body"].read())


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(SHANGHAI)


def recount(items: list[dict], cohort_day: date) -> dict[str, tuple[int, int]]:
    """From the evidence records of the cohort day and every payment record: per step, the units reached and
    those with a payment (not a refund) after the step's first contact and within 7 days of it."""
    reminders = [i for i in items if i.get("kind") == "reminder" and _local(i["claimed_at"]).date() == cohort_day]
    payments = [(i["unit_id"], _local(i["paid_at"]), int(i["amount_fen"])) for i in items if i.get("kind") == "payment"]
    result = {}
    for step in sorted({r["step"] for r in reminders}):
        reached = [r for r in reminders if r["step"] == step and r["status"] in REACHED]
        units = {r["unit_id"] for r in reached}
        paid = 0
        for unit_id in units:
            contact = min(_local(r.get("sent_at") or r["claimed_at"]) for r in reached if r["unit_id"] == unit_id)
            paid += any(
                u == unit_id and fen > 0 and contact < when <= contact + timedelta(days=7) for u, when, fen in payments
            )
        if units:
            result[step] = (len(units), paid)
    return result


def test_effectiveness_and_trend_over_ten_days_equal_a_recount_from_the_records(estate, capsys):
    estate.advance(at("2026-11-11 10:30"))  # the plan ran at 09:30 and the sends drained
    capsys.readouterr()
    assert cli.main(["task", "list", "--json", "--table", estate.table.name]) == 0
    [listed] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (listed["unit"], listed["collector"], listed["kind"]) == ("B01-0103", "K1", "call")
    estate.advance(at("2026-11-12 15:00"))
    done = ["task", "done", listed["task_id"], "--outcome", "promised", "--date", "2026-11-20"]
    assert cli.main([*done, "--table", estate.table.name]) == 0
    capsys.readouterr()
    for when, unit_id, fen in PAYMENTS:
        estate.advance(at(when))
        payment = Payment(
            reference=f"BANK-{unit_id[-4:]}-{when[:10]}",
            unit_id=unit_id,
            community_id="C01",
            amount_fen=fen,
            paid_at=at(when),
        )
        assert estate.table.record_payment(payment) is not None
    estate.advance(at("2026-11-21 00:30"))  # the report of the 20th is written
    items = _items(estate)

    # the cohort of 11-11, as the report of 11-18 follows it, and as the records say
    expected = recount(items, FIRST)
    assert expected == {"call_d15": (1, 1), "sms_d1": (3, 1), "sms_d30": (1, 0)}  # the recount is not vacuous
    report = _summary(estate, COHORT_REPORT)
    assert report["schema_version"] == 7
    [c01] = report["communities"]
    rows = {r["step"]: r for r in c01["reminder_effectiveness"]}
    assert {s: (r["cohort_reminded"], r["cohort_paid"]) for s, r in rows.items()} == expected
    assert {s: r["cohort_day"] for s, r in rows.items()} == dict.fromkeys(expected, FIRST.isoformat())
    # no reminders in the 7 days before 11-11: the month's sums are this one cohort
    assert {s: (r["reminded_30d"], r["paid_30d"]) for s, r in rows.items()} == expected
    assert report["totals"]["reminder_effectiveness"] == [
        {k: v for k, v in row.items() if k != "cohort_day"} for row in c01["reminder_effectiveness"]
    ]
    # the report of 11-20 still counts the 11-11 cohort (and those after it) in its month
    later = {r["step"]: r for r in _summary(estate, LAST)["communities"][0]["reminder_effectiveness"]}
    for step, (reminded, paid) in expected.items():
        cohorts = [recount(items, FIRST + timedelta(days=n)).get(step, (0, 0)) for n in range(3)]
        assert (later[step]["reminded_30d"], later[step]["paid_30d"]) == tuple(map(sum, zip(*cohorts, strict=True)))
        assert later[step]["reminded_30d"] >= reminded and later[step]["paid_30d"] >= paid

    # the collector's day: the promise of 11-12, with the balance the task stated
    collectors = {c["collector_id"]: c for c in _summary(estate, FIRST + timedelta(days=1))["totals"]["collectors"]}
    assert (collectors["K1"]["done"], collectors["K1"]["promised_fen"]) == ({"promised": 1}, 25_000)
    assert collectors["K1"]["open"] == 0

    # the trend of the last report: one row per day a report was written, each equal to that day's summary
    listing = estate.client("s3").list_objects_v2(Bucket=estate.resources["ReportBucket"], Prefix="reports/")
    reported = sorted({o["Key"].split("/")[1] for o in listing["Contents"] if o["Key"].endswith("/summary.json")})
    assert reported[0] <= FIRST.isoformat() and reported[-1] == LAST.isoformat()
    last = _summary(estate, LAST)
    trend = last["communities"][0]["trend"]
    assert [r["date"] for r in trend] == reported
    for row in trend:
        [then] = _summary(estate, date.fromisoformat(row["date"]))["communities"]
        assert row == {
            "date": row["date"],
            "payments": then["collections"]["count"],
            "collected_fen": then["collections"]["amount_fen"],
            "period": then["current_period"]["period"],
            "billed_fen": then["current_period"]["billed_fen"],
            "paid_fen": then["current_period"]["paid_fen"],
            "collection_rate": then["current_period"]["collection_rate"],
            "back_billed_fen": then["back_arrears"]["billed_fen"],
            "back_paid_fen": then["back_arrears"]["paid_fen"],
            "back_arrears_rate": then["back_arrears"]["collection_rate"],
        }
    by_day = {r["date"]: r for r in trend}
    for when, _, fen in PAYMENTS:  # each payment is in its day's row
        assert by_day[when[:10]]["collected_fen"] == fen
    # the back arrears of 2026-10 (November's back months) as paid by the end: 5,000 - 2,000 + 3 x 25,000
    assert by_day[LAST.isoformat()]["back_paid_fen"] == 78_000
    company = [{k: v for k, v in r.items() if k != "communities"} for r in last["totals"]["trend"]]
    assert company == [{k: v for k, v in r.items() if k != "period"} for r in trend]
    assert {r["communities"] for r in last["totals"]["trend"]} == {1}

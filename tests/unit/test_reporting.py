"""The daily summary and its CSV files: right figures, totals that add up, safe to open in Excel, reproducible."""

import csv
import io
import json
import random
from datetime import date, datetime

import pytest

from propfee.models import (
    Channel,
    Community,
    DayActivity,
    Payment,
    PeriodTotal,
    Reminder,
    ReminderStatus,
    Skip,
)
from propfee.report_formats import csv_bytes
from propfee.reporting import (
    CommunityDay,
    build_summary,
    collections_table,
    communities_table,
    publish_daily_report,
    reminders_table,
    report_files,
    safe_cell,
)
from tests.unit.conftest import SHANGHAI

DAY = date(2025, 3, 5)
GENERATED_AT = datetime(2025, 3, 5, 21, 30, tzinfo=SHANGHAI)
BOM = b"\xef\xbb\xbf"
HOSTILE = ['=HYPERLINK("http://x")', "+1", "-1+1", "@SUM(1)", "\t=1"]


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, 5, hour, minute, tzinfo=SHANGHAI)


def payment(
    community_id: str, n: int, amount_fen: int, hour: int, method: str = "wechat", reference: str | None = None
) -> Payment:
    return Payment(
        reference=reference or f"{community_id}-PAY-{n:04d}",
        unit_id=f"{community_id}-B01-{n:04d}",
        community_id=community_id,
        amount_fen=amount_fen,
        paid_at=_at(hour),
        method=method,
    )


def reminder(community_id: str, n: int, channel: Channel, status: ReminderStatus, hour: int) -> Reminder:
    return Reminder(
        unit_id=f"{community_id}-B02-{n:04d}",
        community_id=community_id,
        step="sms_d1" if channel is Channel.SMS else "email_d7",
        occurrence=1,
        channel=channel,
        destination="+8613812345678" if channel is Channel.SMS else "owner@example.net",
        template="reminder_friendly",
        template_version="abcdef123456",
        content_sha256="0" * 64,
        balance_fen=21_044,
        status=status,
        claimed_at=_at(hour),
        sent_at=None if status is ReminderStatus.FAILED else _at(hour, 1),
    )


def skip(community_id: str, n: int, reason: str, hour: int) -> Skip:
    return Skip(
        unit_id=f"{community_id}-B03-{n:04d}", community_id=community_id, step="sms_d15", reason=reason, at=_at(hour)
    )


def period(community_id: str, name: str, billed: int, paid: int) -> PeriodTotal:
    return PeriodTotal(community_id=community_id, period=name, billed_fen=billed, paid_fen=paid, bills=10)


def entries(community_name: str = "阳光花园") -> list[CommunityDay]:
    sunshine = CommunityDay(
        community=Community(community_id="C01", name=community_name),
        activity=DayActivity(
            payments=(payment("C01", 1, 30_000, 9), payment("C01", 2, 20_000, 11), payment("C01", 3, 10_000, 15)),
            reminders=(
                reminder("C01", 1, Channel.SMS, ReminderStatus.SENT, 9),
                reminder("C01", 2, Channel.SMS, ReminderStatus.DELIVERED, 9),
                reminder("C01", 3, Channel.EMAIL, ReminderStatus.SENT, 10),
                reminder("C01", 4, Channel.SMS, ReminderStatus.FAILED, 10),
                # claimed, and the provider's answer never recorded: not counted as sent
                reminder("C01", 5, Channel.SMS, ReminderStatus.CLAIMED, 10),
                # a call task given to a collector: counted apart from messages
                reminder("C01", 6, Channel.CALL, ReminderStatus.ASSIGNED, 10),
            ),
            skips=(
                skip("C01", 1, "frequency_cap", 9),
                skip("C01", 2, "frequency_cap", 9),
                skip("C01", 3, "key_customer", 9),
            ),
        ),
        periods=[
            period("C01", "2025-03", 100_000, 60_000),
            period("C01", "2025-02", 100_000, 90_000),
            period("C01", "2025-01", 50_000, 50_000),
        ],
    )
    garden = CommunityDay(
        community=Community(community_id="C02", name="锦绣家园"),
        activity=DayActivity(
            reminders=(reminder("C02", 1, Channel.EMAIL, ReminderStatus.FAILED, 9),),
            skips=(skip("C02", 1, "frequency_cap", 9),),
        ),
        periods=[period("C02", "2025-03", 50_000, 0)],
    )
    return [sunshine, garden]


@pytest.fixture
def summary():
    return build_summary(DAY, GENERATED_AT, entries())


# ---------------------------------------------------------------- the summary


def test_summary_header(summary):
    assert summary["schema_version"] == 1
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

    assert set(first) == {
        "summary.json",
        "communities.csv",
        "collections.csv",
        "reminders.csv",
        "report.xlsx",
        "report.en.xlsx",
        "report.html",
        "report.en.html",
    }
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
    def __init__(self, days: list[CommunityDay]):
        self.days = {day.community.community_id: day for day in days}

    def communities(self) -> list[Community]:
        return [day.community for day in reversed(self.days.values())]  # any order: the report sorts them

    def day_activity(self, community_id: str, day: date) -> DayActivity:
        assert day == DAY
        return self.days[community_id].activity

    def period_totals(self, community_id: str) -> list[PeriodTotal]:
        return self.days[community_id].periods


class _Store:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = (body, content_type)


def test_publishing_writes_every_file_under_the_dated_prefix_with_its_content_type():
    store = _Store()

    keys = publish_daily_report(DAY, GENERATED_AT, _Reader(entries()), store)

    assert keys == list(store.objects)
    expected = report_files(DAY, GENERATED_AT, entries())
    assert {key: body for key, (body, _) in store.objects.items()} == {
        f"reports/2025-03-05/{name}": body for name, body in expected.items()
    }
    types = {key.rsplit("/", 1)[1]: content_type for key, (_, content_type) in store.objects.items()}
    assert types["summary.json"] == "application/json"
    assert types["communities.csv"] == "text/csv; charset=utf-8"
    assert (
        types["report.xlsx"]
        == types["report.en.xlsx"]
        == ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )
    assert types["report.html"] == types["report.en.html"] == "text/html; charset=utf-8"

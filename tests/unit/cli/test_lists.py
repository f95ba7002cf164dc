"""What staff read from the `propfee` command: tables in local time with the place and the owner, --json for
scripts, and one plain line (exit 2) when a setting is missing."""

import json

import pytest
from botocore.exceptions import NoRegionError

from propfee import cli
from propfee.cli import collection as cli_collection
from propfee.cli import feedback as cli_feedback
from propfee.domain.config import Settings
from propfee.domain.models import Channel, Collector, Community, Task, Ticket
from tests.support import at

SETTINGS = Settings(table="propfee-test")  # type: ignore[call-arg]
TASK = Task(
    task_id="C01-B01-2304.call_d15.1",
    unit_id="C01-B01-2304",
    community_id="C01",
    kind=Channel.CALL,
    step="call_d15",
    collector_id="K1",
    created_at=at("2026-11-11 09:31"),
    due_by=at("2026-11-13 09:31"),
    unit_label="B01-2304",
    owner_name="陈静",
    community_name="锦绣花园",
    building_name="1栋",
    room="2304",
    call_number="+8613812345678",
    balance_fen=25000,
)
TICKET = Ticket(
    ticket_id="T20261111-0A1B2C3D",
    community_id="C01",
    unit_ids=("C01-B01-2304",),
    department="engineering",
    intent="complaint",
    category="leak [kitchen]",
    priority="urgent",
    channel="sms",
    contact="+8613812345678",
    message="厨房漏水 [急]",
    created_at=at("2026-11-11 20:05"),
    due_by=at("2026-11-11 22:05"),
    source_id="m-1",
)


class Table:
    def __init__(self):
        self.team = [Collector(collector_id="K1", name="张伟", communities=("C01",), buildings=("C01-B01",))]

    def collectors(self):
        return list(self.team)

    def save_collector(self, collector):
        self.team = [c for c in self.team if c.collector_id != collector.collector_id] + [collector]

    def tasks(self, collector_id, status="open"):
        return [TASK] if collector_id == "K1" and status == "open" else []

    def communities(self):
        return [Community(community_id="C01", name="锦绣花园")]

    def tickets(self, department, status="open"):
        return [TICKET] if department == "engineering" and status == "open" else []


@pytest.fixture()
def table(monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")  # one line a row, as on a wide terminal
    shared = Table()
    for module in (cli_collection, cli_feedback):
        monkeypatch.setattr(module, "settings_and_table", lambda args: (SETTINGS, shared))
    return shared


def test_a_task_list_is_a_table_in_local_time_with_place_owner_collector_and_the_numbers_last_digits(table, capsys):
    assert cli.main(["task", "list"]) == 0
    out = capsys.readouterr().out
    [row] = [line for line in out.splitlines() if "C01-B01-2304" in line]
    for shown in ("call", "张伟", "锦绣花园", "1栋", "2304", "陈静", "*******5678", "250.00", "2026-11-11 09:31",
                  "2026-11-13 09:31", "open"):  # fmt: skip
        assert shown in row, shown
    assert "13812345678" not in out and "01:31" not in out  # masked; Shanghai time, not UTC
    assert "Asia/Shanghai" in out


def test_full_shows_the_number_to_call(table, capsys):
    assert cli.main(["task", "list", "--full"]) == 0
    assert "+8613812345678" in capsys.readouterr().out


def test_json_gives_scripts_one_object_a_line_with_iso_times_and_their_offset(table, capsys):
    assert cli.main(["task", "list", "--json"]) == 0
    [line] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line["created_at"] == "2026-11-11T09:31:00+08:00" and line["due_by"] == "2026-11-13T09:31:00+08:00"
    assert (line["community"], line["building"], line["room"], line["owner"]) == ("锦绣花园", "1栋", "2304", "陈静")
    assert (line["collector"], line["collector_name"], line["call"]) == ("K1", "张伟", "**********5678")
    assert cli.main(["task", "list", "--json", "--full"]) == 0
    assert json.loads(capsys.readouterr().out)["call"] == "+8613812345678"


def test_an_empty_list_says_so(table, capsys):
    assert cli.main(["task", "list", "--status", "done"]) == 0
    assert capsys.readouterr().out.strip() == "no done tasks"


def test_tickets_are_a_table_in_local_time_with_the_community_the_room_and_the_contact_masked(table, capsys):
    assert cli.main(["tickets", "list"]) == 0
    out = capsys.readouterr().out
    for shown in ("T20261111-0A1B2C3D", "engineering", "urgent", "锦绣花园", "B01-2304", "+86138****5678",
                  "2026-11-11 20:05", "2026-11-11 22:05", "厨房漏水 [急]", "leak [kitchen]"):  # fmt: skip
        assert shown in out, shown  # brackets in an owner's words are text, not rich markup
    assert "13812345678" not in out
    assert cli.main(["tickets", "list", "--json", "--full"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert (line["contact"], line["due_by"], line["community"]) == ("+8613812345678", "2026-11-11T22:05:00+08:00",
                                                                    "锦绣花园")  # fmt: skip


@pytest.mark.parametrize(
    "argv",
    [
        ["task", "list"],
        ["task", "done", "X.call.1", "--outcome", "refused"],
        ["tickets", "list"],
        ["tickets", "resolve", "T20261111-0A1B2C3D", "--note", "fixed"],
        ["plan", "--date", "2026-11-11", "--dry-run"],
        ["evidence", "C01-B01-2304"],
        ["claims", "list"],
        ["report", "notice-board", "--community", "C01", "--out", "x"],
    ],
)
def test_without_a_table_a_command_says_in_one_line_which_setting_is_missing(argv, monkeypatch, capsys):
    monkeypatch.delenv("PROPFEE_TABLE", raising=False)
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "propfee: set PROPFEE_TABLE or pass --table (the table name printed by `propfee sandbox up`)\n"
    )
    assert captured.out == ""


def test_a_report_without_a_bucket_and_a_bad_timezone_are_named_too(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("PROPFEE_REPORT_BUCKET", raising=False)
    assert cli.main(["report", "get", "--date", "2026-11-11", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("propfee: set PROPFEE_REPORT_BUCKET or pass --bucket")
    monkeypatch.setenv("PROPFEE_TIMEZONE", "Mars/Olympus")
    assert cli.main(["task", "list", "--table", "t"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("propfee: PROPFEE_TIMEZONE: ") and "unknown timezone" in line


def test_no_aws_region_is_one_line_too_and_other_errors_still_raise(monkeypatch, capsys):
    def no_region(args):
        raise NoRegionError()

    monkeypatch.setattr(cli_collection, "settings_and_table", no_region)
    assert cli.main(["task", "list"]) == 2
    assert capsys.readouterr().err.startswith("propfee: set AWS_REGION")

    def broken(args):
        raise KeyError("a bug")

    monkeypatch.setattr(cli_collection, "settings_and_table", broken)
    with pytest.raises(KeyError):
        cli.main(["task", "list"])


def test_deadlines_convert_to_the_companys_timezone(table, capsys, monkeypatch):
    monkeypatch.setattr(
        cli_collection,
        "settings_and_table",
        lambda args: (Settings(table="t", timezone="Asia/Tokyo"), Table()),  # type: ignore[call-arg]
    )
    assert cli.main(["task", "list", "--json"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["due_by"] == "2026-11-13T10:31:00+09:00"


def test_collectors_get_a_phone_and_an_email_for_their_digest_and_keep_what_was_not_given(table, capsys):
    assert cli.main(["collectors", "set", "K9", "--phone", "13900009999"]) == 2  # new: a name is needed
    assert capsys.readouterr().err == "propfee: K9 is new: give --name\n"
    assert cli.main(["collectors", "set", "K1", "--phone", "139 0000 1111", "--email", "zw@staff.example.com"]) == 0
    capsys.readouterr()
    [k1] = table.team
    assert (k1.phone, k1.email, k1.communities, k1.buildings) == ("+8613900001111", "zw@staff.example.com",
                                                                  ("C01",), ("C01-B01",))  # fmt: skip
    assert cli.main(["collectors", "set", "K1", "--phone", "12345"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("propfee: --phone: ") and "12345" not in line
    assert cli.main(["collectors", "set", "K1", "--email", ""]) == 0
    assert table.team[0].email is None and table.team[0].phone == "+8613900001111"


def test_the_collectors_list_masks_their_contacts_and_says_how_the_digest_reaches_them(table, capsys):
    table.save_collector(table.team[0].model_copy(update={"phone": "+8613900001111", "email": "zw@staff.example.com"}))
    assert cli.main(["collectors", "list"]) == 0
    out = capsys.readouterr().out
    assert "**********1111" in out and "z***@staff.example.com" in out and "email" in out
    assert "13900001111" not in out
    assert cli.main(["collectors", "list", "--json", "--full"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert (line["phone"], line["email"], line["digest_by"]) == ("+8613900001111", "zw@staff.example.com", "email")


class Queues:
    URL = "http://sqs/123/propfee-SendDeadLetterQueue-X"

    def sources(self):
        return {self.URL: "http://sqs/123/propfee-SendQueue-X"}

    def function_queues(self):
        return {}

    def depth(self, url):
        return 1

    def peek(self, url, count):
        body = '{"unit_id": "C01-B01-0101", "destination": "+8613812345678"}'
        return [{"Body": body, "MessageAttributes": {"reason": {"StringValue": "retries exhausted [SMS]"}}}]


def test_the_dead_letter_queues_are_a_table_with_reasons_and_numbers_masked_or_json(monkeypatch, capsys):
    import propfee.aws.queue

    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.setattr(propfee.aws.queue, "DeadLetterQueues", Queues)
    assert cli.main(["dlq", "list", "--show", "1"]) == 0
    out = capsys.readouterr().out
    assert "propfee-SendDeadLetterQueue-X" in out and "propfee-SendQueue-X" in out
    assert "retries exhausted [SMS]" in out and "13812345678" not in out
    assert cli.main(["dlq", "list", "--json", "--show", "1"]) == 0
    [line] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (line["messages"], line["samples"][0]["reason"]) == (1, "retries exhausted [SMS]")
    assert "reasons" not in line

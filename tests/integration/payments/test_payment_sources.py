"""What the report's online payments read, as recorded in the table (moto): a payment knows how it came (a
provider's notification, the reconciliation of its bill, an import), an order started on the bill page is in
the day's activity with its status, and a link's opening is kept once per link and day, with nothing of who."""

from datetime import date, timedelta

import boto3
import pytest
from moto import mock_aws

from propfee.aws import keys
from propfee.aws.dynamo import PropfeeTable
from propfee.aws.dynamo_table import from_attributes, to_attributes
from propfee.payments.links import BillLinks
from propfee.payments.ports import CheckoutKind, ProviderName
from propfee.reports.history import payment_sources
from tests.integration.payments.test_payment_notifications import OTHER, SHANGHAI, UNIT, checkout, import_payments
from tests.integration.payments.test_payment_notifications import stack as stack
from tests.integration.payments.test_reconciliation import reconcile as reconcile
from tests.support import at, create_table_from_template, unit


def ledger_item(table, unit_id: str, reference: str) -> dict:
    key = to_attributes(keys.payment_item(unit_id, reference))
    return from_attributes(table.db.get_item(TableName=table.name, Key=key)["Item"])


def test_a_notified_payment_a_reconciled_one_and_an_import_each_say_how_they_came(stack, reconcile):
    notified, _ = checkout(stack, ProviderName.WECHAT_PAY, CheckoutKind.WECHAT_NATIVE)
    stack.wechat.pay(notified.out_trade_no)
    assert stack.wechat.deliver_due() == 1
    dropped, _ = checkout(stack, ProviderName.ALIPAY, CheckoutKind.ALIPAY_QR, unit_id=OTHER)
    stack.alipay.pay(dropped.out_trade_no)  # its notification never comes: the night's reconciliation applies it
    reconcile()
    summary = import_payments(stack, "BANK-0001", "10.00")  # a payment at the office, from the billing system
    assert summary["rows_applied"] == 1

    wechat_tx = stack.table.get_order(notified.out_trade_no).transaction_id
    alipay_tx = stack.table.get_order(dropped.out_trade_no).transaction_id
    assert ledger_item(stack.table, UNIT, wechat_tx)["source"] == "provider"
    assert ledger_item(stack.table, OTHER, alipay_tx)["source"] == "reconciliation"
    assert ledger_item(stack.table, UNIT, "BANK-0001")["source"] == "import"

    # the billing system's export of the notified payment is recognised: still one payment, still online
    assert import_payments(stack, wechat_tx, "500.00")["rows_already_applied"] == 1
    assert ledger_item(stack.table, UNIT, wechat_tx)["source"] == "provider"

    # what the report reads of the days: the payments by source, the orders with their status now
    today = stack.clock.now().astimezone(SHANGHAI).date()
    imported_on = date.fromisoformat("2026-12-01")  # the export's date column
    wanted = {today + timedelta(days=n) for n in (-1, 0, 1)} | {imported_on}
    days = [stack.table.day_activity("C01", day) for day in sorted(wanted)]
    tallies = payment_sources(p for day in days for p in day.payments)
    assert {k: (t.count, t.amount_fen) for k, t in tallies.items()} == {
        "provider:wechat_pay": (1, 50_000),
        "reconciliation:alipay": (1, 50_000),
        "import": (1, 1_000),
    }
    orders = {(o.unit_id, o.provider): o for day in days for o in day.orders}
    assert set(orders) == {(UNIT, "wechat_pay"), (OTHER, "alipay")}
    assert {o.status for o in orders.values()} == {"paid"} and orders[(UNIT, "wechat_pay")].amount_fen == 50_000


@pytest.fixture()
def table():
    with mock_aws():
        client = boto3.client("dynamodb")
        table = PropfeeTable(create_table_from_template(client), SHANGHAI, client)
        table.put_buildings_and_units([], [unit("C01-B01-0101")])
        yield table


def calls_of(client) -> list[str]:
    made: list[str] = []
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: made.append(model.name))
    return made


def test_a_links_opening_is_kept_once_a_day_and_a_second_opening_that_day_makes_no_call(table):
    links = BillLinks(table, "https://jxwy.cn")
    issued = links.issue("C01-B01-0101", "C01", at("2026-11-10 09:00"))
    made = calls_of(table.db)

    first = links.resolve(issued.token, at("2026-11-11 09:30"))
    assert links.note_opening(first, at("2026-11-11 09:30"), SHANGHAI)
    again = links.resolve(issued.token, at("2026-11-11 21:00"))  # the owner back from the cashier, that evening
    assert again.opened_on == at("2026-11-11 09:30").date()
    assert not links.note_opening(again, at("2026-11-11 21:00"), SHANGHAI)
    assert made == ["GetItem", "TransactWriteItems", "GetItem"]  # the second opening: only the page's own read

    # a stale read (two openings at once): the table refuses the second, still once that day
    assert not links.note_opening(first, at("2026-11-11 09:31"), SHANGHAI)
    next_day = links.resolve(issued.token, at("2026-11-12 08:00"))
    assert links.note_opening(next_day, at("2026-11-12 08:00"), SHANGHAI)

    [opening] = table.day_activity("C01", at("2026-11-11 00:00").date()).link_openings
    assert (opening.unit_id, opening.at) == ("C01-B01-0101", at("2026-11-11 09:30"))
    assert len(table.day_activity("C01", at("2026-11-12 00:00").date()).link_openings) == 1
    key = to_attributes(keys.link_opening_item(issued.token, at("2026-11-11 00:00").date()))
    item = from_attributes(table.db.get_item(TableName=table.name, Key=key)["Item"])
    assert set(item) == {
        "pk",
        "sk",
        "kind",
        "unit_id",
        "community_id",
        "at",
        "activity_pk",
        "activity_sk",
        "expires_at",
    }  # fmt: skip  (no address, no browser, nobody's name)
    assert links.resolve(issued.token, at("2026-11-12 09:00")).opened_on == at("2026-11-12 00:00").date()

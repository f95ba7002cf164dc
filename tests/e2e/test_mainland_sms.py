"""The sandbox with SMS through each mainland provider's emulator: reminders go as approved templates through the
unpatched SDK, the evidence keeps exactly the text each owner received, and the provider's HTTP pushes to the
stack's HTTP API (sms_callbacks) bring the receipts into the evidence and the replies into the receive flow; a push
without the deploy's token is refused, and what a push holds that is unreadable or not ours is rejected alone."""

import json
import urllib.error
import urllib.request

import pytest
import yaml

from propfee.accounts.ledger import with_bill
from propfee.aws.dynamo_table import from_attributes
from propfee.aws.feedback import FeedbackTable
from propfee.domain.models import HoldKind, Owner, ReminderStatus
from propfee.local.emulators.sms import sent_by_emulators
from propfee.local.sandbox.runtime import patched_environ
from propfee.local.simulation.run import DEMO_SMS_ACCOUNTS
from tests.support import SHANGHAI, at, bill, community, unit
from tests.support.sandbox import START, dead_letters

pytestmark = pytest.mark.e2e

OWNERS = {"C01-B01-0101": "+8613900000001", "C01-B01-0102": "+8613900000002", "C01-B01-0103": "+8613900000003"}
ACCEPTED = {"aliyun": {"code": 0, "msg": "接收成功"}, "tencent": {"result": 0, "errmsg": "OK"}}
RECEIPTS = {"aliyun": "report", "tencent": "status"}


@pytest.fixture(params=["aliyun", "tencent"], scope="module")
def mainland(request, tmp_path_factory):
    from propfee.local.sandbox import Sandbox

    provider = request.param
    rules = tmp_path_factory.mktemp(provider) / "rules.yaml"
    rules.write_text(yaml.safe_dump({"sms": {"provider": provider, provider: DEMO_SMS_ACCOUNTS[provider]}}))
    with patched_environ({"PROPFEE_RULES_FILE": str(rules)}), Sandbox(start=START) as running:
        table = FeedbackTable(running.resources["PropfeeTable"], SHANGHAI)
        table.put_community(community())
        units = [
            with_bill(unit(u, owners=(Owner(name="业主", phone=phone),)), bill(u, "2026-10"))
            for u, phone in OWNERS.items()
        ]
        table.put_buildings_and_units([], units)
        running.table = table
        running.advance(at("2026-11-11 09:45"))  # the plan's reminders go out at 09:30; the receipts pushed
        yield provider, running


def reminders(sandbox):
    pages = sandbox.table.db.get_paginator("scan").paginate(TableName=sandbox.table.name)
    items = [from_attributes(i) for page in pages for i in page["Items"]]
    return [i for i in items if i.get("kind") == "reminder" and i.get("channel") == "sms"]


def callback_url(sandbox, provider, kind, token=None):
    emulator = sandbox.sms_emulators[provider]
    base = emulator.pushes.base_url
    return base if token is None else base.rsplit("/", 1)[0] + f"/{token}"


def post(url, body):
    request = urllib.request.Request(
        url, json.dumps(body, ensure_ascii=False).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_reminders_go_as_approved_templates_and_pushed_receipts_mark_them_delivered(mainland):
    provider, sandbox = mainland
    sent = {message_id: (phone, text) for message_id, phone, text in sent_by_emulators(sandbox.sms_emulators)}
    by_sms = reminders(sandbox)
    assert len(by_sms) == 3 and len(sent) == 3 and sandbox.sms_emulators[provider].refused == []
    for reminder in by_sms:
        assert reminder["provider_message_id"].startswith(f"{provider}:")
        assert sent[reminder["provider_message_id"]] == (reminder["destination"], reminder["text"])
        # delivered by the provider's own HTTP push, answered as it expects (nothing left to re-send)
        assert sandbox.table.reminder(reminder["unit_id"], reminder["sk"]).status is ReminderStatus.DELIVERED
    pushes = sandbox.sms_emulators[provider].pushes
    assert pushes.queue.pending() == [] and len(pushes.queue.deliveries) == 3
    assert all(json.loads(d.answers[0][1]) == ACCEPTED[provider] for d in pushes.queue.deliveries)


def test_pushed_replies_opt_out_and_open_a_ticket(mainland):
    provider, sandbox = mainland
    emulator = sandbox.sms_emulators[provider]
    number = (lambda e164: e164[3:]) if provider == "aliyun" else (lambda e164: e164)
    emulator.owner_replies(number(OWNERS["C01-B01-0101"]), "楼上漏水三个月了没人修")
    emulator.owner_replies(number(OWNERS["C01-B01-0102"]), "退订")
    sandbox.advance(at("2026-11-11 10:00"))

    [ticket] = sandbox.table.tickets("engineering")
    assert (ticket.intent, ticket.unit_ids) == ("complaint", ("C01-B01-0101",))
    held = sandbox.table.get_unit("C01-B01-0101")
    assert [(h.kind, h.ticket) for h in held.holds] == [(HoldKind.COMPLAINT, ticket.ticket_id)]
    assert sandbox.table.get_unit("C01-B01-0102").owners[0].sms_opt_out
    # the opt-out confirmed once through the same provider, with its approved template (the ticket's
    # acknowledgement has no approved template yet: approved_sms.yaml)
    acks = [(phone, text) for _, phone, text in sent_by_emulators(sandbox.sms_emulators)][3:]
    assert [phone for phone, _ in acks] == [OWNERS["C01-B01-0102"]] and "退订" in acks[0][1]


def test_a_push_without_the_deploys_token_is_refused_and_changes_nothing(mainland):
    provider, sandbox = mainland
    [first, *_] = reminders(sandbox)
    forged = [dict(item, success=False, err_code="UNDELIV") for item in _receipts(sandbox, provider)]
    for token in ("0" * 40, ""):
        status, answer = post(
            callback_url(sandbox, provider, RECEIPTS[provider], token) + f"/{RECEIPTS[provider]}", forged
        )
        assert status in (403, 404) and answer != ACCEPTED[provider]
    assert sandbox.table.reminder(first["unit_id"], first["sk"]).status is ReminderStatus.DELIVERED


def test_a_malformed_item_and_a_receipt_of_no_message_of_ours_are_rejected_and_the_rest_is_recorded(mainland):
    provider, sandbox = mainland
    good = dict(_receipts(sandbox, provider)[0])
    failed = _failed(provider, good)
    malformed = {k: v for k, v in good.items() if k not in ("biz_id", "sid")}
    not_ours = dict(good, **({"biz_id": "999999999999999999^0"} if provider == "aliyun" else {"sid": "2640:0"}))
    other_number = dict(
        good, **({"phone_number": "13900000099"} if provider == "aliyun" else {"mobile": "13900000099"})
    )
    url = callback_url(sandbox, provider, RECEIPTS[provider]) + f"/{RECEIPTS[provider]}"
    status, answer = post(url, [malformed, not_ours, other_number, failed])
    assert (status, answer) == (200, ACCEPTED[provider])
    rejected = [
        m["MessageAttributes"]["reason"]["StringValue"]
        for m in dead_letters(sandbox, "SmsCallbacksFunctionDeadLetterQueue")
    ]
    assert sorted(r.split(":")[0] for r in rejected[-3:]) == [f"{provider} receipt {n}" for n in (0, 1, 2)]
    assert "names no message propfee sent to that number" in rejected[-1]
    unit_id, claim = _claim(sandbox, provider, good)
    # the readable receipt of ours in the same push is recorded (a failure ranks after a delivery)
    assert sandbox.table.reminder(unit_id, claim).status is ReminderStatus.FAILED
    status, answer = post(url, "not an array")
    assert status == 400 and answer != ACCEPTED[provider]


def _receipts(sandbox, provider):
    emulator = sandbox.sms_emulators[provider]
    return emulator.receipts() if provider == "aliyun" else emulator.status_callback()


def _failed(provider, item):
    if provider == "aliyun":
        return dict(item, success=False, err_code="MK:0001")
    return dict(item, report_status="FAIL", errmsg="MK:0001")


def _claim(sandbox, provider, item):
    message_id = f"aliyun:{item['biz_id']}" if provider == "aliyun" else f"tencent:{item['sid']}"
    return sandbox.table.reminder_of_message(message_id)

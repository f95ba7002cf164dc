"""The send function in the sandbox with SMS through each mainland provider's emulator: reminders go as approved
templates through the unpatched SDK, the evidence keeps exactly the text each owner received, and a receipt read
from the provider's report finds its evidence."""

import json

import pytest
import yaml

from propfee.aws.dynamo_table import from_attributes
from propfee.collection.delivery import apply_delivery_event
from propfee.collection.delivery_mainland import aliyun_reports, tencent_reports
from propfee.domain.models import ReminderStatus
from propfee.local.emulators.sms import sent_by_emulators
from propfee.local.sandbox.runtime import patched_environ
from propfee.local.simulation.run import DEMO_SMS_ACCOUNTS
from tests.support import at

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["aliyun", "tencent"])
def mainland(request, tmp_path):
    from propfee.local.sandbox import Sandbox
    from tests.support.sandbox import START, small_community_in_arrears

    provider = request.param
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"sms": {"provider": provider, provider: DEMO_SMS_ACCOUNTS[provider]}}))
    with patched_environ({"PROPFEE_RULES_FILE": str(rules)}), Sandbox(start=START) as running:
        yield provider, small_community_in_arrears(running)


def test_reminders_go_as_approved_templates_and_the_evidence_is_what_the_owner_read(mainland):
    provider, sandbox = mainland
    sandbox.advance(at("2026-11-11 09:45"))  # the plan's reminders go out at 09:30
    sent = {message_id: (phone, text) for message_id, phone, text in sent_by_emulators(sandbox.sms_emulators)}
    pages = sandbox.table.db.get_paginator("scan").paginate(TableName=sandbox.table.name)
    items = [from_attributes(i) for page in pages for i in page["Items"]]
    by_sms = [i for i in items if i.get("kind") == "reminder" and i.get("channel") == "sms"]
    assert len(by_sms) == 7 and {r["status"] for r in by_sms} == {"sent"}
    assert len(sent) == 7 and sandbox.sms_emulators[provider].refused == []
    for reminder in by_sms:
        assert reminder["provider_message_id"].startswith(f"{provider}:")
        assert sent[reminder["provider_message_id"]] == (reminder["destination"], reminder["text"])
    emulator = sandbox.sms_emulators[provider]
    reports = aliyun_reports(json.dumps(emulator.receipts())) if provider == "aliyun" else tencent_reports(
        json.dumps(emulator.status_callback()))  # fmt: skip
    assert {apply_delivery_event(event, sandbox.table) for event in reports} == {"recorded"}
    assert len(reports) == 7
    for event in reports:
        assert sandbox.table.reminder(event.unit_id, event.claim_key).status is ReminderStatus.DELIVERED

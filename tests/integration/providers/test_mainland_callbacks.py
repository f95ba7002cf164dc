"""The emulators' receipts and replies, in the providers' shapes, read into propfee's delivery events and inbound
messages; malformed ones refused with the field, never the value."""

from datetime import date, datetime

import pytest

from propfee.collection.delivery import UnreadableEvent, apply_delivery_event
from propfee.collection.delivery_mainland import aliyun_reports, tencent_reports
from propfee.collection.messages import render
from propfee.domain.identity import CompanyIdentity
from propfee.domain.models import Channel, ReminderStatus, SendJob
from propfee.feedback.receiving_mainland import UnreadableReply, aliyun_replies, tencent_reply
from propfee.local.emulators.sms import (
    SANDBOX_ALIYUN_KEY,
    SANDBOX_TENCENT_APP,
    SANDBOX_TENCENT_KEY,
    aliyun_emulator,
    tencent_emulator,
)
from propfee.providers.aliyun_sms import AliyunSms
from propfee.providers.tencent_sms import TencentSms
from tests.support import SHANGHAI

PHONE = "+8613812345678"
CLAIM = {"claim": "REMINDER#sms_d1#1", "unit_id": "C01-B1-101"}
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)


def reminder():
    job = SendJob(
        unit_id="C01-B1-101", community_id="C01", step="sms_d1", channel=Channel.SMS, destination=PHONE,
        language="zh-CN", template="reminder_friendly", overdue_since=date(2026, 12, 1), planned_for=date(2026, 12, 2),
        unit_version=0, unit_label="B1-101", community_name="锦绣花园", building_name="1栋", room="101",
        owner_surname="王", balance_fen=123456,
    )  # fmt: skip
    return render(job, date(2026, 12, 2), CompanyIdentity())


class Evidence:
    def __init__(self):
        self.recorded = []

    def reminder_of_message(self, provider_message_id):
        return None

    def record_delivery(self, event):
        from propfee.collection.delivery import Recorded

        self.recorded.append(event)
        return Recorded.RECORDED

    def disable_addresses(self, unit_id, channel, addresses, reason):
        raise AssertionError("a delivered message disables nothing")


def test_an_aliyun_receipt_finds_its_claim_and_a_reply_becomes_an_inbound_message():
    import json

    with (emulator := aliyun_emulator()) as endpoint:
        sent = reminder()
        message_id = AliyunSms(SANDBOX_ALIYUN_KEY, endpoint).send_sms(PHONE, sent.body, CLAIM, sent.template)
        (event,) = aliyun_reports(json.dumps(emulator.receipts()))
    assert (event.provider_message_id, event.unit_id, event.claim_key) == (message_id, "C01-B1-101", CLAIM["claim"])
    evidence = Evidence()
    assert apply_delivery_event(event, evidence) == "recorded"
    assert evidence.recorded[0].status is ReminderStatus.DELIVERED
    (inbound,) = aliyun_replies(json.dumps([emulator.reply("13812345678", "TD", "物业服务中心")]), NOW)
    assert (inbound.sender, inbound.body, inbound.channel) == (PHONE, "TD", "sms")


def test_a_tencent_status_report_and_reply_are_read_and_a_redelivered_reply_keeps_its_id():
    import json

    with (emulator := tencent_emulator()) as endpoint:
        sent = reminder()
        sender = TencentSms(SANDBOX_TENCENT_KEY, SANDBOX_TENCENT_APP, endpoint=endpoint)
        message_id = sender.send_sms(PHONE, sent.body, CLAIM, sent.template)
        (event,) = tencent_reports(json.dumps(emulator.status_callback()))
    assert (event.provider_message_id, event.claim_key, event.status) == (
        message_id, CLAIM["claim"], ReminderStatus.DELIVERED)  # fmt: skip
    pushed = json.dumps(emulator.reply(PHONE, "下周交", "物业服务中心"))
    first, again = tencent_reply(pushed, NOW), tencent_reply(pushed, NOW)
    assert first.source_id == again.source_id and (first.sender, first.body) == (PHONE, "下周交")


def test_malformed_callbacks_are_refused_naming_the_field_not_the_value():
    with pytest.raises(UnreadableEvent, match=r"Aliyun SmsReport: 0.biz_id: Field required"):
        aliyun_reports('[{"phone_number": "13812345678", "report_time": "2026-12-02 10:00:00", "success": true}]')
    with pytest.raises(UnreadableEvent, match=r"not JSON"):
        tencent_reports("{")
    with pytest.raises(UnreadableReply) as refused:
        tencent_reply('{"mobile": "13812345678x", "nationcode": "86", "text": "hi", "time": 1}', NOW)
    assert "mobile" in str(refused.value) and "13812345678x" not in str(refused.value)


def test_tencents_pull_apis_bring_what_no_push_brought_once_read_as_the_pushes_are():
    import json
    from collections import Counter

    from propfee.feedback.sms_callbacks import pull_tencent
    from tests.unit.feedback.test_sms_callbacks import Fakes, Reminder

    with (emulator := tencent_emulator()) as endpoint:
        sms = TencentSms(SANDBOX_TENCENT_KEY, SANDBOX_TENCENT_APP, endpoint=endpoint)
        sent = reminder()
        claim = {"claim": "REMINDER#sms_d1#1", "unit_id": "C01-B01-0101"}
        message_id = sms.send_sms("+8613900000001", sent.body, claim, sent.template)
        pushed = emulator.reply("+8613900000001", "退订", "物业服务中心")
        fakes = Fakes()
        fakes.reminders[("C01-B01-0101", "REMINDER#sms_d1#1")] = Reminder(message_id, "+8613900000001")
        assert pull_tencent(sms, fakes, NOW) == Counter(recorded=1, acted=1) and fakes.rejected == []
        assert [e.provider_message_id for e in fakes.recorded] == [message_id]
        [reply] = fakes.received
        assert (reply.sender, reply.body) == ("+8613900000001", "退订")
        # pushed and pulled, one reply is one message (the receive flow records it once)
        assert tencent_reply(json.dumps(pushed), NOW).source_id == reply.source_id
        assert pull_tencent(sms, fakes, NOW) == Counter()  # each report and reply is pulled once

"""The Aliyun and Tencent SDKs, unpatched but for their endpoint, against the local emulators: signatures checked,
approved templates only, per-number results, the claim carried for the receipts."""

from datetime import date

import pytest

from propfee.collection.messages import render
from propfee.domain.identity import CompanyIdentity
from propfee.domain.models import Channel, SendJob
from propfee.domain.ports import ProviderOutcomeUnknown, ProviderRejected, ProviderUnavailable, SmsBatchItem
from propfee.local.emulators.sms import (
    SANDBOX_ALIYUN_KEY,
    SANDBOX_TENCENT_APP,
    SANDBOX_TENCENT_KEY,
    aliyun_emulator,
    tencent_emulator,
)
from propfee.providers.aliyun_sms import AliyunSms
from propfee.providers.sms_failover import FailoverSms
from propfee.providers.tencent_sms import TencentSms

PHONE = "+8613812345678"
CLAIM = {"claim": "sms_d1#1", "unit_id": "C01-B1-101"}


def message(**changes):
    values = dict(
        unit_id="C01-B1-101", community_id="C01", step="sms_d1", channel=Channel.SMS, destination=PHONE,
        language="zh-CN", template="reminder_friendly", overdue_since=date(2026, 12, 1), planned_for=date(2026, 12, 2),
        unit_version=0, unit_label="B1-101", community_name="锦绣花园", building_name="1栋", room="101",
        owner_surname="王", balance_fen=123456,
    )  # fmt: skip
    return render(SendJob(**{**values, **changes}), date(2026, 12, 2), CompanyIdentity())


@pytest.fixture
def aliyun():
    emulator = aliyun_emulator()
    endpoint = emulator.start()
    yield emulator, endpoint
    emulator.stop()


@pytest.fixture
def tencent():
    emulator = tencent_emulator()
    endpoint = emulator.start()
    yield emulator, endpoint
    emulator.stop()


def test_aliyun_sends_the_approved_template_and_the_owner_reads_the_evidence_text(aliyun):
    emulator, endpoint = aliyun
    sent = message()
    message_id = AliyunSms(SANDBOX_ALIYUN_KEY, endpoint).send_sms(PHONE, sent.body, CLAIM, sent.template)
    (received,) = emulator.sent
    assert message_id == f"aliyun:{received.biz_id}"
    assert (received.phone, received.template_code, received.text) == ("13812345678", "SMS_480000003", sent.body)
    assert received.out_id == "claim=sms_d1#1|unit_id=C01-B1-101"
    (receipt,) = emulator.receipts()
    assert receipt["out_id"] == received.out_id and receipt["err_code"] == "DELIVERED"


def test_aliyun_refuses_a_wrong_secret_and_an_unknown_key(aliyun):
    emulator, endpoint = aliyun
    sent = message()
    with pytest.raises(ProviderRejected, match=r"SignatureDoesNotMatch"):
        AliyunSms({**SANDBOX_ALIYUN_KEY, "access_key_secret": "not-it"}, endpoint).send_sms(
            PHONE, sent.body, CLAIM, sent.template
        )
    with pytest.raises(ProviderRejected, match=r"InvalidAccessKeyId.NotFound"):
        AliyunSms({**SANDBOX_ALIYUN_KEY, "access_key_id": "LTAIother"}, endpoint).send_sms(
            PHONE, sent.body, CLAIM, sent.template
        )
    assert emulator.sent == []


def test_aliyun_refuses_a_template_code_or_signature_it_never_approved(aliyun):
    emulator, endpoint = aliyun
    emulator.templates.pop("SMS_480000003")
    sent = message()
    with pytest.raises(ProviderRejected, match=r"isv.SMS_TEMPLATE_ILLEGAL"):
        AliyunSms(SANDBOX_ALIYUN_KEY, endpoint).send_sms(PHONE, sent.body, CLAIM, sent.template)
    emulator.signatures.clear()
    with pytest.raises(ProviderRejected, match=r"isv.SMS_SIGNATURE_ILLEGAL"):
        AliyunSms(SANDBOX_ALIYUN_KEY, endpoint).send_sms(PHONE, message().body, CLAIM, sent.template)
    assert emulator.sent == []


def test_an_over_long_variable_is_refused_before_anything_is_sent(aliyun, tencent):
    too_long = message(community_name="很长很长很长很长的小区名字" * 3)
    for sender in (
        AliyunSms(SANDBOX_ALIYUN_KEY, aliyun[1]),
        TencentSms(SANDBOX_TENCENT_KEY, SANDBOX_TENCENT_APP, endpoint=tencent[1]),
    ):
        with pytest.raises(ProviderRejected, match=r"variable unit_address has"):
            sender.send_sms(PHONE, too_long.body, CLAIM, too_long.template)
    assert aliyun[0].sent == tencent[0].sent == [] and aliyun[0].refused == tencent[0].refused == []


def test_tencent_sends_per_number_and_carries_the_claim(tencent):
    emulator, endpoint = tencent
    sent = message(language="en", template="reminder_notice")
    sender = TencentSms(SANDBOX_TENCENT_KEY, SANDBOX_TENCENT_APP, endpoint=endpoint)
    message_id = sender.send_sms(PHONE, sent.body, CLAIM, sent.template)
    (received,) = emulator.sent
    assert message_id == f"tencent:{received.serial_no}" and received.text == sent.body
    assert received.session_context == "claim=sms_d1#1|unit_id=C01-B1-101"
    emulator.refused_numbers.add("+8613900000000")
    with pytest.raises(ProviderRejected, match=r"FailedOperation.PhoneNumberInBlacklist"):
        sender.send_sms("+8613900000000", sent.body, CLAIM, sent.template)
    assert len(emulator.sent) == 1


def test_tencent_refuses_a_wrong_secret_an_unapproved_template_and_signature(tencent):
    emulator, endpoint = tencent
    sent = message()
    with pytest.raises(ProviderRejected, match=r"AuthFailure.SignatureFailure"):
        TencentSms({**SANDBOX_TENCENT_KEY, "secret_key": "not-it"}, SANDBOX_TENCENT_APP,
                   endpoint=endpoint).send_sms(PHONE, sent.body, CLAIM, sent.template)  # fmt: skip
    sender = TencentSms(SANDBOX_TENCENT_KEY, SANDBOX_TENCENT_APP, endpoint=endpoint)
    emulator.templates.pop("2300003")
    with pytest.raises(ProviderRejected, match=r"TemplateIncorrectOrUnapproved"):
        sender.send_sms(PHONE, sent.body, CLAIM, sent.template)
    emulator.signatures.clear()
    with pytest.raises(ProviderRejected, match=r"SignatureIncorrectOrUnapproved"):
        sender.send_sms(PHONE, sent.body, CLAIM, sent.template)
    assert emulator.sent == []


def test_a_provider_not_reached_is_unavailable_and_the_next_one_sends(tencent):
    emulator, endpoint = tencent
    sent = message()
    down = AliyunSms(SANDBOX_ALIYUN_KEY, "127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(ProviderUnavailable, match=r"not reached"):
        down.send_sms(PHONE, sent.body, CLAIM, sent.template)
    both = FailoverSms(
        [("aliyun", down), ("tencent", TencentSms(SANDBOX_TENCENT_KEY, SANDBOX_TENCENT_APP,
                                                   endpoint=endpoint))]
    )  # fmt: skip
    assert both.send_sms(PHONE, sent.body, CLAIM, sent.template).startswith("tencent:")
    assert len(emulator.sent) == 1


def test_a_timeout_after_sending_is_an_unknown_outcome(tencent):
    emulator, endpoint = tencent
    sent = message()
    import threading

    release = threading.Event()
    original = emulator.handle

    def slow(*args):
        answer = original(*args)
        release.wait(3)  # answers after the client gave up: the message is sent, the sender cannot know
        return answer

    emulator.handle = slow
    sender = TencentSms(SANDBOX_TENCENT_KEY, SANDBOX_TENCENT_APP, endpoint=endpoint, timeout_seconds=1)
    try:
        with pytest.raises(ProviderOutcomeUnknown):
            sender.send_sms(PHONE, sent.body, CLAIM, sent.template)
    finally:
        release.set()
    assert len(emulator.sent) == 1


def test_an_aliyun_send_whose_answer_was_lost_is_found_by_its_claim(aliyun):
    import threading
    from datetime import datetime, timedelta, timezone

    emulator, endpoint = aliyun
    sent = message()
    release, original = threading.Event(), emulator.handle

    def slow(*args):
        answer = original(*args)
        release.wait(3)
        return answer

    emulator.handle = slow
    sender = AliyunSms(SANDBOX_ALIYUN_KEY, endpoint, read_timeout_ms=1000)
    try:
        with pytest.raises(ProviderOutcomeUnknown, match=r"may have been sent"):
            sender.send_sms(PHONE, sent.body, CLAIM, sent.template)
    finally:
        release.set()
    emulator.handle = original
    assert len(emulator.sent) == 1  # the SDK did not send it again on its own
    today = datetime.now(timezone(timedelta(hours=8))).date()
    (found,) = AliyunSms(SANDBOX_ALIYUN_KEY, endpoint).find_sent(PHONE, today, CLAIM)
    assert (found.text, found.status) == (sent.body, "delivered")
    assert AliyunSms(SANDBOX_ALIYUN_KEY, endpoint).find_sent(PHONE, today, {"claim": "other", "unit_id": "u"}) == []


def test_tencent_batch_one_request_per_text_each_numbers_answer_mapped_back_refused_ones_with_their_reason(tencent):
    emulator, endpoint = tencent
    same = message(language="en", template="reminder_notice")
    other = message(language="en", template="reminder_notice", balance_fen=99)
    numbers = ["+8613900000001", "+8613900000002", "+8613900000003", "+861390000000"]  # the last is too short
    emulator.refused_numbers.add(numbers[1])
    items = [
        SmsBatchItem(n, same.body, {"claim": f"c{i}", "unit_id": "U"}, same.template) for i, n in enumerate(numbers)
    ]
    items.append(SmsBatchItem(numbers[0], other.body, {"claim": "c9", "unit_id": "U"}, other.template))
    items.append(SmsBatchItem(numbers[2], "no signature", {"claim": "c10", "unit_id": "U"}, same.template))
    results = TencentSms(SANDBOX_TENCENT_KEY, SANDBOX_TENCENT_APP, endpoint=endpoint).send_sms_batch(items)

    sent = {s.serial_no: s for s in emulator.sent}
    assert [sent[r.removeprefix("tencent:")].phone for r in (results[0], results[2], results[4])] == [
        numbers[0], numbers[2], numbers[0]]  # fmt: skip
    assert sent[results[4].removeprefix("tencent:")].text == other.body  # its own request, its own values
    assert isinstance(results[1], ProviderRejected) and "PhoneNumberInBlacklist" in str(results[1])
    assert isinstance(results[3], ProviderRejected) and "IncorrectPhoneNumber" in str(results[3])
    assert isinstance(results[5], ProviderRejected) and "signature" in str(results[5])  # refused before sending
    assert len(emulator.sent) == 3  # each accepted number once

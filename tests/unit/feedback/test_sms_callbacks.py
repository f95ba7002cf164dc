"""The mainland providers' pushes: without the deploy's token nothing is read; each item stands alone, the
unreadable and the receipts that name no message of ours rejected with the reason, the rest recorded."""

import json
from collections import Counter
from datetime import UTC, datetime

from propfee.collection.delivery import Recorded
from propfee.feedback.sms_callbacks import ACCEPTED, answer_push, answer_route, token_matches

TOKEN = b"T" * 40
NOW = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)


class Reminder:
    def __init__(self, message_id, destination):
        self.provider_message_id, self.destination = message_id, destination


class Fakes:
    def __init__(self):
        self.rejected, self.recorded, self.received = [], [], []
        self.reminders = {("C01-B01-0101", "REMINDER#sms_d1#1"): Reminder("aliyun:111^0", "+8613900000001")}
        self.messages = {"tencent:2640:1": ("C01-B01-0101", "REMINDER#sms_d1#1")}

    def token(self):
        return TOKEN

    def store(self):
        return self

    def receive(self, message, raw, now):
        self.received.append(message)
        return type("Result", (), {"outcome": type("O", (), {"value": "acted"})()})()

    def reject(self, body, reason):
        self.rejected.append((body, reason))

    def reminder(self, unit_id, claim):
        return self.reminders.get((unit_id, claim))

    def reminder_of_message(self, message_id):
        return self.messages.get(message_id)

    def record_delivery(self, event):
        self.recorded.append(event)
        return Recorded.RECORDED

    def disable_addresses(self, *args):
        raise AssertionError("SMS receipts switch nothing off")


def aliyun(**changes):
    item = {"phone_number": "13900000001", "send_time": "2026-11-11 09:30:02", "report_time": "2026-11-11 09:30:07",
            "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1",
            "biz_id": "111^0", "out_id": "claim=REMINDER#sms_d1#1|unit_id=C01-B01-0101"}  # fmt: skip
    return {**item, **changes}


def test_the_token_is_compared_whole_and_an_empty_secret_matches_nothing():
    assert token_matches("T" * 40, TOKEN)
    assert not token_matches("T" * 39, TOKEN) and not token_matches("T" * 39 + "U", TOKEN)
    assert not token_matches("", b"")


def test_a_push_without_the_token_is_refused_as_the_provider_reads_a_refusal_and_nothing_is_read():
    fakes = Fakes()
    for provider in ("aliyun", "tencent"):
        status, answer, tally = answer_push(provider, "reply", "guess", "[]", NOW, fakes)
        assert status == 403 and answer != ACCEPTED[provider] and tally == Counter(forged=1)
    assert fakes.recorded == fakes.received == fakes.rejected == []


def test_a_route_that_names_no_providers_push_is_404_and_nothing_is_read():
    fakes = Fakes()
    push = json.dumps([aliyun()])
    for provider, kind in (("aliyun", "status"), ("tencent", "report"), ("other", "reply")):
        assert answer_route(provider, kind, "T" * 40, push, NOW, fakes)[0] == 404
    assert fakes.recorded == fakes.received == fakes.rejected == []
    assert answer_route("aliyun", "report", "T" * 40, push, NOW, fakes)[0] == 200  # the provider's own name


def test_each_receipt_stands_alone_the_bad_ones_rejected_with_their_reason():
    fakes = Fakes()
    push = [aliyun(), {"phone_number": "13900000001"}, aliyun(biz_id="222^0"), aliyun(phone_number="13900000002")]
    status, answer, tally = answer_push("aliyun", "report", "T" * 40, json.dumps(push), NOW, fakes)
    assert (status, answer) == (200, {"code": 0, "msg": "接收成功"})
    assert [e.provider_message_id for e in fakes.recorded] == ["aliyun:111^0"]
    assert [reason.split(":")[0] for _, reason in fakes.rejected] == ["aliyun receipt 1", "aliyun receipt 2",
                                                                     "aliyun receipt 3"]  # fmt: skip
    assert "names no message propfee sent to that number" in fakes.rejected[2][1]
    assert json.loads(fakes.rejected[0][0]) == {"phone_number": "13900000001"}  # kept whole
    assert tally == Counter(rejected=3, recorded=1)


def test_a_tencent_receipt_without_its_context_is_led_by_its_serial_number_and_checked_against_the_number():
    fakes = Fakes()
    fakes.reminders[("C01-B01-0101", "REMINDER#sms_d1#1")] = Reminder("tencent:2640:1", "+8613900000001")
    report = {"user_receive_time": "2026-11-11 09:30:07", "nationcode": "86", "mobile": "13900000001",
              "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "ok", "sid": "2640:1"}  # fmt: skip
    elsewhere = dict(report, mobile="13900000009")
    status, answer, _ = answer_push("tencent", "status", "T" * 40, json.dumps([report, elsewhere]), NOW, fakes)
    assert (status, answer) == (200, {"result": 0, "errmsg": "OK"})
    assert [(e.unit_id, e.claim_key) for e in fakes.recorded] == [("C01-B01-0101", "REMINDER#sms_d1#1")]
    assert len(fakes.rejected) == 1


def test_an_acknowledgements_receipt_is_answered_and_not_rejected():
    fakes = Fakes()
    status, _, tally = answer_push("aliyun", "report", "T" * 40, json.dumps([aliyun(out_id="reply_to=aliyun:9")]),
                                   NOW, fakes)  # fmt: skip
    assert status == 200 and tally == Counter(acknowledgement=1) and fakes.rejected == []


def test_a_body_that_is_not_the_providers_shape_is_kept_and_refused():
    fakes = Fakes()
    status, answer, _ = answer_push("aliyun", "reply", "T" * 40, '{"phone_number": "1"}', NOW, fakes)
    assert status == 400 and answer["code"] != 0
    assert fakes.rejected == [('{"phone_number": "1"}', "aliyun reply push: not a JSON array")]


def test_replies_tencent_one_object_aliyun_an_array_each_item_alone():
    fakes = Fakes()
    tencent = {"extend": "", "mobile": "13900000001", "nationcode": "86", "sign": "锦绣物业", "text": "退订",
               "time": 1794362400}  # fmt: skip
    assert answer_push("tencent", "reply", "T" * 40, json.dumps(tencent), NOW, fakes)[0] == 200
    up = [
        {"phone_number": "13900000002", "content": "TD", "send_time": "2026-11-11 10:00:00", "sequence_id": 7},
        {"phone_number": "not a number", "content": "x", "send_time": "", "sequence_id": 8},
    ]
    status, _, tally = answer_push("aliyun", "reply", "T" * 40, json.dumps(up, ensure_ascii=False), NOW, fakes)
    assert status == 200 and tally == Counter(acted=1, rejected=1)
    assert [(m.sender, m.body) for m in fakes.received] == [("+8613900000001", "退订"), ("+8613900000002", "TD")]
    assert fakes.rejected[0][1].startswith("aliyun reply 1: Aliyun SmsUp: phone_number")

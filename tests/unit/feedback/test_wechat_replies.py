"""Owners' messages on the WeChat account: the same classification as SMS replies, an opt-out stopping the WeChat
binding only, and the account's pushes refused when forged (nothing received, nothing rejected)."""

from collections import Counter

from propfee.domain.models import InboundMessage, Owner, ReminderStatus, WechatBinding
from propfee.feedback.intents import classify
from propfee.feedback.receiving import Outcome, ReceiveResult
from propfee.feedback.responses import respond
from propfee.feedback.wechat_callbacks import ForgedPush, answer_wechat, owner_message, send_finished
from propfee.rules import load_rules
from tests.support import SHANGHAI, at, unit

OPENID = "oOwnerOpenid0000000000000001"
NOW = at("2026-11-15 10:00")


def test_a_wechat_opt_out_stops_the_binding_not_the_owners_sms():
    owner = Owner(name="王芳", phone="+8613812345678")
    bound = unit(owners=(owner,), wechat=(WechatBinding(openid=OPENID, bound_at=NOW),))
    message = owner_message({"MsgId": "1", "FromUserName": OPENID, "Content": "退订"}, NOW)
    response = respond(message, classify(message.body, NOW.date()), [bound], load_rules().feedback, SHANGHAI)
    [after] = response.units_after
    assert after.wechat[0].opt_out and not after.owners[0].sms_opt_out
    assert response.acknowledgement is not None and response.changes == ("opt_out for wechat",)


class Inbox:
    def __init__(self, fields=None, forged=False):
        self.fields, self.forged = fields or {}, forged

    def echo(self, query):
        if self.forged:
            raise ForgedPush("signature")
        return query["echostr"]

    def read_push(self, query, body):
        if self.forged:
            raise ForgedPush("signature")
        return self.fields


class Services:
    def __init__(self, inbox):
        self._inbox = inbox
        self.received: list[InboundMessage] = []
        self.rejected: list[str] = []

    def inbox(self):
        return self._inbox

    def store(self):
        raise AssertionError("not read")

    def receive(self, message, raw, now):
        self.received.append(message)
        return ReceiveResult(Outcome.ACTED)

    def reject(self, body, reason):
        self.rejected.append(reason)


def test_a_forged_push_or_check_is_refused_and_nothing_is_read():
    services = Services(Inbox(forged=True))
    assert answer_wechat("POST", {}, "<xml/>", NOW, services) == (403, "forbidden", Counter(forged=1))
    assert answer_wechat("GET", {"echostr": "1"}, "", NOW, services)[0] == 403
    assert services.received == [] and services.rejected == []


def test_a_text_is_received_as_the_owners_message_and_other_kinds_are_answered_and_left():
    text = {"MsgType": "text", "MsgId": "77", "FromUserName": OPENID, "ToUserName": "gh_1", "Content": "已经交了"}
    services = Services(Inbox(text))
    assert answer_wechat("POST", {}, "", NOW, services)[:2] == (200, "success")
    [message] = services.received
    assert (message.source_id, message.channel, message.sender) == ("wechat:77", "wechat", f"wechat:{OPENID}")
    image = Services(Inbox({"MsgType": "image", "MsgId": "78", "FromUserName": OPENID}))
    assert answer_wechat("POST", {}, "", NOW, image) == (200, "success", Counter(ignored_image=1))
    broken = Services(Inbox({"MsgType": "text", "FromUserName": OPENID}))  # no MsgId
    assert answer_wechat("POST", {}, "", NOW, broken)[2] == Counter(rejected=1)
    assert broken.rejected == ["wechat text without 'MsgId'"]


def test_the_send_finish_event_delivered_or_failed_with_its_status():
    event = {"MsgID": "200163836", "FromUserName": OPENID, "Status": "success", "CreateTime": "1395658920"}
    delivered = send_finished(event, NOW)
    assert (delivered.provider_message_id, delivered.status, delivered.disable) == (
        "wechat:200163836",
        ReminderStatus.DELIVERED,
        (),
    )
    blocked = send_finished({**event, "Status": "failed:user block"}, NOW)
    assert blocked.status is ReminderStatus.FAILED and blocked.reason == "wechat failed:user block"
    assert blocked.disable == (OPENID,)  # the owner refuses the account's messages: not used again
    assert send_finished({**event, "Status": "failed: system failed"}, NOW).disable == ()


class BindingStore:
    def __init__(self, units):
        self.units = units
        self.disabled: list[tuple[str, str, tuple[str, ...], str]] = []

    def units_by_contact(self, sender):
        return [u for u in self.units if any(f"wechat:{b.openid}" == sender for b in u.wechat)]

    def disable_addresses(self, unit_id, channel, addresses, reason):
        from propfee.collection.delivery import Disabled

        self.disabled.append((unit_id, channel.value, addresses, reason))
        return Disabled.DISABLED


def test_unfollowing_the_account_stops_each_of_the_owners_bindings():
    binding = (WechatBinding(openid=OPENID, bound_at=NOW),)
    store = BindingStore(
        [unit("C01-B01-0101", wechat=binding), unit("C01-B01-0102", wechat=binding), unit("C01-B01-0103")]
    )
    services = Services(Inbox({"MsgType": "event", "Event": "unsubscribe", "FromUserName": OPENID}))
    services.store = lambda: store
    assert answer_wechat("POST", {}, "", NOW, services) == (200, "success", Counter(unfollowed_address_disabled=2))
    assert [d[:3] for d in store.disabled] == [
        ("C01-B01-0101", "wechat", (OPENID,)),
        ("C01-B01-0102", "wechat", (OPENID,)),
    ]

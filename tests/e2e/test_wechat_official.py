"""The WeChat official account in the sandbox: an owner opens the bill link of an SMS reminder in WeChat and binds
their WeChat to the unit (OAuth snsapi_base through the emulator); the next step goes to them as a template message
(the evidence keeps the text they read), the unbound unit gets an SMS instead; the send-finish event marks the
reminder delivered; the owner's 退订 to the account stops the WeChat reminders; a forged push is refused and
nothing is written."""

import urllib.error
import urllib.request
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml

from propfee.accounts.ledger import with_bill
from propfee.aws.dynamo_table import from_attributes
from propfee.aws.feedback import FeedbackTable
from propfee.domain.models import Owner, ReminderStatus
from propfee.local.emulators.wechat_setup import DEMO_WECHAT_ACCOUNT
from propfee.local.sandbox.runtime import patched_environ
from tests.support import ROOT, SHANGHAI, at, bill, community, unit
from tests.support.sandbox import START, dead_letters

pytestmark = pytest.mark.e2e

BOUND, UNBOUND = "C01-B01-0101", "C01-B01-0102"
PHONES = {BOUND: "+8613900000011", UNBOUND: "+8613900000012"}
OPENID = "oSandboxOwner0101xxxxxxxxxxx"
TEMPLATE = {
    "template_id": "TPLsandbox-bill-notice-0001",
    "title": "物业费缴费通知",
    "content": "房屋：{{thing1.DATA}}\n应缴金额：{{amount2.DATA}}\n逾期起始：{{time3.DATA}}",
    "fields": {"thing1": "{unit_address}", "amount2": "{amount}元", "time3": "{overdue_since}"},
}
RULES = {
    "ladder": {
        "steps": [
            {"step_id": "sms_d30", "days_overdue": 30, "channel": "sms", "template": "reminder_friendly"},
            {"step_id": "wechat_d36", "days_overdue": 36, "channel": "wechat", "template": "reminder_notice"},
        ]
    },
    "wechat": {**DEMO_WECHAT_ACCOUNT, "templates": {"reminder_notice": TEMPLATE}},
}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the test follows each hop itself, as the WeChat browser would


def get(url):
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(url, timeout=10) as answer:  # nosec B310 - the sandbox's loopback servers
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode()


def post(url, body: bytes):
    request = urllib.request.Request(url, body, {"Content-Type": "text/xml"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # nosec B310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    from propfee.local.sandbox import Sandbox

    rules = tmp_path_factory.mktemp("wechat") / "rules.yaml"
    rules.write_text(yaml.safe_dump(RULES, allow_unicode=True))
    with patched_environ({"PROPFEE_RULES_FILE": str(rules)}), Sandbox(start=START, bill_links=True) as running:
        table = FeedbackTable(running.resources["PropfeeTable"], SHANGHAI)
        table.put_community(community())
        units = [
            with_bill(unit(u, owners=(Owner(name="业主", phone=phone),)), bill(u, "2026-10"))
            for u, phone in PHONES.items()
        ]
        table.put_buildings_and_units([], units)
        running.table = table
        running.wechat_emulator.followers.add(OPENID)  # the owner follows the company's account
        running.advance(at("2026-11-11 10:00"))  # day 32: sms_d30, each SMS with the unit's bill link
        yield running


def reminders(sandbox, channel):
    pages = sandbox.table.db.get_paginator("scan").paginate(TableName=sandbox.table.name)
    items = [from_attributes(i) for page in pages for i in page["Items"]]
    return [i for i in items if i.get("kind") == "reminder" and i.get("channel") == channel]


def inbound(sandbox):
    pages = sandbox.table.db.get_paginator("scan").paginate(TableName=sandbox.table.name)
    items = [from_attributes(i) for page in pages for i in page["Items"]]
    return [i for i in items if str(i.get("pk", "")).startswith("INBOUND#")]


def bill_link(sandbox, phone):
    text = next(text for _, to, text in sandbox.sent_sms() if to == phone)
    return next(word for word in text.split() if word.startswith("http://127.0.0.1"))


def test_bind_remind_deliver_and_opt_out_over_wechat(sandbox):
    emulator = sandbox.wechat_emulator
    link = bill_link(sandbox, PHONES[BOUND])
    page = get(link)[2]
    assert f'href="/b/{link.rsplit("/", 1)[1]}/wechat"' in page  # the page offers the binding

    # the owner taps it in WeChat: to the account's OAuth, and back with a code
    status, headers, _ = get(f"{link}/wechat")
    assert status == 302 and headers["location"].startswith(f"{emulator.base_url}/connect/oauth2/authorize?")
    emulator.browser_openid = OPENID
    status, headers, _ = get(headers["location"].split("#")[0])
    done = headers["location"]
    assert status == 302 and done.startswith(f"{link}/wechat/done?")
    status, _, page = get(done)
    assert status == 200 and "微信已绑定" in page
    assert [b.openid for b in sandbox.table.get_unit(BOUND).wechat] == [OPENID]
    assert get(done)[0] == 400  # the code is good once: nothing more is bound
    forged = dict(parse_qsl(urlsplit(done).query)) | {"state": "1.x.y"}
    assert get(f"{link}/wechat/done?code={forged['code']}&state={forged['state']}")[0] == 403
    assert len(sandbox.table.get_unit(BOUND).wechat) == 1

    # day 36: the bound unit's step as a template message, the unbound unit's as an SMS (the fallback)
    sandbox.advance(at("2026-11-15 10:00"))
    [by_wechat] = reminders(sandbox, "wechat")
    [sent] = emulator.sent
    assert (by_wechat["unit_id"], by_wechat["destination"], sent.openid) == (BOUND, OPENID, OPENID)
    assert by_wechat["text"] == sent.text and by_wechat["provider_message_id"] == f"wechat:{sent.msgid}"
    assert sent.text.startswith("物业费缴费通知\n房屋：") and sent.url and sent.url.rsplit("/", 1)[1] in link
    assert {r["unit_id"] for r in reminders(sandbox, "sms") if r["step"] == "wechat_d36"} == {UNBOUND}

    # WeChat announces the send's end: the evidence records the delivery
    emulator.finish_sends("success")
    sandbox.advance(at("2026-11-15 10:01"))
    assert sandbox.table.reminder(BOUND, by_wechat["sk"]).status is ReminderStatus.DELIVERED

    # a push signed without the account's token: refused, nothing recorded, the binding unchanged
    before = len(inbound(sandbox))
    query, body = emulator.seal(
        f"<xml><ToUserName><![CDATA[{emulator.account}]]></ToUserName><FromUserName><![CDATA[{OPENID}]]>"
        "</FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[退订]]></Content><MsgId>42</MsgId></xml>",
        forged=True,
    )
    assert post(f"{emulator.server_url}?{query}", body) == (403, "forbidden")
    assert len(inbound(sandbox)) == before and not sandbox.table.get_unit(BOUND).wechat[0].opt_out

    # the owner writes 退订 to the account: the same classification as an SMS reply stops the WeChat reminders
    emulator.owner_says(OPENID, "退订")
    sandbox.advance(at("2026-11-15 10:02"))
    [binding] = sandbox.table.get_unit(BOUND).wechat
    assert binding.opt_out
    [record] = [r for r in inbound(sandbox) if r["channel"] == "wechat"]
    assert record["sender"] == f"wechat:{OPENID}" and record["classification"]["intent"] == "opt_out"
    assert emulator.texts and emulator.texts[-1][0] == OPENID and "退订" in emulator.texts[-1][1]
    assert sandbox.table.get_unit(BOUND).owners[0].sms_opt_out is False  # the SMS channel is the owner's own


def test_the_server_check_answers_echostr_only_when_signed(sandbox):
    emulator = sandbox.wechat_emulator
    query, _ = emulator.seal("<xml/>")
    assert get(f"{emulator.server_url}?{query}&echostr=8123456")[:3:2] == (200, "8123456")
    forged, _ = emulator.seal("<xml/>", forged=True)
    assert get(f"{emulator.server_url}?{forged}&echostr=8123456")[0] == 403


SAMPLES = ROOT / "events" / "wechat"


def test_wechats_own_samples_sealed_and_pushed_are_read_as_wechat_documents_them(sandbox):
    emulator = sandbox.wechat_emulator
    # the text message as documented: a follower propfee has not bound gets a ticket, and no unit's data
    text = (SAMPLES / "text_message.xml").read_text(encoding="utf-8")
    query, body = emulator.seal(text)
    assert post(f"{emulator.server_url}?{query}", body) == (200, "success")
    [record] = [r for r in inbound(sandbox) if r["source_id"] == "wechat:1234567890123456"]
    assert record["sender"] == "wechat:fromUser" and record["unit_ids"] == [] and record["ticket_id"]
    # the send-finish event as documented names a message propfee never sent: rejected, nothing recorded
    finish = (SAMPLES / "template_send_job_finish.xml").read_text(encoding="utf-8")
    rejected_before = len(dead_letters(sandbox, "SmsCallbacksFunctionDeadLetterQueue"))
    query, body = emulator.seal(finish)
    assert post(f"{emulator.server_url}?{query}", body) == (200, "success")
    assert len(dead_letters(sandbox, "SmsCallbacksFunctionDeadLetterQueue")) == rejected_before + 1
    assert all(
        r["status"] != "delivered" or r["provider_message_id"] != "wechat:200163836"
        for r in reminders(sandbox, "wechat")
    )


def test_an_owner_who_unfollows_the_account_is_not_sent_template_messages_any_more(sandbox):
    emulator = sandbox.wechat_emulator
    emulator.unfollow(OPENID)
    sandbox.advance(at("2026-11-15 10:05"))
    assert [b.disabled for b in sandbox.table.get_unit(BOUND).wechat] == ["wechat: unfollowed the account"]

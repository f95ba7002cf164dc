"""The WeChat official-account adapter (wechatpy) against the local emulator: token, template sends and WeChat's
refusals, OAuth code exchange, and the safe-mode pushes checked (and forged ones refused)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest

from propfee.collection.wechat_messages import WechatTemplate, compose
from propfee.domain.ports import ProviderRejected, ProviderUnavailable
from propfee.feedback.wechat_callbacks import ForgedPush
from propfee.local.emulators.wechat_official import WechatOfficialEmulator, new_aes_key
from propfee.providers.wechat_official import WechatOfficial

APP_ID = "wx0123456789abcdef"
OWNER = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"
TEMPLATE = WechatTemplate(
    template_id="TPLsandbox-bill-notice-0001",
    title="物业费缴费通知",
    content="房屋：{{thing1.DATA}}\n应缴金额：{{amount2.DATA}}\n账单日期：{{time3.DATA}}",
    fields={"thing1": "{unit_address}", "amount2": "{amount}元", "time3": "{overdue_since}"},
)
VARIABLES = {"unit_address": "锦绣花园1栋2304室", "amount": "1280.00", "overdue_since": "2026-11-01"}


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(clock: Clock) -> Iterator[WechatOfficialEmulator]:
    emulator = WechatOfficialEmulator(
        app_id=APP_ID,
        app_secret="sandbox-app-secret",
        token="sandboxtoken",
        encoding_aes_key=new_aes_key(),
        clock=clock,
        templates={TEMPLATE.template_id: (TEMPLATE.title, TEMPLATE.content)},
        followers={OWNER},
    )
    emulator.start()
    yield emulator
    emulator.stop()


def adapter(emulator: WechatOfficialEmulator, secret: str = "sandbox-app-secret") -> WechatOfficial:
    keys = {"app_secret": secret, "token": emulator.token, "encoding_aes_key": emulator.encoding_aes_key}
    return WechatOfficial(APP_ID, keys, base_url=emulator.base_url)


def test_a_template_message_is_sent_and_its_text_is_what_the_owner_reads(emulator: WechatOfficialEmulator) -> None:
    message = compose(TEMPLATE, VARIABLES, "https://pay.example.cn/b/tok", "U1#REMINDER#sms_d1#1")
    sent_id = adapter(emulator).send_template(OWNER, message)
    assert sent_id == f"wechat:{emulator.sent[0].msgid}"
    assert emulator.sent[0].text == message.text
    assert message.text.splitlines() == [
        "物业费缴费通知",
        "房屋：锦绣花园1栋2304室",
        "应缴金额：1280.00元",
        "账单日期：2026-11-01",
        "https://pay.example.cn/b/tok",
    ]
    # the same claim again within 10 minutes: WeChat answers the first message's id and sends nothing more
    assert adapter(emulator).send_template(OWNER, message) == sent_id
    assert len(emulator.sent) == 1


def test_the_token_is_fetched_once_and_fetched_again_when_wechat_invalidates_it(
    emulator: WechatOfficialEmulator,
) -> None:
    official = adapter(emulator)
    official.send_template(OWNER, compose(TEMPLATE, VARIABLES, None, "a"))
    official.send_template(OWNER, compose(TEMPLATE, VARIABLES, None, "b"))
    assert len(emulator._tokens) == 1  # cached between sends
    emulator.expire_tokens()
    official.send_template(OWNER, compose(TEMPLATE, VARIABLES, None, "c"))
    assert emulator.refused == [40001] and len(emulator.sent) == 3  # refused once, fetched again, sent


def test_wechat_refusals_map_to_rejected_or_unavailable(emulator: WechatOfficialEmulator) -> None:
    official = adapter(emulator)
    with pytest.raises(ProviderRejected, match="43004"):  # not a follower (unsubscribed, or never bound)
        official.send_template("oNotAFollower000000000000000", compose(TEMPLATE, VARIABLES, None, "x"))
    unknown = TEMPLATE.model_copy(update={"template_id": "TPLnot-approved-0000"})
    with pytest.raises(ProviderRejected, match="40037"):
        official.send_template(OWNER, compose(unknown, VARIABLES, None, "y"))
    with pytest.raises(ProviderUnavailable, match="40125"):  # the account's secret is wrong: not the owner's fault
        adapter(emulator, secret="wrong").send_template(OWNER, compose(TEMPLATE, VARIABLES, None, "z"))
    assert emulator.sent == []


def test_a_field_over_its_limit_is_refused_before_sending_and_by_wechat(emulator: WechatOfficialEmulator) -> None:
    long = compose(TEMPLATE, {**VARIABLES, "unit_address": "锦绣花园" * 6}, None, "long")
    with pytest.raises(ProviderRejected, match="thing1: 24 characters, at most 20"):
        adapter(emulator).send_template(OWNER, long)
    assert emulator.refused == []  # nothing reached WeChat
    official = adapter(emulator)
    official.send_template(OWNER, compose(TEMPLATE, VARIABLES, None, "ok"))  # a token
    refused = {
        "touser": OWNER,
        "template_id": TEMPLATE.template_id,
        "data": {"thing1": {"value": "锦" * 21}, "amount2": {"value": "1"}, "time3": {"value": "2026-11-01"}},
    }
    token = next(iter(emulator._tokens))
    _, _, body = emulator.app(
        "POST", f"/cgi-bin/message/template/send?access_token={token}", {}, json.dumps(refused).encode()
    )
    assert b"47003" in body  # the emulator refuses it too, as WeChat does


def test_oauth_code_gives_the_openid_once(emulator: WechatOfficialEmulator) -> None:
    official = adapter(emulator)
    emulator.browser_openid = OWNER
    url = official.authorize_url("https://pay.example.cn/b/tok/wechat/done", "st")
    status, headers, _ = emulator.app("GET", url.removeprefix(emulator.base_url).split("#")[0], {}, b"")
    assert status == 302
    code = dict(parse_qsl(headers["Location"].split("?", 1)[1]))["code"]
    assert official.openid_for_code(code) == OWNER
    with pytest.raises(ProviderRejected, match="40029"):
        official.openid_for_code(code)


def test_safe_mode_pushes_are_read_and_forged_ones_refused(emulator: WechatOfficialEmulator, clock: Clock) -> None:
    official = adapter(emulator)
    xml = f"<xml><FromUserName><![CDATA[{OWNER}]]></FromUserName><MsgType>text</MsgType><Content>退订</Content></xml>"
    query, body = emulator.seal(xml)
    fields = official.read_push(dict(parse_qsl(query)), body.decode())
    assert fields["FromUserName"] == OWNER and fields["Content"] == "退订"
    forged_query, forged_body = emulator.seal(xml, forged=True)
    with pytest.raises(ForgedPush):
        official.read_push(dict(parse_qsl(forged_query)), forged_body.decode())
    # the right signature over a ciphertext changed on the way: msg_signature no longer matches
    text = body.decode()
    start = text.index("<Encrypt><![CDATA[") + 30
    tampered = text[:start] + ("B" if text[start] != "B" else "C") + text[start + 1 :]
    with pytest.raises(ForgedPush, match="InvalidSignature"):
        official.read_push(dict(parse_qsl(query)), tampered)
    plain = dict(parse_qsl(query)) | {"encrypt_type": "raw"}
    with pytest.raises(ForgedPush, match="safe mode"):
        official.read_push(plain, xml)
    clock.at += timedelta(minutes=1)
    check = dict(parse_qsl(query)) | {"echostr": "12345"}
    assert official.echo(check) == "12345"
    with pytest.raises(ForgedPush):
        official.echo(dict(parse_qsl(forged_query)) | {"echostr": "12345"})

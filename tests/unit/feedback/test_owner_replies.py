"""A clerk's answer to an owner: which route it takes (mainland SMS -> the approved "answered" template with the bill
link; international SMS -> the words; WeChat -> the words; a number of no unit on mainland SMS -> phone only), what
each route sends, and that the template is exactly an approved text the provider accepts."""

from datetime import UTC, datetime, timedelta

import pytest

from propfee.collection.approved_sms import load_approved, prepare
from propfee.domain.models import Ticket
from propfee.domain.ports import ProviderRejected
from propfee.feedback.owner_replies import ANSWERED, OwnerReplier, ReplyRoute, route_reply
from propfee.payments.links import BillLinks, InMemoryBillLinks
from propfee.rules import load_rules

RULES = load_rules()
DAYTIME = datetime(2026, 11, 11, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
NIGHT = datetime(2026, 11, 11, 15, 0, tzinfo=UTC)  # 23:00


def ticket(**changes) -> Ticket:
    fields = dict(
        ticket_id="T20261111-0A1B2C3D", community_id="C01", unit_ids=("C01-B01-0101",), department="engineering",
        intent="complaint", channel="sms", contact="+8613812345678", message="楼上漏水三个月了", source_id="in-1",
        created_at=datetime(2026, 11, 11, 2, 0, tzinfo=UTC), due_by=datetime(2026, 11, 12, 2, 0, tzinfo=UTC),
    )  # fmt: skip
    return Ticket(**{**fields, **changes})


class Window:
    def reply_window_opens(self, community_id, now):
        return now.hour < 12  # 03:00 UTC open, 15:00 UTC closed in these tests


class MainlandSms:
    """A provider that sends approved templates only, as Tencent does (the real check, collection.approved_sms)."""

    def __init__(self, provider="tencent") -> None:
        self.provider = provider
        self.sent = []

    def send_sms(self, phone, body, context=None, template=None):
        prepared = prepare(self.provider, load_approved(), body, template)
        self.sent.append((phone, prepared))
        return f"{self.provider}:{len(self.sent)}"


class Texts:
    def __init__(self, failure=None) -> None:
        self.sent, self.failure = [], failure

    def send_sms(self, phone, body, context=None, template=None):
        self.sent.append((phone, body))
        return "sms-1"

    def send_email(self, to, subject, body, context=None):
        self.sent.append((to, body))
        return "mail-1"

    def send_text(self, openid, text):
        if self.failure:
            raise self.failure
        self.sent.append((openid, text))
        return "wx-1"


def replier(sms, mainland=True, wechat=None, links=True, email=None):
    bill_links = BillLinks(InMemoryBillLinks(), "https://jxwy.cn", timedelta(days=45)) if links else None
    return OwnerReplier(Window(), RULES, sms, email or Texts(), wechat, bill_links, mainland), bill_links


@pytest.mark.parametrize(
    ("changes", "mainland", "route"),
    [
        ({}, True, ReplyRoute.TEMPLATE),  # mainland SMS: the approved template with the bill link
        ({"contact": "+85291234567"}, True, ReplyRoute.TEXT),  # an international number: the words
        ({}, False, ReplyRoute.TEXT),  # SMS through AWS: the words
        ({"channel": "wechat", "contact": "wechat:o-abc"}, True, ReplyRoute.WECHAT),
        ({"channel": "email", "contact": "wang@example.net"}, True, ReplyRoute.EMAIL),
        ({"unit_ids": (), "community_id": "UNKNOWN"}, True, ReplyRoute.PHONE_ONLY),  # no unit: no bill page
        ({"unit_ids": (), "community_id": "UNKNOWN"}, False, ReplyRoute.TEXT),  # free text reaches them
    ],
)
def test_the_route_of_an_answer(changes, mainland, route):
    assert route_reply(ticket(**changes), mainland_sms=mainland, bill_page=True) is route


def test_no_bill_page_means_a_mainland_owner_is_answered_by_phone():
    assert route_reply(ticket(), mainland_sms=True, bill_page=False) is ReplyRoute.PHONE_ONLY


@pytest.mark.parametrize("provider", ["tencent", "aliyun"])
def test_a_mainland_owner_gets_the_approved_answered_template_with_the_units_bill_link(provider):
    sms = MainlandSms(provider)
    answers, links = replier(sms)

    result = answers.answer(ticket(), "师傅明天下午两点上门维修", DAYTIME)

    assert (result.outcome, result.route, result.template) == ("sent", "template", ANSWERED)
    [(phone, prepared)] = sms.sent
    link = links.issue("C01-B01-0101", "C01", DAYTIME)  # the unit's current link, the one named
    assert phone == "+8613812345678"
    assert prepared.text == result.sent_text  # the evidence keeps what the owner's phone shows
    assert f"https://jxwy.cn/b/{link.token}" in prepared.text and "工单T20261111-0A1B2C3D" in prepared.text
    assert "师傅" not in prepared.text  # the clerk's words are on the bill page, not in the SMS
    approved = load_approved().approved(provider, ANSWERED, "zh-CN")
    assert prepared.code == approved.code
    if provider == "tencent":  # the address is in the approved text: only the token is a variable
        assert "https://jxwy.cn/b/" in approved.text and link.token in prepared.parameters
        assert not any("http" in value for value in prepared.parameters)


def test_an_english_owner_gets_the_english_template():
    sms = MainlandSms()
    answers, _ = replier(sms)
    result = answers.answer(ticket(message="The lift is broken again"), "Fixed tomorrow", DAYTIME)
    assert result.outcome == "sent" and sms.sent[0][1].code == load_approved().approved("tencent", ANSWERED, "en").code


def test_a_bill_page_of_another_address_than_the_approved_one_is_refused_before_sending():
    sms = MainlandSms()
    answers = OwnerReplier(
        Window(), RULES, sms, Texts(), None, BillLinks(InMemoryBillLinks(), "https://pay.example.cn"), True
    )
    assert answers.answer(ticket(), "已修好", DAYTIME).outcome == "failed" and sms.sent == []
    with pytest.raises(ProviderRejected):
        sms.send_sms("+8613812345678", "【锦绣物业】已修好", None, None)  # free text: never sent


def test_an_international_number_and_aws_sms_get_the_clerks_words():
    texts = Texts()
    answers, _ = replier(texts)
    assert answers.answer(ticket(contact="+85291234567"), "已安排维修", DAYTIME).outcome == "sent"
    answers, _ = replier(texts, mainland=False)
    assert answers.answer(ticket(), "明天上门", DAYTIME).outcome == "sent"
    assert texts.sent == [("+85291234567", "已安排维修"), ("+8613812345678", "明天上门")]


def test_an_unknown_mainland_number_is_answered_by_phone_only_and_nothing_is_sent():
    sms = MainlandSms()
    answers, _ = replier(sms)
    stranger = ticket(unit_ids=(), community_id="UNKNOWN")
    assert answers.answer(stranger, "请致电", DAYTIME).outcome == "phone_only"
    assert answers.answer(stranger, "请致电", NIGHT).outcome == "phone_only"  # nothing to queue either
    assert sms.sent == []


def test_a_wechat_owner_gets_the_words_and_past_48_hours_the_clerk_is_told_so():
    wechat = Texts()
    answers, _ = replier(MainlandSms(), wechat=wechat)
    by_wechat = ticket(channel="wechat", contact="wechat:o-abc")
    assert answers.answer(by_wechat, "已派师傅", DAYTIME).outcome == "sent" and wechat.sent == [("o-abc", "已派师傅")]
    closed = Texts(ProviderRejected("wechat 45015: the owner's last message is over 48 hours old"))
    answers, _ = replier(MainlandSms(), wechat=closed)
    assert answers.answer(by_wechat, "已派师傅", DAYTIME).outcome == "wechat_window_closed"
    other = Texts(ProviderRejected("wechat 43004: the owner does not follow the account"))
    answers, _ = replier(MainlandSms(), wechat=other)
    assert answers.answer(by_wechat, "已派师傅", DAYTIME).outcome == "failed"


def test_an_email_owner_gets_the_words_and_nothing_goes_outside_the_window():
    mail = Texts()
    answers, _ = replier(MainlandSms(), email=mail)
    by_email = ticket(channel="email", contact="wang@example.net")
    assert answers.answer(by_email, "已安排维修", DAYTIME).outcome == "sent"
    assert answers.answer(by_email, "明早来修", NIGHT).outcome == "outside_window"
    assert mail.sent == [("wang@example.net", "已安排维修")]

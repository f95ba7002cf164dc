"""The wechat channel: who gets a WeChat template message and who a text instead, what the rules refuse, and the
send path keeping exactly the text the owner reads (one claim per message, as for SMS)."""

from datetime import date

import pytest
import yaml

from propfee.collection.ladder import Ladder, Step, decide
from propfee.collection.planning import job_for
from propfee.collection.sending import Outcome, Sender
from propfee.collection.wechat_messages import WechatMessage, WechatTemplate, compose, field_problems
from propfee.domain.models import Channel, WechatBinding
from propfee.domain.ports import ProviderRejected
from propfee.rules import parse_rules
from tests.support import SHANGHAI, at
from tests.unit.collection.test_sending import NOW, RULES, SETTINGS, MemoryStore, Provider, overdue_unit

OPENID = "oOwnerOpenid0000000000000001"
TODAY = date(2026, 11, 11)
LADDER = Ladder(
    steps=(Step(step_id="wechat_d1", days_overdue=1, channels=(Channel.WECHAT,), template="reminder_friendly"),)
)
TEMPLATE = WechatTemplate(
    template_id="TPLbill-notice-0001",
    title="物业费缴费通知",
    content="房屋：{{thing1.DATA}}\n应缴金额：{{amount2.DATA}}",
    fields={"thing1": "{unit_address}", "amount2": "{amount}元"},
)


def bound(**binding) -> WechatBinding:
    return WechatBinding(openid=OPENID, bound_at=at("2026-11-01 10:00"), **binding)


def test_a_bound_unit_gets_the_wechat_step_and_an_unbound_or_stopped_one_a_text():
    assert decide(overdue_unit(wechat=(bound(),)), TODAY, SHANGHAI, LADDER).action.channel is Channel.WECHAT
    assert decide(overdue_unit(wechat=(bound(),)), TODAY, SHANGHAI, LADDER).action.destination == OPENID
    for unit in (
        overdue_unit(),
        overdue_unit(wechat=(bound(opt_out=True),)),
        overdue_unit(wechat=(bound(disabled="x"),)),
    ):
        action = decide(unit, TODAY, SHANGHAI, LADDER).action
        assert (action.channel, action.destination) == (Channel.SMS, "+8613812345678")


def test_the_rules_refuse_a_wechat_step_without_the_account_or_its_approved_template():
    ladder = {"steps": [{"step_id": "w", "days_overdue": 1, "channel": "wechat", "template": "reminder_friendly"}]}
    with pytest.raises(ValueError, match="no wechat: account"):
        parse_rules(yaml.safe_dump({"ladder": ladder}))
    account = {"app_id": "wx0123456789abcdef", "secret": "s"}
    with pytest.raises(ValueError, match="no approved template for reminder_friendly"):
        parse_rules(yaml.safe_dump({"ladder": ladder, "wechat": account}))
    templates = {"reminder_friendly": TEMPLATE.model_dump()}
    assert parse_rules(yaml.safe_dump({"ladder": ladder, "wechat": {**account, "templates": templates}})).wechat


def test_a_template_whose_fields_do_not_match_its_content_is_refused():
    with pytest.raises(ValueError, match="fields"):
        WechatTemplate(template_id="TPL00000000", title="t", content="{{thing1.DATA}}", fields={"thing2": "{a}"})


def test_field_limits_name_the_field_and_the_rule_never_the_value():
    assert field_problems({"thing1": "锦" * 20, "character_string2": "A-1502", "phrase3": "已逾期"}) == []
    problems = field_problems(
        {"thing1": "锦" * 21, "character_string2": "房号1502", "phrase3": "overdue", "amount4": "x"}
    )
    assert problems == [
        "thing1: 21 characters, at most 20",
        "character_string2: not a character_string value",
        "phrase3: 7 characters, at most 5",
        "amount4: not a amount value",
    ]
    assert all("锦" not in p for p in problems)


class Wechat:
    def __init__(self, failure: Exception | None = None) -> None:
        self.sent: list[tuple[str, WechatMessage, dict | None]] = []
        self.failure = failure

    def send_template(self, openid, message, context=None):
        if self.failure:
            raise self.failure
        self.sent.append((openid, message, context))
        return f"wechat:{len(self.sent)}"


class WechatRules:
    """The packaged rules with the wechat ladder."""

    def ladder_for(self, community_id):
        return LADDER

    def policy_for(self, community_id):
        return RULES.policy_for(community_id)

    def identity_for(self, community_id):
        return RULES.identity_for(community_id)


def wechat_sender(store, wechat):
    return Sender(
        SETTINGS,
        store,
        Provider(),
        Provider(),
        WechatRules(),
        wechat=wechat,
        wechat_templates={"reminder_friendly": TEMPLATE},
    )


def test_the_reminder_goes_once_as_the_template_message_and_the_evidence_is_the_text_the_owner_reads():
    store, wechat = MemoryStore(overdue_unit(wechat=(bound(),))), Wechat()
    current = store.get_unit("C01-B01-0101")
    job = job_for(current, decide(current, TODAY, SHANGHAI, LADDER).action, TODAY)
    results = [wechat_sender(store, wechat).send(job, NOW) for _ in range(2)]
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.DUPLICATE]
    [(openid, message, context)] = wechat.sent
    assert openid == OPENID and message.template_id == TEMPLATE.template_id
    assert message.data == {"thing1": "B01-0101", "amount2": "250.00元"}  # the unit as its job names it (no names here)
    evidence = store.claims[("C01-B01-0101", job.claim_key)]
    assert evidence.channel is Channel.WECHAT and evidence.text == message.text
    assert (
        evidence.text.startswith("物业费缴费通知\n房屋：") and evidence.template_version == "wechat:TPLbill-notice-0001"
    )
    assert context == {"unit_id": "C01-B01-0101", "claim": job.claim_key} and message.client_msg_id
    assert store.status[("C01-B01-0101", job.claim_key)] == "sent:wechat:1"


def test_a_refusal_spends_the_step_with_its_reason():
    store = MemoryStore(overdue_unit(wechat=(bound(),)))
    current = store.get_unit("C01-B01-0101")
    job = job_for(current, decide(current, TODAY, SHANGHAI, LADDER).action, TODAY)
    refused = ProviderRejected("wechat 43004: the owner does not follow the account")
    result = wechat_sender(store, Wechat(refused)).send(job, NOW)
    assert result.outcome is Outcome.FAILED and "43004" in (result.reason or "")
    assert store.status[("C01-B01-0101", job.claim_key)].startswith("failed:wechat 43004")


def test_compose_fills_the_fields_and_the_text_keeps_the_link():
    message = compose(TEMPLATE, {"unit_address": "1栋2304室", "amount": "1,280.00"}, "https://p.example/b/t", "U#c")
    assert message.text == "物业费缴费通知\n房屋：1栋2304室\n应缴金额：1,280.00元\nhttps://p.example/b/t"
    assert field_problems(message.data) == []
    assert compose(TEMPLATE, {"unit_address": "a", "amount": "1"}, None, "U#c").client_msg_id == message.client_msg_id

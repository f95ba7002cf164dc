"""A department clerk answers owners from the console in a stack whose SMS go through Aliyun (the sandbox's
emulator, the unpatched SDK): the owner who complained by SMS gets the approved "your ticket has an answer" template
naming their unit's bill link, whose page shows the clerk's words; the audit keeps both; an owner whose number is
of no unit can be answered by phone only, and the clerk is told so, nothing recorded as sent."""

import html
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from propfee.accounts.ledger import with_bill
from propfee.aws.feedback import FeedbackTable
from propfee.collection.approved_sms import load_approved
from propfee.console.permissions import Role
from propfee.domain.models import Owner
from propfee.feedback.intents import Department
from propfee.feedback.owner_replies import ANSWERED
from propfee.local.sandbox.runtime import patched_environ
from propfee.local.sandbox.staff import seed_staff
from propfee.local.simulation.run import DEMO_SMS_ACCOUNTS
from tests.support import SHANGHAI, at, bill, community, unit
from tests.support.sandbox import START

pytestmark = pytest.mark.e2e

UNIT, OWNER, STRANGER = "C01-B01-0101", "+8613900000001", "+8613900000999"
BILL_PAGE = "https://jxwy.cn"  # the address registered in the approved text (templates/approved_sms.yaml)


@pytest.fixture(scope="module")
def answered(tmp_path_factory):
    from propfee.local.sandbox import Sandbox

    rules = tmp_path_factory.mktemp("aliyun") / "rules.yaml"
    rules.write_text(yaml.safe_dump({"sms": {"provider": "aliyun", "aliyun": DEMO_SMS_ACCOUNTS["aliyun"]}}))
    with (
        patched_environ({"PROPFEE_RULES_FILE": str(rules)}),
        Sandbox(start=START, parameters={"BillPageBaseUrl": BILL_PAGE}) as running,
    ):
        table = FeedbackTable(running.resources["PropfeeTable"], SHANGHAI)
        table.put_community(community())
        owned = with_bill(unit(UNIT, owners=(Owner(name="业主", phone=OWNER),)), bill(UNIT, "2026-10"))
        table.put_buildings_and_units([], [owned])
        emulator = running.sms_emulators["aliyun"]
        emulator.owner_replies(OWNER[3:], "楼上漏水三个月了没人修")
        emulator.owner_replies(STRANGER[3:], "我家楼道的灯坏了很久，没人修")
        running.advance(at("2026-11-11 10:00"))
        staff = {s.role: s for s in seed_staff(running, table, ["C01"])}
        yield running, table, emulator, staff


def _token(sandbox, clerk):
    return sandbox.client("cognito-idp").initiate_auth(
        ClientId=sandbox.outputs["StaffUserPoolClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": clerk.email, "PASSWORD": clerk.password},
    )["AuthenticationResult"]["IdToken"]


def _call(url, token, data=None):
    headers = {"Authorization": f"Bearer {token}"}
    if data is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, urllib.parse.urlencode(data).encode() if data else None, headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:  # nosec B310 - the sandbox's loopback API
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def reply(sandbox, clerk, ticket_id, text):
    base, token = sandbox.http_api.url, _token(sandbox, clerk)
    status, page = _call(f"{base}/console/tickets/{ticket_id}", token)
    assert status == 200
    csrf = html.unescape(re.search(r'name="csrf" value="([^"]+)"', page).group(1))
    return _call(f"{base}/console/tickets/{ticket_id}/reply", token, {"csrf": csrf, "text": text})


def test_a_clerks_answer_reaches_a_mainland_owner_as_the_approved_template_and_the_bill_page_shows_it(answered):
    sandbox, table, emulator, staff = answered
    clerk = staff[Role.DEPARTMENT_CLERK]
    [ticket] = [t for t in table.tickets("engineering") if UNIT in t.unit_ids]
    before = len(emulator.sent)

    status, page = reply(sandbox, clerk, ticket.ticket_id, "师傅明天下午两点上门维修，请留人在家")

    assert status == 200 and "回复已发送" in page
    [sent] = emulator.sent[before:]
    approved = load_approved().approved("aliyun", ANSWERED, "zh-CN")
    assert (sent.phone, sent.template_code) == (OWNER[3:], approved.code)
    link = re.search(rf"{re.escape(BILL_PAGE)}/b/([0-9A-Za-z]{{22}})", sent.text)
    assert link and sent.params["bill_token"] == link.group(1) and ticket.ticket_id in sent.text
    assert "师傅" not in sent.text  # the words are on the bill page
    [action] = [a for a in table.for_unit(UNIT) if a.action == "ticket.reply"]
    assert action.note == "师傅明天下午两点上门维修，请留人在家"
    assert (action.after["reply"], action.after["template"], action.after["sms_text"]) == ("sent", ANSWERED, sent.text)
    # the link the SMS names opens the unit's page on the stack's HTTP API, with the answer on it
    with urllib.request.urlopen(f"{sandbox.http_api.url}/b/{link.group(1)}", timeout=20) as answer:  # nosec B310
        bill_page = answer.read().decode()
    assert "师傅明天下午两点上门维修，请留人在家" in bill_page and "您反映问题的答复" in bill_page


def test_an_owner_of_no_unit_is_answered_by_phone_only_and_nothing_is_recorded_as_sent(answered):
    sandbox, table, emulator, staff = answered
    clerk = staff[Role.COMPANY_ADMIN]  # a number of no unit: its ticket is of no community, the admin's to answer
    [ticket] = [t for d in Department for t in table.tickets(d.value) if t.contact == STRANGER]
    before = len(emulator.sent)

    status, page = reply(sandbox, clerk, ticket.ticket_id, "灯已修好")

    assert status == 200 and "请电话联系业主" in page
    assert emulator.sent[before:] == []
    assert [a for a in table.for_unit("COMPANY") if a.target_id == ticket.ticket_id] == []

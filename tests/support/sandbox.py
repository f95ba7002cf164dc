"""What the e2e tests share about the sandbox: a small community in arrears, the DLQs, what IAM allows."""

import csv
import io
import json
from datetime import datetime

from propfee.accounts.ledger import with_bill
from propfee.aws import keys
from propfee.aws.dynamo import PropfeeTable
from propfee.aws.dynamo_table import to_attributes
from propfee.aws.feedback import FeedbackTable
from propfee.collection.ladder import Ladder, Step, decide
from propfee.collection.planning import job_for
from propfee.domain.models import Building, Channel, Owner
from propfee.local.sandbox import Sandbox, default_template_path
from propfee.local.sandbox.template import load_template, local_code_dirs, translate, with_code_in_s3
from propfee.rules import load_rules
from tests.support import SHANGHAI, bill, community, unit

START = datetime(2026, 11, 11, 0, 0, tzinfo=SHANGHAI)


def job_body(table: PropfeeTable, unit_id: str) -> str:
    current = table.get_unit(unit_id)
    today = START.date()
    return job_for(current, decide(current, today, SHANGHAI).action, today).model_dump_json()


def small_community_in_arrears(running: Sandbox) -> Sandbox:
    """One community of seven units, each owing October's bill: the e2e tests' `sandbox` fixture."""
    table = PropfeeTable(running.resources["PropfeeTable"], SHANGHAI)
    table.put_community(community())
    owing = [with_bill(unit(f"C01-B01-01{n:02d}"), bill(f"C01-B01-01{n:02d}", "2026-10")) for n in range(1, 8)]
    table.put_buildings_and_units([], owing)
    running.table = table
    return running


def dead_letters(sandbox, logical_id="SendDeadLetterQueue"):
    """Up to 10 messages of a DLQ, left in it (visible again at once)."""
    sqs, url = sandbox.client("sqs"), sandbox.resources[logical_id]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages", []
    )
    for message in messages:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return messages


# an API call and the IAM actions it needs (our transactions put and update items)
NEEDS = {
    "dynamodb:TransactWriteItems": {"dynamodb:PutItem", "dynamodb:UpdateItem"},
    "sesv2:SendEmail": {"ses:SendEmail"},
    "sqs:SendMessageBatch": {"sqs:SendMessage"},
    "s3:ListObjectsV2": {"s3:ListBucket"},
    "lambda:Invoke": {"lambda:InvokeFunction"},
}


def _allowed_actions(cfn, function_logical_id):
    role = cfn["Resources"][function_logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    actions = set()
    for policy in cfn["Resources"][role]["Properties"].get("Policies", []):
        for entry in policy["PolicyDocument"]["Statement"]:
            for statement in entry["Fn::If"][1:] if "Fn::If" in entry else [entry]:
                if isinstance(statement, dict) and statement.get("Effect") == "Allow":
                    listed = statement["Action"]
                    actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def assert_calls_allowed(calls):
    """Every AWS call each function made in the sandbox is one its own IAM policy in the template allows."""
    sam = load_template(default_template_path())
    code = {lid: f"{lid}.zip" for lid in local_code_dirs(sam, default_template_path())}
    cfn = translate(with_code_in_s3(sam, "artifacts", code), {}, "ap-northeast-1")
    for (function, operation), _count in sorted(calls.items()):
        needed = NEEDS.get(operation, {operation.replace("sesv2:", "ses:")})
        assert needed <= _allowed_actions(cfn, function), (function, operation)


def assert_every_message_accounted_for(items, sms, email):
    """Every message the providers accepted is exactly one of: a reminder with its evidence record, the
    acknowledgement of an owner's message (recorded on it), a ticket for a department's inbox, a collector's
    morning digest (recorded on its claim), or an e-receipt's link (recorded on its message claim); and no
    reminder was sent twice."""
    reminders = [
        i["provider_message_id"]
        for i in items
        if i.get("kind") == "reminder" and i["channel"] in ("sms", "email") and i["status"] == "sent"
    ]
    acknowledgements = {i["ack_message_id"] for i in items if i.get("kind") == "inbound" and i.get("ack_message_id")}
    inboxes = {d.email for d in load_rules().feedback.departments.values() if d.email}
    tickets = {message_id for message_id, to, _, _ in email if set(to) <= inboxes}
    digests = {i["provider_message_id"] for i in items if i.get("kind") == "digest" and i.get("status") == "sent"}
    receipts = {i["message_id"] for i in items if str(i["pk"]).startswith("RECEIPT#MSG#") and i.get("message_id")}
    provider_ids = [m[0] for m in sms] + [m[0] for m in email]
    assert len(provider_ids) == len(set(provider_ids))
    assert len(reminders) == len(set(reminders))
    assert not (set(reminders) & acknowledgements) and not (set(reminders) & tickets) and not set(reminders) & digests
    assert not set(reminders) & receipts
    assert set(provider_ids) == set(reminders) | acknowledgements | tickets | digests | receipts
    return reminders


def plan_summaries(sandbox) -> list[dict]:
    """What each community's planning run logged when it finished (the morning run fans out by community)."""
    found = []
    for line in sandbox.functions["PlanFunction"].log.getvalue().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("message") == "plan finished":
            found.append(record)
    return found


EMAIL_FIRST = Ladder(steps=(Step(step_id="email", days_overdue=1, channel=Channel.EMAIL, template="reminder_notice"),))


def email_reminders(sandbox, addresses: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Units owing since October whose only owner has the given email address, each sent an email reminder by the
    send function (within the contact window: advance the sandbox there first). unit -> (SES message id, claim)."""
    table = sandbox.table
    owing = [
        with_bill(unit(unit_id, owners=(Owner(name="业主", email=address),)), bill(unit_id, "2026-10"))
        for unit_id, address in addresses.items()
    ]
    table.put_buildings_and_units([], owing)
    claims = {}
    for unit_id in addresses:
        current = table.get_unit(unit_id)
        job = job_for(current, decide(current, START.date(), SHANGHAI, EMAIL_FIRST).action, START.date())
        sandbox.client("sqs").send_message(QueueUrl=sandbox.resources["SendQueue"], MessageBody=job.model_dump_json())
        claims[unit_id] = job.claim_key
    sandbox.drain()
    sent = {}
    for unit_id, claim in claims.items():
        reminder = table.reminder(unit_id, claim)
        assert reminder is not None and reminder.status.value == "sent", (unit_id, reminder)
        sent[unit_id] = (reminder.provider_message_id, claim)
    return sent


def reminder_timeline(sandbox, unit_id, claim):
    """A reminder's status and its timeline as (status, what the entry says beyond it: conflict or kept)."""
    item = sandbox.client("dynamodb").get_item(
        TableName=sandbox.table.name, Key=to_attributes(keys.reminder_item(unit_id, claim))
    )["Item"]
    entries = [e["M"] for e in item["timeline"]["L"]]
    return item["status"]["S"], [
        (e["status"]["S"], "conflict" if "conflict" in e else "kept" if "kept" in e else "") for e in entries
    ]


def delivery_outcomes(sandbox) -> list[str]:
    """The outcome of each delivery event the delivery_events function handled, in order."""
    found = []
    for line in sandbox.functions["DeliveryEventsFunction"].log.getvalue().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("message") == "delivery event":
            found.append(record["outcome"])
    return found


UNITS = [f"C01-B01-01{n:02d}" for n in range(1, 7)]


def billed_estate(running: Sandbox) -> Sandbox:
    """One building of six units, each billed for October as the billing run issues bills: the imports' estate."""
    table = FeedbackTable(running.resources["PropfeeTable"], SHANGHAI)
    table.put_community(community())
    building = Building(community_id="C01", building_id="C01-B01", name="1栋", floors=18)
    table.put_buildings_and_units([building], [unit(u) for u in UNITS])
    for unit_id in UNITS:  # the bill items carry what is paid of each
        table.issue_bill(bill(unit_id, "2026-10"))
    running.table = table
    return running


def payments_file() -> bytes:
    """As a cashier's system exports it: GBK, a title line, Chinese headers, amounts with 元 and separators."""
    rows = [
        ["2026年11月收费明细表"],
        ["楼栋", "房号", "实收金额", "缴费日期", "流水号", "支付方式"],
        ["1栋", "0101", "250.00元", "2026年11月11日 08:12", "WX202611110001", "微信"],
        ["1栋", "0102", "￥250", "2026-11-11 08:20", "WX202611110002", "支付宝"],
        ["1号楼", "0103", "２５０．００", "2026/11/11 08:31", "WX202611110003", "现金"],
        ["1栋", "0103", "250.00", "2026-11-11", "WX202611110003", "现金"],  # the same serial again
        ["9栋", "0101", "250.00", "2026-11-11", "WX202611110004", "微信"],  # no such building
        ["1栋", "0999", "250.00", "2026-11-11", "WX202611110005", "微信"],  # no such room
        ["1栋", "0104", "abc", "2026-11-11", "WX202611110006", "微信"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("gbk")

"""The sandbox follows infra/template.yaml and behaves like the event sources it stands in for."""

import json
from datetime import date
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from aws_lambda_powertools.utilities.data_classes import SNSEvent

from propfee import cli
from propfee.aws.dynamo_units import unit_to_item
from propfee.domain.models import Building, Hold, HoldKind
from propfee.local.sandbox import Sandbox, default_template_path
from propfee.local.sandbox.template import load_template
from tests.support import at

pytestmark = pytest.mark.e2e

from tests.support.sandbox import START, dead_letters, job_body, plan_summaries  # noqa: E402


def test_a_malformed_record_goes_to_the_dlq_with_its_reason_and_the_rest_of_the_batch_is_sent(sandbox):
    sandbox.clock.set(at("2026-11-11 10:00"))
    sqs = sandbox.client("sqs")
    queue = sandbox.resources["SendQueue"]
    good = [job_body(sandbox.table, f"C01-B01-01{n:02d}") for n in (1, 2, 3)]
    for body in [good[0], '{"unit_id": "C01-B01-0199", "channel": "fax"}', good[1], "<html>not a job</html>", good[2]]:
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    stats = sandbox.drain()
    assert stats.failures == 0
    assert len(sandbox.sent_sms()) == 3
    rejected = dead_letters(sandbox)
    assert len(rejected) == 2
    reasons = sorted(m["MessageAttributes"]["reason"]["StringValue"] for m in rejected)
    assert all(r.startswith("malformed send job") for r in reasons)
    assert "channel" in reasons[0] + reasons[1]
    assert (
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessages"]
        == "0"
    )


def test_reported_failures_are_retried_then_redriven_after_max_receive_count(sandbox):
    sqs = sandbox.client("sqs")
    queue = sandbox.resources["SendQueue"]
    sqs.send_message(QueueUrl=queue, MessageBody="poison")
    sqs.send_message(QueueUrl=queue, MessageBody="fine")
    seen: list[str] = []

    def flaky_handler(event, context):
        seen.extend(r["body"] for r in event["Records"])
        return {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "poison"]
        }

    sandbox.functions["SendFunction"]._handler = flaky_handler
    sandbox.drain()
    max_receive = load_template(default_template_path())["Resources"]["SendQueue"]["Properties"]["RedrivePolicy"][
        "maxReceiveCount"
    ]
    assert seen.count("poison") == max_receive and seen.count("fine") == 1
    assert [m["Body"] for m in dead_letters(sandbox)] == ["poison"]


def test_schedules_fire_from_the_simulated_clock_in_the_companys_timezone(sandbox):
    sandbox.advance(at("2026-11-11 09:29"))
    assert sandbox.functions["PlanFunction"].invocations == 0
    assert sandbox.functions["DailyReportFunction"].invocations == 1  # 00:15, for 11-10
    sandbox.advance(at("2026-11-12 00:14"))
    assert [f for f, _, _ in sandbox.scheduled_results].count("PlanFunction") == 1
    # the scheduled run fanned out one planning message per community, each a run of its own
    assert sandbox.functions["PlanFunction"].invocations == 1 + len(plan_summaries(sandbox)) == 2
    assert sandbox.functions["DailyReportFunction"].invocations == 1
    sandbox.advance(at("2026-11-12 00:15"))
    assert sandbox.functions["DailyReportFunction"].invocations == 2
    # the plan's jobs were delivered through the queue to the send function at 09:30
    assert len(sandbox.sent_sms()) == 7
    keys = sandbox.client("s3").list_objects_v2(Bucket=sandbox.resources["ReportBucket"], Prefix="reports/2026-11-11/")
    assert {o["Key"].rsplit("/", 1)[1] for o in keys["Contents"]} >= {"summary.json", "communities.csv"}


def test_the_texts_speak_for_the_configured_company_and_name_the_unit_as_its_owner_does(sandbox):
    # the sandbox deploys the template with a fictional company (COMPANY_PARAMETERS): a placeholder would stop it
    sandbox.table.put_buildings_and_units(
        [Building(community_id="C01", building_id="C01-B01", name="1栋", floors=6)], []
    )
    sandbox.advance(at("2026-11-11 10:00"))

    texts = sorted(text for _, _, text in sandbox.sent_sms())
    assert len(texts) == 7
    for n, text in enumerate(texts, start=1):
        assert text.startswith(f"【锦绣物业】尊敬的王先生/女士：您的锦绣花园1栋01{n:02d}室物业费"), text
        assert "0571-8888 0000" in text  # the hotline of the parameters
        assert "物业服务中心】" not in text and "400-000-0000" not in text


def test_the_sandbox_follows_a_changed_template(tmp_path: Path):
    original = load_template(default_template_path())
    text = default_template_path().read_text(encoding="utf-8")
    functions_dir = default_template_path().parents[1]
    text = text.replace("CodeUri: ../functions/", f"CodeUri: {functions_dir}/functions/")
    text = text.replace("ContentUri: ../shared", f"ContentUri: {functions_dir}/shared")
    text = text.replace(
        "      VisibilityTimeout: 360  # 6x the send function's timeout",
        "      QueueName: renamed-send-jobs\n      VisibilityTimeout: 360",
    )
    text = text.replace(
        "Queue: !GetAtt SendQueue.Arn\n            BatchSize: 10\n",
        "Queue: !GetAtt SendQueue.Arn\n            BatchSize: 3\n",
    )
    changed = tmp_path / "template.yaml"
    changed.write_text(text, encoding="utf-8")
    assert original["Resources"]["SendQueue"]["Properties"].get("QueueName") is None

    batches: list[int] = []
    with Sandbox(start=START, template_path=changed) as sandbox:
        assert sandbox.resources["SendQueue"].endswith("/renamed-send-jobs")
        [mapping] = [m for m in sandbox.mappings if m.function_logical_id == "SendFunction"]
        assert mapping.batch_size == 3 and mapping.queue_url.endswith("/renamed-send-jobs")
        sandbox.functions["SendFunction"]._handler = lambda event, context: batches.append(len(event["Records"]))
        for n in range(7):
            sandbox.client("sqs").send_message(QueueUrl=mapping.queue_url, MessageBody=json.dumps({"n": n}))
        sandbox.drain()
    assert sum(batches) == 7 and max(batches) <= 3


def test_a_topic_invokes_its_subscribed_function_with_each_message_as_sns_does(sandbox):
    events = []
    sandbox.functions["ReceiveFunction"]._handler = lambda event, context: events.append(event)
    inbound = {"originationNumber": "+8613812345678", "messageBody": "已经交了", "inboundMessageId": "m-1"}
    topic = sandbox.resources["InboundSmsTopic"]
    for n in range(2):
        sandbox.client("sns").publish(TopicArn=topic, Message=json.dumps({**inbound, "inboundMessageId": f"m-{n}"}))
    sandbox.drain()
    assert [len(e["Records"]) for e in events] == [1, 1]
    records = [SNSEvent(e).record.sns for e in events]
    assert [json.loads(r.message)["inboundMessageId"] for r in records] == ["m-0", "m-1"]
    assert {r.topic_arn for r in records} == {topic}
    assert len({r.message_id for r in records}) == 2


def test_a_failed_asynchronous_event_is_kept_in_the_function_dlq_with_its_error(sandbox):
    def broken(event, context):
        raise RuntimeError("table unreachable")

    sandbox.functions["DeliveryEventsFunction"]._handler = broken
    sandbox.client("sns").publish(TopicArn=sandbox.resources["DeliveryEventsTopic"], Message='{"eventType": "x"}')
    sandbox.drain()
    [kept] = dead_letters(sandbox, "DeliveryEventsFunctionDeadLetterQueue")
    assert json.loads(SNSEvent(json.loads(kept["Body"])).record.sns.message) == {"eventType": "x"}
    assert kept["MessageAttributes"]["ErrorMessage"]["StringValue"] == "RuntimeError: table unreachable"


def test_a_function_invoking_another_asynchronously_gets_202_and_the_event_runs_when_the_sandbox_drains(sandbox):
    from propfee.aws.clients import client

    seen = []
    sandbox.functions["TicketsFunction"]._handler = lambda event, context: seen.append(event)

    def fan_out(event, context):
        name = sandbox.functions["TicketsFunction"].name
        return client("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 1}')["StatusCode"]

    sandbox.functions["BillingFunction"]._handler = fan_out
    assert sandbox.invoke("BillingFunction", {}) == 202
    assert seen == []  # queued by Lambda, not run inside the caller
    sandbox.drain()
    assert seen == [{"n": 1}]


PROBE_HANDLER = """
import json, pathlib

def lambda_handler(event, context):
    with open(pathlib.Path(__file__).with_name("seen.jsonl"), "a") as seen:
        seen.write(json.dumps(event) + "\\n")
"""

PROBE_RESOURCES = """
  ProbeBucket:
    Type: AWS::S3::Bucket
  ProbeFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {code}
      Handler: app.lambda_handler
      Events:
        Upload:
          Type: S3
          Properties:
            Bucket: !Ref ProbeBucket
            Events: s3:ObjectCreated:*
            Filter:
              S3Key:
                Rules:
                  - {{Name: prefix, Value: incoming/}}
"""


def test_s3_notifications_in_the_template_invoke_their_function(tmp_path: Path):
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "app.py").write_text(PROBE_HANDLER, encoding="utf-8")
    root = default_template_path().parents[1]
    text = default_template_path().read_text(encoding="utf-8")
    text = text.replace("CodeUri: ../functions/", f"CodeUri: {root}/functions/")
    text = text.replace("ContentUri: ../shared", f"ContentUri: {root}/shared")
    text = text.replace("\nOutputs:", PROBE_RESOURCES.format(code=probe) + "\nOutputs:")
    changed = tmp_path / "template.yaml"
    changed.write_text(text, encoding="utf-8")

    with Sandbox(start=START, template_path=changed) as sandbox:
        s3 = sandbox.client("s3")
        bucket = sandbox.resources["ProbeBucket"]
        s3.put_object(Bucket=bucket, Key="incoming/payments/2026-11-11.csv", Body=b"reference,amount\n")
        s3.put_object(Bucket=bucket, Key="elsewhere/ignored.txt", Body=b"x")
        sandbox.advance(at("2026-11-11 00:05"))
    events = [json.loads(line) for line in (probe / "seen.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(events) == 1
    [record] = events[0]["Records"]
    assert record["eventSource"] == "aws:s3" and record["eventName"].startswith("ObjectCreated")
    assert record["s3"]["bucket"]["name"] == bucket
    assert unquote_plus(record["s3"]["object"]["key"]) == "incoming/payments/2026-11-11.csv"
    assert record["eventTime"] == "2026-11-10T16:00:00.000Z"  # uploaded at 00:00 Shanghai time


def test_a_dry_run_shows_each_units_action_or_reason_and_sends_nothing(sandbox, capsys):
    held = sandbox.table.get_unit("C01-B01-0107")
    promise = Hold(kind=HoldKind.PROMISE_TO_PAY, until=date(2026, 11, 20))
    sandbox.table.batch_put([unit_to_item(held.model_copy(update={"holds": (promise,)}))])
    assert cli.main(["plan", "--date", "2026-11-11", "--dry-run", "--table", sandbox.table.name]) == 0
    *lines, totals = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    actions = {line["unit_id"]: line for line in lines}
    assert len(actions) == 7
    assert actions["C01-B01-0107"]["skipped"] == "on_hold_promise_to_pay"
    assert {a["action"] for u, a in actions.items() if u != "C01-B01-0107"} == {"sms_d30"}
    assert all(a["to"] == "+86138****5678" for u, a in actions.items() if u != "C01-B01-0107")
    assert totals["totals"] == {"send sms": 6, "skip on_hold_promise_to_pay": 1}
    assert sandbox.sent_sms() == []

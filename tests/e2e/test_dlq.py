"""The on-call engineer's view of the dead-letter queues: what is there, why, and redrive once fixed."""

import json

import pytest

from propfee import cli
from tests.support import at
from tests.support.sandbox import START, job_body, plan_summaries

pytestmark = pytest.mark.e2e


def lines(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_dlq_list_shows_each_queue_its_source_and_reasons_and_redrive_sends_what_can_now_succeed(sandbox, capsys):
    sqs = sandbox.client("sqs")
    # a poison message the receive function refuses at once, with its reason
    sandbox.client("sns").publish(TopicArn=sandbox.resources["InboundSmsTopic"], Message="+8613812345678 not json")
    # a send job whose retries ran out while the SMS provider was down
    sqs.send_message(
        QueueUrl=sandbox.resources["SendDeadLetterQueue"], MessageBody=job_body(sandbox.table, "C01-B01-0101")
    )
    sandbox.advance(START.replace(hour=1))  # night: the plan has not run yet

    assert cli.main(["dlq", "list", "--json", "--show", "5"]) == 0
    listed = {line["queue"].split("-")[1]: line for line in lines(capsys) if line["messages"]}
    assert listed.keys() == {"ReceiveFunctionDeadLetterQueue", "SendDeadLetterQueue"}
    assert listed["SendDeadLetterQueue"]["source"].split("-")[1] == "SendQueue"
    assert listed["ReceiveFunctionDeadLetterQueue"]["source"] == "function ReceiveFunction (its events)"
    [poison] = listed["ReceiveFunctionDeadLetterQueue"]["samples"]
    assert poison["reason"].startswith("malformed inbound SMS") and "13812345678" not in poison["body"]
    assert listed["SendDeadLetterQueue"]["samples"][0]["reason"] == "retries exhausted"

    sandbox.advance(at("2026-11-11 10:00"))  # the provider is back; the morning plan has run
    assert cli.main(["dlq", "redrive", "SendDeadLetterQueue"]) == 0
    assert lines(capsys) == [
        {"queue": listed["SendDeadLetterQueue"]["queue"], "to": listed["SendDeadLetterQueue"]["source"], "moved": 1}
    ]
    sandbox.drain()
    # the morning plan had sent that reminder meanwhile: the redriven job finds the claim and sends nothing twice
    reminders_to_0101 = [text for _, _, text in sandbox.sent_sms() if "B01-0101" in text]
    assert len(reminders_to_0101) == 1
    assert cli.main(["dlq", "list", "--json", "--queue", "SendDeadLetterQueue"]) == 0
    assert [line["messages"] for line in lines(capsys)] == [0]
    assert cli.main(["dlq", "redrive", "DeadLetterQueue"]) == 2  # ambiguous: names every DLQ


def test_a_functions_dlq_shows_lambdas_error_and_redrive_replays_its_events_but_keeps_what_was_refused(sandbox, capsys):
    # the morning plan of one community failed three times (its table was unreachable): Lambda kept its event
    request = {"day": "2026-11-11", "community_id": "C01"}
    plan = sandbox.functions["PlanFunction"]
    working = plan._load()

    def unreachable(event, context):
        raise ConnectionError("table unreachable")

    plan._handler = unreachable
    sandbox.invoke_async("PlanFunction", request)
    # and the receive function refused a reply outright, with its reason
    sandbox.client("sns").publish(TopicArn=sandbox.resources["InboundSmsTopic"], Message="not a reply")
    sandbox.drain()

    assert cli.main(["dlq", "list", "--json", "--show", "1"]) == 0
    listed = {line["source"]: line for line in lines(capsys) if line["messages"]}
    [sample] = listed["function PlanFunction (its events)"]["samples"]
    assert sample == {"reason": "ConnectionError: table unreachable", "body": json.dumps(request)}

    plan._handler = working  # fixed
    assert cli.main(["dlq", "redrive", "PlanFunctionDeadLetterQueue"]) == 0
    [replay] = lines(capsys)
    assert (replay["to"], replay["replayed"], replay["kept_refused"]) == ("function propfee-plan", 1, 0)
    sandbox.drain()
    assert [s["community_id"] for s in plan_summaries(sandbox)] == ["C01"]
    assert sum(s["jobs_enqueued"] for s in plan_summaries(sandbox)) == 7

    assert cli.main(["dlq", "redrive", "ReceiveFunctionDeadLetterQueue"]) == 0
    assert lines(capsys)[0]["kept_refused"] == 1  # refused again if replayed: left for a person

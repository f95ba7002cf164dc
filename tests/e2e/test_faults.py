"""Faults between the send function and AWS: no reminder is sent twice, none is lost."""

import json
from collections import Counter

import pytest
from bench.faults import FAULTS, faulty_day

from propfee.aws import keys
from propfee.local.sandbox.faults import FaultInjector
from tests.support import at
from tests.support.sandbox import dead_letters, job_body

pytestmark = pytest.mark.e2e


def _enqueue(sandbox, unit_ids):
    for unit_id in unit_ids:
        sandbox.client("sqs").send_message(
            QueueUrl=sandbox.resources["SendQueue"], MessageBody=job_body(sandbox.table, unit_id)
        )


def _reminders(sandbox):
    items = sandbox.client("dynamodb").scan(TableName=sandbox.table.name)["Items"]
    return {i["pk"]["S"]: i["status"]["S"] for i in items if i["sk"]["S"].startswith("REMINDER#")}


UNITS = [f"C01-B01-01{n:02d}" for n in range(1, 8)]


def test_provider_throttling_is_retried_and_each_owner_gets_one_message(sandbox):
    sandbox.clock.set(at("2026-11-11 10:00"))
    with FaultInjector() as faults:
        # more throttles than botocore's own retries absorb: the claim is given back and SQS retries
        faults.add("sns", "Publish", "Throttling", times=12)
        _enqueue(sandbox, UNITS)
        stats = sandbox.drain()
    assert stats.failures > 0  # some records went back to the queue
    phones = Counter(phone for _, phone, _ in sandbox.sent_sms())
    assert sum(phones.values()) == len(UNITS)
    assert set(_reminders(sandbox).values()) == {"sent"}
    assert dead_letters(sandbox) == []


def test_a_crash_after_the_provider_accepted_never_sends_twice_and_keeps_the_evidence(sandbox):
    sandbox.clock.set(at("2026-11-11 10:00"))
    with FaultInjector() as faults:
        # the SMS left, then the function died before recording the provider's message id
        faults.add("sns", "Publish", "crash", times=2)
        _enqueue(sandbox, UNITS)
        sandbox.drain()
    assert len(sandbox.sent_sms()) == len(UNITS)  # redeliveries found the claim and did not resend
    statuses = Counter(_reminders(sandbox).values())
    assert statuses == {"sent": len(UNITS) - 2, "claimed": 2}  # the evidence is incomplete...
    assert len(_unconfirmed(sandbox)) == 2  # ...so each goes to a person, with the reason, never sent again


def test_dynamodb_errors_at_claim_time_are_retried_without_duplicates(sandbox):
    sandbox.clock.set(at("2026-11-11 10:00"))
    with FaultInjector() as faults:
        faults.add("dynamodb", "TransactWriteItems", "InternalServerError", times=9)
        _enqueue(sandbox, UNITS)
        sandbox.drain()
    assert len(sandbox.sent_sms()) == len(UNITS)
    assert set(_reminders(sandbox).values()) == {"sent"}


def _scaled(rates, factor):
    return {target: min(rate * factor, 0.5) for target, rate in rates.items()}


def _unconfirmed(sandbox):
    """The jobs the send function handed to a person: each with the reason, nothing personal in it."""
    found = []
    for message in dead_letters(sandbox):
        reason = message.get("MessageAttributes", {}).get("reason", {}).get("StringValue", "")
        if reason.startswith("unconfirmed claim"):
            found.append(message)
    return found


@pytest.mark.parametrize("after_the_claim", ["crash", "timeout"])
def test_a_crash_or_timeout_right_after_the_claim_ends_in_the_dlq_with_its_reason_never_sent_twice(
    sandbox, after_the_claim
):
    sandbox.clock.set(at("2026-11-11 10:00"))
    with FaultInjector() as faults:
        faults.add("dynamodb", "TransactWriteItems", after_the_claim, times=1)  # the first unit's claim
        _enqueue(sandbox, UNITS)
        sandbox.drain()
    # nobody can tell whether the provider got it: not sent again (no duplicate), not dropped (a person checks)
    [handed_over] = _unconfirmed(sandbox)
    assert len(sandbox.sent_sms()) == len(UNITS) - 1
    assert Counter(_reminders(sandbox).values()) == {"sent": len(UNITS) - 1, "claimed": 1}
    [claimed] = [pk for pk, status in _reminders(sandbox).items() if status == "claimed"]
    assert claimed == keys.evidence_pk(json.loads(handed_over["Body"])["unit_id"])


def test_a_failed_release_after_a_provider_error_ends_in_the_dlq_with_its_reason(sandbox):
    sandbox.clock.set(at("2026-11-11 10:00"))
    with FaultInjector() as faults:
        faults.add("sns", "Publish", "Throttling", times=1)
        # the first call is the claim; the second, after the throttled publish, is the release
        faults.add("dynamodb", "TransactWriteItems", "InternalServerError", times=1, skip=1)
        _enqueue(sandbox, UNITS)
        sandbox.drain()
    assert len(_unconfirmed(sandbox)) == 1
    assert len(sandbox.sent_sms()) == len(UNITS) - 1


# ten times the benchmark's rates, on every call
HIGH = {
    **FAULTS,
    "errors": _scaled(FAULTS["errors"], 10),
    "timeouts": _scaled(FAULTS["timeouts"], 10),
    "crashes": _scaled(FAULTS["crashes"], 10),
    "refused_entries": 0.05,
    "duplicates": 0.05,
}


def test_a_busy_day_under_many_faults_sends_nothing_twice_loses_nothing_and_dead_letters_the_poison():
    day = faulty_day(150, seed=3, faults=HIGH, poison=12)
    fired = day["faults_fired"]
    assert {"error", "crash", "duplicate_delivery", "refused_entry", "shuffled_batch"} <= fired.keys()
    assert sum(fired.values()) >= 100
    assert day["planned"] == day["planned_enqueued"] == day["planned_as_computed_apart"] > 100
    assert day["evidence_unplanned"] == 0
    assert day["duplicates"] == 0 and day["provider_messages_repeated"] == 0
    assert day["lost"] == 0, day["lost_examples"]
    assert day["sent"] + day["skipped"] + day["failed"] + day["in_dlq"] == day["planned"]
    assert day["provider_messages_unmatched"] == 0
    # each malformed job is in the send DLQ with the reason it was refused; the rest went on
    assert day["poison"] == {"put": 12, "in_dlq": 12, "in_dlq_with_reason": 12}
    assert day["left_in_queues"] == 0


def test_a_person_settles_unconfirmed_claims_from_the_providers_word_and_nothing_is_sent_twice(sandbox, capsys):
    from propfee import cli
    from propfee.collection.ladder import decide
    from tests.support import SHANGHAI

    sandbox.clock.set(at("2026-11-11 10:00"))
    with FaultInjector() as faults:
        faults.add("sns", "Publish", "crash", times=2)  # two SMS left, then the function died each time
        faults.add("dynamodb", "TransactWriteItems", "crash", times=1)  # one claimed, died before sending
        _enqueue(sandbox, UNITS)
        sandbox.drain()
    assert len(_unconfirmed(sandbox)) == 3 and len(sandbox.sent_sms()) == len(UNITS) - 1

    def claims(*args):
        code = cli.main(["claims", *args, "--table", sandbox.table.name])
        return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    code, listed = claims("list", "--json")
    assert code == 0 and [c["status"] for c in listed] == ["claimed"] * 3
    by_unit = {c["unit_id"]: c for c in listed}
    published = {text for _, _, text in sandbox.sent_sms()}
    never_sent = [u for u in by_unit if not any(u[-7:] in text for text in published)]
    assert len(never_sent) == 1
    was_sent = sorted(set(by_unit) - set(never_sent))

    # End User Messaging's receipt for one of the sent ones carries its claim: that one settles itself
    context = {"unit_id": was_sent[0], "claim": by_unit[was_sent[0]]["claim"].replace("#", ".")}
    receipt = {"eventType": "TEXT_DELIVERED", "eventTimestamp": 1794800000000, "messageId": "eum-9", "context": context}
    sandbox.client("sns").publish(TopicArn=sandbox.resources["DeliveryEventsTopic"], Message=json.dumps(receipt))
    sandbox.drain()
    assert claims("settle") == (0, [{"settled": 1, "still_unconfirmed": 2}])

    # the other sent one: the provider's log has it, under this id
    provider_id = next(mid for mid, _, text in sandbox.sent_sms() if was_sent[1][-7:] in text)
    assert claims("resolve", was_sent[1], by_unit[was_sent[1]]["claim"], "--sent", provider_id)[0] == 0
    # the one never sent: withdrawn, so that the ladder decides the unit again
    assert claims("resolve", never_sent[0], by_unit[never_sent[0]]["claim"], "--not-sent")[0] == 0

    assert _unconfirmed(sandbox) == []
    statuses = _reminders(sandbox)
    assert statuses[keys.evidence_pk(was_sent[0])] == "delivered" and statuses[keys.evidence_pk(was_sent[1])] == "sent"
    assert keys.evidence_pk(never_sent[0]) not in statuses
    # (the claim's contact still counts against the frequency cap: it errs on the side of fewer messages)
    again = decide(sandbox.table.get_unit(never_sent[0]), at("2026-11-14 10:00").date(), SHANGHAI)
    assert again.action is not None and again.action.step.step_id == by_unit[never_sent[0]]["claim"].split("#")[1]
    assert len(sandbox.sent_sms()) == len(UNITS) - 1  # nothing was sent again by settling
    assert claims("resolve", was_sent[1], by_unit[was_sent[1]]["claim"], "--not-sent")[0] == 2  # no longer there

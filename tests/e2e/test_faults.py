"""Faults between the send function and AWS: no reminder is sent twice, none is lost."""

from collections import Counter

import pytest

from propfee.sandbox.faults import FaultInjector
from tests.e2e.conftest import dead_letters, job_body
from tests.support import at

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
    assert statuses == {"sent": len(UNITS) - 2, "claimed": 2}  # reported as unconfirmed, not lost
    assert dead_letters(sandbox) == []


def test_dynamodb_errors_at_claim_time_are_retried_without_duplicates(sandbox):
    sandbox.clock.set(at("2026-11-11 10:00"))
    with FaultInjector() as faults:
        faults.add("dynamodb", "TransactWriteItems", "InternalServerError", times=9)
        _enqueue(sandbox, UNITS)
        sandbox.drain()
    assert len(sandbox.sent_sms()) == len(UNITS)
    assert set(_reminders(sandbox).values()) == {"sent"}

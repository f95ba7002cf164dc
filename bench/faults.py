"""`make bench`'s faulty day: the busy day of bench/run.py (`sandbox_day`) under injected faults, reconciled
from the raw records.

Faults (propfee.local.sandbox.faults, random mode, seeded): throttling and internal errors instead of DynamoDB, SQS,
SNS, SESv2 and S3 calls; read timeouts and crashes right after them (a crash kills the whole invocation:
SQS delivers the batch again, a failed schedule is retried twice); SendMessageBatch entries refused; send
jobs delivered twice and batches in shuffled order; malformed messages (poison) on the send queue.

The reconciliation reads what happened, not what the functions said happened:
- planned: every send job the plan enqueued, as the send queue delivered it (each is received at least once:
  handled, or moved to the DLQ after its last receive), together with the same plan computed apart from the
  sandbox from the world that was loaded (the planner is pure: what the morning run enqueues when nothing
  fails); the plan's own count (`planned_count`) is a check, and reads low when a community's run is
  redelivered after some of its jobs were sent;
- handed over: the messages the providers hold (moto's SNS SMS and SES mail, matched to a claim by
  destination and the content hash its evidence records), the letters' PDFs in the bucket, the tasks in the
  table;
- skipped: the day's skip records, with their reasons; failed: evidence the provider refused for good;
- in a DLQ: the send jobs in the stack's dead-letter queues (and the jobs of a community whose planning
  request is in one, or all of them if the morning run itself is).

"Lost" is what the architecture promises never happens: a planned reminder that no owner, letter box or
collector received, that is not skipped with a reason, not refused by the provider and not in a DLQ, so that
nobody will ever see it again. Its evidence record tells how: `claimed_never_sent` (the claim was written and
blocks every retry, yet no provider has the message: a crash or timeout right after the claim, or a claim
that could not be given back), `never_claimed` (no trace at all). A claim left "claimed" whose message the
provider does hold is not lost (the owner has it, once); it is counted as `unconfirmed`: evidence without
the provider's id, until a delivery receipt fills it in. A duplicate is a claim (unit, step, occurrence)
whose message a provider accepted more than once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from propfee.aws.dynamo import PropfeeTable
from propfee.collection.letters import letter_key
from propfee.collection.planning import plan_day
from propfee.collection.tasks import task_id_for
from propfee.domain.models import Building, Community, PlanRequest, ReminderStatus, SendJob, Unit
from propfee.local.sandbox import Sandbox
from propfee.local.sandbox.faults import FaultInjector, poison_marker, put_poison
from propfee.local.simulation.world import World, build_world
from propfee.rules import load_rules

TZ = ZoneInfo("Asia/Shanghai")
START = date(2026, 11, 1)
BUSY_DAY = date(2026, 11, 11)  # as in bench/run.py: the ladder's first step for every debtor
POISON = 25  # malformed messages put on the send queue

# Rates of faults as a function sees them (after botocore's own retries): high enough to fire hundreds of
# times in 10,000 households, low enough that SQS redelivery (5 receives before the DLQ) and Lambda's
# retries of the morning plan (3 attempts, each one enqueueing about 1,000 batches) finish the day.
FAULTS: dict[str, Any] = {
    "errors": {
        "dynamodb": 0.01,
        ("sqs", "SendMessageBatch"): 0.0003,
        ("sqs", "SendMessage"): 0.01,
        "sns": 0.02,
        "sesv2": 0.02,
        "s3": 0.01,
    },
    "timeouts": {"dynamodb": 0.001, "sns": 0.002, "sesv2": 0.002, ("sqs", "SendMessage"): 0.002},
    "crashes": {
        "dynamodb": 0.002,
        ("sqs", "SendMessageBatch"): 0.0003,
        ("sqs", "SendMessage"): 0.002,
        "sns": 0.003,
        "sesv2": 0.003,
        "s3": 0.003,
    },
    "refused_entries": 0.01,
    "duplicates": 0.01,
    "shuffle": True,
}


class _WorldArrears:
    """The arrears index as the loaded world has it: the plan computed apart from the sandbox."""

    def __init__(self, world: World) -> None:
        self._world = world

    def communities(self) -> list[Community]:
        return list(self._world.snapshot.communities)

    def buildings(self, community_id: str) -> list[Building]:
        return [b for b in self._world.snapshot.buildings if b.community_id == community_id]

    def units_owing(self, community_id: str, due_before: date) -> Iterator[Unit]:
        owing = [
            u
            for u in self._world.snapshot.units
            if u.community_id == community_id and u.oldest_due is not None and u.oldest_due < due_before
        ]
        yield from sorted(owing, key=lambda u: (u.oldest_due, u.unit_id))


class _Jobs:
    def __init__(self) -> None:
        self.jobs: list[SendJob] = []

    def enqueue(self, jobs: Sequence[SendJob]) -> int:
        self.jobs.extend(jobs)
        return len(jobs)


Claim = tuple[str, str, int]  # unit, step, occurrence


def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


class _SendQueueWatch:
    """The send jobs the send queue delivered to the send function (on the sandbox's own poller client)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._queue = _queue_name(sandbox.resources["SendQueue"])
        self.jobs: dict[Claim, SendJob] = {}
        events = sandbox.client("sqs").meta.events
        events.register("before-parameter-build.sqs.ReceiveMessage", self._note_queue)
        events.register("after-call.sqs.ReceiveMessage", self._received)

    @staticmethod
    def _note_queue(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_queue_url"] = params.get("QueueUrl")

    def _received(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if _queue_name(str(context.get("bench_queue_url"))) != self._queue:
            return
        for message in parsed.get("Messages", []):
            try:
                job = SendJob.model_validate_json(message["Body"])
            except ValueError:
                continue  # poison
            self.jobs.setdefault(_claim(job), job)


def _claim(job: SendJob) -> Claim:
    return job.unit_id, job.step, job.occurrence


def _content(subject: str | None, body: str) -> str:
    """The evidence's content hash of a message (propfee.collection.messages.RenderedMessage.content_sha256)."""
    return hashlib.sha256(f"{subject or ''}\n{body}".encode()).hexdigest()


def _drain_queue(sandbox: Sandbox, url: str) -> list[dict[str, Any]]:
    """Every message of a queue, each read once (they stay hidden a while, nothing is deleted)."""
    sqs, messages = sandbox.client("sqs"), []
    while True:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=900
        ).get("Messages", [])
        if not got:
            return messages
        messages.extend(got)


def _left_in(sandbox: Sandbox) -> int:
    sqs, left = sandbox.client("sqs"), 0
    for mapping in sandbox.mappings:
        attributes = sqs.get_queue_attributes(
            QueueUrl=mapping.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        left += sum(int(v) for v in attributes.values())
    return left


def planned_count(sandbox: Sandbox) -> int:
    """The send jobs the plan function says it enqueued: its returned summary, or (when the morning run fans
    out one request per community) what each community's run logged, the largest per community and day (a
    request delivered twice plans the community twice; the claims absorb the jobs enqueued again)."""
    returned = [r for lid, _, r in sandbox.scheduled_results if lid == "PlanFunction" and isinstance(r, dict)]
    if any("jobs_enqueued" in r for r in returned):
        return sum(int(r.get("jobs_enqueued", 0)) for r in returned)
    logged: dict[tuple[str, str], int] = {}
    for line in sandbox.functions["PlanFunction"].log.getvalue().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("message") == "plan finished" and "jobs_enqueued" in record:
            key = (str(record.get("day")), str(record.get("community_id")))
            logged[key] = max(logged.get(key, 0), int(record["jobs_enqueued"]))
    return sum(logged.values())


def reconcile(
    enqueued: Sequence[SendJob],
    computed_apart: Sequence[SendJob],
    evidence: Mapping[Claim, Any],
    skips: Mapping[tuple[str, str], str],
    sms: Sequence[tuple[str, str]],
    email: Sequence[tuple[str, str, str]],
    letters: set[str],
    tasks: set[str],
    dead_letters: Sequence[dict[str, Any]],
    plan_in_dlq: bool = False,
) -> dict[str, Any]:
    """Each planned claim's ending from the raw records (see the module's docstring for the terms).

    enqueued: the send jobs the send queue delivered; computed_apart: the plan computed outside the sandbox;
    evidence: the evidence record (a Reminder) per claim; skips: reason per (unit, step); sms: (phone, text)
    as the SMS provider holds them; email: (to, subject, body); letters: the letters' keys in the bucket;
    tasks: the ids of the tasks in the table; dead_letters: the messages of the dead-letter queues;
    plan_in_dlq: the morning run itself failed for good and its event is in the plan function's DLQ."""
    provider: Counter[tuple[str, str]] = Counter((phone, _content(None, text)) for phone, text in sms)
    provider.update((to, _content(subject, body)) for to, subject, body in email)
    in_dlq: set[Claim] = set()
    communities_in_dlq: set[str] = set()  # a community's planning request, retried until the plan DLQ took it
    for message in dead_letters:
        try:
            in_dlq.add(_claim(SendJob.model_validate_json(message["Body"])))
            continue
        except ValueError:
            pass
        try:
            communities_in_dlq.add(PlanRequest.model_validate_json(message["Body"]).community_id)
        except ValueError:
            continue  # neither: poison, or another flow's message
    planned = {**{_claim(j): j for j in computed_apart}, **{_claim(j): j for j in enqueued}}
    handed: Counter[Claim] = Counter()
    matched: set[tuple[str, str]] = set()
    for job in planned.values():
        claim, reminder = _claim(job), evidence.get(_claim(job))
        if job.channel.is_message:
            key = (job.destination, reminder.content_sha256) if reminder is not None else None
            handed[claim] = provider.get(key, 0) if key is not None else 0
            matched.update([key] if key is not None else [])
        elif job.channel.is_task:  # a call, visit or review: the task is created with the claim
            handed[claim] = int(task_id_for(*claim) in tasks)
        else:
            handed[claim] = int(letter_key(job.planned_for.isoformat(), *claim) in letters)
    endings: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    lost_examples: list[str] = []
    unconfirmed = 0
    for job in planned.values():
        claim, reminder = _claim(job), evidence.get(_claim(job))
        if handed[claim]:
            endings["sent"] += 1
            unconfirmed += reminder is not None and reminder.status is ReminderStatus.CLAIMED
        elif (job.unit_id, job.step) in skips:
            endings["skipped"] += 1
            skipped[skips[(job.unit_id, job.step)]] += 1
        elif reminder is not None and reminder.status is ReminderStatus.FAILED:
            endings["failed"] += 1
        elif claim in in_dlq or job.community_id in communities_in_dlq or plan_in_dlq:
            endings["in_dlq"] += 1
        else:
            lost["claimed_never_sent" if reminder is not None else "never_claimed"] += 1
            if len(lost_examples) < 10:
                lost_examples.append(f"{job.unit_id} {job.step}#{job.occurrence} ({job.channel.value})")
    keys = set(planned)
    return {
        "planned": len(keys),
        "planned_enqueued": len({_claim(j) for j in enqueued}),
        "planned_as_computed_apart": len({_claim(j) for j in computed_apart}),
        "sent": endings["sent"],
        "skipped": endings["skipped"],
        "skipped_by_reason": dict(sorted(skipped.items())),
        "failed": endings["failed"],
        "in_dlq": endings["in_dlq"],
        "duplicates": sum(1 for claim in keys if handed[claim] > 1),
        "lost": sum(lost.values()),
        "lost_by_evidence": dict(sorted(lost.items())),
        "lost_examples": lost_examples,
        "unconfirmed": unconfirmed,
        "provider_messages": sum(provider.values()),
        "provider_messages_unmatched": sum(n for key, n in provider.items() if key not in matched),
        "evidence_unplanned": sum(1 for claim in evidence if claim not in keys),
        "provider_messages_repeated": sum(n - 1 for n in provider.values() if n > 1),
        "sent_by_channel": dict(sorted(Counter(planned[c].channel.value for c in keys if handed[c]).items())),
    }


def faulty_day(
    households: int, seed: int, faults: Mapping[str, Any] | None = None, poison: int = POISON
) -> dict[str, object]:
    """The busy day through the real functions in the sandbox under seeded faults, reconciled."""
    world = build_world(households, 1, START, TZ)
    expected = _Jobs()
    summary = plan_day(BUSY_DAY, TZ, _WorldArrears(world), expected, load_rules())
    injector = FaultInjector.random(seed, **dict(FAULTS if faults is None else faults))
    quiet = logging.getLogger("propfee.local.sandbox")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # every failed batch is logged with its traceback
    try:
        with Sandbox(start=datetime.combine(BUSY_DAY, clock_time(0, 30), TZ)) as sandbox:
            table = PropfeeTable(sandbox.resources["PropfeeTable"], TZ)
            table.load_snapshot(world.snapshot)
            table.put_collectors(world.collectors)
            watch = _SendQueueWatch(sandbox)
            started = time.perf_counter()
            with injector.on(sandbox):
                sandbox.advance(datetime.combine(BUSY_DAY, clock_time(9, 0), TZ))
                # on the queue before the plan's jobs, delivered in the same batches
                bodies = put_poison(sandbox, "SendQueue", poison, seed)
                sandbox.advance(datetime.combine(BUSY_DAY, clock_time(12, 0), TZ))
            seconds = time.perf_counter() - started
            plans = [r for lid, _, r in sandbox.scheduled_results if lid == "PlanFunction" and isinstance(r, dict)]
            planned = planned_count(sandbox)
            activity = [table.day_activity(c.community_id, BUSY_DAY) for c in table.communities()]
            evidence = {(r.unit_id, r.step, r.occurrence): r for day in activity for r in day.reminders}
            skips = {(s.unit_id, s.step): s.reason for day in activity for s in day.skips}
            tasks = {
                task_id
                for job in expected.jobs
                if job.channel.is_task and table.get_task(task_id := task_id_for(*_claim(job))) is not None
            }
            letters = {
                obj["Key"]
                for page in sandbox.client("s3")
                .get_paginator("list_objects_v2")
                .paginate(Bucket=sandbox.resources["ReportBucket"], Prefix="letters/")
                for obj in page.get("Contents", [])
            }
            dead = {
                lid: _drain_queue(sandbox, url)
                for lid, url in sandbox.resources.items()
                if lid.endswith("DeadLetterQueue")
            }
            # the collectors' morning digest (10:30) goes to staff, not owners: not a planned claim's message
            staff = {a for c in world.collectors for a in (c.phone, c.email) if a}
            figures = reconcile(
                list(watch.jobs.values()),
                expected.jobs,
                evidence,
                skips,
                [(phone, text) for _, phone, text in sandbox.sent_sms() if phone not in staff],
                [
                    (to[0] if to else "", subject, body)
                    for _, to, subject, body in sandbox.sent_email()
                    if not (to and to[0] in staff)
                ],
                letters,
                tasks,
                [m for messages in dead.values() for m in messages],
                plan_in_dlq=any("community_id" not in m["Body"] for m in dead.get("PlanFunctionDeadLetterQueue", [])),
            )
            left = _left_in(sandbox)
    finally:
        quiet.setLevel(level)
    send_dlq = dead.get("SendDeadLetterQueue", [])
    reasons = {poison_marker(m["Body"]): m.get("MessageAttributes", {}).get("reason") for m in send_dlq}
    return {
        "households": households,
        "seed": seed,
        **figures,
        "planned_reported_by_plan": planned,
        "planned_apart_skipped_units": dict(sorted(summary.skipped.items())),
        "plan_attempts": len(plans)
        + injector.fired.get(("async_retry", "PlanFunction"), 0)
        + injector.fired.get(("async_dropped", "PlanFunction"), 0)
        + injector.fired.get(("async_dead_lettered", "PlanFunction"), 0),
        "poison": {
            "put": len(bodies),
            "in_dlq": len(set(bodies) & set(reasons)),
            "in_dlq_with_reason": sum(1 for marker in bodies if (reasons.get(marker) or {}).get("StringValue")),
        },
        "dlq_messages": {lid: len(messages) for lid, messages in dead.items() if messages},
        "left_in_queues": left,
        "faults_fired": injector.by_kind(),
        "faults_fired_by_call": {f"{kind} {where}": n for (kind, where), n in sorted(injector.fired.items())},
        "seconds": round(seconds, 2),
    }

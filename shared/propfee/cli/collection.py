"""Collecting: the plan of a day (`plan`), a unit's evidence bundle, the collectors' tasks and the unconfirmed
claims of the send DLQ (`claims`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from propfee.cli.common import dead_letter_reason, settings_and_table
from propfee.cli.tables import Column, last_digits, local, print_rows

if TYPE_CHECKING:
    from propfee.aws.queue import DeadLetterQueues
    from propfee.domain.models import SendJob


def cmd_plan(args: argparse.Namespace) -> int:
    """Today's intended actions and every skipped unit with its reason, read from the table; sends nothing."""
    from propfee.collection.planning import decisions
    from propfee.observability import mask_destination
    from propfee.rules import load_rules

    if not args.dry_run:
        print("only --dry-run is supported here: the plan function sends (see the README)", file=sys.stderr)
        return 2
    settings, table = settings_and_table(args)
    communities = [args.community] if args.community else None
    counts: Counter[str] = Counter()
    line: dict[str, object]
    for unit, decision in decisions(args.date, settings.tz, table, load_rules(settings.rules_file), communities):
        for action in decision.actions:
            line = {
                "unit_id": unit.unit_id,
                "action": action.claim_id,
                "channel": action.channel.value,
                "template": action.step.template,
                "to": mask_destination(action.destination),
                "balance_fen": unit.balance_fen,
            }
            counts[f"send {action.channel.value}"] += 1
            print(json.dumps(line, ensure_ascii=False))
        if not decision.actions:
            line = {"unit_id": unit.unit_id, "skipped": decision.reason, "balance_fen": unit.balance_fen}
            counts[f"skip {decision.reason}"] += 1
            print(json.dumps(line, ensure_ascii=False))
    print(json.dumps({"date": args.date.isoformat(), "dry_run": True, "totals": dict(sorted(counts.items()))}))
    return 0


def cmd_evidence(args: argparse.Namespace) -> int:
    """A zip of everything about a unit, with a SHA-256 manifest, for a lawyer."""
    from propfee.aws.storage import OriginalMessages, S3Store
    from propfee.collection.evidence import bundle_files, letter_keys, zip_bundle
    from propfee.domain import clock

    settings, table = settings_and_table(args)
    unit = table.get_unit(args.unit)
    if unit is None:
        print(f"no unit {args.unit} in {settings.table}", file=sys.stderr)
        return 1
    exported_at = clock.now().astimezone(settings.tz)
    history = table.unit_history(args.unit)
    # the owners' messages kept whole in S3 (the records hold their first 2,000 characters)
    kept = {str(r["original"]) for r in history if r.get("kind") == "inbound" and r.get("original")}
    # the demand letters as printed, from the reports bucket (the records name each by its key)
    keys, bucket = letter_keys(history), args.bucket or settings.report_bucket
    if keys and not bucket:
        print(
            f"{len(keys)} letters not in the bundle: which bucket? --bucket or PROPFEE_REPORT_BUCKET", file=sys.stderr
        )
    letters = {key: S3Store(bucket).get(key) for key in keys} if keys and bucket else {}
    originals = {uri: OriginalMessages.read(uri) for uri in sorted(kept)}
    files = bundle_files(unit, history, exported_at, originals, letters)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"evidence-{args.unit}-{exported_at:%Y%m%dT%H%M%S}.zip"
    target.write_bytes(zip_bundle(files))
    print(target)
    return 0


TASK_COLUMNS = [
    Column("task_id", "task"),
    Column("kind", "kind"),
    Column("collector_name", "collector"),
    Column("community", "community"),
    Column("building", "building"),
    Column("room", "room"),
    Column("owner", "owner"),
    Column("call", "phone"),
    Column("owed_yuan", "owed ¥", "right"),
    Column("created_at", "given"),
    Column("due_by", "due by"),
    Column("status", "status"),
]


def cmd_task_list(args: argparse.Namespace) -> int:
    """Open (or done) call and visit tasks, per collector, oldest first: where, whom to ask for, how much."""
    from propfee.domain.money import yuan

    settings, table = settings_and_table(args)
    tz = settings.tz
    names = {c.collector_id: c.name for c in table.collectors()}
    rows: list[dict[str, Any]] = []
    for collector_id in [args.collector] if args.collector else sorted(names):
        for task in table.tasks(collector_id, args.status):
            rows.append(
                {
                    "task_id": task.task_id,
                    "collector": task.collector_id,
                    "collector_name": names.get(task.collector_id, task.collector_id),
                    "kind": task.kind.value,
                    "unit": task.unit_label,
                    "community": task.community_name or task.community_id,
                    "building": task.building_name,
                    "room": task.room,
                    "owner": task.owner_name,  # the collector asks for them by name
                    "call": last_digits(task.call_number, args.full),
                    "owed_yuan": yuan(task.balance_fen),
                    "created_at": local(task.created_at, tz),
                    "due_by": local(task.due_by, tz),
                    "status": task.status if task.outcome is None else f"{task.status}: {task.outcome.value}",
                    "outcome": task.outcome.value if task.outcome else None,
                }
            )
    title = f"{args.status} tasks ({settings.timezone} time)"
    print_rows(rows, TASK_COLUMNS, title, args.json, f"no {args.status} tasks")
    return 0


COLLECTOR_COLUMNS = [
    Column("collector_id", "id"),
    Column("name", "name"),
    Column("role", "role"),
    Column("communities", "communities"),
    Column("buildings", "buildings"),
    Column("open_tasks", "open tasks", "right"),
    Column("phone", "phone"),
    Column("email", "email"),
    Column("digest_by", "digest by"),
]


def cmd_collectors_list(args: argparse.Namespace) -> int:
    """The collectors and site managers, their areas, loads and how the morning digest reaches them."""
    from propfee.observability import mask_email

    _, table = settings_and_table(args)
    rows = [
        {
            "collector_id": c.collector_id,
            "name": c.name,
            "role": c.role,
            "communities": list(c.communities),
            "buildings": list(c.buildings),
            "open_tasks": c.open_tasks,
            "phone": last_digits(c.phone, args.full),
            "email": (c.email if args.full else mask_email(c.email)) if c.email else "",
            "language": c.language,
            "digest_by": "email" if c.email else "sms" if c.phone else "none",
        }
        for c in sorted(table.collectors(), key=lambda c: c.collector_id)
    ]
    print_rows(rows, COLLECTOR_COLUMNS, "collectors", args.json, "no collectors")
    return 0


def cmd_collectors_set(args: argparse.Namespace) -> int:
    """Add a collector, or change what is given (the rest stays as it was); their open-task load is kept."""
    from pydantic import ValidationError

    from propfee.domain.models import Collector

    _, table = settings_and_table(args)
    known = next((c for c in table.collectors() if c.collector_id == args.collector_id), None)
    if known is None and not args.name:
        print(f"propfee: {args.collector_id} is new: give --name", file=sys.stderr)
        return 2
    given = {
        "name": args.name,
        "role": args.role,
        "communities": tuple(args.community) if args.community else None,
        "buildings": tuple(args.building) if args.building else None,
        "phone": args.phone,
        "email": args.email,
        "language": args.language,
    }
    fields = {**(known.model_dump() if known else {"collector_id": args.collector_id}),
              **{k: v for k, v in given.items() if v is not None}}  # fmt: skip
    for cleared in ("phone", "email"):
        if given[cleared] == "":
            fields[cleared] = None  # `--phone ""` takes the number away
    try:
        collector = Collector.model_validate(fields)
    except ValidationError as error:
        problems = "; ".join(f"--{e['loc'][0]}: {e['msg']}" for e in error.errors(include_input=False) if e["loc"])
        print(f"propfee: {problems}", file=sys.stderr)
        return 2
    table.save_collector(collector)
    print(json.dumps({"collector_id": collector.collector_id, "saved": "changed" if known else "added"}))
    return 0


def cmd_task_done(args: argparse.Namespace) -> int:
    """As the console's outcome buttons: the task closed, then the staff action recorded (by cli:<user>), so that
    the unit's evidence pack and the daily report's figures have it whichever way it was recorded."""
    import getpass

    from propfee.collection.tasks import TaskError
    from propfee.console.collector import CollectorDesk
    from propfee.console.permissions import Role, StaffMember
    from propfee.domain import clock
    from propfee.domain.models import TaskOutcome
    from propfee.domain.staff_actions import CLI_ACTOR

    settings, table = settings_and_table(args)
    now = clock.now()
    today = now.astimezone(settings.tz).date()
    operator = StaffMember(sub=f"{CLI_ACTOR}{getpass.getuser()}", email="", roles=frozenset({Role.COMPANY_ADMIN}))
    try:
        done = CollectorDesk(table).record_outcome(
            operator, args.task_id, TaskOutcome(args.outcome), args.date, args.note, now, today
        )
    except TaskError as error:
        print(str(error), file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "task_id": done.task_id,
                "status": done.status,
                "outcome": done.outcome,
                "promised_date": done.promised_date.isoformat() if done.promised_date else None,
            }
        )
    )
    return 0


@contextmanager
def _unconfirmed_claims() -> Iterator[tuple[DeadLetterQueues, str, list[tuple[dict[str, Any], SendJob]]]]:
    """The send DLQ and its unconfirmed claims: jobs whose attempt died between the claim and the provider's
    answer. The DLQ's messages are hidden while the command runs; what it did not delete is shown again."""
    from propfee.aws.queue import DeadLetterQueues
    from propfee.collection.sending import UNCONFIRMED_CLAIM
    from propfee.domain.models import SendJob

    queues = DeadLetterQueues()
    [url] = [dlq for dlq, source in queues.sources().items() if source.rsplit("/", 1)[-1].split("-")[-2] == "SendQueue"]
    messages = queues.take_all(url)
    found = [
        (message, SendJob.model_validate_json(message["Body"]))
        for message in messages
        if dead_letter_reason(message.get("MessageAttributes", {})) == UNCONFIRMED_CLAIM
    ]
    deleted_before = len(queues.deleted)
    try:
        yield queues, url, found
    finally:
        gone = {m["ReceiptHandle"] for m in queues.deleted[deleted_before:]}
        queues.show_again(url, [m for m in messages if m["ReceiptHandle"] not in gone])


CLAIM_COLUMNS = [
    Column("unit_id", "unit"),
    Column("claim", "claim"),
    Column("channel", "channel"),
    Column("claimed_at", "claimed"),
    Column("status", "status now"),
    Column("settled", "settled"),
]


def cmd_claims_list(args: argparse.Namespace) -> int:
    """Each unconfirmed claim in the send DLQ and its evidence record as it stands now."""
    settings, table = settings_and_table(args)
    rows: list[dict[str, Any]] = []
    with _unconfirmed_claims() as (_, _, found):
        for _message, job in found:
            reminder = table.reminder(job.unit_id, job.claim_key)
            status = reminder.status.value if reminder else "no claim"
            rows.append({"unit_id": job.unit_id, "claim": job.claim_key, "channel": job.channel.value,
                         "claimed_at": local(reminder.claimed_at, settings.tz) if reminder else None,
                         "status": status, "settled": status != "claimed"})  # fmt: skip
    title = f"unconfirmed claims in the send DLQ ({settings.timezone} time)"
    print_rows(rows, CLAIM_COLUMNS, title, args.json, "no unconfirmed claims in the send DLQ")
    return 0


def cmd_claims_settle(args: argparse.Namespace) -> int:
    """Remove from the send DLQ the unconfirmed claims that settled themselves: the provider's delivery receipt
    (which carries the claim) has since said what became of the message."""
    from propfee.domain.models import ReminderStatus

    _, table = settings_and_table(args)
    settled = 0
    with _unconfirmed_claims() as (queues, url, found):
        for message, job in found:
            reminder = table.reminder(job.unit_id, job.claim_key)
            if reminder is not None and reminder.status is not ReminderStatus.CLAIMED:
                queues.delete(url, message)
                settled += 1
    print(json.dumps({"settled": settled, "still_unconfirmed": len(found) - settled}))
    return 0


def cmd_claims_resolve(args: argparse.Namespace) -> int:
    """After checking the provider's log: the message was sent (give its id), or it was not (the next plan
    decides the unit again). The job leaves the send DLQ either way."""
    from propfee.domain import clock

    _, table = settings_and_table(args)
    with _unconfirmed_claims() as (queues, url, found):
        matches = [(m, job) for m, job in found if (job.unit_id, job.claim_key) == (args.unit, args.claim)]
        if not matches:
            print(f"no unconfirmed claim {args.claim} of {args.unit} in the send DLQ", file=sys.stderr)
            return 2
        job = matches[0][1]
        if args.sent:
            done = table.confirm_claim(job, args.sent, clock.now(), note=f"confirmed by hand: {args.note or ''}")
        else:
            done = table.withdraw_claim(job)
        if not done:
            print("the claim is no longer unconfirmed (a receipt settled it): `propfee claims settle`", file=sys.stderr)
            return 1
        for message, _job in matches:  # the same job may have reached the DLQ more than once
            queues.delete(url, message)
    print(json.dumps({"unit_id": job.unit_id, "claim": job.claim_key, "now": "sent" if args.sent else "withdrawn"}))
    return 0

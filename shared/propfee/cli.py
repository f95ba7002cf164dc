"""The `propfee` command."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time as wallclock
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from propfee.money import yuan

if TYPE_CHECKING:
    from propfee.adapters.feedback import FeedbackTable
    from propfee.adapters.queue import DeadLetterQueues
    from propfee.config import Settings
    from propfee.models import SendJob


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def cmd_demo(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from propfee.simulation.run import DemoOptions, run_demo

    console = Console(stderr=True)
    options = DemoOptions(
        households=args.households, days=args.days, seed=args.seed, start=args.start, out=Path(args.out)
    )
    console.print(
        f"[bold]propfee demo[/]: {options.households} households, {options.days} days from "
        f"{options.start.replace(day=1)}, seed {options.seed}, on the embedded AWS"
    )
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("simulating days", total=options.days)
        summary = run_demo(options, on_day=lambda day: progress.update(task, advance=1, description=str(day)))
    start, end = summary["standing_at_start"], summary["standing_at_end"]
    table = Table(title=f"propfee demo: {summary['start']} .. {summary['end']}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("households / communities", f"{summary['households']} / {summary['communities']}")
    table.add_row(f"collection rate {start['period']} at start", _pct(start["collection_rate"]))
    table.add_row(f"collection rate {end['period']} at end", _pct(end["collection_rate"]))
    table.add_row("outstanding at start (yuan)", yuan(start["outstanding_fen"]))
    table.add_row("outstanding at end (yuan)", yuan(end["outstanding_fen"]))
    actions = summary["actions"]
    table.add_row("SMS reminders", str(summary["reminders"]["sms"]))
    table.add_row("email reminders", str(summary["reminders"]["email"]))
    table.add_row("demand letters (PDF)", str(actions.get("letter", 0)))
    outcomes = ", ".join(f"{k} {v}" for k, v in summary["task_outcomes"].items()) or "-"
    table.add_row("collector calls / visits", f"{actions.get('call', 0)} / {actions.get('visit', 0)} ({outcomes})")
    table.add_row(
        "payments received", f"{summary['payments']['count']} ({yuan(summary['payments']['amount_fen'])} yuan)"
    )
    table.add_row("messages in dead-letter queues", str(summary["dead_letters"]))
    Console().print(table)
    console.print(f"daily reports and summary.json in {options.out}/")
    return 0


def cmd_sandbox_up(args: argparse.Namespace) -> int:
    from propfee.adapters.dynamo import PropfeeTable
    from propfee.sandbox import Sandbox
    from propfee.simulation.world import build_world

    tz = ZoneInfo("Asia/Shanghai")
    start = datetime.combine(args.start, time(0, 0), tz)
    with Sandbox(start=start, port=args.port) as sandbox:
        if args.households:
            world = build_world(args.households, args.seed, args.start.replace(day=1), tz)
            PropfeeTable(sandbox.resources["PropfeeTable"], tz).load_snapshot(world.snapshot)
        print(f"embedded AWS listening on {sandbox.endpoint} (stack from {sandbox.template_path})")
        print("use it with the AWS CLI or boto3:")
        for key, value in sandbox.aws_environment().items():
            print(f"  export {key}={value}")
        print(f"  export PROPFEE_TABLE={sandbox.resources['PropfeeTable']}")
        print(f"  export PROPFEE_REPORT_BUCKET={sandbox.resources['ReportBucket']}")
        print("resources:")
        for logical_id, physical in sorted(sandbox.resources.items()):
            print(f"  {logical_id:32} {physical}")
        print("Ctrl-C stops it.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            while True:
                wallclock.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


def _table(args: argparse.Namespace) -> tuple[Settings, FeedbackTable]:
    """The settings (from PROPFEE_* variables) and the table, --table overriding PROPFEE_TABLE."""
    from propfee.adapters.feedback import FeedbackTable
    from propfee.config import Settings

    settings = Settings(table=args.table) if args.table else Settings()  # type: ignore[call-arg]
    from propfee.rules import load_rules

    allocation = load_rules(settings.rules_file).billing.allocation
    return settings, FeedbackTable(settings.table, settings.tz, allocation=allocation)


def cmd_plan(args: argparse.Namespace) -> int:
    """Today's intended actions and every skipped unit with its reason, read from the table; sends nothing."""
    from propfee.observability import mask_destination
    from propfee.planning import decisions
    from propfee.rules import load_rules

    if not args.dry_run:
        print("only --dry-run is supported here: the plan function sends (see the README)", file=sys.stderr)
        return 2
    settings, table = _table(args)
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
    from propfee import clock
    from propfee.adapters.storage import OriginalMessages
    from propfee.evidence import bundle_files, zip_bundle

    settings, table = _table(args)
    unit = table.get_unit(args.unit)
    if unit is None:
        print(f"no unit {args.unit} in {settings.table}", file=sys.stderr)
        return 1
    exported_at = clock.now().astimezone(settings.tz)
    history = table.unit_history(args.unit)
    # the owners' messages kept whole in S3 (the records hold their first 2,000 characters)
    kept = {str(r["original"]) for r in history if r.get("kind") == "inbound" and r.get("original")}
    files = bundle_files(unit, history, exported_at, {uri: OriginalMessages.read(uri) for uri in sorted(kept)})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"evidence-{args.unit}-{exported_at:%Y%m%dT%H%M%S}.zip"
    target.write_bytes(zip_bundle(files))
    print(target)
    return 0


def cmd_task_list(args: argparse.Namespace) -> int:
    """Open (or done) call and visit tasks, per collector, oldest first."""
    from propfee.money import yuan

    _, table = _table(args)
    collectors = [c.collector_id for c in table.collectors()]
    for collector_id in [args.collector] if args.collector else collectors:
        for task in table.tasks(collector_id, args.status):
            print(
                json.dumps(
                    {
                        "task_id": task.task_id,
                        "collector": task.collector_id,
                        "kind": task.kind.value,
                        "unit": task.unit_label,
                        "call": task.call_number,
                        "owed_yuan": yuan(task.balance_fen),
                        "due_by": task.due_by.isoformat(),
                        "status": task.status,
                        "outcome": task.outcome,
                    },
                    ensure_ascii=False,
                )
            )
    return 0


def cmd_task_done(args: argparse.Namespace) -> int:
    from propfee import clock
    from propfee.models import TaskOutcome
    from propfee.tasks import TaskError, close_task

    settings, table = _table(args)
    now = clock.now()
    today = now.astimezone(settings.tz).date()
    try:
        done = close_task(table, args.task_id, TaskOutcome(args.outcome), args.date, args.note, now, today)
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


def cmd_route(args: argparse.Namespace) -> int:
    """How a text from an owner is understood and where it goes: for operators testing their rules."""
    from propfee import clock
    from propfee.config import Settings
    from propfee.intents import classify, load_intent_rules

    tz = Settings(table="-").tz  # type: ignore[call-arg]
    today = args.today or clock.now().astimezone(tz).date()
    rules = load_intent_rules(Path(args.rules) if args.rules else None)
    result = classify(args.text, today, rules)
    shown = {
        "intent": result.intent.value,
        "department": result.department.value if result.department else None,
        "category": result.category,
        "promise_date": result.promise_date.isoformat() if result.promise_date else None,
        "matched_rule": result.matched_rule,
        "also_detected": [i.value for i in result.also_detected],
        "refuses_to_pay": result.refuses_to_pay,
        "possible_opt_out": result.possible_opt_out,  # SMS stops, the owner is asked once
        "decided_by": result.decided_by,
        "confidence": result.confidence,
        "guesses": [i.value for i in result.guesses],
    }
    print(json.dumps(shown, ensure_ascii=False))
    return 0


def cmd_tickets_list(args: argparse.Namespace) -> int:
    """A department's tickets (or every department's), the nearest deadline first."""
    from propfee.intents import Department
    from propfee.observability import mask_destination

    _, table = _table(args)
    for department in [args.department] if args.department else [d.value for d in Department]:
        for ticket in table.tickets(department, args.status):
            if args.community and ticket.community_id != args.community:
                continue
            line = {
                "ticket_id": ticket.ticket_id,
                "department": ticket.department,
                "intent": ticket.intent,
                "category": ticket.category,
                "priority": ticket.priority,
                "community": ticket.community_id,
                "units": list(ticket.unit_ids),
                "contact": ticket.contact if args.show_contact else mask_destination(ticket.contact),
                "due_by": ticket.due_by.isoformat(),
                "escalated": ticket.escalated_at is not None,
                "hold": ticket.hold.value if ticket.hold else None,
                "message": ticket.message,
            }
            print(json.dumps(line, ensure_ascii=False))
    return 0


def cmd_tickets_resolve(args: argparse.Namespace) -> int:
    from propfee import clock
    from propfee.ticketing import TicketError, resolve_ticket

    _, table = _table(args)
    try:
        done, resumed = resolve_ticket(table, args.ticket_id, args.note, clock.now())
    except TicketError as error:
        print(str(error), file=sys.stderr)
        return 1
    print(json.dumps({"ticket_id": done.ticket_id, "status": done.status.value, "reminders_resume_for": resumed}))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Apply (or with --check only validate) a ledger or payments file; prints a JSON summary, writes the
    rejected rows with their line and reason next to the file."""
    from propfee import clock
    from propfee.config import Settings

    source = Path(args.file)
    rejects_path = Path(args.rejects) if args.rejects else source.with_name(source.name + ".rejects.csv")
    with source.open("rb") as data, rejects_path.open("w", encoding="utf-8-sig", newline="") as rejects:
        if args.check:
            from propfee.imports.report import check

            tz = Settings(table="-").tz  # type: ignore[call-arg]
            summary = check(data, source.name, args.kind, tz, rejects).as_dict()
        else:
            from propfee.imports.apply import apply_file

            settings, table = _table(args)
            result = apply_file(data, source.name, args.kind, settings.tz, table, clock.now(), rejects, args.community)
            summary = result.as_dict()
    print(json.dumps({**summary, "rejects_file": str(rejects_path)}, ensure_ascii=False, indent=2))
    return 0 if summary["ok"] else 1


def _dead_letter_reason(attributes: dict[str, Any]) -> str:
    """Why a message is in a DLQ: the function's own reason for refusing it, Lambda's error for an asynchronous
    event that failed its retries, or (a queue's redrive) that its receives ran out."""
    for name in ("reason", "ErrorMessage"):
        if name in attributes:
            return str(attributes[name].get("StringValue", ""))
    return "retries exhausted"


def cmd_dlq_list(args: argparse.Namespace) -> int:
    """Each dead-letter queue: its source, how many messages wait, and (with --show) why, numbers masked."""
    from propfee.adapters.queue import DeadLetterQueues
    from propfee.observability import mask_text

    queues = DeadLetterQueues()
    sources = {url: source.rsplit("/", 1)[-1] for url, source in queues.sources().items()}
    # a function's own DLQ keeps the scheduled or S3 events it failed: re-run them by invoking the function
    sources.update({url: f"function {name} (its events)" for url, name in queues.function_queues().items()})
    for url, source in sorted(sources.items()):
        if args.queue and args.queue not in url:
            continue
        line: dict[str, object] = {"queue": url.rsplit("/", 1)[-1], "source": source}
        line["messages"] = queues.depth(url)
        if args.show:
            line["samples"] = [
                {
                    "reason": _dead_letter_reason(m.get("MessageAttributes", {})),
                    "body": mask_text(m["Body"])[:300],
                }
                for m in queues.peek(url, args.show)
            ]
        print(json.dumps(line, ensure_ascii=False))
    return 0


def cmd_dlq_redrive(args: argparse.Namespace) -> int:
    """Move a dead-letter queue's messages back to its source queue, or replay a function's DLQ (its asynchronous
    events) by invoking the function with each, after the cause is fixed."""
    from propfee.adapters.queue import DeadLetterQueues

    queues = DeadLetterQueues()
    sources = queues.sources()
    functions = queues.function_queues()
    matches = [url for url in [*sources, *functions] if args.queue in url]
    if len(matches) != 1:
        names = sorted(url.rsplit("/", 1)[-1] for url in [*sources, *functions])
        print(f"{args.queue!r} names {len(matches)} dead-letter queues; one of: {', '.join(names)}", file=sys.stderr)
        return 2
    url = matches[0]
    if url in sources:
        moved = queues.redrive(url, sources[url])
        print(json.dumps({"queue": url.rsplit("/", 1)[-1], "to": sources[url].rsplit("/", 1)[-1], "moved": moved}))
        return 0
    function = queues.function_name(url, functions[url])
    replayed, kept = queues.replay(url, function)
    print(json.dumps({"queue": url.rsplit("/", 1)[-1], "to": f"function {function}", "replayed": replayed,
                      "kept_refused": kept}))  # fmt: skip
    return 0


@contextmanager
def _unconfirmed_claims() -> Iterator[tuple[DeadLetterQueues, str, list[tuple[dict[str, Any], SendJob]]]]:
    """The send DLQ and its unconfirmed claims: jobs whose attempt died between the claim and the provider's
    answer. The DLQ's messages are hidden while the command runs; what it did not delete is shown again."""
    from propfee.adapters.queue import DeadLetterQueues
    from propfee.models import SendJob
    from propfee.sending import UNCONFIRMED_CLAIM

    queues = DeadLetterQueues()
    [url] = [dlq for dlq, source in queues.sources().items() if source.rsplit("/", 1)[-1].split("-")[-2] == "SendQueue"]
    messages = queues.take_all(url)
    found = [
        (message, SendJob.model_validate_json(message["Body"]))
        for message in messages
        if _dead_letter_reason(message.get("MessageAttributes", {})) == UNCONFIRMED_CLAIM
    ]
    deleted_before = len(queues.deleted)
    try:
        yield queues, url, found
    finally:
        gone = {m["ReceiptHandle"] for m in queues.deleted[deleted_before:]}
        queues.show_again(url, [m for m in messages if m["ReceiptHandle"] not in gone])


def cmd_claims_list(args: argparse.Namespace) -> int:
    """Each unconfirmed claim in the send DLQ and its evidence record as it stands now."""
    _, table = _table(args)
    with _unconfirmed_claims() as (_, _, found):
        for _message, job in found:
            reminder = table.reminder(job.unit_id, job.claim_key)
            status = reminder.status.value if reminder else "no claim"
            print(json.dumps({"unit_id": job.unit_id, "claim": job.claim_key, "channel": job.channel.value,
                              "claimed_at": reminder.claimed_at.isoformat() if reminder else None, "status": status,
                              "settled": status != "claimed"}))  # fmt: skip
    return 0


def cmd_claims_settle(args: argparse.Namespace) -> int:
    """Remove from the send DLQ the unconfirmed claims that settled themselves: the provider's delivery receipt
    (which carries the claim) has since said what became of the message."""
    from propfee.models import ReminderStatus

    _, table = _table(args)
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
    from propfee import clock

    _, table = _table(args)
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


def cmd_report_get(args: argparse.Namespace) -> int:
    """A day's report files from the reports bucket: the company set, or one community's set."""
    from propfee.adapters.storage import S3Store
    from propfee.config import Settings
    from propfee.report_delivery import ReportNotFound, download_report

    bucket = args.bucket or Settings(table="-").report_bucket  # type: ignore[call-arg]
    if not bucket:
        print("which bucket? --bucket or PROPFEE_REPORT_BUCKET (`propfee sandbox up` prints it)", file=sys.stderr)
        return 2
    try:
        written = download_report(S3Store(bucket), args.date, args.community, Path(args.out))
    except ReportNotFound as error:
        print(f"{error} in s3://{bucket}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


def cmd_report_notice_board(args: argparse.Namespace) -> int:
    """A printable notice per building (宣传栏公告) for a period: counts and amounts, never a name or a room."""
    from propfee import clock
    from propfee.notice_board import notice_board_files

    settings, table = _table(args)
    community = next((c for c in table.communities() if c.community_id == args.community), None)
    if community is None:
        print(f"no community {args.community} in {settings.table}", file=sys.stderr)
        return 1
    units = []
    for unit_id in table.unit_ids(community.community_id):
        unit = table.get_unit(unit_id)
        if unit is not None:
            units.append((unit, table.paid_bills(unit_id)))
    files = notice_board_files(
        args.period or clock.now().astimezone(settings.tz).date(),
        community,
        table.buildings(community.community_id),
        units,
        clock.now(),
        hotline=settings.hotline,
        pay_instructions=settings.pay_instructions_by_language,
        font=settings.letter_font,
    )
    out = Path(args.out)
    for name, body in sorted(files.items()):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        print(target)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from propfee.intents import Department
    from propfee.models import TaskOutcome

    parser = argparse.ArgumentParser(prog="propfee", description="Serverless property-fee collection.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="simulate a company collecting fees on the embedded AWS")
    demo.add_argument("--households", type=int, default=1000)
    demo.add_argument("--days", type=int, default=30)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument(
        "--start",
        type=date.fromisoformat,
        default=date(2026, 11, 1),
        help="the simulation starts on the first day of this month",
    )
    demo.add_argument("--out", default="out/demo", help="where daily reports and summary.json go")
    demo.set_defaults(run=cmd_demo)

    plan = commands.add_parser("plan", help="show what the plan would do on a day, without sending")
    plan.add_argument("--date", type=date.fromisoformat, required=True)
    plan.add_argument("--community", help="only this community")
    plan.add_argument("--dry-run", action="store_true", required=True)
    plan.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
    plan.set_defaults(run=cmd_plan)

    evidence = commands.add_parser("evidence", help="export a unit's evidence bundle (zip with SHA-256 manifest)")
    evidence.add_argument("unit")
    evidence.add_argument("--out", default="out/evidence")
    evidence.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
    evidence.set_defaults(run=cmd_evidence)

    task = commands.add_parser("task", help="collectors' call and visit tasks")
    task_commands = task.add_subparsers(dest="task_command", required=True)
    listing = task_commands.add_parser("list", help="tasks per collector, oldest first")
    listing.add_argument("--collector")
    listing.add_argument("--status", choices=["open", "done"], default="open")
    listing.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
    listing.set_defaults(run=cmd_task_list)
    done = task_commands.add_parser("done", help="record a task's outcome")
    done.add_argument("task_id")
    done.add_argument("--outcome", required=True, choices=[outcome.value for outcome in TaskOutcome])
    done.add_argument("--date", type=date.fromisoformat, help="the promised date (with --outcome promised)")
    done.add_argument("--note", default="")
    done.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
    done.set_defaults(run=cmd_task_done)

    route = commands.add_parser("route", help="how an owner's text is understood and where it goes (JSON)")
    route.add_argument("text")
    route.add_argument("--today", type=date.fromisoformat, help="resolve dates like 下周五 from this day")
    route.add_argument("--rules", help="an intents YAML file to try (default: the packaged intents.yaml)")
    route.set_defaults(run=cmd_route)

    tickets = commands.add_parser("tickets", help="department tickets from owners' replies")
    ticket_commands = tickets.add_subparsers(dest="tickets_command", required=True)
    listing = ticket_commands.add_parser("list", help="tickets, the nearest deadline first")
    listing.add_argument("--department", choices=[d.value for d in Department])
    listing.add_argument("--status", choices=["open", "resolved"], default="open")
    listing.add_argument("--community")
    listing.add_argument("--show-contact", action="store_true", help="print the owner's number unmasked")
    listing.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
    listing.set_defaults(run=cmd_tickets_list)
    resolve = ticket_commands.add_parser("resolve", help="close a ticket; its hold on reminders is released")
    resolve.add_argument("ticket_id")
    resolve.add_argument("--note", required=True, help="what was done")
    resolve.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
    resolve.set_defaults(run=cmd_tickets_resolve)

    imports = commands.add_parser("import", help="a ledger or payments file from the billing system (CSV, XLSX)")
    imports.add_argument("kind", choices=["ledger", "payments"])
    imports.add_argument("file")
    imports.add_argument("--check", action="store_true", help="validate only: nothing is applied")
    imports.add_argument("--community", help="the community of a file that has no community column")
    imports.add_argument("--rejects", help="where the rejected rows go (default: FILE.rejects.csv)")
    imports.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
    imports.set_defaults(run=cmd_import)

    claims = commands.add_parser(
        "claims", help="unconfirmed claims: reminders whose sending attempt died before the provider answered"
    )
    claims_commands = claims.add_subparsers(dest="claims_command", required=True)
    for name, run, text in (
        ("list", cmd_claims_list, "each unconfirmed claim in the send DLQ and its status now"),
        ("settle", cmd_claims_settle, "drop from the DLQ the claims a provider's receipt has settled"),
    ):
        command = claims_commands.add_parser(name, help=text)
        command.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
        command.set_defaults(run=run)
    resolve = claims_commands.add_parser("resolve", help="after checking the provider's log: sent, or not sent")
    resolve.add_argument("unit", help="the unit id, as `claims list` shows it")
    resolve.add_argument("claim", help="the claim, as `claims list` shows it (e.g. REMINDER#sms_d1#1)")
    outcome = resolve.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--sent", metavar="PROVIDER_MESSAGE_ID", help="the provider has it: its message id")
    outcome.add_argument("--not-sent", action="store_true", help="the provider has no such message")
    resolve.add_argument("--note", help="what was checked, kept in the evidence record's timeline")
    resolve.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
    resolve.set_defaults(run=cmd_claims_resolve)

    dlq = commands.add_parser("dlq", help="dead-letter queues: what failed, why, and redrive")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True)
    dlq_list = dlq_commands.add_parser("list", help="each DLQ, its source queue and depth")
    dlq_list.add_argument("--queue", help="only the queues whose name contains this")
    dlq_list.add_argument("--show", type=int, default=0, metavar="N", help="show up to N messages with reasons")
    dlq_list.set_defaults(run=cmd_dlq_list)
    redrive = dlq_commands.add_parser(
        "redrive", help="move a DLQ's messages back to its source queue, or replay a function's DLQ by invoking it"
    )
    redrive.add_argument("queue", help="the DLQ's name or a unique part of it, e.g. SendDeadLetterQueue")
    redrive.set_defaults(run=cmd_dlq_redrive)

    report = commands.add_parser("report", help="the daily report files in the reports bucket")
    report_commands = report.add_subparsers(dest="report_command", required=True)
    get = report_commands.add_parser("get", help="download a day's files (the company's, or one community's)")
    get.add_argument("--date", type=date.fromisoformat, required=True, help="the report's day, YYYY-MM-DD")
    get.add_argument("--community", help="that community's own files (default: the company's)")
    get.add_argument("--out", required=True, help="the folder to write them into")
    get.add_argument("--bucket", help="the reports bucket (default: PROPFEE_REPORT_BUCKET)")
    get.set_defaults(run=cmd_report_get)
    notices = report_commands.add_parser(
        "notice-board", help="a printable notice per building for a period (PDF and HTML, no names or rooms)"
    )
    notices.add_argument("--community", required=True)
    notices.add_argument("--period", help="YYYY-MM (default: this month)")
    notices.add_argument("--out", required=True, help="the folder to write them into")
    notices.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
    notices.set_defaults(run=cmd_report_notice_board)

    sandbox = commands.add_parser("sandbox", help="the embedded AWS")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", required=True)
    up = sandbox_commands.add_parser("up", help="start it and keep it running")
    up.add_argument("--port", type=int, default=0, help="0 picks a free port")
    up.add_argument("--start", type=date.fromisoformat, default=date(2026, 11, 1))
    up.add_argument("--households", type=int, default=0, help="load a simulated company of this size")
    up.add_argument("--seed", type=int, default=7)
    up.set_defaults(run=cmd_sandbox_up)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "households", 1) < 0 or getattr(args, "days", 1) < 1:
        print("households must be >= 0 and days >= 1", file=sys.stderr)
        return 2
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())

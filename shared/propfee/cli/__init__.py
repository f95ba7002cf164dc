"""The `propfee` command: its parser and `main`; the commands themselves live in one module per group."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from propfee.cli.collection import (
    cmd_claims_list,
    cmd_claims_resolve,
    cmd_claims_settle,
    cmd_collectors_list,
    cmd_collectors_set,
    cmd_evidence,
    cmd_plan,
    cmd_task_done,
    cmd_task_list,
)
from propfee.cli.feedback import cmd_route, cmd_tickets_list, cmd_tickets_resolve
from propfee.cli.imports import cmd_import
from propfee.cli.letters import cmd_letters_get
from propfee.cli.operations import cmd_demo, cmd_dlq_list, cmd_dlq_redrive, cmd_sandbox_up
from propfee.cli.reports import cmd_report_get, cmd_report_notice_board
from propfee.cli.staff import add_staff_parser
from propfee.cli.templates import cmd_templates


def build_parser() -> argparse.ArgumentParser:
    from propfee.domain.models import TaskOutcome
    from propfee.feedback.intents import Department

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
    demo.add_argument(
        "--sms-provider",
        choices=("aws", "aliyun", "tencent"),
        default="aws",
        help="send the SMS through AWS (default) or a mainland provider's local emulator",
    )
    demo.add_argument(
        "--keep-running",
        action="store_true",
        help="keep the sandbox up when the simulation ends: the staff console and its seeded sign-ins are printed",
    )
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
    evidence.add_argument("--bucket", help="the reports bucket, where the letters are (default: PROPFEE_REPORT_BUCKET)")
    evidence.set_defaults(run=cmd_evidence)

    letters = commands.add_parser("letters", help="demand letters (催缴函)")
    letter_commands = letters.add_subparsers(dest="letters_command", required=True)
    get_letter = letter_commands.add_parser("get", help="a unit's letter as delivered (PDF), or a preview of one")
    get_letter.add_argument("unit")
    get_letter.add_argument("--out", required=True, help="the PDF file to write (….pdf), or a folder to write it into")
    get_letter.add_argument("--date", type=date.fromisoformat, help="the letter of that day (a preview: dated then)")
    get_letter.add_argument(
        "--preview", action="store_true", help="compose the letter from the unit's records now: not sent, not recorded"
    )
    get_letter.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
    get_letter.add_argument("--bucket", help="the reports bucket (default: PROPFEE_REPORT_BUCKET)")
    get_letter.set_defaults(run=cmd_letters_get)

    task = commands.add_parser("task", help="collectors' call and visit tasks")
    task_commands = task.add_subparsers(dest="task_command", required=True)
    listing = task_commands.add_parser("list", help="tasks per collector, oldest first")
    listing.add_argument("--collector")
    listing.add_argument("--status", choices=["open", "done"], default="open")
    listing.add_argument("--full", action="store_true", help="the owners' numbers in full (else the last 4 digits)")
    listing.add_argument("--json", action="store_true", help="one JSON object a line (ISO times), for scripts")
    listing.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
    listing.set_defaults(run=cmd_task_list)
    done = task_commands.add_parser("done", help="record a task's outcome")
    done.add_argument("task_id")
    done.add_argument("--outcome", required=True, choices=[outcome.value for outcome in TaskOutcome])
    done.add_argument("--date", type=date.fromisoformat, help="the promised date (with --outcome promised)")
    done.add_argument("--note", default="")
    done.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
    done.set_defaults(run=cmd_task_done)

    collectors = commands.add_parser("collectors", help="who takes the call and visit tasks, and their contacts")
    collector_commands = collectors.add_subparsers(dest="collectors_command", required=True)
    listing = collector_commands.add_parser("list", help="collectors, areas, loads and how their digest reaches them")
    listing.add_argument("--full", action="store_true", help="phone numbers and email addresses in full")
    listing.add_argument("--json", action="store_true", help="one JSON object a line, for scripts")
    listing.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
    listing.set_defaults(run=cmd_collectors_list)
    change = collector_commands.add_parser("set", help="add a collector or change their details")
    change.add_argument("collector_id")
    change.add_argument("--name")
    change.add_argument("--role", choices=["collector", "site_manager"])
    change.add_argument("--community", action="append", help="a community they work (repeat for more)")
    change.add_argument("--building", action="append", help="a building assigned to them first (repeat for more)")
    change.add_argument("--phone", help='for the morning digest by SMS when there is no email ("" removes it)')
    change.add_argument("--email", help='for the morning digest by email ("" removes it)')
    change.add_argument("--language", choices=["zh-CN", "en"])
    change.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
    change.set_defaults(run=cmd_collectors_set)

    route = commands.add_parser("route", help="how an owner's text is understood and where it goes (JSON)")
    route.add_argument("text")
    route.add_argument("--today", type=date.fromisoformat, help="resolve dates like 下周五 from this day")
    route.add_argument("--rules", help="an intents YAML file to try (default: the packaged intents.yaml)")
    route.set_defaults(run=cmd_route)

    templates = commands.add_parser("templates", help="each SMS template's length at its longest, and its segments")
    templates.add_argument("--rules", help="a rules file (default: the packaged rules.yaml)")
    templates.add_argument(
        "--provider",
        choices=("aliyun", "tencent"),
        help="check instead that every SMS is the provider's approved template, its values within its rules",
    )
    templates.set_defaults(run=cmd_templates)

    tickets = commands.add_parser("tickets", help="department tickets from owners' replies")
    ticket_commands = tickets.add_subparsers(dest="tickets_command", required=True)
    listing = ticket_commands.add_parser("list", help="tickets, the nearest deadline first")
    listing.add_argument("--department", choices=[d.value for d in Department])
    listing.add_argument("--status", choices=["open", "resolved"], default="open")
    listing.add_argument("--community")
    listing.add_argument(
        "--show-contact", "--full", action="store_true", help="print the owner's number or address unmasked"
    )
    listing.add_argument("--json", action="store_true", help="one JSON object a line (ISO times), for scripts")
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
        if name == "list":
            command.add_argument("--json", action="store_true", help="one JSON object a line, for scripts")
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
    dlq_list.add_argument("--json", action="store_true", help="one JSON object a line, for scripts")
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

    add_staff_parser(commands)

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
    from pydantic import ValidationError

    from propfee.cli.common import MissingSetting, aws_problem, describe

    args = build_parser().parse_args(argv)
    if getattr(args, "households", 1) < 0 or getattr(args, "days", 1) < 1:
        print("households must be >= 0 and days >= 1", file=sys.stderr)
        return 2
    # a missing or wrong setting is the operator's to fix: one line that names it, exit 2 (as argparse's usage
    # errors), no traceback
    try:
        return int(args.run(args))
    except MissingSetting as error:
        problem = str(error)
    except ValidationError as error:
        if error.title != "Settings":
            raise
        problem = describe(error)
    except Exception as error:
        found = aws_problem(error)
        if found is None:
            raise
        problem = found
    print(f"propfee: {problem}", file=sys.stderr)
    return 2

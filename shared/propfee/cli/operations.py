"""Running the system: the demo, the embedded AWS (`sandbox up`) and the dead-letter queues (`dlq`)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time as wallclock
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from propfee.cli.common import dead_letter_reason
from propfee.cli.tables import Column
from propfee.domain.money import yuan


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def cmd_demo(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from propfee.local.simulation.run import DemoOptions, run_demo

    console = Console(stderr=True)
    options = DemoOptions(
        households=args.households,
        days=args.days,
        seed=args.seed,
        start=args.start,
        out=Path(args.out),
        sms_provider=getattr(args, "sms_provider", "aws"),
    )
    console.print(
        f"[bold]propfee demo[/]: {options.households} households, {options.days} days from "
        f"{options.start.replace(day=1)}, seed {options.seed}, on the embedded AWS"
        + ("" if options.sms_provider == "aws" else f", SMS through the {options.sms_provider} emulator")
    )
    keep_running = getattr(args, "keep_running", False)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("simulating days", total=options.days)

        def serve(demo: Any) -> None:
            """--keep-running: the finished demo's sandbox stays up, its console open to the seeded staff."""
            progress.stop()
            serve_console(demo.sandbox, demo.table, demo.world)

        summary = run_demo(
            options,
            on_day=lambda day: progress.update(task, advance=1, description=str(day)),
            on_finish=serve if keep_running else None,
        )
    start, end = summary["standing_at_start"], summary["standing_at_end"]
    table = Table(title=f"propfee demo: {summary['start']} .. {summary['end']}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("households / communities", f"{summary['households']} / {summary['communities']}")
    table.add_row(f"collection rate {start['period']} at start", _pct(start["collection_rate"]))
    table.add_row(f"collection rate {end['period']} at end", _pct(end["collection_rate"]))
    # the outstanding figures add up: the bills issued during the run (a new month's) are shown, not hidden
    table.add_row("outstanding at start (yuan)", yuan(start["outstanding_fen"]))
    table.add_row("+ billed during the run (yuan)", yuan(end["all_billed_fen"] - start["all_billed_fen"]))
    table.add_row("- collected, net of refunds (yuan)", yuan(end["all_paid_fen"] - start["all_paid_fen"]))
    table.add_row("= outstanding at end (yuan)", yuan(end["outstanding_fen"]))
    actions = summary["actions"]
    table.add_row("SMS reminders", str(summary["reminders"]["sms"]))
    table.add_row("email reminders", str(summary["reminders"]["email"]))
    table.add_row("demand letters (PDF)", str(actions.get("letter", 0)))
    outcomes = ", ".join(f"{k} {v}" for k, v in summary["task_outcomes"].items()) or "-"
    table.add_row("collector calls / visits", f"{actions.get('call', 0)} / {actions.get('visit', 0)} ({outcomes})")
    table.add_row(
        "payments received", f"{summary['payments']['count']} ({yuan(summary['payments']['amount_fen'])} yuan)"
    )
    online = summary["payments"].get("online", {})
    table.add_row(
        "- of which paid from the reminder's link",
        ", ".join(f"{name} {count}" for name, count in online.items()) or "-",
    )
    table.add_row("messages in dead-letter queues", str(summary["dead_letters"]))
    Console().print(table)
    console.print(f"daily reports and summary.json in {options.out}/")
    return 0


def cmd_sandbox_up(args: argparse.Namespace) -> int:
    from propfee.aws.dynamo import PropfeeTable
    from propfee.local.sandbox import Sandbox
    from propfee.local.sandbox.staff import seed_staff
    from propfee.local.simulation.world import build_world

    tz = ZoneInfo("Asia/Shanghai")
    start = datetime.combine(args.start, time(0, 0), tz)
    with Sandbox(start=start, port=args.port, bill_links=True) as sandbox:
        table = PropfeeTable(sandbox.resources["PropfeeTable"], tz)
        communities, collector = ["C01", "C02"], None
        if args.households:
            world = build_world(args.households, args.seed, args.start.replace(day=1), tz)
            table.load_snapshot(world.snapshot)
            communities = [c.community_id for c in world.snapshot.communities]
            collector = next((c.collector_id for c in world.collectors if c.role == "collector"), None)
        sign_ins = seed_staff(sandbox, table, communities, collector)
        print(f"embedded AWS listening on {sandbox.endpoint} (stack from {sandbox.template_path})")
        if sandbox.http_api is not None:
            print(f"the stack's HTTP API (bill pages: the links in the reminders) on {sandbox.http_api.url}")
        owing = [u for u in (world.snapshot.units if args.households else []) if u.oldest_due is not None]
        if sandbox.http_api is not None and owing:
            from propfee.aws.feedback import FeedbackTable
            from propfee.payments.links import BillLinks

            links = BillLinks(FeedbackTable(table.name, tz), sandbox.http_api.url)
            link = links.issue(owing[0].unit_id, owing[0].community_id, sandbox.clock.now())
            # a unit's bill page, to pay on the WeChat Pay and Alipay emulators' cashier pages
            print(f"a bill page to try paying online: {links.url(link)}")
        print("use it with the AWS CLI or boto3:")
        for key, value in sandbox.aws_environment().items():
            print(f"  export {key}={value}")
        print(f"  export PROPFEE_TABLE={sandbox.resources['PropfeeTable']}")
        print(f"  export PROPFEE_REPORT_BUCKET={sandbox.resources['ReportBucket']}")
        print(f"  export PROPFEE_STAFF_USER_POOL_ID={sandbox.outputs['StaffUserPoolId']}")
        print(f"  export PROPFEE_STAFF_USER_POOL_CLIENT_ID={sandbox.outputs['StaffUserPoolClientId']}")
        print("resources:")
        for logical_id, physical in sorted(sandbox.resources.items()):
            print(f"  {logical_id:32} {physical}")
        announce_console(sandbox.http_api.url if sandbox.http_api is not None else None, sign_ins)
        print("Ctrl-C stops it.", flush=True)
        keep_serving(sandbox)
    return 0


def announce_console(base_url: str | None, sign_ins: list[Any]) -> None:
    """Where the staff console is and the seeded users' sign-ins (the passwords generated for this run: printed to
    this terminal only, never logged)."""
    if base_url is None:
        print("the staff console: no HTTP API in this sandbox")
        return
    print(f"the staff console: {base_url}/console (sign in with one of these)")
    for sign_in in sign_ins:
        scope = sorted(sign_in.record.communities | sign_in.record.departments)
        extra = f" collector {sign_in.record.collector_id}" if sign_in.record.collector_id else ""
        print(f"  {sign_in.role.value:18} {sign_in.email:38} {sign_in.password}  {' '.join(scope)}{extra}")


def keep_serving(sandbox: Any) -> None:
    """Until Ctrl-C (or SIGTERM): the HTTP API answers, an owner's payment on an emulator's cashier is delivered."""
    signal.signal(signal.SIGTERM, _interrupt)  # a TERM ends it as Ctrl-C does (the demo then prints its figures)
    try:
        while True:
            wallclock.sleep(1)
            sandbox.deliver_payment_notices()  # an owner paid on an emulator's cashier page
    except KeyboardInterrupt:
        pass


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def serve_console(sandbox: Any, table: Any, world: Any) -> None:
    """The demo's sandbox kept running: staff seeded for its communities (its first collector's tasks), the console's
    address and their sign-ins printed, served until Ctrl-C; then the demo's figures."""
    from propfee.local.sandbox.staff import seed_staff

    communities = [c.community_id for c in world.snapshot.communities]
    collector = next((c.collector_id for c in world.collectors if c.role == "collector"), None)
    sign_ins = seed_staff(sandbox, table, communities, collector)
    print(f"the demo's sandbox is kept running (its clock at the last day simulated, {sandbox.clock.now():%Y-%m-%d})")
    announce_console(sandbox.http_api.url if sandbox.http_api is not None else None, sign_ins)
    print("Ctrl-C stops it and prints the demo's figures.", flush=True)
    keep_serving(sandbox)


DLQ_COLUMNS = [
    Column("queue", "dead-letter queue"),
    Column("source", "source"),
    Column("messages", "messages", "right"),
    Column("reasons", "reasons (numbers masked)"),
]


def cmd_dlq_list(args: argparse.Namespace) -> int:
    """Each dead-letter queue: its source, how many messages wait, and (with --show) why, numbers masked."""
    from propfee.aws.queue import DeadLetterQueues
    from propfee.cli.tables import print_rows
    from propfee.observability import mask_text

    queues = DeadLetterQueues()
    sources = {url: source.rsplit("/", 1)[-1] for url, source in queues.sources().items()}
    # a function's own DLQ keeps the scheduled or S3 events it failed: re-run them by invoking the function
    sources.update({url: f"function {name} (its events)" for url, name in queues.function_queues().items()})
    rows: list[dict[str, Any]] = []
    for url, source in sorted(sources.items()):
        if args.queue and args.queue not in url:
            continue
        line: dict[str, Any] = {"queue": url.rsplit("/", 1)[-1], "source": source}
        line["messages"] = queues.depth(url)
        if args.show:
            line["samples"] = [
                {
                    "reason": dead_letter_reason(m.get("MessageAttributes", {})),
                    "body": mask_text(m["Body"])[:300],
                }
                for m in queues.peek(url, args.show)
            ]
        rows.append(line)
    if args.json:
        print_rows(rows, DLQ_COLUMNS, "", True, "")
        return 0
    for row in rows:  # the table shows each sample's reason and the start of its body
        row["reasons"] = "\n".join(f"{s['reason']}: {s['body'][:80]}" for s in row.get("samples", []))
    print_rows(rows, DLQ_COLUMNS, "dead-letter queues", False, "no dead-letter queues")
    return 0


def cmd_dlq_redrive(args: argparse.Namespace) -> int:
    """Move a dead-letter queue's messages back to its source queue, or replay a function's DLQ (its asynchronous
    events) by invoking the function with each, after the cause is fixed."""
    from propfee.aws.queue import DeadLetterQueues

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

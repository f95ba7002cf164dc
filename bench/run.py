"""`make bench`: prints one JSON object of measured figures (see README, "Figures")."""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cost import custom_metrics, messaging_cost, metered, monthly_cost
from faults import faulty_day
from floor import io_floor
from payments import payment_figures
from reconcile import reconcile_figures
from replies import print_report, replies_figures

from console import console_figures
from propfee.accounts.imports.apply import apply_file
from propfee.accounts.imports.report import check
from propfee.aws.dynamo import PropfeeTable
from propfee.collection.ladder import decide
from propfee.collection.planning import plan_day
from propfee.domain.activity import DayActivity
from propfee.domain.models import Building, Channel, Community, Payment, PeriodTotal, Reminder, ReminderStatus, Unit
from propfee.local.sandbox import Sandbox
from propfee.local.simulation.run import DemoOptions, run_demo
from propfee.local.simulation.world import build_world
from propfee.reports.history import day_snapshot
from propfee.reports.publishing import report_files
from propfee.reports.summary import CommunityDay, CompanyDay
from propfee.rules import load_rules

TZ = ZoneInfo("Asia/Shanghai")
START = date(2026, 11, 1)
BUSY_DAY = date(2026, 11, 11)
# functions on a schedule whose calls do not grow with the day's actions (the hourly ticket deadlines, the nightly
# reconciliation of the providers' bills): the busy day prints them apart from the calls per action
FIXED_DAILY_WORK = {
    "TicketsFunction",
    "ReconcilePaymentsFunction",
}  # the first day after the due date: the ladder's first step for every debtor


def _units(households: int) -> list[Unit]:
    return list(build_world(households, 1, START, TZ).snapshot.units)


def policy_rate(units: list[Unit], rounds: int = 5) -> float:
    rules = load_rules()
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for unit in units:
            decide(unit, BUSY_DAY, TZ, rules.ladder, rules.contact_policy)
        best = max(best, len(units) / (time.perf_counter() - started))
    return best


class _GeneratedArrears:
    """Yields units one by one, as the paginated index query does, so memory is the planner's own."""

    def __init__(self, template: list[Unit], households: int) -> None:
        self._template = template
        self._households = households

    def communities(self) -> list[Community]:
        return [Community(community_id="C01", name="bench")]

    def buildings(self, community_id: str) -> list[Building]:
        return []  # the texts fall back to the units' codes

    def units_owing(self, community_id: str, due_before: date) -> Iterator[Unit]:
        for n in range(self._households):
            base = self._template[n % len(self._template)]
            yield base.model_copy(update={"unit_id": f"{base.unit_id}-{n}"})


class _NullQueue:
    def enqueue(self, jobs) -> int:  # type: ignore[no-untyped-def]
        return len(jobs)


def planner_peak_bytes(template: list[Unit], households: int) -> int:
    gc.collect()
    tracemalloc.start()
    plan_day(BUSY_DAY, TZ, _GeneratedArrears(template, households), _NullQueue(), load_rules())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def sandbox_day(households: int) -> dict[str, object]:
    """One busy day of the real functions in the sandbox, with the AWS calls they made counted
    (botocore's event hooks, per function) and every action the day produced."""
    world = build_world(households, 1, START, TZ)
    # reminders carry bill links, as in a stack with BillPageBaseUrl: new links ride on the claims' writes
    with Sandbox(start=datetime.combine(BUSY_DAY, clock_time(0, 30), TZ), bill_links=True) as sandbox:
        table = PropfeeTable(sandbox.resources["PropfeeTable"], TZ)
        table.load_snapshot(world.snapshot)
        table.put_collectors(world.collectors)
        sandbox.function_calls.clear()  # the set-up is not the day's work
        started = time.perf_counter()
        sandbox.advance(datetime.combine(BUSY_DAY, clock_time(12, 0), TZ))
        seconds = time.perf_counter() - started
        calls: Counter[str] = Counter()
        scheduled: Counter[str] = Counter()  # the day's fixed work, whatever the actions: not counted per action
        for (function, operation), count in sandbox.function_calls.items():
            if function in FIXED_DAILY_WORK:
                scheduled[function] += count
            else:
                calls[operation] += count
        communities = [c.community_id for c in table.communities()]
        done = [
            r
            for community_id in communities
            for r in table.day_activity(community_id, BUSY_DAY).reminders
            if r.status.value in ("sent", "assigned")
        ]
        actions = Counter(r.channel.value for r in done)
        floor = io_floor(sandbox, table.name, communities, BUSY_DAY, done, _letter_bytes(sandbox))
    total, done = sum(calls.values()), sum(actions.values())
    return {
        "households": households,
        "actions": dict(sorted(actions.items())),
        "api_calls": total,
        "api_calls_per_action": round(total / done, 2) if done else None,
        "calls_by_operation": dict(sorted(calls.items())),
        "scheduled_calls_by_function": dict(sorted(scheduled.items())),
        "seconds": round(seconds, 2),
        "io_floor": floor,
        "seconds_over_io_floor": round(seconds / floor["seconds"], 2) if floor["seconds"] else None,  # type: ignore[operator]
    }


def _letter_bytes(sandbox: Sandbox) -> int:
    """The size of a demand letter the day wrote (the floor puts one of that size per letter)."""
    s3 = sandbox.client("s3")
    listed = s3.list_objects_v2(Bucket=sandbox.resources["ReportBucket"], Prefix="letters/").get("Contents", [])
    sizes = [o["Size"] for o in listed if o["Key"].endswith(".pdf") and "print-batch" not in o["Key"]]
    return max(sizes, default=30_000)


def _payments_csv(path: Path, rows: int, units: list[Unit]) -> None:
    """A cashier's export: Chinese headers, amounts with 元, one payment per row, references unique."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["小区", "楼栋", "房号", "实收金额", "缴费日期", "流水号", "支付方式"])
        for n in range(rows):
            unit = units[n % len(units)]
            building = f"{int(unit.building_id.rsplit('-B', 1)[1])}栋"
            writer.writerow(
                [unit.community_id, building, unit.room, "12.34元", "2026-11-11 10:00", f"WX{n:012d}", "微信"]
            )


def import_figures(rows: int = 100_000) -> dict[str, object]:
    """Parsing and checking a 100,000-row payments file (rows/s, peak memory), and applying one in the sandbox."""
    world = build_world(2000, 1, START, TZ)
    units = list(world.snapshot.units)
    with tempfile.TemporaryDirectory() as folder:
        big = Path(folder) / "payments.csv"
        _payments_csv(big, rows, units)
        started = time.perf_counter()
        with big.open("rb") as data:
            summary = check(data, big.name, "payments", TZ)
        seconds = time.perf_counter() - started
        gc.collect()
        tracemalloc.start()  # a second pass for memory: tracing slows Python down several times
        with big.open("rb") as data:
            check(data, big.name, "payments", TZ)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        applied_rows = 3000
        small = Path(folder) / "applied.csv"
        _payments_csv(small, applied_rows, units)
        with Sandbox(start=datetime.combine(BUSY_DAY, clock_time(8, 0), TZ)) as sandbox:
            table = PropfeeTable(sandbox.resources["PropfeeTable"], TZ)
            table.load_snapshot(world.snapshot)
            started = time.perf_counter()
            with small.open("rb") as data:
                applied = apply_file(data, small.name, "payments", TZ, table, datetime.now(TZ))
            apply_seconds = time.perf_counter() - started
    return {
        "check_rows": rows,
        "check_rows_accepted": summary.accepted,
        "check_rows_per_second": round(rows / seconds),
        "check_peak_bytes": peak,
        "apply_rows_in_sandbox": applied.applied,
        "apply_rows_per_second_in_sandbox": round(applied.applied / apply_seconds),
    }


def _report_day(template: list[Unit], units: int, per_community: int = 10_000) -> list[CommunityDay]:
    """A report day of `units` units in arrears, in communities of `per_community`: a payment from one unit in
    thirty, a reminder to one in five, and thirty days of the report's own snapshots."""
    entries = []
    for c in range(max(units // per_community, 1)):
        community_id = f"C{c:03d}"
        owing = tuple(
            template[n % len(template)].model_copy(
                update={"unit_id": f"{community_id}-{n}", "community_id": community_id}
            )
            for n in range(min(per_community, units))
        )
        at = datetime.combine(BUSY_DAY, clock_time(10, 0), TZ)
        payments = tuple(
            Payment(reference=f"P{c}-{n}", unit_id=u.unit_id, community_id=community_id, amount_fen=10_000, paid_at=at)
            for n, u in enumerate(owing[::30])
        )
        reminders = tuple(
            Reminder(
                unit_id=u.unit_id,
                community_id=community_id,
                step="sms_d1",
                occurrence=1,
                channel=Channel.SMS,
                destination="+8613800000000",
                template="reminder_friendly",
                template_version="bench",
                content_sha256="0" * 64,
                balance_fen=u.balance_fen,
                status=ReminderStatus.SENT,
                claimed_at=at - timedelta(hours=1),
            )
            for u in owing[::5]
        )
        periods = [
            PeriodTotal(community_id=community_id, period=p, billed_fen=10**9, paid_fen=9 * 10**8, bills=9_000)
            for p in ("2026-09", "2026-10", "2026-11")
        ]
        day = DayActivity(payments=payments)
        history = tuple(
            day_snapshot(community_id, BUSY_DAY - timedelta(days=d), day, periods, reminders, payments)
            for d in range(29, -1, -1)
        )
        entries.append(
            CommunityDay(
                Community(community_id=community_id, name=f"bench {c}"),
                DayActivity(payments=payments, reminders=reminders),
                periods,
                owing=owing,
                history=history,
            )
        )
    return entries


def report_build(template: list[Unit], units: int) -> dict[str, object]:
    """The daily report built from what it reads (the reads themselves are the sandbox figures): seconds, and
    peak memory in a second, traced pass."""
    entries = _report_day(template, units)
    generated_at = datetime.combine(BUSY_DAY + timedelta(days=1), clock_time(0, 15), TZ)
    started = time.perf_counter()
    files = report_files(BUSY_DAY, generated_at, entries, CompanyDay())
    seconds = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    report_files(BUSY_DAY, generated_at, entries, CompanyDay())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "units": units,
        "seconds": round(seconds, 2),
        "peak_bytes": peak,
        "bytes_written": sum(len(body) for body in files.values()),
    }


def month_cost(households: int, days: int = 30) -> dict[str, object]:
    """A simulated month of the whole company (the demo: bills, reminders, replies, tickets, reports) with the
    functions' usage metered, priced per 10,000 households and month."""
    seen: dict[str, object] = {}

    def price(demo: Any) -> None:
        metrics = custom_metrics(demo.sandbox)
        seen["cost"] = monthly_cost(meter, demo.sandbox, days, households, metric_hours=sum(metrics.values()))
        seen["messaging"] = messaging_cost(meter, days, households)
        seen["metrics"] = metrics

    with tempfile.TemporaryDirectory() as out, metered() as meter:
        run_demo(DemoOptions(households=households, days=days, seed=3, start=START, out=Path(out)), on_finish=price)
    cost = dict(seen["cost"])  # type: ignore[call-overload]
    cost["custom_metric_hours"] = seen["metrics"]  # type: ignore[call-overload]
    cost["messaging"] = seen["messaging"]  # type: ignore[call-overload]
    return cost


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"


def layer_size() -> dict[str, float] | str:
    """The Lambda layer as `make build` left it in .aws-sam/build (bench builds nothing), in MB."""
    root = Path(__file__).resolve().parents[1]
    layer = root / ".aws-sam" / "build" / "PropfeeLayer"
    if not layer.is_dir():
        return "not built: `make build` prints it"
    spec = importlib.util.spec_from_file_location("layer_build", root / "shared" / "layer_build.py")
    assert spec and spec.loader
    layer_build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(layer_build)
    unzipped, zipped = layer_build.size(layer)
    return {"unzipped_mb": round(unzipped / 1e6, 1), "zipped_mb": round(zipped / 1e6, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--only",
        choices=["replies", "console", "reconcile", "payments"],
        help="one section alone (replies: a minute or so; console: seconds; reconcile, payments: under a minute)",
    )
    args = parser.parse_args(argv)
    if args.only == "console":
        print(json.dumps({"console": console_figures()}, indent=2, ensure_ascii=False))
        return 0
    if args.only == "payments":
        print(json.dumps({"online_payments": payment_figures()}, indent=2))
        return 0
    if args.only == "reconcile":
        print(json.dumps({"reconcile_trade_bill": reconcile_figures()}, indent=2))
        return 0
    if args.only == "replies":
        replies = replies_figures()
        print_report(replies)
        print(json.dumps({"replies": replies}, indent=2, ensure_ascii=False))
        return 0
    template = _units(2000)
    figures = {
        "date": date.today().isoformat(),
        "machine": _machine(),
        "policy_households_per_second": round(policy_rate(template)),
        "planner_peak_bytes": {
            "10000": planner_peak_bytes(template, 10_000),
            "100000": planner_peak_bytes(template, 100_000),
        },
        "report_build": {str(n): report_build(template, n) for n in (10_000, 100_000)},
        "replies": replies_figures(),
        "console": console_figures(),
        "imports": import_figures(),
        "reconcile_trade_bill": reconcile_figures(),
        "online_payments": payment_figures(),
        "month_cost": month_cost(int(os.environ.get("PROPFEE_BENCH_MONTH_HOUSEHOLDS", "1000"))),
        "sandbox_busy_day": sandbox_day(int(os.environ.get("PROPFEE_BENCH_HOUSEHOLDS", "10000"))),
        "faulty_day": faulty_day(int(os.environ.get("PROPFEE_BENCH_HOUSEHOLDS", "10000")), seed=7),
        "lambda_layer": layer_size(),
    }
    print_report(figures["replies"], file=sys.stderr)  # type: ignore[arg-type]
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

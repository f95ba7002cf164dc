"""`make bench`'s online payments: owners pay from their reminders' links on the emulated cashiers, and each
provider's notification is answered by the stack's payment_notify function in the sandbox (in-process behind the
HTTP API on loopback, moto behind it): the AWS calls that function makes per applied payment, and its time."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from propfee.aws.dynamo import PropfeeTable
from propfee.local.sandbox import Sandbox
from propfee.local.simulation.browser import BILL_LINK, pay_online
from propfee.local.simulation.world import build_world

TZ = ZoneInfo("Asia/Shanghai")
START = date(2026, 11, 1)
BUSY_DAY = date(2026, 11, 11)  # the ladder's first reminders, each with its bill link
NOTIFIED_WITHIN = timedelta(seconds=5)  # the emulators notify at once; the clock moves on to deliver it


def payment_figures(households: int = 300, payments: int = 20) -> dict[str, object]:
    """`payments` owners pay (WeChat Pay and Alipay in turn), one at a time, each notification delivered and
    timed alone; the calls are those of PaymentNotifyFunction (the bill page's own are counted apart)."""
    world = build_world(households, 1, START, TZ)
    with Sandbox(start=datetime.combine(BUSY_DAY, clock_time(0, 30), TZ), bill_links=True) as sandbox:
        table = PropfeeTable(sandbox.resources["PropfeeTable"], TZ)
        table.load_snapshot(world.snapshot)
        table.put_collectors(world.collectors)
        sandbox.advance(datetime.combine(BUSY_DAY, clock_time(12, 0), TZ))  # the morning's reminders
        links = list(dict.fromkeys(m.group(0) for _, _, text in sandbox.sent_sms() for m in BILL_LINK.finditer(text)))
        sandbox.function_calls.clear()
        seconds: list[float] = []
        applied = Counter[str]()
        for number, link in enumerate(links[:payments]):
            provider = ("wechat_pay", "alipay")[number % 2]
            if not pay_online(link, provider):
                continue
            started = time.perf_counter()
            sandbox.advance(sandbox.clock.now() + NOTIFIED_WITHIN)
            seconds.append(time.perf_counter() - started)
            applied[provider] += 1
        calls: Counter[str] = Counter()
        page_calls = 0
        for (function, operation), count in sandbox.function_calls.items():
            if function == "PaymentNotifyFunction":
                calls[operation] += count
            elif function == "BillPageFunction":
                page_calls += count
    paid = sum(applied.values())
    return {
        "households": households,
        "applied_payments": dict(sorted(applied.items())),
        "aws_calls_per_applied_payment": round(sum(calls.values()) / paid, 2) if paid else None,
        "target_calls_per_applied_payment": 4,
        "calls_by_operation": dict(sorted(calls.items())),
        "bill_page_calls_per_payment": round(page_calls / paid, 2) if paid else None,
        "notification_ms_median": round(statistics.median(seconds) * 1000, 1) if seconds else None,
        "note": "each notification through the sandbox's HTTP API to the in-process handler, moto behind it; "
        "the first includes the function's cold start",
    }

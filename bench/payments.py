"""`make bench`'s online payments: owners pay from their reminders' links on the emulated cashiers, and each
provider's notification is answered by the stack's payment_notify function in the sandbox (in-process behind the
HTTP API on loopback, moto behind it). Every AWS call made because of a payment, in any function: the notification
itself (synchronous), the e-receipt's message sent later by the hourly run when the payment came outside the
contact window (asynchronous), and apart, the reads a container keeps (the merchant's secret, the places' names)
and the owner's first download of the receipt's PDF (made then)."""

from __future__ import annotations

import re
import statistics
import time
import urllib.request
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
IN_QUIET_HOURS = clock_time(12, 10)  # 午休: the receipts' messages wait for 14:00 (the hourly run at 14:05)
IN_THE_WINDOW = clock_time(15, 10)  # the receipts' messages go at once
RECEIPT_LINK = re.compile(r"http://127\.0\.0\.1:\d+/r/[0-9A-Za-z]{22}")
NOTIFY = "PaymentNotifyFunction"
HOURLY = "TicketsFunction"
# what a container reads once and keeps (amortised over its payments): shown apart, not per payment
CACHED = {"secretsmanager:GetSecretValue"}


def _calls(sandbox: Sandbox, function: str) -> Counter[str]:
    return Counter({op: n for (f, op), n in sandbox.function_calls.items() if f == function})


def _pay(sandbox: Sandbox, links: list[str], first: int, seconds: list[float]) -> list[Counter[str]]:
    """Each owner pays in turn (WeChat Pay and Alipay alternately); each notification timed and counted alone."""
    per_payment: list[Counter[str]] = []
    for number, link in enumerate(links):
        if not pay_online(link, ("wechat_pay", "alipay")[(first + number) % 2]):
            continue
        before = _calls(sandbox, NOTIFY)
        started = time.perf_counter()
        sandbox.advance(sandbox.clock.now() + NOTIFIED_WITHIN)
        seconds.append(time.perf_counter() - started)
        per_payment.append(_calls(sandbox, NOTIFY) - before)
    return per_payment


def _hourly_run(sandbox: Sandbox, at: datetime) -> Counter[str]:
    before = _calls(sandbox, HOURLY)
    sandbox.advance(at)
    return _calls(sandbox, HOURLY) - before


def _summary(per_payment: list[Counter[str]]) -> dict[str, object]:
    """Per payment, the calls it made but for what its container read once and keeps: the merchant's secret, and
    a BatchGetItem beyond the one of the order and its unit (the community's and building's names, kept per
    container; it would be the unit's open tasks, which the bench's units have none of)."""
    kept = [sum(n for op, n in c.items() if op in CACHED) + max(c["dynamodb:BatchGetItem"] - 1, 0) for c in per_payment]
    counted = [sum(c.values()) - k for c, k in zip(per_payment, kept, strict=True)]
    return {
        "payments": len(per_payment),
        "calls_per_payment": round(sum(counted) / len(counted), 2) if counted else None,
        "max_calls_per_payment": max(counted) if counted else None,
        "reads_kept_per_container": sum(kept),
        "by_operation": dict(sorted(sum(per_payment, Counter()).items())),
    }


def payment_figures(households: int = 300, payments: int = 20) -> dict[str, object]:
    """Half the owners pay in the lunch rest (their receipts' messages wait for the window and the hourly run),
    half in the afternoon (sent at once)."""
    world = build_world(households, 1, START, TZ)
    seconds: list[float] = []
    with Sandbox(start=datetime.combine(BUSY_DAY, clock_time(0, 30), TZ), bill_links=True) as sandbox:
        table = PropfeeTable(sandbox.resources["PropfeeTable"], TZ)
        table.load_snapshot(world.snapshot)
        table.put_collectors(world.collectors)
        sandbox.advance(datetime.combine(BUSY_DAY, IN_QUIET_HOURS, TZ))  # the morning's reminders
        links = list(dict.fromkeys(m.group(0) for _, _, text in sandbox.sent_sms() for m in BILL_LINK.finditer(text)))
        half = payments // 2
        sandbox.function_calls.clear()
        mails_before = len(sandbox.sent_email())
        quiet = _pay(sandbox, links[:half], 0, seconds)
        baseline = _hourly_run(sandbox, datetime.combine(BUSY_DAY, clock_time(13, 30), TZ))  # nothing due yet
        opened = _hourly_run(sandbox, datetime.combine(BUSY_DAY, clock_time(14, 30), TZ))  # the window opened
        follow_up = opened - baseline
        sent_later = len(sandbox.sent_email()) - mails_before
        sandbox.advance(datetime.combine(BUSY_DAY, IN_THE_WINDOW, TZ))
        window = _pay(sandbox, links[half:payments], half, seconds)
        receipts = [m.group(0) for _, _, _, body in sandbox.sent_email() for m in RECEIPT_LINK.finditer(body)]
        before = Counter(sandbox.function_calls)
        for link in receipts:  # each owner downloads the PDF once (plain HTTP to the sandbox's loopback API)
            with urllib.request.urlopen(urllib.request.Request(f"{link}/pdf")) as answer:  # noqa: S310 # nosec B310
                answer.read()
        downloads = Counter(sandbox.function_calls) - before
    applied = quiet + window
    sync, quiet_sync, window_sync = _summary(applied), _summary(quiet), _summary(window)
    async_per_payment = round(sum(follow_up.values()) / len(quiet), 2) if quiet else 0
    per_message = sum(follow_up.values()) / sent_later if sent_later else 0
    kept = int(sync["reads_kept_per_container"] or 0)
    everything = sum(sum(c.values()) for c in applied) - kept + sum(follow_up.values())
    return {
        "households": households,
        "applied_payments": len(applied),
        "synchronous_notification": sync,
        "asynchronous_follow_up": {
            "what": "the hourly run sends the messages planned outside the contact window (per payment of those)",
            "payments_outside_the_window": len(quiet),
            "messages_sent_when_the_window_opened": sent_later,
            "calls_per_payment": async_per_payment,
            "by_operation": dict(sorted(follow_up.items())),
        },
        "total_calls_per_applied_payment": {
            "in_the_window": window_sync["calls_per_payment"],
            "outside_the_window": round(float(quiet_sync["calls_per_payment"] or 0) + async_per_payment, 2),
            "all": round(everything / len(applied), 2) if applied else None,
            "max_in_the_window": window_sync["max_calls_per_payment"],
            "max_outside_the_window": int(quiet_sync["max_calls_per_payment"] or 0) + round(per_message),
        },
        "target_calls_per_applied_payment": 4,
        "first_pdf_download_calls_per_receipt": round(sum(downloads.values()) / len(receipts), 2) if receipts else None,
        "first_pdf_download_by_operation": dict(sorted((f"{f} {op}", n) for (f, op), n in downloads.items())),
        "notification_ms_median": round(statistics.median(seconds) * 1000, 1) if seconds else None,
        "note": "each notification through the sandbox's HTTP API to the in-process handler, moto behind it; "
        "the first includes the function's cold start",
    }

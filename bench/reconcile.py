"""Reconciling a 100,000-transaction WeChat Pay trade bill (the real format, gzip, its SHA1) in one run: time and
peak traced memory, against an in-memory store that counts the batched order reads one run would make."""

from __future__ import annotations

import gc
import gzip
import hashlib
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from propfee.local.emulators.wechat_pay import BILL_HEADER, Order, bill_row, bill_summary
from propfee.payments.orders import OrderStatus, PaymentOrder
from propfee.payments.ports import CheckoutKind, ProviderName
from propfee.payments.reconciliation import compare_bill
from propfee.providers.wechat_pay import _gunzipped_lines, check_bill_hash, parse_trade_bill

SHANGHAI_DAY = date(2026, 11, 11)
DROPPED_EVERY = 100  # one payment in a hundred whose notification never came
UNKNOWN_EVERY = 1000  # one in a thousand for an order propfee never made


class CountingStore:
    """Orders by number; the ledger's references; counts what DynamoDB would be asked."""

    def __init__(self, orders: dict[str, PaymentOrder]) -> None:
        self.orders = orders
        self.references: set[str] = set()
        self.calls: dict[str, int] = {"BatchGetItem": 0, "GetItem": 0, "writes": 0}

    def orders_by_number(self, numbers: Any) -> dict[str, PaymentOrder]:
        self.calls["BatchGetItem"] += 1
        return {n: self.orders[n] for n in numbers if n in self.orders}

    def get_order(self, no: str) -> PaymentOrder | None:
        self.calls["GetItem"] += 1
        return self.orders.get(no)

    def get_unit(self, unit_id: str) -> None:
        self.calls["GetItem"] += 1

    def record_payment(self, payment: Any, unit: Any = None) -> object | None:
        self.calls["writes"] += 1  # nothing kept: DynamoDB's side of a run is not the function's memory
        return object()

    def settle_order(self, order: PaymentOrder, status: OrderStatus, transaction_id: str) -> None:
        self.calls["writes"] += 1

    def note_reconciled(self, order: PaymentOrder, day: date) -> None:
        self.calls["writes"] += 1

    def has_payment_reference(self, reference: str) -> bool:
        return reference in self.references

    def hold_for_finance(self, ticket: Any, order: Any, transaction_id: str) -> bool:
        return True

    def keep_reconciliation(self, record: Any) -> None:
        pass


def _bill(rows: int) -> tuple[bytes, str, dict[str, PaymentOrder]]:
    """The gzip of a bill of `rows` payments, its SHA1, and propfee's orders for them."""
    paid_at = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)
    created = datetime(2026, 11, 10, tzinfo=UTC)
    lines, orders = [BILL_HEADER], {}
    for n in range(rows):
        number, tx = f"PF{n:024X}-1", f"42000{n:023d}"
        emulated = Order(number, "native", 25000, "锦绣花园 物业费", "https://x", f"C01-B{n % 50:02d}-{n:06d}")
        emulated.transaction_id, emulated.success_time = tx, paid_at + timedelta(seconds=n % 50_000)
        emulated.state = "SUCCESS"
        lines.append(bill_row("wx8888888888888888", "1900000109", emulated))
        if n % UNKNOWN_EVERY == UNKNOWN_EVERY - 1:
            continue  # an order propfee never made
        dropped = n % DROPPED_EVERY == 0
        orders[number] = PaymentOrder(
            out_trade_no=number, provider=ProviderName.WECHAT_PAY, checkout=CheckoutKind.WECHAT_NATIVE,
            unit_id=emulated.attach, community_id="C01", periods=("2026-11",), amount_fen=25000, attempt=1,
            created_at=created, status=OrderStatus.OPEN if dropped else OrderStatus.PAID,
            transaction_id=None if dropped else tx,
        )  # fmt: skip
    lines += bill_summary(rows, rows * 25000, 0, rows * 25000)
    text = ("\n".join(lines) + "\n").encode()
    return gzip.compress(text), hashlib.sha1(text).hexdigest(), orders  # noqa: S324  # nosec B324


def _run(content: bytes, digest: str, store: CountingStore) -> Any:
    now = datetime(2026, 11, 12, 2, 30, tzinfo=UTC)
    check_bill_hash(content, "SHA1", digest)
    entries = parse_trade_bill(_gunzipped_lines(content))
    return compare_bill(entries, ProviderName.WECHAT_PAY, store, SHANGHAI_DAY, now, ZoneInfo("Asia/Shanghai"))


def reconcile_figures(sizes: tuple[int, ...] = (10_000, 100_000)) -> dict[str, object]:
    figures: dict[str, object] = {}
    for rows in sizes:
        content, digest, orders = _bill(rows)
        store = CountingStore(dict(orders))
        started = time.perf_counter()
        result = _run(content, digest, store)
        seconds = time.perf_counter() - started
        gc.collect()
        traced = CountingStore(dict(orders))
        tracemalloc.start()  # a second run for memory: tracing slows Python down several times
        _run(content, digest, traced)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        figures[str(rows)] = {
            "bill_gzip_bytes": len(content),
            "seconds": round(seconds, 2),
            "rows_per_second": round(rows / seconds),
            "peak_traced_bytes": peak,
            "matched": result.matched,
            "reconciled": result.reconciled,
            "unknown": result.unknown,
            "store_calls": store.calls,
        }
    return figures

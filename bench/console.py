"""The console's figures: the collector's task list rendered for 500 tasks (each with reminders, a reply and a
ticket) through the route, with the DynamoDB calls its reads would make, and the console function's cold import in
a fresh interpreter."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from propfee.console.audit import StaffAction
from propfee.console.collector import CollectorDesk
from propfee.console.http import ConsoleHttp, console_request
from propfee.console.permissions import StaffRecord
from propfee.console.sign_in import REFUSED, SignInResult
from propfee.domain.models import Channel, Collector, Hold, HoldKind, Owner, Task, Ticket, Unit
from propfee.web.limits import InMemoryRateCounter, RateLimiter

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 12, 10, 0, tzinfo=TZ)
ROOT = Path(__file__).resolve().parents[1]


# the table's calls each store read stands for in the cloud (aws.feedback.FeedbackTable): a unit's history is a
# Query of each of its three partitions (the unit's, its evidence, its audit); a batch is a call per 100 keys
_CALLS = {"tasks": 1, "get_unit": 1, "unit_history": 3, "get_ticket": 1}
_BATCHES = ("units_by_id", "tickets_by_id", "tasks_by_id")


class _Store:
    """Everything in dicts: the figure is the console's own work (cards, escaping, the template), not the table's;
    the reads are counted as the DynamoDB calls they would be."""

    def __init__(self, tasks: int) -> None:
        self.calls: dict[str, int] = {}
        self.task_list: list[Task] = []
        self.units: dict[str, Unit] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.ticket = Ticket(
            ticket_id="T20261106-0A1B2C3D", community_id="C01", department="engineering", intent="complaint",
            channel="sms", contact="+8613812345678", message="楼上漏水", created_at=NOW - timedelta(days=6),
            due_by=NOW - timedelta(days=4), source_id="m-1",
        )  # fmt: skip
        for n in range(tasks):
            unit_id = f"C01-B{n // 100 + 1:02d}-{n % 100 + 1:04d}"
            self.units[unit_id] = Unit(
                unit_id=unit_id, community_id="C01", building_id=unit_id.rsplit("-", 1)[0], room=f"{n % 100 + 1:04d}",
                area_m2=100, monthly_fee_fen=25000, owners=(Owner(name="王芳", phone="+8613812345678"),),
                # what the list shows of the unit: the steps taken, the last message, the ticket holding it
                steps_done=frozenset(f"sms_d{d}" for d in (1, 7, 14)), recent_contacts=(NOW - timedelta(days=1),),
                holds=(Hold(kind=HoldKind.COMPLAINT, reason="complaint", ticket=self.ticket.ticket_id),),
            )  # fmt: skip
            self.task_list.append(
                Task(
                    task_id=f"{unit_id}.call_d15.1", unit_id=unit_id, community_id="C01", kind=Channel.CALL,
                    step="call_d15", collector_id="K1", created_at=NOW - timedelta(days=1),
                    due_by=NOW + timedelta(minutes=n), unit_label=unit_id[4:], owner_name="王芳",
                    community_name="锦绣花园", building_name=f"{n // 100 + 1}栋", room=f"{n % 100 + 1:04d}",
                    call_number="+8613812345678", balance_fen=25000 + n,
                )
            )  # fmt: skip
            self.history[unit_id] = [
                *({"kind": "reminder", "at": (NOW - timedelta(days=d)).isoformat(), "channel": "sms",
                   "step": f"sms_d{d}", "status": "delivered"} for d in (1, 7, 14)),
                {"kind": "inbound", "at": (NOW - timedelta(days=6)).isoformat(), "channel": "sms",
                 "body": "楼上漏水三个月没人修，修好再交", "intent": "complaint", "ticket_id": self.ticket.ticket_id},
            ]  # fmt: skip

    def staff(self, sub: str) -> StaffRecord | None:
        return StaffRecord(sub=sub, email="k1@example.com", communities=frozenset({"C01"}), collector_id="K1")

    def collectors(self) -> list[Collector]:
        return []

    def _count(self, name: str, calls: int = 0) -> None:
        self.calls[name] = self.calls.get(name, 0) + (calls or _CALLS.get(name, 1))

    def tasks(self, collector_id: str, status: str = "open") -> list[Task]:
        self._count("tasks")
        return list(self.task_list)

    def units_by_id(self, unit_ids: Sequence[str]) -> dict[str, Unit]:
        self._count("units_by_id", -(-len(set(unit_ids)) // 100))
        return {u: self.units[u] for u in unit_ids if u in self.units}

    def tickets_by_id(self, ticket_ids: Sequence[str]) -> list[Ticket]:
        self._count("tickets_by_id", -(-len(set(ticket_ids)) // 100))
        return [self.ticket] if self.ticket.ticket_id in ticket_ids else []

    def tasks_by_id(self, task_ids: Sequence[str]) -> list[Task]:
        self._count("tasks_by_id", -(-len(set(task_ids)) // 100))
        return [t for t in self.task_list if t.task_id in task_ids]

    def get_task(self, task_id: str) -> Task | None:
        return None

    def get_unit(self, unit_id: str) -> Unit | None:
        self._count("get_unit")
        return self.units.get(unit_id)

    def complete_task(self, done: Task, unit_after: Unit | None, unit_version: int) -> bool:
        return False

    def unit_history(self, unit_id: str) -> list[dict[str, Any]]:
        self._count("unit_history")
        return self.history.get(unit_id, [])

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        self._count("get_ticket")
        return self.ticket

    def append(self, actions: Iterable[StaffAction]) -> None:
        return None

    def for_unit(self, unit_id: str) -> list[StaffAction]:
        return []


class _NoSignIn:
    def sign_in(self, email: str, password: str) -> SignInResult:
        return REFUSED

    def new_password(self, email: str, session: str, password: str) -> SignInResult:
        return REFUSED

    def refresh(self, refresh_token: str) -> SignInResult:
        return REFUSED


def task_list_render(tasks: int = 500, runs: int = 5) -> dict[str, Any]:
    """GET /console/tasks for a collector with `tasks` open tasks: median and best of `runs`, after one warm-up
    (the template compiled once per container, as in Lambda)."""
    store = _Store(tasks)
    http = ConsoleHttp(CollectorDesk(store), _NoSignIn(), RateLimiter(InMemoryRateCounter()), lambda: b"k", TZ)
    claims = {"sub": "sub-k1", "cognito:groups": "[collector]", "token_use": "id", "email": "k1@example.com"}
    event = {
        "version": "2.0",
        "rawPath": "/console/tasks",
        "headers": {"accept-language": "zh-CN"},
        "requestContext": {
            "http": {"method": "GET", "path": "/console/tasks"},
            "authorizer": {"jwt": {"claims": claims}},
        },
    }
    times, size = [], 0
    for run in range(runs + 1):
        store.calls.clear()
        started = time.perf_counter()
        page = http.tasks(console_request(event, NOW))
        elapsed = time.perf_counter() - started
        assert page.status == 200 and str(page.body).count('<li class="task') == tasks
        size = len(str(page.body).encode())
        if run:
            times.append(elapsed * 1000)
    return {"tasks": tasks, "median_ms": round(statistics.median(times), 1), "best_ms": round(min(times), 1),
            "html_kb": round(size / 1024), "table_calls": sum(store.calls.values()),
            "table_calls_by_read": dict(sorted(store.calls.items()))}  # fmt: skip


_COLD = """
import importlib.util, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("console_app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
imported = time.perf_counter()
from propfee.web.pages import environment
for name in ("console_tasks.html.j2", "console_task.html.j2", "console_sign_in.html.j2"):
    environment().get_template(name)
print(imported - started, time.perf_counter() - imported)
"""


def cold_import_ms(runs: int = 5) -> dict[str, float]:
    """A fresh interpreter importing functions/console/app.py (Powertools, the console, the wiring: what Lambda's
    init phase runs), then compiling the console's templates (its first request)."""
    env = {"PYTHONPATH": str(ROOT / "shared"), "AWS_DEFAULT_REGION": "ap-northeast-1", "POWERTOOLS_TRACE_DISABLED": "1"}
    imports, templates = [], []
    for _ in range(runs):
        out = subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", _COLD, str(ROOT / "functions" / "console" / "app.py")],
            capture_output=True, text=True, check=True, env=env,
        ).stdout.split()  # fmt: skip
        imports.append(float(out[0]) * 1000)
        templates.append(float(out[1]) * 1000)
    return {"import_ms": round(statistics.median(imports)), "templates_ms": round(statistics.median(templates))}


def console_figures() -> dict[str, Any]:
    return {"task_list_render": task_list_render(), "cold_import": cold_import_ms()}

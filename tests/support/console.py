"""An in-memory console: a store with tasks, units, histories, tickets and staff records, a fake sign-in, and
payload-2.0 events as the JWT authorizer passes them (the unit tests and the bench share them)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from propfee.accounts.ledger import with_bill
from propfee.console.audit import MemoryAuditStore, StaffAction
from propfee.console.clerk import ClerkDesk
from propfee.console.collector import CollectorDesk
from propfee.console.http import ConsoleHttp, ConsoleRequest
from propfee.console.managers import ManagerDesk
from propfee.console.meeting import MeetingDesk
from propfee.console.oversight import OversightDesk
from propfee.console.permissions import Role, StaffRecord
from propfee.console.sign_in import REFUSED, SignInResult
from propfee.console.units import UnitDesk
from propfee.domain.activity import DayActivity
from propfee.domain.day_snapshot import DaySnapshot
from propfee.domain.models import (
    Building,
    Channel,
    Collector,
    Community,
    PeriodTotal,
    Reminder,
    ReminderStatus,
    Task,
    Ticket,
    Unit,
)
from propfee.feedback.ticketing import ReplyResult
from propfee.rules import CollectionRules
from propfee.web.limits import InMemoryRateCounter, RateLimiter, RateLimits
from propfee.web.requests import HttpRequest
from tests.support import SHANGHAI, at, bill, unit

SECRET = b"console-test-signing-key-0123456789abcdef"
NOW = at("2026-11-12 10:00")
PASSWORD = "Correct-Horse-9-Battery"
RULES = CollectionRules()  # the default ladder and contact policy


class MemoryConsoleStore:
    def __init__(self) -> None:
        self.task_items: dict[str, Task] = {}
        self.units: dict[str, Unit] = {}
        self.staff_records: dict[str, StaffRecord] = {}
        self.collector_list: list[Collector] = []
        self.histories: dict[str, list[dict[str, Any]]] = {}
        self.ticket_items: dict[str, Ticket] = {}
        self.audit = MemoryAuditStore()
        self.activity: dict[tuple[str, date], DayActivity] = {}
        self.periods: dict[str, list[PeriodTotal]] = {}
        self.batch_reads = 0  # the batched reads (units, tasks, tickets by id)
        self.single_reads = 0  # a unit, its history or a ticket read by itself
        self.snapshots: dict[str, list[DaySnapshot]] = {}
        self.community_list: list[Community] = []
        self.reminders: dict[tuple[str, str], Reminder] = {}  # (unit, claim key): the evidence records
        self.settled: list[tuple[str, str, bool, str | None]] = []  # (unit, claim key, sent, provider's id)
        self.opt_out_items: dict[str, list[dict[str, Any]]] = {}

    def report_snapshots(self, community_id: str, first: date, last: date) -> list[DaySnapshot]:
        return [s for s in self.snapshots.get(community_id, []) if first <= s.day <= last]

    def communities(self) -> list[Community]:
        return list(self.community_list)

    def buildings(self, community_id: str) -> list[Building]:
        return []

    def units_owing(self, community_id: str, due_before: date) -> Iterator[Unit]:
        for u in sorted(self.units.values(), key=lambda u: u.unit_id):
            if u.community_id == community_id and u.oldest_due is not None and u.oldest_due < due_before:
                yield u

    def claimed_reminders(self, community_id: str, day: date) -> list[Reminder]:
        return [r for r in self.reminders.values() if r.community_id == community_id
                and r.status is ReminderStatus.CLAIMED and r.claimed_at.astimezone(SHANGHAI).date() == day]  # fmt: skip

    def reminder(self, unit_id: str, claim_key: str) -> Reminder | None:
        return self.reminders.get((unit_id, claim_key))

    def settle_claim(
        self, reminder: Reminder, sent: bool, at: datetime, note: str, provider_message_id: str | None = None
    ) -> bool:
        key = (reminder.unit_id, f"REMINDER#{reminder.step}#{reminder.occurrence}")
        if self.reminders[key].status is not ReminderStatus.CLAIMED:
            return False
        status = ReminderStatus.SENT if sent else ReminderStatus.FAILED
        self.reminders[key] = reminder.model_copy(update={"status": status, "provider_message_id": provider_message_id})
        self.settled.append((*key, sent, provider_message_id))
        return True

    def opt_outs(self, community_id: str) -> list[dict[str, Any]]:
        return sorted(self.opt_out_items.get(community_id, []), key=lambda i: i["at"], reverse=True)

    def day_activity(self, community_id: str, day: date) -> DayActivity:
        return self.activity.get((community_id, day), DayActivity())

    def period_totals(self, community_id: str) -> list[PeriodTotal]:
        return list(self.periods.get(community_id, []))

    def staff(self, sub: str) -> StaffRecord | None:
        return self.staff_records.get(sub)

    def collectors(self) -> list[Collector]:
        return list(self.collector_list)

    def tasks(self, collector_id: str, status: str = "open") -> list[Task]:
        found = [t for t in self.task_items.values() if t.collector_id == collector_id and t.status == status]
        return sorted(found, key=lambda t: t.created_at)

    def get_task(self, task_id: str) -> Task | None:
        return self.task_items.get(task_id)

    def get_unit(self, unit_id: str) -> Unit | None:
        self.single_reads += 1
        return self.units.get(unit_id)

    def complete_task(self, done: Task, unit_after: Unit | None, unit_version: int) -> bool:
        if self.task_items[done.task_id].status != "open":
            return False
        if unit_after is not None:
            if self.units[done.unit_id].version != unit_version:
                return False
            self.units[done.unit_id] = unit_after
        self.task_items[done.task_id] = done
        return True

    def unit_history(self, unit_id: str) -> list[dict[str, Any]]:
        self.single_reads += 1
        return list(self.histories.get(unit_id, []))

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        self.single_reads += 1
        return self.ticket_items.get(ticket_id)

    def tasks_by_id(self, task_ids: Iterable[str]) -> list[Task]:
        self.batch_reads += 1
        return [self.task_items[i] for i in dict.fromkeys(task_ids) if i in self.task_items]

    def units_by_id(self, unit_ids: Iterable[str]) -> dict[str, Unit]:
        self.batch_reads += 1
        return {u: self.units[u] for u in dict.fromkeys(unit_ids) if u in self.units}

    def tickets_by_id(self, ticket_ids: Iterable[str]) -> list[Ticket]:
        self.batch_reads += 1
        return [self.ticket_items[i] for i in dict.fromkeys(ticket_ids) if i in self.ticket_items]

    def tickets(self, department: str, status: str = "open", due_before: datetime | None = None) -> list[Ticket]:
        found = [
            t for t in self.ticket_items.values()
            if t.department == department and t.status.value == status and (due_before is None or t.due_by < due_before)
        ]  # fmt: skip
        return sorted(found, key=lambda t: t.due_by)

    def tickets_with_queued_replies(self) -> list[Ticket]:
        return [t for t in self.ticket_items.values() if t.queued_replies]

    def save_ticket(self, before: Ticket, after: Ticket, units_after: list[Unit]) -> bool:
        kept = self.ticket_items.get(before.ticket_id)
        if kept is None or kept.status != before.status or kept.escalated_at != before.escalated_at:
            return False
        if any(self.units[u.unit_id].version != u.version - 1 for u in units_after):
            return False
        self.ticket_items[after.ticket_id] = after
        for u in units_after:
            self.units[u.unit_id] = u
        return True

    def all_staff(self) -> list[StaffRecord]:
        return list(self.staff_records.values())

    def append(self, actions: Iterable[StaffAction]) -> None:
        self.audit.append(actions)

    def for_unit(self, unit_id: str) -> list[StaffAction]:
        return self.audit.for_unit(unit_id)


class FakeSignIn:
    """The pool's answer: tokens for a known email with its password, a challenge for a first sign-in."""

    def __init__(self) -> None:
        self.users: dict[str, str] = {"k1@example.com": PASSWORD}
        self.challenged: set[str] = set()
        self.calls = 0
        self.revoked: set[str] = set()

    def sign_in(self, email: str, password: str) -> SignInResult:
        self.calls += 1
        if self.users.get(email) != password:
            return REFUSED
        if email in self.challenged:
            return SignInResult(challenge="NEW_PASSWORD_REQUIRED", session=f"session-of-{email}")
        return self._tokens(email)

    def new_password(self, email: str, session: str, password: str) -> SignInResult:
        self.calls += 1
        if email not in self.challenged or session != f"session-of-{email}":
            return REFUSED
        if password.lower() == password:  # the pool's policy, as far as the tests need it: an upper case letter
            return SignInResult(challenge="NEW_PASSWORD_REQUIRED", session=session, weak_password=True)
        self.challenged.discard(email)
        self.users[email] = password
        return self._tokens(email)

    def refresh(self, refresh_token: str) -> SignInResult:
        self.calls += 1
        email = refresh_token.removeprefix("refresh-token-of-")
        known = refresh_token.startswith("refresh-token-of-") and email in self.users
        if not known or refresh_token in self.revoked:
            return REFUSED
        return SignInResult(id_token=f"id-token-of-{email}-refreshed", access_token="access", expires_in=3600)

    def sign_out(self, refresh_token: str) -> bool:
        self.calls += 1
        if refresh_token in self.revoked or not refresh_token.startswith("refresh-token-of-"):
            return False
        self.revoked.add(refresh_token)
        return True

    def _tokens(self, email: str) -> SignInResult:
        return SignInResult(id_token=f"id-token-of-{email}", access_token="access", expires_in=3600,
                            refresh_token=f"refresh-token-of-{email}")  # fmt: skip


def call_task(unit_id: str, collector_id: str = "K1", n: int = 1, **changes: Any) -> Task:
    fields: dict[str, Any] = {
        "task_id": f"{unit_id}.call_d30.{n}",
        "unit_id": unit_id,
        "community_id": unit_id.split("-")[0],
        "kind": Channel.CALL,
        "step": "call_d30",
        "collector_id": collector_id,
        "created_at": at("2026-11-11 09:30"),
        "due_by": at("2026-11-13 09:30"),
        "unit_label": unit_id.split("-", 1)[1],
        "owner_name": "王芳",
        "community_name": "锦绣花园",
        "building_name": "1栋",
        "room": unit_id.split("-")[-1],
        "call_number": "+8613812345678",
        "balance_fen": 25000,
    }
    return Task(**{**fields, **changes})


def staff(sub: str, **scope: Any) -> StaffRecord:
    return StaffRecord.model_validate({"sub": sub, "email": f"{sub}@example.com", **scope})


class FakeReplies:
    """The acknowledgements' send path: what it sent, or "outside_window" while `window_open` is False."""

    def __init__(self) -> None:
        self.window_open = True
        self.sent: list[tuple[str, str, str]] = []  # (ticket id, the contact, the text)

    def answer(self, ticket: Ticket, text: str, now: datetime) -> ReplyResult:
        if not self.window_open:
            return ReplyResult("outside_window")
        self.sent.append((ticket.ticket_id, ticket.contact, text))
        return ReplyResult("sent", "text")


class MemoryReports:
    """A report bucket: its files by key, and links that name the key and how long they last."""

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self.files = {key: b"report" for key in keys}
        self.listed: list[str] = []

    def keys(self, prefix: str, recursive: bool = True) -> list[str]:
        self.listed.append(prefix)
        return [k for k in self.files if k.startswith(prefix) and (recursive or "/" not in k[len(prefix) :])]

    def get(self, key: str) -> bytes:
        return self.files[key]

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.files[key] = body

    def presigned_get(self, key: str, expires_in_seconds: int, filename: str | None = None) -> str:
        return f"https://reports.example.com/{key}?expires={expires_in_seconds}&name={filename}"

    def download_prefix(self, prefix: str, target: Any, recursive: bool = True) -> list[Any]:
        raise NotImplementedError


def console(
    store: MemoryConsoleStore | None = None,
    sign_in: FakeSignIn | None = None,
    replies: FakeReplies | None = None,
    reports: MemoryReports | None = None,
    depths: Callable[[], dict[str, int]] | None = None,
) -> ConsoleHttp:
    limiter = RateLimiter(InMemoryRateCounter(), RateLimits(per_token=5, per_source=50))
    store = store or MemoryConsoleStore()
    reports = reports or MemoryReports()
    return ConsoleHttp(
        CollectorDesk(store), sign_in or FakeSignIn(), limiter, lambda: SECRET, SHANGHAI, "锦绣物业",
        clerks=ClerkDesk(store, replies or FakeReplies()),
        managers=ManagerDesk(store, reports, depths),
        oversight=OversightDesk(store, lambda: RULES, SHANGHAI),
        units=UnitDesk(store, reports), meeting=MeetingDesk(store, reports),
    )  # fmt: skip


def claims(sub: str, *groups: Role) -> dict[str, str]:
    """As HTTP API passes them: every claim a string, the groups "[a b]"."""
    return {
        "sub": sub,
        "cognito:username": sub,
        "email": f"{sub}@example.com",
        "cognito:groups": "[" + " ".join(g.value for g in groups) + "]",
        "token_use": "id",
    }


def event(
    method: str,
    path: str,
    claims_: dict[str, str] | None = None,
    form: str = "",
    query: dict[str, str] | None = None,
    language: str = "zh-CN",
) -> dict[str, Any]:
    headers = {"accept-language": language}
    if form:
        headers["content-type"] = "application/x-www-form-urlencoded"
    made: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "203.0.113.9"}},
        "isBase64Encoded": False,
    }
    if claims_ is not None:
        made["requestContext"]["authorizer"] = {"jwt": {"claims": claims_, "scopes": None}}
    if form:
        made["body"] = form
    if query:
        made["queryStringParameters"] = query
    return made


def request_of(made: dict[str, Any], now: datetime = NOW) -> ConsoleRequest:
    from propfee.console.http import console_request

    return console_request(made, now)


def plain_request(now: datetime = NOW) -> ConsoleRequest:
    return ConsoleRequest(HttpRequest("GET", "/console", "203.0.113.9", "localhost"), now)


def collectors_estate(tasks: int = 3) -> MemoryConsoleStore:
    """K1 works C01 (tasks on its units), K2 works C02; a manager of each; K1's record names C01."""
    store = MemoryConsoleStore()
    store.collector_list = [
        Collector(collector_id="K1", name="张伟", communities=("C01",)),
        Collector(collector_id="K2", name="李娜", communities=("C02",)),
    ]
    store.staff_records = {
        "sub-k1": staff("sub-k1", communities=frozenset({"C01"}), collector_id="K1"),
        "sub-k2": staff("sub-k2", communities=frozenset({"C02"}), collector_id="K2"),
        "sub-m1": staff("sub-m1", communities=frozenset({"C01"})),
        "sub-m2": staff("sub-m2", communities=frozenset({"C02"})),
    }
    for n in range(1, tasks + 1):
        unit_id = f"C01-B01-01{n:02d}"
        store.units[unit_id] = with_bill(unit(unit_id), bill(unit_id, "2026-10", amount_fen=25000 * n))
        store.task_items[f"{unit_id}.call_d30.1"] = call_task(
            unit_id, balance_fen=25000 * n, due_by=NOW + timedelta(hours=n)
        )
    store.units["C02-B01-0101"] = with_bill(unit("C02-B01-0101"), bill("C02-B01-0101", "2026-10"))
    store.community_list = [Community(community_id=c, name=n) for c, n in (("C01", "锦绣花园"), ("C02", "翠湖苑"))]
    store.task_items["C02-B01-0101.call_d30.1"] = call_task("C02-B01-0101", "K2")
    return store

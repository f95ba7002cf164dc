"""The console's routes as plain functions of a request: sign-in (public), then the collectors' pages, each behind
the HTTP API's JWT authorizer and checked again here against the person's roles and communities (403 outside).

Sessions are bearer tokens, not cookies: the HTTP API's JWT authorizer reads the Authorization header only. The
sign-in answer hands the ID token to /static/console.js, which keeps it in sessionStorage (gone with the tab) and
adds it to every htmx request (hx-boost turns links and forms into such requests)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from urllib.parse import quote
from zoneinfo import ZoneInfo

from propfee.collection.tasks import TaskError, outcomes_for
from propfee.console.auth import Unauthenticated
from propfee.console.clerk import MAX_REPLY_CHARS, ClerkDesk
from propfee.console.collector import CollectorDesk
from propfee.console.manager_http import MANAGER_ROUTES, ManagerRoutes
from propfee.console.managers import ManagerDesk, communities_of
from propfee.console.meeting import MeetingDesk
from propfee.console.meeting_pages import MeetingPages
from propfee.console.oversight import OversightDesk
from propfee.console.pages import ConsoleRequest as ConsoleRequest
from propfee.console.pages import console_request as console_request
from propfee.console.pages import forbidden, not_found, parse_date, plain, render, unauthorized
from propfee.console.permissions import Forbidden, Role, StaffMember, unit_policy
from propfee.console.session_pages import SessionPages
from propfee.console.sign_in import StaffSignIn
from propfee.console.texts import CONSOLE_TEXTS
from propfee.console.unit_pages import UnitPages
from propfee.console.units import UnitDesk
from propfee.domain.models import TaskOutcome
from propfee.feedback.ticketing import TicketError
from propfee.web.limits import RateLimiter
from propfee.web.pages import WebResponse
from propfee.web.security import csrf_token

TICKET_ID = re.compile(r"^T\d{8}-[0-9A-F]{8}$")
MAX_NOTE_CHARS = 2000


# the console's routes, (method, path, ConsoleHttp's method): a path's parameter is the method's second argument
# (functions/console registers each; infra/template.yaml gives each its event and authorizer)
ROUTES = [
    ("GET", "/console", "shell"), ("GET", "/console/sign-in", "sign_in_page"), ("POST", "/console/sign-in", "sign_in"),
    ("GET", "/console/home", "home"),
    ("GET", "/console/tasks", "tasks"), ("GET", "/console/tasks/<task_id>", "task"),
    ("POST", "/console/tasks/<task_id>/outcome", "outcome"),
    ("GET", "/console/tickets", "inbox"), ("GET", "/console/tickets/<ticket_id>", "ticket"),
    ("POST", "/console/tickets/<ticket_id>/assign", "assign"), ("POST", "/console/tickets/<ticket_id>/reply", "reply"),
    ("POST", "/console/tickets/<ticket_id>/resolve", "resolve"),
    *MANAGER_ROUTES,
    ("POST", "/console/sign-in/new-password", "new_password"), ("POST", "/console/session/refresh", "refresh"),
    ("POST", "/console/session/sign-out", "sign_out"),
    ("GET", "/console/units/<unit_id>", "unit"), ("POST", "/console/units/<unit_id>/evidence", "evidence"),
    ("GET", "/console/standing", "standing"), ("GET", "/console/cases", "cases"),
]  # fmt: skip

# a ticket form's work: what to say on the ticket page, or a page of its own (a 400)
TicketAct = Callable[[StaffMember, ClerkDesk, Mapping[str, str]], "str | WebResponse"]


class ConsoleHttp(SessionPages, UnitPages, MeetingPages, ManagerRoutes):
    def __init__(
        self,
        desk: CollectorDesk,
        sign_in: StaffSignIn,
        limiter: RateLimiter,
        csrf_secret: Callable[[], bytes],
        tz: ZoneInfo,
        company_name: str = "",
        clerks: ClerkDesk | None = None,
        managers: ManagerDesk | None = None,
        oversight: OversightDesk | None = None,
        units: UnitDesk | None = None,
        meeting: MeetingDesk | None = None,
    ) -> None:
        self.desk = desk
        self.units = units
        self.meeting = meeting
        self.clerks = clerks
        self.managers = managers
        self.oversight = oversight
        self._sign_in = sign_in
        self._limiter = limiter
        self._secret = csrf_secret  # from Secrets Manager on first use
        self._tz = tz
        self._company = company_name

    # ------------------------------------------------------------------ public: the shell and signing in
    def shell(self, request: ConsoleRequest) -> WebResponse:
        """The page a bookmark opens: console.js sends the stored token with its first htmx request (the tasks)."""
        ticket_id = request.http.query.get("ticket", "")  # the department email's link to a ticket
        first = f"/console/tickets/{quote(ticket_id, safe='')}" if TICKET_ID.match(ticket_id) else "/console/home"
        context = {"company_name": self._company, "first": first}
        return render("console_shell.html.j2", request.language, context)

    # ------------------------------------------------------------------ behind the JWT authorizer
    def _member(self, request: ConsoleRequest) -> StaffMember:
        if request.principal is None:
            raise Unauthenticated("no verified token")
        return self.desk.member(request.principal)

    def _guarded(self, request: ConsoleRequest, page: Callable[[StaffMember], WebResponse]) -> WebResponse:
        try:
            return page(self._member(request))
        except Unauthenticated:
            return unauthorized()
        except Forbidden:
            return forbidden()

    def _csrf_subject(self, member: StaffMember) -> str:
        return f"console:{member.sub}"

    def tasks(self, request: ConsoleRequest, notice: str = "") -> WebResponse:
        def page(member: StaffMember) -> WebResponse:
            collector_id = request.http.query.get("collector") or member.collector_id
            if not collector_id:
                raise Forbidden("no collector to list the tasks of")
            cards = self.desk.todays_tasks(member, collector_id, request.now, request.language)
            context = {"company_name": self._company, "cards": cards, "notice": notice, "tz": self._tz}
            return render("console_tasks.html.j2", request.language, context)

        return self._guarded(request, page)

    def task(self, request: ConsoleRequest, task_id: str, notice: str = "", status: int = 200) -> WebResponse:
        def page(member: StaffMember) -> WebResponse:
            task = self.desk.task(member, task_id)
            if task is None:
                return not_found()
            card = self.desk.card(member, task, request.now, request.language)
            context = {
                "company_name": self._company,
                "card": card,
                "outcomes": [o.value for o in outcomes_for(task.kind)],
                "csrf": csrf_token(self._secret(), self._csrf_subject(member), request.now),
                "today": request.now.astimezone(self._tz).date(),
                "notice": notice,
                "tz": self._tz,
            }
            return render("console_task.html.j2", request.language, context, status)

        return self._guarded(request, page)

    def outcome(self, request: ConsoleRequest, task_id: str) -> WebResponse:
        texts = CONSOLE_TEXTS[request.language]

        def record(member: StaffMember) -> WebResponse:
            form = request.http.form
            if not self._csrf_ok(request, member):
                return forbidden()
            chosen = next((o for o in TaskOutcome if o.value == form.get("outcome")), None)
            if chosen is None:
                return plain(400, "Bad Request\n")
            today = request.now.astimezone(self._tz).date()
            promised = parse_date(form.get("promised_date", "")) if chosen is TaskOutcome.PROMISED else None
            if chosen is TaskOutcome.PROMISED and (promised is None or promised < today):
                return self.task(request, task_id, texts["needs_date"], 400)
            note = form.get("note", "").strip()[:MAX_NOTE_CHARS]
            if self.desk.task(member, task_id) is None:
                return not_found()
            try:
                done = self.desk.record_outcome(member, task_id, chosen, promised, note, request.now, today)
            except TaskError:
                return self.task(request, task_id, texts["task_closed"], 409)
            said = texts[f"outcome_{done.outcome.value}"] if done.outcome else ""
            if done.promised_date is not None:
                said = f"{texts['promised_until']} {done.promised_date.isoformat()}"
            return self.tasks(request, f"{texts['recorded']}: {done.unit_label} · {said}")

        return self._guarded(request, record)

    # ------------------------------------------------------------------ every role's first page
    def home(self, request: ConsoleRequest) -> WebResponse:
        """Where the shell goes after sign-in: a collector's tasks, a clerk's inbox, a manager's or finance's today."""

        def page(member: StaffMember) -> WebResponse:
            if member.collector_id and member.has(Role.COLLECTOR):
                return self.tasks(request)
            if member.has(Role.DEPARTMENT_CLERK) and member.departments:
                return self.inbox(request)
            if communities_of(member):
                return self.today(request)
            raise Forbidden("no console page for these roles yet")

        return self._guarded(request, page)

    # ------------------------------------------------------------------ department clerks
    def _clerks(self) -> ClerkDesk:
        if self.clerks is None:
            raise Forbidden("the clerks' pages are not configured")
        return self.clerks

    def inbox(self, request: ConsoleRequest, notice: str = "") -> WebResponse:
        def page(member: StaffMember) -> WebResponse:
            desk = self._clerks()
            departments = desk.departments(member)
            department = request.http.query.get("department") or (departments[0] if departments else "")
            if not department:
                raise Forbidden("no department to list the tickets of")
            lines = desk.inbox(member, department, request.now)
            context = {"company_name": self._company, "lines": lines, "department": department,
                       "departments": departments, "notice": notice, "tz": self._tz}  # fmt: skip
            return render("console_inbox.html.j2", request.language, context)

        return self._guarded(request, page)

    def ticket(self, request: ConsoleRequest, ticket_id: str, notice: str = "", status: int = 200) -> WebResponse:
        def page(member: StaffMember) -> WebResponse:
            desk = self._clerks()
            ticket = desk.ticket(member, ticket_id)
            if ticket is None:
                return not_found()
            context = {
                "company_name": self._company,
                "view": desk.view(member, ticket, request.now),
                "clerks": desk.colleagues(member, ticket),
                "me": member.sub,
                "csrf": csrf_token(self._secret(), self._csrf_subject(member), request.now),
                "notice": notice,
                "tz": self._tz,
                "max_reply": MAX_REPLY_CHARS,
                "may_open_units": unit_policy(member, ticket.community_id, "view").allowed,
            }
            return render("console_ticket.html.j2", request.language, context, status)

        return self._guarded(request, page)

    def _ticket_form(self, request: ConsoleRequest, ticket_id: str, act: TicketAct) -> WebResponse:
        """A ticket's form: CSRF first, the ticket's policy in the desk, then the ticket page with what was done."""
        texts = CONSOLE_TEXTS[request.language]

        def run(member: StaffMember) -> WebResponse:
            form = request.http.form
            if not self._csrf_ok(request, member):
                return forbidden()
            desk = self._clerks()
            if desk.ticket(member, ticket_id) is None:
                return not_found()
            try:
                said = act(member, desk, form)
            except TicketError:
                return self.ticket(request, ticket_id, texts["ticket_closed"], 409)
            if isinstance(said, WebResponse):
                return said
            return self.ticket(request, ticket_id, said)

        return self._guarded(request, run)

    def assign(self, request: ConsoleRequest, ticket_id: str) -> WebResponse:
        texts = CONSOLE_TEXTS[request.language]

        def act(member: StaffMember, desk: ClerkDesk, form: Mapping[str, str]) -> str:
            assignee = form.get("assignee", "").strip() or member.sub
            desk.assign(member, ticket_id, assignee, request.now)
            return texts["claimed"] if assignee == member.sub else texts["reassigned"]

        return self._ticket_form(request, ticket_id, act)

    def reply(self, request: ConsoleRequest, ticket_id: str) -> WebResponse:
        texts = CONSOLE_TEXTS[request.language]

        def act(member: StaffMember, desk: ClerkDesk, form: Mapping[str, str]) -> str | WebResponse:
            text = form.get("text", "").strip()
            if not text or len(text) > MAX_REPLY_CHARS:
                return self.ticket(request, ticket_id, texts["reply_needed"], 400)
            return texts[f"reply_{desk.reply(member, ticket_id, text, request.now)}"]

        return self._ticket_form(request, ticket_id, act)

    def resolve(self, request: ConsoleRequest, ticket_id: str) -> WebResponse:
        texts = CONSOLE_TEXTS[request.language]

        def act(member: StaffMember, desk: ClerkDesk, form: Mapping[str, str]) -> str | WebResponse:
            note = form.get("note", "").strip()[:MAX_NOTE_CHARS]
            if not note:
                return self.ticket(request, ticket_id, texts["resolve_note_needed"], 400)
            desk.resolve(member, ticket_id, note, request.now)
            return texts["resolved"]

        return self._ticket_form(request, ticket_id, act)

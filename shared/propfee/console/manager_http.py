"""The managers' and finance's routes: today at a glance, the daily reports, today's plan preview, legal-review
decisions, unconfirmed claims to settle and opt-outs. A community comes from the query (`community`, else the
reader's first); each desk checks the reader's scope first (403 outside), every form its CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from propfee.collection.tasks import TaskError
from propfee.console.managers import ManagerDesk, communities_of
from propfee.console.oversight import DECISIONS, OversightDesk
from propfee.console.pages import ConsoleRequest, bad_request, forbidden, not_found, parse_date, render
from propfee.console.permissions import Forbidden, StaffMember, legal_review_policy, manager_pages, payments_policy
from propfee.console.texts import CONSOLE_TEXTS
from propfee.web.pages import WebResponse
from propfee.web.security import CSRF_FIELD, CsrfRefused, check_csrf, csrf_token

MAX_NOTE_CHARS = 2000
MANAGER_ROUTES = [
    ("GET", "/console/today", "today"), ("GET", "/console/reports/<community_id>", "reports"),
    ("GET", "/console/plan", "plan"),
    ("GET", "/console/legal-reviews", "legal_reviews"), ("POST", "/console/legal-reviews/<task_id>", "decide"),
    ("GET", "/console/claims", "claims"), ("POST", "/console/claims/<unit_id>", "settle"),
    ("GET", "/console/opt-outs", "opt_outs"),
]  # fmt: skip


class ManagerRoutes:
    """Mixed into console.http.ConsoleHttp, which gives the desks, the guard and the CSRF secret."""

    managers: ManagerDesk | None
    oversight: OversightDesk | None
    _tz: ZoneInfo
    _company: str
    _secret: Callable[[], bytes]

    def _guarded(self, request: ConsoleRequest, page: Callable[[StaffMember], WebResponse]) -> WebResponse:
        raise NotImplementedError

    def _csrf_subject(self, member: StaffMember) -> str:
        raise NotImplementedError

    def _managers(self) -> ManagerDesk:
        if self.managers is None:
            raise Forbidden("the managers' pages are not configured")
        return self.managers

    def _oversight(self) -> OversightDesk:
        if self.oversight is None:
            raise Forbidden("the managers' pages are not configured")
        return self.oversight

    def _day(self, request: ConsoleRequest) -> date | None:
        text = request.http.query.get("date", "")
        return parse_date(text) if text else request.now.astimezone(self._tz).date()

    def _community(self, request: ConsoleRequest, member: StaffMember) -> tuple[str, list[str]]:
        communities = communities_of(member)
        community_id = request.http.query.get("community") or (communities[0] if communities else "")
        if not community_id:
            raise Forbidden("no community to show")
        return community_id, communities

    def _page(self, name: str, request: ConsoleRequest, member: StaffMember, community_id: str,
              communities: list[str], status: int = 200, **context: Any) -> WebResponse:  # fmt: skip
        context = {"company_name": self._company, "community_id": community_id, "communities": communities,
                   "tz": self._tz, "page": name, "pages": manager_pages(member, community_id), **context}  # fmt: skip
        return render(f"console_{name}.html.j2", request.language, context, status)

    def _csrf_ok(self, request: ConsoleRequest, member: StaffMember) -> bool:
        try:
            check_csrf(self._secret(), self._csrf_subject(member), request.http.form.get(CSRF_FIELD), request.now)
        except CsrfRefused:
            return False
        return True

    # ------------------------------------------------------------------ today and the reports
    def today(self, request: ConsoleRequest) -> WebResponse:
        def page(member: StaffMember) -> WebResponse:
            community_id, communities = self._community(request, member)
            day = self._day(request)
            if day is None:
                return bad_request()
            figures = self._managers().today(member, community_id, day)
            return self._page("today", request, member, community_id, communities, today=figures)

        return self._guarded(request, page)

    def reports(self, request: ConsoleRequest, community_id: str) -> WebResponse:
        """A day's report files of a community ("company": the company's own set) with fresh download links."""

        def page(member: StaffMember) -> WebResponse:
            day = self._day(request)
            if day is None:
                return bad_request()
            scope = None if community_id == "company" else community_id
            links = self._managers().report_links(member, scope, day, request.now)
            return self._page("reports", request, member, community_id, communities_of(member), links=links, day=day)

        return self._guarded(request, page)

    # ------------------------------------------------------------------ today's plan (the dry run)
    def plan(self, request: ConsoleRequest) -> WebResponse:
        def page(member: StaffMember) -> WebResponse:
            community_id, communities = self._community(request, member)
            day = self._day(request)
            if day is None:
                return bad_request()
            lines = self._oversight().plan_preview(member, community_id, day)
            return self._page("plan", request, member, community_id, communities, lines=lines, day=day)

        return self._guarded(request, page)

    # ------------------------------------------------------------------ legal reviews
    def legal_reviews(self, request: ConsoleRequest, notice: str = "", status: int = 200) -> WebResponse:
        def page(member: StaffMember) -> WebResponse:
            community_id, communities = self._community(request, member)
            tasks = self._oversight().legal_reviews(member, community_id)
            csrf = csrf_token(self._secret(), self._csrf_subject(member), request.now)
            can_act = legal_review_policy(member, community_id, "act").allowed  # finance reads, without the forms
            return self._page("legal", request, member, community_id, communities, status, tasks=tasks, csrf=csrf,
                              notice=notice, can_act=can_act)  # fmt: skip

        return self._guarded(request, page)

    def decide(self, request: ConsoleRequest, task_id: str) -> WebResponse:
        texts = CONSOLE_TEXTS[request.language]

        def act(member: StaffMember) -> WebResponse:
            if not self._csrf_ok(request, member):
                return forbidden()
            desk, form = self._oversight(), request.http.form
            if desk.legal_review(member, task_id) is None:
                return not_found()
            choice = form.get("decision", "")
            if choice not in DECISIONS:
                return bad_request()
            note = form.get("note", "").strip()[:MAX_NOTE_CHARS]
            try:
                done = desk.decide(member, task_id, choice, note, request.now)
            except TaskError:
                return self.legal_reviews(request, texts["task_closed"], 409)
            return self.legal_reviews(request, f"{texts['recorded']}: {done.unit_label} · {texts['legal_' + choice]}")

        return self._guarded(request, act)

    # ------------------------------------------------------------------ unconfirmed claims
    def claims(self, request: ConsoleRequest, notice: str = "", status: int = 200) -> WebResponse:
        def page(member: StaffMember) -> WebResponse:
            community_id, communities = self._community(request, member)
            lines = self._oversight().unconfirmed_claims(member, community_id, request.now)
            csrf = csrf_token(self._secret(), self._csrf_subject(member), request.now)
            can_act = payments_policy(member, community_id, "act").allowed  # the manager reads, without the forms
            return self._page("claims", request, member, community_id, communities, status, lines=lines, csrf=csrf,
                              notice=notice, can_act=can_act)  # fmt: skip

        return self._guarded(request, page)

    def settle(self, request: ConsoleRequest, unit_id: str) -> WebResponse:
        texts = CONSOLE_TEXTS[request.language]

        def act(member: StaffMember) -> WebResponse:
            if not self._csrf_ok(request, member):
                return forbidden()
            form = request.http.form
            outcome = form.get("outcome", "")
            if outcome not in ("sent", "not_sent"):
                return bad_request()
            note = form.get("note", "").strip()[:MAX_NOTE_CHARS]
            message_id = form.get("message_id", "").strip()
            try:
                settled = self._oversight().settle(member, unit_id, form.get("claim", ""), outcome == "sent",
                                                   message_id, note, request.now)  # fmt: skip
            except ValueError:
                return self.claims(request, texts["needs_message_id"], 400)
            if settled is None:
                return not_found()
            if not settled:
                return self.claims(request, texts["claim_settled_already"], 409)
            return self.claims(request, f"{texts['recorded']}: {unit_id} · {texts['claim_' + outcome]}")

        return self._guarded(request, act)

    # ------------------------------------------------------------------ opt-outs
    def opt_outs(self, request: ConsoleRequest) -> WebResponse:
        def page(member: StaffMember) -> WebResponse:
            community_id, communities = self._community(request, member)
            lines = self._oversight().opt_outs(member, community_id)
            return self._page("opt_outs", request, member, community_id, communities, lines=lines)

        return self._guarded(request, page)

"""The daily summary meeting's pages: the collectors' standing against the phase's targets and the day's difficult
cases, a mixin of ConsoleHttp (console.http), guarded as the others are (403 outside the manager's community)."""

from __future__ import annotations

from datetime import date, timedelta

from propfee.console.managers import communities_of
from propfee.console.meeting import MeetingDesk
from propfee.console.pages import ConsoleRequest, GuardedPages, parse_date, plain, render
from propfee.console.permissions import Forbidden, StaffMember, manager_pages
from propfee.web.pages import WebResponse


class MeetingPages(GuardedPages):
    meeting: MeetingDesk | None

    def _meeting(self) -> MeetingDesk:
        if self.meeting is None:
            raise Forbidden("the meeting's pages are not configured")
        return self.meeting

    def _community_and_day(self, request: ConsoleRequest, member: StaffMember) -> tuple[str, date | None]:
        communities = communities_of(member)
        community_id = request.http.query.get("community") or (communities[0] if communities else "")
        if not community_id:
            raise Forbidden("no community to show")
        text = request.http.query.get("date", "")
        return community_id, parse_date(text) if text else request.now.astimezone(self._tz).date()

    def standing(self, request: ConsoleRequest) -> WebResponse:
        """GET /console/standing[?community=C01&date=…]: the latest report's phase targets, each collector's."""

        def page(member: StaffMember) -> WebResponse:
            community_id, day = self._community_and_day(request, member)
            if day is None:
                return plain(400, "Bad Request\n")
            # the report of a day is made the next night: today's standing is yesterday's report
            figures = self._meeting().standing(member, community_id, day - timedelta(days=1))
            context = {"company_name": self._company, "standing": figures, "communities": communities_of(member),
                       "community_id": community_id, "page": "standing",
                       "pages": manager_pages(member, community_id)}  # fmt: skip
            return render("console_standing.html.j2", request.language, context)

        return self._guarded(request, page)

    def cases(self, request: ConsoleRequest) -> WebResponse:
        """GET /console/cases[?community=C01]: the day's difficult cases, each linking to its unit's page."""

        def page(member: StaffMember) -> WebResponse:
            community_id, day = self._community_and_day(request, member)
            if day is None:
                return plain(400, "Bad Request\n")
            found = self._meeting().cases(member, community_id, day, request.now)
            context = {"company_name": self._company, "cases": found, "community_id": community_id, "day": day,
                       "communities": communities_of(member), "tz": self._tz, "page": "cases",
                       "pages": manager_pages(member, community_id)}  # fmt: skip
            return render("console_cases.html.j2", request.language, context)

        return self._guarded(request, page)

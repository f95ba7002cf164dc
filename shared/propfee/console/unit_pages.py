"""The unit's page and its evidence pack's download: a mixin of ConsoleHttp (console.http), each route guarded as
the others are (401 without a token, 403 outside the reader's scope, 404 for no such unit)."""

from __future__ import annotations

from propfee.console.pages import ConsoleRequest, GuardedPages, forbidden, not_found, render
from propfee.console.permissions import Forbidden, StaffMember
from propfee.console.units import UnitDesk
from propfee.web.pages import WebResponse
from propfee.web.security import CSRF_FIELD, CsrfRefused, check_csrf, csrf_token


class UnitPages(GuardedPages):
    units: UnitDesk | None

    def _units(self) -> UnitDesk:
        if self.units is None:
            raise Forbidden("the unit pages are not configured")
        return self.units

    def unit(self, request: ConsoleRequest, unit_id: str, notice: str = "") -> WebResponse:
        """GET /console/units/<unit_id>: everything about the unit, each with its time."""

        def page(member: StaffMember) -> WebResponse:
            view = self._units().view(member, unit_id)
            if view is None:
                return not_found()
            context = {
                "company_name": self._company,
                "view": view,
                "csrf": csrf_token(self._secret(), self._csrf_subject(member), request.now),
                "notice": notice,
                "tz": self._tz,
                "back": request.http.query.get("from", ""),
            }
            return render("console_unit.html.j2", request.language, context)

        return self._guarded(request, page)

    def evidence(self, request: ConsoleRequest, unit_id: str) -> WebResponse:
        """POST /console/units/<unit_id>/evidence: the pack made, kept in the reports bucket and lent out by a
        presigned link the browser follows itself (a plain link would carry no bearer token)."""

        def made(member: StaffMember) -> WebResponse:
            try:
                check_csrf(self._secret(), self._csrf_subject(member), request.http.form.get(CSRF_FIELD), request.now)
            except CsrfRefused:
                return forbidden()
            link = self._units().evidence_link(member, unit_id, request.now)
            if link is None:
                return not_found()
            name, url = link
            context = {"company_name": self._company, "unit_id": unit_id, "name": name, "url": url}
            return render("console_evidence.html.j2", request.language, context)

        return self._guarded(request, made)

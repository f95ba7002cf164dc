"""Signing in, a mixin of ConsoleHttp (console.http): the public routes that talk to the user pool.

- `POST /console/sign-in`: the email and password (USER_PASSWORD_AUTH). A first sign-in with the temporary
  password the admin's invitation gave is answered with NEW_PASSWORD_REQUIRED: the page asks for the person's own
  password and sends it with the pool's session (`POST /console/sign-in/new-password`, RespondToAuthChallenge).
- Tokens: the ID token goes to the page script (sessionStorage, an hour); the refresh token (a working day,
  `RefreshTokenValidity: 12` hours) into a cookie no script reads (HttpOnly, Secure, SameSite=Strict) sent only to
  `/console/session/...`. Before the hour is up, or on a 401, console.js asks `POST /console/session/refresh`
  (REFRESH_TOKEN_AUTH) for the next ID token. Signing out (`POST /console/session/sign-out`, the bar's form) revokes
  the refresh token with the pool (RevokeToken) before the cookie is cleared: a copy of it is refused too.
  No token, session or password is ever logged (the handler logs the route, the opaque sub and the status; a
  payload's `cookies` never)."""

from __future__ import annotations

import json
from hashlib import sha256

from propfee.console.pages import CONSOLE_HEADERS, ConsoleRequest, plain, render
from propfee.console.sign_in import NEW_PASSWORD_REQUIRED, SignInResult, StaffSignIn
from propfee.console.texts import CONSOLE_TEXTS
from propfee.web.limits import RateLimiter
from propfee.web.pages import WebResponse

REFRESH_COOKIE = "__Secure-propfee-refresh"
REFRESH_PATH = "/console/session"
REFRESH_SECONDS = 12 * 3600  # the app client's RefreshTokenValidity
REFRESH_HEADER = "x-propfee-refresh"  # a form of another site cannot send a header: the refresh answers only script
MIN_PASSWORD, MAX_PASSWORD = 12, 256  # the pool's PasswordPolicy.MinimumLength; Cognito's own maximum
CLEAR_REFRESH = ((REFRESH_COOKIE, "", REFRESH_PATH, 0),)


class SessionPages:
    _sign_in: StaffSignIn
    _limiter: RateLimiter
    _company: str

    def sign_in_page(self, request: ConsoleRequest, notice: str = "", status: int = 200) -> WebResponse:
        """The form; opening it (signing out, or a session that could not be refreshed) forgets the refresh token."""
        context = {"company_name": self._company, "notice": notice, "email": request.http.form.get("email", "")}
        page = render("console_sign_in.html.j2", request.language, context, status)
        return WebResponse(page.status, page.body, page.content_type, page.headers, cookies=CLEAR_REFRESH)

    def _allowed(self, request: ConsoleRequest, email: str) -> bool:
        return self._limiter.allow(f"sign-in:{email}", request.http.source_ip, request.now)

    def sign_in(self, request: ConsoleRequest) -> WebResponse:
        texts = CONSOLE_TEXTS[request.language]
        email = request.http.form.get("email", "").strip().lower()
        password = request.http.form.get("password", "")
        if not self._allowed(request, email):
            return self.sign_in_page(request, texts["sign_in_busy"], 429)
        if not email or not password or len(email) > 254 or len(password) > MAX_PASSWORD:
            return self.sign_in_page(request, texts["sign_in_refused"], 401)
        result = self._sign_in.sign_in(email, password)
        if result.challenge == NEW_PASSWORD_REQUIRED and result.session:
            return self._new_password_page(request, email, result.session)
        if result.challenge:
            return self.sign_in_page(request, texts["challenge"], 401)
        if not result.signed_in:
            return self.sign_in_page(request, texts["sign_in_refused"], 401)
        return self._session(request, result)

    def _new_password_page(self, request: ConsoleRequest, email: str, session: str, notice: str = "",
                           status: int = 200) -> WebResponse:  # fmt: skip
        context = {"company_name": self._company, "email": email, "session": session, "notice": notice,
                   "min_password": MIN_PASSWORD}  # fmt: skip
        return render("console_new_password.html.j2", request.language, context, status)

    def new_password(self, request: ConsoleRequest) -> WebResponse:
        """The first sign-in's own password, twice, with the pool's session of the challenge."""
        texts = CONSOLE_TEXTS[request.language]
        form = request.http.form
        email, session = form.get("email", "").strip().lower(), form.get("session", "")
        password = form.get("new_password", "")
        if not self._allowed(request, email):
            return self.sign_in_page(request, texts["sign_in_busy"], 429)
        if not email or len(email) > 254 or not session or len(session) > 4096:
            return self.sign_in_page(request, texts["sign_in_refused"], 401)
        if password != form.get("confirm_password", ""):
            return self._new_password_page(request, email, session, texts["passwords_differ"], 400)
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            return self._new_password_page(request, email, session, texts["password_weak"], 400)
        result = self._sign_in.new_password(email, session, password)
        if result.weak_password:
            return self._new_password_page(request, email, session, texts["password_weak"], 400)
        if not result.signed_in:
            return self.sign_in_page(request, texts["challenge_expired"], 401)
        return self._session(request, result)

    def _session(self, request: ConsoleRequest, result: SignInResult) -> WebResponse:
        # the ID token (it names the groups and the email the pages need): console.js keeps it for the tab
        context = {"company_name": self._company, "token": result.id_token, "expires_in": result.expires_in}
        page = render("console_session.html.j2", request.language, context)
        kept = (REFRESH_COOKIE, result.refresh_token, REFRESH_PATH, REFRESH_SECONDS)
        cookies = (kept,) if result.refresh_token else ()
        return WebResponse(page.status, page.body, page.content_type, page.headers, cookies=cookies)

    def sign_out(self, request: ConsoleRequest) -> WebResponse:
        """The bar's sign-out form: the refresh token revoked (the pool refuses it from now on, wherever a copy is),
        the cookie cleared, then the sign-in page (303, so a reload does not post again). Another site's form
        carries no cookie (SameSite=Strict): it has nothing to revoke."""
        token = request.cookies.get(REFRESH_COOKIE, "")
        if 0 < len(token) <= 4096 and self._limiter.allow(
            f"sign-out:{sha256(token.encode()).hexdigest()[:32]}", request.http.source_ip, request.now
        ):
            self._sign_in.sign_out(token)
        headers = {**CONSOLE_HEADERS, "Location": f"/console/sign-in?lang={request.language}"}
        return WebResponse(303, "", "text/plain; charset=utf-8", headers, cookies=CLEAR_REFRESH)

    def refresh(self, request: ConsoleRequest) -> WebResponse:
        """POST /console/session/refresh from console.js: the next ID token as JSON, or 401 (sign in again)."""
        if request.http.headers.get(REFRESH_HEADER) != "1":
            return plain(400, "Bad Request\n")
        token = request.cookies.get(REFRESH_COOKIE, "")
        # counted per token (its digest: the limiter's keys are stored) and per address
        if not self._limiter.allow(f"refresh:{sha256(token.encode()).hexdigest()[:32]}", request.http.source_ip,
                                   request.now):  # fmt: skip
            return plain(429, "Too Many Requests\n")
        result = self._sign_in.refresh(token) if 0 < len(token) <= 4096 else None
        if result is None or not result.signed_in:
            answer = plain(401, "Unauthorized\n")
            return WebResponse(401, answer.body, answer.content_type, answer.headers, cookies=CLEAR_REFRESH)
        body = json.dumps({"token": result.id_token, "expires_in": result.expires_in})
        return WebResponse(200, body, "application/json", CONSOLE_HEADERS)

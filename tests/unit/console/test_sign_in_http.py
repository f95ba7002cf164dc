"""Signing in beyond the password: a first sign-in's NEW_PASSWORD_REQUIRED answered with the person's own password
(RespondToAuthChallenge), the refresh token kept in an HttpOnly, Secure, SameSite=Strict cookie sent only to the
refresh route, the next ID token from it (REFRESH_TOKEN_AUTH), and no token, session or password in a log line."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from propfee.console.masking import loggable_request
from propfee.console.session_pages import REFRESH_COOKIE
from tests.support.console import PASSWORD, FakeSignIn, console, event, request_of

TEMPORARY = "Temp-Password-1!"
OWN = "My-Own-Password-42!"


@pytest.fixture()
def signer():
    signer = FakeSignIn()
    signer.users["new@example.com"] = TEMPORARY
    signer.challenged.add("new@example.com")
    return signer


def post(http, route, path, fields, **headers):
    made = event("POST", path, form=urlencode(fields))
    made["headers"].update(headers)
    return getattr(http, route)(request_of(made))


def refresh(http, cookie=None, header="1"):
    made = event("POST", "/console/session/refresh")
    if header:
        made["headers"]["x-propfee-refresh"] = header
    if cookie is not None:
        made["cookies"] = ["lang=zh-CN", f"{REFRESH_COOKIE}={cookie}"]
    return http.refresh(request_of(made))


def test_a_first_sign_in_chooses_its_own_password_and_is_signed_in(signer):
    http = console(sign_in=signer)
    first = post(http, "sign_in", "/console/sign-in", {"email": "new@example.com", "password": TEMPORARY})
    html = str(first.body)
    assert first.status == 200 and 'name="session" value="session-of-new@example.com"' in html
    assert 'autocomplete="new-password"' in html and "data-token" not in html
    form = {"email": "new@example.com", "session": "session-of-new@example.com"}
    differ = post(http, "new_password", "/console/sign-in/new-password",
                  {**form, "new_password": OWN, "confirm_password": OWN + "x"})  # fmt: skip
    assert differ.status == 400 and "两次输入的密码不一致" in str(differ.body)
    short = post(http, "new_password", "/console/sign-in/new-password",
                 {**form, "new_password": "Short-1!", "confirm_password": "Short-1!"})  # fmt: skip
    assert short.status == 400 and "密码不符合要求" in str(short.body)
    weak = "all-lower-case-password-1"  # long enough, refused by the pool's policy
    refused = post(http, "new_password", "/console/sign-in/new-password",
                   {**form, "new_password": weak, "confirm_password": weak})  # fmt: skip
    assert refused.status == 400 and "密码不符合要求" in str(refused.body) and "session-of-new" in str(refused.body)
    http = console(sign_in=signer)  # a new minute's attempts (five a minute per email)
    done = post(http, "new_password", "/console/sign-in/new-password",
                {**form, "new_password": OWN, "confirm_password": OWN})  # fmt: skip
    assert done.status == 200 and 'data-token="id-token-of-new@example.com"' in str(done.body)
    assert done.cookies == ((REFRESH_COOKIE, "refresh-token-of-new@example.com", "/console/session", 43200),)
    assert signer.users["new@example.com"] == OWN
    # the session answered: it does not sign in again
    again = post(http, "new_password", "/console/sign-in/new-password",
                 {**form, "new_password": OWN, "confirm_password": OWN})  # fmt: skip
    assert again.status == 401 and "请用临时密码重新登录" in str(again.body)
    assert post(http, "sign_in", "/console/sign-in", {"email": "new@example.com", "password": OWN}).status == 200


def test_the_new_password_form_is_rate_limited_like_the_sign_in(signer):
    http = console(sign_in=signer)
    form = {"email": "new@example.com", "session": "forged", "new_password": OWN, "confirm_password": OWN}
    statuses = [post(http, "new_password", "/console/sign-in/new-password", form).status for _ in range(7)]
    assert statuses == [401] * 5 + [429, 429]


def test_a_refresh_gives_the_next_id_token_from_the_cookie_and_only_to_the_script():
    signer = FakeSignIn()
    http = console(sign_in=signer)
    signed = post(http, "sign_in", "/console/sign-in", {"email": "k1@example.com", "password": PASSWORD})
    [(name, value, path, age)] = signed.cookies
    assert (name, path, age) == (REFRESH_COOKIE, "/console/session", 43200)
    answer = refresh(http, value)
    assert answer.status == 200 and answer.content_type == "application/json"
    assert json.loads(answer.body) == {"token": "id-token-of-k1@example.com-refreshed", "expires_in": 3600}
    assert answer.headers["Cache-Control"] == "no-store"
    assert refresh(http, value, header="").status == 400  # a form of another site cannot set the header
    assert refresh(http, None).status == 401
    stale = refresh(http, "refresh-token-of-gone@example.com")
    assert stale.status == 401 and stale.cookies == ((REFRESH_COOKIE, "", "/console/session", 0),)  # forgotten


def sign_out(http, cookie=None):
    made = event("POST", "/console/session/sign-out", query={"lang": "en"})
    if cookie is not None:
        made["cookies"] = ["lang=zh-CN", f"{REFRESH_COOKIE}={cookie}"]
    return http.sign_out(request_of(made))


def test_signing_out_revokes_the_refresh_token_so_a_later_refresh_sends_to_sign_in(signer):
    http = console(sign_in=signer)
    signed = post(http, "sign_in", "/console/sign-in", {"email": "k1@example.com", "password": PASSWORD})
    [(_, value, _, _)] = signed.cookies
    assert refresh(http, value).status == 200  # the session works until the sign-out
    out = sign_out(http, value)
    assert out.status == 303 and out.headers["Location"] == "/console/sign-in?lang=en"
    assert out.cookies == ((REFRESH_COOKIE, "", "/console/session", 0),)
    assert signer.revoked == {value}  # the pool was told, not only the browser
    again = refresh(http, value)  # a copy of the cookie kept from before the sign-out
    assert again.status == 401 and again.cookies == ((REFRESH_COOKIE, "", "/console/session", 0),)
    assert sign_out(http).status == 303  # no cookie: nothing to revoke, still the sign-in page


def test_the_sign_in_page_forgets_the_refresh_token():
    page = console().sign_in_page(request_of(event("GET", "/console/sign-in")))
    assert page.cookies == ((REFRESH_COOKIE, "", "/console/session", 0),)


def test_the_console_handler_sets_the_cookie_secure_httponly_strict_and_logs_no_token_or_session():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("console_app", Path("functions/console/app.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    from propfee.web.pages import WebResponse

    made = WebResponse(200, "<p>", cookies=((REFRESH_COOKIE, "secret-refresh", "/console/session", 43200),))
    raw = event("POST", "/console/session/refresh")
    raw["cookies"] = [f"{REFRESH_COOKIE}=secret-refresh"]
    raw["body"] = urlencode({"session": "secret-session", "new_password": OWN})
    module.app.current_event = APIGatewayProxyEventV2(raw)
    response = module._answer(made)
    [cookie] = response.cookies
    attributes = "Path=/console/session; Max-Age=43200; HttpOnly; Secure; SameSite=Strict"
    assert str(cookie) == f"{REFRESH_COOKIE}=secret-refresh; {attributes}"
    logged = json.dumps(loggable_request(raw))
    assert "secret-refresh" not in logged and "secret-session" not in logged and OWN not in logged

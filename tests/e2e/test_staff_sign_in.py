"""In the sandbox as `propfee sandbox up` runs it: a seeded collector signs in against the stack's user pool, the
token passes the sandbox's JWT authorizer and names their tasks' scope; an hour later on the simulated clock it
does not."""

from datetime import timedelta

from propfee.aws.dynamo import PropfeeTable
from propfee.console.auth import principal_from_event, staff_member
from propfee.console.permissions import Role, task_policy
from propfee.domain.models import Channel, Task
from propfee.local.sandbox.jwt_authorizer import UNAUTHORIZED, JwtAuthorizer
from propfee.local.sandbox.staff import seed_staff
from tests.support import SHANGHAI


def test_a_seeded_collector_signs_in_and_their_token_expires_on_the_simulated_clock(sandbox):
    table = PropfeeTable(sandbox.resources["PropfeeTable"], SHANGHAI)
    seeded = {s.role: s for s in seed_staff(sandbox, table, ["C01", "C02"], "C01-K1")}
    collector = seeded[Role.COLLECTOR]
    tokens = sandbox.client("cognito-idp").initiate_auth(
        ClientId=sandbox.outputs["StaffUserPoolClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": collector.email, "PASSWORD": collector.password},
    )["AuthenticationResult"]
    assert tokens["ExpiresIn"] == 3600  # the template's 60 minutes (moto issues an hour whatever the client says)
    request = {"version": "2.0", "headers": {"Authorization": f"Bearer {tokens['IdToken']}"}, "requestContext": {}}
    authorizer = JwtAuthorizer.for_sandbox(sandbox)

    event = authorizer.authorize(request)
    member = staff_member(principal := principal_from_event(event), table.staff(principal.sub))
    own = Task(
        task_id="C01-B01-0101.call.1", unit_id="C01-B01-0101", community_id="C01", kind=Channel.CALL, step="call",
        collector_id="C01-K1", created_at=sandbox.clock.now(), due_by=sandbox.clock.now() + timedelta(days=2),
        unit_label="1-0101", balance_fen=21044,
    )  # fmt: skip
    assert task_policy(member, own, "act").allowed
    assert not task_policy(member, own.model_copy(update={"collector_id": "C01-K2"}), "view").allowed

    sandbox.clock.set(sandbox.clock.now() + timedelta(hours=1))
    assert authorizer.authorize(request) == UNAUTHORIZED


def _invited(sandbox, email: str, temporary: str) -> None:
    """As `propfee staff add` without --set-password: a temporary password, to be changed at the first sign-in (the
    invitation's email is suppressed: no mail leaves the sandbox)."""
    sandbox.client("cognito-idp").admin_create_user(
        UserPoolId=sandbox.outputs["StaffUserPoolId"], Username=email, TemporaryPassword=temporary,
        MessageAction="SUPPRESS", UserAttributes=[{"Name": "email", "Value": email}],
    )  # fmt: skip


def test_a_first_sign_in_sets_its_own_password_and_a_refresh_outlives_the_id_tokens_hour(sandbox):
    from propfee.aws.cognito import CognitoSignIn
    from propfee.console.sign_in import NEW_PASSWORD_REQUIRED

    email, temporary, own = "new-collector@propfee-sandbox.internal", "Temp-Passw0rd-1!", "Own-Passw0rd-42!x"
    _invited(sandbox, email, temporary)
    pool = CognitoSignIn(sandbox.outputs["StaffUserPoolClientId"], sandbox.client("cognito-idp"))
    first = pool.sign_in(email, temporary)
    assert first.challenge == NEW_PASSWORD_REQUIRED and first.session and not first.signed_in
    assert "Temp" not in repr(first) and first.session not in repr(first)
    signed = pool.new_password(email, first.session, own)
    assert signed.signed_in and signed.refresh_token and signed.expires_in == 3600
    assert not pool.sign_in(email, temporary).signed_in
    assert pool.sign_in(email, own).signed_in  # the person's own password from now on

    authorizer = JwtAuthorizer.for_sandbox(sandbox)
    sandbox.clock.set(sandbox.clock.now() + timedelta(minutes=61))  # past the ID token's hour
    stale = {"version": "2.0", "headers": {"Authorization": f"Bearer {signed.id_token}"}, "requestContext": {}}
    assert authorizer.authorize(stale) == UNAUTHORIZED
    refreshed = pool.refresh(signed.refresh_token)
    assert refreshed.signed_in and refreshed.id_token != signed.id_token
    fresh = {"version": "2.0", "headers": {"Authorization": f"Bearer {refreshed.id_token}"}, "requestContext": {}}
    assert principal_from_event(authorizer.authorize(fresh)).email == email
    assert not pool.refresh("not-a-refresh-token").signed_in


def test_signing_out_revokes_the_refresh_token_and_a_refresh_with_it_sends_to_sign_in(sandbox):
    """Through the stack's HTTP API and the console function: sign in, sign out, then the old refresh cookie (a copy
    kept from before) is refused by the pool, as Cognito's RevokeToken makes it (moto lacks it: sandbox.cognito)."""
    from urllib.parse import urlencode

    from propfee.console.session_pages import REFRESH_COOKIE

    table = PropfeeTable(sandbox.resources["PropfeeTable"], SHANGHAI)
    collector = {s.role: s for s in seed_staff(sandbox, table, ["C01"], "C01-K1")}[Role.COLLECTOR]
    form = {"content-type": "application/x-www-form-urlencoded"}
    fields = urlencode({"email": collector.email, "password": collector.password}).encode()
    status, _, cookies, _ = sandbox.http_api.answer("POST", "/console/sign-in", form, fields, "203.0.113.9")
    [kept] = [c for c in cookies if c.startswith(f"{REFRESH_COOKIE}=")]
    cookie = {"cookie": kept.split(";")[0], "x-propfee-refresh": "1"}
    assert status == 200
    assert sandbox.http_api.answer("POST", "/console/session/refresh", cookie, b"", "203.0.113.9")[0] == 200

    status, headers, cleared, _ = sandbox.http_api.answer("POST", "/console/session/sign-out?lang=zh-CN", cookie,
                                                          b"", "203.0.113.9")  # fmt: skip
    assert status == 303 and headers["location"] == "/console/sign-in?lang=zh-CN"
    assert any(c.startswith(f"{REFRESH_COOKIE}=;") and "Max-Age=0" in c for c in cleared)
    status, _, cleared, _ = sandbox.http_api.answer("POST", "/console/session/refresh", cookie, b"", "203.0.113.9")
    assert status == 401 and any("Max-Age=0" in c for c in cleared)  # console.js: sign in again
    calls = {k for k in sandbox.function_calls if k[0] == "ConsoleFunction"}
    assert ("ConsoleFunction", "cognito-idp:RevokeToken") in calls

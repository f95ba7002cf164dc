"""Staff sign-in against moto's Cognito, as the sandbox provisions it from infra/template.yaml: a real token is
accepted by the sandbox's JWT authorizer and becomes the console's principal; an expired (simulated clock), foreign
(another client, another pool) or tampered token gets API Gateway's 401. And `propfee staff add|assign|list`."""

from __future__ import annotations

import base64
import json
import types
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto.server import ThreadedMotoServer

from propfee import cli
from propfee.aws.dynamo import PropfeeTable
from propfee.console.auth import principal_from_event, staff_member
from propfee.console.permissions import Role
from propfee.domain import clock
from propfee.local.sandbox import cognito, default_template_path, stack
from propfee.local.sandbox.jwt_authorizer import UNAUTHORIZED, JwtAuthorizer
from propfee.local.sandbox.staff import seed_staff
from propfee.local.sandbox.template import load_template
from tests.support import SHANGHAI, create_table_from_template

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world():
    """A moto server with the template's staff pool, client and groups, created as the sandbox creates them
    (stack.complete), the table, and one seeded user per role: made once for the module (a pool costs a second)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    previous = clock.install(clock.SimulatedClock(START))
    cognito.date_tokens_by_simulated_clock()
    cognito.refuse_auth_flows_the_client_does_not_allow()
    cognito.revoke_refresh_tokens()
    clients: dict[str, object] = {}

    def client(service: str):
        return clients.setdefault(service, boto3.client(service, endpoint_url=endpoint))

    sam = load_template(default_template_path())
    cognito_only = {
        "Parameters": sam["Parameters"],
        "Resources": {k: v for k, v in sam["Resources"].items() if v["Type"].startswith("AWS::Cognito::")},
        "Outputs": {k: v for k, v in sam["Outputs"].items() if k.startswith("StaffUserPool")},
    }
    sandbox = types.SimpleNamespace(
        client=client, resources={}, outputs={}, parameters=stack.PARAMETERS, endpoint=endpoint, clock=None
    )
    stack.complete(sandbox, cognito_only, stack.Resolver(sandbox, cognito_only))  # type: ignore[arg-type]
    create_table_from_template(client("dynamodb"))
    table = PropfeeTable("propfee-test", SHANGHAI, client("dynamodb"))
    sandbox.seeded = {s.role: s for s in seed_staff(sandbox, table, ["C01", "C02"], "C01-K1")}  # type: ignore[arg-type]
    try:
        yield sandbox
    finally:
        clock.install(previous)
        server.stop()


@pytest.fixture()
def pool(world, monkeypatch):
    """The module's pool, with a simulated clock of the test's own (moto dates its tokens by it)."""
    from propfee.aws import clients as aws_clients

    for name, value in {"AWS_ENDPOINT_URL": world.endpoint, "PROPFEE_TABLE": "propfee-test"}.items():
        monkeypatch.setenv(name, value)
    aws_clients.reset_clients()
    world.clock = clock.SimulatedClock(START)
    previous = clock.install(world.clock)
    yield world
    clock.install(previous)
    aws_clients.reset_clients()


def sign_in(pool, email: str, password: str, client_id: str | None = None) -> dict[str, str]:
    answer = pool.client("cognito-idp").initiate_auth(
        ClientId=client_id or pool.outputs["StaffUserPoolClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return answer["AuthenticationResult"]


def request(token: str, prefix: str = "Bearer ") -> dict[str, object]:
    return {"version": "2.0", "routeKey": "GET /", "headers": {"authorization": prefix + token}, "requestContext": {}}


@pytest.fixture()
def seeded(pool):
    return pool.seeded


def test_the_template_pool_is_as_declared(pool):
    idp = pool.client("cognito-idp")
    described = idp.describe_user_pool(UserPoolId=pool.outputs["StaffUserPoolId"])["UserPool"]
    assert described["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert described["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert idp.get_user_pool_mfa_config(UserPoolId=described["Id"])["MfaConfiguration"] == "OPTIONAL"
    groups = {g["GroupName"] for g in idp.list_groups(UserPoolId=described["Id"])["Groups"]}
    assert groups == {r.value for r in Role}
    app = idp.describe_user_pool_client(UserPoolId=described["Id"], ClientId=pool.outputs["StaffUserPoolClientId"])
    assert "ClientSecret" not in app["UserPoolClient"]


@pytest.mark.parametrize("token_kind", ["IdToken", "AccessToken"])
def test_a_seeded_users_token_is_accepted_and_becomes_their_principal(pool, seeded, token_kind):
    collector = seeded[Role.COLLECTOR]
    tokens = sign_in(pool, collector.email, collector.password)
    event = JwtAuthorizer.for_sandbox(pool).authorize(request(tokens[token_kind]))
    assert "statusCode" not in event
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert all(isinstance(v, str) for v in claims.values())  # as API Gateway passes them
    assert claims["cognito:groups"] == "[collector]"
    principal = principal_from_event(event)
    assert principal.sub == collector.record.sub and principal.roles == {Role.COLLECTOR}
    member = staff_member(
        principal, PropfeeTable("propfee-test", SHANGHAI, pool.client("dynamodb")).staff(principal.sub)
    )
    assert member.collector_id == "C01-K1" and member.communities == {"C01"}


def test_a_token_is_refused_once_the_simulated_clock_passes_its_expiry(pool, seeded):
    admin = seeded[Role.COMPANY_ADMIN]
    token = sign_in(pool, admin.email, admin.password)["IdToken"]
    authorizer = JwtAuthorizer.for_sandbox(pool)
    pool.clock.set(START + timedelta(minutes=59))
    assert "statusCode" not in authorizer.authorize(request(token, prefix=""))  # no "Bearer ": accepted too
    pool.clock.set(START + timedelta(minutes=60))
    assert authorizer.authorize(request(token)) == UNAUTHORIZED


def test_a_token_issued_after_the_clock_is_refused(pool, seeded):
    admin = seeded[Role.COMPANY_ADMIN]
    token = sign_in(pool, admin.email, admin.password)["IdToken"]
    earlier = JwtAuthorizer.for_sandbox(pool)
    earlier.now = lambda: START - timedelta(minutes=5)  # a clock behind the token's iat
    assert earlier.authorize(request(token)) == UNAUTHORIZED


def test_a_token_for_another_client_is_refused(pool, seeded):
    other = pool.client("cognito-idp").create_user_pool_client(
        UserPoolId=pool.outputs["StaffUserPoolId"], ClientName="other", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    admin = seeded[Role.COMPANY_ADMIN]
    tokens = sign_in(pool, admin.email, admin.password, client_id=other)
    authorizer = JwtAuthorizer.for_sandbox(pool)
    assert authorizer.authorize(request(tokens["IdToken"])) == UNAUTHORIZED
    assert authorizer.authorize(request(tokens["AccessToken"])) == UNAUTHORIZED


def test_a_token_of_another_pool_is_refused_though_moto_signs_it_with_the_same_key(pool):
    idp = pool.client("cognito-idp")
    other_pool = idp.create_user_pool(PoolName="elsewhere", UsernameAttributes=["email"])["UserPool"]["Id"]
    other_client = idp.create_user_pool_client(
        UserPoolId=other_pool, ClientName="x", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=other_pool, Username="x@example.com", MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=other_pool, Username="x@example.com", Password="Aa1!aaaaaaaaaa", Permanent=True
    )
    token = sign_in(pool, "x@example.com", "Aa1!aaaaaaaaaa", client_id=other_client)["IdToken"]
    # the same client id as ours would not help: the issuer names the other pool
    authorizer = JwtAuthorizer.for_sandbox(pool, audience=[other_client])
    assert authorizer.authorize(request(token)) == UNAUTHORIZED


def test_a_sign_in_flow_the_client_does_not_allow_is_refused_as_cognito_refuses_it(pool, seeded):
    idp = pool.client("cognito-idp")
    srp_only = idp.create_user_pool_client(UserPoolId=pool.outputs["StaffUserPoolId"], ClientName="srp")
    admin = seeded[Role.COMPANY_ADMIN]
    with pytest.raises(idp.exceptions.InvalidParameterException, match="USER_PASSWORD_AUTH flow not enabled"):
        sign_in(pool, admin.email, admin.password, client_id=srp_only["UserPoolClient"]["ClientId"])


def test_a_tampered_token_and_no_token_are_refused(pool, seeded):
    finance = seeded[Role.FINANCE]
    token = sign_in(pool, finance.email, finance.password)["IdToken"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["cognito:groups"] = ["company_admin"]  # a finance user making themselves admin
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    authorizer = JwtAuthorizer.for_sandbox(pool)
    assert authorizer.authorize(request(f"{header}.{forged}.{signature}")) == UNAUTHORIZED
    unsigned = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
    assert authorizer.authorize(request(f"{unsigned}.{forged}.")) == UNAUTHORIZED
    assert authorizer.authorize({"headers": {}}) == UNAUTHORIZED
    assert authorizer.authorize(request("not-a-jwt")) == UNAUTHORIZED


def test_seeded_sign_ins_never_show_their_password_when_printed(seeded):
    collector = seeded[Role.COLLECTOR]
    assert collector.password not in repr(collector) and collector.password not in str(seeded)


def test_staff_add_assign_and_list(pool, capsys):
    pool_id = pool.outputs["StaffUserPoolId"]
    code = cli.main(["staff", "add", "li.na@example.com", "--name", "李娜", "--role", "department_clerk",
                     "--department", "engineering", "--pool", pool_id, "--set-password", "--json"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    added = json.loads(out[0])
    assert added["roles"] == ["department_clerk"] and added["departments"] == ["engineering"]
    password = out[1].rsplit(" ", 1)[1]
    assert password not in out[0]  # the JSON line, which a script may keep, holds no password
    tokens = sign_in(pool, "li.na@example.com", password)
    claims = JwtAuthorizer.for_sandbox(pool).authorize(request(tokens["IdToken"]))["requestContext"]["authorizer"]
    assert claims["jwt"]["claims"]["cognito:groups"] == "[department_clerk]"

    code = cli.main(["staff", "assign", "li.na@example.com", "--role", "department_clerk", "--role", "finance",
                     "--community", "C02", "--pool", pool_id, "--json"])  # fmt: skip
    assert code == 0
    capsys.readouterr()
    assert cli.main(["staff", "list", "--pool", pool_id, "--json"]) == 0
    listed_all = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(listed_all) == 7  # the six seeded users and this one
    [listed] = [row for row in listed_all if row["sub"] == added["sub"]]
    assert listed["email"] == "l***@example.com"  # masked unless --full
    assert (listed["roles"], listed["communities"], listed["departments"]) == (
        ["department_clerk", "finance"], ["C02"], ["engineering"],
    )  # fmt: skip
    table = PropfeeTable("propfee-test", SHANGHAI, pool.client("dynamodb"))
    actions = table.for_unit("COMPANY")
    assert [a.action for a in actions] == ["staff.add", "staff.assign"]
    assert actions[1].before["communities"] == [] and actions[1].after["communities"] == ["C02"]
    assert actions[1].after["roles"] == ["department_clerk", "finance"]


def test_staff_commands_without_a_pool_say_how_to_name_it(pool, capsys, monkeypatch):
    monkeypatch.delenv("PROPFEE_STAFF_USER_POOL_ID", raising=False)
    assert cli.main(["staff", "list"]) == 2
    assert "PROPFEE_STAFF_USER_POOL_ID" in capsys.readouterr().err


def test_the_console_sign_in_adapter_gets_tokens_refuses_a_wrong_password_and_reports_a_challenge(pool, seeded):
    from propfee.aws.cognito import CognitoSignIn, StaffDirectory

    idp = pool.client("cognito-idp")
    adapter = CognitoSignIn(pool.outputs["StaffUserPoolClientId"], idp)
    collector = seeded[Role.COLLECTOR]
    signed = adapter.sign_in(collector.email, collector.password)
    assert signed.signed_in and signed.expires_in == 3600 and signed.challenge == ""
    # the ID token passes the authorizer and names the person the staff record names
    principal = principal_from_event(JwtAuthorizer.for_sandbox(pool).authorize(request(signed.id_token)))
    assert principal.sub == collector.record.sub and principal.roles == {Role.COLLECTOR}
    assert signed.id_token not in repr(signed) and signed.access_token not in repr(signed)  # printed by accident
    assert not adapter.sign_in(collector.email, collector.password + "x").signed_in
    assert not adapter.sign_in("nobody@propfee-sandbox.internal", collector.password).signed_in
    # created with a temporary password (as in the cloud): Cognito asks for a new one first
    directory = StaffDirectory(pool.outputs["StaffUserPoolId"], idp)
    directory.create_user("new@propfee-sandbox.internal", "new")
    temporary = "Temp-Password-123!"
    idp.admin_set_user_password(
        UserPoolId=pool.outputs["StaffUserPoolId"], Username="new@propfee-sandbox.internal", Password=temporary,
        Permanent=False,
    )  # fmt: skip
    first = adapter.sign_in("new@propfee-sandbox.internal", temporary)
    assert not first.signed_in and first.challenge == "NEW_PASSWORD_REQUIRED"

"""Reading the signed-in person from an HTTP API event: claims arrive as strings, groups as "[a b]"."""

from __future__ import annotations

import pytest

from propfee.console.auth import Unauthenticated, parse_groups, principal_from_event, staff_member
from propfee.console.permissions import Role, StaffRecord


def event_with(claims: dict[str, str] | None) -> dict[str, object]:
    authorizer = {} if claims is None else {"jwt": {"claims": claims, "scopes": None}}
    return {"version": "2.0", "routeKey": "GET /tasks", "requestContext": {"authorizer": authorizer}}


ID_TOKEN_CLAIMS = {  # as API Gateway puts an id token's claims into the event: every value a string
    "sub": "4b1c7e0a-5f7b-4f0e-9d2a-0c3f3f0a1b2c",
    "cognito:groups": "[collector finance]",
    "cognito:username": "4b1c7e0a-5f7b-4f0e-9d2a-0c3f3f0a1b2c",
    "email": "wang.fang@example.com",
    "email_verified": "true",
    "token_use": "id",
    "auth_time": "1772412000",
    "exp": "1772415600",
    "iat": "1772412000",
    "iss": "https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_Example",
    "aud": "3n4b5urk1ft4fl3mg5e62d9ado",
}


def test_an_id_tokens_claims_become_the_principal_with_its_roles() -> None:
    principal = principal_from_event(event_with(ID_TOKEN_CLAIMS))
    assert principal.sub == ID_TOKEN_CLAIMS["sub"]
    assert principal.email == "wang.fang@example.com"
    assert principal.token_use == "id"
    assert principal.roles == {Role.COLLECTOR, Role.FINANCE}


def test_an_access_token_names_its_user_in_username_and_has_no_email() -> None:
    claims = {"sub": "s-1", "username": "s-1", "token_use": "access", "client_id": "abc", "cognito:groups": "[x]"}
    principal = principal_from_event(event_with(claims))
    assert (principal.username, principal.email, principal.groups, principal.roles) == ("s-1", "", {"x"}, set())


@pytest.mark.parametrize(
    ("value", "groups"),
    [
        ("[company_admin community_manager]", {"company_admin", "community_manager"}),
        ("[finance]", {"finance"}),
        ('["collector","finance"]', {"collector", "finance"}),
        ("[]", set()),
        ("", set()),
        (None, set()),
        (["collector"], {"collector"}),
        ("collector", {"collector"}),
    ],
)
def test_groups_are_read_in_every_shape_they_arrive_in(value: object, groups: set[str]) -> None:
    assert parse_groups(value) == groups


def test_a_group_that_is_no_console_role_grants_nothing() -> None:
    principal = principal_from_event(event_with({**ID_TOKEN_CLAIMS, "cognito:groups": "[company_admins admin]"}))
    assert principal.roles == set()


@pytest.mark.parametrize("claims", [None, {"email": "a@example.com"}, {"sub": ""}])
def test_an_event_without_a_verified_subject_is_unauthenticated(claims: dict[str, str] | None) -> None:
    with pytest.raises(Unauthenticated) as refused:
        principal_from_event(event_with(claims))
    assert refused.value.status == 401


def test_roles_come_from_the_token_and_the_scope_from_the_staff_record() -> None:
    principal = principal_from_event(event_with({**ID_TOKEN_CLAIMS, "cognito:groups": "[community_manager]"}))
    record = StaffRecord(sub=principal.sub, email=principal.email, communities=frozenset({"C01"}), collector_id="K1")
    member = staff_member(principal, record)
    assert member.roles == {Role.COMMUNITY_MANAGER}
    assert member.manages("C01") and not member.manages("C02")
    assert not staff_member(principal, None).manages("C01")


def test_log_fields_name_the_person_by_opaque_id_only() -> None:
    fields = principal_from_event(event_with(ID_TOKEN_CLAIMS)).log_fields()
    assert fields == {"staff_sub": ID_TOKEN_CLAIMS["sub"], "staff_roles": ["collector", "finance"]}
    assert "wang.fang" not in str(fields)

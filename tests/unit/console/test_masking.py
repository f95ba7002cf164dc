"""What a console page shows of an owner, by role: the full number only to the collector of the task."""

from __future__ import annotations

from propfee.console.masking import email_for, loggable_request, mask_name, name_for, phone_for
from propfee.console.permissions import Role, StaffMember
from tests.unit.console.test_permissions import PEOPLE, task

PHONE = "+8613812345678"


def test_the_collector_of_a_task_sees_the_number_to_dial() -> None:
    assert phone_for(PEOPLE["collector_k1"], PHONE, task=task("K1")) == PHONE
    assert email_for(PEOPLE["collector_k1"], "li@example.com", task=task("K1")) == "li@example.com"


def test_everyone_else_sees_the_number_masked() -> None:
    for who in ("admin", "manager_c01", "clerk_repairs", "finance_c01", "nobody"):
        assert phone_for(PEOPLE[who], PHONE, task=task("K1")) == "+86138****5678", who
    assert phone_for(PEOPLE["collector_k1"], PHONE, task=task("K2")) == "+86138****5678"
    assert phone_for(PEOPLE["collector_k1"], PHONE) == "+86138****5678"
    assert email_for(PEOPLE["manager_c01"], "li@example.com") == "l***@example.com"
    assert phone_for(PEOPLE["admin"], None) == ""


def test_a_finance_role_sees_money_not_names() -> None:
    assert name_for(PEOPLE["finance_c01"], "张三丰", "C01") == "张**"
    assert name_for(PEOPLE["manager_c01"], "张三丰", "C01") == "张三丰"
    assert name_for(PEOPLE["manager_c01"], "张三丰", "C02") == "张**"
    assert name_for(PEOPLE["collector_k1"], "张三丰", "C01") == "张三丰"
    both = StaffMember(sub="s", email="e@example.com", roles=frozenset({Role.FINANCE, Role.COMPANY_ADMIN}))
    assert name_for(both, "张三丰", "C01") == "张三丰"


def test_mask_name_keeps_only_the_first_character() -> None:
    assert (mask_name("Li Wei"), mask_name("王"), mask_name("  ")) == ("L*****", "王", "")


def test_a_logged_request_holds_no_token_cookie_email_body_or_full_number() -> None:
    event = {
        "version": "2.0",
        "routeKey": "GET /units/{unit}",
        "rawPath": "/owners/+8613812345678",
        "rawQueryString": "phone=13812345678&page=2",
        "headers": {"Authorization": "Bearer eyJraWQ.secret.sig", "Cookie": "session=abc", "Accept": "text/html"},
        "requestContext": {
            "requestId": "r-1",
            "http": {"method": "GET", "sourceIp": "203.0.113.9"},
            "authorizer": {
                "jwt": {"claims": {"sub": "s-1", "email": "wang@example.com", "cognito:groups": "[finance]"}}
            },
        },
        "body": "password=hunter2",
    }
    logged = loggable_request(event)
    text = str(logged)
    for secret in ("eyJraWQ", "session=abc", "wang@example.com", "hunter2", "13812345678", "203.0.113.9"):
        assert secret not in text, secret
    assert logged["staff"] == {"sub": "s-1", "cognito:groups": "[finance]"}
    assert logged["path"] == "/owners/+86138****5678" and logged["method"] == "GET"
    assert logged["headers"] == ["accept"]

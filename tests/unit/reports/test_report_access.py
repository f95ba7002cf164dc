"""Who reads which daily report files: a company manager every file of a day, a community's manager only that
community's own set; callers known by the IAM role (or user) that signed, whatever their session."""

from datetime import date

import pytest
from pydantic import ValidationError

from propfee.reports.access import (
    ReportAccess,
    community_report_prefix,
    principal_key,
    report_day_prefix,
    report_key,
    scope_of,
)
from propfee.reports.publishing import report_prefix
from propfee.rules import load_rules, parse_rules

DAY = date(2026, 11, 11)
C01_ROLE = "arn:aws:iam::123456789012:role/propfee-manager-C01"
C01_SESSION = "arn:aws:sts::123456789012:assumed-role/propfee-manager-C01/c01-laptop"
NORTH_ROLE = "arn:aws:iam::123456789012:role/managers/propfee-north"  # a role with a path
NORTH_SESSION = "arn:aws:sts::123456789012:assumed-role/propfee-north/tablet"
FINANCE_USER = "arn:aws:iam::123456789012:user/finance-director"
STRANGER = "arn:aws:sts::123456789012:assumed-role/propfee-manager-C09/x"
OTHER_ACCOUNT = "arn:aws:sts::210987654321:assumed-role/propfee-manager-C01/c01-laptop"

ACCESS = ReportAccess.model_validate(
    {
        "managers": [
            {"principal": C01_ROLE, "email": "c01@example.com", "communities": ["C01"]},
            {"principal": NORTH_ROLE, "email": "north@example.com", "language": "en", "communities": ["C02", "C03"]},
            {"principal": FINANCE_USER, "email": "finance@example.com", "communities": ["*"]},
        ]
    }
)


def test_a_session_of_a_role_is_that_role_path_or_not():
    assert principal_key(C01_SESSION) == principal_key(C01_ROLE) == C01_ROLE
    assert principal_key(NORTH_SESSION) == principal_key(NORTH_ROLE) == "arn:aws:iam::123456789012:role/propfee-north"
    assert principal_key(FINANCE_USER) == FINANCE_USER
    assert principal_key("arn:aws-cn:sts::123456789012:assumed-role/r/s") == "arn:aws-cn:iam::123456789012:role/r"
    for nobody in ("", "anonymous", "arn:aws:iam::123456789012:root", "arn:aws:sts::123456789012:federated-user/x"):
        assert principal_key(nobody) is None


def test_a_community_manager_reads_only_their_communitys_set():
    assert ACCESS.allowed_prefixes(C01_SESSION, DAY) == ["reports/2026-11-11/communities/C01/"]
    assert ACCESS.may_read(C01_SESSION, "reports/2026-11-11/communities/C01/report.html")
    assert ACCESS.may_read(C01_ROLE, "reports/2026-11-11/communities/C01/summary.json")
    refused = [
        "reports/2026-11-11/communities/C02/report.html",  # another community's
        "reports/2026-11-11/report.html",  # the company's
        "reports/2026-11-11/communities/C01/../C02/report.html",
        "reports/2026-11-11/communities/C01/deeper/report.html",
        "reports/2026-11-11/communities/C010/report.html",
        "letters/2026-11-11/print-batch.pdf",
        "reports/2026-13-45/communities/C01/report.html",
    ]
    for key in refused:
        assert not ACCESS.may_read(C01_SESSION, key), key


def test_a_manager_of_several_communities_reads_each_of_them():
    assert ACCESS.allowed_prefixes(NORTH_SESSION, DAY) == [
        "reports/2026-11-11/communities/C02/",
        "reports/2026-11-11/communities/C03/",
    ]
    assert ACCESS.may_read(NORTH_SESSION, "reports/2026-11-11/communities/C03/report.en.xlsx")
    assert not ACCESS.may_read(NORTH_SESSION, "reports/2026-11-11/communities/C01/report.en.xlsx")


def test_a_company_manager_reads_every_file_of_the_day():
    assert ACCESS.allowed_prefixes(FINANCE_USER, DAY) == ["reports/2026-11-11/"]
    for key in ("reports/2026-11-11/report.html", "reports/2026-11-11/communities/C02/summary.json"):
        assert ACCESS.may_read(FINANCE_USER, key)
    assert not ACCESS.may_read(FINANCE_USER, "letters/2026-11-11/print-batch.pdf")


def test_strangers_read_nothing():
    for caller in (STRANGER, OTHER_ACCOUNT, "", "arn:aws:iam::123456789012:root"):
        assert ACCESS.allowed_prefixes(caller, DAY) == []
        assert not ACCESS.may_read(caller, "reports/2026-11-11/communities/C01/report.html")


def test_keys_and_prefixes_follow_the_layout_the_report_is_written_in():
    assert report_day_prefix(DAY) == report_prefix(DAY)
    assert community_report_prefix(DAY, "C01") == "reports/2026-11-11/communities/C01/"
    assert report_key(DAY, "report.html") == "reports/2026-11-11/report.html"
    assert report_key(DAY, "report.html", "C01") == "reports/2026-11-11/communities/C01/report.html"
    assert scope_of("reports/2026-11-11/communities/C01/report.html") == "C01"
    assert scope_of("reports/2026-11-11/report.html") is None


@pytest.mark.parametrize(
    "manager",
    [
        {"principal": "propfee-manager-C01", "communities": ["C01"]},  # not an ARN
        {"principal": C01_SESSION, "communities": ["C01"]},  # a session, not the role itself
        {"principal": C01_ROLE, "communities": []},
        {"principal": C01_ROLE, "communities": ["*", "C01"]},
        {"principal": C01_ROLE, "communities": ["C01/x"]},
        {"principal": C01_ROLE, "email": "not an address", "communities": ["C01"]},
        {"principal": C01_ROLE, "communities": ["C01"], "phone": "+8613800000000"},
    ],
)
def test_a_bad_manager_entry_is_refused(manager):
    with pytest.raises(ValidationError):
        ReportAccess.model_validate({"managers": [manager]})


def test_one_role_is_listed_once():
    twice = [{"principal": C01_ROLE, "communities": ["C01"]}, {"principal": C01_ROLE, "communities": ["C02"]}]
    with pytest.raises(ValidationError, match="more than once"):
        ReportAccess.model_validate({"managers": twice})


def test_the_rules_file_carries_the_managers():
    assert load_rules().report_access.managers == ()  # the packaged file lists none
    rules = parse_rules(
        f"report_access:\n  managers:\n    - {{principal: '{C01_ROLE}', email: c01@example.com, communities: [C01]}}\n"
    )
    assert rules.report_access.may_read(C01_SESSION, "reports/2026-11-11/communities/C01/report.html")

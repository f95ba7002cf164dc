"""Report delivery through the real functions in the sandbox: after a day, each manager's email holds links that
download the right bytes over HTTP until they expire (on the simulated clock, as S3 would refuse them); the
report endpoint, called with real-shaped Function URL events, gives a community's manager that community's
files only and a company manager everything; `propfee report get` writes the files."""

import copy
import json
import re
import urllib.error
import urllib.request
from datetime import datetime, timedelta

import pytest
import yaml

from propfee.accounts.ledger import with_bill
from propfee.aws.dynamo import PropfeeTable
from propfee.cli import main
from propfee.domain.models import Community
from propfee.local.sandbox import Sandbox
from propfee.rules import load_rules
from tests.support import ROOT, SHANGHAI, at, bill, community, unit
from tests.support.sandbox import START, assert_calls_allowed

pytestmark = pytest.mark.e2e

DAY = "2026-11-11"
ACCOUNT = "123456789012"
C01_MANAGER = f"arn:aws:iam::{ACCOUNT}:role/propfee-manager-C01"
C02_MANAGER = f"arn:aws:iam::{ACCOUNT}:role/propfee-manager-C02"
COMPANY_MANAGER = f"arn:aws:iam::{ACCOUNT}:role/propfee-finance"
MANAGERS = [
    {"principal": C01_MANAGER, "email": "c01-manager@example.com", "communities": ["C01"]},
    {"principal": C02_MANAGER, "email": "c02-manager@example.com", "language": "en", "communities": ["C02"]},
    {"principal": COMPANY_MANAGER, "email": "finance@example.com", "communities": ["*"]},
]
OWNER_NAMES = ("王芳",)  # tests.support.unit's owner


def session(role_arn: str, name: str = "laptop") -> str:
    """The ARN a role's session signs with, as the Function URL's IAM authorizer reports it."""
    return role_arn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/") + f"/{name}"


def url_event(caller: str, path: str, query: dict[str, str] | None = None) -> dict:
    """events/report_links.json with another caller, path and query."""
    event = copy.deepcopy(json.loads((ROOT / "events" / "report_links.json").read_text(encoding="utf-8")))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    event["queryStringParameters"] = query
    if not query:
        del event["queryStringParameters"]
    event["requestContext"]["authorizer"]["iam"]["userArn"] = caller
    return event


def fetch(url: str) -> tuple[int, bytes]:
    # plain http to the sandbox's loopback moto server
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """Two communities in arrears, three managers, and the sandbox run until the report of 11-11 is out."""
    rules = yaml.safe_load((ROOT / "shared" / "propfee" / "rules.yaml").read_text(encoding="utf-8"))
    rules["report_access"] = {"managers": MANAGERS}
    rules_file = tmp_path_factory.mktemp("rules") / "rules.yaml"
    rules_file.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    with pytest.MonkeyPatch.context() as env, Sandbox(start=START) as sandbox:
        env.setenv("PROPFEE_RULES_FILE", str(rules_file))  # the functions' settings read it
        assert load_rules(rules_file).report_access.managers
        table = PropfeeTable(sandbox.resources["PropfeeTable"], SHANGHAI)
        table.put_community(community("C01"))
        table.put_community(Community(community_id="C02", name="锦绣家园"))
        units = [f"C01-B01-01{n:02d}" for n in range(1, 5)] + [f"C02-B01-01{n:02d}" for n in range(1, 3)]
        owing = [with_bill(unit(unit_id), bill(unit_id, "2026-10")) for unit_id in units]
        table.put_buildings_and_units([], owing)
        sandbox.advance(at("2026-11-12 00:20"))
        yield sandbox


def report_emails(sandbox: Sandbox) -> dict[str, tuple[str, str]]:
    """Manager's address -> (subject, body) of the email about the report of DAY."""
    addresses = {m["email"] for m in MANAGERS}
    found = {}
    for _, to, subject, body in sandbox.sent_email():
        if DAY in subject and set(to) <= addresses:
            [address] = to
            assert address not in found, "one email per manager and report"
            found[address] = (subject, body)
    return found


def links_in(body: str) -> dict[str, str]:
    """Key -> presigned URL of each link in an email."""
    urls = re.findall(r"https?://\S+", body)
    return {re.sub(r"^https?://[^/]+/[^/]+/", "", url.split("?", 1)[0]): url for url in urls}


def s3_bytes(sandbox: Sandbox, key: str) -> bytes:
    return sandbox.client("s3").get_object(Bucket=sandbox.resources["ReportBucket"], Key=key)["Body"].read()


def test_each_manager_is_emailed_links_that_download_their_files(reported):
    emails = report_emails(reported)
    assert set(emails) == {"c01-manager@example.com", "c02-manager@example.com", "finance@example.com"}

    c01_links = links_in(emails["c01-manager@example.com"][1])
    assert set(c01_links) == {
        f"reports/{DAY}/communities/C01/{n}" for n in ("report.html", "report.xlsx", "summary.json")
    }
    for key, url in c01_links.items():
        status, body = fetch(url)
        assert (status, body) == (200, s3_bytes(reported, key)), key
    assert b"C02" not in fetch(c01_links[f"reports/{DAY}/communities/C01/summary.json"])[1]

    assert set(links_in(emails["c02-manager@example.com"][1])) == {
        f"reports/{DAY}/communities/C02/{n}" for n in ("report.en.html", "report.en.xlsx", "summary.json")
    }
    assert set(links_in(emails["finance@example.com"][1])) == {
        f"reports/{DAY}/{n}" for n in ("report.html", "report.xlsx", "summary.json")
    }
    c01_summary = json.loads(s3_bytes(reported, f"reports/{DAY}/communities/C01/summary.json"))
    subject, body = emails["c01-manager@example.com"]
    assert subject == f"物业费日报 {DAY}"
    assert "有效期至 2026-11-13 00:15（Asia/Shanghai 时间）" in body
    assert f"短信 {c01_summary['totals']['reminders']['sent'].get('sms', 0)} 条" in body
    for _, text in emails.values():
        assert not any(name in text for name in OWNER_NAMES) and "+86138" not in text
    assert_calls_allowed(reported.function_calls)


def test_a_community_manager_lists_and_follows_only_their_communitys_files(reported):
    caller = session(C01_MANAGER)
    listing = reported.invoke("ReportLinksFunction", url_event(caller, "/reports", {"date": DAY}))
    assert listing["statusCode"] == 200
    files = json.loads(listing["body"])["files"]
    c01_set = reported.client("s3").list_objects_v2(
        Bucket=reported.resources["ReportBucket"], Prefix=f"reports/{DAY}/communities/C01/"
    )
    assert {f["key"] for f in files} == {o["Key"] for o in c01_set["Contents"]}
    assert {f["community_id"] for f in files} == {"C01"}
    expires_at = reported.clock.now() + timedelta(hours=24)  # from the request, not from the report
    assert {datetime.fromisoformat(f["expires_at"]) for f in files} == {expires_at}

    own = reported.invoke("ReportLinksFunction", url_event(caller, f"/reports/{DAY}/communities/C01/report.html"))
    assert own["statusCode"] == 302
    assert fetch(own["headers"]["Location"]) == (200, s3_bytes(reported, f"reports/{DAY}/communities/C01/report.html"))

    for foreign in (f"/reports/{DAY}/communities/C02/report.html", f"/reports/{DAY}/report.html"):
        refused = reported.invoke("ReportLinksFunction", url_event(caller, foreign))
        assert refused["statusCode"] == 403 and "Location" not in refused.get("headers", {}), foreign
    absent = reported.invoke("ReportLinksFunction", url_event(caller, f"/reports/{DAY}/communities/C01/nothing.pdf"))
    assert absent["statusCode"] == 404
    stranger = session(f"arn:aws:iam::{ACCOUNT}:role/someone-else")
    assert reported.invoke("ReportLinksFunction", url_event(stranger, "/reports", {"date": DAY}))["statusCode"] == 403
    bad_date = reported.invoke("ReportLinksFunction", url_event(caller, "/reports", {"date": "11/11/2026"}))
    assert bad_date["statusCode"] == 400


def test_a_company_manager_sees_everything(reported):
    caller = session(COMPANY_MANAGER, "finance-desk")
    listing = reported.invoke("ReportLinksFunction", url_event(caller, "/reports", {"date": DAY}))
    keys = {f["key"] for f in json.loads(listing["body"])["files"]}
    every = reported.client("s3").list_objects_v2(Bucket=reported.resources["ReportBucket"], Prefix=f"reports/{DAY}/")
    assert keys == {o["Key"] for o in every["Contents"]}
    assert {f"reports/{DAY}/report.html", f"reports/{DAY}/communities/C02/report.en.html"} <= keys
    c02 = reported.invoke("ReportLinksFunction", url_event(caller, f"/reports/{DAY}/communities/C02/summary.json"))
    assert c02["statusCode"] == 302 and fetch(c02["headers"]["Location"])[0] == 200
    assert_calls_allowed(reported.function_calls)


def test_report_get_writes_the_days_files(reported, tmp_path, capsys):
    bucket = reported.resources["ReportBucket"]
    assert (
        main(["report", "get", "--date", DAY, "--community", "C01", "--out", str(tmp_path / "c01"), "--bucket", bucket])
        == 0
    )
    printed = capsys.readouterr().out.split()
    assert {p.rsplit("/", 1)[1] for p in printed} >= {"summary.json", "report.html", "report.en.xlsx"}
    assert (tmp_path / "c01" / "report.html").read_bytes() == s3_bytes(
        reported, f"reports/{DAY}/communities/C01/report.html"
    )

    assert main(["report", "get", "--date", DAY, "--out", str(tmp_path / "company"), "--bucket", bucket]) == 0
    assert not (tmp_path / "company" / "communities").exists()
    assert json.loads((tmp_path / "company" / "summary.json").read_text())["date"] == DAY

    assert main(["report", "get", "--date", "2026-10-01", "--out", str(tmp_path / "none"), "--bucket", bucket]) == 1
    assert "no report for 2026-10-01" in capsys.readouterr().err


def test_the_notice_board_command_writes_a_notice_per_building_with_counts_and_no_one_named(reported, tmp_path, capsys):
    table = reported.resources["PropfeeTable"]
    out = tmp_path / "notices"

    assert (
        main(
            ["report", "notice-board", "--community", "C01", "--period", "2026-10", "--out", str(out), "--table", table]
        )
        == 0
    )

    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == [f"notice-board/C01-B01.{lang}.{kind}" for lang in ("en", "zh-CN") for kind in ("html", "pdf")]
    page = (out / "notice-board" / "C01-B01.zh-CN.html").read_text(encoding="utf-8")
    assert "2026" in page and "4" in page  # the building's four households billed for the period
    for private in (*OWNER_NAMES, "0101", "0102", "C01-B01-01", "+86"):
        assert private not in page
    assert (out / "notice-board" / "C01-B01.zh-CN.pdf").read_bytes().startswith(b"%PDF")
    assert main(["report", "notice-board", "--community", "C09", "--out", str(out), "--table", table]) == 1
    assert "no community C09" in capsys.readouterr().err


def test_an_emailed_link_is_refused_once_expired(reported):
    """Last in this module: it moves the simulated clock past the links' 24 hours."""
    url = links_in(report_emails(reported)["c01-manager@example.com"][1])[f"reports/{DAY}/communities/C01/report.html"]
    assert fetch(url)[0] == 200
    signed_at = reported.clock.now()
    # only the clock: no schedule needs to run for the link to age
    reported.clock.set(at("2026-11-13 00:15") + timedelta(seconds=1))
    status, body = fetch(url)
    assert status == 403 and b"Request has expired" in body
    fresh = reported.invoke(
        "ReportLinksFunction", url_event(session(C01_MANAGER), f"/reports/{DAY}/communities/C01/report.html")
    )
    assert fetch(fresh["headers"]["Location"])[0] == 200  # a new link from the endpoint works again
    assert signed_at < reported.clock.now()

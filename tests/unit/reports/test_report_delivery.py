"""The daily report's delivery with the store and the mail in memory: each community's own set holds nothing of
the others; each manager's email links only what they may read, with headline figures and no owner; one
manager's failed email spares the others; the endpoint's listing and links refuse another community's files;
`report get` takes the company's set or one community's."""

import csv
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from propfee.domain.ports import ProviderRejected
from propfee.reports.access import ReportAccess
from propfee.reports.delivery import (
    ReportAccessDenied,
    ReportNotFound,
    download_name,
    download_report,
    email_report_links,
    link_to,
    list_links,
)
from propfee.reports.publishing import community_report_files, report_files
from tests.support.builders import SHANGHAI
from tests.support.report_day import DAY, GENERATED_AT, company, debtors, entries

NOW = datetime(2025, 3, 6, 0, 15, tzinfo=SHANGHAI)  # the report of DAY is written just after midnight
DAY_PREFIX = "reports/2025-03-05/"
C01_ROLE = "arn:aws:iam::123456789012:role/propfee-manager-C01"
C02_ROLE = "arn:aws:iam::123456789012:role/propfee-manager-C02"
COMPANY_ROLE = "arn:aws:iam::123456789012:role/propfee-finance"
ACCESS = ReportAccess.model_validate(
    {
        "managers": [
            {"principal": C01_ROLE, "email": "c01@example.com", "communities": ["C01"]},
            {"principal": C02_ROLE, "email": "c02@example.com", "language": "en", "communities": ["C02"]},
            {"principal": COMPANY_ROLE, "email": "finance@example.com", "communities": ["*"]},
            {"principal": "arn:aws:iam::123456789012:role/propfee-auditor", "communities": ["*"]},  # no email
        ]
    }
)


class MemoryReports:
    """The reports bucket in memory; a presigned link names its key, expiry and download name."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.listed: list[str] = []

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = body

    def keys(self, prefix: str, recursive: bool = True) -> list[str]:
        self.listed.append(prefix)
        return sorted(k for k in self.objects if k.startswith(prefix) and (recursive or "/" not in k[len(prefix) :]))

    def get(self, key: str) -> bytes:
        return self.objects[key]

    def presigned_get(self, key: str, expires_in_seconds: int, filename: str | None = None) -> str:
        return f"https://reports.example/{key}?X-Amz-Expires={expires_in_seconds}&name={filename}"

    def download_prefix(self, prefix: str, target: Path, recursive: bool = True) -> list[Path]:
        written = []
        for key in self.keys(prefix, recursive):
            path = target / key[len(prefix) :]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.objects[key])
            written.append(path)
        return written


class Mailbox:
    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.sent: list[tuple[str, str, str, dict[str, str] | None]] = []
        self.refuse = refuse

    def send_email(self, to: str, subject: str, body: str, context: dict[str, str] | None = None) -> str:
        if to in self.refuse:
            raise ProviderRejected(f"MessageRejected: Email address is not verified: {to}")
        self.sent.append((to, subject, body, context))
        return f"msg-{len(self.sent)}"


def written_report() -> dict[str, bytes]:
    objects = {DAY_PREFIX + name: body for name, body in report_files(DAY, GENERATED_AT, entries(), company()).items()}
    for entry in entries():
        prefix = f"{DAY_PREFIX}communities/{entry.community.community_id}/"
        objects.update({prefix + n: b for n, b in community_report_files(DAY, GENERATED_AT, entry, SHANGHAI).items()})
    return objects


def _links(body: str) -> list[str]:
    return [line.split(": ", 1)[1] for line in body.splitlines() if ": https://" in line]


def _keys(body: str) -> set[str]:
    return {urlsplit(url).path.lstrip("/") for url in _links(body)}


# ---------------------------------------------------------------- each community's own set


def test_a_communitys_own_set_holds_that_community_only():
    c01 = community_report_files(DAY, GENERATED_AT, entries()[0], SHANGHAI)
    assert set(c01) == set(report_files(DAY, GENERATED_AT, entries(), company()))  # the same files
    summary = json.loads(c01["summary.json"])
    [figures] = summary["communities"]
    assert figures["community_id"] == "C01"
    assert summary["totals"]["collections"] == figures["collections"]
    assert summary["totals"]["outstanding_fen"] == figures["outstanding_fen"]
    assert summary["totals"]["dead_letters"] == {}  # the company's queues are not a community's business
    assert summary["unmatched"]["replies"] == {} and summary["unmatched"]["tickets"] == {}
    for name, body in c01.items():
        if name.endswith((".csv", ".json", ".html")):
            assert "C02" not in body.decode("utf-8"), name
    rows = list(csv.reader(io.StringIO(c01["communities.csv"].decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ["C01"]


# ---------------------------------------------------------------- the managers' email


def test_each_manager_gets_one_email_linking_only_what_they_may_read():
    store, mailbox = MemoryReports(written_report()), Mailbox()

    outcomes = email_report_links(DAY, ACCESS, store, mailbox, NOW, 86_400, SHANGHAI)

    assert [(o.to, o.sent) for o in outcomes] == [
        ("c01@example.com", True),
        ("c02@example.com", True),
        ("finance@example.com", True),
    ]
    mail = {to: (subject, body, context) for to, subject, body, context in mailbox.sent}
    c01_subject, c01_body, context = mail["c01@example.com"]
    assert c01_subject == "物业费日报 2025-03-05" and context == {"report": "2025-03-05"}
    assert _keys(c01_body) == {
        DAY_PREFIX + f"communities/C01/{n}" for n in ("report.html", "report.xlsx", "summary.json")
    }
    assert "?X-Amz-Expires=86400&name=propfee-2025-03-05-C01-report.html" in c01_body
    assert _keys(mail["c02@example.com"][1]) == {
        DAY_PREFIX + f"communities/C02/{n}" for n in ("report.en.html", "report.en.xlsx", "summary.json")
    }
    assert _keys(mail["finance@example.com"][1]) == {
        DAY_PREFIX + n for n in ("report.html", "report.xlsx", "summary.json")
    }


def test_the_email_states_headline_figures_and_when_the_links_expire_in_shanghai_time():
    store, mailbox = MemoryReports(written_report()), Mailbox()
    email_report_links(DAY, ACCESS, store, mailbox, NOW, 86_400, SHANGHAI)
    mail = {to: body for to, _, body, _ in mailbox.sent}
    c01 = json.loads(store.objects[DAY_PREFIX + "communities/C01/summary.json"])["totals"]
    assert c01["collections"] == {"count": 3, "amount_fen": 60_000}
    assert "今日收款：¥600.00（3 笔）" in mail["c01@example.com"]
    assert "有效期至 2025-03-07 00:15（Asia/Shanghai 时间）" in mail["c01@example.com"]
    assert "[阳光花园 (C01)]" in mail["c01@example.com"]
    assert "These links work until 2025-03-07 00:15 (Asia/Shanghai time)" in mail["c02@example.com"]
    assert "[锦绣家园 (C02)]" in mail["c02@example.com"]
    assert "[全公司]" in mail["finance@example.com"]
    owners = {
        o for c in ("C01", "C02") for d in debtors(c) for owner in d.unit.owners for o in (owner.name, owner.phone)
    }
    units = {d.unit.unit_id for c in ("C01", "C02") for d in debtors(c)}
    for body in mail.values():
        for secret in owners | units:
            assert secret not in body


def test_a_manager_whose_email_fails_does_not_keep_the_others_from_theirs():
    store, mailbox = MemoryReports(written_report()), Mailbox(refuse=frozenset({"c01@example.com"}))

    outcomes = email_report_links(DAY, ACCESS, store, mailbox, NOW, 86_400, SHANGHAI)

    failed = [o for o in outcomes if not o.sent]
    assert [o.to for o in failed] == ["c01@example.com"]
    assert failed[0].reason is not None and failed[0].reason.startswith("ProviderRejected")
    assert "c01@example.com" not in failed[0].reason  # the reason is logged; the address only masked
    assert [to for to, *_ in mailbox.sent] == ["c02@example.com", "finance@example.com"]


def test_a_manager_of_a_community_without_a_report_is_told_apart():
    objects = {k: v for k, v in written_report().items() if "/communities/C02/" not in k}
    store, mailbox = MemoryReports(objects), Mailbox()
    outcomes = {o.to: o for o in email_report_links(DAY, ACCESS, store, mailbox, NOW, 86_400, SHANGHAI)}
    assert not outcomes["c02@example.com"].sent
    assert "ReportNotFound" in str(outcomes["c02@example.com"].reason)
    assert outcomes["c01@example.com"].sent and outcomes["finance@example.com"].sent


def test_nobody_is_emailed_when_no_manager_is_configured():
    mailbox = Mailbox()
    assert email_report_links(DAY, ReportAccess(), MemoryReports(written_report()), mailbox, NOW, 60, SHANGHAI) == []
    assert mailbox.sent == []


# ---------------------------------------------------------------- the endpoint's listing and links


def test_a_community_manager_lists_their_own_set_only():
    store = MemoryReports(written_report())
    links = list_links(ACCESS, store, C01_ROLE, DAY, NOW, 3_600)
    assert {link.key for link in links} == {k for k in store.objects if k.startswith(DAY_PREFIX + "communities/C01/")}
    assert {link.community_id for link in links} == {"C01"}
    assert all(link.expires_at == NOW + timedelta(hours=1) for link in links)
    first = links[0].as_dict()
    assert first["expires_at"] == "2025-03-06T01:15:00+08:00" and first["file"] in first["key"]


def test_a_company_manager_lists_every_file_of_the_day():
    store = MemoryReports(written_report())
    assert {link.key for link in list_links(ACCESS, store, COMPANY_ROLE, DAY, NOW, 3_600)} == set(store.objects)


def test_the_endpoint_refuses_strangers_and_days_without_a_report():
    store = MemoryReports(written_report())
    with pytest.raises(ReportAccessDenied):
        list_links(ACCESS, store, "arn:aws:sts::123456789012:assumed-role/someone-else/s", DAY, NOW, 3_600)
    with pytest.raises(ReportNotFound):
        list_links(ACCESS, store, C01_ROLE, date(2025, 3, 4), NOW, 3_600)


def test_another_communitys_file_is_refused_before_its_existence_is_looked_up():
    store = MemoryReports(written_report())
    session = "arn:aws:sts::123456789012:assumed-role/propfee-manager-C01/laptop"
    with pytest.raises(ReportAccessDenied):
        link_to(ACCESS, store, session, DAY_PREFIX + "communities/C02/report.html", NOW, 3_600)
    with pytest.raises(ReportAccessDenied):
        link_to(ACCESS, store, session, DAY_PREFIX + "communities/C02/no-such-file.html", NOW, 3_600)
    assert store.listed == []
    with pytest.raises(ReportNotFound):
        link_to(ACCESS, store, session, DAY_PREFIX + "communities/C01/no-such-file.html", NOW, 3_600)
    link = link_to(ACCESS, store, session, DAY_PREFIX + "communities/C01/report.html", NOW, 3_600)
    assert parse_qs(urlsplit(link.url).query)["name"] == ["propfee-2025-03-05-C01-report.html"]


def test_download_names_say_the_day_and_the_community():
    assert download_name("reports/2025-03-05/report.en.xlsx") == "propfee-2025-03-05-report.en.xlsx"
    assert download_name("reports/2025-03-05/communities/C02/summary.json") == "propfee-2025-03-05-C02-summary.json"


# ---------------------------------------------------------------- propfee report get


def test_report_get_takes_the_company_set_or_one_communitys(tmp_path):
    store = MemoryReports(written_report())
    company_files = download_report(store, DAY, None, tmp_path / "company")
    assert {p.name for p in company_files} == set(report_files(DAY, GENERATED_AT, entries(), company()))
    assert not (tmp_path / "company" / "communities").exists()
    c02 = download_report(store, DAY, "C02", tmp_path / "c02")
    assert {p.name for p in c02} == {p.name for p in company_files}
    assert json.loads((tmp_path / "c02" / "summary.json").read_text())["communities"][0]["community_id"] == "C02"
    with pytest.raises(ReportNotFound, match="2025-03-04"):
        download_report(store, date(2025, 3, 4), None, tmp_path / "none")
    with pytest.raises(ReportNotFound, match="community C09"):
        download_report(store, DAY, "C09", tmp_path / "none")

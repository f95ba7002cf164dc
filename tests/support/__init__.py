"""Builders shared by the integration and e2e tests."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from propfee.domain.identity import CompanyIdentity
from propfee.domain.models import Bill, Channel, Community, Owner, Payment, SendJob, Unit
from propfee.local.sandbox import default_template_path
from propfee.local.sandbox.template import load_template

SHANGHAI = ZoneInfo("Asia/Shanghai")
# a configured company (fictional): what the texts sign with and tell owners
COMPANY = CompanyIdentity(
    name="锦绣物业服务有限公司",
    name_en="Jinxiu Property Services Co., Ltd.",
    sms_signature="锦绣物业",
    hotline="0571-8888 6666",
    pay_instructions={"zh-CN": "锦绣物业App或小区物业服务中心", "en": "the Jinxiu app or the estate office"},
    address="杭州市西湖区文三路100号",
    address_en="100 Wensan Road, Xihu District, Hangzhou",
)
ROOT = Path(__file__).resolve().parents[2]


def at(text: str) -> datetime:
    """'2026-11-11 09:30' in Shanghai time."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def create_table_from_template(dynamodb: Any, name: str = "propfee-test") -> str:
    """The table exactly as infra/template.yaml declares it (no second copy of the schema)."""
    props = load_template(default_template_path())["Resources"]["PropfeeTable"]["Properties"]
    dynamodb.create_table(
        TableName=name,
        BillingMode=props["BillingMode"],
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        LocalSecondaryIndexes=props["LocalSecondaryIndexes"],
        GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
    )
    return name


def unit(unit_id: str = "C01-B01-0101", **changes: Any) -> Unit:
    fields: dict[str, Any] = {
        "unit_id": unit_id,
        "community_id": unit_id.split("-")[0],
        "building_id": "-".join(unit_id.split("-")[:2]),
        "room": unit_id.split("-")[-1],
        "area_m2": Decimal("100.00"),
        "monthly_fee_fen": 25000,
        "owners": (Owner(name="王芳", phone="+8613812345678", email="wang@example.net"),),
    }
    fields.update(changes)
    return Unit(**fields)


def bill(unit_id: str, period: str, amount_fen: int = 25000, due: date | None = None) -> Bill:
    year, month = (int(x) for x in period.split("-"))
    return Bill(
        unit_id=unit_id,
        community_id=unit_id.split("-")[0],
        period=period,
        amount_fen=amount_fen,
        due=due or date(year, month, 10),
        issued_at=datetime(year, month, 1, tzinfo=SHANGHAI),
    )


def payment(unit_id: str, amount_fen: int, when: str, reference: str = "PAY-1") -> Payment:
    return Payment(
        reference=reference,
        unit_id=unit_id,
        community_id=unit_id.split("-")[0],
        amount_fen=amount_fen,
        paid_at=at(when),
    )


def community(community_id: str = "C01") -> Community:
    return Community(community_id=community_id, name="锦绣花园")


def letter_job(language: str = "zh-CN", **changes: Any) -> SendJob:
    """A demand-letter job for unit C01-B03-1502."""
    fields: dict[str, Any] = {
        "unit_id": "C01-B03-1502",
        "community_id": "C01",
        "step": "letter_d45",
        "channel": Channel.LETTER,
        "destination": "B03-1502",
        "language": language,
        "template": "demand_letter",
        "unit_label": "B03-1502",
        "balance_fen": 1_263_000,
        "overdue_since": date(2026, 6, 10),
        "planned_for": date(2026, 11, 26),
        "unit_version": 4,
        "periods": ("2026-06", "2026-07", "2026-08"),
    }
    return SendJob(**{**fields, **changes})


# the company's set of report files of a day (each community's own set has the same names)
REPORT_FILE_NAMES = frozenset(
    {
        "summary.json",
        "communities.csv",
        "collections.csv",
        "reminders.csv",
        "arrears_aging.csv",
        "top_debtors.csv",
        "replies.csv",
        "tickets.csv",
        "leftover_issues.csv",
        "dead_letters.csv",
        "trend.csv",
        "reminder_effectiveness.csv",
        "collectors.csv",
        "collector_actions.csv",
        "ticket_actions.csv",
        "targets.csv",
        "reconciliation.csv",
        "reconciliation_findings.csv",
        "online_payments.csv",
        "reminder_to_payment.csv",
        "links_opened.csv",
        "abandoned_orders.csv",
        "report.xlsx",
        "report.en.xlsx",
        "report.html",
        "report.en.html",
    }
)

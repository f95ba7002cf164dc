"""The propfee DynamoDB table: one store composed of the record families' reads and writes (dynamo_*.py)."""

from __future__ import annotations

from propfee.aws.dynamo_console import ConsoleRecords
from propfee.aws.dynamo_evidence import EvidenceRecords
from propfee.aws.dynamo_ledger import LedgerRecords
from propfee.aws.dynamo_links import LinkRecords
from propfee.aws.dynamo_reports import ReportRecords
from propfee.aws.dynamo_staff import AuditRecords, StaffRecords
from propfee.aws.dynamo_tasks import TaskRecords


class PropfeeTable(
    LedgerRecords, EvidenceRecords, TaskRecords, ReportRecords, StaffRecords, AuditRecords, LinkRecords, ConsoleRecords
):
    """One table, many item types (see aws/keys.py). Implements the ledger, reminder, report, staff, audit,
    bill-link and the managers' console ports."""

"""Who may read which daily report files: pure rules over the `report_access` section of the rules file.

A company manager (communities: ["*"]) reads every file of a day, the company set and each community's; a
community's manager reads only `reports/<date>/communities/<their id>/`. A caller is known by the IAM ARN that
signed the request (a Function URL with AWS_IAM auth): a role's session (arn:aws:sts::ACCOUNT:assumed-role/
ROLE/SESSION) is that role. An assumed-role ARN carries no role path, so roles are matched by account and name.
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from propfee.domain.models import Language

EVERY_COMMUNITY = "*"

_ROLE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]+)$"
)
_USER = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:user/(?:[\w+=,.@-]+/)*[\w+=,.@-]+$")
_SESSION = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sts::(?P<account>\d{12}):assumed-role/(?P<name>[\w+=,.@-]+)/[\w+=,.@-]+$"
)
_COMMUNITY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# the only keys a manager can ask for: a file of a day's company set, or of one community's set
_REPORT_KEY = re.compile(
    r"^reports/(?P<day>\d{4}-\d{2}-\d{2})/(?:communities/(?P<community>[A-Za-z0-9_-]{1,64})/)?[A-Za-z0-9_][\w.-]*$"
)


def report_day_prefix(day: date) -> str:
    """Where a day's company set is (the same as propfee.reports.publishing.report_prefix, which this module does
    not import: the rules load in every function, the report builders only in daily_report)."""
    return f"reports/{day.isoformat()}/"


def community_report_prefix(day: date, community_id: str) -> str:
    """Where one community's own set of the day's report files is."""
    return f"{report_day_prefix(day)}communities/{community_id}/"


def principal_key(arn: str) -> str | None:
    """The identity an ARN stands for, in one form: a role (from its ARN or one of its sessions' ARNs, path
    dropped) or a user; None for anything else (root, federated users, malformed text)."""
    if match := _SESSION.match(arn) or _ROLE.match(arn):
        return f"arn:{match['partition']}:iam::{match['account']}:role/{match['name']}"
    if _USER.match(arn):
        return arn
    return None


class ReportManager(BaseModel):
    """A manager who receives the daily links by email and may ask the report endpoint for them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    principal: str  # the IAM role (or user) whose signed requests are this manager's
    email: str | None = None  # where the daily links go; none: the endpoint only
    language: Language = "zh-CN"
    communities: tuple[str, ...] = Field(min_length=1)  # community ids, or ["*"]: the whole company

    @field_validator("principal")
    @classmethod
    def _iam_principal(cls, value: str) -> str:
        if principal_key(value) is None or _SESSION.match(value):
            raise ValueError(f"{value!r} is not an IAM role or user ARN")
        return value

    @field_validator("email")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("not an email address")
        return value

    @field_validator("communities")
    @classmethod
    def _community_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if EVERY_COMMUNITY in value and len(value) > 1:
            raise ValueError('"*" already means every community: list nothing beside it')
        bad = [c for c in value if c != EVERY_COMMUNITY and not _COMMUNITY_ID.match(c)]
        if bad:
            raise ValueError(f"not community ids: {bad}")
        return value

    @property
    def company_wide(self) -> bool:
        return self.communities == (EVERY_COMMUNITY,)


class ReportAccess(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    managers: tuple[ReportManager, ...] = ()

    @model_validator(mode="after")
    def _one_entry_per_principal(self) -> ReportAccess:
        keys = [principal_key(m.principal) for m in self.managers]
        repeated = sorted({str(k) for k in keys if keys.count(k) > 1})
        if repeated:
            raise ValueError(f"principals listed more than once: {repeated}")
        return self

    def manager_for(self, principal: str) -> ReportManager | None:
        key = principal_key(principal)
        if key is None:
            return None
        return next((m for m in self.managers if principal_key(m.principal) == key), None)

    def allowed_prefixes(self, principal: str, day: date) -> list[str]:
        """The key prefixes of the day's report files this caller may read (none: an unknown caller)."""
        manager = self.manager_for(principal)
        if manager is None:
            return []
        if manager.company_wide:
            return [report_day_prefix(day)]
        return [community_report_prefix(day, community_id) for community_id in manager.communities]

    def may_read(self, principal: str, key: str) -> bool:
        match = _REPORT_KEY.match(key)
        if match is None:
            return False
        try:
            day = date.fromisoformat(match["day"])
        except ValueError:
            return False
        return any(key.startswith(prefix) for prefix in self.allowed_prefixes(principal, day))


def report_key(day: date, file: str, community_id: str | None = None) -> str:
    """The key of a file of the day's company set, or of one community's set."""
    prefix = report_day_prefix(day) if community_id is None else community_report_prefix(day, community_id)
    return prefix + file


def scope_of(key: str) -> str | None:
    """The community whose set a report key belongs to; None for the company set (or not a report key)."""
    match = _REPORT_KEY.match(key)
    return match["community"] if match else None

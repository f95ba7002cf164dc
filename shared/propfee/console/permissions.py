"""What each console role may see and do: one policy per kind of resource, each answering allowed or 403.

Roles are the user pool's groups. A person's scope (communities, departments, the collector they are) is their
staff record, kept in the table by Cognito `sub` (custom attributes hold short strings and cannot be listed or
edited per department well). Outside the scope, or a role without the right: Decision.allowed is False, and the
route answers 403 (`require`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from propfee.domain.models import Task, Ticket

Action = Literal["view", "act"]


class Role(StrEnum):
    """The user pool's groups (infra/template.yaml, StaffGroup*)."""

    COMPANY_ADMIN = "company_admin"
    COMMUNITY_MANAGER = "community_manager"
    COLLECTOR = "collector"
    DEPARTMENT_CLERK = "department_clerk"
    FINANCE = "finance"


class StaffRecord(BaseModel):
    """A staff member's assignments, by Cognito `sub` (the table's STAFF item, aws/dynamo_staff.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sub: str = Field(min_length=1, max_length=128)
    email: str = Field(min_length=3, max_length=254)
    name: str = ""
    communities: frozenset[str] = frozenset()
    departments: frozenset[str] = frozenset()
    collector_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")  # a collector's tasks name it


@dataclass(frozen=True)
class StaffMember:
    """The signed-in person as the policies see them: roles from the token, scope from the staff record."""

    sub: str
    email: str
    roles: frozenset[Role]
    communities: frozenset[str] = frozenset()
    departments: frozenset[str] = frozenset()
    collector_id: str | None = None

    def has(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def is_admin(self) -> bool:
        return Role.COMPANY_ADMIN in self.roles

    def manages(self, community_id: str) -> bool:
        return Role.COMMUNITY_MANAGER in self.roles and community_id in self.communities

    def in_finance_for(self, community_id: str) -> bool:
        return Role.FINANCE in self.roles and community_id in self.communities

    def clerk_of(self, department: str) -> bool:
        return Role.DEPARTMENT_CLERK in self.roles and department in self.departments

    def collects(self, task: Task) -> bool:
        return Role.COLLECTOR in self.roles and self.collector_id is not None and task.collector_id == self.collector_id


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


class Forbidden(Exception):
    """A signed-in person asked for something outside their role or scope: answer 403 (the reason is for the log,
    never for the page: it would tell who may see what)."""

    status = 403


def require(decision: Decision) -> None:
    if not decision.allowed:
        raise Forbidden(decision.reason)


ALLOW = Decision(True, "allowed")


def _deny(reason: str) -> Decision:
    return Decision(False, reason)


def _first(*checks: tuple[bool, str]) -> Decision:
    """Allowed by the first check that holds; else denied with every reason tried."""
    if any(held for held, _why in checks):
        return ALLOW
    return _deny("; ".join(why for _held, why in checks) or "no rule allows it")


def unit_policy(member: StaffMember, community_id: str, action: Action, tasks: Iterable[Task] = ()) -> Decision:
    """A unit's page (balance, bills, reminders, holds): the admin; the community's manager; finance of the
    community reads it. A collector reads a unit only through a task of theirs on it (`tasks`: the unit's tasks).
    Acting on a unit (a hold, a manual payment) is the admin's and the manager's."""
    if member.is_admin:
        return ALLOW
    if action == "act":
        return _first((member.manages(community_id), "only the admin or the community's manager acts on a unit"))
    return _first(
        (member.manages(community_id), "not a manager of the unit's community"),
        (member.in_finance_for(community_id), "not finance of the unit's community"),
        (any(member.collects(t) for t in tasks), "no task of this collector on the unit"),
    )


def task_policy(member: StaffMember, task: Task, action: Action) -> Decision:
    """A call, visit or legal-review task: its collector works it while they are assigned its community (a
    collector moved elsewhere loses the old community's tasks); the community's manager sees and reassigns it."""
    if member.is_admin:
        return ALLOW
    return _first(
        (member.collects(task) and task.community_id in member.communities, "not this collector's task here"),
        (member.manages(task.community_id), "not a manager of the task's community"),
    )


def ticket_policy(member: StaffMember, ticket: Ticket, action: Action) -> Decision:
    """A ticket holds the owner's own words: the clerks of its department work it, the community's manager
    oversees it. Finance and collectors see ticket counts in reports, never a ticket."""
    if member.is_admin:
        return ALLOW
    return _first(
        (member.clerk_of(ticket.department), "not a clerk of the ticket's department"),
        (member.manages(ticket.community_id), "not a manager of the ticket's community"),
    )


def department_inbox_policy(member: StaffMember, department: str) -> Decision:
    if member.is_admin:
        return ALLOW
    return _first((member.clerk_of(department), "not a clerk of this department"))


def report_policy(member: StaffMember, community_id: str | None) -> Decision:
    """A daily report: a community's set for its manager and its finance; the company set (None) for the admin."""
    if member.is_admin:
        return ALLOW
    if community_id is None:
        return _deny("the company report is the admin's")
    return _first(
        (member.manages(community_id), "not a manager of the report's community"),
        (member.in_finance_for(community_id), "not finance of the report's community"),
    )


def payments_policy(member: StaffMember, community_id: str, action: Action) -> Decision:
    """Payments and unconfirmed claims to settle: finance's work; the manager sees them."""
    if member.is_admin or member.in_finance_for(community_id):
        return ALLOW
    if action == "view":
        return _first((member.manages(community_id), "not a manager or finance of the community"))
    return _deny("only finance or the admin settles payments")


def evidence_pack_policy(member: StaffMember, community_id: str) -> Decision:
    """A unit's evidence pack holds every message word for word: for a lawyer, through the admin or the manager."""
    if member.is_admin:
        return ALLOW
    return _first((member.manages(community_id), "not a manager of the unit's community"))


def plan_preview_policy(member: StaffMember, community_id: str) -> Decision:
    """Today's plan preview (the dry run) of a community."""
    if member.is_admin:
        return ALLOW
    return _first((member.manages(community_id), "not a manager of the community"))


def legal_review_policy(member: StaffMember, community_id: str, action: Action) -> Decision:
    """Legal-review decisions (whether a unit goes to a lawyer): the manager decides, finance reads."""
    if member.is_admin:
        return ALLOW
    if action == "act":
        return _first((member.manages(community_id), "only the admin or the manager decides a legal review"))
    return _first(
        (member.manages(community_id), "not a manager of the community"),
        (member.in_finance_for(community_id), "not finance of the community"),
    )


def opt_outs_policy(member: StaffMember, community_id: str, action: Action) -> Decision:
    """Owners who asked for no more messages: the manager reads them; only the admin changes one (an opt-out is the
    owner's own decision, PIPL art. 15)."""
    if member.is_admin:
        return ALLOW
    if action == "act":
        return _deny("only the admin changes an owner's opt-out")
    return _first((member.manages(community_id), "not a manager of the community"))


def meeting_policy(member: StaffMember, community_id: str) -> Decision:
    """The standing of the collectors (the basis of their rewards and penalties) and the hard cases: the
    community's manager and the admin run the meeting."""
    if member.is_admin or member.manages(community_id):
        return ALLOW
    return _deny("not a manager of the community")


# the managers' and finance's pages of a community (the nav's links), each with the policy its route requires
MANAGER_PAGES: tuple[tuple[str, Callable[[StaffMember, str], Decision]], ...] = (
    ("today", report_policy),
    ("plan", plan_preview_policy),
    ("legal", lambda member, community_id: legal_review_policy(member, community_id, "view")),
    ("claims", lambda member, community_id: payments_policy(member, community_id, "view")),
    ("opt_outs", lambda member, community_id: opt_outs_policy(member, community_id, "view")),
    ("standing", meeting_policy),
    ("cases", meeting_policy),
    ("reports", report_policy),
)


def manager_pages(member: StaffMember, community_id: str) -> frozenset[str]:
    """The pages of the nav the member may open for the community: a link that would answer 403 is not shown."""
    return frozenset(name for name, policy in MANAGER_PAGES if policy(member, community_id).allowed)


def staff_admin_policy(member: StaffMember) -> Decision:
    """Creating staff, giving roles and assignments."""
    return _first((member.is_admin, "only the admin manages staff"))

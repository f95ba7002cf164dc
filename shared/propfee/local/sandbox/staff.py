"""The sandbox's console users: one per role, with communities, departments and a collector id, created as
`propfee staff add` creates them; their generated passwords go to the operator's terminal, never to a log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from propfee.aws.cognito import StaffDirectory
from propfee.cli.staff import strong_password
from propfee.console.permissions import Role, StaffRecord

if TYPE_CHECKING:
    from propfee.aws.dynamo_staff import StaffRecords
    from propfee.local.sandbox.sandbox import Sandbox

# .internal is reserved for private use and never delegated: no one's real address
DOMAIN = "propfee-sandbox.internal"


@dataclass(frozen=True)
class SignIn:
    email: str
    password: str
    role: Role
    record: StaffRecord

    def __repr__(self) -> str:  # a sign-in printed by accident (a log, a traceback) shows no password
        return f"SignIn(email={self.email!r}, role={self.role.value!r}, password='***')"


def seed_staff(
    sandbox: Sandbox,
    table: StaffRecords,
    communities: list[str],
    collector_id: str | None = None,
    department: str = "engineering",
) -> list[SignIn]:
    """One user per role: the admin; the manager, finance, collector and a clerk of the first community (of one
    department); and a manager of the second community (for the 403 checks), when there is one."""
    directory = StaffDirectory(sandbox.outputs["StaffUserPoolId"], sandbox.client("cognito-idp"))
    first = frozenset(communities[:1])
    people: list[tuple[str, Role, dict[str, object]]] = [
        ("admin", Role.COMPANY_ADMIN, {}),
        ("manager", Role.COMMUNITY_MANAGER, {"communities": first}),
        ("finance", Role.FINANCE, {"communities": first}),
        ("collector", Role.COLLECTOR, {"communities": first, "collector_id": collector_id}),
        ("clerk", Role.DEPARTMENT_CLERK, {"communities": first, "departments": frozenset({department})}),
    ]
    if len(communities) > 1:
        people.append(("manager2", Role.COMMUNITY_MANAGER, {"communities": frozenset(communities[1:2])}))
    seeded = []
    for name, role, scope in people:
        email, password = f"{name}@{DOMAIN}", strong_password()
        sub = directory.create_user(email, name, password)
        directory.set_roles(sub, [role])
        record = StaffRecord.model_validate({"sub": sub, "email": email, "name": name, **scope})
        table.put_staff(record)
        seeded.append(SignIn(email, password, role, record))
    return seeded

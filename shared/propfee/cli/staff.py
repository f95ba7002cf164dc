"""`propfee staff add|list|assign`: the console's users (Cognito), their roles (groups) and their communities,
departments and collector id (the STAFF record), each change recorded as a staff action."""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import string
from typing import TYPE_CHECKING, Any

from propfee.cli.common import MissingSetting, settings_and_table
from propfee.cli.tables import Column, print_rows

if TYPE_CHECKING:
    from propfee.aws.cognito import StaffDirectory
    from propfee.console.permissions import StaffRecord

POOL_HINT = "set PROPFEE_STAFF_USER_POOL_ID or pass --pool (the stack output StaffUserPoolId)"
STAFF_COLUMNS = [
    Column("email", "email"),
    Column("name", "name"),
    Column("roles", "roles"),
    Column("communities", "communities"),
    Column("departments", "departments"),
    Column("collector_id", "collector"),
    Column("status", "status"),
    Column("sub", "sub"),
]
_SYMBOLS = "!#$%&*+-=?@^_"


def strong_password(length: int = 20) -> str:
    """A password the pool's policy accepts (12+ characters, upper, lower, digit, symbol), from `secrets`."""
    alphabet = string.ascii_letters + string.digits + _SYMBOLS
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
            and any(c in _SYMBOLS for c in candidate)
        ):
            return candidate


def _directory(args: argparse.Namespace) -> StaffDirectory:
    from propfee.aws.cognito import StaffDirectory

    pool = getattr(args, "pool", None) or os.environ.get("PROPFEE_STAFF_USER_POOL_ID")
    if not pool:
        raise MissingSetting(POOL_HINT)
    return StaffDirectory(pool)


def _record_action(table: Any, action: str, target: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    from propfee.console import audit
    from propfee.console.permissions import Role, StaffMember
    from propfee.domain import clock

    operator = StaffMember(sub=f"cli:{getpass.getuser()}", email="", roles=frozenset({Role.COMPANY_ADMIN}))
    audit.record(table, operator, action, "staff", target, [], clock.now(), before=before, after=after)


def _shown(record: StaffRecord | None, roles: Any) -> dict[str, Any]:
    if record is None:
        return {}
    return {
        "roles": sorted(str(r) for r in roles),
        "communities": sorted(record.communities),
        "departments": sorted(record.departments),
        "collector_id": record.collector_id,
    }


def cmd_staff_add(args: argparse.Namespace) -> int:
    """Create the person in the pool, give the roles, write the STAFF record. In the cloud Cognito emails them a
    temporary password; --set-password (the sandbox, where no mail leaves) sets one and prints it here, once."""
    from propfee.console.permissions import Role, StaffRecord

    _, table = settings_and_table(args)
    directory = _directory(args)
    roles = [Role(r) for r in args.role]
    password = strong_password() if args.set_password else None
    sub = directory.create_user(args.email, args.name or "", password)
    directory.set_roles(sub, roles)
    record = StaffRecord(
        sub=sub,
        email=args.email,
        name=args.name or "",
        communities=frozenset(args.community or ()),
        departments=frozenset(args.department or ()),
        collector_id=args.collector_id,
    )
    table.put_staff(record)
    _record_action(table, "staff.add", sub, {}, _shown(record, roles))
    row = {"sub": sub, "email": args.email, **_shown(record, roles)}
    print_rows([row], STAFF_COLUMNS[:-2] + STAFF_COLUMNS[-1:], "staff added", args.json, "")
    if password is not None:
        # to the operator's terminal only: never in a log, a record or the JSON line
        print(f"password for {args.email} (shown once): {password}")
    return 0


def cmd_staff_assign(args: argparse.Namespace) -> int:
    """Change what is given (roles, communities, departments, collector id); the rest stays as it was."""
    from propfee.console.permissions import Role

    _, table = settings_and_table(args)
    directory = _directory(args)
    user = directory.user(args.user)
    if user is None:
        raise MissingSetting(f"no staff user {args.user!r} in the pool")
    record = table.staff(user.sub)
    if record is None:
        from propfee.console.permissions import StaffRecord

        record = StaffRecord(sub=user.sub, email=user.email)
    before = _shown(record, user.roles)
    changes: dict[str, Any] = {}
    if args.community is not None:
        changes["communities"] = frozenset(args.community)
    if args.department is not None:
        changes["departments"] = frozenset(args.department)
    if args.collector_id is not None:
        changes["collector_id"] = args.collector_id or None
    updated = record.model_copy(update=changes)
    updated = type(record).model_validate(updated.model_dump())  # the record's own rules on the changed fields
    roles = [Role(r) for r in args.role] if args.role else sorted(user.roles)
    if args.role:
        directory.set_roles(user.sub, roles)
    table.put_staff(updated)
    _record_action(table, "staff.assign", user.sub, before, _shown(updated, roles))
    print_rows([{"sub": user.sub, "email": user.email, **_shown(updated, roles)}], STAFF_COLUMNS[:-2] +
               STAFF_COLUMNS[-1:], "staff assigned", args.json, "")  # fmt: skip
    return 0


def cmd_staff_list(args: argparse.Namespace) -> int:
    """Everyone in the pool, their roles and assignments (emails masked unless --full)."""
    from propfee.observability import mask_email

    _, table = settings_and_table(args)
    records = {r.sub: r for r in table.all_staff()}
    rows = []
    for user in sorted(_directory(args).users(), key=lambda u: u.email):
        record = records.get(user.sub)
        rows.append(
            {
                "email": user.email if args.full else mask_email(user.email),
                "name": record.name if record else "",
                "roles": sorted(str(r) for r in user.roles),
                "communities": sorted(record.communities) if record else [],
                "departments": sorted(record.departments) if record else [],
                "collector_id": record.collector_id if record else None,
                "status": user.status if user.enabled else "disabled",
                "sub": user.sub,
            }
        )
    print_rows(rows, STAFF_COLUMNS, "staff", args.json, "no staff")
    return 0


def add_staff_parser(commands: Any) -> None:
    from propfee.console.permissions import Role

    staff = commands.add_parser("staff", help="the console's users: roles, communities, departments")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True)
    roles = [r.value for r in Role]

    def scope(command: argparse.ArgumentParser, required_role: bool) -> None:
        command.add_argument("--role", action="append", choices=roles, required=required_role,
                             help="a console role (a group of the pool); repeat for several")  # fmt: skip
        command.add_argument("--community", action="append", help="a community they work in; repeat for several")
        command.add_argument("--department", action="append", help="a department whose tickets they work")
        command.add_argument("--collector-id", help="the collector id their tasks carry (collectors)")
        command.add_argument("--pool", help="the user pool id (default: PROPFEE_STAFF_USER_POOL_ID)")
        command.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
        command.add_argument("--json", action="store_true", help="one JSON object a line, for scripts")

    add = staff_commands.add_parser("add", help="create a user, give roles, write their assignments")
    add.add_argument("email")
    add.add_argument("--name")
    add.add_argument(
        "--set-password",
        action="store_true",
        help="set a generated password and print it here once (the sandbox: no invitation mail)",
    )
    scope(add, required_role=True)
    add.set_defaults(run=cmd_staff_add)

    assign = staff_commands.add_parser("assign", help="change a user's roles or assignments (what is given)")
    assign.add_argument("user", help="their email or sub")
    scope(assign, required_role=False)
    assign.set_defaults(run=cmd_staff_assign)

    listing = staff_commands.add_parser("list", help="everyone in the pool, roles and assignments")
    listing.add_argument("--full", action="store_true", help="emails in full")
    listing.add_argument("--pool", help="the user pool id (default: PROPFEE_STAFF_USER_POOL_ID)")
    listing.add_argument("--table", help="the DynamoDB table (default: PROPFEE_TABLE)")
    listing.add_argument("--json", action="store_true", help="one JSON object a line, for scripts")
    listing.set_defaults(run=cmd_staff_list)

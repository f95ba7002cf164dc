"""What a console page may show of an owner: a number in full only where the role must dial it, names in full
only to the people working the case; everything else masked (PIPL: the least personal data for the purpose)."""

from __future__ import annotations

from propfee.console.permissions import Role, StaffMember
from propfee.domain.models import Task
from propfee.observability import mask_email, mask_phone


def phone_for(member: StaffMember, phone: str | None, *, task: Task | None = None) -> str:
    """The number in full only for the collector of the task being worked (the tel: link they tap); masked for
    everyone else, the admin included: the others reach an owner through the send path, never by hand."""
    if not phone:
        return ""
    if task is not None and member.collects(task):
        return phone
    return mask_phone(phone)


def email_for(member: StaffMember, address: str | None, *, task: Task | None = None) -> str:
    if not address:
        return ""
    if task is not None and member.collects(task):
        return address
    return mask_email(address)


def mask_name(name: str) -> str:
    """'张三丰' -> '张**', 'Li Wei' -> 'L*****': the first character tells the case apart, no more."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1) if name else ""


def name_for(member: StaffMember, name: str, community_id: str) -> str:
    """An owner's name in full for the people who speak to them (the admin, the community's manager, clerks and
    collectors on their own cases, whose pages are already scoped by the policies); finance sees money, not
    people, and gets it masked."""
    if member.is_admin or member.manages(community_id) or member.has(Role.COLLECTOR, Role.DEPARTMENT_CLERK):
        return name
    return mask_name(name)

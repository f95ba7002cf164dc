"""Every staff action, recorded: who, when, what, the fields before and after. One record per unit the action
touched, kept append-only next to the unit's evidence, so it is in the unit's evidence pack (staff_actions.csv)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from propfee.console.permissions import StaffMember
from propfee.domain.staff_actions import StaffAction  # defined with the vocabulary: the report reads them too

COMPANY = "COMPANY"  # the subject of an action on no unit (staff created, roles given)


class AuditStore(Protocol):
    """Where staff actions are kept (aws.dynamo_audit in the cloud): appended, never changed."""

    def append(self, actions: Iterable[StaffAction]) -> None: ...

    def for_unit(self, unit_id: str) -> list[StaffAction]: ...


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that differ, each side: a field only one side has is None on the other."""
    names = [n for n in dict.fromkeys([*before, *after]) if before.get(n) != after.get(n)]
    return {n: before.get(n) for n in names}, {n: after.get(n) for n in names}


def staff_actions(
    member: StaffMember,
    action: str,
    target_kind: str,
    target_id: str,
    unit_ids: Iterable[str],
    at: datetime,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str = "",
) -> list[StaffAction]:
    """The records of one action: one per unit it touched (a ticket may name several), the same action id in each;
    one COMPANY record when it touched no unit."""
    changed_before, changed_after = changed_fields(before or {}, after or {})
    # ordered as they happened, also between actions at the same instant of a simulated clock
    action_id = f"{time.time_ns():016x}{secrets.token_hex(8)}"
    return [
        StaffAction(
            action_id=action_id,
            at=at,
            unit_id=unit_id,
            actor_sub=member.sub,
            actor_roles=tuple(sorted(member.roles)),
            action=action,
            target_kind=target_kind,
            target_id=target_id,
            before=changed_before,
            after=changed_after,
            note=note,
        )
        for unit_id in (list(dict.fromkeys(unit_ids)) or [COMPANY])
    ]


def record(store: AuditStore, *args: Any, **kwargs: Any) -> list[StaffAction]:
    """Record an action (the arguments of staff_actions) and return its records."""
    actions = staff_actions(*args, **kwargs)
    store.append(actions)
    return actions


class MemoryAuditStore:
    """An AuditStore in memory, for unit tests and the console's pages rendered without a table."""

    def __init__(self) -> None:
        self.actions: list[StaffAction] = []

    def append(self, actions: Iterable[StaffAction]) -> None:
        self.actions.extend(actions)

    def for_unit(self, unit_id: str) -> list[StaffAction]:
        return sorted((a for a in self.actions if a.unit_id == unit_id), key=lambda a: a.at)


def evidence_record(action: StaffAction) -> dict[str, Any]:
    """The action as a record of the unit's history (collection.evidence reads `kind` and `at`)."""
    return {"kind": "staff_action", **action.model_dump(mode="json")}

"""What a verified online payment changes beyond the ledger: the unit's open collector tasks close as paid."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from propfee.collection.tasks import finished, task_id_for
from propfee.domain.models import Task, TaskOutcome, Unit


class PaidTaskStore(Protocol):
    def tasks_by_id(self, task_ids: Sequence[str]) -> list[Task]: ...

    def complete_task(self, done: Task, unit_after: Unit | None, unit_version: int) -> bool: ...


def close_tasks_as_paid(store: PaidTaskStore, unit: Unit, paid_fen: int, now: datetime, note: str) -> list[str]:
    """The open tasks of the unit's current arrears episode (a task's id is its unit, step and episode, and the
    unit lists the steps it claimed), closed as paid when the payment covers what the unit owes. Idempotent:
    a task already closed stays as it is. Returns the ids closed now."""
    if paid_fen < unit.balance_fen or not unit.steps_done:
        return []
    candidates = [task_id_for(unit.unit_id, step, unit.arrears_episode) for step in sorted(unit.steps_done)]
    closed: list[str] = []
    for task in store.tasks_by_id(candidates):
        if task.status != "open":
            continue
        # verified by the provider, so nothing is held: unlike an owner's "I paid" on a call (no PAID_CLAIM hold)
        if store.complete_task(finished(task, TaskOutcome.PAID, None, note, now), None, unit.version):
            closed.append(task.task_id)
    return closed

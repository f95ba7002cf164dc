"""Call and visit tasks for collectors (催缴人员分工): who takes a task, and what its outcome does."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol

from propfee.collection.addressing import place
from propfee.domain.models import Channel, Collector, Hold, HoldKind, SendJob, Task, TaskOutcome, Unit
from propfee.domain.money import yuan

# a call or visit is due soon; a decision on going to court deserves a week
TASK_DEADLINES = {
    Channel.CALL: timedelta(days=2),
    Channel.VISIT: timedelta(days=2),
    Channel.LEGAL_REVIEW: timedelta(days=7),
}
WHAT = {Channel.CALL: "电话催缴", Channel.VISIT: "上门拜访", Channel.LEGAL_REVIEW: "法务审核(是否起诉或申请仲裁)"}
PAID_CLAIM_VERIFICATION = timedelta(days=7)


class TaskError(ValueError):
    pass


def choose_collector(
    collectors: list[Collector], community_id: str, building_id: str, role: str = "collector"
) -> Collector | None:
    """The least-loaded collector of the role assigned to the building, else to the community."""
    of_role = [c for c in collectors if c.role == role]
    for eligible in (
        [c for c in of_role if building_id in c.buildings],
        [c for c in of_role if community_id in c.communities],
    ):
        if eligible:
            return min(eligible, key=lambda c: (c.open_tasks, c.collector_id))
    return None


def owner_to_ask_for(unit: Unit) -> str:
    """The name a collector asks for: the owner of record first, then a co-owner, then whoever is listed."""
    for relations in (("owner",), ("co_owner",), ("household", "tenant")):
        for owner in unit.owners:
            if owner.relation in relations and owner.name:
                return owner.name
    return ""


def task_place(job: SendJob) -> dict[str, str]:
    """What a task carries about where it is and whom to ask for; the ids stand in for names nobody entered."""
    return {
        "owner_name": job.owner_name,
        "community_name": job.community_name or job.community_id,
        "building_name": job.building_name or job.building_id.split("-")[-1],
        "room": job.room,
    }


def address_of(task: Task, language: str = "zh-CN") -> str:
    """Where the collector goes: the unit as its owner names it (collection.addressing.place)."""
    return place(task.community_name, task.building_name, task.room, task.unit_label, language)


def task_id_for(unit_id: str, step: str, occurrence: int) -> str:
    return f"{unit_id}.{step}.{occurrence}"


def brief(task: Task) -> str:
    """What the evidence records for a task: who, what, about how much (no owner name)."""
    text = (
        f"{WHAT[task.kind]} {task.unit_label} 欠费{yuan(task.balance_fen)}元 "
        f"负责人{task.collector_id} 截止{task.due_by:%Y-%m-%d}"
    )
    if task.kind is Channel.LEGAL_REVIEW and task.overdue_since is not None:
        # Civil Code Art. 188/195: three years, restarted by each demand; the evidence export shows them
        text += f" 最早欠费自{task.overdue_since.isoformat()} 诉讼时效3年,每次催缴后重新起算"
    return text


def unit_after_outcome(
    unit: Unit, task: Task, outcome: TaskOutcome, promised: date | None, today: date, note: str = ""
) -> Unit | None:
    """The unit as the outcome leaves it, or None when the unit does not change."""
    if outcome is TaskOutcome.PROMISED:
        if promised is None or promised < today:
            raise TaskError("a promise needs a date from today on (--date YYYY-MM-DD)")
        hold = Hold(kind=HoldKind.PROMISE_TO_PAY, until=promised, reason=note or f"promised on task {task.task_id}")
    elif outcome is TaskOutcome.PAID:
        # a call never marks anything paid: reminders pause while finance looks for the payment
        hold = Hold(
            kind=HoldKind.PAID_CLAIM,
            until=today + PAID_CLAIM_VERIFICATION,
            reason=note or f"says paid, task {task.task_id}",
        )
    elif outcome is TaskOutcome.REFERRED:
        hold = Hold(kind=HoldKind.LEGAL, reason=note or f"referred to the lawyers, task {task.task_id}")
    elif outcome is TaskOutcome.WRONG_NUMBER and task.call_number:
        owners = tuple(
            o.model_copy(update={"sms_disabled": "wrong number (collector's call)"})
            if o.phone == task.call_number
            else o
            for o in unit.owners
        )
        return unit.model_copy(update={"owners": owners, "version": unit.version + 1})
    else:
        return None
    return unit.model_copy(update={"holds": (*unit.holds, hold), "version": unit.version + 1})


REVIEW_ONLY = {TaskOutcome.REFERRED, TaskOutcome.NOT_REFERRED}
NOT_FOR_REVIEW = {TaskOutcome.WRONG_NUMBER, TaskOutcome.UNREACHABLE, TaskOutcome.REFUSED, TaskOutcome.VISITED}


def outcomes_for(kind: Channel) -> list[TaskOutcome]:
    excluded = NOT_FOR_REVIEW if kind is Channel.LEGAL_REVIEW else REVIEW_ONLY
    return [outcome for outcome in TaskOutcome if outcome not in excluded]


def finished(task: Task, outcome: TaskOutcome, promised: date | None, note: str, now: datetime) -> Task:
    if task.status != "open":
        raise TaskError(f"task {task.task_id} is already {task.status}")
    allowed = outcomes_for(task.kind)
    if outcome not in allowed:
        raise TaskError(f"a {task.kind.value} task ends {', '.join(o.value for o in allowed)}, not {outcome.value}")
    return task.model_copy(
        update={"status": "done", "outcome": outcome, "promised_date": promised, "note": note, "done_at": now}
    )


class TaskStore(Protocol):
    def get_task(self, task_id: str) -> Task | None: ...

    def get_unit(self, unit_id: str) -> Unit | None: ...

    def complete_task(self, done: Task, unit_after: Unit | None, unit_version: int) -> bool: ...


def close_task(
    store: TaskStore, task_id: str, outcome: TaskOutcome, promised: date | None, note: str, now: datetime, today: date
) -> Task:
    """Record a task's outcome; a promise holds the ladder until the promised date, then it resumes."""
    for _attempt in range(3):
        task = store.get_task(task_id)
        if task is None:
            raise TaskError(f"no task {task_id}")
        done = finished(task, outcome, promised, note, now)
        unit = store.get_unit(task.unit_id)
        if unit is None:
            raise TaskError(f"task {task_id} names unit {task.unit_id}, which does not exist")
        if store.complete_task(done, unit_after_outcome(unit, task, outcome, promised, today, note), unit.version):
            return done
    raise TaskError(f"task {task_id} or its unit kept changing; try again")

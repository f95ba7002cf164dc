"""The plan flow: for each community, the units in arrears -> today's action -> send jobs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from propfee.collection.addressing import surname_of_recipient
from propfee.collection.ladder import Action, Decision, LadderRules, amount_for, decide
from propfee.collection.tasks import owner_to_ask_for
from propfee.domain.models import Channel, SendJob, Unit
from propfee.domain.ports import ArrearsReader, JobQueue

ENQUEUE_CHUNK = 500  # jobs held in memory before they go to the queue


@dataclass
class PlanSummary:
    day: date
    units_considered: int = 0
    jobs_enqueued: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "day": self.day.isoformat(),
            "units_considered": self.units_considered,
            "jobs_enqueued": self.jobs_enqueued,
            "skipped": dict(sorted(self.skipped.items())),
        }


def job_for(unit: Unit, action: Action, today: date, community_name: str = "", building_name: str = "") -> SendJob:
    """The job for one action; the names are the community's and the building's (the texts name the unit by
    them, and by its codes when they are missing)."""
    oldest = unit.oldest_due
    assert oldest is not None, "only units that owe money get jobs"
    cutoff = action.step.cutoff(today)
    return SendJob(
        unit_id=unit.unit_id,
        community_id=unit.community_id,
        step=action.claim_id,
        occurrence=unit.arrears_episode,  # a step is claimed once per arrears episode
        channel=action.channel,
        destination=action.destination,
        language=unit.language,
        template=action.step.template,
        unit_label=unit.label,
        balance_fen=amount_for(unit, action.step, today),  # what the message is about, not later bills
        overdue_since=oldest,
        planned_for=today,
        unit_version=unit.version,
        recent_contacts=unit.recent_contacts,
        building_id=unit.building_id,
        periods=tuple(
            sorted(p for p, bill in unit.open_bills.items() if bill.outstanding_fen > 0 and bill.due <= cutoff)
        ),
        assignee_role=action.assignee_role,
        counts_as_contact=action.counts_as_contact,
        community_name=community_name,
        building_name=building_name,
        room=unit.room,
        owner_surname=surname_of_recipient(unit, action.destination),
        owner_name=owner_to_ask_for(unit) if action.channel in (Channel.CALL, Channel.VISIT) else "",
        bill_link=unit.bill_link,
    )


def decisions(
    today: date,
    tz: ZoneInfo,
    arrears: ArrearsReader,
    rules: LadderRules,
    community_ids: list[str] | None = None,
) -> Iterator[tuple[Unit, Decision]]:
    """Each unit in arrears with today's decision for it, community by community (read lazily)."""
    for community in arrears.communities():
        if community_ids is not None and community.community_id not in community_ids:
            continue
        ladder, policy = rules.ladder_for(community.community_id), rules.policy_for(community.community_id)
        for unit in arrears.units_owing(community.community_id, due_before=ladder.due_before(today)):
            yield unit, decide(unit, today, tz, ladder, policy)


def plan_day(
    today: date,
    tz: ZoneInfo,
    arrears: ArrearsReader,
    queue: JobQueue,
    rules: LadderRules,
    community_ids: list[str] | None = None,
) -> PlanSummary:
    summary = PlanSummary(day=today)
    pending: list[SendJob] = []
    community_names = {c.community_id: c.name for c in arrears.communities()}
    building_names: dict[str, dict[str, str]] = {}  # community -> building -> name, read once per community
    for unit, decision in decisions(today, tz, arrears, rules, community_ids):
        summary.units_considered += 1
        if not decision.actions:
            summary.skipped[str(decision.reason)] += 1
            continue
        if unit.community_id not in building_names:
            building_names[unit.community_id] = {b.building_id: b.name for b in arrears.buildings(unit.community_id)}
        names = (
            community_names.get(unit.community_id, ""),
            building_names[unit.community_id].get(unit.building_id, ""),
        )
        pending.extend(job_for(unit, action, today, *names) for action in decision.actions)
        if len(pending) >= ENQUEUE_CHUNK:
            summary.jobs_enqueued += queue.enqueue(pending)
            pending.clear()
    if pending:
        summary.jobs_enqueued += queue.enqueue(pending)
    return summary

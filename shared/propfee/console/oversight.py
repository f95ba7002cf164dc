"""What a manager (and finance) decides and checks in a community, beside today's figures: today's plan as the dry
run computes it (nothing sent), the legal reviews the ladder put to the manager, the sends whose outcome nobody knows
(unconfirmed claims) to settle, and the owners who asked for no more messages. Every decision is audited."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from propfee.collection.ladder import LadderRules
from propfee.collection.planning import decisions
from propfee.collection.policy import active_hold
from propfee.collection.sending import CLAIM_TIMEOUT
from propfee.collection.tasks import TaskError, close_task
from propfee.console import audit
from propfee.console.masking import mask_name
from propfee.console.permissions import (
    StaffMember,
    legal_review_policy,
    opt_outs_policy,
    payments_policy,
    plan_preview_policy,
    require,
)
from propfee.domain.models import (
    Building,
    Channel,
    Collector,
    Community,
    Reminder,
    ReminderStatus,
    Task,
    TaskOutcome,
    Unit,
)
from propfee.observability import mask_destination

CLAIM_DAYS = 14  # the send DLQ keeps a message 14 days: older unconfirmed claims are not looked for
PROVIDER_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,200}$")
DECISIONS = {"approve": TaskOutcome.REFERRED, "decline": TaskOutcome.NOT_REFERRED}


class OversightStore(Protocol):
    """What these pages read and write (aws.feedback.FeedbackTable in the cloud)."""

    def communities(self) -> list[Community]: ...

    def buildings(self, community_id: str) -> list[Building]: ...

    def units_owing(self, community_id: str, due_before: date) -> Iterator[Unit]: ...

    def collectors(self) -> list[Collector]: ...

    def tasks(self, collector_id: str, status: str = "open") -> list[Task]: ...

    def get_task(self, task_id: str) -> Task | None: ...

    def get_unit(self, unit_id: str) -> Unit | None: ...

    def complete_task(self, done: Task, unit_after: Unit | None, unit_version: int) -> bool: ...

    def claimed_reminders(self, community_id: str, day: date) -> list[Reminder]: ...

    def reminder(self, unit_id: str, claim_key: str) -> Reminder | None: ...

    def settle_claim(
        self, reminder: Reminder, sent: bool, at: datetime, note: str, provider_message_id: str | None = None
    ) -> bool: ...

    def opt_outs(self, community_id: str) -> list[dict[str, Any]]: ...

    def append(self, actions: Iterable[audit.StaffAction]) -> None: ...

    def for_unit(self, unit_id: str) -> list[audit.StaffAction]: ...


@dataclass(frozen=True)
class PlanLine:
    unit_id: str
    label: str
    balance_fen: int
    step: str = ""  # what would be claimed ("sms_d1", "sms_d30-r1"); empty when skipped
    channel: str = ""
    reason: str = ""  # why nothing goes: a SkipReason, a policy block, on_hold_<kind>
    held_until: date | None = None


@dataclass(frozen=True)
class ClaimLine:
    reminder: Reminder
    claim_key: str
    destination: str  # masked


@dataclass(frozen=True)
class OptOutLine:
    unit_id: str
    at: datetime
    channel: str
    owner: str  # masked
    contact: str  # masked
    message: str  # the owner's words that did it
    flags: tuple[str, ...]
    still: bool  # the address is still switched off (an owner who opted in again is shown as such)


def claim_key_of(reminder: Reminder) -> str:
    return f"REMINDER#{reminder.step}#{reminder.occurrence}"


class OversightDesk:
    def __init__(self, store: OversightStore, rules: Callable[[], LadderRules] | None, tz: ZoneInfo) -> None:
        self.store = store
        self.rules = rules  # read on the first preview (None: no collection rules here, no preview)
        self.tz = tz

    # ------------------------------------------------------------------ today's plan, as the dry run computes it
    def plan_preview(self, member: StaffMember, community_id: str, day: date) -> list[PlanLine]:
        """Every unit in arrears with today's step and channel, or why it gets none: `propfee plan --dry-run`'s
        decisions (collection.planning.decisions), read from the table, nothing claimed or queued."""
        require(plan_preview_policy(member, community_id))
        if self.rules is None:
            return []
        lines: list[PlanLine] = []
        for unit, decision in decisions(day, self.tz, self.store, self.rules(), [community_id]):
            if decision.actions:
                lines += [PlanLine(unit.unit_id, unit.label, unit.balance_fen, a.claim_id, a.channel.value)
                          for a in decision.actions]  # fmt: skip
                continue
            hold = active_hold(unit.holds, day)
            held = hold.until if hold is not None and str(decision.reason).startswith("on_hold") else None
            lines.append(PlanLine(unit.unit_id, unit.label, unit.balance_fen, reason=str(decision.reason),
                                  held_until=held))  # fmt: skip
        return sorted(lines, key=lambda line: (bool(line.reason), line.reason, line.unit_id))

    # ------------------------------------------------------------------ legal reviews
    def legal_reviews(self, member: StaffMember, community_id: str) -> list[Task]:
        """The open legal-review tasks of the community (the ladder's last step gives one to the site manager)."""
        require(legal_review_policy(member, community_id, "view"))
        found = [
            task
            for collector in self.store.collectors()
            if collector.role == "site_manager"
            for task in self.store.tasks(collector.collector_id, "open")
            if task.kind is Channel.LEGAL_REVIEW and task.community_id == community_id
        ]
        return sorted(found, key=lambda t: (t.due_by, t.task_id))

    def legal_review(self, member: StaffMember, task_id: str) -> Task | None:
        task = self.store.get_task(task_id)
        if task is None or task.kind is not Channel.LEGAL_REVIEW:
            return None
        require(legal_review_policy(member, task.community_id, "view"))
        return task

    def decide(self, member: StaffMember, task_id: str, choice: str, note: str, now: datetime) -> Task:
        """Approve (the lawyers take it: a legal hold stops the reminders) or decline (collection goes on), as
        `propfee task done` closes a review; audited with the task's and the unit's holds before and after."""
        task = self.store.get_task(task_id)
        if task is None or task.kind is not Channel.LEGAL_REVIEW:
            raise TaskError(f"no legal review {task_id}")
        require(legal_review_policy(member, task.community_id, "act"))
        outcome = DECISIONS[choice]
        unit_before = self.store.get_unit(task.unit_id)
        done = close_task(self.store, task_id, outcome, None, note, now, now.astimezone(self.tz).date())
        unit_after = self.store.get_unit(task.unit_id)
        audit.record(
            self.store, member, "legal_review.decide", "task", task_id, [task.unit_id], now,
            before={"status": task.status, "outcome": None, "holds": _holds(unit_before)},
            after={"status": done.status, "outcome": outcome.value, "holds": _holds(unit_after)},
            note=note,
        )  # fmt: skip
        return done

    # ------------------------------------------------------------------ unconfirmed claims
    def unconfirmed_claims(self, member: StaffMember, community_id: str, now: datetime) -> list[ClaimLine]:
        """Claims of the last CLAIM_DAYS days still only "claimed" past the send function's CLAIM_TIMEOUT: an
        attempt died between the claim and the provider's answer, and nobody knows whether the owner got it."""
        require(payments_policy(member, community_id, "view"))
        today = now.astimezone(self.tz).date()
        found = [
            r
            for back in range(CLAIM_DAYS, -1, -1)
            for r in self.store.claimed_reminders(community_id, today - timedelta(days=back))
            if now - r.claimed_at >= CLAIM_TIMEOUT
        ]
        return [ClaimLine(r, claim_key_of(r), mask_destination(r.destination)) for r in found]

    def settle(
        self, member: StaffMember, unit_id: str, claim_key: str, sent: bool, message_id: str, note: str, now: datetime
    ) -> bool | None:
        """Sent (with the provider's message id from its log) or not sent; None: no such claim. False: it is not
        unconfirmed any more (a receipt or another person settled it). Audited when it was settled here."""
        reminder = self.store.reminder(unit_id, claim_key)
        if reminder is None or claim_key_of(reminder) != claim_key:
            return None
        require(payments_policy(member, reminder.community_id, "act"))
        if reminder.status is not ReminderStatus.CLAIMED:
            return False
        if sent and not PROVIDER_ID.match(message_id):
            raise ValueError("a sent claim needs the provider's message id")
        words = f"settled in the console: {'sent' if sent else 'not sent'}" + (f"; {note}" if note else "")
        if not self.store.settle_claim(reminder, sent, now, words, message_id if sent else None):
            return False
        after: dict[str, Any] = {"status": ReminderStatus.SENT.value if sent else ReminderStatus.FAILED.value}
        if sent:
            after["provider_message_id"] = message_id
        audit.record(self.store, member, "claim.settle", "reminder", f"{unit_id}#{claim_key}", [unit_id], now,
                     before={"status": reminder.status.value}, after=after, note=note)  # fmt: skip
        return True

    # ------------------------------------------------------------------ opt-outs
    def opt_outs(self, member: StaffMember, community_id: str) -> list[OptOutLine]:
        """The messages that switched an owner off, newest first, the owner and the address masked."""
        require(opt_outs_policy(member, community_id, "view"))
        lines, units = [], {}
        for item in self.store.opt_outs(community_id):
            unit_id, sender = str(item.get("unit_id") or item["pk"].removeprefix("UNIT#")), str(item.get("sender"))
            if unit_id not in units:
                units[unit_id] = self.store.get_unit(unit_id)
            unit = units[unit_id]
            owners = [o for o in (unit.owners if unit else ()) if sender in (o.phone, o.email)]
            flags = tuple(str(f) for f in item.get("opted_out") or ())
            still = any(getattr(o, f) for o in owners for f in flags)
            lines.append(OptOutLine(unit_id, datetime.fromisoformat(str(item["at"])), str(item.get("channel", "")),
                                    mask_name(owners[0].name) if owners else "", mask_destination(sender),
                                    str(item.get("body", "")), flags, still))  # fmt: skip
        return lines


def _holds(unit: Unit | None) -> list[dict[str, Any]]:
    return [h.model_dump(mode="json") for h in unit.holds] if unit else []

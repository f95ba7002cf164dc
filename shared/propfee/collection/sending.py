"""The send flow for one job: re-check, claim exactly once, send, record the evidence."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from functools import partial
from typing import TypeVar

from pydantic import ValidationError

from propfee.collection.cjk_pdf import find_font
from propfee.collection.ladder import LadderRules, SkipReason, decide
from propfee.collection.letters import LetterMessage, compose_letter, letter_key, letter_pdf, seal_file
from propfee.collection.messages import RenderedMessage, render
from propfee.collection.planning import job_for
from propfee.collection.policy import ContactPolicy, keep_recent, time_blocked
from propfee.collection.tasks import TASK_DEADLINES, brief, choose_collector, task_id_for, task_place
from propfee.collection.wechat_messages import WechatRendered, WechatSender, WechatTemplate, render_wechat
from propfee.domain.config import Settings
from propfee.domain.models import Channel, Collector, Reminder, ReminderStatus, SendJob, Task, UnitBillLink
from propfee.domain.ports import (
    BillLinkIssuer,
    ClaimResult,
    EmailSender,
    ObjectStore,
    ProviderRejected,
    ProviderUnavailable,
    ReminderStore,
    SmsBatchItem,
    SmsBatchSender,
    SmsSender,
)

_T = TypeVar("_T")


class Outcome(StrEnum):
    SENT = "sent"
    ASSIGNED = "assigned"
    SKIPPED = "skipped"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"  # an earlier attempt claimed it and was never heard of again: see Sender.send


# a claim older than this, still "claimed", belongs to an attempt that died (the send function's timeout is 60 s)
CLAIM_TIMEOUT = timedelta(minutes=2)
COLLECTORS_FRESH = timedelta(minutes=1)
UNCONFIRMED_CLAIM = (
    "unconfirmed claim: an earlier attempt claimed this reminder and died before confirming it was sent; the "
    "provider may have it. Check the provider's log for the unit and step before sending it by hand."
)


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    reason: str | None = None
    provider_message_id: str | None = None


def parse_job(body: str) -> tuple[SendJob | None, str]:
    """The job in an SQS body, or None and a reason that names fields but never their (personal) values."""
    try:
        return SendJob.model_validate_json(body), ""
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors(include_input=False)
        )
        return None, f"malformed send job: {problems}"[:900]


class UnitKeepsChanging(Exception):
    """The unit changed under two claims in a row; the job is retried later through SQS."""


class ClaimInFlight(Exception):
    """Another delivery of the same job holds the claim right now; this one looks again later through SQS."""


class Sender:
    def __init__(
        self,
        settings: Settings,
        store: ReminderStore,
        sms: SmsSender,
        email: EmailSender,
        rules: LadderRules,
        letters: ObjectStore | None = None,
        bill_links: BillLinkIssuer | None = None,
        sms_links: bool = True,
        wechat: WechatSender | None = None,
        wechat_templates: Mapping[str, WechatTemplate] | None = None,
    ) -> None:
        self._settings = settings
        self._wechat = wechat  # the official account (rules `wechat:`), for the `wechat` steps
        self._wechat_templates = wechat_templates or {}
        self._bill_links = bill_links  # None: no bill page configured, the texts name the way to pay
        # False while the SMS go through a mainland provider: a text with a link is a template of its own that the
        # provider must approve (Tencent wants the link's address in the approved text), not yet in approved_sms.yaml
        self._sms_links = sms_links
        self._store = store
        self._sms = sms
        self._email = email
        self._rules = rules
        self._letters = letters
        self._collectors: tuple[datetime, list[Collector]] | None = None

    def send(self, job: SendJob, now: datetime, redelivered: bool = False) -> SendResult:
        """`redelivered`: SQS delivered this message before (an earlier attempt failed or died)."""
        # lawful hours are checked at the moment of sending, in the owner's local time
        blocked = time_blocked(now, self._settings.tz, self._rules.policy_for(job.community_id))
        if blocked is not None:
            return self._skip(job, blocked, now)
        claimed = self._claim(job, now, redelivered)
        if isinstance(claimed, SendResult):
            return claimed
        job, message, task = claimed
        if task is not None:  # the task was created with the claim; the collector takes it from here
            return SendResult(Outcome.ASSIGNED, provider_message_id=task.task_id)
        try:
            message_id = self._deliver(job, message)
        except ProviderRejected as error:
            # the step is spent: the evidence shows the attempt and the ladder moves on
            self._store.mark_failed(job, str(error), now)
            return SendResult(Outcome.FAILED, reason=str(error))
        except ProviderUnavailable:
            # the provider said no (throttled, down) or was never reached: give the claim back so
            # that the retry can send. Any other failure may have come after the provider accepted
            # (a timeout, a crash): the claim stays, the retry finds it and does not send again.
            self._store.release(job)
            raise
        self._store.mark_sent(job, message_id, now)
        return SendResult(Outcome.SENT, provider_message_id=message_id)

    def send_batch(self, jobs: Sequence[tuple[SendJob, bool]], now: datetime) -> list[SendResult | Exception | None]:
        """The SMS among (job, redelivered) in one batch request when the provider takes batches (Tencent): each
        claimed on its own first, as `send` claims, the provider's answer for each number mapped back to its claim.
        An item's result is its SendResult, or the error its record fails with (the claim given back when the
        provider did not send it; kept when it may have, so that the retry finds it unconfirmed), or None: not
        sent here, `send` sends it alone (other channels; every job when the provider takes one number a request)."""
        results: list[SendResult | Exception | None] = [None] * len(jobs)
        if not isinstance(self._sms, SmsBatchSender):
            return results
        claimed: list[tuple[int, SendJob, RenderedMessage]] = []
        for index, (job, redelivered) in enumerate(jobs):
            if job.channel is not Channel.SMS:
                continue
            blocked = time_blocked(now, self._settings.tz, self._rules.policy_for(job.community_id))
            got = (
                self._skip(job, blocked, now)
                if blocked is not None
                else _attempt(partial(self._claim, job, now, redelivered))
            )
            if isinstance(got, tuple):
                claimed.append((index, got[0], got[1]))
            else:
                results[index] = got
        items = [
            SmsBatchItem(
                job.destination, message.body, {"unit_id": job.unit_id, "claim": job.claim_key}, message.template
            )
            for _, job, message in claimed
        ]
        try:
            answers = self._sms.send_sms_batch(items) if items else []
        except Exception as error:
            answers = [error] * len(items)
        for (index, job, _message), answer in zip(claimed, answers, strict=True):
            results[index] = self._settle(job, answer, now)
        return results

    def _settle(self, job: SendJob, answer: str | Exception, now: datetime) -> SendResult | Exception:
        """One claimed job after the provider's answer for its number, as `send` settles it."""
        if isinstance(answer, str):
            self._store.mark_sent(job, answer, now)
            return SendResult(Outcome.SENT, provider_message_id=answer)
        if isinstance(answer, ProviderRejected):
            self._store.mark_failed(job, str(answer), now)
            return SendResult(Outcome.FAILED, reason=str(answer))
        if isinstance(answer, ProviderUnavailable):
            self._store.release(job)
        return answer

    def _claim(
        self, job: SendJob, now: datetime, redelivered: bool = False
    ) -> tuple[SendJob, RenderedMessage, Task | None] | SendResult:
        today = now.astimezone(self._settings.tz).date()
        ladder, policy = self._rules.ladder_for(job.community_id), self._rules.policy_for(job.community_id)
        for _attempt in range(2):
            prepared = self._prepare(job, now, policy)
            if isinstance(prepared, SendResult):
                return prepared
            message, evidence, contacts, task, new_link = prepared
            result = self._store.claim(job, evidence, contacts, task, new_link)
            if result is ClaimResult.CLAIMED:
                if task is not None:
                    self._assigned(task.collector_id)
                return job, message, task
            if result is ClaimResult.ALREADY_CLAIMED:
                return self._already_claimed(job, now, redelivered)
            # something changed since planning (a payment, a contact): decide again on fresh data
            unit = self._store.get_unit(job.unit_id)
            decision = decide(unit, today, self._settings.tz, ladder, policy) if unit is not None else None
            if unit is None or decision is None or decision.reason is SkipReason.NOT_OVERDUE:
                return self._skip(job, SkipReason.PAID, now)  # it owed when planned: it has paid since
            if decision.reason is SkipReason.STEP_ALREADY_SENT:
                return SendResult(Outcome.DUPLICATE, reason=SkipReason.DUPLICATE)
            action = next((a for a in decision.actions if a.claim_id == job.step), None)
            if action is None:
                return self._skip(job, decision.reason or "step_changed", now)
            job = job_for(unit, action, job.planned_for, job.community_name, job.building_name)
        raise UnitKeepsChanging(job.unit_id)

    def _collectors_at(self, now: datetime) -> list[Collector]:
        """The collectors and their loads, read once a minute rather than once a task (a busy day assigns
        hundreds of tasks); each task given out here counts on the copy at once, so the load stays balanced."""
        if self._collectors is None or now - self._collectors[0] > COLLECTORS_FRESH:
            self._collectors = (now, self._store.collectors())
        return self._collectors[1]

    def _assigned(self, collector_id: str) -> None:
        if self._collectors is not None:
            read_at, collectors = self._collectors
            self._collectors = (
                read_at,
                [
                    c.model_copy(update={"open_tasks": c.open_tasks + 1}) if c.collector_id == collector_id else c
                    for c in collectors
                ],
            )

    def _already_claimed(self, job: SendJob, now: datetime, redelivered: bool) -> SendResult:
        """Sent (or failed for good) already: a duplicate, nothing to do. Still only "claimed": either another
        delivery is sending it now, or an attempt died between its claim and the confirmation, and nobody can
        tell whether the provider got the message. Sending again could send twice and never sending would lose
        it, so such a job goes to the DLQ with the reason, for a person to check."""
        existing = self._store.reminder(job.unit_id, job.claim_key)
        if existing is None or existing.status is not ReminderStatus.CLAIMED:
            return SendResult(Outcome.DUPLICATE, reason=SkipReason.DUPLICATE)
        if redelivered or now - existing.claimed_at >= CLAIM_TIMEOUT:
            return SendResult(Outcome.UNCONFIRMED, reason=UNCONFIRMED_CLAIM)
        raise ClaimInFlight(job.unit_id)

    def _prepare(
        self, job: SendJob, now: datetime, policy: ContactPolicy
    ) -> tuple[RenderedMessage, Reminder, tuple[datetime, ...], Task | None, UnitBillLink | None] | SendResult:
        """What the claim will record: the message (or the task), the unit's contacts after it, and the unit's
        new bill link when the message names one."""
        if job.channel is Channel.LETTER:
            bill_url, new_link = self._bill_link(job, now)
            letter = self._compose_letter(job, now, bill_url or "")
            if isinstance(letter, SendResult):
                return letter
            return letter, evidence_for(job, letter, now), job.recent_contacts, None, new_link
        if not job.channel.is_task:
            today = now.astimezone(self._settings.tz).date()
            # the unit's bill link (reused while valid) goes into every SMS and email
            bill_url, new_link = (
                self._bill_link(job, now) if self._sms_links or job.channel is not Channel.SMS else (None, None)
            )
            identity = self._rules.identity_for(job.community_id)
            if job.channel is Channel.WECHAT:
                # the variables the reminder's SMS is rendered with, in the approved template message
                as_sms = render(job.model_copy(update={"channel": Channel.SMS}), today, identity, bill_url)
                message: RenderedMessage = render_wechat(
                    as_sms, self._wechat_templates, bill_url, f"{job.unit_id}#{job.claim_key}"
                )
            else:
                message = render(job, today, identity, bill_url)
            # only automated messages count against the frequency caps; a formal letter does not
            counted = job.channel.is_message and job.counts_as_contact
            contacts = keep_recent((*job.recent_contacts, now), now, policy) if counted else job.recent_contacts
            return message, evidence_for(job, message, now), contacts, None, new_link
        collectors = self._collectors_at(now)
        collector = choose_collector(collectors, job.community_id, job.building_id, job.assignee_role)
        if collector is None:
            return self._skip(job, SkipReason.NO_COLLECTOR, now)
        # the owner's name and the place as the plan read them: the collector's list shows them without reads
        place = task_place(job)
        task = Task(
            task_id=task_id_for(job.unit_id, job.step, job.occurrence),
            unit_id=job.unit_id,
            community_id=job.community_id,
            kind=job.channel,
            step=job.step,
            collector_id=collector.collector_id,
            created_at=now,
            due_by=now + TASK_DEADLINES[job.channel],
            unit_label=job.unit_label,
            **place,
            call_number=job.destination if job.channel is Channel.CALL else None,
            balance_fen=job.balance_fen,
            overdue_since=job.overdue_since,
        )
        message = RenderedMessage(subject=None, body=brief(task), template_version="task")
        evidence = evidence_for(job, message, now).model_copy(
            update={"status": ReminderStatus.ASSIGNED, "provider_message_id": task.task_id}
        )
        # a collector's call or visit is not an automated message: the frequency caps do not count it
        return message, evidence, job.recent_contacts, task, None

    def _bill_link(self, job: SendJob, now: datetime) -> tuple[str | None, UnitBillLink | None]:
        return self._bill_links.for_reminder(job, now) if self._bill_links is not None else (None, None)

    def _deliver(self, job: SendJob, message: RenderedMessage) -> str:
        # travels with the message into delivery events, so that a receipt finds its evidence record (the email
        # adapter encodes it in the characters SES allows in tags)
        context = {"unit_id": job.unit_id, "claim": job.claim_key}
        if job.channel is Channel.SMS:
            return self._sms.send_sms(job.destination, message.body, context, message.template)
        if job.channel is Channel.LETTER:
            return self._write_letter(job, message)
        if job.channel is Channel.WECHAT:
            if self._wechat is None:
                raise ProviderUnavailable("no WeChat official account is configured")
            assert isinstance(message, WechatRendered) and message.wechat is not None
            return self._wechat.send_template(job.destination, message.wechat, context)
        assert message.subject is not None
        return self._email.send_email(job.destination, message.subject, message.body, context)

    def _compose_letter(self, job: SendJob, now: datetime, bill_url: str) -> LetterMessage | SendResult:
        """The letter with the unit's owners and unpaid periods as the records have them now, its address as the
        job names it, signed by the community's company (the rules' identity)."""
        unit = self._store.get_unit(job.unit_id)
        if unit is None:  # as when its claim finds it gone: nothing is owed any more
            return self._skip(job, SkipReason.PAID, now)
        letter = compose_letter(job, unit, self._rules.identity_for(job.community_id), bill_url)
        # a missing font or seal is found before the claim: the job waits for the fix instead of a claim that dies
        find_font(self._settings.letter_font)
        seal_file(letter.identity, self._settings.rules_file)
        message = letter.message()
        assert isinstance(message, LetterMessage)
        return message

    def _write_letter(self, job: SendJob, message: RenderedMessage) -> str:
        """The letter's PDF in the bucket (for printing); its key is the evidence's reference."""
        if self._letters is None:
            raise ProviderUnavailable("no bucket for demand letters is configured")
        assert isinstance(message, LetterMessage) and message.letter is not None, "a letter job composes a letter"
        key = letter_key(job.planned_for.isoformat(), job.unit_id, job.step, job.occurrence)
        font = find_font(self._settings.letter_font)
        dated = datetime.combine(job.planned_for, time(9, 0), self._settings.tz)
        seal = seal_file(message.letter.identity, self._settings.rules_file)
        self._letters.put(key, letter_pdf(message.letter, font, dated, seal), "application/pdf")
        return key

    def _skip(self, job: SendJob, reason: str, now: datetime) -> SendResult:
        self._store.record_skip(job, str(reason), now)
        return SendResult(Outcome.SKIPPED, reason=str(reason))


def _attempt(step: Callable[[], _T]) -> _T | Exception:
    try:
        return step()
    except Exception as error:  # the record fails with it, as a single send's would
        return error


def evidence_for(job: SendJob, message: RenderedMessage, now: datetime) -> Reminder:
    """The claim as first written: what will be sent, to whom, and the balance it states."""
    return Reminder(
        unit_id=job.unit_id,
        community_id=job.community_id,
        step=job.step,
        occurrence=job.occurrence,
        channel=job.channel,
        destination=job.destination,
        template=job.template,
        template_version=message.template_version,
        content_sha256=message.content_sha256,
        balance_fen=job.balance_fen,
        status=ReminderStatus.CLAIMED,
        claimed_at=now,
        # the text itself, as sent (the evidence of what the owner was told); a task's brief is for staff
        subject=None if job.channel.is_task else message.subject,
        text=None if job.channel.is_task else message.body,
    )

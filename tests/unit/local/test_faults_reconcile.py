"""The faulty day's reconciliation: what counts as sent, skipped, in a DLQ, a duplicate, unconfirmed or lost."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bench.faults import _content, reconcile

from propfee.collection.letters import letter_key
from propfee.collection.tasks import task_id_for
from propfee.domain.models import Channel, PlanRequest, Reminder, ReminderStatus, SendJob

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 11)
TEXT = "【物业服务中心】{unit}业主您好，您的物业费250.00元已逾期。"


def job(unit_id: str, channel: Channel = Channel.SMS, community_id: str = "C01") -> SendJob:
    return SendJob(
        unit_id=unit_id,
        community_id=community_id,
        step=f"{channel.value}_d1",
        channel=channel,
        destination=f"+86138{unit_id[-4:]}0000" if channel is Channel.SMS else "the unit",
        language="zh-CN",
        template="reminder_friendly",
        unit_label=unit_id,
        balance_fen=25_000,
        overdue_since=date(2026, 10, 10),
        planned_for=DAY,
        unit_version=1,
    )


def evidence(planned: SendJob, status: ReminderStatus = ReminderStatus.SENT) -> Reminder:
    return Reminder(
        unit_id=planned.unit_id,
        community_id=planned.community_id,
        step=planned.step,
        occurrence=planned.occurrence,
        channel=planned.channel,
        destination=planned.destination,
        template=planned.template,
        template_version="v1",
        content_sha256=_content(None, TEXT.format(unit=planned.unit_id)),
        balance_fen=planned.balance_fen,
        status=status,
        claimed_at=datetime(2026, 11, 11, 9, 31, tzinfo=TZ),
    )


def sms(planned: SendJob) -> tuple[str, str]:
    return planned.destination, TEXT.format(unit=planned.unit_id)


def claim(planned: SendJob) -> tuple[str, str, int]:
    return planned.unit_id, planned.step, planned.occurrence


def test_each_planned_claim_has_one_ending_and_only_a_claim_no_provider_holds_is_lost():
    sent, unconfirmed, twice, skipped, dead, blocked, vanished = (job(f"C01-B01-01{n:02d}") for n in range(1, 8))
    letter, task = job("C01-B01-0201", Channel.LETTER), job("C01-B01-0202", Channel.LEGAL_REVIEW)
    planned = [sent, unconfirmed, twice, skipped, dead, blocked, vanished, letter, task]
    records = {
        claim(sent): evidence(sent),
        claim(unconfirmed): evidence(unconfirmed, ReminderStatus.CLAIMED),  # sent, then the function died
        claim(twice): evidence(twice),
        claim(blocked): evidence(blocked, ReminderStatus.CLAIMED),  # claimed, then died before the provider
    }
    figures = reconcile(
        enqueued=planned[:-1],
        computed_apart=planned,
        evidence=records,
        skips={(skipped.unit_id, skipped.step): "paid"},
        sms=[sms(sent), sms(unconfirmed), sms(twice), sms(twice)],
        email=[],
        letters={letter_key(DAY.isoformat(), *claim(letter))},
        tasks={task_id_for(*claim(task))},
        dead_letters=[{"Body": dead.model_dump_json()}, {"Body": "poison-1-0001 is not JSON"}],
    )
    assert figures["planned"] == 9 and figures["planned_enqueued"] == 8 and figures["planned_as_computed_apart"] == 9
    assert (figures["sent"], figures["skipped"], figures["in_dlq"], figures["lost"]) == (5, 1, 1, 2)
    assert figures["skipped_by_reason"] == {"paid": 1}
    assert figures["lost_by_evidence"] == {"claimed_never_sent": 1, "never_claimed": 1}
    assert figures["duplicates"] == 1 and figures["provider_messages_repeated"] == 1
    assert figures["unconfirmed"] == 1
    assert figures["sent_by_channel"] == {"legal_review": 1, "letter": 1, "sms": 3}
    assert figures["provider_messages_unmatched"] == 0 and figures["evidence_unplanned"] == 0


def test_a_community_whose_planning_request_or_whose_whole_plan_is_in_a_dlq_is_not_lost():
    first, other = job("C01-B01-0101"), job("C02-B01-0101", community_id="C02")
    request = PlanRequest(day=DAY, community_id="C01")
    common = {"evidence": {}, "skips": {}, "sms": [], "email": [], "letters": set(), "tasks": set()}
    by_request = reconcile([], [first, other], dead_letters=[{"Body": request.model_dump_json()}], **common)
    assert (by_request["in_dlq"], by_request["lost"]) == (1, 1)
    whole_plan = reconcile([], [first, other], dead_letters=[], plan_in_dlq=True, **common)
    assert (whole_plan["in_dlq"], whole_plan["lost"]) == (2, 0)

"""The send flow with in-memory ports: exactly once, fresh re-checks, and claims given back on failure."""

import hashlib
from collections import Counter
from datetime import date, timedelta

import pytest

from propfee.accounts.ledger import allocate, with_bill
from propfee.collection.ladder import DEFAULT_LADDER, Ladder, Step, decide
from propfee.collection.planning import job_for, plan_day
from propfee.collection.sending import (
    CLAIM_TIMEOUT,
    COLLECTORS_FRESH,
    ClaimInFlight,
    Outcome,
    Sender,
    SendResult,
    parse_job,
)
from propfee.collection.tasks import address_of
from propfee.domain.config import Settings
from propfee.domain.identity import CommunityIdentity
from propfee.domain.models import (
    Building,
    Channel,
    Collector,
    Hold,
    HoldKind,
    Owner,
    Reminder,
    ReminderStatus,
    SendJob,
    Unit,
)
from propfee.domain.ports import ClaimResult, ProviderOutcomeUnknown, ProviderRejected, ProviderUnavailable
from propfee.rules import load_rules
from tests.support import SHANGHAI, at, bill, payment, unit

SETTINGS = Settings(table="t")  # type: ignore[call-arg]
RULES = load_rules()


class MemoryStore:
    """What PropfeeTable does, in a dict: the claim is conditional on version and step."""

    def __init__(self, *units: Unit) -> None:
        self.units = {u.unit_id: u for u in units}
        self.claims: dict[tuple[str, str], Reminder] = {}
        self.status: dict[tuple[str, str], str] = {}
        self.skips: list[tuple[str, str]] = []

    def get_unit(self, unit_id):
        return self.units.get(unit_id)

    def collectors(self):
        return []

    def communities(self):
        return []

    def buildings(self, community_id):
        return []

    def claim(self, job: SendJob, reminder: Reminder, recent_contacts, task=None, new_link=None) -> ClaimResult:
        key = (job.unit_id, job.claim_key)
        if key in self.claims:
            return ClaimResult.ALREADY_CLAIMED
        current = self.units[job.unit_id]
        if current.version != job.unit_version or job.step in current.steps_done:
            return ClaimResult.UNIT_CHANGED
        self.claims[key] = reminder
        self.status[key] = "claimed"
        self.units[job.unit_id] = current.model_copy(
            update={
                "steps_done": current.steps_done | {job.step},
                "recent_contacts": recent_contacts,
                "version": current.version + 1,
                **({"bill_link": new_link} if new_link is not None else {}),
            }
        )
        return ClaimResult.CLAIMED

    def mark_sent(self, job, provider_message_id, at):
        self.status[(job.unit_id, job.claim_key)] = f"sent:{provider_message_id}"

    def mark_failed(self, job, reason, at):
        self.status[(job.unit_id, job.claim_key)] = f"failed:{reason}"

    def reminder(self, unit_id, claim_key):
        if (unit_id, claim_key) not in self.claims:
            return None
        state = self.status[(unit_id, claim_key)].split(":")[0]
        return self.claims[(unit_id, claim_key)].model_copy(update={"status": ReminderStatus(state)})

    def release(self, job):
        del self.claims[(job.unit_id, job.claim_key)]
        del self.status[(job.unit_id, job.claim_key)]
        current = self.units[job.unit_id]
        self.units[job.unit_id] = current.model_copy(
            update={
                "steps_done": current.steps_done - {job.step},
                "recent_contacts": job.recent_contacts,
                "version": current.version + 1,
            }
        )

    def record_skip(self, job, reason, at):
        self.skips.append((job.unit_id, reason))


class Provider:
    def __init__(self, failure: Exception | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.contexts: list[dict[str, str] | None] = []
        self.failure = failure

    def send_sms(self, phone, body, context=None, template=None):
        self.contexts.append(context)
        if self.failure:
            raise self.failure
        self.sent.append((phone, body))
        return f"sms-{len(self.sent)}"

    def send_email(self, to, subject, body, context=None):
        if self.failure:
            raise self.failure
        self.sent.append((to, subject))
        return f"email-{len(self.sent)}"


TODAY = date(2026, 11, 11)
NOW = at("2026-11-11 09:30")


def overdue_unit(**changes) -> Unit:
    return with_bill(unit(**changes), bill("C01-B01-0101", "2026-11"))


def planned_job(store: MemoryStore, unit_id="C01-B01-0101") -> SendJob:
    current = store.get_unit(unit_id)
    return job_for(current, decide(current, TODAY, SHANGHAI, DEFAULT_LADDER).action, TODAY)


def sender(store, sms=None, email=None):
    return Sender(SETTINGS, store, sms or Provider(), email or Provider(), RULES)


def test_a_job_is_sent_once_however_often_it_is_delivered():
    store, sms = MemoryStore(overdue_unit()), Provider()
    job = planned_job(store)
    results = [sender(store, sms).send(job, NOW) for _ in range(3)]
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert len(sms.sent) == 1
    phone, body = sms.sent[0]
    assert phone == "+8613812345678" and "250.00" in body
    assert store.status[("C01-B01-0101", job.claim_key)] == "sent:sms-1"
    # the provider carries the claim, so that its delivery receipt can find the evidence record
    assert sms.contexts[0] == {"unit_id": "C01-B01-0101", "claim": "REMINDER#sms_d1#1"}


def test_a_payment_after_planning_cancels_the_send_with_a_reason():
    store, sms = MemoryStore(overdue_unit()), Provider()
    job = planned_job(store)
    store.units["C01-B01-0101"] = allocate(
        store.units["C01-B01-0101"], payment("C01-B01-0101", 25000, "2026-11-11 08:00")
    ).unit_after
    result = sender(store, sms).send(job, NOW)
    assert (result.outcome, result.reason) == (Outcome.SKIPPED, "paid")
    assert sms.sent == [] and store.skips == [("C01-B01-0101", "paid")]


def test_a_partial_payment_after_planning_sends_the_current_balance():
    store, sms = MemoryStore(overdue_unit()), Provider()
    job = planned_job(store)
    store.units["C01-B01-0101"] = allocate(
        store.units["C01-B01-0101"], payment("C01-B01-0101", 5000, "2026-11-11 08:00")
    ).unit_after
    assert sender(store, sms).send(job, NOW).outcome is Outcome.SENT
    assert "200.00" in sms.sent[0][1]


def test_nothing_is_sent_outside_the_contact_window():
    store, sms = MemoryStore(overdue_unit()), Provider()
    job = planned_job(store)
    for late in ("2026-11-11 21:00", "2026-11-12 07:59"):
        result = sender(store, sms).send(job, at(late))
        assert (result.outcome, result.reason) == (Outcome.SKIPPED, "outside_contact_window")
    assert sms.sent == [] and store.claims == {}


def test_a_provider_outage_gives_the_claim_back_so_the_retry_sends():
    store = MemoryStore(overdue_unit())
    job = planned_job(store)
    with pytest.raises(ProviderUnavailable):
        sender(store, Provider(ProviderUnavailable("Throttling"))).send(job, NOW)
    assert store.claims == {} and store.units["C01-B01-0101"].steps_done == frozenset()
    sms = Provider()
    retried = sender(store, sms).send(job, NOW)
    assert retried.outcome is Outcome.SENT and len(sms.sent) == 1


def test_a_refused_number_spends_the_step_and_keeps_the_evidence():
    store = MemoryStore(overdue_unit())
    job = planned_job(store)
    result = sender(store, Provider(ProviderRejected("InvalidParameter"))).send(job, NOW)
    assert result.outcome is Outcome.FAILED
    assert store.status[("C01-B01-0101", job.claim_key)] == "failed:InvalidParameter"
    assert job.step in store.units["C01-B01-0101"].steps_done


def test_email_steps_go_by_email_with_a_subject():
    store, email = MemoryStore(overdue_unit()), Provider()
    current = store.get_unit("C01-B01-0101").model_copy(update={"steps_done": frozenset({"sms_d1"})})
    store.units["C01-B01-0101"] = current
    job = job_for(current, decide(current, date(2026, 11, 17), SHANGHAI).action, date(2026, 11, 17))
    assert job.channel.value == "email"
    assert sender(store, email=email).send(job, at("2026-11-17 09:30")).outcome is Outcome.SENT
    assert email.sent == [("wang@example.net", "物业费缴费提醒：B01-0101")]


def test_malformed_jobs_are_explained_without_personal_data():
    job, reason = parse_job('{"unit_id": "C01", "destination": "+8613812345678"}')
    assert job is None
    assert "malformed send job" in reason and "channel" in reason
    assert "13812345678" not in reason
    assert parse_job("not json")[0] is None


class MemoryQueue:
    def __init__(self):
        self.jobs = []

    def enqueue(self, jobs):
        self.jobs.extend(jobs)
        return len(jobs)


class MemoryArrears:
    def __init__(self, *units):
        self.units = units

    def communities(self):
        from tests.support import community

        return [community("C01")]

    def buildings(self, community_id):
        return []  # no names: the texts name the units by their codes

    def units_owing(self, community_id, due_before):
        return iter([u for u in self.units if u.oldest_due and u.oldest_due < due_before])


def test_the_plan_enqueues_one_job_per_unit_due_a_step_and_counts_the_rest():
    due = overdue_unit()
    done = overdue_unit(unit_id="C01-B01-0102").model_copy(update={"steps_done": frozenset({"sms_d1"})})
    unreachable = with_bill(unit(unit_id="C01-B01-0103", owners=()), bill("C01-B01-0103", "2026-11"))
    queue = MemoryQueue()
    summary = plan_day(TODAY, SHANGHAI, MemoryArrears(due, done, unreachable), queue, RULES)
    assert [j.unit_id for j in queue.jobs] == ["C01-B01-0101"]
    assert summary.skipped == {"step_already_sent": 1, "no_reachable_channel": 1}
    assert summary.units_considered == 3 and summary.jobs_enqueued == 1


class NamedArrears(MemoryArrears):
    def buildings(self, community_id):
        return [Building(community_id="C01", building_id="C01-B01", name="1栋", floors=18)]


def test_the_plan_carries_the_names_owners_know_their_unit_by_and_the_send_texts_them():
    queue = MemoryQueue()
    plan_day(TODAY, SHANGHAI, NamedArrears(overdue_unit()), queue, RULES)
    [job] = queue.jobs
    assert (job.community_name, job.building_name, job.room, job.owner_surname) == ("锦绣花园", "1栋", "0101", "王")

    store, sms = MemoryStore(overdue_unit()), Provider()
    company = RULES.with_parameters(
        Settings(table="t", sms_signature="锦绣物业", hotline="0571-8888 6666").identity_parameters
    )  # type: ignore[call-arg]
    Sender(SETTINGS, store, sms, Provider(), company).send(job, NOW)
    [(_, body)] = sms.sent
    assert body.startswith("【锦绣物业】尊敬的王先生/女士：您的锦绣花园1栋0101室物业费")
    assert "0571-8888 6666" in body


def test_a_job_planned_without_names_texts_the_codes():
    queue = MemoryQueue()
    plan_day(TODAY, SHANGHAI, MemoryArrears(overdue_unit()), queue, RULES)
    store, sms = MemoryStore(overdue_unit()), Provider()
    sender(store, sms).send(queue.jobs[0], NOW)
    assert "B01-0101" in sms.sent[0][1]


def test_a_hold_that_arrived_after_planning_cancels_the_send():
    store, sms = MemoryStore(overdue_unit()), Provider()
    job = planned_job(store)
    current = store.units["C01-B01-0101"]
    dispute = Hold(kind=HoldKind.DISPUTE, reason="面积算错")
    store.units["C01-B01-0101"] = current.model_copy(update={"holds": (dispute,), "version": current.version + 1})
    result = sender(store, sms).send(job, NOW)
    assert (result.outcome, result.reason) == (Outcome.SKIPPED, "on_hold_dispute")
    assert sms.sent == [] and store.claims == {}


@pytest.mark.parametrize(
    ("moment", "reason"),
    [("2026-11-11 12:30", "quiet_hours"), ("2026-10-01 10:00", "statutory_holiday"), ("2026-11-11 07:30", None)],
)
def test_lawful_hours_are_checked_at_the_moment_of_sending(moment, reason):
    store, sms = MemoryStore(overdue_unit()), Provider()
    result = sender(store, sms).send(planned_job(store), at(moment))
    assert result.reason == (reason or "outside_contact_window")
    assert sms.sent == []


def test_the_claim_records_the_contact_for_the_frequency_caps():
    store, sms = MemoryStore(overdue_unit()), Provider()
    assert sender(store, sms).send(planned_job(store), NOW).outcome is Outcome.SENT
    assert store.units["C01-B01-0101"].recent_contacts == (NOW,)
    # a ladder whose next step is due the next day: the 1-per-3-days cap holds it back until 11-14
    quick = Ladder(
        steps=(
            *DEFAULT_LADDER.steps[:1],
            Step(step_id="sms_d2", days_overdue=2, channel=Channel.SMS, template="reminder_notice"),
        )
    )
    later = store.units["C01-B01-0101"]
    assert decide(later, date(2026, 11, 13), SHANGHAI, quick).reason == "frequency_cap"
    assert decide(later, date(2026, 11, 14), SHANGHAI, quick).action.step.step_id == "sms_d2"


class AcceptsThenTimesOut(Provider):
    def send_sms(self, phone, body, context=None, template=None):
        super().send_sms(phone, body, context, template)
        raise TimeoutError("read timeout: the provider may have accepted the message")


def test_an_ambiguous_failure_keeps_the_claim_so_the_retry_does_not_send_again_but_hands_it_to_a_person():
    store, sms = MemoryStore(overdue_unit()), AcceptsThenTimesOut()
    job = planned_job(store)
    with pytest.raises(TimeoutError):
        sender(store, sms).send(job, NOW)
    assert store.status[("C01-B01-0101", job.claim_key)] == "claimed"
    # a copy of the job delivered meanwhile cannot tell a dead attempt from one still sending: it looks later
    with pytest.raises(ClaimInFlight):
        sender(store, sms).send(job, NOW)
    # the redelivery (or any attempt once the claim is older than a send can take) goes to the DLQ, with why
    for retry in (
        sender(store, sms).send(job, NOW, redelivered=True),
        sender(store, sms).send(job, NOW + CLAIM_TIMEOUT),
    ):
        assert retry.outcome is Outcome.UNCONFIRMED and "unconfirmed claim" in retry.reason
    assert len(sms.sent) == 1


def test_a_job_already_sent_is_a_duplicate_on_any_delivery():
    store, sms = MemoryStore(overdue_unit()), Provider()
    job = planned_job(store)
    assert sender(store, sms).send(job, NOW).outcome is Outcome.SENT
    assert sender(store, sms).send(job, NOW, redelivered=True).outcome is Outcome.DUPLICATE
    assert len(sms.sent) == 1


class Bucket:
    def __init__(self):
        self.objects = {}

    def put(self, key, body, content_type):
        self.objects[key] = (body, content_type)


def test_a_demand_letter_is_written_for_printing_and_does_not_count_as_an_automated_message():
    letter_unit = with_bill(unit(), bill("C01-B01-0101", "2026-09", due=date(2026, 9, 20)))
    store, bucket = MemoryStore(letter_unit), Bucket()
    job = planned_job(store)
    assert job.channel is Channel.LETTER and job.periods == ("2026-09",)
    result = Sender(SETTINGS, store, Provider(), Provider(), RULES, bucket).send(job, NOW)
    key = "letters/2026-11-11/C01-B01-0101.letter_d45.1.pdf"
    assert (result.outcome, result.provider_message_id) == (Outcome.SENT, key)
    body, content_type = bucket.objects[key]
    assert body.startswith(b"%PDF") and content_type == "application/pdf"
    assert store.units["C01-B01-0101"].recent_contacts == ()  # the caps count messages only


def test_a_letter_is_addressed_to_the_owner_at_the_named_address_and_its_text_is_the_evidence():
    letter_unit = with_bill(unit(), bill("C01-B01-0101", "2026-09", due=date(2026, 9, 20)))
    store, bucket = MemoryStore(letter_unit), Bucket()
    current = store.get_unit("C01-B01-0101")
    action = decide(current, TODAY, SHANGHAI, DEFAULT_LADDER).action
    job = job_for(current, action, TODAY, "锦绣花园", "1栋")  # the names, as the planner puts them on the job
    Sender(SETTINGS, store, Provider(), Provider(), RULES, bucket).send(job, NOW)
    evidence = store.claims[("C01-B01-0101", job.claim_key)]
    assert evidence.subject is None and evidence.text is not None
    assert "王芳业主" in evidence.text and "锦绣花园1栋0101室" in evidence.text and "250.00元" in evidence.text
    assert evidence.content_sha256 == hashlib.sha256(f"\n{evidence.text}".encode()).hexdigest()


def test_a_letter_is_signed_by_the_company_the_rules_name_for_its_community():
    letter_unit = with_bill(unit(), bill("C01-B01-0101", "2026-09", due=date(2026, 9, 20)))
    store, bucket = MemoryStore(letter_unit), Bucket()
    rules = RULES.with_parameters(CommunityIdentity(name="锦绣物业服务有限公司", hotline="021-5555-0101"))
    job = planned_job(store)
    Sender(SETTINGS, store, Provider(), Provider(), rules, bucket).send(job, NOW)
    text = store.claims[("C01-B01-0101", job.claim_key)].text
    assert text is not None and "锦绣物业服务有限公司" in text and "021-5555-0101" in text


def test_the_evidence_keeps_the_text_of_an_sms_and_of_an_email_as_sent():
    sms, email = Provider(), Provider()
    store = MemoryStore(overdue_unit())
    today, now = date(2026, 11, 17), at("2026-11-17 10:00")
    for job in jobs_planned(store, today):
        sender(store, sms, email).send(job, now)
    kept = {key[1]: reminder for key, reminder in store.claims.items()}
    [(_, sms_text)] = sms.sent
    [(_, subject)] = email.sent
    assert kept["REMINDER#notice_d7-sms#1"].text == sms_text
    assert kept["REMINDER#notice_d7-email#1"].subject == subject and kept["REMINDER#notice_d7-email#1"].text


# ------------------------------------------------------------------ richer steps: parts, repetitions, courtesy


def jobs_planned(store: MemoryStore, today: date, unit_id="C01-B01-0101") -> list[SendJob]:
    current = store.get_unit(unit_id)
    return [job_for(current, action, today) for action in decide(current, today, SHANGHAI, DEFAULT_LADDER).actions]


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["email first", "sms first"])
def test_the_two_messages_of_a_step_are_both_sent_once_and_count_as_one_contact(order):
    # 7 days after the due date of 2026-11-10: the notice goes by email and by SMS
    store = MemoryStore(overdue_unit())
    today, now = date(2026, 11, 17), at("2026-11-17 10:00")
    jobs = jobs_planned(store, today)
    assert sorted(j.step for j in jobs) == ["notice_d7-email", "notice_d7-sms"]
    sms, email = Provider(), Provider()

    results = [sender(store, sms, email).send(jobs[i], now) for i in order]

    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT]
    assert len(sms.sent) == len(email.sent) == 1
    after = store.get_unit("C01-B01-0101")
    assert after.recent_contacts == (now,)  # one contact for the frequency caps, not two
    assert {"notice_d7-email", "notice_d7-sms"} <= after.steps_done
    # redelivered, neither is sent again
    again = [sender(store, sms, email).send(job, now).outcome for job in jobs]
    assert again == [Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert len(sms.sent) == len(email.sent) == 1


def test_the_second_message_of_a_step_is_not_held_back_by_the_contact_its_first_message_made():
    store = MemoryStore(overdue_unit())
    email_job, _ = sorted(jobs_planned(store, date(2026, 11, 17)), key=lambda j: j.step)
    sender(store).send(email_job, at("2026-11-17 10:00"))

    # the next morning (the SMS was throttled yesterday): a new plan gives the SMS part alone
    later = jobs_planned(store, date(2026, 11, 18))

    assert [j.step for j in later] == ["notice_d7-sms"]
    assert later[0].counts_as_contact is False
    assert sender(store).send(later[0], at("2026-11-18 10:00")).outcome is Outcome.SENT
    assert store.get_unit("C01-B01-0101").recent_contacts == (at("2026-11-17 10:00"),)


def test_a_repeated_step_is_claimed_once_per_repetition():
    store = MemoryStore(overdue_unit())
    first = jobs_planned(store, date(2026, 12, 10))  # 30 days overdue
    assert [j.step for j in first] == ["sms_d30"]
    assert sender(store).send(first[0], at("2026-12-10 10:00")).outcome is Outcome.SENT
    assert jobs_planned(store, date(2026, 12, 12)) == []  # nothing until the repetition is due

    repeat = jobs_planned(store, date(2026, 12, 17))  # 37 days: the repetition
    assert [j.step for j in repeat] == ["sms_d30-r1"]
    assert sender(store).send(repeat[0], at("2026-12-17 10:00")).outcome is Outcome.SENT
    assert sender(store).send(repeat[0], at("2026-12-17 10:05")).outcome is Outcome.DUPLICATE


def test_a_courtesy_note_before_the_due_date_is_skipped_as_paid_when_the_owner_pays_first():
    # the bill falls due on 2026-11-10: the note goes out on the 7th
    owing = with_bill(unit(), bill("C01-B01-0101", "2026-11"))
    store = MemoryStore(owing)
    (job,) = jobs_planned(store, date(2026, 11, 7))
    assert job.step == "due_soon_sms"
    assert job.balance_fen == 25000
    store.units[owing.unit_id] = allocate(owing, payment(owing.unit_id, 25000, "2026-11-07 08:05")).unit_after

    result = sender(store).send(job, at("2026-11-07 09:30"))

    assert (result.outcome, result.reason) == (Outcome.SKIPPED, "paid")
    assert store.claims == {}


class TeamStore(MemoryStore):
    """Two collectors for the community; counts how often the team is read."""

    def __init__(self, *units: Unit) -> None:
        super().__init__(*units)
        self.reads = 0
        self.team = [Collector(collector_id=f"K{n}", name=f"催缴员{n}", communities=("C01",)) for n in (1, 2)]

        self.assigned: list[str] = []
        self.tasks: list = []

    def collectors(self):
        self.reads += 1
        return list(self.team)

    def claim(self, job, reminder, recent_contacts, task=None, new_link=None):
        result = super().claim(job, reminder, recent_contacts, task, new_link)
        if result is ClaimResult.CLAIMED and task is not None:
            self.assigned.append(task.collector_id)
            self.tasks.append(task)
        return result


def test_a_task_carries_the_owners_name_community_building_and_room_so_a_list_needs_no_reads():
    named = unit(
        "C01-B01-2304", owners=(Owner(name="陈静", relation="household"), Owner(name="王芳", phone="+8613812345678"))
    )
    nameless = unit("C01-B07-0101")
    store = TeamStore(*(with_bill(u, bill(u.unit_id, "2026-10", due=date(2026, 10, 25))) for u in (named, nameless)))
    send = sender(store)
    # the plan names the places it read (one building was never given a name)
    for unit_id, building_name in (("C01-B01-2304", "1栋"), ("C01-B07-0101", "")):
        current = store.get_unit(unit_id)
        [action] = decide(current, TODAY, SHANGHAI, DEFAULT_LADDER).actions
        job = job_for(current, action, TODAY, "锦绣花园", building_name)
        assert send.send(job, NOW).outcome is Outcome.ASSIGNED
    first, second = store.tasks
    # the owner of record, not the first person listed
    assert (first.owner_name, first.community_name, first.building_name, first.room) == (
        "王芳",
        "锦绣花园",
        "1栋",
        "2304",
    )
    assert address_of(first) == "锦绣花园1栋2304室"
    assert (second.community_name, second.building_name, second.room) == ("锦绣花园", "B07", "0101")


def test_tasks_given_out_together_are_shared_between_the_collectors_and_the_team_is_read_once_a_minute():
    ids = [f"C01-B01-01{n:02d}" for n in range(1, 5)]
    store = TeamStore(*(with_bill(unit(i), bill(i, "2026-10", due=date(2026, 10, 25))) for i in ids))
    send = sender(store)
    jobs = []
    for unit_id in ids:
        current = store.get_unit(unit_id)
        [action] = decide(current, TODAY, SHANGHAI, DEFAULT_LADDER).actions
        jobs.append(job_for(current, action, TODAY))
    assert {job.channel for job in jobs} == {Channel.CALL}

    results = [send.send(job, NOW) for job in jobs]

    assert [r.outcome for r in results] == [Outcome.ASSIGNED] * 4
    assert store.reads == 1
    assert Counter(store.assigned) == {"K1": 2, "K2": 2}  # the loads counted as the tasks went out
    later = overdue_unit(unit_id="C01-B01-0109")
    store.units[later.unit_id] = with_bill(
        unit("C01-B01-0109"), bill("C01-B01-0109", "2026-10", due=date(2026, 10, 25))
    )
    current = store.get_unit("C01-B01-0109")
    [action] = decide(current, TODAY, SHANGHAI, DEFAULT_LADDER).actions
    send.send(job_for(current, action, TODAY), NOW + COLLECTORS_FRESH + timedelta(seconds=1))
    assert store.reads == 2  # a minute on, the team and its loads are read again


class RecordsTemplates(Provider):
    def __init__(self, failure: Exception | None = None) -> None:
        super().__init__(failure)
        self.templates = []

    def send_sms(self, phone, body, context=None, template=None):
        self.templates.append(template)
        return super().send_sms(phone, body, context, template)


def test_an_sms_names_its_template_and_values_for_the_providers_that_send_approved_templates():
    store, sms = MemoryStore(overdue_unit()), RecordsTemplates()
    job = planned_job(store)
    sender(store, sms).send(job, NOW)
    (template,) = sms.templates
    assert (template.name, template.language) == (job.template, job.language)
    assert template.variables["amount"] in sms.sent[0][1] and "sms_signature" not in template.variables


def test_an_unknown_outcome_from_a_mainland_provider_keeps_the_claim_unconfirmed():
    store, sms = MemoryStore(overdue_unit()), RecordsTemplates(ProviderOutcomeUnknown("aliyun: no answer"))
    job = planned_job(store)
    with pytest.raises(ProviderOutcomeUnknown):
        sender(store, sms).send(job, NOW)
    assert store.status[("C01-B01-0101", job.claim_key)] == "claimed"
    assert sender(store, sms).send(job, NOW, redelivered=True).outcome is Outcome.UNCONFIRMED
    assert len(sms.templates) == 1  # never sent again


class BatchProvider(Provider):
    """A provider that takes many numbers a request and answers for each; `refuse` numbers are refused."""

    def __init__(self, refuse=(), down=(), unknown=()) -> None:
        super().__init__()
        self.requests: list[list[str]] = []
        self.refuse, self.down, self.unknown = set(refuse), set(down), set(unknown)

    def send_sms_batch(self, items):
        self.requests.append([i.phone for i in items])
        answers = []
        for item in items:
            self.contexts.append(item.context)
            if item.phone in self.refuse:
                answers.append(ProviderRejected("FailedOperation.PhoneNumberInBlacklist"))
            elif item.phone in self.down:
                answers.append(ProviderUnavailable("LimitExceeded.PhoneNumberOneHourLimit"))
            elif item.phone in self.unknown:
                answers.append(ProviderOutcomeUnknown("no answer for this number"))
            else:
                self.sent.append((item.phone, item.body))
                answers.append(f"batch-{len(self.sent)}")
        return answers


def batch_units(count=5):
    return [
        overdue_unit(unit_id=f"C01-B01-01{n:02d}", owners=(Owner(name="王芳", phone=f"+86139000000{n:02d}"),))
        for n in range(1, count + 1)
    ]


def test_a_batch_in_which_the_provider_refuses_some_numbers_sends_the_rest_once_and_ends_the_refused_with_reason():
    units = batch_units()
    store = MemoryStore(*units)
    jobs = [(planned_job(store, u.unit_id), False) for u in units]
    phones = [job.destination for job, _ in jobs]
    sms = BatchProvider(refuse={phones[1], phones[3]}, down={phones[4]})
    results = sender(store, sms).send_batch(jobs, NOW)

    assert sms.requests == [phones]  # one request for the batch
    assert [r.outcome if isinstance(r, SendResult) else type(r) for r in results] == [
        Outcome.SENT, Outcome.FAILED, Outcome.SENT, Outcome.FAILED, ProviderUnavailable]  # fmt: skip
    status = [store.status.get((job.unit_id, job.claim_key)) for job, _ in jobs]
    assert status[:4] == ["sent:batch-1", "failed:FailedOperation.PhoneNumberInBlacklist", "sent:batch-2",
                          "failed:FailedOperation.PhoneNumberInBlacklist"]  # fmt: skip
    assert status[4] is None  # not sent: the claim given back, the record's retry sends it
    # each number's claim travelled with it
    assert [c["unit_id"] for c in sms.contexts] == [u.unit_id for u in units]

    # the batch delivered again (SQS at least once): nothing is sent twice, the one not sent now is
    again = BatchProvider()
    retried = sender(store, again).send_batch([(job, True) for job, _ in jobs], NOW)
    assert again.requests == [[phones[4]]] and again.sent == [(phones[4], sms_body(jobs[4][0], store))]
    assert [r.outcome for r in retried] == [Outcome.DUPLICATE] * 4 + [Outcome.SENT]
    assert len(sms.sent) + len(again.sent) == 3


def sms_body(job, store):
    return store.claims[(job.unit_id, job.claim_key)].text


def test_a_number_whose_outcome_is_unknown_keeps_its_claim_and_its_retry_goes_to_a_person():
    units = batch_units(2)
    store = MemoryStore(*units)
    jobs = [(planned_job(store, u.unit_id), False) for u in units]
    sms = BatchProvider(unknown={jobs[0][0].destination})
    first, second = sender(store, sms).send_batch(jobs, NOW)
    assert isinstance(first, ProviderOutcomeUnknown) and second.outcome is Outcome.SENT
    assert store.status[(jobs[0][0].unit_id, jobs[0][0].claim_key)] == "claimed"
    again = BatchProvider()
    retried = sender(store, again).send_batch([(jobs[0][0], True)], NOW)
    assert again.requests == [] and retried[0].outcome is Outcome.UNCONFIRMED


def test_a_provider_that_takes_one_number_a_request_leaves_every_job_to_the_single_send():
    units = batch_units(2)
    store = MemoryStore(*units)
    jobs = [(planned_job(store, u.unit_id), False) for u in units]
    assert sender(store, Provider()).send_batch(jobs, NOW) == [None, None]
    assert store.claims == {}

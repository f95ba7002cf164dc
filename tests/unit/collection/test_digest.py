"""The collectors' morning digest: one message per collector with the tasks new since yesterday's, once a day,
in the contact window."""

from datetime import date, time, timedelta

import pytest

from propfee.collection.digest import check_digest_templates, digest_for, new_tasks, send_digests
from propfee.collection.messages import sms_segments
from propfee.collection.policy import ContactPolicy, TimeRange
from propfee.domain.models import Channel, Collector, Task
from propfee.domain.ports import ProviderRejected, ProviderUnavailable
from tests.support import SHANGHAI, at

RUN = at("2026-11-11 10:30")  # the schedule's time, an hour after the plan
POLICY = ContactPolicy()
BY_EMAIL = Collector(collector_id="K1", name="张伟", communities=("C01",), email="zhangwei@staff.example.com",
                     phone="+8613900001111")  # fmt: skip
BY_SMS = Collector(collector_id="K2", name="李娜", communities=("C01",), phone="+8613900002222")
NO_CONTACT = Collector(collector_id="K3", name="王强", communities=("C01",))


def task(room: str, collector: str = "K1", made: str = "2026-11-11 09:31", **changes) -> Task:
    fields = {
        "task_id": f"C01-B01-{room}.call_d15.1",
        "unit_id": f"C01-B01-{room}",
        "community_id": "C01",
        "kind": Channel.CALL,
        "step": "call_d15",
        "collector_id": collector,
        "created_at": at(made),
        "due_by": at(made) + timedelta(days=2),
        "unit_label": f"B01-{room}",
        "owner_name": "陈静",
        "community_name": "锦绣花园",
        "building_name": "1栋",
        "room": room,
        "call_number": "+8613812345678",
        "balance_fen": 25000,
    }
    return Task(**{**fields, **changes})


def test_only_the_open_tasks_made_since_the_previous_run_are_new():
    fresh, yesterdays, done = task("0101"), task("0102", made="2026-11-10 09:31"), task("0103", status="done")
    late_yesterday = task("0104", made="2026-11-10 15:00")  # given out after yesterday's digest
    assert [t.room for t in new_tasks([fresh, yesterdays, done, late_yesterday], RUN)] == ["0104", "0101"]


def test_an_email_lists_every_new_task_with_its_address_owner_amount_and_local_deadline():
    tasks = [task(f"01{n:02d}") for n in range(1, 5)]
    digest = digest_for(BY_EMAIL, tasks, RUN, SHANGHAI, "锦绣物业")
    assert (digest.channel, digest.destination, digest.tasks) == (Channel.EMAIL, BY_EMAIL.email, 4)
    assert digest.subject == "锦绣物业：2026-11-11新增催缴任务4项"
    for n in range(1, 5):
        assert f"电话催缴｜锦绣花园1栋01{n:02d}室｜业主陈静｜欠费250.00元｜期限11-13 09:31" in digest.body
    assert "13812345678" not in digest.body  # the number is in the collector's list, not in a message


def test_without_an_email_a_short_sms_names_the_first_tasks_and_fits_the_segment_limit():
    tasks = [task(f"01{n:02d}", collector="K2") for n in range(1, 6)]
    tasks.append(task("0199", collector="K2", made="2026-11-05 09:31"))  # an older one, now past due
    digest = digest_for(BY_SMS, tasks, RUN, SHANGHAI, "锦绣物业")
    assert (digest.channel, digest.destination, digest.subject) == (Channel.SMS, BY_SMS.phone, None)
    assert digest.body.startswith("【锦绣物业】李娜您好，新增催缴任务5项，另有1项已过期限：")
    assert "电话催缴锦绣花园1栋0101室(陈静)欠250.00元；电话催缴锦绣花园1栋0102室(陈静)欠250.00元等。" in digest.body
    assert "0103" not in digest.body and sms_segments(digest.body) <= 3


def test_in_english_for_a_collector_who_reads_english():
    digest = digest_for(BY_SMS.model_copy(update={"language": "en"}), [task("0101")], RUN, SHANGHAI, "Jinxiu PM")
    assert digest.body.startswith("[Jinxiu PM] 李娜: 1 new task: call Rm 0101, 1栋, 锦绣花园 (陈静) ¥250")


def test_nothing_new_or_nobody_to_tell_is_no_digest():
    assert digest_for(BY_EMAIL, [task("0101", made="2026-11-09 09:31")], RUN, SHANGHAI, "x") is None
    assert digest_for(NO_CONTACT, [task("0101")], RUN, SHANGHAI, "x") is None


def test_the_digest_templates_pass_the_message_lint_and_the_longest_sms_fits():
    assert check_digest_templates() == []


class Store:
    def __init__(self, collectors, tasks):
        self.team, self.open = collectors, tasks
        self.claims: dict[tuple[str, date], str] = {}

    def collectors(self):
        return list(self.team)

    def tasks(self, collector_id, status="open"):
        return [t for t in self.open if t.collector_id == collector_id and t.status == status]

    def claim_digest(self, collector_id, day, at):
        if (collector_id, day) in self.claims:
            return False
        self.claims[(collector_id, day)] = "claimed"
        return True

    def digest_sent(self, collector_id, day, provider_message_id, tasks, at):
        self.claims[(collector_id, day)] = f"sent:{provider_message_id}:{tasks}"

    def release_digest(self, collector_id, day):
        del self.claims[(collector_id, day)]


class Outbox:
    def __init__(self, fail=None):
        self.sent: list[tuple[str, str]] = []
        self.fail = fail

    def send_sms(self, phone, body, context=None, template=None):
        return self._send(phone, body)

    def send_email(self, to, subject, body, context=None):
        return self._send(to, body)

    def _send(self, to, body):
        if self.fail is not None:
            error, self.fail = self.fail, None
            raise error
        self.sent.append((to, body))
        return f"m{len(self.sent)}"


def _team():
    tasks = [task("0101"), task("0102", collector="K2"), task("0103", collector="K3")]
    return Store([BY_EMAIL, BY_SMS, NO_CONTACT], tasks)


def test_each_collector_gets_one_digest_a_day_however_often_the_run_is_repeated():
    store, outbox = _team(), Outbox()
    first = send_digests(store, outbox, outbox, RUN, RUN, SHANGHAI, POLICY, "锦绣物业")
    assert (first.sent, first.no_contact) == (["K1", "K2"], ["K3"])
    assert [to for to, _ in outbox.sent] == [BY_EMAIL.email, BY_SMS.phone]
    assert store.claims[("K1", date(2026, 11, 11))] == "sent:m1:1"
    again = send_digests(store, outbox, outbox, RUN, RUN + timedelta(minutes=5), SHANGHAI, POLICY, "锦绣物业")
    assert (again.sent, again.duplicates, len(outbox.sent)) == ([], ["K1", "K2"], 2)


@pytest.mark.parametrize("hour", ["07:30", "21:30", "12:30"])
def test_staff_are_not_texted_outside_the_company_contact_window_or_its_quiet_hours(hour):
    policy = POLICY.model_copy(update={"quiet_hours": TimeRange(start=time(12, 0), end=time(14, 0))})
    store, outbox = _team(), Outbox()
    summary = send_digests(store, outbox, outbox, RUN, at(f"2026-11-11 {hour}"), SHANGHAI, policy, "x")
    assert summary.blocked in {"outside_contact_window", "quiet_hours"} and outbox.sent == [] and store.claims == {}


def test_a_provider_that_is_down_gives_the_claim_back_so_the_retry_sends_and_a_refusal_is_not_retried():
    store, outbox = _team(), Outbox(fail=ProviderUnavailable("throttled"))
    first = send_digests(store, outbox, outbox, RUN, RUN, SHANGHAI, POLICY, "x")
    assert (first.unavailable, first.sent) == (["K1"], ["K2"]) and ("K1", date(2026, 11, 11)) not in store.claims
    retry = send_digests(store, outbox, outbox, RUN, RUN + timedelta(minutes=1), SHANGHAI, POLICY, "x")
    assert (retry.sent, retry.duplicates) == (["K1"], ["K2"])

    store, outbox = _team(), Outbox(fail=ProviderRejected("invalid address"))
    assert send_digests(store, outbox, outbox, RUN, RUN, SHANGHAI, POLICY, "x").rejected == ["K1"]
    assert send_digests(store, outbox, outbox, RUN, RUN, SHANGHAI, POLICY, "x").duplicates == ["K1", "K2"]

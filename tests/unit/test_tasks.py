"""Who takes a call or visit, and what its outcome does to the unit."""

from datetime import date, timedelta

import pytest

from propfee.models import Channel, Collector, HoldKind, Owner, Task, TaskOutcome
from propfee.tasks import TaskError, choose_collector, close_task, finished, unit_after_outcome
from tests.support import at, unit

K1 = Collector(collector_id="K1", name="张伟", communities=("C01",), buildings=("C01-B01",), open_tasks=5)
K2 = Collector(collector_id="K2", name="李娜", communities=("C01",), buildings=("C01-B02",), open_tasks=0)
K3 = Collector(collector_id="K3", name="王强", communities=("C01",), open_tasks=1)
PM = Collector(collector_id="PM", name="赵敏", role="site_manager", communities=("C01",), open_tasks=9)
TODAY = date(2026, 11, 26)


def task(**changes) -> Task:
    fields = {
        "task_id": "C01-B01-0101.call_d15.1",
        "unit_id": "C01-B01-0101",
        "community_id": "C01",
        "kind": Channel.CALL,
        "step": "call_d15",
        "collector_id": "K1",
        "created_at": at("2026-11-26 09:30"),
        "due_by": at("2026-11-28 09:30"),
        "unit_label": "B01-0101",
        "call_number": "+8613812345678",
        "balance_fen": 25000,
    }
    return Task(**{**fields, **changes})


def test_the_buildings_collector_takes_the_task_before_the_communitys_least_loaded():
    staff = [K1, K2, K3, PM]
    assert choose_collector(staff, "C01", "C01-B01").collector_id == "K1"
    assert choose_collector(staff, "C01", "C01-B09").collector_id == "K2"  # no one for B09: least loaded in C01
    assert choose_collector(staff, "C01", "C01-B01", role="site_manager").collector_id == "PM"
    assert choose_collector(staff, "C02", "C02-B01") is None


def test_among_equals_the_least_loaded_then_the_first_id():
    a = K3.model_copy(update={"collector_id": "A", "open_tasks": 2})
    b = K3.model_copy(update={"collector_id": "B", "open_tasks": 2})
    c = K3.model_copy(update={"collector_id": "C", "open_tasks": 3})
    assert choose_collector([c, b, a], "C01", "C01-B05").collector_id == "A"


def test_a_promise_holds_the_ladder_until_the_promised_date():
    after = unit_after_outcome(unit(), task(), TaskOutcome.PROMISED, date(2026, 12, 10), TODAY)
    [hold] = after.holds
    assert (hold.kind, hold.until) == (HoldKind.PROMISE_TO_PAY, date(2026, 12, 10))
    assert after.version == unit().version + 1


@pytest.mark.parametrize("promised", [None, date(2026, 11, 25)])
def test_a_promise_needs_a_date_from_today_on(promised):
    with pytest.raises(TaskError):
        unit_after_outcome(unit(), task(), TaskOutcome.PROMISED, promised, TODAY)


def test_an_owner_who_says_paid_is_held_for_verification_not_marked_paid():
    before = unit()
    after = unit_after_outcome(before, task(), TaskOutcome.PAID, None, TODAY)
    [hold] = after.holds
    assert (hold.kind, hold.until) == (HoldKind.PAID_CLAIM, TODAY + timedelta(days=7))
    assert after.open_bills == before.open_bills and after.balance_fen == before.balance_fen


def test_a_wrong_number_is_not_called_or_texted_again():
    other = Owner(name="李雷", phone="+8613900000000")
    before = unit(owners=(Owner(name="王芳", phone="+8613812345678"), other))
    after = unit_after_outcome(before, task(), TaskOutcome.WRONG_NUMBER, None, TODAY)
    assert after.owners[0].sms_disabled and after.owners[1] == other


@pytest.mark.parametrize("outcome", [TaskOutcome.REFUSED, TaskOutcome.UNREACHABLE])
def test_other_outcomes_leave_the_unit_as_it_is(outcome):
    assert unit_after_outcome(unit(), task(), outcome, None, TODAY) is None


def test_a_task_is_closed_once():
    done = finished(task(), TaskOutcome.REFUSED, None, "不交", at("2026-11-26 18:00"))
    assert (done.status, done.outcome, done.note) == ("done", TaskOutcome.REFUSED, "不交")
    with pytest.raises(TaskError):
        finished(done, TaskOutcome.PROMISED, TODAY, "", at("2026-11-26 18:05"))


class Store:
    def __init__(self, conflicts=0):
        self.task, self.unit, self.conflicts, self.writes = task(), unit(), conflicts, []

    def get_task(self, task_id):
        return self.task if task_id == self.task.task_id else None

    def get_unit(self, unit_id):
        return self.unit

    def complete_task(self, done, unit_after, unit_version):
        if self.conflicts:
            self.conflicts -= 1
            return False
        self.writes.append((done, unit_after, unit_version))
        return True


def test_closing_a_task_retries_when_the_unit_changed_meanwhile():
    store = Store(conflicts=1)
    done = close_task(
        store, store.task.task_id, TaskOutcome.PROMISED, date(2026, 12, 1), "", at("2026-11-26 18:00"), TODAY
    )
    assert done.status == "done" and len(store.writes) == 1
    assert store.writes[0][1].holds[0].until == date(2026, 12, 1)
    with pytest.raises(TaskError, match="no task"):
        close_task(store, "nope", TaskOutcome.REFUSED, None, "", at("2026-11-26 18:00"), TODAY)

"""Who takes a call, a visit or a legal review, and what its outcome does to the unit."""

from datetime import date, timedelta

import pytest

from propfee.collection.ladder import Action, Ladder, SkipReason, Step, decide
from propfee.collection.tasks import (
    TASK_DEADLINES,
    TaskError,
    brief,
    choose_collector,
    close_task,
    finished,
    outcomes_for,
    unit_after_outcome,
)
from propfee.domain.models import Channel, Collector, HoldKind, OpenBill, Owner, Task, TaskOutcome
from tests.support import SHANGHAI, at, unit

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


# ---------------------------------------------------------------- legal review: the site manager decides on a referral

CALL_OUTCOMES = [
    TaskOutcome.PROMISED,
    TaskOutcome.REFUSED,
    TaskOutcome.WRONG_NUMBER,
    TaskOutcome.UNREACHABLE,
    TaskOutcome.PAID,
    TaskOutcome.VISITED,
]
REVIEW_OUTCOMES = [TaskOutcome.PROMISED, TaskOutcome.PAID, TaskOutcome.REFERRED, TaskOutcome.NOT_REFERRED]
OWING = {"2026-08": OpenBill(due=date(2026, 8, 10), outstanding_fen=25000)}  # 108 days overdue on TODAY


def review(**changes) -> Task:
    fields = {
        "task_id": "C01-B01-0101.review_d90.1",
        "kind": Channel.LEGAL_REVIEW,
        "step": "review_d90",
        "collector_id": "PM",
        "due_by": at("2026-12-03 09:30"),
        "call_number": None,
        "overdue_since": date(2026, 8, 10),
    }
    return task(**{**fields, **changes})


@pytest.mark.parametrize(
    ("kind", "outcomes"),
    [(Channel.CALL, CALL_OUTCOMES), (Channel.VISIT, CALL_OUTCOMES), (Channel.LEGAL_REVIEW, REVIEW_OUTCOMES)],
)
def test_the_outcomes_a_task_can_end_with_depend_on_its_kind(kind, outcomes):
    assert outcomes_for(kind) == outcomes


@pytest.mark.parametrize("outcome", [TaskOutcome.REFERRED, TaskOutcome.NOT_REFERRED])
@pytest.mark.parametrize("kind", [Channel.CALL, Channel.VISIT])
def test_a_call_or_visit_cannot_end_referred_or_not_referred(kind, outcome):
    with pytest.raises(
        TaskError,
        match=f"a {kind.value} task ends promised, refused, wrong_number, unreachable, paid, visited, not {outcome}",
    ):
        finished(task(kind=kind), outcome, None, "", at("2026-11-26 18:00"))


@pytest.mark.parametrize("outcome", [TaskOutcome.WRONG_NUMBER, TaskOutcome.UNREACHABLE, TaskOutcome.REFUSED])
def test_a_review_cannot_end_wrong_number_unreachable_or_refused(outcome):
    with pytest.raises(
        TaskError, match=f"a legal_review task ends promised, paid, referred, not_referred, not {outcome}"
    ):
        finished(review(), outcome, None, "", at("2026-11-26 18:00"))


@pytest.mark.parametrize("outcome", REVIEW_OUTCOMES)
def test_a_review_can_end_with_each_of_its_outcomes(outcome):
    done = finished(review(), outcome, None, "律师函已发", at("2026-11-27 10:00"))

    assert (done.status, done.outcome, done.note) == ("done", outcome, "律师函已发")


def test_an_outcome_that_does_not_fit_the_task_is_refused_before_anything_is_written():
    store = Store()

    with pytest.raises(TaskError, match="not referred"):
        close_task(store, store.task.task_id, TaskOutcome.REFERRED, None, "", at("2026-11-26 18:00"), TODAY)
    assert store.writes == []


@pytest.mark.parametrize(
    ("note", "reason"), [("", "referred to the lawyers, task C01-B01-0101.review_d90.1"), ("王律师", "王律师")]
)
def test_a_referral_puts_the_unit_on_an_open_ended_legal_hold(note, reason):
    before = unit(open_bills=OWING)

    after = unit_after_outcome(before, review(), TaskOutcome.REFERRED, None, TODAY, note)

    [hold] = after.holds
    assert (hold.kind, hold.until, hold.reason) == (HoldKind.LEGAL, None, reason)
    assert after.version == before.version + 1
    assert after.open_bills == before.open_bills  # the debt is the lawyers' now, not forgiven


def test_not_referred_leaves_the_unit_as_it_is():
    assert unit_after_outcome(unit(open_bills=OWING), review(), TaskOutcome.NOT_REFERRED, None, TODAY) is None


# a community whose ladder goes on after the review: a letter a month later
REVIEW_THEN_LETTER = Ladder(
    steps=(
        Step(step_id="review_d60", days_overdue=60, channel=Channel.LEGAL_REVIEW),
        Step(step_id="letter_d100", days_overdue=100, channel=Channel.LETTER, template="demand_letter"),
    )
)


def test_a_referral_stops_the_ladder_and_not_referred_lets_it_go_on():
    reviewed = unit(open_bills=OWING, steps_done=frozenset({"review_d60"}))
    letter = Action(REVIEW_THEN_LETTER.steps[1], Channel.LETTER, "B01-0101")
    assert decide(reviewed, TODAY, SHANGHAI, REVIEW_THEN_LETTER).actions == (letter,)

    store = Store()
    store.task, store.unit = review(step="review_d60", task_id="C01-B01-0101.review_d60.1"), reviewed
    close_task(store, store.task.task_id, TaskOutcome.REFERRED, None, "", at("2026-11-26 18:00"), TODAY)
    [(done, referred, _version)] = store.writes

    assert done.outcome is TaskOutcome.REFERRED
    assert decide(referred, TODAY, SHANGHAI, REVIEW_THEN_LETTER).reason == "on_hold_legal"
    # open-ended: a year on, on the default ladder, as a key customer, still held
    assert decide(referred, date(2027, 11, 25), SHANGHAI, REVIEW_THEN_LETTER).reason == "on_hold_legal"
    assert decide(referred, TODAY, SHANGHAI).reason == "on_hold_legal"
    assert decide(referred.model_copy(update={"key_customer": True}), TODAY, SHANGHAI).reason == "on_hold_legal"

    not_referred = Store()
    not_referred.task, not_referred.unit = store.task, reviewed
    close_task(not_referred, store.task.task_id, TaskOutcome.NOT_REFERRED, None, "", at("2026-11-26 18:00"), TODAY)
    [(_done, unchanged, _version)] = not_referred.writes
    assert unchanged is None
    assert decide(reviewed, TODAY, SHANGHAI, REVIEW_THEN_LETTER).actions == (letter,)


def test_on_the_default_ladder_the_site_manager_reviews_and_a_referral_holds_the_unit():
    owing = unit(open_bills=OWING)
    [action] = decide(owing, TODAY, SHANGHAI).actions
    assert (action.channel, action.destination, action.assignee_role, action.claim_id) == (
        Channel.LEGAL_REVIEW,
        "B01-0101",
        "site_manager",
        "review_d90",
    )
    reviewed = owing.model_copy(update={"steps_done": frozenset({"review_d90"})})
    assert decide(reviewed, TODAY, SHANGHAI).reason is SkipReason.STEP_ALREADY_SENT

    referred = unit_after_outcome(reviewed, review(), TaskOutcome.REFERRED, None, TODAY)

    assert decide(referred, TODAY, SHANGHAI).reason == "on_hold_legal"  # the hold is the reason given first


def test_the_review_brief_names_the_oldest_due_date_and_the_limitation_period():
    assert brief(review()) == (
        "法务审核(是否起诉或申请仲裁) B01-0101 欠费250.00元 负责人PM 截止2026-12-03"
        " 最早欠费自2026-08-10 诉讼时效3年,每次催缴后重新起算"
    )


def test_a_call_brief_does_not_speak_of_the_limitation_period():
    assert brief(task(overdue_since=date(2026, 8, 10))) == "电话催缴 B01-0101 欠费250.00元 负责人K1 截止2026-11-28"


def test_a_review_goes_to_the_site_manager_with_a_week_to_decide():
    staff = [K1, K2, K3, PM]

    assert choose_collector(staff, "C01", "C01-B01", role="site_manager") == PM  # not the building's collector
    assert choose_collector([K1, K2, K3], "C01", "C01-B01", role="site_manager") is None
    assert TASK_DEADLINES[Channel.LEGAL_REVIEW] == timedelta(days=7)
    assert TASK_DEADLINES[Channel.CALL] == TASK_DEADLINES[Channel.VISIT] == timedelta(days=2)


def test_a_review_can_end_in_a_promise_that_holds_the_ladder_until_its_date():
    after = unit_after_outcome(unit(open_bills=OWING), review(), TaskOutcome.PROMISED, date(2026, 12, 20), TODAY)

    [hold] = after.holds
    assert (hold.kind, hold.until) == (HoldKind.PROMISE_TO_PAY, date(2026, 12, 20))
    assert decide(after, TODAY, SHANGHAI).reason == "on_hold_promise_to_pay"

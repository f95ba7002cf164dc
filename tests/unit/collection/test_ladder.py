"""The escalation ladder: which reminder (if any) a unit gets today, on which channel, to whom, and why not."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from propfee.collection.ladder import (
    DEFAULT_LADDER,
    DEFAULT_POLICY,
    Action,
    Ladder,
    Repeat,
    SkipReason,
    Step,
    amount_for,
    decide,
)
from propfee.collection.policy import Blocked, ContactPolicy, FrequencyCap
from propfee.domain.models import Channel, Hold, HoldKind, OpenBill, Owner
from tests.support.builders import (
    ANY_DAY,
    EMAIL,
    EMAIL_2,
    PHONE,
    PHONE_2,
    PROPERTY,
    SHANGHAI,
    TODAY,
    contacts,
    hold,
    make_unit,
    overdue_by,
    owner,
)

NATIONAL_DAY = date(2026, 10, 1)  # 国庆节, a Thursday
MAKE_UP_SATURDAY = date(2026, 2, 14)  # 调休: a Saturday worked before the Spring Festival
ORDINARY_SATURDAY = date(2026, 3, 7)
WEEKENDS_OFF = ContactPolicy(contact_on_weekends=False)
LABEL = "B03-1502"  # how make_unit()'s unit C01-B03-1502 is named: a visit's, a letter's or a review's destination


def _step(ladder, step_id):
    return next(step for step in ladder.steps if step.step_id == step_id)


# ---------------------------------------------------------------- the step for the unit's age


NOTICE_BOTH = [("notice_d7-email", Channel.EMAIL, EMAIL), ("notice_d7-sms", Channel.SMS, PHONE)]


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (-3, [("due_soon_sms", Channel.SMS, PHONE)]),  # three days before the due date: a courtesy note
        (0, [("due_soon_sms", Channel.SMS, PHONE)]),  # due today: still the courtesy note
        (1, [("sms_d1", Channel.SMS, PHONE)]),
        (6, [("sms_d1", Channel.SMS, PHONE)]),
        (7, NOTICE_BOTH),  # an email and an SMS, each claimed on its own
        (14, NOTICE_BOTH),
        (15, [("call_d15", Channel.CALL, PHONE)]),
        (29, [("call_d15", Channel.CALL, PHONE)]),
        (30, [("sms_d30", Channel.SMS, PHONE)]),
        (36, [("sms_d30", Channel.SMS, PHONE)]),
        (37, [("sms_d30-r1", Channel.SMS, PHONE)]),  # the day-30 SMS once more, a week later
        (44, [("sms_d30-r1", Channel.SMS, PHONE)]),
        (45, [("letter_d45", Channel.LETTER, LABEL)]),
        (89, [("letter_d45", Channel.LETTER, LABEL)]),
    ],
)
def test_the_step_follows_the_age_of_the_oldest_unpaid_bill(days, expected):
    decision = decide(make_unit(open_bills=overdue_by(days)), TODAY, SHANGHAI)

    assert decision.reason is None
    assert [(a.claim_id, a.channel, a.destination) for a in decision.actions] == expected
    assert all(a.claim_id.split("-")[0] == a.step.step_id for a in decision.actions)
    assert {a.assignee_role for a in decision.actions} == {"collector"}
    assert decision.action == decision.actions[0]


def test_age_counts_from_the_oldest_unpaid_bill_not_the_newest():
    bills = {
        "2025-01": OpenBill(due=TODAY - timedelta(days=40), outstanding_fen=100),
        "2025-02": OpenBill(due=TODAY - timedelta(days=2), outstanding_fen=21044),
    }
    decision = decide(make_unit(open_bills=bills), TODAY, SHANGHAI)

    assert decision.action is not None
    assert decision.action.step.step_id == "sms_d30"


def test_a_fully_paid_old_bill_does_not_age_the_unit():
    bills = {
        "2025-01": OpenBill(due=TODAY - timedelta(days=40), outstanding_fen=0),
        "2025-03": OpenBill(due=TODAY - timedelta(days=3), outstanding_fen=21044),
    }
    decision = decide(make_unit(open_bills=bills), TODAY, SHANGHAI)

    assert decision.action is not None
    assert decision.action.step.step_id == "sms_d1"


def test_a_missed_step_is_not_sent_late():
    # 20 days overdue and nothing sent yet: the unit gets the day-15 call, not the day-1 SMS or the day-7 notice
    decision = decide(make_unit(open_bills=overdue_by(20)), TODAY, SHANGHAI)

    assert decision.action is not None
    assert decision.action.step.step_id == "call_d15"


@pytest.mark.parametrize(
    "done", [{"call_d15"}, {"due_soon_sms", "sms_d1", "notice_d7-email", "notice_d7-sms", "call_d15"}]
)
def test_a_step_already_sent_is_never_sent_again(done):
    unit = make_unit(open_bills=overdue_by(20), steps_done=frozenset(done))

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.action is None
    assert decision.reason is SkipReason.STEP_ALREADY_SENT


def test_earlier_steps_already_sent_do_not_block_the_current_one():
    done = frozenset({"due_soon_sms", "sms_d1", "notice_d7-email", "notice_d7-sms", "call_d15"})
    unit = make_unit(open_bills=overdue_by(31), steps_done=done)

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.action is not None
    assert decision.action.step.step_id == "sms_d30"


# ---------------------------------------------------------------- nothing to do


@pytest.mark.parametrize(
    "open_bills",
    [
        {},
        overdue_by(-4),  # due in four days: the courtesy note goes out three days before
        overdue_by(-30),  # due in a month
        {"2025-02": OpenBill(due=TODAY - timedelta(days=10), outstanding_fen=0)},
    ],
    ids=["no bills", "due in four days", "due later", "nothing outstanding"],
)
def test_nothing_is_sent_when_nothing_is_overdue_or_about_to_fall_due(open_bills):
    decision = decide(make_unit(open_bills=open_bills), TODAY, SHANGHAI)

    assert decision.action is None
    assert decision.reason is SkipReason.NOT_OVERDUE


def test_nothing_is_sent_before_the_first_step_is_due():
    ladder = Ladder(steps=(Step(step_id="sms_d5", days_overdue=5, channel=Channel.SMS, template="reminder_friendly"),))

    decision = decide(make_unit(open_bills=overdue_by(4)), TODAY, SHANGHAI, ladder)

    assert decision.action is None
    assert decision.reason is SkipReason.NOT_OVERDUE


MIN_1000 = Ladder(
    steps=(
        Step(step_id="sms_d1", days_overdue=1, channel=Channel.SMS, template="reminder_friendly", min_amount_fen=1000),
    )
)


def test_a_small_overdue_amount_is_below_the_minimum():
    decision = decide(make_unit(open_bills=overdue_by(3, outstanding_fen=999)), TODAY, SHANGHAI, MIN_1000)

    assert decision.action is None
    assert decision.reason is SkipReason.BELOW_MINIMUM


def test_the_minimum_amount_itself_is_enough():
    decision = decide(make_unit(open_bills=overdue_by(3, outstanding_fen=1000)), TODAY, SHANGHAI, MIN_1000)

    assert decision.action is not None


def test_only_the_overdue_amount_counts_towards_the_minimum():
    bills = {
        "2025-03": OpenBill(due=TODAY - timedelta(days=3), outstanding_fen=999),
        "2025-04": OpenBill(due=TODAY + timedelta(days=10), outstanding_fen=50_000),
    }

    decision = decide(make_unit(open_bills=bills), TODAY, SHANGHAI, MIN_1000)

    assert decision.action is None
    assert decision.reason is SkipReason.BELOW_MINIMUM


# ---------------------------------------------------------------- key customers: a visit by the site manager


@pytest.mark.parametrize(
    ("days", "step_id"),
    [
        (1, "sms_d1"),
        (7, "notice_d7"),  # one visit for the step, not one per message
        (15, "call_d15"),
        (30, "sms_d30"),
        (36, "sms_d30"),
        (45, "letter_d45"),
        (89, "letter_d45"),
    ],
)
def test_a_key_customer_gets_a_site_manager_visit_for_whatever_step_is_due(days, step_id):
    decision = decide(make_unit(open_bills=overdue_by(days), key_customer=True), TODAY, SHANGHAI)

    assert decision.reason is None
    # claimed under the step id itself, whatever channels the step has
    assert decision.actions == (
        Action(_step(DEFAULT_LADDER, step_id), Channel.VISIT, LABEL, "site_manager", claim_id=step_id),
    )


def test_a_key_customer_never_gets_an_automated_message_even_when_the_owner_can_be_reached():
    unit = make_unit(open_bills=overdue_by(30), key_customer=True, owners=(owner(), owner("李雷", PHONE_2, EMAIL_2)))

    action = decide(unit, TODAY, SHANGHAI).action

    assert action is not None
    assert (action.channel, action.destination, action.assignee_role) == (Channel.VISIT, LABEL, "site_manager")


def test_a_key_customer_visit_is_not_held_back_by_the_frequency_cap():
    # a message today and four in the last 30 days: both default caps are reached
    recent = contacts("2025-03-20 09:00", "2025-03-12 09:00", "2025-03-05 09:00", "2025-02-25 09:00")
    unit = make_unit(open_bills=overdue_by(30), key_customer=True, recent_contacts=recent)

    assert decide(unit.model_copy(update={"key_customer": False}), TODAY, SHANGHAI).reason is Blocked.FREQUENCY_CAP
    decision = decide(unit, TODAY, SHANGHAI)
    assert decision.action == Action(_step(DEFAULT_LADDER, "sms_d30"), Channel.VISIT, LABEL, "site_manager")


@pytest.mark.parametrize(
    "owners",
    [(), (owner(phone=None, email=None),), (owner(sms_opt_out=True, email_opt_out=True, sms_disabled="unknown"),)],
    ids=["no owners", "no contact details", "opted out and disabled"],
)
def test_a_key_customer_visit_needs_no_reachable_owner(owners):
    unit = make_unit(open_bills=overdue_by(7), key_customer=True, owners=owners)

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.actions == (Action(_step(DEFAULT_LADDER, "notice_d7"), Channel.VISIT, LABEL, "site_manager"),)


@pytest.mark.parametrize(
    ("day", "policy", "reason"),
    [
        (NATIONAL_DAY, DEFAULT_POLICY, Blocked.STATUTORY_HOLIDAY),
        (TODAY, ContactPolicy(extra_holidays=(TODAY,)), Blocked.STATUTORY_HOLIDAY),
        (ORDINARY_SATURDAY, WEEKENDS_OFF, Blocked.WEEKEND),
        (date(2027, 3, 2), DEFAULT_POLICY, Blocked.HOLIDAY_CALENDAR_UNKNOWN),  # move on when chinesecalendar knows 2027
    ],
    ids=["national day", "company day off", "weekend off", "calendar unknown"],
)
def test_a_key_customer_is_still_blocked_by_the_day(day, policy, reason):
    unit = make_unit(open_bills=overdue_by(20, today=day), key_customer=True)

    decision = decide(unit, day, SHANGHAI, policy=policy)

    assert decision.action is None
    assert decision.reason is reason


# ---------------------------------------------------------------- holds


@pytest.mark.parametrize("kind", list(HoldKind))
def test_a_hold_in_force_stops_the_reminder_and_names_its_kind(kind):
    unit = make_unit(open_bills=overdue_by(20), holds=(hold(kind),))

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.action is None
    assert decision.reason == f"on_hold_{kind.value}"


def test_the_hold_reason_reads_as_plain_text():
    decision = decide(make_unit(open_bills=overdue_by(20), holds=(hold(HoldKind.DISPUTE),)), TODAY, SHANGHAI)

    assert decision.reason == "on_hold_dispute"


@pytest.mark.parametrize(
    ("until", "held"),
    [
        (None, True),  # until released
        (TODAY + timedelta(days=10), True),
        (TODAY, True),  # the last day of a promise to pay is still inside it
        (TODAY - timedelta(days=1), False),  # the promised day has passed
        (TODAY - timedelta(days=60), False),
    ],
)
def test_a_hold_lasts_until_its_day_inclusive(until, held):
    unit = make_unit(open_bills=overdue_by(20), holds=(hold(HoldKind.PROMISE_TO_PAY, until=until),))

    decision = decide(unit, TODAY, SHANGHAI)

    if held:
        assert decision.reason == "on_hold_promise_to_pay"
    else:
        assert decision.reason is None
        assert decision.action is not None
        assert decision.action.step.step_id == "call_d15"


def test_an_expired_hold_does_not_hide_one_still_in_force():
    holds = (
        hold(HoldKind.PROMISE_TO_PAY, until=TODAY - timedelta(days=3)),
        hold(HoldKind.COMPLAINT, until=None, reason="电梯维修投诉"),
    )

    assert decide(make_unit(open_bills=overdue_by(20), holds=holds), TODAY, SHANGHAI).reason == "on_hold_complaint"


def test_a_hold_is_not_reported_when_nothing_is_due_yet_or_the_amount_is_below_the_minimum():
    held = (hold(HoldKind.MANUAL),)

    assert decide(make_unit(open_bills=overdue_by(-4), holds=held), TODAY, SHANGHAI).reason is SkipReason.NOT_OVERDUE
    # a bill due today has its courtesy step: the hold stops that one too
    assert decide(make_unit(open_bills=overdue_by(0), holds=held), TODAY, SHANGHAI).reason == "on_hold_manual"
    below = make_unit(open_bills=overdue_by(3, outstanding_fen=999), holds=held)
    assert decide(below, TODAY, SHANGHAI, MIN_1000).reason is SkipReason.BELOW_MINIMUM


def test_a_hold_is_reported_before_every_later_check():
    # the step is already sent, the owner is a key customer, today is National Day, the cap is reached and
    # nobody can be reached: the hold is still the reason given
    unit = make_unit(
        open_bills=overdue_by(20, today=NATIONAL_DAY),
        steps_done=frozenset({"call_d15"}),
        key_customer=True,
        recent_contacts=contacts("2026-10-01 09:00"),
        owners=(),
        holds=(hold(HoldKind.PAID_CLAIM),),
    )

    assert decide(unit, NATIONAL_DAY, SHANGHAI).reason == "on_hold_paid_claim"


# ---------------------------------------------------------------- the order of the remaining checks


def test_a_step_already_sent_is_reported_before_the_key_customer_visit():
    unit = make_unit(open_bills=overdue_by(20), steps_done=frozenset({"call_d15"}), key_customer=True)

    assert decide(unit, TODAY, SHANGHAI).reason is SkipReason.STEP_ALREADY_SENT


def test_a_blocked_day_is_reported_before_the_key_customer_visit():
    unit = make_unit(open_bills=overdue_by(20, today=NATIONAL_DAY), key_customer=True)

    assert decide(unit, NATIONAL_DAY, SHANGHAI).reason is Blocked.STATUTORY_HOLIDAY
    action = decide(unit, NATIONAL_DAY, SHANGHAI, policy=ANY_DAY).action
    assert action == Action(_step(DEFAULT_LADDER, "call_d15"), Channel.VISIT, LABEL, "site_manager")


def test_the_key_customer_visit_comes_before_the_frequency_cap_and_the_channel_checks():
    unit = make_unit(
        open_bills=overdue_by(30), key_customer=True, owners=(), recent_contacts=contacts("2025-03-20 08:00")
    )

    assert decide(unit, TODAY, SHANGHAI).action == Action(
        _step(DEFAULT_LADDER, "sms_d30"), Channel.VISIT, LABEL, "site_manager"
    )


def test_a_blocked_day_is_reported_before_the_frequency_cap():
    unit = make_unit(open_bills=overdue_by(30, today=NATIONAL_DAY), recent_contacts=contacts("2026-09-30 10:00"))

    assert decide(unit, NATIONAL_DAY, SHANGHAI).reason is Blocked.STATUTORY_HOLIDAY
    assert decide(unit, NATIONAL_DAY, SHANGHAI, policy=ANY_DAY).reason is Blocked.FREQUENCY_CAP


def test_the_frequency_cap_is_reported_before_an_unreachable_owner():
    unit = make_unit(open_bills=overdue_by(30), owners=(), recent_contacts=contacts("2025-03-19 10:00"))

    assert decide(unit, TODAY, SHANGHAI).reason is Blocked.FREQUENCY_CAP
    assert decide(unit, TODAY, SHANGHAI, policy=ContactPolicy(frequency_caps=())).reason is (
        SkipReason.NO_REACHABLE_CHANNEL
    )


# ---------------------------------------------------------------- days without automated contact


def test_no_reminder_on_a_statutory_holiday():
    unit = make_unit(open_bills=overdue_by(20, today=NATIONAL_DAY))

    decision = decide(unit, NATIONAL_DAY, SHANGHAI)

    assert decision.action is None
    assert decision.reason is Blocked.STATUTORY_HOLIDAY


def test_a_company_may_contact_owners_on_statutory_holidays():
    unit = make_unit(open_bills=overdue_by(20, today=NATIONAL_DAY))

    decision = decide(unit, NATIONAL_DAY, SHANGHAI, policy=ANY_DAY)

    assert decision.action is not None
    assert decision.action.step.step_id == "call_d15"


def test_weekends_are_blocked_only_when_the_company_says_so():
    unit = make_unit(open_bills=overdue_by(20, today=ORDINARY_SATURDAY))

    assert decide(unit, ORDINARY_SATURDAY, SHANGHAI).action is not None
    assert decide(unit, ORDINARY_SATURDAY, SHANGHAI, policy=WEEKENDS_OFF).reason is Blocked.WEEKEND


def test_a_make_up_workday_is_a_workday_even_when_weekends_are_off():
    assert chinese_calendar.is_workday(MAKE_UP_SATURDAY) and MAKE_UP_SATURDAY.weekday() == 5
    unit = make_unit(open_bills=overdue_by(20, today=MAKE_UP_SATURDAY))

    decision = decide(unit, MAKE_UP_SATURDAY, SHANGHAI, policy=WEEKENDS_OFF)

    assert decision.reason is None
    assert decision.action is not None


def test_a_company_day_off_is_blocked():
    unit = make_unit(open_bills=overdue_by(20))

    decision = decide(unit, TODAY, SHANGHAI, policy=ContactPolicy(extra_holidays=(TODAY,)))

    assert decision.reason is Blocked.STATUTORY_HOLIDAY


def test_a_year_the_holiday_calendar_does_not_know_is_blocked_until_the_company_lists_its_holidays():
    day = date(2027, 3, 2)  # a Tuesday; update this test (to the next year) when chinesecalendar learns 2027
    unit = make_unit(open_bills=overdue_by(20, today=day))

    assert decide(unit, day, SHANGHAI).reason is Blocked.HOLIDAY_CALENDAR_UNKNOWN
    listed = ContactPolicy(extra_holidays=(date(2027, 1, 1),))
    assert decide(unit, day, SHANGHAI, policy=listed).action is not None


# ---------------------------------------------------------------- frequency caps


@pytest.mark.parametrize(
    ("recent", "capped"),
    [
        ((), False),
        (("2025-03-20 08:00",), True),  # today
        (("2025-03-20 00:00",), True),  # today, at the first moment of the local day
        (("2025-03-18 23:59",), True),  # two local days ago: 1 message per 3 days
        (("2025-03-17 00:00",), False),  # three local days ago
        (("2025-01-01 09:00",), False),
        # 4 messages per 30 days: three inside the window are fine, the fourth caps
        (("2025-03-17 09:00", "2025-03-10 09:00", "2025-02-28 09:00"), False),
        (("2025-03-17 09:00", "2025-03-10 09:00", "2025-02-28 09:00", "2025-02-19 09:00"), True),  # 29 days ago
        (("2025-03-17 09:00", "2025-03-10 09:00", "2025-02-28 09:00", "2025-02-18 23:59"), False),  # 30 days ago
    ],
)
def test_the_default_caps_count_recent_contacts_by_local_day(recent, capped):
    unit = make_unit(open_bills=overdue_by(30), recent_contacts=contacts(*recent))

    decision = decide(unit, TODAY, SHANGHAI)

    if capped:
        assert decision.action is None
        assert decision.reason is Blocked.FREQUENCY_CAP
    else:
        assert decision.reason is None
        assert decision.action is not None


def test_the_frequency_cap_uses_the_company_local_date_not_the_utc_date():
    # 2025-03-17 16:30 UTC is 2025-03-18 00:30 in Shanghai: three UTC days before today, but only two local days
    unit = make_unit(open_bills=overdue_by(30), recent_contacts=(datetime(2025, 3, 17, 16, 30, tzinfo=UTC),))

    assert decide(unit, TODAY, SHANGHAI).reason is Blocked.FREQUENCY_CAP
    assert decide(unit, TODAY, ZoneInfo("UTC")).action is not None


def test_a_late_evening_contact_counts_for_its_own_local_day():
    # 23:30 in Shanghai is 15:30 UTC the same day: it counts for 2025-03-18, not the day after
    unit = make_unit(open_bills=overdue_by(30), recent_contacts=contacts("2025-03-18 23:30"))

    assert decide(unit, date(2025, 3, 20), SHANGHAI).reason is Blocked.FREQUENCY_CAP
    assert decide(unit, date(2025, 3, 21), SHANGHAI).action is not None


def test_without_caps_recent_contacts_never_hold_a_message_back():
    unit = make_unit(
        open_bills=overdue_by(30), recent_contacts=contacts(*(f"2025-03-{d:02d} 09:00" for d in range(1, 21)))
    )

    assert decide(unit, TODAY, SHANGHAI, policy=ContactPolicy(frequency_caps=())).action is not None


def test_a_longer_cap_holds_messages_back_longer():
    policy = ContactPolicy(frequency_caps=(FrequencyCap(messages=1, days=7),))
    unit = make_unit(open_bills=overdue_by(30), recent_contacts=contacts("2025-03-14 09:00"))  # six local days ago

    assert decide(unit, TODAY, SHANGHAI, policy=policy).reason is Blocked.FREQUENCY_CAP
    assert decide(unit, TODAY + timedelta(days=1), SHANGHAI, policy=policy).action is not None
    assert decide(unit, TODAY, SHANGHAI).action is not None  # the default 1 per 3 days would allow it


def test_a_cap_of_two_messages_allows_the_second_and_stops_the_third():
    policy = ContactPolicy(frequency_caps=(FrequencyCap(messages=2, days=7),))
    one = make_unit(open_bills=overdue_by(30), recent_contacts=contacts("2025-03-19 09:00"))
    two = make_unit(open_bills=overdue_by(30), recent_contacts=contacts("2025-03-19 09:00", "2025-03-15 09:00"))

    assert decide(one, TODAY, SHANGHAI, policy=policy).action is not None
    assert decide(two, TODAY, SHANGHAI, policy=policy).reason is Blocked.FREQUENCY_CAP


def test_contacts_count_across_channels():
    # yesterday's SMS (day 1) caps today's email and SMS notice (day 7) just as an email would
    unit = make_unit(
        open_bills=overdue_by(7), steps_done=frozenset({"sms_d1"}), recent_contacts=contacts("2025-03-19 10:00")
    )

    assert decide(unit, TODAY, SHANGHAI).reason is Blocked.FREQUENCY_CAP
    assert decide(unit, TODAY, SHANGHAI, ONE_EMAIL).reason is Blocked.FREQUENCY_CAP


# both default caps reached: a message today, and four in the last 30 days
CAPPED = contacts("2025-03-20 08:00", "2025-03-12 09:00", "2025-03-05 09:00", "2025-02-25 09:00")


def test_a_call_step_is_not_held_back_by_the_frequency_cap():
    unit = make_unit(open_bills=overdue_by(15), recent_contacts=CAPPED)

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.reason is None
    assert decision.action == Action(_step(DEFAULT_LADDER, "call_d15"), Channel.CALL, PHONE, "collector")
    # the same unit a day later in the ladder's message steps is capped
    assert decide(unit.model_copy(update={"open_bills": overdue_by(30)}), TODAY, SHANGHAI).reason is (
        Blocked.FREQUENCY_CAP
    )


def test_a_call_that_becomes_a_visit_is_not_held_back_by_the_frequency_cap():
    unit = make_unit(open_bills=overdue_by(15), owners=(owner(phone=None),), recent_contacts=CAPPED)

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.action == Action(_step(DEFAULT_LADDER, "call_d15"), Channel.VISIT, LABEL, "collector")


VISIT_LADDER = Ladder(
    steps=(
        Step(step_id="sms_d1", days_overdue=1, channel=Channel.SMS, template="reminder_friendly"),
        Step(step_id="visit_d20", days_overdue=20, channel=Channel.VISIT),
    )
)


def test_a_visit_step_is_not_held_back_by_the_frequency_cap_and_needs_no_reachable_owner():
    unit = make_unit(open_bills=overdue_by(20), owners=(), recent_contacts=CAPPED)

    decision = decide(unit, TODAY, SHANGHAI, VISIT_LADDER)

    assert decision.action == Action(_step(VISIT_LADDER, "visit_d20"), Channel.VISIT, LABEL, "collector")


def test_a_task_step_is_still_blocked_on_a_day_off():
    call = make_unit(open_bills=overdue_by(15, today=NATIONAL_DAY))
    visit = make_unit(open_bills=overdue_by(20, today=NATIONAL_DAY))

    assert decide(call, NATIONAL_DAY, SHANGHAI).reason is Blocked.STATUTORY_HOLIDAY
    assert decide(visit, NATIONAL_DAY, SHANGHAI, VISIT_LADDER).reason is Blocked.STATUTORY_HOLIDAY


@pytest.mark.parametrize("done", ["call_d15", "visit_d20"])
def test_a_task_step_already_done_is_not_given_again(done):
    unit = make_unit(open_bills=overdue_by(20), steps_done=frozenset({done}))
    ladder = VISIT_LADDER if done == "visit_d20" else DEFAULT_LADDER

    assert decide(unit, TODAY, SHANGHAI, ladder).reason is SkipReason.STEP_ALREADY_SENT


# ---------------------------------------------------------------- channels and opt-outs

# a one-channel email step: the default ladder's day-7 notice sends an email and an SMS, with no fallback
ONE_EMAIL = Ladder(steps=(Step(step_id="email_d7", days_overdue=7, channel=Channel.EMAIL, template="reminder_notice"),))


def test_sms_step_falls_back_to_email_when_there_is_no_phone():
    unit = make_unit(open_bills=overdue_by(1), owners=(owner(phone=None),))

    action = decide(unit, TODAY, SHANGHAI).action

    assert action is not None
    assert action.step.step_id == "sms_d1"
    assert (action.channel, action.destination) == (Channel.EMAIL, EMAIL)


def test_sms_step_falls_back_to_email_when_the_owner_opted_out_of_sms():
    unit = make_unit(open_bills=overdue_by(1), owners=(owner(sms_opt_out=True),))

    action = decide(unit, TODAY, SHANGHAI).action

    assert action is not None
    assert (action.channel, action.destination) == (Channel.EMAIL, EMAIL)


def test_email_step_falls_back_to_sms_when_there_is_no_email():
    unit = make_unit(open_bills=overdue_by(7), owners=(owner(email=None),))

    action = decide(unit, TODAY, SHANGHAI, ONE_EMAIL).action

    assert action is not None
    assert action.step.step_id == "email_d7"
    assert (action.channel, action.destination) == (Channel.SMS, PHONE)


def test_email_step_falls_back_to_sms_when_the_owner_opted_out_of_email():
    unit = make_unit(open_bills=overdue_by(7), owners=(owner(email_opt_out=True),))

    action = decide(unit, TODAY, SHANGHAI, ONE_EMAIL).action

    assert action is not None
    assert (action.channel, action.destination) == (Channel.SMS, PHONE)


def test_the_steps_own_channel_is_preferred_over_the_fallback():
    unit = make_unit(
        open_bills=overdue_by(7), owners=(owner(phone=PHONE, email=None), owner(phone=None, email=EMAIL_2))
    )

    action = decide(unit, TODAY, SHANGHAI, ONE_EMAIL).action

    assert action is not None
    assert (action.channel, action.destination) == (Channel.EMAIL, EMAIL_2)


def test_another_household_member_is_reached_when_the_first_owner_opted_out():
    owners = (owner(sms_opt_out=True, email=None), owner(name="李雷", phone=PHONE_2, email=None, relation="co_owner"))
    unit = make_unit(open_bills=overdue_by(1), owners=owners)

    action = decide(unit, TODAY, SHANGHAI).action

    assert action is not None
    assert (action.channel, action.destination) == (Channel.SMS, PHONE_2)


def test_an_opt_out_belongs_to_the_address_not_the_person():
    # the same number, listed by two household members; one of them opted out
    owners = (owner(email=None), owner(name="李雷", phone=PHONE, email=EMAIL_2, sms_opt_out=True, relation="household"))
    unit = make_unit(open_bills=overdue_by(1), owners=owners)

    action = decide(unit, TODAY, SHANGHAI).action

    assert action is not None
    assert (action.channel, action.destination) == (Channel.EMAIL, EMAIL_2)


@pytest.mark.parametrize(
    ("bounced", "expected"),
    [
        ({"sms_disabled": "unknown_number"}, (Channel.EMAIL, EMAIL)),
        ({"email_disabled": "bounce"}, (Channel.SMS, PHONE)),
    ],
)
def test_an_address_disabled_by_a_delivery_event_is_not_used(bounced, expected):
    # the step's own channel is the disabled one: the day-1 SMS, or a one-channel day-7 email
    step_days, ladder = (1, DEFAULT_LADDER) if "sms_disabled" in bounced else (7, ONE_EMAIL)
    unit = make_unit(open_bills=overdue_by(step_days), owners=(owner(**bounced),))

    action = decide(unit, TODAY, SHANGHAI, ladder).action

    assert action is not None
    assert (action.channel, action.destination) == expected


@pytest.mark.parametrize(
    "owners",
    [
        (),
        (owner(phone=None, email=None),),
        (owner(sms_opt_out=True, email_opt_out=True),),
        (owner(sms_opt_out=True, email=None), owner(phone=None, email_opt_out=True)),
    ],
    ids=["no owners", "no contact details", "opted out of both", "each opted out of what they have"],
)
@pytest.mark.parametrize(
    "days", [-3, 1, 7, 30, 37], ids=["due_soon_sms", "sms_d1", "notice_d7", "sms_d30", "sms_d30-r1"]
)
def test_no_reachable_channel(owners, days):
    unit = make_unit(open_bills=overdue_by(days), owners=owners)

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.action is None
    assert decision.reason is SkipReason.NO_REACHABLE_CHANNEL


# ---------------------------------------------------------------- call tasks


def test_a_call_step_goes_to_a_phone_even_when_the_owner_opted_out_of_sms():
    unit = make_unit(open_bills=overdue_by(15), owners=(owner(sms_opt_out=True),))

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.reason is None
    assert decision.action == Action(_step(DEFAULT_LADDER, "call_d15"), Channel.CALL, PHONE, "collector")
    # the same owner gets no SMS on the day-1 step
    sms = decide(unit.model_copy(update={"open_bills": overdue_by(1)}), TODAY, SHANGHAI).action
    assert sms is not None
    assert sms.channel is Channel.EMAIL


def test_a_call_step_is_a_call_even_when_an_email_address_could_be_used():
    unit = make_unit(open_bills=overdue_by(15), owners=(owner(phone=PHONE, email=EMAIL, sms_opt_out=True),))

    action = decide(unit, TODAY, SHANGHAI).action

    assert action is not None
    assert (action.channel, action.destination) == (Channel.CALL, PHONE)


def test_a_call_step_skips_a_dead_number_for_the_next_owners_phone():
    owners = (
        owner(sms_disabled="unknown_number"),
        owner(name="李雷", phone=PHONE_2, email=None, sms_opt_out=True, relation="co_owner"),
    )
    unit = make_unit(open_bills=overdue_by(15), owners=owners)

    action = decide(unit, TODAY, SHANGHAI).action

    assert action is not None
    assert (action.channel, action.destination, action.assignee_role) == (Channel.CALL, PHONE_2, "collector")


@pytest.mark.parametrize(
    "owners",
    [
        (),
        (owner(phone=None, email=None),),
        (owner(phone=None),),  # an email address is no use to a collector who has to call
        (owner(sms_disabled="unknown_number"),),
        (owner(sms_disabled="unknown_number"), owner(name="李雷", phone=None, email=EMAIL_2)),
    ],
    ids=["no owners", "no contact details", "email only", "dead number", "dead number and no other phone"],
)
def test_a_call_step_with_no_usable_phone_becomes_a_visit_to_the_unit(owners):
    unit = make_unit(open_bills=overdue_by(15), owners=owners)

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.reason is None
    assert decision.action == Action(_step(DEFAULT_LADDER, "call_d15"), Channel.VISIT, LABEL, "collector")


# ---------------------------------------------------------------- demand letters

LETTER = _step(DEFAULT_LADDER, "letter_d45")


@pytest.mark.parametrize("days", [45, 46, 60, 89])
def test_a_unit_45_to_89_days_overdue_gets_the_demand_letter_delivered_to_the_unit(days):
    decision = decide(make_unit(open_bills=overdue_by(days)), TODAY, SHANGHAI)

    assert decision.reason is None
    assert decision.action == Action(LETTER, Channel.LETTER, LABEL, "collector")
    assert (LETTER.channel, LETTER.template) == (Channel.LETTER, "demand_letter")


def test_the_letter_goes_to_the_unit_even_when_the_owners_can_be_messaged():
    owners = (owner(), owner("李雷", PHONE_2, EMAIL_2, relation="co_owner"))
    unit = make_unit(open_bills=overdue_by(45), owners=owners)

    decision = decide(unit, TODAY, SHANGHAI)

    # neither an SMS nor an email to an owner: the letter is addressed to the unit itself
    assert decision.action == Action(LETTER, Channel.LETTER, LABEL, "collector")


@pytest.mark.parametrize(
    "owners",
    [
        (),
        (owner(phone=None, email=None),),
        (owner(sms_opt_out=True, email_opt_out=True),),
        (owner(sms_disabled="unknown_number", email_disabled="bounce"),),
    ],
    ids=["no owners", "no contact details", "opted out of both", "dead number and bounced mailbox"],
)
def test_the_letter_needs_no_reachable_owner_and_never_falls_back_to_another_channel(owners):
    unit = make_unit(open_bills=overdue_by(45), owners=owners)

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.reason is None
    assert decision.action == Action(LETTER, Channel.LETTER, LABEL, "collector")
    # the same owners on the day-30 SMS step cannot be reached at all
    assert decide(unit.model_copy(update={"open_bills": overdue_by(30)}), TODAY, SHANGHAI).reason is (
        SkipReason.NO_REACHABLE_CHANNEL
    )


@pytest.mark.parametrize(
    "policy",
    [DEFAULT_POLICY, ContactPolicy(frequency_caps=(FrequencyCap(messages=1, days=30),))],
    ids=["default caps", "one message a month"],
)
def test_the_letter_is_not_held_back_by_the_frequency_cap(policy):
    unit = make_unit(open_bills=overdue_by(45), recent_contacts=CAPPED)

    decision = decide(unit, TODAY, SHANGHAI, policy=policy)

    assert decision.reason is None
    assert decision.action == Action(LETTER, Channel.LETTER, LABEL, "collector")
    # a day earlier on the ladder, the day-30 SMS to the same unit is capped
    assert decide(unit.model_copy(update={"open_bills": overdue_by(44)}), TODAY, SHANGHAI, policy=policy).reason is (
        Blocked.FREQUENCY_CAP
    )


def test_a_key_customer_gets_a_site_manager_visit_instead_of_a_letter():
    unit = make_unit(open_bills=overdue_by(45), key_customer=True)

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.reason is None
    assert decision.action == Action(LETTER, Channel.VISIT, LABEL, "site_manager")
    assert decision.action.channel is not Channel.LETTER


@pytest.mark.parametrize("owners", [(), (owner(),)], ids=["no owners", "reachable owner"])
def test_a_key_customer_visit_for_the_letter_step_ignores_the_caps_and_the_owners(owners):
    unit = make_unit(open_bills=overdue_by(60), key_customer=True, owners=owners, recent_contacts=CAPPED)

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.action == Action(LETTER, Channel.VISIT, LABEL, "site_manager")


def test_a_letter_already_sent_is_not_sent_again_and_earlier_steps_do_not_block_it():
    earlier = frozenset(
        {"due_soon_sms", "sms_d1", "notice_d7-email", "notice_d7-sms", "call_d15", "sms_d30", "sms_d30-r1"}
    )
    unit = make_unit(open_bills=overdue_by(50), steps_done=earlier)

    assert decide(unit, TODAY, SHANGHAI).action == Action(LETTER, Channel.LETTER, LABEL, "collector")
    sent = unit.model_copy(update={"steps_done": earlier | {"letter_d45"}})
    assert decide(sent, TODAY, SHANGHAI).reason is SkipReason.STEP_ALREADY_SENT
    assert decide(sent.model_copy(update={"key_customer": True}), TODAY, SHANGHAI).reason is (
        SkipReason.STEP_ALREADY_SENT
    )


def test_a_letter_is_held_back_by_a_hold_and_on_a_day_off():
    held = make_unit(open_bills=overdue_by(45), holds=(hold(HoldKind.DISPUTE),))
    national_day = make_unit(open_bills=overdue_by(45, today=NATIONAL_DAY))
    saturday = make_unit(open_bills=overdue_by(45, today=ORDINARY_SATURDAY))

    assert decide(held, TODAY, SHANGHAI).reason == "on_hold_dispute"
    assert decide(national_day, NATIONAL_DAY, SHANGHAI).reason is Blocked.STATUTORY_HOLIDAY
    assert decide(saturday, ORDINARY_SATURDAY, SHANGHAI, policy=WEEKENDS_OFF).reason is Blocked.WEEKEND
    assert decide(saturday, ORDINARY_SATURDAY, SHANGHAI).action == Action(LETTER, Channel.LETTER, LABEL, "collector")


LETTER_MIN = Ladder(
    steps=(
        Step(step_id="sms_d1", days_overdue=1, channel=Channel.SMS, template="reminder_friendly"),
        Step(
            step_id="letter_d45",
            days_overdue=45,
            channel=Channel.LETTER,
            template="demand_letter",
            min_amount_fen=50_000,
        ),
    )
)


def test_a_letter_below_its_minimum_amount_is_not_sent_and_not_replaced_by_an_earlier_step():
    small = make_unit(open_bills=overdue_by(45, outstanding_fen=49_999))
    enough = make_unit(open_bills=overdue_by(45, outstanding_fen=50_000))

    assert decide(small, TODAY, SHANGHAI, LETTER_MIN).reason is SkipReason.BELOW_MINIMUM
    assert decide(enough, TODAY, SHANGHAI, LETTER_MIN).action == Action(
        _step(LETTER_MIN, "letter_d45"), Channel.LETTER, LABEL, "collector"
    )


# ---------------------------------------------------------------- the ladder itself


def test_the_default_ladder():
    assert [(s.step_id, s.days_overdue, s.channels, s.repeat) for s in DEFAULT_LADDER.steps] == [
        ("due_soon_sms", -3, (Channel.SMS,), None),
        ("sms_d1", 1, (Channel.SMS,), None),
        ("notice_d7", 7, (Channel.EMAIL, Channel.SMS), None),
        ("call_d15", 15, (Channel.CALL,), None),
        ("sms_d30", 30, (Channel.SMS,), Repeat(every_days=7, times=1)),
        ("letter_d45", 45, (Channel.LETTER,), None),
        ("review_d90", 90, (Channel.LEGAL_REVIEW,), None),
    ]
    assert [s.template for s in DEFAULT_LADDER.steps] == [
        "reminder_due_soon",
        "reminder_friendly",
        "reminder_notice",
        "",
        "reminder_firm",
        "demand_letter",
        "",
    ]
    assert {s.min_amount_fen for s in DEFAULT_LADDER.steps} == {1}
    assert _step(DEFAULT_LADDER, "sms_d30").last_day == 37


@pytest.mark.parametrize(
    ("channel", "task", "message"),
    [
        ("sms", False, True),
        ("email", False, True),
        ("call", True, False),
        ("visit", True, False),
        ("legal_review", True, False),  # the site manager's decision on a referral to the lawyers
        ("letter", False, False),  # a formal letter is neither an automated message nor a collector's task
    ],
)
def test_call_visit_and_review_are_tasks_sms_and_email_are_messages_a_letter_is_neither(channel, task, message):
    assert Channel(channel).is_task is task
    assert Channel(channel).is_message is message


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.EMAIL, Channel.LETTER])
def test_a_message_or_letter_step_needs_a_template(channel):
    with pytest.raises(ValueError, match="template"):
        Step(step_id="x_d1", days_overdue=1, channel=channel)


@pytest.mark.parametrize("channel", [Channel.CALL, Channel.VISIT, Channel.LEGAL_REVIEW])
def test_a_task_step_needs_no_template(channel):
    step = Step(step_id="x_d1", days_overdue=1, channel=channel)

    assert (step.channel, step.template) == (channel, "")


def test_ladder_steps_must_be_ordered_by_days_overdue():
    with pytest.raises(ValueError, match="ordered"):
        Ladder(
            steps=(
                Step(step_id="b", days_overdue=7, channel=Channel.SMS, template="reminder_notice"),
                Step(step_id="a", days_overdue=1, channel=Channel.SMS, template="reminder_friendly"),
            )
        )


def test_ladder_step_ids_must_be_unique():
    with pytest.raises(ValueError, match="unique"):
        Ladder(
            steps=(
                Step(step_id="a", days_overdue=1, channel=Channel.SMS, template="reminder_friendly"),
                Step(step_id="a", days_overdue=7, channel=Channel.SMS, template="reminder_notice"),
            )
        )


def test_the_old_minimum_gap_setting_is_refused():
    # replaced by the contact policy's frequency caps: a rules file still using it must not load silently
    with pytest.raises(ValueError, match="min_days_between_messages"):
        Ladder.model_validate({"steps": [s.model_dump() for s in DEFAULT_LADDER.steps], "min_days_between_messages": 3})


# ---------------------------------------------------------------- several messages in one step

NOTICE = _step(DEFAULT_LADDER, "notice_d7")


def test_a_step_with_two_channels_sends_each_message_claimed_on_its_own():
    decision = decide(make_unit(open_bills=overdue_by(7)), TODAY, SHANGHAI)

    assert decision.reason is None
    assert [(a.step, a.channel, a.destination, a.assignee_role, a.claim_id) for a in decision.actions] == [
        (NOTICE, Channel.EMAIL, EMAIL, "collector", "notice_d7-email"),
        (NOTICE, Channel.SMS, PHONE, "collector", "notice_d7-sms"),
    ]
    assert decision.action == decision.actions[0]
    # the step's first message is its contact for the caps
    assert decision.actions[0].counts_as_contact


def test_each_message_of_a_step_not_yet_begun_may_count_the_claim_that_wins_makes_the_other_not_count():
    # planned together, either job may reach the send function first: whichever claims adds the contact; the
    # other then finds the unit changed, is decided again and no longer counts (test_sending shows one contact)
    decision = decide(make_unit(open_bills=overdue_by(7)), TODAY, SHANGHAI)
    assert [a.counts_as_contact for a in decision.actions] == [True, True]

    begun = make_unit(open_bills=overdue_by(7), steps_done=frozenset({"notice_d7-sms"}))
    assert [a.counts_as_contact for a in decide(begun, TODAY, SHANGHAI).actions] == [False]


@pytest.mark.parametrize(
    ("claimed", "rest"),
    [
        ("notice_d7-email", (Channel.SMS, PHONE, "notice_d7-sms")),
        ("notice_d7-sms", (Channel.EMAIL, EMAIL, "notice_d7-email")),
    ],
    ids=["email claimed", "sms claimed"],
)
def test_once_one_message_of_a_step_is_claimed_the_cap_does_not_hold_the_other_back_and_it_does_not_count(
    claimed, rest
):
    capped = make_unit(open_bills=overdue_by(7), recent_contacts=CAPPED)
    assert decide(capped, TODAY, SHANGHAI).reason is Blocked.FREQUENCY_CAP  # the cap is checked before the first part

    begun = capped.model_copy(update={"steps_done": frozenset({claimed})})
    decision = decide(begun, TODAY, SHANGHAI)

    channel, destination, claim_id = rest
    assert decision.actions == (
        Action(NOTICE, channel, destination, "collector", claim_id=claim_id, counts_as_contact=False),
    )


@pytest.mark.parametrize(
    ("owners", "expected"),
    [
        ((owner(email=None),), [("notice_d7-sms", Channel.SMS, PHONE)]),
        ((owner(email_opt_out=True),), [("notice_d7-sms", Channel.SMS, PHONE)]),
        ((owner(email_disabled="bounce"),), [("notice_d7-sms", Channel.SMS, PHONE)]),
        ((owner(phone=None),), [("notice_d7-email", Channel.EMAIL, EMAIL)]),
        ((owner(sms_opt_out=True),), [("notice_d7-email", Channel.EMAIL, EMAIL)]),
        ((owner(sms_disabled="unknown_number"),), [("notice_d7-email", Channel.EMAIL, EMAIL)]),
        # each channel goes to the first owner reachable on it
        (
            (owner(email=None), owner("李雷", None, EMAIL_2)),
            [("notice_d7-email", Channel.EMAIL, EMAIL_2), NOTICE_BOTH[1]],
        ),
    ],
    ids=["no email", "email opted out", "email bounced", "no phone", "sms opted out", "dead number", "two owners"],
)
def test_a_channel_nobody_can_be_reached_on_is_dropped_from_the_step_not_replaced_by_the_other(owners, expected):
    decision = decide(make_unit(open_bills=overdue_by(7), owners=owners), TODAY, SHANGHAI)

    assert decision.reason is None
    # no fallback: a missing email does not become a second SMS (the SMS is already one of the step's messages)
    assert [(a.claim_id, a.channel, a.destination) for a in decision.actions] == expected
    assert decision.actions[0].counts_as_contact  # the message that does go out is the step's contact


@pytest.mark.parametrize(
    ("done", "owners"),
    [
        ({"notice_d7-email", "notice_d7-sms"}, (owner(),)),
        ({"notice_d7-email"}, (owner(phone=None),)),  # the SMS cannot be reached: nothing is left to send
        ({"notice_d7-sms"}, (owner(email_opt_out=True),)),
        ({"notice_d7-sms"}, ()),
    ],
    ids=["both claimed", "email claimed, no phone", "sms claimed, email opted out", "sms claimed, owners gone"],
)
def test_a_step_is_already_sent_once_every_message_that_can_reach_the_owner_is_claimed(done, owners):
    unit = make_unit(open_bills=overdue_by(10), owners=owners, steps_done=frozenset(done))

    assert decide(unit, TODAY, SHANGHAI).reason is SkipReason.STEP_ALREADY_SENT


def test_a_step_with_two_channels_nobody_can_be_reached_on_is_no_reachable_channel():
    unit = make_unit(open_bills=overdue_by(7), owners=(owner(sms_opt_out=True, email_opt_out=True),))

    assert decide(unit, TODAY, SHANGHAI).reason is SkipReason.NO_REACHABLE_CHANNEL


def test_the_old_step_id_of_a_multi_channel_step_does_not_count_as_its_messages():
    # only a key customer's visit is claimed under the bare step id; the messages have their own claims
    unit = make_unit(open_bills=overdue_by(7), steps_done=frozenset({"notice_d7"}))

    assert [a.claim_id for a in decide(unit, TODAY, SHANGHAI).actions] == ["notice_d7-email", "notice_d7-sms"]


def test_claim_ids_name_the_step_its_repetition_and_for_several_messages_the_channel():
    sms = _step(DEFAULT_LADDER, "sms_d30")
    both = Step(
        step_id="notice_d7",
        days_overdue=7,
        channels=(Channel.EMAIL, Channel.SMS),
        template="reminder_notice",
        repeat=Repeat(every_days=3, times=2),
    )

    assert (sms.claim_id(0), sms.claim_id(0, Channel.SMS), sms.claim_id(1, Channel.EMAIL)) == (
        "sms_d30",
        "sms_d30",  # one channel: the channel is not part of the claim (its fallback is the same step)
        "sms_d30-r1",
    )
    assert (both.claim_id(0, Channel.EMAIL), both.claim_id(2, Channel.SMS), both.claim_id(0)) == (
        "notice_d7-email",
        "notice_d7-r2-sms",
        "notice_d7",
    )


def test_a_repeated_step_with_two_channels_claims_each_message_of_each_round():
    ladder = Ladder(
        steps=(
            Step(
                step_id="notice_d7",
                days_overdue=7,
                channels=(Channel.SMS, Channel.EMAIL),
                template="reminder_notice",
                repeat=Repeat(every_days=5, times=1),
            ),
        )
    )
    unit = make_unit(open_bills=overdue_by(12), steps_done=frozenset({"notice_d7-sms", "notice_d7-email"}))

    decision = decide(unit, TODAY, SHANGHAI, ladder)

    assert [(a.claim_id, a.channel) for a in decision.actions] == [
        ("notice_d7-r1-sms", Channel.SMS),
        ("notice_d7-r1-email", Channel.EMAIL),
    ]


@pytest.mark.parametrize(
    ("channels", "match"),
    [
        ((Channel.SMS, Channel.CALL), "only sms and email can be sent together"),
        ((Channel.EMAIL, Channel.LETTER), "only sms and email can be sent together"),
        ((Channel.SMS, Channel.LEGAL_REVIEW), "only sms and email can be sent together"),
        ((Channel.SMS, Channel.SMS), "names a channel twice"),
        ((), "at least 1"),
    ],
)
def test_only_distinct_messages_can_be_sent_together(channels, match):
    with pytest.raises(ValueError, match=match):
        Step(step_id="x_d7", days_overdue=7, channels=channels, template="demand_letter")


def test_channel_is_shorthand_for_one_channel_and_cannot_be_given_with_channels():
    one = Step.model_validate({"step_id": "a", "days_overdue": 1, "channel": "sms", "template": "reminder_friendly"})

    assert (one.channels, one.channel) == ((Channel.SMS,), Channel.SMS)
    with pytest.raises(ValueError, match="either channel or channels"):
        Step.model_validate(
            {"step_id": "a", "days_overdue": 1, "channel": "sms", "channels": ["email"], "template": "reminder_notice"}
        )


def test_a_key_customer_gets_one_visit_for_a_step_of_several_messages_claimed_under_the_step_id():
    unit = make_unit(open_bills=overdue_by(7), key_customer=True, recent_contacts=CAPPED)

    assert decide(unit, TODAY, SHANGHAI).actions == (Action(NOTICE, Channel.VISIT, LABEL, "site_manager", "notice_d7"),)
    done = unit.model_copy(update={"steps_done": frozenset({"notice_d7"})})
    assert decide(done, TODAY, SHANGHAI).reason is SkipReason.STEP_ALREADY_SENT


# ---------------------------------------------------------------- repetitions

SMS_D30 = _step(DEFAULT_LADDER, "sms_d30")
# days 1, 6, 11 and 16, then the letter on day 20
REPEATING = Ladder(
    steps=(
        Step(
            step_id="sms_d1",
            days_overdue=1,
            channel=Channel.SMS,
            template="reminder_friendly",
            repeat=Repeat(every_days=5, times=3),
        ),
        Step(step_id="letter_d20", days_overdue=20, channel=Channel.LETTER, template="demand_letter"),
    )
)
SMS_D1_REPEATING = REPEATING.steps[0]


@pytest.mark.parametrize(
    ("days", "claim_id"), [(30, "sms_d30"), (36, "sms_d30"), (37, "sms_d30-r1"), (44, "sms_d30-r1")]
)
def test_the_day_30_sms_is_sent_again_a_week_later_under_its_own_claim(days, claim_id):
    decision = decide(make_unit(open_bills=overdue_by(days)), TODAY, SHANGHAI)

    assert decision.actions == (Action(SMS_D30, Channel.SMS, PHONE, "collector", claim_id),)


@pytest.mark.parametrize(
    ("days", "round_", "claim_id"),
    [
        (1, 0, "sms_d1"),
        (5, 0, "sms_d1"),
        (6, 1, "sms_d1-r1"),
        (10, 1, "sms_d1-r1"),
        (11, 2, "sms_d1-r2"),
        (16, 3, "sms_d1-r3"),
        (19, 3, "sms_d1-r3"),  # the last repetition stays the due one until the next step
    ],
)
def test_each_repetition_is_due_from_its_own_day(days, round_, claim_id):
    assert SMS_D1_REPEATING.round_on(days) == round_

    decision = decide(make_unit(open_bills=overdue_by(days)), TODAY, SHANGHAI, REPEATING)

    assert decision.actions == (Action(SMS_D1_REPEATING, Channel.SMS, PHONE, "collector", claim_id),)


def test_a_step_without_repeat_is_always_in_its_first_round():
    assert (_step(DEFAULT_LADDER, "letter_d45").round_on(400), _step(DEFAULT_LADDER, "letter_d45").last_day) == (0, 45)
    assert SMS_D1_REPEATING.last_day == 16


def test_a_missed_repetition_is_not_sent_late():
    # sent on day 1, then held on days 6-10 so the first repetition never went out: on day 12 the second is due
    unit = make_unit(open_bills=overdue_by(12), steps_done=frozenset({"sms_d1"}))

    assert [a.claim_id for a in decide(unit, TODAY, SHANGHAI, REPEATING).actions] == ["sms_d1-r2"]
    # the default ladder: a unit first reached on day 40 gets the repetition, never the day-30 SMS itself
    assert [a.claim_id for a in decide(make_unit(open_bills=overdue_by(40)), TODAY, SHANGHAI).actions] == ["sms_d30-r1"]


@pytest.mark.parametrize("days", [37, 40, 44])
def test_a_repetition_already_sent_is_not_sent_again_until_the_next_step(days):
    unit = make_unit(open_bills=overdue_by(days), steps_done=frozenset({"sms_d30", "sms_d30-r1"}))

    assert decide(unit, TODAY, SHANGHAI).reason is SkipReason.STEP_ALREADY_SENT
    later = unit.model_copy(update={"open_bills": overdue_by(45)})
    assert decide(later, TODAY, SHANGHAI).actions == (Action(LETTER, Channel.LETTER, LABEL, "collector"),)


def test_a_round_already_sent_waits_for_the_next_round():
    first = make_unit(open_bills=overdue_by(36), steps_done=frozenset({"sms_d30"}))
    assert decide(first, TODAY, SHANGHAI).reason is SkipReason.STEP_ALREADY_SENT
    assert [
        a.claim_id for a in decide(first.model_copy(update={"open_bills": overdue_by(37)}), TODAY, SHANGHAI).actions
    ] == ["sms_d30-r1"]

    done = frozenset({"sms_d1", "sms_d1-r1"})
    assert decide(make_unit(open_bills=overdue_by(10), steps_done=done), TODAY, SHANGHAI, REPEATING).reason is (
        SkipReason.STEP_ALREADY_SENT
    )
    assert [
        a.claim_id
        for a in decide(make_unit(open_bills=overdue_by(11), steps_done=done), TODAY, SHANGHAI, REPEATING).actions
    ] == ["sms_d1-r2"]


def test_a_repetition_is_a_message_held_back_by_the_frequency_cap():
    unit = make_unit(
        open_bills=overdue_by(37), steps_done=frozenset({"sms_d30"}), recent_contacts=contacts("2025-03-19 10:00")
    )

    assert decide(unit, TODAY, SHANGHAI).reason is Blocked.FREQUENCY_CAP


@pytest.mark.parametrize("days", [37, 44])
def test_a_key_customer_gets_no_repetition(days):
    unit = make_unit(open_bills=overdue_by(days), key_customer=True, steps_done=frozenset({"sms_d30"}))

    assert decide(unit, TODAY, SHANGHAI).reason is SkipReason.KEY_CUSTOMER
    assert decide(unit.model_copy(update={"steps_done": frozenset()}), TODAY, SHANGHAI).reason is (
        SkipReason.KEY_CUSTOMER  # not the visit for the step: its first round is over
    )


def _sms_d30_then_letter(repeat):
    return Ladder(
        steps=(
            Step(step_id="sms_d30", days_overdue=30, channel=Channel.SMS, template="reminder_firm", repeat=repeat),
            Step(step_id="letter_d45", days_overdue=45, channel=Channel.LETTER, template="demand_letter"),
        )
    )


def test_a_ladder_whose_repetitions_reach_the_next_step_is_refused():
    with pytest.raises(
        ValueError,
        match=r"step sms_d30 repeats until day 51, when step letter_d45 \(day 45\) has taken over: "
        r"fewer or closer repetitions",
    ):
        _sms_d30_then_letter(Repeat(every_days=7, times=3))


@pytest.mark.parametrize(
    ("every_days", "times", "last_day", "allowed"),
    [(7, 2, 44, True), (14, 1, 44, True), (15, 1, 45, False), (5, 3, 45, False), (1, 14, 44, True)],
)
def test_the_last_repetition_must_come_before_the_next_steps_day(every_days, times, last_day, allowed):
    repeat = Repeat(every_days=every_days, times=times)
    assert Step(
        step_id="s", days_overdue=30, channel=Channel.SMS, template="reminder_firm", repeat=repeat
    ).last_day == (last_day)

    if allowed:
        _sms_d30_then_letter(repeat)
    else:
        with pytest.raises(ValueError, match="repeats until day 45"):
            _sms_d30_then_letter(repeat)


def test_the_last_step_may_repeat_as_long_as_it_likes():
    ladder = Ladder(
        steps=(
            Step(
                step_id="review", days_overdue=90, channel=Channel.LEGAL_REVIEW, repeat=Repeat(every_days=180, times=5)
            ),
        )
    )

    assert [a.claim_id for a in decide(make_unit(open_bills=overdue_by(450)), TODAY, SHANGHAI, ladder).actions] == [
        "review-r2"
    ]


@pytest.mark.parametrize(
    "repeat", [{"every_days": 0, "times": 1}, {"every_days": 7, "times": 0}, {"every": 7, "times": 1}]
)
def test_a_repeat_needs_a_positive_interval_and_count(repeat):
    with pytest.raises(ValueError):
        Repeat.model_validate(repeat)


# ---------------------------------------------------------------- before the due date: a courtesy note

DUE_SOON = _step(DEFAULT_LADDER, "due_soon_sms")


@pytest.mark.parametrize("days_to_due", [3, 2, 1, 0])
def test_a_courtesy_sms_goes_out_from_three_days_before_the_due_date(days_to_due):
    decision = decide(make_unit(open_bills=overdue_by(-days_to_due)), TODAY, SHANGHAI)

    assert decision.reason is None
    assert decision.actions == (Action(DUE_SOON, Channel.SMS, PHONE, "collector", "due_soon_sms"),)
    assert decision.actions[0].counts_as_contact  # an automated message like any other


def test_nothing_goes_out_for_a_bill_due_in_four_days():
    unit = make_unit(open_bills=overdue_by(-4))

    assert decide(unit, TODAY, SHANGHAI).reason is SkipReason.NOT_OVERDUE
    assert decide(unit, TODAY + timedelta(days=1), SHANGHAI).actions[0].step == DUE_SOON


def test_the_courtesy_step_is_about_what_falls_due_by_then_not_the_whole_balance():
    bills = {
        "2025-03": OpenBill(due=TODAY + timedelta(days=3), outstanding_fen=21044),
        "2025-04": OpenBill(due=TODAY + timedelta(days=34), outstanding_fen=50_000),
    }
    unit = make_unit(open_bills=bills)

    assert amount_for(unit, DUE_SOON, TODAY) == 21044
    assert amount_for(unit, DUE_SOON, TODAY - timedelta(days=1)) == 0  # four days before: nothing falls due by then
    assert unit.overdue_fen(TODAY) == 0
    # so a later bill does not lift a small one over the courtesy step's minimum
    ladder = Ladder(
        steps=(
            Step(
                step_id="due_soon_sms",
                days_overdue=-3,
                channel=Channel.SMS,
                template="reminder_due_soon",
                min_amount_fen=30_000,
            ),
        )
    )
    assert decide(unit, TODAY, SHANGHAI, ladder).reason is SkipReason.BELOW_MINIMUM
    enough = unit.model_copy(
        update={"open_bills": {**bills, "2025-03": OpenBill(due=bills["2025-03"].due, outstanding_fen=30_000)}}
    )
    assert decide(enough, TODAY, SHANGHAI, ladder).action is not None


def test_a_bill_due_today_is_what_the_courtesy_step_is_about_and_no_later_step_counts_it():
    bills = {
        "2025-02": OpenBill(due=TODAY - timedelta(days=5), outstanding_fen=100),
        "2025-03": OpenBill(due=TODAY, outstanding_fen=21044),
    }
    unit = make_unit(open_bills=bills)

    assert amount_for(unit, DUE_SOON, TODAY) == 21144
    assert amount_for(unit, _step(DEFAULT_LADDER, "sms_d1"), TODAY) == 100  # overdue: due before today
    assert amount_for(unit, LETTER, TODAY) == 100


@pytest.mark.parametrize(
    ("channel", "template"),
    [(Channel.CALL, ""), (Channel.VISIT, ""), (Channel.LETTER, "demand_letter"), (Channel.LEGAL_REVIEW, "")],
)
def test_before_the_due_date_only_a_message_may_be_sent(channel, template):
    with pytest.raises(ValueError, match="up to the due date only a friendly sms or email is sent"):
        Step(step_id="early", days_overdue=-1, channel=channel, template=template)


def test_a_courtesy_step_may_send_an_email_and_an_sms_but_not_earlier_than_30_days():
    both = Step(step_id="soon", days_overdue=-30, channels=(Channel.SMS, Channel.EMAIL), template="reminder_due_soon")

    assert both.channels == (Channel.SMS, Channel.EMAIL)
    with pytest.raises(ValueError, match="greater than or equal to -30"):
        Step(step_id="soon", days_overdue=-31, channel=Channel.SMS, template="reminder_due_soon")


@pytest.mark.parametrize(
    ("first_day", "bound"), [(-3, TODAY + timedelta(days=4)), (1, TODAY), (5, TODAY - timedelta(days=4))]
)
def test_due_before_bounds_the_units_that_can_have_a_step_today(first_day, bound):
    template = "reminder_due_soon" if first_day < 0 else "reminder_friendly"
    ladder = Ladder(steps=(Step(step_id="first", days_overdue=first_day, channel=Channel.SMS, template=template),))

    assert ladder.due_before(TODAY) == bound
    # the planner reads units whose oldest unpaid bill falls due before the bound: the last such day has a step,
    # the bound itself has none
    last = make_unit(open_bills={"2025-03": OpenBill(due=bound - timedelta(days=1), outstanding_fen=21044)})
    on_bound = make_unit(open_bills={"2025-03": OpenBill(due=bound, outstanding_fen=21044)})
    assert decide(last, TODAY, SHANGHAI, ladder).action is not None
    assert decide(on_bound, TODAY, SHANGHAI, ladder).reason is SkipReason.NOT_OVERDUE


def test_the_default_ladder_reads_bills_due_within_three_days():
    assert DEFAULT_LADDER.due_before(TODAY) == TODAY + timedelta(days=4)


def test_a_key_customer_gets_no_courtesy_note():
    unit = make_unit(open_bills=overdue_by(-2), key_customer=True)

    assert decide(unit, TODAY, SHANGHAI).reason is SkipReason.KEY_CUSTOMER
    # once overdue, the site manager visits for the day-1 step
    assert decide(unit.model_copy(update={"open_bills": overdue_by(1)}), TODAY, SHANGHAI).actions == (
        Action(_step(DEFAULT_LADDER, "sms_d1"), Channel.VISIT, LABEL, "site_manager"),
    )


def test_the_courtesy_note_is_held_back_by_holds_caps_days_off_and_its_own_claim():
    unit = make_unit(open_bills=overdue_by(-2))

    assert (
        decide(unit.model_copy(update={"holds": (hold(HoldKind.MANUAL),)}), TODAY, SHANGHAI).reason == "on_hold_manual"
    )
    capped = unit.model_copy(update={"recent_contacts": contacts("2025-03-19 10:00")})
    assert decide(capped, TODAY, SHANGHAI).reason is Blocked.FREQUENCY_CAP
    holiday = make_unit(open_bills=overdue_by(-2, today=NATIONAL_DAY))
    assert decide(holiday, NATIONAL_DAY, SHANGHAI).reason is Blocked.STATUTORY_HOLIDAY
    sent = unit.model_copy(update={"steps_done": frozenset({"due_soon_sms"})})
    assert decide(sent, TODAY, SHANGHAI).reason is SkipReason.STEP_ALREADY_SENT
    # and it does not hold back the first reminder once the bill is overdue
    overdue = sent.model_copy(update={"open_bills": overdue_by(1)})
    assert [a.claim_id for a in decide(overdue, TODAY, SHANGHAI).actions] == ["sms_d1"]


def test_the_courtesy_sms_falls_back_to_email_like_any_one_channel_message():
    unit = make_unit(open_bills=overdue_by(-3), owners=(owner(sms_opt_out=True),))

    assert decide(unit, TODAY, SHANGHAI).actions == (Action(DUE_SOON, Channel.EMAIL, EMAIL, "collector"),)


@pytest.mark.parametrize(("channel", "template"), [(Channel.LETTER, "demand_letter"), (Channel.CALL, "")])
def test_a_day_0_step_is_a_courtesy_note_so_a_task_or_letter_on_the_due_date_is_refused(channel, template):
    with pytest.raises(ValidationError, match="up to the due date only a friendly sms or email"):
        Step(step_id="x_d0", days_overdue=0, channel=channel, template=template)


def test_a_day_0_sms_is_a_note_on_the_due_date_about_the_bill_due_that_day():
    ladder = Ladder(
        steps=(Step(step_id="due_today", days_overdue=0, channel=Channel.SMS, template="reminder_due_soon"),)
    )
    unit = make_unit(open_bills=overdue_by(0))

    assert unit.overdue_fen(TODAY) == 0
    assert amount_for(unit, ladder.steps[0], TODAY) == unit.balance_fen
    assert decide(unit, TODAY, SHANGHAI, ladder).action.claim_id == "due_today"
    # the next day the bill is late: the note is over ("falls due today" would be wrong)
    assert decide(unit, TODAY + timedelta(days=1), SHANGHAI, ladder).reason is SkipReason.NOT_OVERDUE


def test_a_courtesy_note_ends_when_the_bill_is_late_even_if_the_next_step_is_days_away():
    ladder = Ladder(
        steps=(
            Step(step_id="soon", days_overdue=-3, channel=Channel.SMS, template="reminder_due_soon"),
            Step(step_id="call_d10", days_overdue=10, channel=Channel.CALL),
        )
    )
    for days in range(1, 10):
        assert decide(make_unit(open_bills=overdue_by(days)), TODAY, SHANGHAI, ladder).actions == ()
    assert decide(make_unit(open_bills=overdue_by(10)), TODAY, SHANGHAI, ladder).action.claim_id == "call_d10"


# ---------------------------------------------------------------- legal review by the site manager

REVIEW = _step(DEFAULT_LADDER, "review_d90")


@pytest.mark.parametrize("days", [90, 91, 400])
def test_from_90_days_overdue_the_site_manager_reviews_the_case_for_the_lawyers(days):
    decision = decide(make_unit(open_bills=overdue_by(days)), TODAY, SHANGHAI)

    assert decision.reason is None
    assert decision.actions == (Action(REVIEW, Channel.LEGAL_REVIEW, LABEL, "site_manager", "review_d90"),)
    assert (REVIEW.channel, REVIEW.template) == (Channel.LEGAL_REVIEW, "")


def test_a_key_customer_keeps_the_legal_review_rather_than_a_visit():
    decision = decide(make_unit(open_bills=overdue_by(90), key_customer=True), TODAY, SHANGHAI)

    assert decision.actions == (Action(REVIEW, Channel.LEGAL_REVIEW, LABEL, "site_manager"),)


@pytest.mark.parametrize("key_customer", [False, True])
@pytest.mark.parametrize(
    "owners",
    [(), (owner(sms_opt_out=True, email_opt_out=True, sms_disabled="unknown_number"),), (owner(),)],
    ids=["no owners", "unreachable", "reachable"],
)
def test_the_legal_review_needs_no_reachable_owner_and_ignores_the_caps(owners, key_customer):
    unit = make_unit(open_bills=overdue_by(95), owners=owners, recent_contacts=CAPPED, key_customer=key_customer)

    assert decide(unit, TODAY, SHANGHAI).actions == (Action(REVIEW, Channel.LEGAL_REVIEW, LABEL, "site_manager"),)


@pytest.mark.parametrize("key_customer", [False, True])
def test_a_legal_review_is_given_once(key_customer):
    unit = make_unit(open_bills=overdue_by(120), steps_done=frozenset({"review_d90"}), key_customer=key_customer)

    assert decide(unit, TODAY, SHANGHAI).reason is SkipReason.STEP_ALREADY_SENT


def test_a_legal_review_is_held_back_by_a_hold_and_on_a_day_off():
    referred = make_unit(open_bills=overdue_by(120), holds=(hold(HoldKind.LEGAL, reason="referred"),))
    national_day = make_unit(open_bills=overdue_by(90, today=NATIONAL_DAY))

    assert decide(referred, TODAY, SHANGHAI).reason == "on_hold_legal"
    assert decide(referred.model_copy(update={"key_customer": True}), TODAY, SHANGHAI).reason == "on_hold_legal"
    assert decide(national_day, NATIONAL_DAY, SHANGHAI).reason is Blocked.STATUTORY_HOLIDAY


def test_a_legal_review_step_is_never_replaced_by_another_channel():
    # the fallback table keeps a review a review, and a review of several channels is refused
    with pytest.raises(ValueError, match="only sms and email"):
        Step(step_id="review", days_overdue=90, channels=(Channel.LEGAL_REVIEW, Channel.VISIT))


# ---------------------------------------------------------------- properties over random units

_OWNER_POOL = [
    Owner(name=f"业主{i}", phone=phone, email=email, sms_opt_out=sms_out, email_opt_out=email_out)
    for i, (phone, email, sms_out, email_out) in enumerate(
        (p, e, s, o)
        for p in (None, PHONE, PHONE_2)
        for e in (None, EMAIL, EMAIL_2)
        for s in (False, True)
        for o in (False, True)
    )
]
# addresses a delivery event disabled (a number that does not exist, a mailbox that bounced) are as unusable as
# opted-out ones
_DISABLED_OWNERS = [
    Owner(name="退信业主", phone=PHONE, email=EMAIL, email_disabled="bounce"),
    Owner(name="空号业主", phone=PHONE_2, email=EMAIL_2, sms_disabled="unknown_number"),
    Owner(name="空号退订业主", phone=PHONE, email=None, sms_opt_out=True, sms_disabled="unknown_number"),
]
_OWNER_POOL += _DISABLED_OWNERS
# up to three owners; a disabled address (which a call must also avoid) about one time in three
_OWNER_LISTS = st.lists(st.sampled_from(_OWNER_POOL) | st.sampled_from(_DISABLED_OWNERS), max_size=3)
_FIXED_LADDERS = [
    DEFAULT_LADDER,
    Ladder(
        steps=(
            Step(step_id="email_d1", days_overdue=1, channel=Channel.EMAIL, template="reminder_friendly"),
            Step(
                step_id="sms_d3", days_overdue=3, channel=Channel.SMS, template="reminder_notice", min_amount_fen=5000
            ),
            Step(step_id="visit_d45", days_overdue=45, channel=Channel.VISIT),
            Step(
                step_id="letter_d50",
                days_overdue=50,
                channel=Channel.LETTER,
                template="demand_letter",
                min_amount_fen=5000,  # no more than an actionable unit owes
            ),
            Step(step_id="sms_d60", days_overdue=60, channel=Channel.SMS, template="reminder_firm", min_amount_fen=1),
        ),
    ),
    # every new form at once: a repeated courtesy note of two messages, a repeated notice of two, a repeated review
    Ladder(
        steps=(
            Step(
                step_id="due_soon",
                days_overdue=-5,
                channels=(Channel.SMS, Channel.EMAIL),
                template="reminder_due_soon",
                repeat=Repeat(every_days=2, times=2),
            ),
            Step(
                step_id="notice_d1",
                days_overdue=1,
                channels=(Channel.EMAIL, Channel.SMS),
                template="reminder_notice",
                repeat=Repeat(every_days=4, times=3),
            ),
            Step(
                step_id="review_d20",
                days_overdue=20,
                channel=Channel.LEGAL_REVIEW,
                repeat=Repeat(every_days=30, times=3),
            ),
        ),
    ),
]
_TEMPLATES = ("reminder_due_soon", "reminder_friendly", "reminder_notice", "reminder_firm")
_MESSAGES = (Channel.SMS, Channel.EMAIL)  # the automated messages, the only channels the frequency caps limit
_BOTH_ORDERS = [(Channel.SMS, Channel.EMAIL), (Channel.EMAIL, Channel.SMS)]  # a step sending both messages


@st.composite
def ladders(draw, actionable=False):
    """The default ladder, another fixed one, or a random ladder of messages (one channel, or an SMS and an email
    sent together), letters, tasks and legal reviews: now and then a courtesy message before the due date, several
    steps on one day, repetitions that end before the next step, and a task step that names a template anyway.
    Actionable: a step is due by the first day overdue and no minimum exceeds 5000 fen."""
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        return draw(st.sampled_from(_FIXED_LADDERS))
    # the first step early, then gaps of up to three weeks (0: two steps on one day)
    gaps = draw(st.lists(st.integers(min_value=0, max_value=21), min_size=1, max_size=5))
    gaps[0] = 1 if actionable else gaps[0] % 8  # actionable: a step on the first day overdue (day 0 is a courtesy)
    days = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    if draw(st.integers(min_value=0, max_value=2)) == 0:
        days.insert(0, draw(st.integers(min_value=-5, max_value=-1)))  # a courtesy message before the due date
    minimums = [1, 1, 5000] if actionable else [1, 1, 1, 5000, 100_000]
    steps = []
    for i, day in enumerate(days):
        # up to the due date only messages; several channels only for messages (wechat: test_wechat_channel.py)
        channel = draw(st.sampled_from(_MESSAGES if day <= 0 else [c for c in Channel if c is not Channel.WECHAT]))
        channels = (channel,)
        if channel in _MESSAGES and draw(st.booleans()):
            channels = (channel, Channel.EMAIL if channel is Channel.SMS else Channel.SMS)
        if channel is Channel.LETTER:
            template = "demand_letter"
        elif channel in _MESSAGES:
            template = draw(st.sampled_from(_TEMPLATES))
        else:
            template = draw(st.sampled_from(("", *_TEMPLATES)))
        steps.append(
            Step(
                step_id=f"s{i}_{'_'.join(c.value for c in channels)}",
                days_overdue=day,
                channels=channels,
                template=template,
                min_amount_fen=draw(st.sampled_from(minimums)),
                repeat=_repeats(draw, day, days[i + 1] if i + 1 < len(days) else None),
            )
        )
    return Ladder(steps=tuple(steps))


def _repeats(draw, day, next_day):
    """Now and then a repetition, always over before the next step's day (the last step: up to 3 x 10 days)."""
    room = 30 if next_day is None else next_day - day - 1
    if room < 1 or draw(st.integers(min_value=0, max_value=2)) != 0:
        return None
    every_days = draw(st.integers(min_value=1, max_value=min(room, 10)))
    return Repeat(every_days=every_days, times=draw(st.integers(min_value=1, max_value=min(3, room // every_days))))


def _claim(step, round_, channel=None):
    """What is claimed, written out: the step id, `-r<k>` for its k-th repetition and, for a step of several
    messages, `-<channel>`."""
    claim = step.step_id + (f"-r{round_}" if round_ else "")
    return f"{claim}-{channel.value}" if channel is not None and len(step.channels) > 1 else claim


def _claim_ids(ladder):
    """Every claim a ladder can make: each step's rounds, each message of a step of several (and the bare step id,
    which a key customer's visit claims)."""
    ids = set()
    for step in ladder.steps:
        for round_ in range((step.repeat.times if step.repeat else 0) + 1):
            ids.add(_claim(step, round_))
            ids.update(_claim(step, round_, channel) for channel in step.channels)
    return sorted(ids)


_POLICIES = [
    DEFAULT_POLICY,  # statutory holidays off, 1 per 3 days and 4 per 30 days
    ContactPolicy(contact_on_statutory_holidays=True, frequency_caps=()),
    ContactPolicy(contact_on_weekends=False, frequency_caps=(FrequencyCap(messages=2, days=7),)),
    ContactPolicy(
        contact_on_statutory_holidays=True,
        contact_on_weekends=False,
        frequency_caps=(FrequencyCap(messages=1, days=1), FrequencyCap(messages=3, days=10)),
    ),
]
_ZONES = [ZoneInfo(name) for name in ("UTC", "Asia/Shanghai", "America/New_York", "Pacific/Kiritimati", "Etc/GMT+11")]
# the holiday calendar of these years is installed (chinesecalendar >= 1.11 knows 2004-2026)
_DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31))


def _around_local_midnight(draw, today, tz, days_back):
    """A moment near the local midnight `days_back` days ago, where the local and the UTC date disagree,
    stored in any zone."""
    minutes = draw(st.integers(min_value=-15 * 60, max_value=15 * 60))
    midnight = datetime.combine(today - timedelta(days=days_back), time(0), tzinfo=tz)
    return (midnight + timedelta(minutes=minutes)).astimezone(draw(st.sampled_from(_ZONES)))


def _recent_contacts(draw, today, tz):
    return tuple(
        # near the edge of the short caps more often than anywhere else in the longest one
        _around_local_midnight(draw, today, tz, draw(st.integers(-1, 4) | st.integers(min_value=-1, max_value=35)))
        for _ in range(draw(st.integers(min_value=0, max_value=5)))
    )


@st.composite
def policies(draw, today):
    policy = draw(st.sampled_from(_POLICIES))
    if draw(st.integers(min_value=0, max_value=4)) == 0:
        # now and then a company day off on, or next to, today
        off = today + timedelta(days=draw(st.integers(min_value=-1, max_value=1)))
        policy = policy.model_copy(update={"extra_holidays": (off,)})
    return policy


@st.composite
def hold_lists(draw, today):
    return tuple(
        Hold(
            kind=draw(st.sampled_from(list(HoldKind))),
            until=draw(st.none() | st.integers(min_value=-3, max_value=3).map(lambda d: today + timedelta(days=d))),
        )
        for _ in range(draw(st.integers(min_value=0, max_value=2)))
    )


@st.composite
def units(draw):
    today = draw(_DAYS)
    periods = draw(
        st.lists(st.sampled_from([f"2024-{m:02d}" for m in range(1, 13)]), min_size=1, max_size=4, unique=True)
    )
    # the oldest bill's age: around the due date (courtesy notes, day-0 and day-1 steps), up to ten weeks overdue,
    # or long enough for a legal review; the other bills fall due between it and a week from today
    oldest = draw(st.integers(min_value=-7, max_value=3) | st.integers(-7, 70) | st.integers(70, 130))
    ages = [oldest] + [draw(st.integers(min_value=-7, max_value=max(oldest, -7))) for _ in periods[1:]]
    open_bills = {
        period: OpenBill(
            due=today - timedelta(days=age),
            # now and then a bill with nothing left on it, or an amount on either side of a step's minimum
            outstanding_fen=draw(
                st.sampled_from([0, 999, 4_999, 5_000, 99_999, 100_000])
                | st.integers(1, 300_000)
                | st.integers(1, 300_000)
            ),
        )
        for period, age in zip(periods, ages, strict=True)
    }
    tz = draw(st.sampled_from(_ZONES))
    ladder = draw(ladders())
    # the claims of the step the age calls for (any round), now and then one of them already made; any other claim
    # of the ladder, or a step of an older ladder
    probe = make_unit(open_bills=open_bills)
    current = _step_for_age(probe, today, ladder)
    own = [c for c in _claim_ids(ladder) if current is not None and c.split("-")[0] == current.step_id]
    claims = st.sampled_from([*_claim_ids(ladder), "legacy_step"])
    unit = make_unit(
        open_bills=open_bills,
        owners=tuple(draw(_OWNER_LISTS)),
        steps_done=frozenset(draw(st.lists(st.sampled_from(own) | claims if own else claims, max_size=3))),
        key_customer=draw(st.integers(min_value=0, max_value=5)) == 0,
        recent_contacts=_recent_contacts(draw, today, tz),
        holds=draw(hold_lists(today)) if draw(st.integers(min_value=0, max_value=3)) == 0 else (),
    )
    return unit, today, tz, ladder, draw(policies(today))


def _contacts_in_window(unit, today, tz, days):
    """How many recent contacts fall on one of the `days` local days ending today."""
    return sum(1 for c in unit.recent_contacts if 0 <= (today - c.astimezone(tz).date()).days < days)


def _capped(unit, today, tz, policy):
    return any(_contacts_in_window(unit, today, tz, cap.days) >= cap.messages for cap in policy.frequency_caps)


def _held_by(unit, today):
    return [h for h in unit.holds if h.until is None or today <= h.until]


def _age(unit, today):
    """Days since the oldest unpaid bill fell due (negative: before it does), or None when nothing is owed."""
    dues = [bill.due for bill in unit.open_bills.values() if bill.outstanding_fen > 0]
    return (today - min(dues)).days if dues else None


def _step_for_age(unit, today, ladder):
    """The last step whose day the age has reached, or None."""
    age = _age(unit, today)
    due = [
        step
        for step in ladder.steps
        if age is not None and step.days_overdue <= age and not (step.days_overdue <= 0 and age > 0)
    ]
    return due[-1] if due else None


def _round(step, age):
    """The repetition the age calls for (0: the first sending); a missed one is not sent late."""
    return 0 if step.repeat is None else min(step.repeat.times, (age - step.days_overdue) // step.repeat.every_days)


def _amount(unit, today, step):
    """What a step is about: the money overdue; for a courtesy note before the due date, what falls due by then."""
    if step.days_overdue <= 0:
        by = today - timedelta(days=step.days_overdue)
        return sum(bill.outstanding_fen for bill in unit.open_bills.values() if bill.due <= by)
    return unit.overdue_fen(today)


# every reason decide gives (the sender's own reasons, and the time-of-day ones it checks, excluded)
_REASONS = {*SkipReason, *Blocked} - {
    Blocked.ON_HOLD,
    Blocked.OUTSIDE_CONTACT_WINDOW,
    Blocked.QUIET_HOURS,
    SkipReason.PAID,
    SkipReason.DUPLICATE,
    SkipReason.NO_COLLECTOR,
}
_REASONS |= {f"on_hold_{kind.value}" for kind in HoldKind}
_AT_THE_UNIT = (Channel.VISIT, Channel.LETTER, Channel.LEGAL_REVIEW)  # about the unit itself: nobody need be reachable


def _assert_the_owners_allow(unit, action):
    """The destination belongs to an owner who may be reached on that channel, and nobody opted it out; a call needs
    a number that works, an SMS opt-out is no refusal of calls; a visit, a letter or a review is about the unit."""
    if action.channel is Channel.SMS:
        assert any(o.phone == action.destination for o in unit.owners)
        assert not any(o.phone == action.destination and (o.sms_opt_out or o.sms_disabled) for o in unit.owners)
    elif action.channel is Channel.EMAIL:
        assert any(o.email == action.destination for o in unit.owners)
        assert not any(o.email == action.destination and (o.email_opt_out or o.email_disabled) for o in unit.owners)
    elif action.channel is Channel.CALL:
        assert any(o.phone == action.destination for o in unit.owners)
        assert not any(o.phone == action.destination and o.sms_disabled for o in unit.owners)
    else:
        assert action.channel in _AT_THE_UNIT
        assert action.destination == unit.label


@PROPERTY
@given(units())
def test_any_action_respects_opt_outs_steps_done_arrears_holds_days_and_caps(case):
    unit, today, tz, ladder, policy = case

    decision = decide(unit, today, tz, ladder, policy)

    _assert_within_policy(unit, today, tz, ladder, policy, decision)


def _assert_within_policy(unit, today, tz, ladder, policy, decision):
    assert (not decision.actions) != (decision.reason is None)
    assert decision.action == (decision.actions[0] if decision.actions else None)
    if not decision.actions:
        assert decision.reason in _REASONS
        return
    # one step a day: the one the age calls for, at the repetition the age calls for
    step = decision.action.step
    assert all(action.step == step for action in decision.actions)
    assert step == _step_for_age(unit, today, ladder)
    round_ = _round(step, _age(unit, today))
    for action in decision.actions:
        # (a) only to whom the owners allow
        _assert_the_owners_allow(unit, action)
        # (b) never a step, a repetition of it or one of its messages already claimed in this episode
        assert action.claim_id not in unit.steps_done
    assert len({action.claim_id for action in decision.actions}) == len(decision.actions)
    # (c) only for money owed, at least the step's minimum: money overdue, or for a courtesy note up to the due
    # date (a message, never a task or a letter) what falls due by then
    assert _amount(unit, today, step) >= step.min_amount_fen > 0
    if step.days_overdue > 0:
        assert unit.overdue_fen(today) > 0
    else:
        assert all(action.channel in _MESSAGES for action in decision.actions)
    # (d) the messages of a step go out only while every frequency cap, counted in local days, has room for them:
    # checked before the step's first part, whose message is the contact; a later part of a step begun adds none
    messages = [action for action in decision.actions if action.channel in _MESSAGES]
    begun = any(_claim(step, round_, channel) in unit.steps_done for channel in step.channels)
    if messages and begun:
        assert not any(message.counts_as_contact for message in messages)
    elif messages:
        assert not _capped(unit, today, tz, policy)
        assert messages[0] == decision.actions[0] and messages[0].counts_as_contact
    # (e) no hold in force, and not a day off, whatever the channel
    assert not _held_by(unit, today)
    assert today not in policy.extra_holidays
    if not policy.contact_on_statutory_holidays:
        assert today not in chinese_calendar.holidays
    # and: key customers get one site manager's visit for the step, never a message, a letter, a courtesy note or a
    # repetition (a legal review stays a review); everyone else a collector (the site manager for a review), and a
    # message step stays messages, a task step a task, a letter step a letter, a review a review
    if unit.key_customer and step.channel is not Channel.LEGAL_REVIEW:
        assert decision.actions == (Action(step, Channel.VISIT, unit.label, "site_manager", step.step_id),)
        assert step.days_overdue >= 0 and round_ == 0
        return
    for action in decision.actions:
        assert action.assignee_role == ("site_manager" if action.channel is Channel.LEGAL_REVIEW else "collector")
        assert action.channel.is_task is step.channel.is_task
        assert (action.channel is Channel.LETTER) is (step.channel is Channel.LETTER)
        assert (action.channel is Channel.LEGAL_REVIEW) is (step.channel is Channel.LEGAL_REVIEW)
        assert action.claim_id == _claim(step, round_, action.channel)
    if len(step.channels) > 1:
        # no fallback between the messages of one step: each on its own channel, in the step's order
        sent = [action.channel for action in decision.actions]
        assert sent == [channel for channel in step.channels if channel in sent]


def _usable(owners):
    """Addresses that may be used per channel: an opt-out (or a bounce) belongs to the address, whoever else
    lists it. A collector calls any number that is not known to be dead, opted out of SMS or not."""
    no_sms = {o.phone for o in owners if o.phone and (o.sms_opt_out or o.sms_disabled)}
    no_email = {o.email for o in owners if o.email and (o.email_opt_out or o.email_disabled)}
    return {
        Channel.SMS: [o.phone for o in owners if o.phone and o.phone not in no_sms],
        Channel.EMAIL: [o.email for o in owners if o.email and o.email not in no_email],
        Channel.CALL: [
            o.phone for o in owners if o.phone and o.phone not in {d.phone for d in owners if d.sms_disabled}
        ],
    }


def _expected_day_off(today, policy):
    """The day rules from the calendar's own tables: statutory days off, and weekends that are not 调休."""
    if today in policy.extra_holidays:
        return Blocked.STATUTORY_HOLIDAY
    if today in chinese_calendar.holidays and not policy.contact_on_statutory_holidays:
        return Blocked.STATUTORY_HOLIDAY
    weekend = today.weekday() in (5, 6) and today not in chinese_calendar.workdays
    if weekend and not policy.contact_on_weekends:
        return Blocked.WEEKEND
    return None


def _expected_route(unit, channel, fallback):
    """(channel, destination) for one channel of a step, or None when nobody can be reached on it. A step of one
    channel falls back to the other message channel (a call to a visit); a step of several messages does not."""
    usable = _usable(unit.owners)
    if channel in _AT_THE_UNIT:  # delivered to, or about, the unit: nobody needs to be reachable
        return channel, unit.label
    if channel is Channel.CALL:
        return (Channel.CALL, usable[Channel.CALL][0]) if usable[Channel.CALL] else (Channel.VISIT, unit.label)
    other = Channel.EMAIL if channel is Channel.SMS else Channel.SMS
    for candidate in (channel, other) if fallback else (channel,):
        if usable[candidate]:
            return candidate, usable[candidate][0]
    return None


def _expected(unit, today, tz, ladder, policy):
    """The rules as the collections team states them, written out independently: the actions as
    (claim, step, channel, destination, assignee role), or the reason there is none."""
    step = _step_for_age(unit, today, ladder)
    if step is None:
        return SkipReason.NOT_OVERDUE
    amount = _amount(unit, today, step)
    if amount <= 0:
        return SkipReason.NOT_OVERDUE
    if amount < step.min_amount_fen:
        return SkipReason.BELOW_MINIMUM
    held = _held_by(unit, today)
    if held:
        return "on_hold_" + held[0].kind.value
    round_ = _round(step, _age(unit, today))
    day_off = _expected_day_off(today, policy)
    if unit.key_customer and step.channel is not Channel.LEGAL_REVIEW:
        if step.days_overdue <= 0 or round_ > 0:
            return SkipReason.KEY_CUSTOMER
        if step.step_id in unit.steps_done:
            return SkipReason.STEP_ALREADY_SENT
        return day_off or ((step.step_id, step, Channel.VISIT, unit.label, "site_manager"),)
    pending = [channel for channel in step.channels if _claim(step, round_, channel) not in unit.steps_done]
    if not pending:
        return SkipReason.STEP_ALREADY_SENT
    if day_off is not None:
        return day_off
    begun = len(pending) < len(step.channels)
    if not begun and step.channel in _MESSAGES and _capped(unit, today, tz, policy):
        return Blocked.FREQUENCY_CAP
    actions = []
    for channel in pending:
        route = _expected_route(unit, channel, fallback=len(step.channels) == 1)
        if route is not None:
            role = "site_manager" if route[0] is Channel.LEGAL_REVIEW else "collector"
            actions.append((_claim(step, round_, channel), step, *route, role))
    if not actions:
        return SkipReason.STEP_ALREADY_SENT if begun else SkipReason.NO_REACHABLE_CHANNEL
    return tuple(actions)


@PROPERTY
@given(units())
def test_decide_follows_the_stated_rules(case):
    unit, today, tz, ladder, policy = case

    decision = decide(unit, today, tz, ladder, policy)

    assert _got(decision) == _expected(unit, today, tz, ladder, policy)


def _got(decision):
    return decision.reason or tuple(
        (a.claim_id, a.step, a.channel, a.destination, a.assignee_role) for a in decision.actions
    )


@st.composite
def courtesy_units(draw):
    """Random units whose oldest bill falls due within a few days (or today), on a random ladder that opens with a
    courtesy note before the due date (one of its own, or one put in front of it), now and then already sent."""
    unit, today, tz, ladder, policy = draw(units())
    first = ladder.steps[0]
    if first.days_overdue >= 0:
        day = draw(st.integers(min_value=-5, max_value=-1))
        courtesy = Step(
            step_id="courtesy",
            days_overdue=day,
            channels=draw(st.sampled_from([(Channel.SMS,), (Channel.EMAIL,), *_BOTH_ORDERS])),
            template="reminder_due_soon",
            min_amount_fen=draw(st.sampled_from([1, 1, 5000])),
            repeat=_repeats(draw, day, first.days_overdue),
        )
        ladder = Ladder(steps=(courtesy, *ladder.steps))
    window = -ladder.steps[0].days_overdue
    oldest = draw(st.integers(min_value=0, max_value=window + 1))  # +1: the day before the window opens
    open_bills = {
        period: OpenBill(
            due=today + timedelta(days=oldest if i == 0 else draw(st.integers(min_value=oldest, max_value=40))),
            outstanding_fen=draw(st.sampled_from([999, 5_000]) | st.integers(min_value=1, max_value=300_000)),
        )
        for i, period in enumerate(sorted(unit.open_bills))
    }
    own = _claim_ids(Ladder(steps=ladder.steps[:1]))
    done = draw(st.lists(st.sampled_from(own), max_size=1)) if draw(st.integers(0, 3)) == 0 else []
    unit = unit.model_copy(update={"open_bills": open_bills, "steps_done": unit.steps_done | set(done)})
    return unit, today, tz, ladder, policy


@PROPERTY
@given(courtesy_units())
def test_a_courtesy_note_before_the_due_date_follows_the_same_rules(case):
    unit, today, tz, ladder, policy = case

    decision = decide(unit, today, tz, ladder, policy)

    _assert_within_policy(unit, today, tz, ladder, policy, decision)
    assert _got(decision) == _expected(unit, today, tz, ladder, policy)


# each rule on its own, on units that would otherwise certainly get a reminder today (any day is a contact day)


@st.composite
def actionable_units(draw):
    today = draw(_DAYS)
    ages = draw(st.lists(st.integers(min_value=1, max_value=120), min_size=1, max_size=3, unique=True))
    open_bills = {
        f"2023-{i + 1:02d}": OpenBill(
            due=today - timedelta(days=age), outstanding_fen=draw(st.integers(5_000, 300_000))
        )
        for i, age in enumerate(ages)
    }
    unit = make_unit(open_bills=open_bills, owners=(owner(),))
    return unit, today, draw(st.sampled_from(_ZONES)), draw(ladders(actionable=True))


def _current(unit, today, ladder):
    """The step the age calls for and its round."""
    step = _step_for_age(unit, today, ladder)
    return step, _round(step, _age(unit, today))


@PROPERTY
@given(actionable_units())
def test_an_actionable_unit_gets_the_step_its_age_calls_for_on_its_own_channels(case):
    unit, today, tz, ladder = case

    decision = decide(unit, today, tz, ladder, ANY_DAY)

    step, round_ = _current(unit, today, ladder)
    destinations = {Channel.SMS: PHONE, Channel.EMAIL: EMAIL, Channel.CALL: PHONE} | dict.fromkeys(_AT_THE_UNIT, LABEL)
    assert [(a.step, a.channel, a.destination, a.assignee_role, a.claim_id) for a in decision.actions] == [
        (
            step,
            channel,
            destinations[channel],
            "site_manager" if channel is Channel.LEGAL_REVIEW else "collector",
            _claim(step, round_, channel),
        )
        for channel in step.channels
    ]
    assert decision.actions[0].counts_as_contact


@PROPERTY
@given(actionable_units(), st.data())
def test_only_the_current_step_being_done_holds_a_unit_back(case, data):
    unit, today, tz, ladder = case
    done = data.draw(st.sets(st.sampled_from(_claim_ids(ladder))))
    unit = unit.model_copy(update={"steps_done": frozenset(done), "key_customer": data.draw(st.booleans())})

    decision = decide(unit, today, tz, ladder, ANY_DAY)

    # the current step, at its current round: a key customer's visit claims the step id, else each message its own
    step, round_ = _current(unit, today, ladder)
    if unit.key_customer and step.channel is not Channel.LEGAL_REVIEW:
        if step.days_overdue <= 0 or round_ > 0:
            assert decision.reason is SkipReason.KEY_CUSTOMER
        elif step.step_id in done:
            assert decision.reason is SkipReason.STEP_ALREADY_SENT
        else:
            assert [a.claim_id for a in decision.actions] == [step.step_id]
        return
    pending = [_claim(step, round_, channel) for channel in step.channels if _claim(step, round_, channel) not in done]
    if pending:
        assert [a.claim_id for a in decision.actions] == pending
        assert all(a.step == step for a in decision.actions)
    else:
        assert decision.reason is SkipReason.STEP_ALREADY_SENT


@PROPERTY
@given(actionable_units(), st.data())
def test_a_hold_holds_a_unit_back_exactly_while_it_is_in_force(case, data):
    unit, today, tz, ladder = case
    holds = data.draw(hold_lists(today))
    free = unit.model_copy(update={"key_customer": data.draw(st.booleans())})
    unit = free.model_copy(update={"holds": holds})

    decision = decide(unit, today, tz, ladder, ANY_DAY)

    in_force = [h for h in holds if h.until is None or h.until >= today]
    if in_force:
        assert decision.actions == ()
        assert decision.reason == f"on_hold_{in_force[0].kind.value}"
    else:
        assert decision == decide(free, today, tz, ladder, ANY_DAY)
        assert decision.actions or decision.reason is SkipReason.KEY_CUSTOMER


@pytest.mark.parametrize("tz", _ZONES, ids=str)
@settings(PROPERTY, max_examples=100)
@given(
    case=actionable_units(),
    cap_days=st.sampled_from([1, 3, 7, 30]),
    from_cap=st.integers(min_value=-2, max_value=2),
    data=st.data(),
)
def test_the_frequency_cap_counts_local_days_and_holds_back_only_messages(tz, case, cap_days, from_cap, data):
    unit, today, _, ladder = case
    policy = ANY_DAY.model_copy(update={"frequency_caps": (FrequencyCap(messages=1, days=cap_days),)})
    # around a local midnight near the edge of the cap, where the local date and the UTC date of the contact disagree
    contact = _around_local_midnight(data.draw, today, tz, cap_days + from_cap)
    unit = unit.model_copy(update={"recent_contacts": (contact,)})

    decision = decide(unit, today, tz, ladder, policy)

    local_days = (today - contact.astimezone(tz).date()).days
    if 0 <= local_days < cap_days and _step_for_age(unit, today, ladder).channel in _MESSAGES:
        assert decision.reason is Blocked.FREQUENCY_CAP
    else:
        assert decision.action is not None


@PROPERTY
@given(case=actionable_units(), data=st.data())
def test_a_message_step_already_begun_is_finished_whatever_the_caps(case, data):
    unit, today, tz, ladder = case
    # make the step the age calls for one of an SMS and an email sent together, in either order
    current, round_ = _current(unit, today, ladder)
    channels = data.draw(st.sampled_from(_BOTH_ORDERS))
    step = Step(
        step_id=current.step_id,
        days_overdue=current.days_overdue,
        channels=channels,
        template="reminder_notice",
        min_amount_fen=current.min_amount_fen,
        repeat=current.repeat,
    )
    ladder = Ladder(steps=tuple(step if s is current else s for s in ladder.steps))
    # a message today: the caps are full, whatever else was sent lately
    today_noon = datetime.combine(today, time(12, 0), tzinfo=tz)
    unit = unit.model_copy(update={"recent_contacts": (today_noon, *_recent_contacts(data.draw, today, tz))})
    assert decide(unit, today, tz, ladder, ANY_DAY).reason is Blocked.FREQUENCY_CAP

    first = data.draw(st.sampled_from(channels))
    begun = unit.model_copy(update={"steps_done": frozenset({_claim(step, round_, first)})})
    decision = decide(begun, today, tz, ladder, ANY_DAY)

    # the other message goes out as part of the contact already counted
    [rest] = [channel for channel in channels if channel != first]
    assert [(a.step, a.channel, a.claim_id, a.counts_as_contact) for a in decision.actions] == [
        (step, rest, _claim(step, round_, rest), False)
    ]


@PROPERTY
@given(case=actionable_units(), data=st.data())
def test_a_key_customer_gets_a_site_manager_visit_whatever_the_owners_and_the_caps(case, data):
    unit, today, tz, ladder = case
    owners = tuple(data.draw(_OWNER_LISTS))
    recent = _recent_contacts(data.draw, today, tz)
    unit = unit.model_copy(update={"key_customer": True, "owners": owners, "recent_contacts": recent})

    decision = decide(unit, today, tz, ladder, ANY_DAY)

    step, round_ = _current(unit, today, ladder)
    if step.channel is Channel.LEGAL_REVIEW:  # the review stays a review, of the site manager
        assert decision.actions == (
            Action(step, Channel.LEGAL_REVIEW, unit.label, "site_manager", _claim(step, round_)),
        )
    elif step.days_overdue <= 0 or round_ > 0:  # no courtesy note, no repetition
        assert decision.reason is SkipReason.KEY_CUSTOMER
    else:
        assert decision.reason is None
        assert decision.actions == (Action(step, Channel.VISIT, unit.label, "site_manager"),)


@PROPERTY
@given(case=actionable_units(), owners=_OWNER_LISTS)
def test_the_destination_is_always_one_the_owners_allow(case, owners):
    unit, today, tz, ladder = case
    unit = unit.model_copy(update={"owners": tuple(owners)})

    decision = decide(unit, today, tz, ladder, ANY_DAY)

    step = _step_for_age(unit, today, ladder)
    usable = _usable(owners)
    got = [(a.channel, a.destination) for a in decision.actions]
    if step.channel in (Channel.LETTER, Channel.LEGAL_REVIEW):
        # a letter or a review is about the unit whoever can be reached, and never turns into anything else
        assert got == [(step.channel, unit.label)]
        return
    if step.channel.is_task:
        # a task is always possible: a call to the first number that works, else (or for a visit) the unit's door
        if step.channel is Channel.CALL and usable[Channel.CALL]:
            assert got == [(Channel.CALL, usable[Channel.CALL][0])]
        else:
            assert got == [(Channel.VISIT, unit.label)]
        return
    if len(step.channels) > 1:
        # each message to the first owner reachable on its own channel; one nobody can be reached on is dropped
        expected = [(channel, usable[channel][0]) for channel in step.channels if usable[channel]]
        assert got == expected
        if not expected:
            assert decision.reason is SkipReason.NO_REACHABLE_CHANNEL
        return
    if not usable[Channel.SMS] and not usable[Channel.EMAIL]:
        assert decision.reason is SkipReason.NO_REACHABLE_CHANNEL
        return
    # the step's own channel whenever anyone can be reached on it, else the other one; the first such owner
    other = Channel.EMAIL if step.channel is Channel.SMS else Channel.SMS
    expected_channel = step.channel if usable[step.channel] else other
    assert got == [(expected_channel, usable[expected_channel][0])]

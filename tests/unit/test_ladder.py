"""The escalation ladder: which reminder (if any) a unit gets today, on which channel, to whom, and why not."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propfee.ladder import DEFAULT_LADDER, DEFAULT_POLICY, Action, Ladder, SkipReason, Step, decide
from propfee.models import Channel, Hold, HoldKind, OpenBill, Owner
from propfee.policy import Blocked, ContactPolicy, FrequencyCap
from tests.unit.conftest import (
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
LABEL = "B03-1502"  # how make_unit()'s unit C01-B03-1502 is named: a visit's destination


def _step(ladder, step_id):
    return next(step for step in ladder.steps if step.step_id == step_id)


# ---------------------------------------------------------------- the step for the unit's age


@pytest.mark.parametrize(
    ("days", "step_id", "channel"),
    [
        (1, "sms_d1", Channel.SMS),
        (6, "sms_d1", Channel.SMS),
        (7, "email_d7", Channel.EMAIL),
        (14, "email_d7", Channel.EMAIL),
        (15, "call_d15", Channel.CALL),
        (29, "call_d15", Channel.CALL),
        (30, "sms_d30", Channel.SMS),
        (44, "sms_d30", Channel.SMS),
        (45, "letter_d45", Channel.LETTER),
        (400, "letter_d45", Channel.LETTER),
    ],
)
def test_the_step_follows_the_age_of_the_oldest_unpaid_bill(days, step_id, channel):
    decision = decide(make_unit(open_bills=overdue_by(days)), TODAY, SHANGHAI)

    assert decision.reason is None
    assert decision.action is not None
    assert decision.action.step.step_id == step_id
    assert decision.action.channel is channel
    assert decision.action.destination == {Channel.SMS: PHONE, Channel.EMAIL: EMAIL, Channel.CALL: PHONE}.get(
        channel, LABEL
    )
    assert decision.action.assignee_role == "collector"


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
    # 20 days overdue and nothing sent yet: the unit gets the day-15 call, not the day-1 SMS or the day-7 email
    decision = decide(make_unit(open_bills=overdue_by(20)), TODAY, SHANGHAI)

    assert decision.action is not None
    assert decision.action.step.step_id == "call_d15"


@pytest.mark.parametrize("done", [{"call_d15"}, {"sms_d1", "email_d7", "call_d15"}])
def test_a_step_already_sent_is_never_sent_again(done):
    unit = make_unit(open_bills=overdue_by(20), steps_done=frozenset(done))

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.action is None
    assert decision.reason is SkipReason.STEP_ALREADY_SENT


def test_earlier_steps_already_sent_do_not_block_the_current_one():
    unit = make_unit(open_bills=overdue_by(31), steps_done=frozenset({"sms_d1", "email_d7", "call_d15"}))

    decision = decide(unit, TODAY, SHANGHAI)

    assert decision.action is not None
    assert decision.action.step.step_id == "sms_d30"


# ---------------------------------------------------------------- nothing to do


@pytest.mark.parametrize(
    "open_bills",
    [
        {},
        overdue_by(0),  # due today: not overdue yet
        overdue_by(-5),  # due in five days
        {"2025-02": OpenBill(due=TODAY - timedelta(days=10), outstanding_fen=0)},
    ],
    ids=["no bills", "due today", "due later", "nothing outstanding"],
)
def test_nothing_is_sent_when_nothing_is_overdue(open_bills):
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
    ("days", "step_id"), [(1, "sms_d1"), (7, "email_d7"), (15, "call_d15"), (30, "sms_d30"), (45, "letter_d45")]
)
def test_a_key_customer_gets_a_site_manager_visit_for_whatever_step_is_due(days, step_id):
    decision = decide(make_unit(open_bills=overdue_by(days), key_customer=True), TODAY, SHANGHAI)

    assert decision.reason is None
    assert decision.action == Action(_step(DEFAULT_LADDER, step_id), Channel.VISIT, LABEL, assignee_role="site_manager")


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

    assert decision.action == Action(_step(DEFAULT_LADDER, "email_d7"), Channel.VISIT, LABEL, "site_manager")


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


def test_a_hold_is_not_reported_when_nothing_is_overdue_or_the_amount_is_below_the_minimum():
    held = (hold(HoldKind.MANUAL),)

    assert decide(make_unit(open_bills=overdue_by(0), holds=held), TODAY, SHANGHAI).reason is SkipReason.NOT_OVERDUE
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
    # yesterday's SMS (day 1) caps today's email (day 7) just as an email would
    unit = make_unit(
        open_bills=overdue_by(7), steps_done=frozenset({"sms_d1"}), recent_contacts=contacts("2025-03-19 10:00")
    )

    assert decide(unit, TODAY, SHANGHAI).reason is Blocked.FREQUENCY_CAP


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

    action = decide(unit, TODAY, SHANGHAI).action

    assert action is not None
    assert action.step.step_id == "email_d7"
    assert (action.channel, action.destination) == (Channel.SMS, PHONE)


def test_email_step_falls_back_to_sms_when_the_owner_opted_out_of_email():
    unit = make_unit(open_bills=overdue_by(7), owners=(owner(email_opt_out=True),))

    action = decide(unit, TODAY, SHANGHAI).action

    assert action is not None
    assert (action.channel, action.destination) == (Channel.SMS, PHONE)


def test_the_steps_own_channel_is_preferred_over_the_fallback():
    unit = make_unit(
        open_bills=overdue_by(7), owners=(owner(phone=PHONE, email=None), owner(phone=None, email=EMAIL_2))
    )

    action = decide(unit, TODAY, SHANGHAI).action

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
    step_days = 1 if "sms_disabled" in bounced else 7  # the step's own channel is the disabled one
    unit = make_unit(open_bills=overdue_by(step_days), owners=(owner(**bounced),))

    action = decide(unit, TODAY, SHANGHAI).action

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
@pytest.mark.parametrize("days", [1, 7, 30], ids=["sms_d1", "email_d7", "sms_d30"])
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


@pytest.mark.parametrize("days", [45, 46, 90, 400])
def test_a_unit_45_days_or_more_overdue_gets_the_demand_letter_delivered_to_the_unit(days):
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
    earlier = frozenset({"sms_d1", "email_d7", "call_d15", "sms_d30"})
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
    assert [(s.step_id, s.days_overdue, s.channel) for s in DEFAULT_LADDER.steps] == [
        ("sms_d1", 1, Channel.SMS),
        ("email_d7", 7, Channel.EMAIL),
        ("call_d15", 15, Channel.CALL),
        ("sms_d30", 30, Channel.SMS),
        ("letter_d45", 45, Channel.LETTER),
    ]
    assert _step(DEFAULT_LADDER, "call_d15").template == ""
    assert _step(DEFAULT_LADDER, "letter_d45").template == "demand_letter"


@pytest.mark.parametrize(
    ("channel", "task", "message"),
    [
        ("sms", False, True),
        ("email", False, True),
        ("call", True, False),
        ("visit", True, False),
        ("letter", False, False),  # a formal letter is neither an automated message nor a collector's task
    ],
)
def test_call_and_visit_are_tasks_sms_and_email_are_messages_a_letter_is_neither(channel, task, message):
    assert Channel(channel).is_task is task
    assert Channel(channel).is_message is message


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.EMAIL, Channel.LETTER])
def test_a_message_or_letter_step_needs_a_template(channel):
    with pytest.raises(ValueError, match="template"):
        Step(step_id="x_d1", days_overdue=1, channel=channel)


@pytest.mark.parametrize("channel", [Channel.CALL, Channel.VISIT])
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
            Step(step_id="email_d0", days_overdue=0, channel=Channel.EMAIL, template="reminder_friendly"),
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
]
_TEMPLATES = ("reminder_friendly", "reminder_notice", "reminder_firm")
_MESSAGES = (Channel.SMS, Channel.EMAIL)  # the automated messages, the only channels the frequency caps limit


@st.composite
def ladders(draw, actionable=False):
    """The default ladder, another fixed one, or a random ladder of messages, letters and tasks (now and then
    several steps on one day, and a task step that names a template anyway). Actionable: the first step is due on
    the first day overdue and no minimum exceeds 5000 fen."""
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        return draw(st.sampled_from(_FIXED_LADDERS))
    # the first step early, then gaps of up to three weeks (0: two steps on one day)
    gaps = draw(st.lists(st.integers(min_value=0, max_value=21), min_size=1, max_size=5))
    gaps[0] = min(gaps[0], 1) if actionable else gaps[0] % 8
    days = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    minimums = [1, 1, 5000] if actionable else [1, 1, 1, 5000, 100_000]
    steps = []
    for i, day in enumerate(days):
        channel = draw(st.sampled_from(list(Channel)))
        if channel is Channel.LETTER:
            template = "demand_letter"
        elif channel in _MESSAGES:
            template = draw(st.sampled_from(_TEMPLATES))
        else:
            template = draw(st.sampled_from(("", *_TEMPLATES)))
        steps.append(
            Step(
                step_id=f"{channel.value}_{i}_d{day}",
                days_overdue=day,
                channel=channel,
                template=template,
                min_amount_fen=draw(st.sampled_from(minimums)),
            )
        )
    return Ladder(steps=tuple(steps))


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
    open_bills = {
        period: OpenBill(
            due=today + timedelta(days=draw(st.integers(min_value=-70, max_value=5))),
            # now and then a bill with nothing left on it
            outstanding_fen=0 if draw(st.integers(min_value=0, max_value=9)) == 0 else draw(st.integers(1, 300_000)),
        )
        for period in periods
    }
    tz = draw(st.sampled_from(_ZONES))
    ladder = draw(ladders())
    step_ids = [step.step_id for step in ladder.steps] + ["legacy_step"]
    unit = make_unit(
        open_bills=open_bills,
        owners=tuple(draw(_OWNER_LISTS)),
        steps_done=frozenset(draw(st.lists(st.sampled_from(step_ids), max_size=2))),
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


_REASONS = {*SkipReason, *Blocked} - {Blocked.ON_HOLD, SkipReason.PAID, SkipReason.DUPLICATE, SkipReason.KEY_CUSTOMER}
_REASONS |= {f"on_hold_{kind.value}" for kind in HoldKind}


@PROPERTY
@given(units())
def test_any_action_respects_opt_outs_steps_done_arrears_holds_days_and_caps(case):
    unit, today, tz, ladder, policy = case

    decision = decide(unit, today, tz, ladder, policy)

    assert (decision.action is None) != (decision.reason is None)
    action = decision.action
    if action is None:
        assert decision.reason in _REASONS
        return
    # (a) the destination belongs to an owner who may be reached on that channel, and nobody opted it out; a call
    # needs a number that works, an SMS opt-out is no refusal of calls; a visit or a letter goes to the unit itself
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
        assert action.channel in (Channel.VISIT, Channel.LETTER)
        assert action.destination == unit.label
    # (b) never a step already sent in this episode
    assert action.step.step_id not in unit.steps_done
    # (c) only for money actually overdue, and at least the step's minimum
    assert unit.overdue_fen(today) > 0
    assert unit.overdue_fen(today) >= action.step.min_amount_fen
    # (d) a message only while every frequency cap, counted in local days, still has room for it
    if action.channel in _MESSAGES:
        assert not _capped(unit, today, tz, policy)
    # (e) no hold in force, and not a day off, whatever the channel
    assert not _held_by(unit, today)
    assert today not in policy.extra_holidays
    if not policy.contact_on_statutory_holidays:
        assert today not in chinese_calendar.holidays
    # and: key customers get a site manager's visit, never a message or a letter; everyone else a collector, and a
    # message step stays a message, a task step a task, a letter step a letter
    if unit.key_customer:
        assert (action.channel, action.destination, action.assignee_role) == (Channel.VISIT, unit.label, "site_manager")
    else:
        assert action.assignee_role == "collector"
        assert action.channel.is_task is action.step.channel.is_task
        assert (action.channel is Channel.LETTER) is (action.step.channel is Channel.LETTER)
    # the step is the one the age calls for
    age = unit.days_overdue(today)
    assert action.step == [step for step in ladder.steps if step.days_overdue <= age][-1]


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


def _expected_route(unit, step):
    """(channel, destination) for a step given to this unit's owners, or None when nobody can be reached."""
    usable = _usable(unit.owners)
    if step.channel in (Channel.VISIT, Channel.LETTER):  # delivered to the unit: nobody needs to be reachable
        return step.channel, unit.label
    if step.channel is Channel.CALL:
        return (Channel.CALL, usable[Channel.CALL][0]) if usable[Channel.CALL] else (Channel.VISIT, unit.label)
    other = Channel.EMAIL if step.channel is Channel.SMS else Channel.SMS
    for channel in (step.channel, other):
        if usable[channel]:
            return channel, usable[channel][0]
    return None


def _expected(unit, today, tz, ladder, policy):
    """The rules as the collections team states them, written out independently: the action as
    (step, channel, destination, assignee role), or the reason there is none."""
    overdue = unit.overdue_fen(today)
    due = [step for step in ladder.steps if step.days_overdue <= unit.days_overdue(today)]
    if overdue <= 0 or not due:
        return SkipReason.NOT_OVERDUE
    step = due[-1]
    if overdue < step.min_amount_fen:
        return SkipReason.BELOW_MINIMUM
    held = _held_by(unit, today)
    if held:
        return "on_hold_" + held[0].kind.value
    if step.step_id in unit.steps_done:
        return SkipReason.STEP_ALREADY_SENT
    day_off = _expected_day_off(today, policy)
    if day_off is not None:
        return day_off
    if unit.key_customer:
        return step, Channel.VISIT, unit.label, "site_manager"
    if step.channel in _MESSAGES and _capped(unit, today, tz, policy):
        return Blocked.FREQUENCY_CAP
    route = _expected_route(unit, step)
    if route is None:
        return SkipReason.NO_REACHABLE_CHANNEL
    return step, *route, "collector"


@PROPERTY
@given(units())
def test_decide_follows_the_stated_rules(case):
    unit, today, tz, ladder, policy = case

    decision = decide(unit, today, tz, ladder, policy)

    action = decision.action
    got = decision.reason if action is None else (action.step, action.channel, action.destination, action.assignee_role)
    assert got == _expected(unit, today, tz, ladder, policy)


# each rule on its own, on units that would otherwise certainly get a reminder today (any day is a contact day)


@st.composite
def actionable_units(draw):
    today = draw(_DAYS)
    ages = draw(st.lists(st.integers(min_value=1, max_value=90), min_size=1, max_size=3, unique=True))
    open_bills = {
        f"2023-{i + 1:02d}": OpenBill(
            due=today - timedelta(days=age), outstanding_fen=draw(st.integers(5_000, 300_000))
        )
        for i, age in enumerate(ages)
    }
    unit = make_unit(open_bills=open_bills, owners=(owner(),))
    return unit, today, draw(st.sampled_from(_ZONES)), draw(ladders(actionable=True))


def _step_for_age(unit, today, ladder):
    return [step for step in ladder.steps if step.days_overdue <= unit.days_overdue(today)][-1]


@PROPERTY
@given(actionable_units())
def test_an_actionable_unit_gets_the_step_its_age_calls_for_on_its_own_channel(case):
    unit, today, tz, ladder = case

    decision = decide(unit, today, tz, ladder, ANY_DAY)

    assert decision.action is not None
    assert decision.action.step == _step_for_age(unit, today, ladder)
    assert decision.action.channel is decision.action.step.channel
    assert (
        decision.action.destination
        == {
            Channel.SMS: PHONE,
            Channel.EMAIL: EMAIL,
            Channel.CALL: PHONE,
            Channel.VISIT: unit.label,
            Channel.LETTER: unit.label,
        }[decision.action.channel]
    )
    assert decision.action.assignee_role == "collector"


@PROPERTY
@given(actionable_units(), st.data())
def test_only_the_current_step_being_done_holds_a_unit_back(case, data):
    unit, today, tz, ladder = case
    done = data.draw(st.sets(st.sampled_from([step.step_id for step in ladder.steps])))
    unit = unit.model_copy(update={"steps_done": frozenset(done), "key_customer": data.draw(st.booleans())})

    decision = decide(unit, today, tz, ladder, ANY_DAY)

    current = _step_for_age(unit, today, ladder)
    if current.step_id in done:
        assert decision.reason is SkipReason.STEP_ALREADY_SENT
    else:
        assert decision.action is not None
        assert decision.action.step == current


@PROPERTY
@given(actionable_units(), st.data())
def test_a_hold_holds_a_unit_back_exactly_while_it_is_in_force(case, data):
    unit, today, tz, ladder = case
    holds = data.draw(hold_lists(today))
    unit = unit.model_copy(update={"holds": holds, "key_customer": data.draw(st.booleans())})

    decision = decide(unit, today, tz, ladder, ANY_DAY)

    in_force = [h for h in holds if h.until is None or h.until >= today]
    if in_force:
        assert decision.action is None
        assert decision.reason == f"on_hold_{in_force[0].kind.value}"
    else:
        assert decision.action is not None


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
def test_a_key_customer_gets_a_site_manager_visit_whatever_the_owners_and_the_caps(case, data):
    unit, today, tz, ladder = case
    owners = tuple(data.draw(_OWNER_LISTS))
    recent = _recent_contacts(data.draw, today, tz)
    unit = unit.model_copy(update={"key_customer": True, "owners": owners, "recent_contacts": recent})

    decision = decide(unit, today, tz, ladder, ANY_DAY)

    assert decision.reason is None
    assert decision.action == Action(_step_for_age(unit, today, ladder), Channel.VISIT, unit.label, "site_manager")


@PROPERTY
@given(case=actionable_units(), owners=_OWNER_LISTS)
def test_the_destination_is_always_one_the_owners_allow(case, owners):
    unit, today, tz, ladder = case
    unit = unit.model_copy(update={"owners": tuple(owners)})

    decision = decide(unit, today, tz, ladder, ANY_DAY)

    step = _step_for_age(unit, today, ladder)
    usable = _usable(owners)
    if step.channel is Channel.LETTER:
        # a letter is delivered to the unit whoever can be reached, and never turns into a message
        assert decision.action is not None
        assert (decision.action.channel, decision.action.destination) == (Channel.LETTER, unit.label)
        return
    if step.channel.is_task:
        # a task is always possible: a call to the first number that works, else (or for a visit) the unit's door
        assert decision.action is not None
        if step.channel is Channel.CALL and usable[Channel.CALL]:
            assert (decision.action.channel, decision.action.destination) == (Channel.CALL, usable[Channel.CALL][0])
        else:
            assert (decision.action.channel, decision.action.destination) == (Channel.VISIT, unit.label)
        return
    if not usable[Channel.SMS] and not usable[Channel.EMAIL]:
        assert decision.reason is SkipReason.NO_REACHABLE_CHANNEL
        return
    action = decision.action
    assert action is not None
    # the step's own channel whenever anyone can be reached on it, else the other one; the first such owner
    other = Channel.EMAIL if step.channel is Channel.SMS else Channel.SMS
    expected_channel = step.channel if usable[step.channel] else other
    assert action.channel is expected_channel
    assert usable[action.channel] and action.destination == usable[action.channel][0]

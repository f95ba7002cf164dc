"""What an owner's reply sets in motion (propfee.feedback.responses.respond), with hand-built classifications so that
these tests hold whatever the classifier's keywords become."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from propfee.collection.messages import render_reply
from propfee.domain.models import Hold, HoldKind, InboundMessage, OpenBill, Owner, Unit
from propfee.feedback.intents import Classification, Department, Intent
from propfee.feedback.responses import (
    DEFAULT_DEPARTMENTS,
    Acknowledgement,
    Deadlines,
    DepartmentContact,
    FeedbackRules,
    release_ticket_holds,
    respond,
    ticket_id_for,
)
from propfee.rules import CollectionRules, CommunityRules, load_rules
from tests.support import COMPANY, SHANGHAI, at, unit

PHONE, SPOUSE, STRANGER = "+8613812345678", "+8613912345678", "+8613700000999"
EMAIL, SPOUSE_EMAIL = "wang.fang@example.net", "li.lei@example.net"
WANG = Owner(name="王芳", phone=PHONE, email=EMAIL)
LI = Owner(name="李雷", phone=SPOUSE, email=SPOUSE_EMAIL, relation="co_owner")

NOW = at("2026-11-11 09:30")
TODAY = date(2026, 11, 11)

# explicit numbers, different from the packaged rules.yaml, so that each one is seen to be used
RULES = FeedbackRules(
    deadlines=Deadlines(
        default_hours=50,
        by_intent={Intent.COMPLAINT: 30, Intent.PAID_CLAIM: 36, Intent.WRONG_NUMBER: 70},
        by_category={"lift": 4, "leak": 20},
        urgent_categories=frozenset({"lift"}),
    ),
    paid_claim_days=5,
    plan_days_without_date=10,
    longest_promise_days=60,
)


def owing(unit_id: str = "C01-B01-0101", fen: int = 25000, **changes) -> Unit:
    bills = {"2026-10": OpenBill(due=date(2026, 10, 10), outstanding_fen=fen)} if fen else {}
    return unit(unit_id, **{"owners": (WANG, LI), "open_bills": bills, "version": 7, **changes})


def message(
    sender: str = PHONE,
    channel: str = "sms",
    source_id: str = "in-0001",
    received_at: datetime = NOW,
    body: str = "业主的回复",
) -> InboundMessage:
    return InboundMessage(source_id=source_id, channel=channel, sender=sender, body=body, received_at=received_at)


def said(intent: Intent, **fields) -> Classification:
    return Classification(intent=intent, **fields)


def owner_named(u: Unit, name: str) -> Owner:
    return next(o for o in u.owners if o.name == name)


def after_of(response) -> dict[str, Unit]:
    return {u.unit_id: u for u in response.units_after}


# ---------------------------------------------------------------------------------------------- channels


@pytest.mark.parametrize(
    ("intent", "before", "after", "template"),
    [(Intent.OPT_OUT, False, True, "reply_opt_out"), (Intent.OPT_IN, True, False, "reply_opt_in")],
)
def test_an_sms_opt_out_or_in_changes_only_the_writer_on_sms_in_every_unit_and_is_confirmed_once(
    intent, before, after, template
):
    writer = WANG.model_copy(update={"sms_opt_out": before, "email_opt_out": True})
    spouse = LI.model_copy(update={"sms_opt_out": before})
    units = [owing("C01-B01-0101", owners=(writer, spouse)), owing("C01-B02-0502", owners=(writer,))]

    response = respond(message(), said(intent), units, RULES, SHANGHAI)

    changed = after_of(response)
    assert set(changed) == {"C01-B01-0101", "C01-B02-0502"}
    for u in changed.values():
        wang = owner_named(u, "王芳")
        assert wang.sms_opt_out is after
        assert wang.email_opt_out is True  # the other channel is as it was
        assert wang.sms_disabled is None
    assert owner_named(changed["C01-B01-0101"], "李雷") == spouse  # a household member decides for themselves
    assert response.acknowledgement == Acknowledgement(template, "zh-CN")
    assert response.ticket is None
    assert all(u.holds == () for u in changed.values())


def test_an_opt_out_by_email_stops_email_only_for_the_address_that_wrote():
    units = [owing("C01-B01-0101"), owing("C01-B02-0502", owners=(WANG,))]

    response = respond(message(sender=EMAIL, channel="email"), said(Intent.OPT_OUT), units, RULES, SHANGHAI)

    changed = after_of(response)
    assert set(changed) == {"C01-B01-0101", "C01-B02-0502"}
    for u in changed.values():
        assert owner_named(u, "王芳").email_opt_out is True
        assert owner_named(u, "王芳").sms_opt_out is False
    assert owner_named(changed["C01-B01-0101"], "李雷") == LI
    assert response.acknowledgement == Acknowledgement("reply_opt_out", "zh-CN")


def test_an_email_opt_out_is_honoured_whatever_the_case_of_the_stored_address():
    stored = WANG.model_copy(update={"email": "Wang.Fang@Example.net"})
    units = [owing(owners=(stored,))]

    response = respond(
        message(sender="wang.fang@example.net", channel="email"), said(Intent.OPT_OUT), units, RULES, SHANGHAI
    )

    assert response.acknowledgement == Acknowledgement("reply_opt_out", "zh-CN")
    assert [u.owners[0].email_opt_out for u in response.units_after] == [True]


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_an_email_opt_out_is_confirmed_as_an_email_opt_out(language):
    units = [owing(language=language)]
    response = respond(message(sender=EMAIL, channel="email"), said(Intent.OPT_OUT), units, RULES, SHANGHAI)
    ack = response.acknowledgement

    text = render_reply(ack.template, ack.language, ack.context, COMPANY, "email")

    assert "短信" not in text and "SMS" not in text


def test_a_wrong_number_is_disabled_and_customer_service_gets_a_ticket_answered_without_account_data():
    units = [owing("C01-B01-0101"), owing("C01-B02-0502", owners=(WANG,))]
    received = message(body="你发错人了，我不是业主")

    response = respond(received, said(Intent.WRONG_NUMBER), units, RULES, SHANGHAI)

    changed = after_of(response)
    assert set(changed) == {"C01-B01-0101", "C01-B02-0502"}
    for u in changed.values():
        wang = owner_named(u, "王芳")
        assert wang.sms_disabled  # a reason, so reminders stop going to this number
        assert wang.sms_opt_out is False and wang.email_disabled is None  # the owner's email still reaches them
        assert u.holds == ()  # what a stranger writes puts no hold on the owner's collection
    assert owner_named(changed["C01-B01-0101"], "李雷") == LI
    ticket = response.ticket
    assert (ticket.department, ticket.intent, ticket.hold) == ("customer_service", "wrong_number", None)
    assert ticket.unit_ids == ("C01-B01-0101", "C01-B02-0502")  # the units whose contact data to correct
    assert ticket.due_by == NOW + timedelta(hours=70)
    assert response.acknowledgement.template == "reply_unknown_sender"
    assert response.acknowledgement.context["ticket_id"] == ticket.ticket_id


def test_help_is_answered_with_the_help_text_and_opens_no_ticket():
    response = respond(message(body="怎么交?"), said(Intent.HELP), [owing()], RULES, SHANGHAI)

    assert response.acknowledgement == Acknowledgement("reply_help", "zh-CN")
    assert (response.ticket, response.units_after, response.changes) == (None, (), ())


def test_thanks_does_nothing_at_all_not_even_an_answer():
    response = respond(message(body="谢谢"), said(Intent.THANKS), [owing()], RULES, SHANGHAI)

    assert (response.ticket, response.acknowledgement, response.units_after, response.changes) == (None, None, (), ())


# ---------------------------------------------------------------------------------------------- money matters


def test_a_paid_claim_asks_finance_and_pauses_reminders_without_touching_the_balance():
    # 01:00 in Shanghai on the 11th is still the 10th in UTC: the hold counts from the company's day
    received = message(received_at=datetime(2026, 11, 10, 17, 0, tzinfo=UTC), body="已经交了")
    before = owing()

    response = respond(received, said(Intent.PAID_CLAIM, department=Department.FINANCE), [before], RULES, SHANGHAI)

    ticket = response.ticket
    assert (ticket.department, ticket.intent, ticket.hold) == ("finance", "paid_claim", HoldKind.PAID_CLAIM)
    assert ticket.unit_ids == ("C01-B01-0101",)
    assert ticket.due_by == received.received_at + timedelta(hours=36)
    [after] = response.units_after
    assert after.holds == (
        Hold(kind=HoldKind.PAID_CLAIM, until=date(2026, 11, 16), reason=after.holds[0].reason, ticket=ticket.ticket_id),
    )
    assert ticket.ticket_id in after.holds[0].reason
    assert after.open_bills == before.open_bills and after.balance_fen == 25000  # a text never marks anything paid
    assert after.owners == before.owners
    assert response.acknowledgement.template == "reply_ticket"


@pytest.mark.parametrize(
    ("promised", "until"),
    [
        (date(2026, 12, 15), date(2026, 12, 15)),  # the owner's date
        (None, date(2026, 11, 21)),  # no date: plan_days_without_date
        (date(2027, 6, 1), date(2027, 1, 10)),  # too far out: longest_promise_days
    ],
    ids=["with a date", "without a date", "capped"],
)
def test_a_payment_plan_holds_reminders_until_the_promised_date(promised, until):
    classification = said(Intent.PAYMENT_PLAN, department=Department.FINANCE, promise_date=promised)

    response = respond(message(body="下个月交"), classification, [owing()], RULES, SHANGHAI)

    ticket = response.ticket
    assert (ticket.department, ticket.intent, ticket.hold) == ("finance", "payment_plan", HoldKind.PROMISE_TO_PAY)
    assert ticket.promise_date == promised  # finance sees what the owner said, even when the hold is capped
    [after] = response.units_after
    [hold] = after.holds
    assert (hold.kind, hold.until, hold.ticket) == (HoldKind.PROMISE_TO_PAY, until, ticket.ticket_id)


def test_a_bill_dispute_goes_to_finance_and_holds_until_the_ticket_is_resolved():
    response = respond(message(body="账单不对"), said(Intent.BILL_DISPUTE), [owing()], RULES, SHANGHAI)

    ticket = response.ticket
    assert (ticket.department, ticket.intent, ticket.hold) == ("finance", "bill_dispute", HoldKind.DISPUTE)
    assert ticket.due_by == NOW + timedelta(hours=50)  # neither a category nor an intent deadline: the default
    [after] = response.units_after
    [hold] = after.holds
    assert (hold.kind, hold.until, hold.ticket) == (HoldKind.DISPUTE, None, ticket.ticket_id)


# ---------------------------------------------------------------------------------------------- complaints


@pytest.mark.parametrize(
    ("department", "category", "urgent", "hours", "priority"),
    [
        (Department.ENGINEERING, "lift", True, 4, "urgent"),  # someone trapped: the message is urgent
        (Department.ENGINEERING, "lift", False, 4, "normal"),  # a slow lift: the lift's deadline, not urgent
        (Department.ENGINEERING, "leak", False, 20, "normal"),  # by category
        (Department.SECURITY, "noise", False, 30, "normal"),  # no category deadline: by intent
    ],
)
def test_a_complaint_goes_to_the_department_the_classifier_named_with_its_deadline(
    department, category, urgent, hours, priority
):
    classification = said(Intent.COMPLAINT, department=department, category=category).model_copy(
        update={"urgent": urgent}
    )

    response = respond(message(body="..."), classification, [owing()], RULES, SHANGHAI)

    ticket = response.ticket
    assert (ticket.department, ticket.intent, ticket.category) == (department.value, "complaint", category)
    assert ticket.priority == priority
    assert ticket.due_by == NOW + timedelta(hours=hours)
    [after] = response.units_after
    [hold] = after.holds
    assert (hold.kind, hold.until, hold.ticket) == (HoldKind.COMPLAINT, None, ticket.ticket_id)
    assert ticket.hold is HoldKind.COMPLAINT
    ack = response.acknowledgement
    assert ack.template == "reply_ticket"
    assert ack.context["department"] == DEFAULT_DEPARTMENTS[department].name


def test_a_complaint_without_any_configured_deadline_gets_the_default_hours():
    rules = FeedbackRules(deadlines=Deadlines(default_hours=50))
    classification = said(Intent.COMPLAINT, department=Department.ENVIRONMENT, category="cleaning")

    response = respond(message(), classification, [owing()], rules, SHANGHAI)

    assert response.ticket.due_by == NOW + timedelta(hours=50)
    assert response.ticket.priority == "normal"


def test_a_complaint_holds_nothing_when_the_company_collects_while_complaints_are_open():
    rules = RULES.model_copy(update={"hold_while_complaint_open": False})
    classification = said(Intent.COMPLAINT, department=Department.ENGINEERING, category="leak")

    response = respond(message(), classification, [owing()], rules, SHANGHAI)

    assert response.ticket.department == "engineering" and response.ticket.hold is None
    assert response.units_after == ()


@pytest.mark.parametrize(
    "classification",
    [
        said(Intent.COMPLAINT, department=Department.ENGINEERING, category="leak"),
        said(Intent.PAID_CLAIM, department=Department.FINANCE),
        said(Intent.UNKNOWN, department=Department.CUSTOMER_SERVICE),
    ],
    ids=lambda c: c.intent.value,
)
def test_a_sender_we_do_not_know_gets_customer_service_and_learns_nothing(classification):
    received = message(sender=STRANGER, body="我家水管爆了")

    response = respond(received, classification, [], RULES, SHANGHAI)

    ticket = response.ticket
    assert (ticket.department, ticket.community_id, ticket.unit_ids) == ("customer_service", "UNKNOWN", ())
    assert (ticket.contact, ticket.message) == (STRANGER, "我家水管爆了")
    assert ticket.hold is None
    assert response.acknowledgement.template == "reply_unknown_sender"
    assert response.acknowledgement.context["ticket_id"] == ticket.ticket_id
    assert response.units_after == ()


# ---------------------------------------------------------------------------------------------- which units


def test_a_reply_to_one_units_reminder_concerns_only_that_unit():
    units = [owing("C01-B01-0101"), owing("C01-B02-0502")]
    complaint = said(Intent.COMPLAINT, department=Department.ENGINEERING, category="leak")

    answered = respond(message(), complaint, units, RULES, SHANGHAI, answered=("C01-B02-0502", "REMINDER#sms_d1#1"))
    unlinked = respond(message(), complaint, units, RULES, SHANGHAI)

    assert answered.ticket.unit_ids == ("C01-B02-0502",)
    assert [u.unit_id for u in answered.units_after] == ["C01-B02-0502"]
    assert unlinked.ticket.unit_ids == ("C01-B01-0101", "C01-B02-0502")
    assert [len(u.holds) for u in unlinked.units_after] == [1, 1]


def test_money_matters_concern_only_the_units_that_owe_when_any_do():
    units = [owing("C01-B01-0101", fen=0), owing("C01-B02-0502"), owing("C01-B03-0303", fen=0)]

    response = respond(message(), said(Intent.PAID_CLAIM), units, RULES, SHANGHAI)

    assert response.ticket.unit_ids == ("C01-B02-0502",)
    assert [u.unit_id for u in response.units_after] == ["C01-B02-0502"]


def test_a_money_matter_of_an_owner_who_owes_nothing_still_concerns_their_units():
    units = [owing("C01-B01-0101", fen=0), owing("C01-B02-0502", fen=0)]

    response = respond(message(), said(Intent.BILL_DISPUTE), units, RULES, SHANGHAI)

    assert response.ticket.unit_ids == ("C01-B01-0101", "C01-B02-0502")
    assert len(response.units_after) == 2


def test_a_paid_claim_answering_a_unit_that_owes_nothing_stays_with_that_unit():
    units = [owing("C01-B01-0101"), owing("C01-B02-0502", fen=0)]

    response = respond(
        message(), said(Intent.PAID_CLAIM), units, RULES, SHANGHAI, answered=("C01-B02-0502", "REMINDER#sms_d1#1")
    )

    assert response.ticket.unit_ids == ("C01-B02-0502",)
    assert [u.unit_id for u in response.units_after] == ["C01-B02-0502"]


def test_a_complaint_concerns_every_unit_whatever_it_owes():
    units = [owing("C01-B01-0101", fen=0), owing("C01-B02-0502")]
    complaint = said(Intent.COMPLAINT, department=Department.ENGINEERING, category="leak")

    response = respond(message(), complaint, units, RULES, SHANGHAI)

    assert response.ticket.unit_ids == ("C01-B01-0101", "C01-B02-0502")


def test_stop_with_a_paid_claim_both_opts_out_and_asks_finance():
    # "已经交了，别再发了"
    classification = said(Intent.OPT_OUT, also_detected=(Intent.PAID_CLAIM,))
    units = [owing("C01-B01-0101"), owing("C01-B02-0502", fen=0)]

    response = respond(message(), classification, units, RULES, SHANGHAI)

    changed = after_of(response)
    assert set(changed) == {"C01-B01-0101", "C01-B02-0502"}
    assert all(owner_named(u, "王芳").sms_opt_out for u in changed.values())
    ticket = response.ticket
    assert (ticket.department, ticket.intent, ticket.hold) == ("finance", "paid_claim", HoldKind.PAID_CLAIM)
    assert ticket.unit_ids == ("C01-B01-0101",)
    assert [(h.kind, h.until, h.ticket) for h in changed["C01-B01-0101"].holds] == [
        (HoldKind.PAID_CLAIM, TODAY + timedelta(days=5), ticket.ticket_id)
    ]
    assert changed["C01-B02-0502"].holds == ()
    assert all(u.version == 8 for u in changed.values())  # both changes in one write
    assert response.acknowledgement.context["ticket_id"] == ticket.ticket_id


# ---------------------------------------------------------------------------------------------- what is written


def test_only_changed_units_are_returned_each_one_version_on():
    already = WANG.model_copy(update={"sms_opt_out": True})
    units = [owing("C01-B01-0101", version=3), owing("C01-B02-0502", owners=(already,), version=11)]

    response = respond(message(), said(Intent.OPT_OUT), units, RULES, SHANGHAI)

    assert [(u.unit_id, u.version) for u in response.units_after] == [("C01-B01-0101", 4)]
    assert response.acknowledgement == Acknowledgement("reply_opt_out", "zh-CN")  # still confirmed


def test_ticket_ids_are_the_same_for_the_same_message_and_dated_in_the_company_timezone():
    late = datetime(2026, 11, 10, 16, 30, tzinfo=UTC)  # 00:30 on the 11th in Shanghai
    complaint = said(Intent.COMPLAINT, department=Department.ENGINEERING, category="leak")

    first = respond(message(source_id="in-0001", received_at=late), complaint, [owing()], RULES, SHANGHAI)
    again = respond(message(source_id="in-0001", received_at=late), complaint, [owing()], RULES, SHANGHAI)
    other = respond(message(source_id="in-0002", received_at=late), complaint, [owing()], RULES, SHANGHAI)

    assert first.ticket.ticket_id == again.ticket.ticket_id == ticket_id_for("in-0001", date(2026, 11, 11))
    assert other.ticket.ticket_id != first.ticket.ticket_id
    assert re.fullmatch(r"T20261111-[0-9A-F]{8}", first.ticket.ticket_id)
    assert first.units_after[0].holds[0].ticket == first.ticket.ticket_id


def test_the_acknowledgement_gives_the_deadline_in_the_company_timezone_and_the_owners_language():
    received = message(received_at=datetime(2026, 11, 11, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai
    lift = said(Intent.COMPLAINT, department=Department.ENGINEERING, category="lift")

    response = respond(received, lift, [owing(language="en")], RULES, SHANGHAI)

    assert response.acknowledgement == Acknowledgement(
        "reply_ticket",
        "en",
        {
            "ticket_id": response.ticket.ticket_id,
            "department": "engineering and maintenance",
            "due_by": "11-11 13:00",
            "due_at": "2026-11-11T05:00:00+00:00",  # a late acknowledgement drops a deadline already past
        },
    )


# ---------------------------------------------------------------------------------------------- resolving, overrides


def test_releasing_a_tickets_holds_keeps_every_other_hold_and_moves_the_version():
    mine = Hold(kind=HoldKind.COMPLAINT, ticket="T20261111-AAAAAA")
    other = Hold(kind=HoldKind.PAID_CLAIM, until=date(2026, 11, 18), ticket="T20261111-BBBBBB")
    manual = Hold(kind=HoldKind.MANUAL, reason="staff")
    held = owing(holds=(other, mine, manual), version=4)

    released = release_ticket_holds(held, "T20261111-AAAAAA")

    assert released.holds == (other, manual)
    assert released.version == 5
    assert release_ticket_holds(released, "T20261111-AAAAAA") is None
    assert release_ticket_holds(owing(holds=(manual,)), "T20261111-AAAAAA") is None


def test_a_communitys_departments_replace_the_companys_one_by_one():
    phase2 = DepartmentContact(name="工程部(二期)", email="eng-phase2@example.com")
    rules = CollectionRules(
        feedback=load_rules().feedback,
        communities={"C02": CommunityRules(departments={Department.ENGINEERING: phase2})},
    )

    c02, c01 = rules.feedback_for("C02"), rules.feedback_for("C01")

    assert c02.departments[Department.ENGINEERING] == phase2
    assert c02.departments[Department.FINANCE] == rules.feedback.departments[Department.FINANCE]
    assert c02.deadlines == rules.feedback.deadlines
    assert c01.departments[Department.ENGINEERING].email == "engineering@example.com"
    assert rules.feedback.departments[Department.ENGINEERING].email == "engineering@example.com"  # not changed
    assert FeedbackRules().with_departments({Department.LEGAL: phase2}).departments == {
        **DEFAULT_DEPARTMENTS,
        Department.LEGAL: phase2,
    }
    # the owner in C02 is told the name of their own community's department
    leak = said(Intent.COMPLAINT, department=Department.ENGINEERING, category="leak")
    response = respond(message(), leak, [owing("C02-B01-0101")], c02, SHANGHAI)
    assert response.acknowledgement.context["department"] == "工程部(二期)"


# ---------------------------------------------------------------------------------------------- several intents


def test_a_complaint_with_a_refusal_to_pay_opens_its_ticket_and_hold_and_records_the_refusal():
    classification = said(Intent.COMPLAINT, department=Department.ENGINEERING, category="leak", refuses_to_pay=True)

    response = respond(message(body="漏水不修，物业费一分都不交"), classification, [owing()], RULES, SHANGHAI)

    ticket = response.ticket
    assert (ticket.intent, ticket.department, ticket.category) == ("complaint", "engineering", "leak")
    assert ticket.also == ("refuses_to_pay",) and ticket.hold is HoldKind.COMPLAINT
    [held] = response.units_after
    assert [(h.kind, h.ticket) for h in held.holds] == [(HoldKind.COMPLAINT, ticket.ticket_id)]
    assert any("refuses to pay" in change for change in response.changes)


def test_a_promise_inside_a_complaint_keeps_both_the_complaint_and_the_promise():
    classification = said(
        Intent.COMPLAINT,
        department=Department.ENGINEERING,
        category="lift",
        promise_date=date(2026, 11, 20),
        also_detected=(Intent.PAYMENT_PLAN,),
    )

    response = respond(message(body="电梯请尽快修，20号我会交"), classification, [owing()], RULES, SHANGHAI)

    ticket = response.ticket
    assert (ticket.intent, ticket.promise_date, ticket.also) == ("complaint", date(2026, 11, 20), ("payment_plan",))
    [held] = response.units_after
    assert [(h.kind, h.until, h.ticket) for h in held.holds] == [
        (HoldKind.COMPLAINT, None, ticket.ticket_id),  # until the lift is dealt with
        (HoldKind.PROMISE_TO_PAY, date(2026, 11, 20), None),  # and the promise, whenever the ticket closes
    ]
    # resolving the complaint releases its own hold, not the promise
    assert [h.kind for h in release_ticket_holds(held, ticket.ticket_id).holds] == [HoldKind.PROMISE_TO_PAY]


def test_a_condition_is_not_a_promise_without_a_day():
    classification = said(Intent.COMPLAINT, category="leak", also_detected=(Intent.PAYMENT_PLAN,), refuses_to_pay=True)

    response = respond(message(body="修好再交"), classification, [owing()], RULES, SHANGHAI)

    [held] = response.units_after
    assert [h.kind for h in held.holds] == [HoldKind.COMPLAINT]


# ---------------------------------------------------------------------------------------------- doubt


def test_a_possible_opt_out_stops_sms_for_the_writer_and_asks_once():
    unsure = said(Intent.THANKS, possible_opt_out=True, decided_by="model", confidence=40)
    units = [owing()]

    first = respond(message(), unsure, units, RULES, SHANGHAI)

    [stopped] = first.units_after
    assert owner_named(stopped, "王芳").sms_opt_out is True
    assert owner_named(stopped, "李雷").sms_opt_out is False  # only the number that wrote
    assert first.acknowledgement == Acknowledgement("reply_opt_out_confirm", "zh-CN")

    second = respond(message(source_id="in-0002"), unsure, [stopped], RULES, SHANGHAI)

    assert second.units_after == ()  # nothing left to change
    assert second.acknowledgement is None  # a thank-you is not answered, and the question is not asked again


def test_a_person_decides_what_the_classifier_was_unsure_of_with_its_two_best_guesses():
    unsure = said(Intent.UNKNOWN, decided_by="person", confidence=28, guesses=(Intent.BILL_DISPUTE, Intent.COMPLAINT))

    response = respond(message(), unsure, [owing()], RULES, SHANGHAI)

    assert (response.ticket.department, response.ticket.guesses) == ("customer_service", ("bill_dispute", "complaint"))


@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize("channel", ["sms", "email"])
def test_the_confirmation_question_tells_the_owner_how_to_resume(language, channel):
    text = render_reply(
        "reply_opt_out_confirm", language, {}, COMPANY.model_copy(update={"hotline": "400-000-0000"}), channel
    )

    assert ('回复"恢复"' if language == "zh-CN" else "reply START") in text
    assert "400-000-0000" in text

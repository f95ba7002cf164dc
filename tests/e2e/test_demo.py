"""A short simulated month through the real functions in the sandbox, checked against the raw records."""

import json
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from propfee.aws.dynamo_table import from_attributes
from propfee.collection.policy import day_blocked
from propfee.local.simulation.run import DemoOptions, run_demo
from propfee.rules import load_rules
from tests.support import REPORT_FILE_NAMES, SHANGHAI
from tests.support.sandbox import assert_calls_allowed, assert_every_message_accounted_for, plan_summaries

pytestmark = pytest.mark.e2e


def _scan(demo) -> list[dict]:
    items = []
    for page in demo.table.db.get_paginator("scan").paginate(TableName=demo.table.name):
        items.extend(from_attributes(i) for i in page["Items"])
    return items


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    captured = {}

    def keep(demo):
        captured["items"] = _scan(demo)
        captured["sms"] = demo.sandbox.sent_sms()
        captured["email"] = demo.sandbox.sent_email()
        captured["logs"] = demo.sandbox.function_logs()
        captured["calls"] = dict(demo.sandbox.function_calls)
        captured["plans"] = plan_summaries(demo.sandbox)

    summary = run_demo(DemoOptions(households=150, days=24, seed=11, out=out), on_finish=keep)
    return summary, captured, out


def _kind(items, kind):
    return [i for i in items if i.get("kind") == kind]


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(SHANGHAI)


def test_reminders_went_only_to_units_that_owed_overdue_money(month):
    """Or, for the courtesy step before the due date, money falling due within its days."""
    _, captured, _ = month
    items = captured["items"]
    reminders = _kind(items, "reminder")
    assert len(reminders) > 20
    lead = {step.step_id: max(0, -step.days_overdue) for step in load_rules().ladder.steps}
    assert any(lead[r["step"].split("-")[0]] for r in reminders), "the courtesy step ran"
    bills = defaultdict(list)
    for b in _kind(items, "bill"):
        bills[b["unit_id"]].append(b)
    payments = defaultdict(list)
    for p in _kind(items, "payment"):
        payments[p["unit_id"]].append(p)
    for reminder in reminders:
        claimed = _local(reminder["claimed_at"])
        days_ahead = lead[reminder["step"].split("-")[0]]
        cutoff = claimed.date() + (timedelta(days=days_ahead) if days_ahead else timedelta(days=-1))
        overdue = sum(b["amount_fen"] for b in bills[reminder["unit_id"]] if date.fromisoformat(b["due"]) <= cutoff)
        paid = sum(p["amount_fen"] for p in payments[reminder["unit_id"]] if _local(p["paid_at"]) < claimed)
        assert overdue - paid > 0, reminder["unit_id"]
        assert 8 <= claimed.hour < 21


def test_no_step_was_sent_twice_and_every_provider_message_has_its_evidence(month):
    _, captured, _ = month
    reminders = _kind(captured["items"], "reminder")
    sent = [r for r in reminders if r["status"] == "sent" and r["channel"] in ("sms", "email")]
    letters = [r for r in reminders if r["channel"] == "letter"]
    assert all(r["status"] == "sent" and r["provider_message_id"].startswith("letters/") for r in letters)
    assert assert_every_message_accounted_for(captured["items"], captured["sms"], captured["email"])
    assert {r["channel"] for r in sent} == {"sms", "email"}


def test_every_planned_action_ended_recorded_skipped_with_a_reason_or_in_a_dlq(month):
    summary, captured, _ = month
    planned = sum(plan["jobs_enqueued"] for plan in captured["plans"])
    assert len({plan["day"] for plan in captured["plans"]}) == 24 and planned > 50
    recorded = len(_kind(captured["items"], "reminder"))  # sent, assigned, failed or unconfirmed
    skipped = _kind(captured["items"], "skip")
    assert all(s["reason"] for s in skipped)
    assert planned == recorded + len(skipped) + summary["dead_letters"]


def test_payments_reduce_arrears_and_every_balance_equals_bills_minus_payments(month):
    summary, captured, _ = month
    items = captured["items"]
    assert summary["payments"]["count"] > 50
    assert summary["standing_at_end"]["outstanding_fen"] < summary["standing_at_start"]["outstanding_fen"]
    start, end = summary["standing_at_start"], summary["standing_at_end"]
    # the headline adds up: at start + billed during the run - collected (net of refunds) = at end
    billed_in_run, paid_in_run = (
        end["all_billed_fen"] - start["all_billed_fen"],
        end["all_paid_fen"] - start["all_paid_fen"],
    )
    assert start["outstanding_fen"] + billed_in_run - paid_in_run == end["outstanding_fen"]
    billed, paid = Counter(), Counter()
    for b in _kind(items, "bill"):
        billed[b["unit_id"]] += b["amount_fen"]
    for p in _kind(items, "payment"):
        paid[p["unit_id"]] += p["amount_fen"]
    units = [i for i in items if i["sk"] == "UNIT"]
    assert len(units) == 150
    for u in units:
        owed = billed[u["unit_id"]] - paid[u["unit_id"]]
        assert u["balance_fen"] == max(owed, 0) and u["credit_fen"] == max(-owed, 0), u["unit_id"]
        assert ("arrears_pk" in u) == (owed > 0)


def test_owners_pay_from_the_reminders_link_with_both_providers_each_payment_on_the_ledger_once(month):
    summary, captured, _ = month
    online = summary["payments"]["online"]
    assert set(online) == {"wechat_pay", "alipay"} and all(count > 0 for count in online.values())
    orders = [i for i in captured["items"] if str(i["pk"]).startswith("PAYORDER#")]
    paid = [o for o in orders if o["status"] == "paid"]
    assert len(paid) == sum(online.values())  # every cashier payment was notified and applied
    payments = {p["reference"]: p for p in _kind(captured["items"], "payment")}
    for order in paid:
        payment = payments[order["transaction_id"]]  # keyed by the provider's transaction id: applied once
        assert payment["method"] == order["provider"] and payment["unit_id"] == order["unit_id"]


def test_each_daily_report_equals_a_recount_from_the_table(month):
    summary, captured, out = month
    items = captured["items"]
    payments, reminders, bills = _kind(items, "payment"), _kind(items, "reminder"), _kind(items, "bill")
    assert len(summary["daily"]) == 24
    for day_summary in summary["daily"]:
        day = date.fromisoformat(day_summary["date"])
        report = json.loads((out / "reports" / day.isoformat() / "summary.json").read_text(encoding="utf-8"))
        cutoff = datetime.combine(day + timedelta(days=1), datetime.min.time(), SHANGHAI)
        todays = [p for p in payments if _local(p["paid_at"]).date() == day]
        totals = report["totals"]
        assert totals["collections"] == {"count": len(todays), "amount_fen": sum(p["amount_fen"] for p in todays)}
        todays_reminders = [r for r in reminders if _local(r["claimed_at"]).date() == day]
        sent = Counter(r["channel"] for r in todays_reminders if r["status"] in ("sent", "delivered"))
        assigned = Counter(r["channel"] for r in todays_reminders if r["status"] == "assigned")
        assert totals["reminders"]["sent"] == dict(sent)
        assert totals["reminders"]["assigned"] == dict(assigned)
        period = f"{day.year:04d}-{day.month:02d}"
        billed = sum(b["amount_fen"] for b in bills if b["period"] == period and _local(b["issued_at"]) < cutoff)
        paid = sum(int(p["allocations"].get(period, 0)) for p in payments if _local(p["paid_at"]) < cutoff)
        assert totals["current_period"]["billed_fen"] == billed
        assert totals["current_period"]["paid_fen"] == paid
        all_billed = sum(b["amount_fen"] for b in bills if _local(b["issued_at"]) < cutoff)
        all_paid = sum(
            sum(int(v) for v in p["allocations"].values()) for p in payments if _local(p["paid_at"]) < cutoff
        )
        assert totals["outstanding_fen"] == all_billed - all_paid


def test_every_day_has_its_report_in_the_output_folder(month):
    summary, _, out = month
    for day_summary in summary["daily"]:
        folder = Path(out) / "reports" / day_summary["date"]
        assert {p.name for p in folder.iterdir()} == REPORT_FILE_NAMES
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == summary


def test_messages_jsonl_lists_every_outbound_message_from_the_evidence(month):
    summary, captured, out = month
    lines = [json.loads(line) for line in (out / "messages.jsonl").read_text(encoding="utf-8").splitlines()]
    reminders = [r for r in _kind(captured["items"], "reminder") if r["channel"] in ("sms", "email", "letter")]
    assert len(lines) == len(reminders) == summary["messages"]
    assert [line["sent_at"] for line in lines] == sorted(line["sent_at"] for line in lines)
    assert all(line["sent_at"].endswith("+08:00") and line["balance_fen"] > 0 for line in lines)
    assert {(line["unit_id"], line["step"]) for line in lines} == {(r["unit_id"], r["step"]) for r in reminders}
    # each message's text as sent: an SMS word for word as the provider got it, an email with its subject
    texts = {text for _, _, text in captured["sms"]}
    assert all(line["text"] for line in lines)
    assert {line["text"] for line in lines if line["channel"] == "sms"} <= texts
    assert all(line["subject"] for line in lines if line["channel"] == "email")


def test_no_reminder_went_out_in_quiet_hours_or_on_a_holiday(month):
    _, captured, _ = month
    for reminder in _kind(captured["items"], "reminder"):
        claimed = _local(reminder["claimed_at"])
        assert not 12 <= claimed.hour < 14
        assert day_blocked(claimed.date(), load_rules().contact_policy) is None


def test_logs_never_carry_an_unmasked_phone_number_or_owner_name(month):
    _, captured, _ = month
    phones = {phone for _, phone, _ in captured["sms"]}
    assert phones and captured["logs"]
    assert not [p for p in phones if p in captured["logs"] or p[3:] in captured["logs"]]
    units = [i for i in captured["items"] if i.get("sk") == "UNIT"]
    names = {o["name"] for unit in units for o in unit.get("owners", [])}
    assert len(names) > 50
    assert not [name for name in names if name in captured["logs"]]


def test_the_same_seed_gives_the_same_summary(tmp_path):
    first = run_demo(DemoOptions(households=60, days=6, seed=5, out=tmp_path / "a"))
    second = run_demo(DemoOptions(households=60, days=6, seed=5, out=tmp_path / "b"))
    assert (tmp_path / "a" / "summary.json").read_bytes() == (tmp_path / "b" / "summary.json").read_bytes()
    other = run_demo(DemoOptions(households=60, days=6, seed=6, out=tmp_path / "c"))
    assert first == second and other != first


def test_every_call_a_function_made_is_allowed_by_its_own_iam_policy(month):
    _, captured, _ = month
    assert {function for function, _ in captured["calls"]} >= {"PlanFunction", "SendFunction", "DailyReportFunction"}
    assert_calls_allowed(captured["calls"])

"""The collection engine over three months for a few thousand households: `make e2e-long` (not in `make test`,
about 45 minutes on a 2-core machine). PROPFEE_LONG_HOUSEHOLDS and PROPFEE_LONG_DAYS change its size."""

import os
from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest

from propfee.aws.dynamo_table import from_attributes
from propfee.collection.policy import day_blocked
from propfee.local.simulation.run import DemoOptions, run_demo
from propfee.rules import load_rules
from tests.support import SHANGHAI
from tests.support.sandbox import assert_every_message_accounted_for, plan_summaries

pytestmark = [pytest.mark.e2e, pytest.mark.long]
HOUSEHOLDS = int(os.environ.get("PROPFEE_LONG_HOUSEHOLDS", "2500"))
DAYS = int(os.environ.get("PROPFEE_LONG_DAYS", "90"))
START = date(2026, 9, 1)  # through National Day (Oct 1-8) and its make-up workdays


@pytest.fixture(scope="module")
def quarter(tmp_path_factory):
    captured = {}

    def keep(demo):
        items = []
        for page in demo.table.db.get_paginator("scan").paginate(TableName=demo.table.name):
            items.extend(from_attributes(i) for i in page["Items"])
        captured["items"] = items
        captured["plans"] = plan_summaries(demo.sandbox)
        captured["sms"], captured["email"] = demo.sandbox.sent_sms(), demo.sandbox.sent_email()

    out = tmp_path_factory.mktemp("quarter")
    summary = run_demo(DemoOptions(households=HOUSEHOLDS, days=DAYS, seed=90, start=START, out=out), on_finish=keep)
    return summary, captured


def _local(text):
    return datetime.fromisoformat(text).astimezone(SHANGHAI)


def test_no_duplicate_and_every_planned_action_accounted_for(quarter):
    summary, captured = quarter
    items = captured["items"]
    reminders = [i for i in items if i.get("kind") == "reminder"]
    skips = [i for i in items if i.get("kind") == "skip"]
    # each message the providers accepted is a reminder with its evidence, an acknowledgement or a ticket
    assert assert_every_message_accounted_for(items, captured["sms"], captured["email"])
    planned = sum(plan["jobs_enqueued"] for plan in captured["plans"])
    assert planned == len(reminders) + len(skips) + summary["dead_letters"]
    assert summary["dead_letters"] == 0


def test_no_send_broke_the_contact_policy(quarter):
    _, captured = quarter
    policy = load_rules().contact_policy
    contacts = defaultdict(dict)  # unit -> step -> the day of its first message
    promises = defaultdict(list)
    for item in captured["items"]:
        if item.get("kind") == "reminder":
            claimed = _local(item["claimed_at"])
            assert policy.window.start <= claimed.time() < policy.window.end
            assert not (policy.quiet_hours and policy.quiet_hours.start <= claimed.time() < policy.quiet_hours.end)
            assert day_blocked(claimed.date(), policy) is None, claimed
            if item["channel"] in ("sms", "email"):
                # the messages of one step ("notice_d7-email", "notice_d7-sms") are one contact
                step = item["step"].removesuffix("-sms").removesuffix("-email")
                first = contacts[item["unit_id"]].get(step, claimed.date())
                contacts[item["unit_id"]][step] = min(first, claimed.date())
        if item.get("kind") == "task" and item.get("promised_date"):
            promises[item["unit_id"]].append(
                (_local(item["done_at"]).date(), date.fromisoformat(item["promised_date"]))
            )
    for unit_id, by_step in contacts.items():
        days = sorted(by_step.values())
        for day in days:
            assert sum(1 for d in days if day - timedelta(days=2) <= d <= day) <= 1, unit_id  # 1 per 3 days
            assert sum(1 for d in days if day - timedelta(days=29) <= d <= day) <= 4, unit_id  # 4 per 30 days
        for made, until in promises.get(unit_id, []):
            assert not [d for d in days if made < d <= until], unit_id  # a promise holds the ladder

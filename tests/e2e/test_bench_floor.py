"""The busy day's I/O floor (bench/floor.py) makes the calls it claims to: the day's unavoidable work, nothing less."""

import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from run import sandbox_day

pytestmark = pytest.mark.e2e


def test_the_floor_claims_each_action_once_calls_each_provider_once_and_writes_back_what_a_reply_needs():
    day = sandbox_day(120)
    actions = Counter(day["actions"])
    messages = actions["sms"] + actions.get("email", 0) + actions.get("letter", 0)
    assert messages > 0 and sum(actions.values()) > messages  # messages and tasks both
    floor = day["io_floor"]
    # one arrears page (one small community), 3 SQS calls a batch of 10 jobs, a claim an action, a provider call a
    # message, and the written-back evidence (with a message's lookup item) in batches of 24 or 25 items
    jobs, write_backs = sum(actions.values()), messages + actions["sms"] + actions.get("email", 0)
    rest = floor["api_calls"] - 1 - 3 * -(-jobs // 10) - jobs - messages
    assert -(-write_backs // 25) <= rest <= -(-write_backs // 23)
    # the day itself does no more than 3 calls an action, and the floor is measured, not assumed
    assert day["api_calls_per_action"] <= 3
    assert floor["seconds"] > 0 and day["seconds_over_io_floor"] > 0

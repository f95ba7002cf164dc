"""The sandbox's fault injection: the random mode's decisions are the seed's, at the rates asked for."""

from collections import Counter

import pytest

from propfee.collection.sending import parse_job
from propfee.local.sandbox.faults import ERROR_CODES, FaultInjector, RandomFaults, poison_bodies, poison_marker
from propfee.local.sandbox.runtime import current_function

DRAWS = 20_000


def _decisions(faults: RandomFaults, calls: list[tuple[str, str]]) -> list[tuple[str | None, str | None]]:
    return [(faults.before(service, operation), faults.after(service, operation)) for service, operation in calls]


CALLS = [("dynamodb", "TransactWriteItems"), ("sns", "Publish"), ("dynamodb", "Query"), ("sqs", "SendMessage")] * 500


def _faults(seed: int) -> RandomFaults:
    return RandomFaults(
        seed, errors={"dynamodb": 0.1, "sns": 0.2}, crashes={"sns": 0.05}, timeouts={("dynamodb", "Query"): 0.1}
    )


def test_the_same_seed_gives_the_same_faults_and_another_seed_others():
    first = _decisions(_faults(7), CALLS)
    assert first == _decisions(_faults(7), CALLS)
    assert first != _decisions(_faults(8), CALLS)
    assert any(error for error, _ in first) and any(after for _, after in first)


def test_an_operations_stream_does_not_depend_on_the_calls_to_other_operations():
    publishes = [("sns", "Publish")] * 300
    alone = _decisions(_faults(7), publishes)
    mixed = _decisions(_faults(7), [call for publish in publishes for call in (publish, ("dynamodb", "Query"))])
    assert alone == mixed[::2]


@pytest.mark.parametrize("rate", [0.01, 0.05, 0.3])
def test_each_kind_fires_at_its_rate(rate):
    faults = RandomFaults(1, errors={"sns": rate}, crashes={"sns": rate}, timeouts={"sns": rate})
    errors = sum(faults.before("sns", "Publish") is not None for _ in range(DRAWS))
    after = Counter(faults.after("sns", "Publish") for _ in range(DRAWS))
    tolerance = 4 * (rate * (1 - rate) / DRAWS) ** 0.5  # four standard deviations
    assert abs(errors / DRAWS - rate) < tolerance
    assert abs(after["crash"] / DRAWS - rate) < tolerance
    # a timeout is drawn only for a call that did not crash
    assert abs(after["timeout"] / DRAWS - rate * (1 - rate)) < tolerance


def test_an_operations_rate_overrides_its_services_and_no_rate_means_no_fault():
    faults = RandomFaults(3, errors={"dynamodb": 1.0, ("dynamodb", "Query"): 0.0})
    assert all(faults.before("dynamodb", "PutItem") for _ in range(100))
    assert not any(faults.before("dynamodb", "Query") for _ in range(100))
    assert not any(faults.before("sns", "Publish") or faults.after("sns", "Publish") for _ in range(100))


def test_errors_are_the_codes_a_service_answers_when_throttled_or_failing():
    faults = RandomFaults(5, errors={"dynamodb": 1.0, "sesv2": 1.0, "lambda": 1.0})
    assert {faults.before("dynamodb", "UpdateItem") for _ in range(200)} == set(ERROR_CODES["dynamodb"])
    assert {faults.before("sesv2", "SendEmail") for _ in range(200)} == set(ERROR_CODES["sesv2"])
    assert {faults.before("lambda", "Invoke") for _ in range(200)} <= {"ThrottlingException", "InternalError"}


def test_a_batch_is_never_refused_whole_and_shuffling_keeps_every_message():
    faults = RandomFaults(2, refused_entries=0.9, shuffle=True, duplicates=0.25)
    ids = [str(n) for n in range(10)]
    refusals = [faults.refused(ids) for _ in range(500)]
    assert all(len(r) < len(ids) for r in refusals) and any(refusals)
    assert sorted(faults.reordered(ids)) == ids and any(faults.reordered(ids) != ids for _ in range(5))
    assert 0.2 < sum(faults.delivered_again() for _ in range(DRAWS)) / DRAWS < 0.3


def test_random_faults_touch_only_the_calls_made_inside_a_function():
    injector = FaultInjector.random(4, errors={"sns": 1.0}, crashes={"sns": 1.0})
    assert injector._before("sns", "Publish") is None and injector._after("sns", "Publish") is None  # set-up, checks
    token = current_function.set("SendFunction")
    try:
        assert injector._before("sns", "Publish") in ERROR_CODES["sns"]
        assert injector._after("sns", "Publish") == "crash"
    finally:
        current_function.reset(token)


def test_a_fixed_fault_can_let_the_first_calls_through():
    injector = FaultInjector()
    injector.add("dynamodb", "TransactWriteItems", "InternalServerError", times=1, skip=1)
    seen = [injector._before("dynamodb", "TransactWriteItems") for _ in range(4)]
    assert seen == [None, "InternalServerError", None, None]


def test_poison_messages_are_refused_by_the_send_function_and_carry_their_marker():
    bodies = poison_bodies(40, seed=9)
    assert bodies == poison_bodies(40, seed=9) and len(set(bodies.values())) == 40
    for marker, body in bodies.items():
        job, reason = parse_job(body)
        assert job is None and reason.startswith("malformed send job")
        assert poison_marker(body) == marker

"""Fault injection for the sandbox: make the functions' AWS calls fail the way AWS calls fail.

A fault is what a function sees once botocore's own retries have given up (botocore never sees it, so no
retry sleeps): an error code raised instead of a call (before it reaches the embedded AWS, so nothing
happened), a read timeout after the call (it happened, the caller cannot tell), or a crash after it (it
happened, and the function died before it heard). Faults attach to the adapters' clients only, never to
the sandbox's own plumbing.

Two modes:
- fixed (`add`): the next `times` matching calls fail, after `skip` of them went through; for tests that
  need one exact failure at one exact step.
- random (`FaultInjector.random`): each call fails at a rate per service or operation, drawn from seeded
  streams (one per kind, service and operation): the same seed gives the same faults as long as the calls
  come in the same order, which they do in the sandbox (one function runs at a time). Only calls made inside
  a function are touched, never the set-up or the checks of a test or benchmark.

Attached to a sandbox (`with injector.on(sandbox):`) a crash is a real one: nothing else that invocation
does reaches AWS and the invocation fails as a whole (SQS delivers the whole batch again); an asynchronous
invocation (a schedule, an S3 notification) that fails is retried twice and then goes to the function's
DeadLetterQueue (the template's), as Lambda does.
The random mode also disturbs the event-source mappings' deliveries: a message is delivered again later (a
copy goes back on its queue, as SQS's at-least-once delivery may do), and each batch comes in a shuffled
order. `put_poison` puts malformed messages on a queue.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import random
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ReadTimeoutError

from propfee.aws import clients
from propfee.local.sandbox.runtime import current_function

if TYPE_CHECKING:
    from propfee.local.sandbox.sandbox import Sandbox

# a whole service ("sns") or one of its operations (("dynamodb", "TransactWriteItems"))
Target = str | tuple[str, str]

# what each service answers when throttled or failing inside: all retryable (none is a PERMANENT_ERRORS code)
ERROR_CODES: dict[str, tuple[str, ...]] = {
    "dynamodb": ("ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError"),
    "sqs": ("RequestThrottled", "InternalError", "ServiceUnavailable"),
    "sns": ("Throttling", "InternalError"),
    "sesv2": ("TooManyRequestsException", "InternalFailure"),
    "s3": ("SlowDown", "InternalError"),
}
DEFAULT_ERROR_CODES = ("ThrottlingException", "InternalError")
AFTER_THE_CALL = ("crash", "timeout")
ASYNC_ATTEMPTS = 3  # Lambda retries a failed asynchronous invocation twice, then drops the event


class InjectedCrash(Exception):
    """The function died after a call succeeded (the call's effect stands)."""


@dataclass
class Fault:
    service: str
    operation: str
    error_code: str  # e.g. ThrottlingException, InternalServerError; "crash" or "timeout" after the call
    times: int = 1
    skip: int = 0  # matching calls let through before the first fault
    fired: int = 0
    seen: int = 0

    @property
    def spent(self) -> bool:
        return self.fired >= self.times


@dataclass
class RandomFaults:
    """The random mode's decisions: pure apart from the seeded streams they draw from."""

    seed: int
    errors: Mapping[Target, float] = field(default_factory=dict)  # an error code instead of the call
    timeouts: Mapping[Target, float] = field(default_factory=dict)  # a read timeout after the call
    crashes: Mapping[Target, float] = field(default_factory=dict)  # the function dies after the call
    refused_entries: float = 0.0  # SQS SendMessageBatch: an entry comes back Failed (not the sender's fault)
    duplicates: float = 0.0  # an event-source mapping delivers a message again later
    shuffle: bool = False  # an event-source mapping delivers each batch in a random order
    error_codes: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(ERROR_CODES))
    _streams: dict[tuple[str, ...], random.Random] = field(default_factory=dict, repr=False, compare=False)

    def _stream(self, *name: str) -> random.Random:
        if name not in self._streams:
            digest = hashlib.sha256("|".join((str(self.seed), *name)).encode()).digest()
            # faults for a test, never a secret
            self._streams[name] = random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311  # nosec B311
        return self._streams[name]

    @staticmethod
    def rate(rates: Mapping[Target, float], service: str, operation: str) -> float:
        return rates.get((service, operation), rates.get(service, 0.0))

    def _hit(self, kind: str, rates: Mapping[Target, float], service: str, operation: str) -> bool:
        rate = self.rate(rates, service, operation)
        return rate > 0 and self._stream(kind, service, operation).random() < rate

    def before(self, service: str, operation: str) -> str | None:
        """The error code this call fails with instead of being made, or None."""
        if not self._hit("error", self.errors, service, operation):
            return None
        return self._stream("code", service).choice(self.error_codes.get(service, DEFAULT_ERROR_CODES))

    def after(self, service: str, operation: str) -> str | None:
        """ "crash" or "timeout" after this call was made, or None."""
        if self._hit("crash", self.crashes, service, operation):
            return "crash"
        if self._hit("timeout", self.timeouts, service, operation):
            return "timeout"
        return None

    def refused(self, entry_ids: list[str]) -> list[str]:
        """The entries of a SendMessageBatch that SQS does not take (never all of them: then the call fails)."""
        if self.refused_entries <= 0:
            return []
        stream = self._stream("refused")
        refused = [entry_id for entry_id in entry_ids if stream.random() < self.refused_entries]
        return refused if len(refused) < len(entry_ids) else refused[:-1]

    def delivered_again(self) -> bool:
        return self.duplicates > 0 and self._stream("duplicate").random() < self.duplicates

    def reordered(self, messages: list[Any]) -> list[Any]:
        shuffled = list(messages)
        if self.shuffle:
            self._stream("shuffle").shuffle(shuffled)
        return shuffled


@dataclass
class FaultInjector:
    faults: list[Fault] = field(default_factory=list)
    chance: RandomFaults | None = None
    # (kind, "service:Operation" or function) -> how many times it happened
    fired: Counter[tuple[str, str]] = field(default_factory=Counter)
    _sandbox: Sandbox | None = field(default=None, repr=False)
    _dead: bool = False  # the running invocation crashed (only when attached to a sandbox)

    @classmethod
    def random(
        cls,
        seed: int,
        errors: Mapping[Target, float] | None = None,
        timeouts: Mapping[Target, float] | None = None,
        crashes: Mapping[Target, float] | None = None,
        refused_entries: float = 0.0,
        duplicates: float = 0.0,
        shuffle: bool = False,
        error_codes: Mapping[str, tuple[str, ...]] | None = None,
    ) -> FaultInjector:
        chance = RandomFaults(
            seed,
            dict(errors or {}),
            dict(timeouts or {}),
            dict(crashes or {}),
            refused_entries,
            duplicates,
            shuffle,
            dict(error_codes or ERROR_CODES),
        )
        return cls(chance=chance)

    def add(self, service: str, operation: str, error_code: str, times: int = 1, skip: int = 0) -> Fault:
        fault = Fault(service, operation, error_code, times, skip)
        self.faults.append(fault)
        return fault

    def by_kind(self) -> dict[str, int]:
        kinds: Counter[str] = Counter()
        for (kind, _where), count in self.fired.items():
            kinds[kind] += count
        return dict(sorted(kinds.items()))

    def _due(self, service: str, operation: str, after: bool) -> Fault | None:
        for fault in self.faults:
            if fault.spent or (fault.service, fault.operation) != (service, operation):
                continue
            if (fault.error_code in AFTER_THE_CALL) == after:
                fault.seen += 1
                if fault.seen <= fault.skip:
                    continue
                fault.fired += 1
                return fault
        return None

    def _before(self, service: str, operation: str) -> str | None:
        fault = self._due(service, operation, after=False)
        if fault is not None:
            return fault.error_code
        if self.chance is not None and current_function.get() is not None:
            return self.chance.before(service, operation)
        return None

    def _after(self, service: str, operation: str) -> str | None:
        fault = self._due(service, operation, after=True)
        if fault is not None:
            return fault.error_code
        if self.chance is not None and current_function.get() is not None:
            return self.chance.after(service, operation)
        return None

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_name

        def before(model: Any, context: dict[str, Any], **_: Any) -> None:
            if self._dead and current_function.get() is not None:
                raise InjectedCrash(f"the function had died before {service}:{model.name}")
            code = self._before(service, model.name)
            if code is not None:
                context.pop("propfee_refused", None)
                self.fired[("error", f"{service}:{model.name}")] += 1
                error = {"Error": {"Code": code, "Message": "injected by the sandbox"}}
                raise ClientError(error, model.name)  # type: ignore[arg-type]

        def after(model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            kind = self._after(service, model.name)
            if kind is not None:
                self.fired[(kind, f"{service}:{model.name}")] += 1
            if kind == "timeout":
                raise ReadTimeoutError(endpoint_url=f"{service}:{model.name} (injected)")
            if kind == "crash":
                self._dead = self._sandbox is not None
                raise InjectedCrash(f"crash after {service}:{model.name}")
            for entry_id in context.pop("propfee_refused", []):
                failed = {"Id": entry_id, "SenderFault": False, "Code": "InternalError", "Message": "injected"}
                parsed.setdefault("Failed", []).append(failed)

        def refuse_entries(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            if self.chance is None or current_function.get() is None:
                return
            refused = self.chance.refused([str(entry["Id"]) for entry in params.get("Entries", [])])
            if refused:
                # the entries never reach the queue; the response names them as Failed
                params["Entries"] = [e for e in params["Entries"] if str(e["Id"]) not in refused]
                context["propfee_refused"] = refused
                self.fired[("refused_entry", f"{service}:SendMessageBatch")] += len(refused)

        client.meta.events.register("before-call.*.*", before)
        client.meta.events.register("after-call.*.*", after)
        if service == "sqs":
            client.meta.events.register("before-parameter-build.sqs.SendMessageBatch", refuse_entries)

    def __enter__(self) -> FaultInjector:
        clients.reset_clients()
        clients.client_observers.append(self.attach)
        return self

    def __exit__(self, *_exc: object) -> None:
        clients.client_observers.remove(self.attach)
        clients.reset_clients()

    @contextmanager
    def on(self, sandbox: Sandbox) -> Iterator[FaultInjector]:
        """Faults for the sandbox's functions, with real crashes, Lambda's retries of asynchronous
        invocations and (random mode) disturbed deliveries from the event-source mappings."""
        originals = dict(sandbox.functions)
        sqs = sandbox.client("sqs")
        # the event source mappings' queues, and the sandbox's own for SNS deliveries (SNS is at-least-once too)
        queue_urls = {m.queue_url for m in sandbox.mappings} | {m.queue_url for m in sandbox.sns_mappings}

        def note_queue(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["propfee_queue_url"] = params.get("QueueUrl")

        def disturb(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            url, messages = context.get("propfee_queue_url"), parsed.get("Messages")
            if self.chance is None or url not in queue_urls or not messages:
                return
            for message in messages:
                if self.chance.delivered_again():
                    sqs.send_message(QueueUrl=url, MessageBody=message["Body"], **_attributes(message))
                    self.fired[("duplicate_delivery", "sqs:ReceiveMessage")] += 1
            if self.chance.shuffle and len(messages) > 1:
                parsed["Messages"] = self.chance.reordered(messages)
                self.fired[("shuffled_batch", "sqs:ReceiveMessage")] += 1

        sqs.meta.events.register("before-parameter-build.sqs.ReceiveMessage", note_queue)
        sqs.meta.events.register("after-call.sqs.ReceiveMessage", disturb)
        sandbox.functions.update(
            {lid: _Invocations(f, self, sandbox) for lid, f in originals.items()}  # type: ignore[misc]
        )
        self._sandbox = sandbox
        try:
            with self:
                yield self
        finally:
            self._sandbox, self._dead = None, False
            sandbox.functions.update(originals)
            sqs.meta.events.unregister("before-parameter-build.sqs.ReceiveMessage", note_queue)
            sqs.meta.events.unregister("after-call.sqs.ReceiveMessage", disturb)


def _attributes(message: dict[str, Any]) -> dict[str, Any]:
    """A received message's attributes as SendMessage takes them."""
    attributes = {
        name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return {"MessageAttributes": attributes} if attributes else {}


class InvocationCrashed(Exception):
    """The function's process died during the invocation: it failed as a whole, whatever the handler did."""


class _Invocations:
    """A sandbox function under fault injection: a crash fails the whole invocation; a failed asynchronous
    invocation (anything but an SQS batch) is retried twice, then its event goes to the function's
    DeadLetterQueue with the error (dropped if it has none)."""

    def __init__(self, function: Any, injector: FaultInjector, sandbox: Sandbox) -> None:
        self._function = function
        self._injector = injector
        self._sandbox = sandbox

    def __getattr__(self, name: str) -> Any:
        return getattr(self._function, name)

    def invoke(self, event: dict[str, Any]) -> Any:
        # SQS retries a batch itself (the event source mapping); Lambda retries the other asynchronous events
        asynchronous = not any(r.get("eventSource") == "aws:sqs" for r in event.get("Records", []))
        attempts = ASYNC_ATTEMPTS if asynchronous else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(copy.deepcopy(event))
            except Exception as error:
                if not asynchronous:
                    raise
                failure = error
                if attempt < attempts:
                    self._injector.fired[("async_retry", self._function.logical_id)] += 1
        logging.getLogger(__name__).warning("%s failed %d times", self._function.logical_id, attempts)
        if self._sandbox.dead_letter_event(self._function.logical_id, event, failure):
            self._injector.fired[("async_dead_lettered", self._function.logical_id)] += 1
        else:
            self._injector.fired[("async_dropped", self._function.logical_id)] += 1
        return None

    def _attempt(self, event: dict[str, Any]) -> Any:
        self._injector._dead = False
        try:
            result = self._function.invoke(event)
        finally:
            died, self._injector._dead = self._injector._dead, False
        if died:
            raise InvocationCrashed(self._function.logical_id)
        return result


POISON_KINDS = (
    "{marker} is not JSON",
    '["{marker}"]',
    '{{"unit_id": "{marker}"}}',
    '{{"unit_id": "{marker}", "community_id": "C01", "step": "sms_d1", "channel": "pigeon", "balance_fen": -1}}',
)


def poison_bodies(count: int, seed: int) -> dict[str, str]:
    """Malformed send jobs (not JSON, not an object, fields missing or wrong), by a marker each carries."""
    kinds = random.Random(seed)  # noqa: S311  # nosec B311
    return {
        (marker := f"poison-{seed}-{n:04d}"): kinds.choice(POISON_KINDS).format(marker=marker) for n in range(count)
    }


def put_poison(sandbox: Sandbox, queue_logical_id: str, count: int, seed: int) -> dict[str, str]:
    """Put `count` malformed messages on one of the sandbox's queues; returns them by marker."""
    bodies = poison_bodies(count, seed)
    sqs = sandbox.client("sqs")
    for body in bodies.values():
        sqs.send_message(QueueUrl=sandbox.resources[queue_logical_id], MessageBody=body)
    return bodies


def poison_marker(body: str) -> str | None:
    """The marker of a poison message, wherever in the body it is."""
    found = re.search(r"poison-\d+-\d{4}", body)
    return found.group(0) if found else None


__all__ = [
    "Fault",
    "FaultInjector",
    "InjectedCrash",
    "InvocationCrashed",
    "RandomFaults",
    "poison_marker",
    "put_poison",
]

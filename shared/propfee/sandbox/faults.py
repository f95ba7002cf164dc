"""Fault injection for the sandbox: make the functions' AWS calls fail the way AWS calls fail.

A fault is an error code raised instead of a call (before it reaches the embedded AWS, so nothing
happened), or raised after the call succeeded (it happened, but the caller never heard: a timeout or a
crash right after the provider accepted a message). Faults attach to the adapters' clients only, never
to the sandbox's own plumbing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from propfee.adapters import aws


class InjectedCrash(Exception):
    """The function died after a call succeeded (the call's effect stands)."""


@dataclass
class Fault:
    service: str
    operation: str
    error_code: str  # e.g. ThrottlingException, InternalServerError; "crash" after the call
    times: int = 1
    fired: int = 0

    @property
    def spent(self) -> bool:
        return self.fired >= self.times


@dataclass
class FaultInjector:
    faults: list[Fault] = field(default_factory=list)

    def add(self, service: str, operation: str, error_code: str, times: int = 1) -> Fault:
        fault = Fault(service, operation, error_code, times)
        self.faults.append(fault)
        return fault

    def _due(self, service: str, operation: str, after: bool) -> Fault | None:
        for fault in self.faults:
            if fault.spent or (fault.service, fault.operation) != (service, operation):
                continue
            if (fault.error_code == "crash") == after:
                fault.fired += 1
                return fault
        return None

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_name

        def before(model: Any, **_: Any) -> None:
            fault = self._due(service, model.name, after=False)
            if fault is not None:
                error = {"Error": {"Code": fault.error_code, "Message": "injected by the sandbox"}}
                raise ClientError(error, model.name)  # type: ignore[arg-type]

        def after(model: Any, **_: Any) -> None:
            if self._due(service, model.name, after=True) is not None:
                raise InjectedCrash(f"crash after {service}:{model.name}")

        client.meta.events.register("before-call.*.*", before)
        client.meta.events.register("after-call.*.*", after)

    def __enter__(self) -> FaultInjector:
        aws.reset_clients()
        aws.client_observers.append(self.attach)
        return self

    def __exit__(self, *_exc: object) -> None:
        aws.client_observers.remove(self.attach)
        aws.reset_clients()

"""Logger, Tracer and Metrics for every function, and masking of personal data (PIPL)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO

from aws_lambda_powertools import Logger, Metrics, Tracer


class _CurrentStdout(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is at the time, so the sandbox can collect each invocation's logs."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


logger = Logger(logger_handler=_CurrentStdout())
tracer = Tracer()
# Custom metrics come from the scheduled runs and the send function only: CloudWatch bills a metric for each hour
# it receives data in, and replies, receipts and emails arrive at any hour. Their outcomes are in the logs (fields)
# and the daily report; alarms can use Lambda's and SQS's own metrics (errors, DLQ depth), which are free.
metrics = Metrics()

_PHONE = re.compile(r"\+?\d{7,15}")


def mask_phone(phone: str | None) -> str:
    """'+8613812345678' -> '+86138****5678'."""
    if not phone:
        return ""
    if len(phone) <= 7:
        return "*" * len(phone)
    return f"{phone[:-8]}****{phone[-4:]}"


def mask_email(address: str | None) -> str:
    if not address or "@" not in address:
        return "***"
    local, domain = address.split("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_destination(destination: str) -> str:
    return mask_email(destination) if "@" in destination else mask_phone(destination)


def mask_text(text: str) -> str:
    """Mask anything that looks like a phone number inside free text (error messages, bodies)."""
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


def lambda_entry(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Every function's entry point: the Lambda context in each log line, a trace, metrics flushed at the end."""
    return logger.inject_lambda_context(tracer.capture_lambda_handler(metrics.log_metrics(handler)))

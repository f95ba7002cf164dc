"""What several command groups share: the settings and table a command works on, and why a message is dead."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from propfee.aws.feedback import FeedbackTable
    from propfee.domain.config import Settings


def settings_and_table(args: argparse.Namespace) -> tuple[Settings, FeedbackTable]:
    """The settings (from PROPFEE_* variables) and the table, --table overriding PROPFEE_TABLE."""
    from propfee.aws.feedback import FeedbackTable
    from propfee.domain.config import Settings

    settings = Settings(table=args.table) if args.table else Settings()  # type: ignore[call-arg]
    from propfee.rules import load_rules

    allocation = load_rules(settings.rules_file).billing.allocation
    return settings, FeedbackTable(settings.table, settings.tz, allocation=allocation)


def dead_letter_reason(attributes: dict[str, Any]) -> str:
    """Why a message is in a DLQ: the function's own reason for refusing it, Lambda's error for an asynchronous
    event that failed its retries, or (a queue's redrive) that its receives ran out."""
    for name in ("reason", "ErrorMessage"):
        if name in attributes:
            return str(attributes[name].get("StringValue", ""))
    return "retries exhausted"

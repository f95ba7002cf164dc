"""What several command groups share: the settings and table a command works on, a plain error for a missing
setting, and why a message is dead."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

    from propfee.aws.feedback import FeedbackTable
    from propfee.domain.config import Settings

# what to do about a setting a command needs, by the Settings field it fills
SETTING_HINTS = {
    "table": "set PROPFEE_TABLE or pass --table (the table name printed by `propfee sandbox up`)",
    "report_bucket": "set PROPFEE_REPORT_BUCKET or pass --bucket (the bucket printed by `propfee sandbox up`)",
}
# what boto3 raises when the AWS settings are missing or wrong, by its name (the CLI does not import botocore)
AWS_HINTS = {
    "NoRegionError": "set AWS_REGION (or AWS_DEFAULT_REGION); for the sandbox, the variables `propfee sandbox up` "
    "prints",
    "NoCredentialsError": "no AWS credentials: set AWS_PROFILE or the AWS_* variables (for the sandbox, the ones "
    "`propfee sandbox up` prints)",
    "EndpointConnectionError": "AWS cannot be reached at the configured endpoint (AWS_ENDPOINT_URL): is "
    "`propfee sandbox up` still running?",
}


class MissingSetting(Exception):
    """A setting the command needs is missing or wrong: `main` prints it in one line and exits 2."""


def describe(error: ValidationError) -> str:
    """A settings error in words that name the variable, never its value (it may be a secret or an address)."""
    problems = []
    for problem in error.errors(include_input=False):
        name = str(problem["loc"][0]) if problem["loc"] else "?"
        if problem["type"] == "missing":
            problems.append(SETTING_HINTS.get(name, f"set PROPFEE_{name.upper()}"))
        else:
            problems.append(f"PROPFEE_{name.upper()}: {problem['msg']}")
    return "; ".join(problems)


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings from the PROPFEE_* variables, --table overriding PROPFEE_TABLE."""
    from pydantic import ValidationError

    from propfee.domain.config import Settings

    table = getattr(args, "table", None)
    try:
        return Settings(table=table) if table else Settings()  # type: ignore[call-arg]
    except ValidationError as error:
        raise MissingSetting(describe(error)) from None


def settings_and_table(args: argparse.Namespace) -> tuple[Settings, FeedbackTable]:
    """The settings and the table the command works on."""
    from propfee.aws.feedback import FeedbackTable

    settings = settings_of(args)
    from propfee.rules import load_rules

    allocation = load_rules(settings.rules_file).billing.allocation
    return settings, FeedbackTable(settings.table, settings.tz, allocation=allocation)


def aws_problem(error: Exception) -> str | None:
    """A one-line account of an AWS error that comes from the settings (no region, no credentials, no such
    table), or None for any other error."""
    hint = AWS_HINTS.get(type(error).__name__)
    if hint is not None:
        return hint
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    if code == "ResourceNotFoundException":
        return "the table (or queue) named by PROPFEE_TABLE / --table does not exist in this account and region"
    if code in {"UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException"}:
        return f"AWS refused the credentials ({code}): check AWS_PROFILE or the AWS_* variables"
    return None


def dead_letter_reason(attributes: dict[str, Any]) -> str:
    """Why a message is in a DLQ: the function's own reason for refusing it, Lambda's error for an asynchronous
    event that failed its retries, or (a queue's redrive) that its receives ran out."""
    for name in ("reason", "ErrorMessage"):
        if name in attributes:
            return str(attributes[name].get("StringValue", ""))
    return "retries exhausted"

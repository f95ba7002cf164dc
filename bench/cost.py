"""Modeled AWS cost of a month of collection, from what the functions did in the sandbox.

What is counted, on the functions' own clients (botocore's event hooks; the sandbox's plumbing and the
simulation are not counted): DynamoDB request units from the size of each item written and read (1 KB per
write unit, 4 KB per read unit, halved for eventually consistent reads, doubled in transactions), SQS, SNS and
S3 requests, the handlers' time x their memory (Lambda GB-seconds), invocations, schedules fired, the log
bytes the functions wrote. Priced by bench/aws_prices.yaml (dated). SMS and email are per message and
listed apart. What the sandbox cannot see is added as stated assumptions (`assumed` in the output).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from propfee.aws import clients
from propfee.collection.messages import sms_segments
from propfee.local.sandbox.template import load_template

PRICES = Path(__file__).with_name("aws_prices.yaml")
MESSAGING_PRICES = Path(__file__).with_name("messaging_prices.yaml")
# Lambda polls each SQS event source with long polls (20 s) from about five pollers while idle
IDLE_POLLS_PER_QUEUE_MONTH = 5 * 3 * 60 * 24 * 30
HOURS_A_MONTH = 730  # AWS's month for prorating hourly charges
# what Lambda itself logs per invocation (START, END, REPORT lines)
PLATFORM_LOG_BYTES = 350


def _value_bytes(value: Mapping[str, Any]) -> int:
    """DynamoDB's item size rules, near enough: strings and binaries by length, numbers about one byte per
    two digits, containers 3 bytes plus their elements (and each map key)."""
    kind, content = next(iter(value.items()))
    if kind in ("S", "B"):
        return len(content.encode("utf-8")) if isinstance(content, str) else len(content)
    if kind == "N":
        return len(str(content)) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + _value_bytes(v) for k, v in content.items())
    if kind == "L":
        return 3 + sum(_value_bytes(v) + 1 for v in content)
    if kind in ("SS", "NS", "BS"):
        return sum(len(str(v).encode("utf-8")) for v in content)
    return 1


def item_bytes(item: Mapping[str, Any]) -> int:
    return sum(len(name.encode("utf-8")) + _value_bytes(value) for name, value in item.items())


def _write_units(item: Mapping[str, Any] | None) -> int:
    return max(1, math.ceil(item_bytes(item) / 1024)) if item else 1


def _read_units(items: list[Mapping[str, Any]], consistent: bool) -> float:
    units = max(1, math.ceil(sum(item_bytes(i) for i in items) / 4096))
    return units if consistent else units / 2


@dataclass
class UsageMeter:
    write_units: float = 0.0
    read_units: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)  # "service:Operation"
    sms: int = 0
    sms_segments: int = 0  # what carriers bill: 70 characters a segment (67 in a long message)
    emails: int = 0

    def _before(self, service: str, operation: str, params: dict[str, Any]) -> None:
        self.requests[f"{service}:{operation}"] += 1
        if service == "dynamodb":
            if operation == "PutItem":
                self.write_units += _write_units(params.get("Item"))
            elif operation in ("UpdateItem", "DeleteItem"):
                self.write_units += 1  # the item's size after an update is not in the request: at least one
            elif operation == "BatchWriteItem":
                for requests in params.get("RequestItems", {}).values():
                    for request in requests:
                        self.write_units += _write_units(request.get("PutRequest", {}).get("Item"))
            elif operation == "TransactWriteItems":
                for entry in params.get("TransactItems", []):
                    ((kind, body),) = entry.items()
                    self.write_units += 2 * (_write_units(body.get("Item")) if kind == "Put" else 1)
        elif ((service, operation) == ("sns", "Publish") and "PhoneNumber" in params) or (service, operation) == (
            "pinpoint-sms-voice-v2",
            "SendTextMessage",
        ):
            self.sms += 1
            self.sms_segments += sms_segments(str(params.get("Message") or params.get("MessageBody") or ""))
        elif (service, operation) == ("sesv2", "SendEmail"):
            self.emails += 1

    def _after(self, service: str, operation: str, params: dict[str, Any], parsed: Mapping[str, Any]) -> None:
        if service != "dynamodb":
            return
        consistent = bool(params.get("ConsistentRead"))
        if operation in ("Query", "Scan"):
            self.read_units += _read_units(parsed.get("Items", []), consistent)
        elif operation == "GetItem":
            self.read_units += _read_units([parsed["Item"]] if "Item" in parsed else [], consistent)
        elif operation == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                self.read_units += _read_units(items, consistent)
        elif operation == "TransactGetItems":
            self.read_units += 2 * _read_units([r["Item"] for r in parsed.get("Responses", []) if "Item" in r], True)

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_name
        pending: dict[int, dict[str, Any]] = {}

        def remember(params: dict[str, Any], model: Any, **_: Any) -> None:
            pending[id(model)] = params
            self._before(service, model.name, params)

        def measure(parsed: Mapping[str, Any], model: Any, **_: Any) -> None:
            self._after(service, model.name, pending.pop(id(model), {}), parsed)

        client.meta.events.register("provide-client-params.*.*", remember)
        client.meta.events.register("after-call.*.*", measure)


@contextmanager
def metered() -> Iterator[UsageMeter]:
    """Meters every client the functions make while the block runs."""
    meter = UsageMeter()
    clients.reset_clients()
    clients.client_observers.append(meter.attach)
    try:
        yield meter
    finally:
        clients.client_observers.remove(meter.attach)
        clients.reset_clients()


def _requests(meter: UsageMeter, service: str, operations: tuple[str, ...] | None = None) -> int:
    return sum(
        n
        for name, n in meter.requests.items()
        if name.startswith(service + ":") and (operations is None or name.split(":", 1)[1] in operations)
    )


def monthly_cost(
    meter: UsageMeter,
    sandbox: Any,
    days: int,
    households: int,
    metric_hours: int,
    per_households: int = 10_000,
    prices_file: Path = PRICES,
) -> dict[str, Any]:
    """USD a month: what grows with the company, per `per_households` (scaled linearly from a run of
    `households` over `days`), and what a stack costs whatever its size (schedules, idle queue polling, custom
    metrics), both itemised; and their sum for a company of `per_households`."""
    prices = yaml.safe_load(prices_file.read_text(encoding="utf-8"))
    scale = (30 / days) * (per_households / households)
    functions = list(sandbox.functions.values())
    gb_seconds = sum(f.seconds * f.memory / 1024 for f in functions)
    invocations = sum(f.invocations for f in functions)
    log_bytes = sum(len(f.log.getvalue().encode("utf-8")) for f in functions) + PLATFORM_LOG_BYTES * invocations
    sns_notifications = _requests(meter, "sns", ("Publish",)) - meter.sms
    p = prices
    usage = {
        "lambda_gb_seconds": gb_seconds * scale,
        "lambda_invocations": invocations * scale,
        "dynamodb_write_units": meter.write_units * scale,
        "dynamodb_read_units": meter.read_units * scale,
        "sqs_requests": _requests(meter, "sqs") * scale,
        "sns_publishes": sns_notifications * scale,
        "s3_puts": _requests(meter, "s3", ("PutObject", "CopyObject", "ListObjectsV2")) * scale,
        "s3_gets": _requests(meter, "s3", ("GetObject", "HeadObject")) * scale,
        "log_gb": log_bytes * scale / 1e9,
        "traces": invocations * scale,
    }
    variable = {
        "lambda": usage["lambda_gb_seconds"] * p["lambda"]["gb_second_arm64"]
        + usage["lambda_invocations"] / 1e6 * p["lambda"]["per_million_requests"],
        "dynamodb": usage["dynamodb_write_units"] / 1e6 * p["dynamodb"]["per_million_write_request_units"]
        + usage["dynamodb_read_units"] / 1e6 * p["dynamodb"]["per_million_read_request_units"],
        "sqs": usage["sqs_requests"] / 1e6 * p["sqs"]["per_million_requests"],
        "sns": usage["sns_publishes"] / 1e6 * p["sns"]["per_million_publishes"],
        "s3": usage["s3_puts"] / 1e3 * p["s3"]["per_thousand_put"]
        + usage["s3_gets"] / 1e3 * p["s3"]["per_thousand_get"],
        "cloudwatch_logs": usage["log_gb"] * p["cloudwatch"]["logs_ingested_gb"],
        "xray": usage["traces"] / 1e6 * p["xray"]["per_million_traces_recorded"],
    }
    queues = len(sandbox.mappings)
    # customer-managed KMS keys are billed by the month each, whatever their use
    kms_keys = sum(
        1 for r in load_template(sandbox.template_path)["Resources"].values() if r["Type"] == "AWS::KMS::Key"
    )
    fixed = {
        "kms_keys": kms_keys * p["kms"]["key_month_each"],
        "scheduler": len(sandbox.scheduled_results) * 30 / days / 1e6 * p["scheduler"]["per_million_invocations"],
        "sqs_idle_polling": queues * IDLE_POLLS_PER_QUEUE_MONTH / 1e6 * p["sqs"]["per_million_requests"],
        # CloudWatch prorates a custom metric by the hours it receives data in
        "custom_metrics": metric_hours * 30 / days / HOURS_A_MONTH * p["cloudwatch"]["metrics_month_each"],
    }
    per_households_usd = sum(variable.values())
    fixed_usd = sum(fixed.values())
    return {
        "prices_as_of": p["as_of"],
        "region": p["region"],
        "measured_on": {"households": households, "days": days},
        f"usd_per_{per_households}_households": round(per_households_usd, 4),
        "usd_by_service": {k: round(v, 4) for k, v in sorted(variable.items())},
        "fixed_usd": round(fixed_usd, 4),
        "fixed_usd_by_item": {k: round(v, 4) for k, v in sorted(fixed.items())},
        f"company_of_{per_households}_households_usd": round(per_households_usd + fixed_usd, 4),
        f"usage_per_{per_households}_households": {k: round(v, 2) for k, v in usage.items()},
        "apart": {
            "sms_per_month": round(meter.sms * scale),
            "emails_per_month": round(meter.emails * scale),
            "email_usd": round(meter.emails * scale / 1e3 * p["messages"]["ses_per_thousand_emails"], 4),
            "sms_note": p["messages"]["sms_note"],
        },
        "assumed": [
            f"{queues} SQS event sources polled idle by Lambda: {IDLE_POLLS_PER_QUEUE_MONTH:,} requests each a month",
            f"custom metrics billed by the hour they receive data in: {metric_hours} metric-hours in {days} days",
            f"Lambda platform log lines: {PLATFORM_LOG_BYTES} bytes an invocation",
            "every invocation traced by X-Ray (the default sampling keeps all at this rate)",
            "UpdateItem and DeleteItem: one write unit each; storage (under 1 GB) left out",
            f"{kms_keys} customer-managed KMS key(s) in their first year (each of the first two yearly rotations adds"
            " USD 1 a month); their requests left out (SNS reuses a data key 5 minutes: at most about 52,000 a month"
            " for the two topics, USD 0.16)",
            "communities grow with households (the simulated company has about 330 households a community)",
        ],
    }


def messaging_cost(
    meter: UsageMeter, days: int, households: int, per_households: int = 10_000, prices_file: Path = MESSAGING_PRICES
) -> dict[str, Any]:
    """What owners' messages cost a month for `per_households`, through each SMS provider: the run's SMS segments
    (every reminder and acknowledgement as sent, signature included) times each provider's price, plus SES for the
    emails. The same texts through every provider: a mainland template is the approved wording of the same text."""
    prices = yaml.safe_load(prices_file.read_text(encoding="utf-8"))
    scale = (30 / days) * (per_households / households)
    segments = meter.sms_segments * scale
    email_usd = meter.emails * scale / 1e3 * prices["ses_per_thousand_emails_usd"]
    by_provider = {}
    for provider, price in prices["sms_per_segment"].items():
        usd = price["usd"] if "usd" in price else price["cny"] / prices["cny_per_usd"]
        by_provider[provider] = {
            "sms_usd": round(segments * usd, 2),
            "sms_cny": round(segments * usd * prices["cny_per_usd"], 2),
            "with_email_usd": round(segments * usd + email_usd, 2),
            "note": price["note"],
        }
    return {
        "prices_as_of": prices["as_of"],
        "cny_per_usd": prices["cny_per_usd"],
        f"per_{per_households}_households_a_month": {
            "sms": round(meter.sms * scale),
            "sms_segments": round(segments),
            "emails": round(meter.emails * scale),
            "email_usd": round(email_usd, 2),
        },
        "by_sms_provider": by_provider,
    }


def custom_metrics(sandbox: Any) -> dict[str, int]:
    """Each custom metric the functions published (namespace/name[dimensions]) and in how many simulated hours."""
    hours: Counter[str] = Counter()
    for function in sandbox.functions.values():
        for _hour, metric in function.metric_hours:
            hours[metric] += 1
    return dict(sorted(hours.items()))

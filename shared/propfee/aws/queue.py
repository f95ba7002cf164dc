"""SQS: send jobs in batches of ten; permanently bad messages straight to the DLQ, with a reason."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from propfee.aws.clients import client
from propfee.domain.models import SendJob

SQS_BATCH_LIMIT = 10


class QueueError(Exception):
    pass


class SqsJobQueue:
    def __init__(self, queue_url: str, sqs: Any | None = None) -> None:
        self._url = queue_url
        self._sqs = sqs

    @property
    def sqs(self) -> Any:
        # an injected client (tests), or the process-wide one (created lazily, shared by adapters)
        return self._sqs if self._sqs is not None else client("sqs")

    def enqueue(self, jobs: Sequence[SendJob]) -> int:
        for start in range(0, len(jobs), SQS_BATCH_LIMIT):
            chunk = jobs[start : start + SQS_BATCH_LIMIT]
            entries = [{"Id": str(i), "MessageBody": job.model_dump_json()} for i, job in enumerate(chunk)]
            self._send_batch(entries)
        return len(jobs)

    def _send_batch(self, entries: list[dict[str, Any]]) -> None:
        for _attempt in range(3):
            response = self.sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            failed = {f["Id"] for f in response.get("Failed", []) if not f.get("SenderFault")}
            permanent = [f for f in response.get("Failed", []) if f.get("SenderFault")]
            if permanent:
                raise QueueError(f"SQS refused {len(permanent)} job(s): {permanent[0].get('Message')}")
            if not failed:
                return
            entries = [e for e in entries if e["Id"] in failed]
        raise QueueError(f"SQS did not take {len(entries)} job(s) after retries")


class SqsDeadLetters:
    """Puts a message that can never succeed on the DLQ at once, with the reason as an attribute."""

    def __init__(self, queue_url: str, sqs: Any | None = None) -> None:
        self._url = queue_url
        self._sqs = sqs

    def reject(self, body: str, reason: str) -> None:
        sqs = self._sqs or client("sqs")
        sqs.send_message(
            QueueUrl=self._url,
            MessageBody=body or "(empty)",
            MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:1000]}},
        )


class DeadLetterDepths:
    """How many messages wait in each named dead-letter queue (the daily report); reads only the given URLs."""

    def __init__(self, queue_urls: dict[str, str], sqs: Any | None = None) -> None:
        self._urls = dict(queue_urls)
        self._sqs = sqs

    @property
    def sqs(self) -> Any:
        return self._sqs if self._sqs is not None else client("sqs")

    def depths(self) -> dict[str, int]:
        depths = {}
        for name, url in sorted(self._urls.items()):
            response = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            depths[name] = int(response["Attributes"]["ApproximateNumberOfMessages"])
        return depths


class DeadLetterQueues:
    """The stack's dead-letter queues, for the on-call engineer: what is in them, why, and redrive.

    A DLQ is any queue that another queue's redrive policy names, or a function's own DLQ (its asynchronous
    events). Redrive moves each message back to that source queue with its attributes, or replays each event of a
    function's DLQ as an asynchronous invocation of the function; a message the function refused outright (it
    carries a `reason`) is refused again, so read the reasons before redriving (replay keeps those)."""

    def __init__(self, sqs: Any | None = None) -> None:
        self._sqs = sqs
        self.deleted: list[dict[str, Any]] = []

    @property
    def sqs(self) -> Any:
        return self._sqs if self._sqs is not None else client("sqs")

    def _urls(self) -> list[str]:
        urls: list[str] = []
        for page in self.sqs.get_paginator("list_queues").paginate():
            urls.extend(page.get("QueueUrls", []))
        return urls

    def sources(self) -> dict[str, str]:
        """DLQ URL -> the URL of the queue whose redrive policy names it."""
        arns = {}
        policies = {}
        for url in self._urls():
            attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"])
            arns[attributes["Attributes"]["QueueArn"]] = url
            if "RedrivePolicy" in attributes["Attributes"]:
                policies[url] = json.loads(attributes["Attributes"]["RedrivePolicy"])["deadLetterTargetArn"]
        return {arns[target]: source for source, target in policies.items() if target in arns}

    def function_name(self, url: str, function: str) -> str:
        """The deployed name of the function whose DLQ this is: CloudFormation named the queue
        <stack>-<Function>DeadLetterQueue-<suffix>, and the stack knows the function's name."""
        name = url.rsplit("/", 1)[-1]
        stack = name[: name.index(f"-{function}DeadLetterQueue")]
        for page in client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=stack):
            for resource in page["StackResourceSummaries"]:
                if resource["LogicalResourceId"] == function:
                    return str(resource["PhysicalResourceId"])
        raise LookupError(f"stack {stack} has no function {function}")

    def replay(self, url: str, function_name: str, lam: Any | None = None) -> tuple[int, int]:
        """Invoke the function asynchronously with each event of its DLQ (deleted once Lambda took it); a message
        the function refused outright, with a `reason`, stays. Returns (replayed, kept)."""
        lam = lam if lam is not None else client("lambda")
        replayed, kept = 0, 0
        while True:
            response = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=300
            )
            messages = response.get("Messages", [])
            if not messages:
                return replayed, kept
            for message in messages:
                if "reason" in message.get("MessageAttributes", {}):
                    kept += 1  # invisible until this replay is over, then back for a person to read
                    continue
                lam.invoke(FunctionName=function_name, InvocationType="Event", Payload=message["Body"].encode())
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                replayed += 1

    def function_queues(self) -> dict[str, str]:
        """DLQ URL -> the function whose failed scheduled or S3 events it keeps (Lambda's own DLQs: their
        messages are the events themselves, and no queue's redrive policy names them)."""
        found = {}
        for url in self._urls():
            name = url.rsplit("/", 1)[-1]
            marker = name.find("FunctionDeadLetterQueue")
            if marker > 0:
                found[url] = name[: marker + len("Function")].rsplit("-", 1)[-1]
        return found

    def depth(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    def take_all(self, url: str, hide_seconds: int = 60) -> list[dict[str, Any]]:
        """Every message, each hidden for `hide_seconds` while the caller deletes what it handled and shows the rest
        again (`show_again`; they come back by themselves if it dies)."""
        taken: list[dict[str, Any]] = []
        while messages := self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=hide_seconds
        ).get("Messages", []):
            taken.extend(messages)
        return taken

    def delete(self, url: str, message: dict[str, Any]) -> None:
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        self.deleted.append(message)

    def show_again(self, url: str, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self.sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )

    def peek(self, url: str, limit: int = 10) -> list[dict[str, Any]]:
        """Up to `limit` messages, each made visible again at once (nothing is deleted)."""
        response = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=min(limit, 10), MessageAttributeNames=["All"], VisibilityTimeout=30
        )
        messages = response.get("Messages", [])
        self.show_again(url, messages)
        return messages

    def redrive(self, url: str, to: str) -> int:
        """Move every message back to its source queue; returns how many moved."""
        moved = 0
        while True:
            response = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=60
            )
            messages = response.get("Messages", [])
            if not messages:
                return moved
            for message in messages:
                attributes = {k: v for k, v in message.get("MessageAttributes", {}).items() if k != "reason"}
                self.sqs.send_message(QueueUrl=to, MessageBody=message["Body"], MessageAttributes=attributes)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                moved += 1

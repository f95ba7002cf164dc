"""SQS: send jobs out in batches of ten; permanently bad messages straight to the DLQ with a reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from propfee.adapters.aws import client
from propfee.models import SendJob

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

"""The sandbox: moto server + the stack from infra/template.yaml + an event-source emulator.

The emulator delivers what Lambda would: SQS batches from the event source mappings, and asynchronous
invocations (schedules, S3 notifications, SNS messages to a function's subscription, a function's own
`lambda:Invoke` with InvocationType Event). An asynchronous event that fails goes to the function's
DeadLetterQueue with the error, as Lambda does after its retries (the fault injector retries, see faults)."""

from __future__ import annotations

import json
import logging
import urllib.request
import warnings
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from propfee.aws import clients
from propfee.aws.clients import reset_clients
from propfee.domain import clock
from propfee.local.sandbox import aws_rules, cognito, event_sources, moto_patches, presigned, ses_rules
from propfee.local.sandbox.client_hooks import ClientHooks
from propfee.local.sandbox.deploy import deploy
from propfee.local.sandbox.http_api import HttpApiServer
from propfee.local.sandbox.provider_emulators import (
    connect_sms,
    deliver_sms_pushes,
    start_payments,
    start_sms,
    stop_all,
)
from propfee.local.sandbox.runtime import LambdaFunction, patched_environ
from propfee.local.sandbox.schedules import Schedule
from propfee.local.sandbox.ses_events import MATCHING_TYPE, EventKind, ses_record
from propfee.local.sandbox.stack import ACCOUNT, PARAMETERS, REGION, QueueMapping, SnsMapping

SANDBOX_CREDENTIAL = "sandbox"  # moto on loopback accepts any credentials: no real account's key
MAX_DRAIN_ROUNDS = 100_000


def default_template_path() -> Path:
    """infra/template.yaml of the source tree this package runs from."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "infra" / "template.yaml"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("infra/template.yaml not found above " + str(here))


@dataclass(frozen=True)
class DrainStats:
    batches: int = 0
    messages: int = 0
    failures: int = 0


class Sandbox:
    """Start with `with Sandbox(start=...) as sandbox:`; then `advance(to)` runs the world until then."""

    def __init__(
        self,
        start: datetime,
        template_path: Path | None = None,
        parameters: dict[str, str] | None = None,
        port: int = 0,
        bill_links: bool = False,
    ) -> None:
        """`bill_links`: reminders carry links to the bill page on the sandbox's HTTP API (BillPageBaseUrl); off
        by default, as in a stack deployed without a domain for it (the benchmark's floor counts no link)."""
        self.bill_links = bill_links
        self.template_path = template_path or default_template_path()
        self.parameters = {**PARAMETERS, **(parameters or {})}
        self.clock = clock.SimulatedClock(start.astimezone(UTC))
        self._port = port
        self._server: Any = None
        self._previous_clock: clock.Clock | None = None
        self._undo_presign_time: Callable[[], None] | None = None
        self._saved_env: Any = None
        self.endpoint = ""
        self.functions: dict[str, LambdaFunction] = {}
        self.schedules: list[Schedule] = []
        self.mappings: list[QueueMapping] = []
        self.sns_mappings: list[SnsMapping] = []
        # function -> URL of the queue its failed asynchronous events go to (its DeadLetterQueue)
        self.on_failure_queues: dict[str, str] = {}
        # asynchronous invocations the functions asked for (lambda:Invoke, InvocationType Event), in order
        self._invocations_pending: deque[tuple[str, dict[str, Any]]] = deque()
        self.resources: dict[str, str] = {}
        self.outputs: dict[str, str] = {}
        self.function_arns: dict[str, str] = {}
        self._clients: dict[str, Any] = {}
        # (function logical id, "service:Operation") -> count of the calls the functions made
        self.function_calls: Counter[tuple[str, str]] = Counter()
        # SES configuration set -> its SNS event destinations (matching event types, topic ARN): moto has none
        self.ses_event_destinations: dict[str, list[tuple[frozenset[str], str]]] = {}
        # what each scheduled invocation returned (the plan's summary, the report's keys), in order
        self.scheduled_results: list[tuple[str, datetime, Any]] = []
        # function -> (the ARN its calls are made as, its role's statements): the table calls are checked against
        # them as IAM does (sandbox.iam), since moto checks neither the table's ARN nor dynamodb:LeadingKeys
        self.function_roles: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        # the mainland SMS providers' emulators, started when the rules choose one (local.emulators.sms)
        self.sms_emulators: dict[str, Any] = {}
        self.wechat_emulator: Any = None  # the WeChat official account's, when the rules configure one
        # the stack's HTTP API on a loopback port (sandbox.http_api): its URL is the bill links' base URL
        self.http_api: HttpApiServer | None = None
        # WeChat Pay's and Alipay's emulators, started with bill links: they notify the HTTP API's /notify routes
        self.payment_emulators: Any = None
        # counts, checks and answers the functions' AWS calls (sandbox.client_hooks)
        self._client_hooks = ClientHooks(self)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def aws_environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": SANDBOX_CREDENTIAL,
            "AWS_SECRET_ACCESS_KEY": SANDBOX_CREDENTIAL,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        moto_patches.install()
        ses_rules.install()  # SESv2 SendEmail refuses what SES refuses
        aws_rules.install()  # refuse what AWS refuses where moto does not
        cognito.date_tokens_by_simulated_clock()  # staff tokens expire in the sandbox's time
        cognito.refuse_auth_flows_the_client_does_not_allow()
        cognito.revoke_refresh_tokens()  # a signed-out refresh token is refused, as Cognito refuses it

        # moto warns about every resource type its CloudFormation skips (stack.complete creates them)
        warnings.filterwarnings("ignore", message="Tried to parse", category=UserWarning)
        warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        logging.getLogger("moto").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self._port, verbose=False)
        self._server.start()
        # presigned S3 links expire on the simulated clock, as in S3 (moto checks no expiry): see sandbox.presigned.
        # ThreadedMotoServer keeps werkzeug's server in _server, which reads .app on every request
        wsgi_server = self._server._server
        wsgi_server.app = presigned.ExpiringPresignedUrls(wsgi_server.app, self.clock.now)
        self._undo_presign_time = presigned.sign_presigned_urls_at(self.clock.now)
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        # plain http to the loopback moto server this sandbox started, never to a URL from outside
        reset = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310
        urllib.request.urlopen(reset)  # noqa: S310  # nosec B310
        moto_patches.s3_lambda_invocations.clear()
        ses_rules.sent_emails.clear()
        self._saved_env = patched_environ(self.aws_environment())
        self._saved_env.__enter__()
        reset_clients()
        clients.client_observers.append(self._client_hooks.observe)
        self._previous_clock = clock.install(self.clock)
        start_sms(self)
        self.http_api = HttpApiServer(self)
        if self.bill_links:
            # both emulated merchants hold their keys once the sandbox is up (start_payments)
            self.parameters = {
                "BillPageBaseUrl": self.http_api.url,
                "OnlinePaymentProviders": "wechat_pay,alipay",
                **self.parameters,
            }
        deploy(self)
        connect_sms(self)
        if self.bill_links:
            start_payments(self)

    def deliver_payment_notices(self) -> int:
        """The payment notifications due on the simulated clock, sent to the HTTP API (the emulators retry a
        refused one on the providers' schedules)."""
        return self.payment_emulators.deliver_due() if self.payment_emulators is not None else 0

    def deliver_sms_pushes(self) -> int:
        """The mainland SMS providers' receipts and replies due on the simulated clock, pushed to the HTTP API's
        callback routes (re-sent on the providers' schedules while refused)."""
        return deliver_sms_pushes(self)

    def stop(self) -> None:
        stop_all(self)
        if self.http_api is not None:
            self.http_api.stop()
            self.http_api = None
        if self._undo_presign_time is not None:
            self._undo_presign_time()
            self._undo_presign_time = None
        if self._client_hooks.observe in clients.client_observers:
            clients.client_observers.remove(self._client_hooks.observe)
        if self._previous_clock is not None:
            clock.install(self._previous_clock)
            self._previous_clock = None
        if self._saved_env is not None:
            self._saved_env.__exit__(None, None, None)
            self._saved_env = None
        reset_clients()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self, service: str) -> Any:
        """A boto3 client on the sandbox (for the sandbox's own plumbing, tests and the CLI)."""
        if service not in self._clients:
            self._clients[service] = self._new_client(service)
        return self._clients[service]

    def _new_client(self, service: str) -> Any:
        made = boto3.session.Session().client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=SANDBOX_CREDENTIAL,
            aws_secret_access_key=SANDBOX_CREDENTIAL,
            config=Config(retries={"mode": "standard", "max_attempts": 3}),
        )
        return made

    # ------------------------------------------------------------------ running
    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        return self.functions[logical_id].invoke(event)

    @staticmethod
    def _next_firing(schedule: Any, now: datetime, fired_now: set[str]) -> datetime | None:
        """The schedule's next firing; at a moment when another schedule has just fired, this one's firing at
        that same moment too (two schedules on the same minute both fire, as EventBridge Scheduler fires both)."""
        if fired_now and schedule.name not in fired_now:
            same = schedule.next_after(now - timedelta(seconds=1))
            if same == now:
                return same
        return schedule.next_after(now)

    def advance(self, to: datetime) -> None:
        """Move the clock to `to`, firing every schedule due on the way, delivering the payment notifications due
        and draining the queues."""
        target = to.astimezone(UTC)
        fired_now: set[str] = set()  # the schedules fired at the clock's current moment
        while True:
            now = self.clock.now()
            due = [(self._next_firing(s, now, fired_now), s) for s in self.schedules]
            upcoming = sorted(((t, s.name, s) for t, s in due if t is not None and t <= target), key=lambda x: x[:2])
            if not upcoming:
                break
            fire_time, _, schedule = upcoming[0]
            if fire_time != now:
                fired_now = set()
            fired_now.add(schedule.name)
            self.clock.set(fire_time)
            self.deliver_payment_notices()  # what fell due before the schedule fires
            self.deliver_sms_pushes()
            result = self.invoke(schedule.target_logical_id, schedule.event_for(fire_time))
            self.scheduled_results.append((schedule.target_logical_id, fire_time, result))
            self.drain()
        if target > self.clock.now():
            self.clock.set(target)
        self.deliver_payment_notices()
        self.drain()
        if self.deliver_sms_pushes():  # receipts of what the drain sent; replies whose acknowledgements go out
            self.drain()

    def drain(self) -> DrainStats:
        """Deliver queued messages to their functions, as event source mappings do, until all are empty. Each
        queue is emptied in turn (a real mapping polls all at once): one empty receive per queue and pass, not
        one per batch of another queue."""
        sqs = self.client("sqs")
        batches = messages = failures = 0
        for _round in range(MAX_DRAIN_ROUNDS):
            delivered = (
                event_sources.deliver_s3_notifications(self)
                + event_sources.deliver_sns(self)
                + event_sources.run_invocations(self)
            )
            for mapping in self.mappings:
                for _batch in range(MAX_DRAIN_ROUNDS):
                    received = sqs.receive_message(
                        QueueUrl=mapping.queue_url,
                        MaxNumberOfMessages=min(mapping.batch_size, 10),
                        AttributeNames=["All"],
                        MessageAttributeNames=["All"],
                        WaitTimeSeconds=0,
                    ).get("Messages", [])
                    if not received:
                        break
                    delivered += len(received)
                    failed = event_sources.deliver(self, mapping, received)
                    batches += 1
                    messages += len(received)
                    failures += len(failed)
                    event_sources.settle(sqs, mapping, received, failed)
            if delivered == 0:
                return DrainStats(batches, messages, failures)
        raise RuntimeError("queues did not drain; a message may be looping")

    def invoke_async(self, logical_id: str, event: dict[str, Any]) -> None:
        """An asynchronous invocation: its failure does not reach the caller; the event goes to the function's
        DeadLetterQueue with the error (under fault injection, after Lambda's two retries)."""
        try:
            self.invoke(logical_id, event)
        except Exception as error:
            logging.getLogger(__name__).exception("function %s failed an asynchronous event", logical_id)
            self.dead_letter_event(logical_id, event, error)

    def dead_letter_event(self, logical_id: str, event: dict[str, Any], error: BaseException) -> bool:
        """Keep a failed asynchronous event as Lambda does: the event as the body, the error in the attributes.
        False when the function has no DeadLetterQueue (Lambda drops the event)."""
        queue = self.on_failure_queues.get(logical_id)
        if queue is None:
            return False
        self.client("sqs").send_message(
            QueueUrl=queue,
            MessageBody=json.dumps(event),
            MessageAttributes={
                "ErrorCode": {"DataType": "String", "StringValue": "200"},  # the invocation ran; the function failed
                "ErrorMessage": {"DataType": "String", "StringValue": f"{type(error).__name__}: {error}"[:1000]},
            },
        )
        return True

    # ------------------------------------------------------------------ what the providers received
    def sent_sms(self) -> list[tuple[str, str, str]]:
        """(message id, phone number, text) of every SMS published, in order."""
        from moto.sns.models import sns_backends

        from propfee.local.emulators.sms import sent_by_emulators

        published = [(mid, phone, text) for mid, (phone, text) in sns_backends[ACCOUNT][REGION].sms_messages.items()]
        return published + sent_by_emulators(self.sms_emulators)

    def sent_email(self) -> list[tuple[str, list[str], str, str]]:
        """(message id, to addresses, subject, body) of every email sent."""
        from moto.ses.models import ses_backends

        return [
            (m.id, list(m.destinations.get("ToAddresses", [])), m.subject, m.body)
            for m in ses_backends[ACCOUNT][REGION].sent_messages
        ]

    def ses_event(
        self,
        message_id: str,
        kind: EventKind,
        *,
        recipients: tuple[str, ...] | None = None,
        bounce_type: str = "Permanent",
        notification_topic: str | None = None,
        feedback_id: str | None = None,
    ) -> int:
        """What SES publishes when the receiving side reports on a message it accepted (SES event publishing,
        which moto lacks): a record to each SNS destination of the send's configuration set that matches `kind`,
        with the message's tags. `notification_topic`: an identity notification there instead (no tags).
        Returns how many records were published (none for a send without a configuration set)."""
        sent = ses_rules.sent_emails[message_id]
        if notification_topic is not None:
            topics = [notification_topic]
        else:
            destinations = self.ses_event_destinations.get(sent.configuration_set or "", [])
            topics = [topic for types, topic in destinations if MATCHING_TYPE[kind] in types]
        record = ses_record(sent, kind, self.clock.now(), ACCOUNT, REGION, recipients=recipients,
                            bounce_type=bounce_type, notification=notification_topic is not None,
                            feedback_id=feedback_id)  # fmt: skip
        for topic in topics:
            self.client("sns").publish(TopicArn=topic, Message=json.dumps(record))
        return len(topics)

    def function_logs(self) -> str:
        return "".join(f.log.getvalue() for f in self.functions.values())  # type: ignore[attr-defined]


__all__ = ["Sandbox", "default_template_path"]

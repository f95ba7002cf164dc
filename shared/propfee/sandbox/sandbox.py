"""The sandbox: moto server + the stack from infra/template.yaml + an event-source emulator.

The emulator delivers what Lambda would: SQS batches from the event source mappings, and asynchronous
invocations (schedules, S3 notifications, SNS messages to a function's subscription, a function's own
`lambda:Invoke` with InvocationType Event). An asynchronous event that fails goes to the function's
DeadLetterQueue with the error, as Lambda does after its retries (the fault injector retries, see faults)."""

from __future__ import annotations

import json
import logging
import re
import urllib.request
import warnings
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.config import Config

from propfee import clock
from propfee.adapters import aws
from propfee.adapters.aws import reset_clients
from propfee.sandbox import aws_rules, iam, moto_patches, presigned, ses_rules
from propfee.sandbox import template as tpl
from propfee.sandbox.runtime import LambdaFunction, current_function, lambda_environment, patched_environ
from propfee.sandbox.schedules import Schedule
from propfee.sandbox.ses_events import MATCHING_TYPE, EventKind, ses_record

SANDBOX_CREDENTIAL = "sandbox"  # moto on loopback accepts any credentials: no real account's key
REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
ARTIFACT_BUCKET = "propfee-sandbox-artifacts"
STACK_NAME = "propfee"
# The template's parameters without a default, given values its AllowedPattern accepts: `.internal` is reserved
# for private use (ICANN, 2024) and never delegated, so these are no one's addresses either. The stack creates the
# sender's identity (CreateSenderIdentity's default), which the sandbox's mail server treats as verified.
PARAMETERS = {"SenderEmail": "billing@propfee-sandbox.internal", "FeedbackEmail": "feedback@propfee-sandbox.internal"}
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
class QueueMapping:
    """An SQS event source mapping as deployed: which queue feeds which function, how."""

    queue_arn: str
    queue_url: str
    function_logical_id: str
    batch_size: int
    report_batch_item_failures: bool


@dataclass(frozen=True)
class SnsMapping:
    """A topic's subscription by a function: the sandbox keeps the topic's messages on a queue of its own
    (plumbing, not in the template) and invokes the function with each, as SNS does."""

    queue_url: str
    topic_arn: str
    subscription_arn: str
    function_logical_id: str


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
    ) -> None:
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
        self._function_arns: dict[str, str] = {}
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

        # moto warns about every resource type its CloudFormation skips (_complete creates them)
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
        aws.client_observers.append(self._observe_client)
        self._previous_clock = clock.install(self.clock)
        self._deploy()

    def _observe_client(self, made: Any) -> None:
        service = made.meta.service_model.service_name

        def count(model: Any, **_: Any) -> None:
            function = current_function.get()
            if function is not None:
                self.function_calls[(function, f"{service}:{model.name}")] += 1

        made.meta.events.register("before-call.*.*", count)
        aws_rules.check_client(made)  # services moto lacks (End User Messaging SMS) refuse what AWS refuses
        if service == "dynamodb":
            made.meta.events.register("before-parameter-build.dynamodb", self._authorize_table_call)
        if service == "lambda":
            made.meta.events.register("before-parameter-build.lambda.Invoke", self._note_invoke)
            made.meta.events.register("before-call.lambda.Invoke", self._accept_event)

    def _authorize_table_call(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        """Refuse, as IAM would, a function's table call that its role does not allow (sandbox.iam)."""
        role = self.function_roles.get(current_function.get() or "")
        if role is None:  # the sandbox's own plumbing, a test or the CLI: an operator's credentials
            return
        caller, statements = role
        for request in iam.table_requests(model.name, params, self._table_arn):
            if not iam.is_allowed(statements, request):
                raise iam.refuse(model.name, caller, request)

    @staticmethod
    def _table_arn(name: str) -> str:
        return name if name.startswith("arn:") else f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"

    @staticmethod
    def _note_invoke(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["propfee_invoke"] = dict(params)

    def _accept_event(self, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        """Lambda's answer to an asynchronous invocation (202, the event queued), without moto, which would
        need Docker to run it: the sandbox runs the event when it drains."""
        params = context.get("propfee_invoke", {})
        if params.get("InvocationType") != "Event":
            return None
        name = params["FunctionName"]
        target = next((f.logical_id for f in self.functions.values() if name in (f.name, f.arn)), None)
        if target is None:
            raise RuntimeError(f"the sandbox has no function {name!r} to invoke")
        payload = params.get("Payload") or b"{}"
        if aws_rules.async_payload_too_large(payload):
            return None  # moto's server refuses it as Lambda does (RequestTooLargeException)
        self._invocations_pending.append((target, json.loads(payload)))
        return AWSResponse(self.endpoint, 202, HTTPHeaders(), None), {"StatusCode": 202}

    def stop(self) -> None:
        if self._undo_presign_time is not None:
            self._undo_presign_time()
            self._undo_presign_time = None
        if self._observe_client in aws.client_observers:
            aws.client_observers.remove(self._observe_client)
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

    # ------------------------------------------------------------------ provisioning
    def _deploy(self) -> None:
        sam = tpl.load_template(self.template_path)
        s3 = self.client("s3")
        s3.create_bucket(Bucket=ARTIFACT_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        code_dirs = tpl.local_code_dirs(sam, self.template_path)
        uploaded = {}
        for logical_id, folder in code_dirs.items():
            key = f"{logical_id}.zip"
            s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=tpl.zip_folder(folder))
            uploaded[logical_id] = key
        cfn_template = tpl.translate(tpl.with_code_in_s3(sam, ARTIFACT_BUCKET, uploaded), self.parameters, REGION)
        cloudformation = self.client("cloudformation")
        cloudformation.create_stack(
            StackName=STACK_NAME,
            TemplateBody=json.dumps(cfn_template),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        stack = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise RuntimeError(f"sandbox stack ended {stack['StackStatus']}: {stack.get('StackStatusReason')}")
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=STACK_NAME):
            for summary in page["StackResourceSummaries"]:
                if summary["LogicalResourceId"]:  # moto lists the types it skipped without a name
                    self.resources[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
        resolver = Resolver(self, cfn_template)
        self._function_arns = {
            lid: resolver.get_att(lid, "Arn")
            for lid, resource in cfn_template["Resources"].items()
            if resource["Type"] == "AWS::Lambda::Function"
        }
        # moto keeps no DeadLetterConfig: read it from the template
        self.on_failure_queues = {
            lid: self._queue_url(resolver.resolve(resource["Properties"]["DeadLetterConfig"]["TargetArn"]))
            for lid, resource in cfn_template["Resources"].items()
            if resource["Type"] == "AWS::Lambda::Function" and "DeadLetterConfig" in resource.get("Properties", {})
        }
        self._complete(cfn_template, resolver)
        self._load_functions(cfn_template, code_dirs, resolver)
        self._load_roles()
        self._load_mappings()

    def _queue_url(self, queue_arn: str) -> str:
        return str(self.client("sqs").get_queue_url(QueueName=queue_arn.rsplit(":", 1)[1])["QueueUrl"])

    def _complete(self, cfn_template: dict[str, Any], resolver: Resolver) -> None:
        """Create, from the same template, what moto's CloudFormation skips."""
        creators: dict[str, Callable[[str, dict[str, Any]], None]] = {
            "AWS::SNS::Subscription": self._create_subscription,
            "AWS::SES::EmailIdentity": self._create_email_identity,
            "AWS::SES::ConfigurationSet": self._create_configuration_set,
            "AWS::SES::ConfigurationSetEventDestination": self._create_event_destination,
            "AWS::SQS::QueuePolicy": self._create_queue_policy,
            "AWS::SNS::TopicPolicy": self._create_topic_policy,
            # AWS::S3::BucketPolicy is left out on purpose: the template's policy denies plain HTTP
            # (aws:SecureTransport), and the sandbox speaks HTTP on loopback; tests check the policy itself.
            "AWS::Scheduler::Schedule": self._create_schedule,
            "AWS::S3::Bucket": self._create_bucket_notifications,
        }
        for logical_id, resource in cfn_template["Resources"].items():
            creator = creators.get(resource["Type"])
            if creator is not None and resolver.condition_holds(resource.get("Condition")):
                creator(logical_id, resolver.resolve(resource.get("Properties", {})))

    def _create_subscription(self, logical_id: str, props: dict[str, Any]) -> None:
        if props["Protocol"] == "lambda":
            self._subscribe_function(logical_id, props)
            return
        attributes = {}
        if props.get("RawMessageDelivery"):
            attributes["RawMessageDelivery"] = "true"
        if props.get("FilterPolicy"):
            attributes["FilterPolicy"] = json.dumps(props["FilterPolicy"])
        self.client("sns").subscribe(
            TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"], Attributes=attributes
        )

    def _subscribe_function(self, logical_id: str, props: dict[str, Any]) -> None:
        function = next((lid for lid, arn in self._function_arns.items() if arn == props["Endpoint"]), None)
        if function is None:
            raise RuntimeError(f"subscription {logical_id} names {props['Endpoint']}, not a function of the stack")
        sqs = self.client("sqs")
        queue_url = sqs.create_queue(QueueName=f"sandbox-sns-{logical_id}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = {"FilterPolicy": json.dumps(props["FilterPolicy"])} if props.get("FilterPolicy") else {}
        subscription = self.client("sns").subscribe(
            TopicArn=props["TopicArn"], Protocol="sqs", Endpoint=queue_arn, Attributes=attributes
        )["SubscriptionArn"]
        self.sns_mappings.append(SnsMapping(queue_url, props["TopicArn"], subscription, function))

    def _create_email_identity(self, _logical_id: str, props: dict[str, Any]) -> None:
        # the sandbox's mail server treats every identity it creates as verified
        self.client("ses").verify_email_identity(EmailAddress=props["EmailIdentity"])

    def _create_configuration_set(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("Name") or f"{STACK_NAME}-{logical_id}"
        self.client("sesv2").create_configuration_set(ConfigurationSetName=name)
        self.resources[logical_id] = name  # Ref of a configuration set is its name

    def _create_event_destination(self, _logical_id: str, props: dict[str, Any]) -> None:
        destination = props["EventDestination"]
        if not destination.get("Enabled", False) or "SnsDestination" not in destination:
            return  # the sandbox publishes SES events to SNS only
        self.ses_event_destinations.setdefault(props["ConfigurationSetName"], []).append(
            (frozenset(destination["MatchingEventTypes"]), destination["SnsDestination"]["TopicARN"])
        )

    def _create_queue_policy(self, _logical_id: str, props: dict[str, Any]) -> None:
        for url in props["Queues"]:
            self.client("sqs").set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])}
            )

    def _create_topic_policy(self, _logical_id: str, props: dict[str, Any]) -> None:
        # kept as AWS keeps it (moto enforces no topic policy, but reads it back)
        for topic_arn in props["Topics"]:
            self.client("sns").set_topic_attributes(
                TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json.dumps(props["PolicyDocument"])
            )

    def _create_bucket_notifications(self, logical_id: str, props: dict[str, Any]) -> None:
        """CloudFormation's NotificationConfiguration in the S3 API's shape (moto's CloudFormation drops it)."""
        config = props.get("NotificationConfiguration")
        if not config:
            return

        def api_shape(entry: dict[str, Any], target_key: str, api_target_key: str) -> dict[str, Any]:
            shaped: dict[str, Any] = {api_target_key: entry[target_key], "Events": [entry["Event"]]}
            rules = entry.get("Filter", {}).get("S3Key", {}).get("Rules")
            if rules:
                shaped["Filter"] = {"Key": {"FilterRules": rules}}
            return shaped

        notification = {
            "LambdaFunctionConfigurations": [
                api_shape(e, "Function", "LambdaFunctionArn") for e in config.get("LambdaConfigurations", [])
            ],
            "QueueConfigurations": [api_shape(e, "Queue", "QueueArn") for e in config.get("QueueConfigurations", [])],
            "TopicConfigurations": [api_shape(e, "Topic", "TopicArn") for e in config.get("TopicConfigurations", [])],
        }
        self.client("s3").put_bucket_notification_configuration(
            Bucket=self.resources[logical_id], NotificationConfiguration=notification
        )

    def _create_schedule(self, logical_id: str, props: dict[str, Any]) -> None:
        target_arn = props["Target"]["Arn"]
        target = next((lid for lid, arn in self._function_arns.items() if arn == target_arn), None)
        if target is None:
            raise RuntimeError(f"schedule {logical_id} targets {target_arn}, which is not a function of the stack")
        if "Name" in props and (problem := aws_rules.schedule_name_problem(props["Name"])):
            raise RuntimeError(f"schedule {logical_id}: Scheduler would refuse its name: {problem}")
        self.schedules.append(
            Schedule(
                name=props.get("Name", logical_id),
                expression=props["ScheduleExpression"],
                timezone=props.get("ScheduleExpressionTimezone", "UTC"),
                target_logical_id=target,
                input=props["Target"].get("Input"),
            )
        )

    def _load_functions(self, cfn_template: dict[str, Any], code_dirs: dict[str, Path], resolver: Resolver) -> None:
        lam = self.client("lambda")
        for logical_id, resource in cfn_template["Resources"].items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            config = lam.get_function_configuration(FunctionName=self.resources[logical_id])
            # moto's CloudFormation drops a variable that refers to a resource it skipped (an SES configuration
            # set): resolve those from the template, now that _complete has created them
            variables = config.setdefault("Environment", {}).setdefault("Variables", {})
            declared = resource["Properties"].get("Environment", {}).get("Variables", {})
            for name in declared.keys() - variables.keys():
                value = resolver.resolve(declared[name])
                if isinstance(value, str):
                    variables[name] = value
            memory = int(config.get("MemorySize", 128))
            self.functions[logical_id] = LambdaFunction(
                logical_id=logical_id,
                name=config["FunctionName"],
                arn=config["FunctionArn"],
                code_dir=code_dirs[logical_id],
                handler=config["Handler"],
                environment=lambda_environment(
                    config.get("Environment", {}).get("Variables", {}), config["FunctionName"], memory, REGION
                ),
                timeout=int(config.get("Timeout", 3)),
                memory=memory,
            )

    def _load_roles(self) -> None:
        """Each function's role as deployed. Its inline policies are written back as IAM holds them (JSON), over the
        Python repr that moto's CloudFormation stores, so that moto's own IAM enforcement can read them too."""
        iam_client = self.client("iam")
        lam = self.client("lambda")
        for logical_id, function in self.functions.items():
            role_name = lam.get_function_configuration(FunctionName=function.name)["Role"].rsplit("/", 1)[-1]
            statements: list[dict[str, Any]] = []
            for policy_name in iam_client.list_role_policies(RoleName=role_name)["PolicyNames"]:
                stored = iam_client.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
                document = iam.policy_document(stored)
                iam_client.put_role_policy(
                    RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
                )
                statements += document["Statement"]
            caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/{function.name}"
            self.function_roles[logical_id] = (caller, statements)

    def _load_mappings(self) -> None:
        lam = self.client("lambda")
        by_arn = {f.arn: f.logical_id for f in self.functions.values()}
        for page in lam.get_paginator("list_event_source_mappings").paginate():
            for mapping in page["EventSourceMappings"]:
                source = mapping["EventSourceArn"]
                if not source.startswith("arn:aws:sqs:") or mapping.get("State") != "Enabled":
                    continue
                # the sandbox polls the queue itself, as Lambda's pollers do; moto's own in-line
                # invocation would need Docker, so it is switched off once the settings are read
                lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
                self.mappings.append(
                    QueueMapping(
                        queue_arn=source,
                        queue_url=self._queue_url(source),
                        function_logical_id=by_arn[mapping["FunctionArn"]],
                        batch_size=int(mapping.get("BatchSize", 10)),
                        report_batch_item_failures="ReportBatchItemFailures"
                        in mapping.get("FunctionResponseTypes", []),
                    )
                )

    # ------------------------------------------------------------------ running
    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        return self.functions[logical_id].invoke(event)

    def advance(self, to: datetime) -> None:
        """Move the clock to `to`, firing every schedule due on the way and draining the queues."""
        target = to.astimezone(UTC)
        while True:
            now = self.clock.now()
            due = [(s.next_after(now), s) for s in self.schedules]
            upcoming = sorted(((t, s.name, s) for t, s in due if t is not None and t <= target), key=lambda x: x[:2])
            if not upcoming:
                break
            fire_time, _, schedule = upcoming[0]
            self.clock.set(fire_time)
            result = self.invoke(schedule.target_logical_id, schedule.event_for(fire_time))
            self.scheduled_results.append((schedule.target_logical_id, fire_time, result))
            self.drain()
        if target > self.clock.now():
            self.clock.set(target)
        self.drain()

    def drain(self) -> DrainStats:
        """Deliver queued messages to their functions, as event source mappings do, until all are empty. Each
        queue is emptied in turn (a real mapping polls all at once): one empty receive per queue and pass, not
        one per batch of another queue."""
        sqs = self.client("sqs")
        batches = messages = failures = 0
        for _round in range(MAX_DRAIN_ROUNDS):
            delivered = self._deliver_s3_notifications() + self._deliver_sns() + self._run_invocations()
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
                    failed = self._deliver(mapping, received)
                    batches += 1
                    messages += len(received)
                    failures += len(failed)
                    self._settle(sqs, mapping, received, failed)
            if delivered == 0:
                return DrainStats(batches, messages, failures)
        raise RuntimeError("queues did not drain; a message may be looping")

    @staticmethod
    def _settle(sqs: Any, mapping: QueueMapping, received: list[dict[str, Any]], failed: set[str]) -> None:
        """Delete what the function handled; what it reported failed is visible again at once (after
        maxReceiveCount SQS moves it to the DLQ)."""
        done = [m for m in received if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            sqs.delete_message_batch(
                QueueUrl=mapping.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
                ],
            )
        for message in received:
            if message["MessageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=mapping.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )

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

    def _run_invocations(self) -> int:
        ran = 0
        while self._invocations_pending:
            logical_id, event = self._invocations_pending.popleft()
            self.invoke_async(logical_id, event)
            ran += 1
        return ran

    def _deliver_sns(self) -> int:
        """Invoke each subscribed function with its topic's messages, one an invocation (as SNS does)."""
        sqs = self.client("sqs")
        delivered = 0
        for mapping in self.sns_mappings:
            while messages := sqs.receive_message(QueueUrl=mapping.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            ):
                for message in messages:
                    self.invoke_async(mapping.function_logical_id, {"Records": [sns_record(message, mapping)]})
                    sqs.delete_message(QueueUrl=mapping.queue_url, ReceiptHandle=message["ReceiptHandle"])
                    delivered += 1
        return delivered

    def _deliver_s3_notifications(self) -> int:
        """Invoke functions for the S3 events moto produced (asynchronous invocations in AWS)."""
        pending = list(moto_patches.s3_lambda_invocations)
        moto_patches.s3_lambda_invocations.clear()
        by_arn = {arn: logical_id for logical_id, arn in self._function_arns.items()}
        for function_arn, event, uploaded_at in pending:
            for record in event.get("Records", []):  # the simulated time of the upload
                record["eventTime"] = uploaded_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            self.invoke_async(by_arn[function_arn], event)
        return len(pending)

    def _deliver(self, mapping: QueueMapping, received: list[dict[str, Any]]) -> set[str]:
        """Invoke the function with an SQS event; returns the ids of messages to be retried."""
        event = {"Records": [sqs_record(m, mapping.queue_arn) for m in received]}
        try:
            response = self.invoke(mapping.function_logical_id, event)
        except Exception:  # the whole batch failed, as in Lambda
            logging.getLogger(__name__).exception("function %s failed", mapping.function_logical_id)
            return {m["MessageId"] for m in received}
        if not mapping.report_batch_item_failures or not isinstance(response, dict):
            return set()
        return {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}

    # ------------------------------------------------------------------ what the providers received
    def sent_sms(self) -> list[tuple[str, str, str]]:
        """(message id, phone number, text) of every SMS published, in order."""
        from moto.sns.models import sns_backends

        return [(mid, phone, text) for mid, (phone, text) in sns_backends[ACCOUNT][REGION].sms_messages.items()]

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


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A record as the Lambda SQS poller delivers it."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", "0"),
            "SenderId": attributes.get("SenderId", ACCOUNT),
            "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", "0"),
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def sns_record(message: dict[str, Any], mapping: SnsMapping) -> dict[str, Any]:
    """A record as SNS delivers it to a function, from the SNS envelope its queue received."""
    envelope = json.loads(message["Body"])
    return {
        "EventVersion": "1.0",
        "EventSubscriptionArn": mapping.subscription_arn,
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": envelope.get("SignatureVersion", "1"),
            "Timestamp": envelope["Timestamp"],
            "Signature": envelope.get("Signature", ""),
            "SigningCertUrl": envelope.get("SigningCertURL", ""),
            "MessageId": envelope["MessageId"],
            "Message": envelope["Message"],
            "MessageAttributes": envelope.get("MessageAttributes", {}),
            "Type": envelope.get("Type", "Notification"),
            "UnsubscribeUrl": envelope.get("UnsubscribeURL", ""),
            "TopicArn": envelope["TopicArn"],
            "Subject": envelope.get("Subject"),
        },
    }


class Resolver:
    """Resolves Ref, Fn::GetAtt and Fn::Sub of the translated template against the deployed stack."""

    def __init__(self, sandbox: Sandbox, cfn_template: dict[str, Any]) -> None:
        self._sandbox = sandbox
        self._types = {lid: r["Type"] for lid, r in cfn_template["Resources"].items()}
        self._conditions: dict[str, Any] = cfn_template.get("Conditions", {})
        defaults = {k: str(v.get("Default", "")) for k, v in cfn_template.get("Parameters", {}).items()}
        self._parameters = {
            **defaults,
            **sandbox.parameters,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": STACK_NAME,
        }

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self.ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            return self.get_att(logical_id, attribute)
        if set(value) == {"Fn::Sub"}:
            return self.sub(value["Fn::Sub"])
        return {k: self.resolve(v) for k, v in value.items()}

    def condition_holds(self, name: str | None) -> bool:
        """Whether a resource with this Condition exists in the stack (no Condition: it does)."""
        return name is None or bool(self._evaluate(self._conditions[name]))

    def _evaluate(self, expression: Any) -> Any:
        if not isinstance(expression, dict):
            return expression
        [(function, arguments)] = expression.items()
        if function == "Condition":
            return self.condition_holds(arguments)
        if function == "Ref":
            return self.ref(arguments)
        values = [self._evaluate(argument) for argument in arguments]
        if function == "Fn::Equals":
            return str(values[0]) == str(values[1])
        if function == "Fn::Not":
            return not values[0]
        if function == "Fn::And":
            return all(values)
        if function == "Fn::Or":
            return any(values)
        raise ValueError(f"the sandbox cannot evaluate the condition function {function}")

    def ref(self, name: str) -> str:
        if name in self._parameters:
            return self._parameters[name]
        return self._sandbox.resources[name]

    def get_att(self, logical_id: str, attribute: str) -> str:
        physical = self._sandbox.resources[logical_id]
        kind = self._types[logical_id]
        if attribute != "Arn":
            raise ValueError(f"the sandbox resolves only Arn attributes, not {logical_id}.{attribute}")
        if kind == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{physical.rsplit('/', 1)[1]}"
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{physical}"
        if kind == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{physical}"
        if kind == "AWS::Lambda::Function":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{physical}"
        if kind == "AWS::IAM::Role":
            return f"arn:aws:iam::{ACCOUNT}:role/{physical}"
        if physical.startswith("arn:"):
            return physical
        raise ValueError(f"the sandbox cannot resolve {logical_id}.Arn ({kind})")

    def sub(self, spec: str | list[Any]) -> str:
        text, variables = (spec, {}) if isinstance(spec, str) else (spec[0], self.resolve(spec[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] in self._types:
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return self.ref(name)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)


__all__ = ["Sandbox", "default_template_path"]

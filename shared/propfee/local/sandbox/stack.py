"""The stack from the template as the sandbox deploys it: the values of its references (Resolver), what moto's
CloudFormation skips and the sandbox creates from the same template (complete), and the functions, roles and
queue mappings read back from the deployed stack."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from propfee.local.sandbox import aws_rules, cognito, iam
from propfee.local.sandbox.runtime import LambdaFunction, lambda_environment
from propfee.local.sandbox.schedules import Schedule

if TYPE_CHECKING:
    from propfee.local.sandbox.sandbox import Sandbox

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
STACK_NAME = "propfee"
# The template's parameters without a default, given values its AllowedPattern accepts: `.internal` is reserved
# for private use (ICANN, 2024) and never delegated, so these are no one's addresses either. The stack creates the
# sender's identity (CreateSenderIdentity's default), which the sandbox's mail server treats as verified.
ADDRESS_PARAMETERS = {
    "SenderEmail": "billing@propfee-sandbox.internal",
    "FeedbackEmail": "feedback@propfee-sandbox.internal",
}
# The sandbox's functions run as a deployed stack's do, and refuse a placeholder identity: the sandbox (and the
# demo) speak for a fictional company. 0571-8888 0000 is Hangzhou's format; the number is made up.
COMPANY_PARAMETERS = {
    "CompanyName": "锦绣物业服务有限公司",
    "CompanyNameEn": "Jinxiu Property Services Co., Ltd.",
    "SmsSignature": "锦绣物业",
    "Hotline": "0571-8888 0000",
    "PayInstructions": "锦绣物业App或小区物业服务中心",
    "PayInstructionsEn": "the Jinxiu app or the estate office",
    "CompanyAddress": "杭州市西湖区文三路100号锦绣大厦3楼",
    "CompanyAddressEn": "3/F Jinxiu Building, 100 Wensan Road, Xihu District, Hangzhou",
}
PARAMETERS = {**ADDRESS_PARAMETERS, **COMPANY_PARAMETERS}


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


def queue_url(sandbox: Sandbox, queue_arn: str) -> str:
    return str(sandbox.client("sqs").get_queue_url(QueueName=queue_arn.rsplit(":", 1)[1])["QueueUrl"])


def complete(sandbox: Sandbox, cfn_template: dict[str, Any], resolver: Resolver) -> None:
    """Create, from the same template, what moto's CloudFormation skips."""
    creators: dict[str, Callable[[Sandbox, str, dict[str, Any]], None]] = {
        "AWS::SNS::Subscription": _create_subscription,
        "AWS::SES::EmailIdentity": _create_email_identity,
        "AWS::SES::ConfigurationSet": _create_configuration_set,
        "AWS::SES::ConfigurationSetEventDestination": _create_event_destination,
        "AWS::SQS::QueuePolicy": _create_queue_policy,
        "AWS::SNS::TopicPolicy": _create_topic_policy,
        # AWS::S3::BucketPolicy is left out on purpose: the template's policy denies plain HTTP
        # (aws:SecureTransport), and the sandbox speaks HTTP on loopback; tests check the policy itsandbox.
        "AWS::Scheduler::Schedule": _create_schedule,
        "AWS::S3::Bucket": _create_bucket_notifications,
        "AWS::Cognito::UserPool": cognito.create_user_pool,
        "AWS::Cognito::UserPoolClient": cognito.create_user_pool_client,
        "AWS::Cognito::UserPoolGroup": cognito.create_user_pool_group,
        "AWS::SecretsManager::Secret": _create_secret,
        "AWS::ApiGatewayV2::Api": _create_http_api,
    }
    for logical_id, resource in cfn_template["Resources"].items():
        creator = creators.get(resource["Type"])
        if creator is not None and resolver.condition_holds(resource.get("Condition")):
            creator(sandbox, logical_id, resolver.resolve(resource.get("Properties", {})))
    # moto drops an output that names a resource it skipped: resolve those now that they exist
    for name, output in cfn_template.get("Outputs", {}).items():
        if name not in sandbox.outputs and resolver.condition_holds(output.get("Condition")):
            sandbox.outputs[name] = str(resolver.resolve(output["Value"]))


def _create_secret(sandbox: Sandbox, logical_id: str, props: dict[str, Any]) -> None:
    """moto's CloudFormation skips secrets: one with a random value as GenerateSecretString would make it."""
    length = int(props.get("GenerateSecretString", {}).get("PasswordLength", 32))
    created = sandbox.client("secretsmanager").create_secret(
        Name=props.get("Name") or f"{STACK_NAME}-{logical_id}",
        SecretString=secrets.token_urlsafe(length)[:length],
        **({"KmsKeyId": props["KmsKeyId"]} if props.get("KmsKeyId") else {}),
    )
    sandbox.resources[logical_id] = created["ARN"]


def _create_http_api(sandbox: Sandbox, logical_id: str, props: dict[str, Any]) -> None:
    """moto's CloudFormation skips HTTP APIs; its API Gateway v2 takes one without the routes (the OpenAPI body
    SAM wrote): the sandbox's own server answers the routes, from the same body (sandbox.http_api)."""
    created = sandbox.client("apigatewayv2").create_api(Name=f"{STACK_NAME}-{logical_id}", ProtocolType="HTTP")
    sandbox.resources[logical_id] = created["ApiId"]


def _create_subscription(sandbox: Sandbox, logical_id: str, props: dict[str, Any]) -> None:
    if props["Protocol"] == "lambda":
        _subscribe_function(sandbox, logical_id, props)
        return
    attributes = {}
    if props.get("RawMessageDelivery"):
        attributes["RawMessageDelivery"] = "true"
    if props.get("FilterPolicy"):
        attributes["FilterPolicy"] = json.dumps(props["FilterPolicy"])
    sandbox.client("sns").subscribe(
        TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"], Attributes=attributes
    )


def _subscribe_function(sandbox: Sandbox, logical_id: str, props: dict[str, Any]) -> None:
    function = next((lid for lid, arn in sandbox.function_arns.items() if arn == props["Endpoint"]), None)
    if function is None:
        raise RuntimeError(f"subscription {logical_id} names {props['Endpoint']}, not a function of the stack")
    sqs = sandbox.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"sandbox-sns-{logical_id}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"FilterPolicy": json.dumps(props["FilterPolicy"])} if props.get("FilterPolicy") else {}
    subscription = sandbox.client("sns").subscribe(
        TopicArn=props["TopicArn"], Protocol="sqs", Endpoint=queue_arn, Attributes=attributes
    )["SubscriptionArn"]
    sandbox.sns_mappings.append(SnsMapping(queue_url, props["TopicArn"], subscription, function))


def _create_email_identity(sandbox: Sandbox, _logical_id: str, props: dict[str, Any]) -> None:
    # the sandbox's mail server treats every identity it creates as verified
    sandbox.client("ses").verify_email_identity(EmailAddress=props["EmailIdentity"])


def _create_configuration_set(sandbox: Sandbox, logical_id: str, props: dict[str, Any]) -> None:
    name = props.get("Name") or f"{STACK_NAME}-{logical_id}"
    sandbox.client("sesv2").create_configuration_set(ConfigurationSetName=name)
    sandbox.resources[logical_id] = name  # Ref of a configuration set is its name


def _create_event_destination(sandbox: Sandbox, _logical_id: str, props: dict[str, Any]) -> None:
    destination = props["EventDestination"]
    if not destination.get("Enabled", False) or "SnsDestination" not in destination:
        return  # the sandbox publishes SES events to SNS only
    sandbox.ses_event_destinations.setdefault(props["ConfigurationSetName"], []).append(
        (frozenset(destination["MatchingEventTypes"]), destination["SnsDestination"]["TopicARN"])
    )


def _create_queue_policy(sandbox: Sandbox, _logical_id: str, props: dict[str, Any]) -> None:
    for url in props["Queues"]:
        sandbox.client("sqs").set_queue_attributes(
            QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])}
        )


def _create_topic_policy(sandbox: Sandbox, _logical_id: str, props: dict[str, Any]) -> None:
    # kept as AWS keeps it (moto enforces no topic policy, but reads it back)
    for topic_arn in props["Topics"]:
        sandbox.client("sns").set_topic_attributes(
            TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json.dumps(props["PolicyDocument"])
        )


def _create_bucket_notifications(sandbox: Sandbox, logical_id: str, props: dict[str, Any]) -> None:
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
    sandbox.client("s3").put_bucket_notification_configuration(
        Bucket=sandbox.resources[logical_id], NotificationConfiguration=notification
    )


def _create_schedule(sandbox: Sandbox, logical_id: str, props: dict[str, Any]) -> None:
    target_arn = props["Target"]["Arn"]
    target = next((lid for lid, arn in sandbox.function_arns.items() if arn == target_arn), None)
    if target is None:
        raise RuntimeError(f"schedule {logical_id} targets {target_arn}, which is not a function of the stack")
    if "Name" in props and (problem := aws_rules.schedule_name_problem(props["Name"])):
        raise RuntimeError(f"schedule {logical_id}: Scheduler would refuse its name: {problem}")
    sandbox.schedules.append(
        Schedule(
            name=props.get("Name", logical_id),
            expression=props["ScheduleExpression"],
            timezone=props.get("ScheduleExpressionTimezone", "UTC"),
            target_logical_id=target,
            input=props["Target"].get("Input"),
        )
    )


def load_functions(
    sandbox: Sandbox, cfn_template: dict[str, Any], code_dirs: dict[str, Path], resolver: Resolver
) -> None:
    lam = sandbox.client("lambda")
    for logical_id, resource in cfn_template["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        config = lam.get_function_configuration(FunctionName=sandbox.resources[logical_id])
        # moto's CloudFormation drops a variable that refers to a resource it skipped (an SES configuration
        # set): resolve those from the template, now that complete has created them
        variables = config.setdefault("Environment", {}).setdefault("Variables", {})
        declared = resource["Properties"].get("Environment", {}).get("Variables", {})
        for name in declared.keys() - variables.keys():
            value = resolver.resolve(declared[name])
            if isinstance(value, str):
                variables[name] = value
        memory = int(config.get("MemorySize", 128))
        sandbox.functions[logical_id] = LambdaFunction(
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


def load_roles(sandbox: Sandbox) -> None:
    """Each function's role as deployed. Its inline policies are written back as IAM holds them (JSON), over the
    Python repr that moto's CloudFormation stores, so that moto's own IAM enforcement can read them too."""
    iam_client = sandbox.client("iam")
    lam = sandbox.client("lambda")
    for logical_id, function in sandbox.functions.items():
        role_name = lam.get_function_configuration(FunctionName=function.name)["Role"].rsplit("/", 1)[-1]
        statements: list[dict[str, Any]] = []
        for policy_name in iam_client.list_role_policies(RoleName=role_name)["PolicyNames"]:
            stored = iam_client.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
            document = iam.policy_document(stored)
            iam_client.put_role_policy(RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
            statements += document["Statement"]
        caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/{function.name}"
        sandbox.function_roles[logical_id] = (caller, statements)


def load_mappings(sandbox: Sandbox) -> None:
    lam = sandbox.client("lambda")
    by_arn = {f.arn: f.logical_id for f in sandbox.functions.values()}
    for page in lam.get_paginator("list_event_source_mappings").paginate():
        for mapping in page["EventSourceMappings"]:
            source = mapping["EventSourceArn"]
            if not source.startswith("arn:aws:sqs:") or mapping.get("State") != "Enabled":
                continue
            # the sandbox polls the queue itself, as Lambda's pollers do; moto's own in-line
            # invocation would need Docker, so it is switched off once the settings are read
            lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
            sandbox.mappings.append(
                QueueMapping(
                    queue_arn=source,
                    queue_url=queue_url(sandbox, source),
                    function_logical_id=by_arn[mapping["FunctionArn"]],
                    batch_size=int(mapping.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", []),
                )
            )

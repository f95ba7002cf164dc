"""infra/template.yaml: valid, least-privilege, every queue with a DLQ, the bucket private and TLS-only."""

import fnmatch
import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent, SNSEvent

from propfee.accounts.imports.uploads import kind_of
from propfee.aws import keys
from propfee.collection.delivery import parse_delivery_event
from propfee.collection.delivery_mainland import aliyun_reports
from propfee.domain.models import PlanRequest, ScheduledEvent
from propfee.events import SendJobRecord, function_url_refusal, parse_records, s3_uploads, sns_notifications
from propfee.feedback.receiving import parse_inbound_sms
from propfee.local.sandbox import default_template_path
from propfee.local.sandbox.template import load_template, local_code_dirs, translate, with_code_in_s3
from propfee.reports.access import principal_key
from propfee.web.requests import from_http_api
from tests.support import ROOT

TEMPLATE = default_template_path()


@pytest.fixture(scope="module")
def sam():
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def cfn(sam):
    code = {lid: f"{lid}.zip" for lid in local_code_dirs(sam, TEMPLATE)}
    return translate(with_code_in_s3(sam, "artifacts", code), {}, "ap-northeast-1")


def _of_type(template, kind):
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def test_cfn_lint_passes():
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_functions_run_on_a_current_python_runtime_with_the_shared_layer(sam, cfn):
    assert sam["Globals"]["Function"]["Runtime"] in {"python3.12", "python3.13"}
    layers = _of_type(cfn, "AWS::Lambda::LayerVersion")
    assert len(layers) == 1
    for function in _of_type(cfn, "AWS::Lambda::Function").values():
        assert function["Properties"]["Runtime"] in {"python3.12", "python3.13"}
        assert function["Properties"]["Layers"] == [{"Ref": next(iter(layers))}]


def test_every_work_queue_has_a_dead_letter_queue(sam):
    queues = _of_type(sam, "AWS::SQS::Queue")
    dead_letter_queues = {lid for lid in queues if lid.endswith("DeadLetterQueue")}
    assert dead_letter_queues
    for lid, queue in queues.items():
        props = queue["Properties"]
        assert props.get("SqsManagedSseEnabled") or props.get("KmsMasterKeyId"), f"{lid} is not encrypted"
        if lid in dead_letter_queues:
            assert props["MessageRetentionPeriod"] == 1209600
            continue
        redrive = props["RedrivePolicy"]
        assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] in dead_letter_queues
        assert 1 < redrive["maxReceiveCount"] <= 10


def test_sqs_consumers_report_partial_failures_and_queues_outlast_the_function(sam):
    globals_timeout = sam["Globals"]["Function"]["Timeout"]
    for lid, function in _of_type(sam, "AWS::Serverless::Function").items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
            queue = sam["Resources"][event["Properties"]["Queue"]["Fn::GetAtt"][0]]
            timeout = function["Properties"].get("Timeout", globals_timeout)
            assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout, lid


ASYNC_EVENT_TYPES = {"Schedule", "ScheduleV2", "S3", "SNS", "EventBridgeRule", "CloudWatchEvent"}


def test_each_asynchronously_invoked_function_keeps_failed_events_in_a_dlq_the_daily_report_counts(sam):
    report_dlqs = sam["Resources"]["DailyReportFunction"]["Properties"]["Environment"]["Variables"]["PROPFEE_DLQ_URLS"]
    counted = report_dlqs["Fn::Sub"]
    asynchronous = [
        (lid, function)
        for lid, function in _of_type(sam, "AWS::Serverless::Function").items()
        if any(e["Type"] in ASYNC_EVENT_TYPES for e in function["Properties"].get("Events", {}).values())
    ]
    assert len(asynchronous) >= 7
    for lid, function in asynchronous:
        # an event that failed Lambda's retries (or waited too long) would otherwise be dropped
        dlq = function["Properties"]["DeadLetterQueue"]
        queue_id = dlq["TargetArn"]["Fn::GetAtt"][0]
        assert dlq["Type"] == "SQS" and queue_id.endswith("DeadLetterQueue"), lid
        assert f"${{{queue_id}}}" in counted, f"the daily report does not count {queue_id}"


def test_every_function_that_counts_dead_letters_may_read_each_queue_it_counts(sam):
    # AWS refuses GetQueueAttributes on a queue the role does not name; moto answers it anyway
    resources = sam["Resources"]
    counting = {
        lid: f["Properties"]["Environment"]["Variables"]["PROPFEE_DLQ_URLS"]["Fn::Sub"]
        for lid, f in _of_type(sam, "AWS::Serverless::Function").items()
        if "PROPFEE_DLQ_URLS" in f["Properties"].get("Environment", {}).get("Variables", {})
    }
    assert {"DailyReportFunction", "ConsoleFunction"} <= set(counting)
    for lid, counted in counting.items():
        role = resources[resources[lid]["Properties"]["Role"]["Fn::GetAtt"][0]]
        readable = {
            arn["Fn::GetAtt"][0]
            for policy in role["Properties"]["Policies"]
            for statement in policy["PolicyDocument"]["Statement"]
            if "sqs:GetQueueAttributes" in statement.get("Action", ())
            for arn in statement["Resource"]
            if isinstance(arn, dict) and "Fn::GetAtt" in arn
        }
        queues = {name for name in resources if f"${{{name}}}" in counted}
        assert queues and queues <= readable, f"{lid} may not read {sorted(queues - readable)}"


# the channels each function's code answers owners on (Receiver.acknowledge and reply_to_owner): the secrets its send
# path reads are those of the SMS providers for sms and of the official account for wechat (email needs none)
REPLYING = {
    "ReceiveFunction": {"sms"},  # two-way SMS through End User Messaging
    "FeedbackMailFunction": {"email"},
    "TicketsFunction": {"sms", "wechat", "email"},  # the clerks' answers queued for the contact window
    "ConsoleFunction": {"sms", "wechat", "email"},  # a clerk's answer now
    "BillPageFunction": {"sms", "email", "wechat"},  # the "wrong bill" form, the official account's binding
    "SmsCallbacksFunction": {"sms", "wechat"},  # the mainland providers' and the official account's pushes
}
REPLY_SECRETS = {"sms": ("aliyun-sms", "tencent-sms"), "wechat": ("wechat-official",), "email": ()}


def _readable_secrets(role):
    found, decrypts = set(), False
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
            actions = statement.get("Action", ())
            resources = statement.get("Resource", ())
            resources = resources if isinstance(resources, list) else [resources]
            if "secretsmanager:GetSecretValue" in actions:
                found |= {r["Fn::Sub"] for r in resources if isinstance(r, dict) and "Fn::Sub" in r}
            if "kms:Decrypt" in actions and {"Fn::GetAtt": ["TopicKey", "Arn"]} in resources:
                via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService", {})
                decrypts |= "secretsmanager" in str(via)
    return found, decrypts


def test_every_function_that_sends_replies_may_read_each_provider_secret_the_send_path_reads(sam):
    # AWS refuses GetSecretValue on a secret the role does not name (and its CMK's Decrypt); the sandbox checks only
    # DynamoDB, so a missing grant shows only in the cloud: a clerk's answer to a mainland owner "failed"
    resources = sam["Resources"]
    functions = _of_type(sam, "AWS::Serverless::Function")
    for lid, function in functions.items():
        code = (TEMPLATE.parent / function["Properties"]["CodeUri"] / "app.py").read_text(encoding="utf-8")
        if any(f".{name}" in code for name in ("receiver", "console_http", "bill_http", "sms_callbacks")):
            assert lid in REPLYING, f"{lid} answers owners: say on which channels in REPLYING"
    for lid, channels in REPLYING.items():
        role = resources[functions[lid]["Properties"]["Role"]["Fn::GetAtt"][0]]
        readable, decrypts = _readable_secrets(role)
        wanted = [name for channel in sorted(channels) for name in REPLY_SECRETS[channel]]
        for name in wanted:
            arn = (
                "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
                f"${{AWS::StackName}}-{name}-??????"
            )
            assert arn in readable, f"{lid} answers owners but may not read the {name} secret"
        assert decrypts or not wanted, f"{lid} may not decrypt the secrets (TopicKey, through Secrets Manager)"


def test_each_function_has_a_bounded_concurrency(sam):
    # a reservation, or for an SQS consumer its event source's MaximumConcurrency (a reservation below that would
    # throttle polled batches into the DLQ); the reservations leave the account's default quota nearly whole
    defaults = {name: p.get("Default") for name, p in sam["Parameters"].items()}

    def value(setting):  # a number, or a parameter's default
        return defaults[setting["Ref"]] if isinstance(setting, dict) else setting

    reserved = 0
    for lid, function in _of_type(sam, "AWS::Serverless::Function").items():
        props = function["Properties"]
        sqs_events = [e["Properties"] for e in props.get("Events", {}).values() if e["Type"] == "SQS"]
        limits = [e.get("ScalingConfig", {}).get("MaximumConcurrency") for e in sqs_events]
        if "ReservedConcurrentExecutions" in props:
            reservation = props["ReservedConcurrentExecutions"]
            reserved += value(reservation)
            # the same number (or parameter) for both, so that a deployment cannot set one without the other
            assert all(limit == reservation for limit in limits), lid
        else:
            assert all(limit is not None for limit in limits), f"{lid}: an SQS event source without MaximumConcurrency"
    assert 0 < reserved <= 51


def test_only_the_send_function_polls_a_queue_the_rest_are_invoked_when_there_is_work(sam):
    # Lambda polls an SQS event source around the clock (about 650,000 requests a month, idle); send needs the
    # queue to hold its rate to the SMS provider's, the others are invoked by their schedule, topic or upload
    polled = [
        lid
        for lid, function in _of_type(sam, "AWS::Serverless::Function").items()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "SQS"
    ]
    assert polled == ["SendFunction"]


def test_the_plan_function_fans_out_to_itself_and_to_nothing_else(sam):
    plan = sam["Resources"]["PlanFunction"]["Properties"]
    name = plan["FunctionName"]["Fn::Sub"]
    role = sam["Resources"][plan["Role"]["Fn::GetAtt"][0]]["Properties"]
    [invoke] = [s for s in role["Policies"][0]["PolicyDocument"]["Statement"] if "lambda:InvokeFunction" in s["Action"]]
    assert invoke["Action"] == ["lambda:InvokeFunction"]
    assert invoke["Resource"]["Fn::Sub"].endswith(f":function:{name}")
    # the communities' runs wait in Lambda's queue for a free instance, at most 6 hours, then go to the DLQ
    assert plan["ReservedConcurrentExecutions"] == 10
    assert plan["EventInvokeConfig"]["MaximumEventAgeInSeconds"] <= 6 * 3600


def _allow_statements(cfn):
    for lid, role in _of_type(cfn, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for entry in policy["PolicyDocument"]["Statement"]:
                # a statement under a condition counts in each of its branches
                branches = entry["Fn::If"][1:] if "Fn::If" in entry else [entry]
                for statement in branches:
                    if statement.get("Effect") == "Allow":
                        yield lid, statement


def _as_list(value):
    return value if isinstance(value, list) else [value]


# the actions that have no resource ARN to name: SMS to a phone number (publishing to topics is denied beside it),
# and active tracing's segments
NO_RESOURCE_ARN = [["sns:Publish"], ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]]


def test_no_function_may_do_everything_or_touch_every_resource(cfn):
    statements = list(_allow_statements(cfn))
    assert statements
    for lid, statement in statements:
        actions = _as_list(statement["Action"])
        assert all("*" not in action for action in actions), (lid, actions)
        if "*" in _as_list(statement["Resource"]):
            assert actions in NO_RESOURCE_ARN, (lid, statement)


def test_each_function_has_its_own_role_and_no_managed_policy_that_sam_would_add(sam, cfn):
    # SAM's generated role would carry AWSLambdaBasicExecutionRole (every log group of the account) and, for the SQS
    # event, AWSLambdaSQSQueueExecutionRole (every queue): each function names its own role instead
    functions = _of_type(cfn, "AWS::Lambda::Function")
    roles = _of_type(cfn, "AWS::IAM::Role")
    function_roles = {f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()}
    assert len(function_roles) == len(functions)
    for lid, role in roles.items():
        assert not role["Properties"].get("ManagedPolicyArns"), lid
        [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        # the others are the roles SAM makes for the schedules (invoke that one function)
        service = "lambda.amazonaws.com" if lid in function_roles else "scheduler.amazonaws.com"
        assert _as_list(trust["Principal"]["Service"]) == [service], lid
        assert _as_list(trust["Action"]) == ["sts:AssumeRole"], lid
    for lid, function in _of_type(sam, "AWS::Serverless::Function").items():
        props = function["Properties"]
        assert "Policies" not in props, f"{lid}: SAM ignores Policies beside an explicit Role"
        # logging works, into its own log group only (the one its LoggingConfig names)
        [logs] = [s for s in _role_allows(cfn, props["Role"]["Fn::GetAtt"][0]) if s["Action"][0].startswith("logs:")]
        assert logs["Resource"] == {"Fn::GetAtt": [props["LoggingConfig"]["LogGroup"]["Ref"], "Arn"]}, lid
        assert logs["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"], lid


def _role_allows(cfn, role_id):
    return [statement for lid, statement in _allow_statements(cfn) if lid == role_id]


def test_lambda_polls_only_the_send_queue_for_the_send_function(cfn):
    polling = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    grants = [(lid, s) for lid, s in _allow_statements(cfn) if polling & set(_as_list(s["Action"]))]
    readers = [(lid, s["Resource"]) for lid, s in grants if set(s["Action"]) != {"sqs:GetQueueAttributes"}]
    assert readers == [("SendFunctionRole", {"Fn::GetAtt": ["SendQueue", "Arn"]})]


TABLE_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


def _table_writes(cfn):
    """(role, action) -> the partition-key patterns it may write; None when no leading-keys condition bounds it.
    TransactWriteItems is authorized per item as PutItem, UpdateItem and DeleteItem, so these cover it too."""
    grants: dict[tuple[str, str], list[str] | None] = {}
    for lid, statement in _allow_statements(cfn):
        actions = set(_as_list(statement["Action"]))
        if not actions & TABLE_WRITES and not any(a in {"dynamodb:*", "*"} for a in actions):
            continue
        condition = statement.get("Condition", {}).get("ForAllValues:StringLike", {})
        patterns = condition.get("dynamodb:LeadingKeys")
        for action in actions & TABLE_WRITES:
            grants[(lid, action)] = None if patterns is None else [*(grants.get((lid, action)) or []), *patterns]
    return grants


def test_every_role_that_writes_the_table_is_bounded_by_leading_keys(cfn):
    grants = _table_writes(cfn)
    writers = {lid for lid, _ in grants}
    assert writers == {
        "SendFunctionRole",
        "DeliveryEventsFunctionRole",
        "ReceiveFunctionRole",
        "FeedbackMailFunctionRole",
        "TicketsFunctionRole",
        "ImportsFunctionRole",
        "BillingFunctionRole",
        "DailyReportFunctionRole",
        "TaskDigestFunctionRole",
        "BillPageFunctionRole",  # the "wrong bill" form as an SMS reply; rate counters; payment orders
        "PaymentNotifyFunctionRole",  # a verified payment into the ledger; its order, claims and task
        "ConsoleFunctionRole",  # a task's outcome (the task, its unit, the audit); sign-in rate counters
        "ReconcilePaymentsFunctionRole",  # a payment never notified, as above; the finance ticket; the findings
        "SmsCallbacksFunctionRole",  # the mainland providers' receipts (as delivery_events) and replies (as receive)
    }
    for (lid, action), patterns in grants.items():
        assert patterns, f"{lid} may {action} any item of the table"
        # a named partition family each (aws/keys.py), never the whole table
        assert all("*" not in p.removesuffix("#*") for p in patterns), (lid, action, patterns)


def _may(grants, role, action, partition):
    return any(fnmatch.fnmatchcase(partition, p) for p in grants.get((role, action)) or [])


def test_only_the_send_role_may_put_evidence_delivery_events_only_update_it_and_nothing_else_write_it(cfn):
    grants = _table_writes(cfn)
    evidence = keys.reminder_item("C01-B03-1502", "REMINDER#sms_d1#1")["pk"]
    may_write_evidence = {(role, action) for role, action in grants if _may(grants, role, action, evidence)}
    assert may_write_evidence == {
        ("SendFunctionRole", "dynamodb:PutItem"),
        ("SendFunctionRole", "dynamodb:UpdateItem"),
        ("SendFunctionRole", "dynamodb:DeleteItem"),  # a claim given back after the provider refused the message
        ("SendFunctionRole", "dynamodb:BatchWriteItem"),  # the batch's "sent" evidence
        ("DeliveryEventsFunctionRole", "dynamodb:UpdateItem"),  # the provider's receipt, appended
        ("SmsCallbacksFunctionRole", "dynamodb:UpdateItem"),  # a mainland provider's pushed receipt, appended
        ("ConsoleFunctionRole", "dynamodb:UpdateItem"),  # finance's word on an unconfirmed claim, appended
    }
    # and the ledger's writers still reach what they must: the unit, its bills and payments, the totals
    unit, bill = keys.unit_item("C01-B03-1502")["pk"], keys.bill_item("C01-B03-1502", "2026-11")["pk"]
    for role in ("ImportsFunctionRole", "BillingFunctionRole"):
        assert _may(grants, role, "dynamodb:PutItem", unit) and _may(grants, role, "dynamodb:PutItem", bill)
        assert _may(grants, role, "dynamodb:UpdateItem", keys.period_total("C01", "2026-11")["pk"])


def test_the_task_digest_writes_only_its_daily_claims_and_reads_the_inbox_index(cfn):
    grants = _table_writes(cfn)
    claim = keys.digest_item(date(2026, 11, 26), "K1")["pk"]
    for action in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"):
        assert grants[("TaskDigestFunctionRole", action)] == ["DIGEST#*"]
        assert _may(grants, "TaskDigestFunctionRole", action, claim)
    # nobody else writes the claims: a second writer could make a digest go out twice
    assert {role for role, action in grants if _may(grants, role, action, claim)} == {"TaskDigestFunctionRole"}
    statements = cfn["Resources"]["TaskDigestFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    [query] = [s for s in statements if s.get("Action") == ["dynamodb:Query"]]
    assert {"Fn::Sub": "${PropfeeTable.Arn}/index/inbox"} in query["Resource"]


@pytest.mark.parametrize("bucket_id", ["ReportBucket", "InboundMailBucket", "ImportBucket", "AccessLogBucket"])
def test_buckets_are_private_encrypted_and_tls_only(sam, bucket_id):
    bucket = sam["Resources"][bucket_id]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    if bucket_id != "AccessLogBucket":  # who read or wrote what: S3 server access logs
        assert bucket["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogBucket"}
    [policy] = [
        p for p in _of_type(sam, "AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    [deny] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # the only other grants: SES storing owners' emails, and S3 delivering access logs, from this account
    for grant in [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]:
        service = {"InboundMailBucket": "ses.amazonaws.com", "AccessLogBucket": "logging.s3.amazonaws.com"}[bucket_id]
        assert grant["Principal"] == {"Service": service} and grant["Action"] == "s3:PutObject"
        assert grant["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_each_function_has_a_sample_event_its_handler_parses(sam):
    for function in _of_type(sam, "AWS::Serverless::Function").values():
        name = function["Properties"]["CodeUri"].rsplit("/", 1)[-1]
        event = json.loads((ROOT / "events" / f"{name}.json").read_text(encoding="utf-8"))
        if name == "send":
            assert [p.problem for p in parse_records(event, SendJobRecord, "send job")] == [""]
        elif name == "delivery_events":
            bounce = json.loads((ROOT / "events" / "delivery_events_email_bounce.json").read_text(encoding="utf-8"))
            for record in [*SNSEvent(event).records, *SNSEvent(bounce).records]:
                assert parse_delivery_event(record.sns.message).status is not None
        elif name == "receive":
            for notification in sns_notifications(event):
                assert notification.model is not None, notification.problem
                message, problem = parse_inbound_sms(str(notification.model.Sns.Message), datetime.now(UTC))
                assert message is not None, problem
        elif name == "feedback_mail":
            [upload] = [p.model for p in s3_uploads(event)]
            assert upload is not None and upload.key.startswith("incoming/mail/")
        elif name == "imports":
            [upload] = [p.model for p in s3_uploads(event)]
            assert upload is not None and kind_of(upload.key) == ("payments", "C01")
        elif name == "report_links":
            assert function_url_refusal(event) is None
            url_event = LambdaFunctionUrlEvent(event)
            assert principal_key(url_event.request_context.authorizer.iam.user_arn) is not None
            assert url_event.get_query_string_value("date") is not None
        elif name == "bill_page":
            request = from_http_api(event)
            assert (request.method, request.path.startswith("/b/"), request.source_ip) == ("GET", True, "203.0.113.7")
        elif name == "console":
            from propfee.console.http import console_request

            request = console_request(event, datetime.now(UTC))
            assert request.principal is not None and request.principal.roles == {"collector"}
            assert (request.http.method, request.http.path) == ("GET", "/console/tasks")
        elif name == "sms_callbacks":
            request = from_http_api(event)
            assert (request.method, request.path.startswith("/sms/aliyun/")) == ("POST", True)
            assert event["routeKey"] == "POST /sms/aliyun/{token}/report"
            assert aliyun_reports(event["body"])[0].provider_message_id.startswith("aliyun:")
        elif name == "payment_notify":
            request = from_http_api(event)
            assert (request.method, request.path) == ("POST", "/notify/alipay")
            assert request.form["out_trade_no"].startswith("PF") and request.form["trade_status"] == "TRADE_SUCCESS"
        else:
            assert ScheduledEvent.model_validate(event).scheduled_time is not None
        if name == "plan":  # and one community's run, as the morning run's fan-out invokes it
            community = json.loads((ROOT / "events" / "plan_community.json").read_text(encoding="utf-8"))
            assert PlanRequest.model_validate(community).community_id == "C01"


def test_every_function_that_sends_email_names_the_configuration_set_that_publishes_its_events(sam, cfn):
    [config_set] = _of_type(sam, "AWS::SES::ConfigurationSet")
    [destination] = _of_type(sam, "AWS::SES::ConfigurationSetEventDestination").values()
    assert destination["Properties"]["ConfigurationSetName"] == {"Ref": config_set}
    event_destination = destination["Properties"]["EventDestination"]
    assert event_destination["Enabled"] is True
    assert set(event_destination["MatchingEventTypes"]) == {"bounce", "complaint", "delivery", "reject",
                                                            "renderingFailure"}  # fmt: skip
    assert event_destination["SnsDestination"]["TopicARN"] == {"Ref": "DeliveryEventsTopic"}
    senders = {
        lid: f
        for lid, f in _of_type(sam, "AWS::Serverless::Function").items()
        if "PROPFEE_SENDER_EMAIL" in f["Properties"].get("Environment", {}).get("Variables", {})
    }
    assert {"SendFunction", "ReceiveFunction", "TicketsFunction", "DailyReportFunction"} <= set(senders)
    for lid, function in senders.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["PROPFEE_SES_CONFIGURATION_SET"] == {"Ref": config_set}, lid
        # SESv2 SendEmail with a configuration set is authorized on the identity and on the configuration set
        role = sam["Resources"][function["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
        statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
        [send] = [s for s in statements if s.get("Action") == ["ses:SendEmail"]]
        resources = json.dumps(send["Resource"])
        assert ":identity/${SenderEmail}" in resources and f":configuration-set/${{{config_set}}}" in resources, lid


def test_the_http_api_needs_a_staff_token_except_where_a_route_says_it_is_public(sam):
    api = sam["Resources"]["PropfeeHttpApi"]["Properties"]["Auth"]
    assert api["DefaultAuthorizer"] == "StaffJwt"
    jwt = api["Authorizers"]["StaffJwt"]
    assert jwt["IdentitySource"] == "$request.header.Authorization"
    assert jwt["JwtConfiguration"]["audience"] == [{"Ref": "StaffUserPoolClient"}]
    assert "${StaffUserPool}" in jwt["JwtConfiguration"]["issuer"]["Fn::Sub"]
    public = set()
    for lid, function in _of_type(sam, "AWS::Serverless::Function").items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            props = event["Properties"]
            # every route says which: none is public by forgetting to say so
            assert props["Auth"]["Authorizer"] in ("NONE", "StaffJwt"), (lid, props["Path"])
            if props["Auth"]["Authorizer"] == "NONE":
                public.add((lid, props["Path"]))
    assert {lid for lid, _ in public} == {
        "BillPageFunction",
        "PaymentNotifyFunction",
        "ConsoleFunction",
        "SmsCallbacksFunction",
    }
    assert {p for lid, p in public if lid == "ConsoleFunction"} == {
        "/console",
        "/console/sign-in",
        "/console/sign-in/new-password",
        "/console/session/refresh",
        "/console/session/sign-out",  # the refresh cookie's revocation: the cookie, not an ID token, is the proof
    }
    # the console's sign-in form uses the app client's USER_PASSWORD_AUTH
    client = sam["Resources"]["StaffUserPoolClient"]["Properties"]
    assert "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"] and client["GenerateSecret"] is False


def test_every_console_route_of_the_handler_is_an_event_of_the_console_function_and_no_other(sam):
    from propfee.console.http import ROUTES

    events = sam["Resources"]["ConsoleFunction"]["Properties"]["Events"].values()
    declared = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events if e["Type"] == "HttpApi"}
    # Powertools writes a path parameter <name>, API Gateway {name}
    handled = {(method, path.replace("<", "{").replace(">", "}")) for method, path, _name in ROUTES}
    assert declared == handled


def test_the_sms_providers_callback_routes_are_public_payload_2_and_stay_public_under_a_default_authorizer(sam, cfn):
    # the providers cannot sign in: their routes carry no authorizer now, and say NONE the day the API gets a
    # default one (SAM refuses NONE before that), so that the console's JWT never locks the providers out
    api = sam["Resources"]["PropfeeHttpApi"]["Properties"]
    default_authorizer = api.get("Auth", {}).get("DefaultAuthorizer")
    every_event = sam["Resources"]["SmsCallbacksFunction"]["Properties"]["Events"].values()
    events = [e for e in every_event if e["Type"] == "HttpApi"]  # and the hourly pull (ScheduleV2)
    assert {f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in events} == {
        "POST /sms/aliyun/{token}/report",
        "POST /sms/aliyun/{token}/reply",
        "POST /sms/tencent/{token}/status",
        "POST /sms/tencent/{token}/reply",
        "GET /wechat/callback",  # the WeChat official account's server URL: signed pushes, checked by the function
        "POST /wechat/callback",
    }
    for event in events:
        assert event["Type"] == "HttpApi" and event["Properties"]["ApiId"] == {"Ref": "PropfeeHttpApi"}
        assert event["Properties"]["PayloadFormatVersion"] == "2.0"
        if default_authorizer:
            assert event["Properties"].get("Auth", {}).get("Authorizer") == "NONE"
    paths = cfn["Resources"]["PropfeeHttpApi"]["Properties"]["Body"]["paths"]
    for path in ("/sms/aliyun/{token}/report", "/sms/aliyun/{token}/reply", "/sms/tencent/{token}/status",
                 "/wechat/callback"):  # fmt: skip
        operation = paths[path]["post"]
        assert operation.get("security", []) in ([], [{"NONE": []}]), path
        assert operation["x-amazon-apigateway-integration"]["payloadFormatVersion"] == "2.0"


def test_only_the_functions_that_send_sms_may_read_the_sms_providers_keys_and_only_sms_callbacks_the_token(cfn):
    readers: dict[str, set[str]] = {}
    for lid, role in _of_type(cfn, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if "secretsmanager:GetSecretValue" not in (
                    statement.get("Action", []) if isinstance(statement, dict) else []
                ):
                    continue
                for resource in statement["Resource"]:
                    text = json.dumps(resource)
                    for secret in ("aliyun-sms", "tencent-sms", "sms-callback-token", "wechat-official"):
                        if f"-{secret}-??????" in text:
                            readers.setdefault(secret, set()).add(lid)
    senders = {"SendFunctionRole", "TaskDigestFunctionRole", "ReceiveFunctionRole", "TicketsFunctionRole",
               "BillPageFunctionRole", "SmsCallbacksFunctionRole", "ConsoleFunctionRole"}  # fmt: skip
    assert readers == {
        "aliyun-sms": senders,
        "tencent-sms": senders,
        "sms-callback-token": {"SmsCallbacksFunctionRole"},
        # the official account's keys: its reminders (send), answers (sms_callbacks, a clerk's from the console,
        # the tickets' deferred ones) and the bill page's OAuth binding
        "wechat-official": {
            "SendFunctionRole",
            "ConsoleFunctionRole",
            "TicketsFunctionRole",
            "BillPageFunctionRole",
            "SmsCallbacksFunctionRole",
        },
    }

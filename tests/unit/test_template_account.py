"""infra/template.yaml as a real account needs it, checked over the translated template (what CloudFormation gets):
the services that publish to the topics are allowed to (topic policy and key policy, for this account only), every
bucket lets what is written to it expire after a period set in the parameters, every function logs into a log group
of its own with a retention, and the computed bucket names fit S3's rules for several stacks in any region."""

import fnmatch
import re

import botocore.loaders
import pytest

from propfee.local.sandbox import default_template_path
from propfee.local.sandbox.template import load_template, local_code_dirs, translate, with_code_in_s3

TEMPLATE = default_template_path()

# Who publishes to which topic (README, Deploy): two-way SMS to InboundSmsTopic; End User Messaging SMS receipts,
# SES event publishing and SES identity notifications to DeliveryEventsTopic. Event destinations the template itself
# declares are added to these (test_event_destinations_in_the_template_are_granted_too).
PUBLISHERS = {
    "InboundSmsTopic": {"sms-voice.amazonaws.com"},
    "DeliveryEventsTopic": {"sms-voice.amazonaws.com", "ses.amazonaws.com"},
}
# the resource types through which a service is told to publish to a topic
PUBLISHING_TYPES = {"AWS::SES::": "ses.amazonaws.com", "AWS::SMSVOICE::": "sms-voice.amazonaws.com"}
# what SNS needs of a topic's key for a service to publish (SNS developer guide, key management)
PUBLISHER_KEY_ACTIONS = {"kms:GenerateDataKey*", "kms:Decrypt"}
# PutRetentionPolicy's retentionInDays (CloudWatch Logs API reference)
CLOUDWATCH_RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731}
CLOUDWATCH_RETENTION_DAYS |= {1096, 1827, 2192, 2557, 2922, 3288, 3653}
LIMITATION_PERIOD_DAYS = 3 * 365  # Civil Code Art. 188


@pytest.fixture(scope="module")
def cfn():
    sam = load_template(TEMPLATE)
    code = {lid: f"{lid}.zip" for lid in local_code_dirs(sam, TEMPLATE)}
    return translate(with_code_in_s3(sam, "artifacts", code), {}, "ap-northeast-1")


def _of_type(template, kind):
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _referenced(value):
    """The logical id a Ref or Fn::GetAtt names."""
    if "Ref" in value:
        return value["Ref"]
    return value["Fn::GetAtt"][0]


# ---------------------------------------------------------------- topics and their key
def _topic_grants(cfn, topic_id):
    policies = [
        p["Properties"]
        for p in _of_type(cfn, "AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in p["Properties"]["Topics"]
    ]
    assert len(policies) == 1, f"{topic_id}: {len(policies)} topic policies"
    return policies[0]["PolicyDocument"]["Statement"]


def _bounded_to_this_account(statement, service):
    # aws:SourceAccount is this account and aws:SourceArn one of the service's own resources here (no confused deputy)
    prefix = service.split(".", 1)[0]
    condition = statement["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}, statement
    [source_arn] = condition["ArnLike"].values()
    assert list(condition["ArnLike"]) == ["aws:SourceArn"], statement
    assert source_arn["Fn::Sub"].startswith(f"arn:${{AWS::Partition}}:{prefix}:${{AWS::Region}}:${{AWS::AccountId}}:")


def test_every_topic_is_one_that_aws_services_publish_to(cfn):
    # no function may publish to a topic (their policies deny it), so each topic is there for a service
    assert set(_of_type(cfn, "AWS::SNS::Topic")) == set(PUBLISHERS)


@pytest.mark.parametrize("topic_id", sorted(PUBLISHERS))
def test_each_topic_grants_exactly_its_publishing_services_for_this_account_only(cfn, topic_id):
    grants = _topic_grants(cfn, topic_id)
    services = set()
    for statement in grants:
        assert statement["Effect"] == "Allow"
        assert set(statement["Principal"]) == {"Service"}, statement  # no account or "*" principal
        assert _as_list(statement["Action"]) == ["sns:Publish"], statement
        assert statement["Resource"] == {"Ref": topic_id}
        service = statement["Principal"]["Service"]
        _bounded_to_this_account(statement, service)
        services.add(service)
    assert services == PUBLISHERS[topic_id]


def test_event_destinations_in_the_template_are_granted_too(cfn):
    topics = set(_of_type(cfn, "AWS::SNS::Topic"))

    def topics_named(value):
        if isinstance(value, dict):
            if set(value) in ({"Ref"}, {"Fn::GetAtt"}) and _referenced(value) in topics:
                yield _referenced(value)
            for inner in value.values():
                yield from topics_named(inner)
        elif isinstance(value, list):
            for inner in value:
                yield from topics_named(inner)

    for resource in cfn["Resources"].values():
        service = next((s for t, s in PUBLISHING_TYPES.items() if resource["Type"].startswith(t)), None)
        for topic_id in topics_named(resource.get("Properties", {})) if service else ():
            granted = {s["Principal"]["Service"] for s in _topic_grants(cfn, topic_id)}
            assert service in granted, f"{resource['Type']} publishes to {topic_id}, whose policy does not grant it"


@pytest.mark.parametrize("topic_id", sorted(PUBLISHERS))
def test_each_topic_is_encrypted_under_a_key_of_the_stack_whose_policy_lets_its_publishers_use_it(cfn, topic_id):
    key_setting = cfn["Resources"][topic_id]["Properties"]["KmsMasterKeyId"]
    # an AWS-managed key (alias/aws/sns) has a policy no service principal is in, and it cannot be changed
    assert isinstance(key_setting, dict), f"{topic_id} is encrypted under {key_setting!r}"
    key = cfn["Resources"][_referenced(key_setting)]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    for statement in _topic_grants(cfn, topic_id):
        service = statement["Principal"]["Service"]
        [for_service] = [s for s in statements if s["Principal"] == {"Service": service}]
        assert for_service["Effect"] == "Allow"
        assert set(_as_list(for_service["Action"])) == PUBLISHER_KEY_ACTIONS, for_service
        # the same bounds as the topic's grant
        assert for_service["Condition"] == statement["Condition"], service


def test_the_key_stays_administered_by_the_account_and_opens_to_no_one_else(cfn):
    keys = _of_type(cfn, "AWS::KMS::Key")
    assert keys
    for lid, key in keys.items():
        statements = key["Properties"]["KeyPolicy"]["Statement"]
        root = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
        assert any(s["Principal"] == root and s["Action"] == "kms:*" for s in statements), lid
        for statement in statements:
            assert statement["Effect"] == "Allow"
            assert statement["Principal"] == root or set(statement["Principal"]) == {"Service"}, (lid, statement)
            if statement["Principal"] != root:
                assert statement.get("Condition"), f"{lid}: a service may use the key for anyone: {statement}"


# ---------------------------------------------------------------- buckets
def _bucket_arn_prefixes(bucket_id, bucket):
    """How policies in the template write an object ARN of this bucket: from its Arn, or from its computed name."""
    forms = [f"${{{bucket_id}.Arn}}/"]
    name = bucket["Properties"].get("BucketName")
    if name is not None:
        forms.append(f"arn:${{AWS::Partition}}:s3:::{name['Fn::Sub']}/")
    return forms


def _written_prefixes(cfn, roles=None):
    """(bucket, key prefix) of everything a function, a service or S3's access logging writes; or only what the
    given roles may write."""
    buckets = _of_type(cfn, "AWS::S3::Bucket")
    # a role's inline policies, and the policies attached to roles
    documents = [
        policy["PolicyDocument"]
        for role_id, role in _of_type(cfn, "AWS::IAM::Role").items()
        if roles is None or role_id in roles
        for policy in role["Properties"].get("Policies", [])
    ] + [
        policy["Properties"]["PolicyDocument"]
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for policy in _of_type(cfn, kind).values()
        if roles is None or {_referenced(r) for r in policy["Properties"].get("Roles", [])} & roles
    ]
    statements = [
        statement
        for document in documents
        for entry in document["Statement"]
        # a statement under a condition counts in each of its branches
        for statement in (entry["Fn::If"][1:] if "Fn::If" in entry else [entry])
        if isinstance(statement, dict)
    ]
    if roles is None:
        bucket_policies = _of_type(cfn, "AWS::S3::BucketPolicy").values()
        statements += [s for p in bucket_policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    written = set()
    for statement in statements:
        if statement.get("Effect") != "Allow" or "s3:PutObject" not in _as_list(statement["Action"]):
            continue
        for resource in _as_list(statement["Resource"]):
            text = resource["Fn::Sub"] if isinstance(resource, dict) and "Fn::Sub" in resource else None
            for bucket_id, bucket in buckets.items():
                for form in _bucket_arn_prefixes(bucket_id, bucket) if text else ():
                    if text.startswith(form):
                        written.add((bucket_id, text[len(form) :].rstrip("*")))
    for bucket in buckets.values() if roles is None else ():  # the access logs of each bucket
        logging = bucket["Properties"].get("LoggingConfiguration")
        if logging:
            written.add((logging["DestinationBucketName"]["Ref"], logging["LogFilePrefix"]))
    return written


def _expiring_rules(cfn, bucket):
    """The bucket's enabled rules that expire current versions after a number of days set by a parameter."""
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    for rule in rules:
        days = rule.get("ExpirationInDays")
        if rule["Status"] == "Enabled" and isinstance(days, dict):
            yield rule, cfn["Parameters"][days["Ref"]]


def test_what_is_written_to_a_bucket_is_found_by_this_test(cfn):
    # the derivation must see what the template says is written (by functions, SES and S3's access logging), or the
    # coverage test below proves nothing
    written = _written_prefixes(cfn)
    assert ("ReportBucket", "letters/") in written and ("ReportBucket", "reports/") in written
    assert ("InboundMailBucket", "incoming/mail/") in written and ("ImportBucket", "results/") in written
    assert ("AccessLogBucket", "mail/") in written


def test_every_bucket_expires_what_is_written_to_it_after_a_period_set_in_the_parameters(cfn):
    buckets = _of_type(cfn, "AWS::S3::Bucket")
    assert len(buckets) >= 4
    for bucket_id, bucket in buckets.items():
        expiring = list(_expiring_rules(cfn, bucket))
        assert expiring, f"{bucket_id} keeps its objects forever"
        for rule, parameter in expiring:
            assert parameter["Type"] == "Number" and parameter["Description"], rule["Id"]
            assert parameter["MinValue"] <= parameter["Default"], rule["Id"]
        # versions an overwrite or an expiry left behind go too
        rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        assert any("NoncurrentVersionExpiration" in r and "Prefix" not in r for r in rules), bucket_id
    for bucket_id, prefix in _written_prefixes(cfn):
        covering = [r for r, _ in _expiring_rules(cfn, buckets[bucket_id]) if prefix.startswith(r.get("Prefix", ""))]
        assert covering, f"{bucket_id}/{prefix} is written and never expires"


def test_demand_letters_are_kept_for_the_limitation_period_and_everything_else_for_less(cfn):
    # what the send function writes is evidence of a demand (it restarts the limitation period)
    buckets = _of_type(cfn, "AWS::S3::Bucket")
    evidence = _written_prefixes(cfn, roles={"SendFunctionRole"})
    assert evidence
    evidence_parameters = set()
    for bucket_id, prefix in evidence:
        for rule, parameter in _expiring_rules(cfn, buckets[bucket_id]):
            if prefix.startswith(rule.get("Prefix", "")):
                assert parameter["MinValue"] >= LIMITATION_PERIOD_DAYS, rule["Id"]
                evidence_parameters.add(rule["ExpirationInDays"]["Ref"])
    kept_for_evidence = min(cfn["Parameters"][p]["Default"] for p in evidence_parameters)
    for bucket in buckets.values():
        for rule, parameter in _expiring_rules(cfn, bucket):
            if rule["ExpirationInDays"]["Ref"] not in evidence_parameters:
                assert parameter["Default"] < kept_for_evidence, rule["Id"]


def _longest_allowed(pattern, alphabet="a"):
    matching = [n for n in range(1, 65) if re.fullmatch(pattern, alphabet * n)]
    assert matching and matching[-1] < 64, f"{pattern} allows names of any length"
    return alphabet * matching[-1]


def test_computed_bucket_names_fit_s3s_rules_for_the_longest_stage_in_the_longest_region(cfn):
    endpoints = botocore.loaders.create_loader().load_data("endpoints")
    region = max((r for p in endpoints["partitions"] for r in p["regions"]), key=len)
    values = {
        "Stage": _longest_allowed(cfn["Parameters"]["Stage"]["AllowedPattern"]),
        "AWS::AccountId": "123456789012",
        "AWS::Region": region,
    }
    # the others are named by CloudFormation after the stack
    buckets = _of_type(cfn, "AWS::S3::Bucket").items()
    named = {lid: b["Properties"]["BucketName"] for lid, b in buckets if "BucketName" in b["Properties"]}
    assert named, "no computed bucket name: the test checks nothing"
    for lid, spec in named.items():
        assert "${Stage}" in spec["Fn::Sub"], f"{lid}: a second stack in the account and region would clash"
        name = re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], spec["Fn::Sub"])
        # S3 general purpose bucket naming rules
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name), (lid, name, len(name))
        assert not name.startswith(("xn--", "sthree-")) and not name.endswith(("-s3alias", "--ol-s3")), name


# ---------------------------------------------------------------- log groups
def test_every_function_logs_into_a_log_group_of_its_own_kept_for_a_parameters_days(cfn):
    functions = _of_type(cfn, "AWS::Lambda::Function")
    assert len(functions) >= 10
    groups = {}
    for lid, function in functions.items():
        logging = function["Properties"].get("LoggingConfig")
        # without it Lambda creates /aws/lambda/<name> itself, which keeps logs forever
        assert logging and set(logging) == {"LogGroup"}, f"{lid} logs into a group Lambda creates"
        group_id = logging["LogGroup"]["Ref"]
        assert cfn["Resources"][group_id]["Type"] == "AWS::Logs::LogGroup"
        assert group_id not in groups, f"{lid} and {groups.get(group_id)} share {group_id}"
        groups[group_id] = lid
    for group_id in groups:
        group = cfn["Resources"][group_id]["Properties"]
        # named per stack: several stacks per account and region
        assert "${AWS::StackName}" in group["LogGroupName"]["Fn::Sub"], group_id
        retention = cfn["Parameters"][group["RetentionInDays"]["Ref"]]
        assert set(retention["AllowedValues"]) <= CLOUDWATCH_RETENTION_DAYS
        assert retention["Default"] in retention["AllowedValues"]
    # and the HTTP API's access logs (its stage's destination)
    stages = _of_type(cfn, "AWS::ApiGatewayV2::Stage").values()
    groups.update({_referenced(s["Properties"]["AccessLogSettings"]["DestinationArn"]): "HTTP API" for s in stages})
    assert not set(_of_type(cfn, "AWS::Logs::LogGroup")) - set(groups), "a log group nothing writes to"


def test_each_log_group_is_encrypted_under_a_key_whose_policy_lets_cloudwatch_logs_use_it_for_that_group(cfn):
    for group_id, group in _of_type(cfn, "AWS::Logs::LogGroup").items():
        key = cfn["Resources"][_referenced(group["Properties"]["KmsKeyId"])]
        [for_logs] = [
            s
            for s in key["Properties"]["KeyPolicy"]["Statement"]
            if s["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}
        ]
        [pattern] = for_logs["Condition"]["ArnLike"].values()
        group_arn = (
            "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
            + (group["Properties"]["LogGroupName"]["Fn::Sub"])
        )
        assert fnmatch.fnmatchcase(group_arn, pattern["Fn::Sub"]), (group_id, pattern)

"""The template deployed on the sandbox's moto server as `sam deploy` would: each function's code zipped to an
artifact bucket, the SAM template translated and created as a CloudFormation stack, its outputs, resources and
functions' dead-letter queues read back, and what moto's CloudFormation skips completed from the same template
(sandbox.stack)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from propfee.local.sandbox import stack
from propfee.local.sandbox import template as tpl
from propfee.local.sandbox.http_api import routes_of
from propfee.local.sandbox.stack import REGION, STACK_NAME

if TYPE_CHECKING:
    from propfee.local.sandbox.sandbox import Sandbox

ARTIFACT_BUCKET = "propfee-sandbox-artifacts"


def deploy(sandbox: Sandbox) -> None:
    sam = tpl.load_template(sandbox.template_path)
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket=ARTIFACT_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    code_dirs = tpl.local_code_dirs(sam, sandbox.template_path)
    uploaded = {}
    for logical_id, folder in code_dirs.items():
        key = f"{logical_id}.zip"
        s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=tpl.zip_folder(folder))
        uploaded[logical_id] = key
    cfn_template = tpl.translate(tpl.with_code_in_s3(sam, ARTIFACT_BUCKET, uploaded), sandbox.parameters, REGION)
    cloudformation = sandbox.client("cloudformation")
    cloudformation.create_stack(
        StackName=STACK_NAME,
        TemplateBody=json.dumps(cfn_template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in sandbox.parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    deployed = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    if deployed["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"sandbox stack ended {deployed['StackStatus']}: {deployed.get('StackStatusReason')}")
    sandbox.outputs = {o["OutputKey"]: o["OutputValue"] for o in deployed.get("Outputs", [])}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=STACK_NAME):
        for summary in page["StackResourceSummaries"]:
            if summary["LogicalResourceId"]:  # moto lists the types it skipped without a name
                sandbox.resources[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
    resolver = stack.Resolver(sandbox, cfn_template)
    sandbox.function_arns = {
        lid: resolver.get_att(lid, "Arn")
        for lid, resource in cfn_template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    # moto keeps no DeadLetterConfig: read it from the template
    sandbox.on_failure_queues = {
        lid: stack.queue_url(sandbox, resolver.resolve(resource["Properties"]["DeadLetterConfig"]["TargetArn"]))
        for lid, resource in cfn_template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function" and "DeadLetterConfig" in resource.get("Properties", {})
    }
    stack.complete(sandbox, cfn_template, resolver)
    stack.load_functions(sandbox, cfn_template, code_dirs, resolver)
    stack.load_roles(sandbox)
    stack.load_mappings(sandbox)
    if sandbox.http_api is not None:
        apis = {lid: sandbox.resources[lid] for lid in cfn_template["Resources"] if lid in sandbox.resources}
        sandbox.http_api.serve(routes_of(cfn_template), apis)

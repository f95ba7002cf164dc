"""The cost model's meter: request units from item sizes, as DynamoDB bills them (bench/cost.py)."""

import sys
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
import yaml
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from cost import PRICES, UsageMeter, item_bytes, metered, monthly_cost

from propfee.aws import clients
from propfee.local.sandbox import default_template_path
from propfee.local.sandbox.template import load_template
from tests.support import create_table_from_template


def test_an_items_size_counts_names_and_values_as_dynamodb_does():
    assert item_bytes({"pk": {"S": "UNIT#1"}}) == 2 + 6
    assert item_bytes({"名": {"S": "王芳"}}) == 3 + 6  # UTF-8 bytes
    assert item_bytes({"n": {"N": "12345"}}) == 1 + 3
    assert item_bytes({"m": {"M": {"a": {"S": "xy"}}}}) == 1 + 3 + 1 + 2
    assert item_bytes({"flag": {"BOOL": True}}) == 4 + 1


@pytest.fixture
def table():
    with mock_aws():
        name = create_table_from_template(boto3.client("dynamodb"))
        yield name


def test_writes_cost_a_unit_a_kilobyte_and_twice_that_in_a_transaction_reads_half_a_unit_per_4_kb(table):
    small = {"pk": {"S": "A"}, "sk": {"S": "1"}}
    big = {"pk": {"S": "B"}, "sk": {"S": "1"}, "pad": {"S": "x" * 2500}}  # 3 KB: three units
    with metered() as meter:
        db = clients.client("dynamodb")
        db.put_item(TableName=table, Item=small)
        db.put_item(TableName=table, Item=big)
        db.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": {**small, "sk": {"S": "2"}}}}])
        db.get_item(TableName=table, Key={"pk": {"S": "B"}, "sk": {"S": "1"}})  # eventually consistent
        db.get_item(TableName=table, Key={"pk": {"S": "B"}, "sk": {"S": "1"}}, ConsistentRead=True)
    assert meter.write_units == 1 + 3 + 2
    assert meter.read_units == 0.5 + 1
    assert meter.requests["dynamodb:PutItem"] == 2 and meter.requests["dynamodb:TransactWriteItems"] == 1


def test_a_custom_metric_is_billed_for_each_simulated_hour_it_was_published_in(tmp_path):
    from datetime import UTC, datetime

    from cost import custom_metrics

    from propfee.domain import clock
    from propfee.local.sandbox.runtime import LambdaFunction
    from propfee.observability import metrics

    def handler(event, context):
        metrics.add_metric(name=event["metric"], unit="Count", value=1)
        metrics.flush_metrics()

    function = LambdaFunction("F", "f", "arn:f", tmp_path, "app.handler", {}, 60, 128, _handler=handler)
    simulated = clock.SimulatedClock(datetime(2026, 11, 11, 9, 5, tzinfo=UTC))
    previous = clock.install(simulated)
    try:
        for minute, hour, metric in ((5, 9, "Sent"), (50, 9, "Sent"), (10, 10, "Sent"), (10, 10, "Failed")):
            simulated.set(datetime(2026, 11, 11, hour, minute, tzinfo=UTC))
            function.invoke({"metric": metric})
        function.invoke({"metric": "Sent"})  # the same hour again
    finally:
        clock.install(previous)
    hours = custom_metrics(SimpleNamespace(functions={"F": function}))
    assert hours == {"propfee/Failed[service=F]": 1, "propfee/Sent[service=F]": 2}


def test_each_customer_managed_key_of_the_template_costs_its_monthly_price_in_what_a_stack_costs(tmp_path):
    template = load_template(default_template_path())
    keys = [lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Key"]
    assert keys  # the topics' key
    price = yaml.safe_load(PRICES.read_text(encoding="utf-8"))["kms"]["key_month_each"]
    idle = SimpleNamespace(functions={}, mappings=[], scheduled_results=[], template_path=default_template_path())
    cost = monthly_cost(UsageMeter(), idle, days=30, households=1, metric_hours=0)
    assert cost["fixed_usd_by_item"]["kms_keys"] == len(keys) * price
    assert cost["fixed_usd"] == len(keys) * price  # an idle stack pays for its keys and nothing else

    # one key more in the template, one key's price more
    template["Resources"]["AnotherKey"] = {"Type": "AWS::KMS::Key", "Properties": {}}
    changed = tmp_path / "template.yaml"
    changed.write_text(yaml.safe_dump(template), encoding="utf-8")
    more = monthly_cost(UsageMeter(), SimpleNamespace(**{**vars(idle), "template_path": changed}), 30, 1, 0)
    assert more["fixed_usd_by_item"]["kms_keys"] == (len(keys) + 1) * price


def test_sms_are_priced_by_the_segments_carriers_bill_through_each_provider(tmp_path):
    from cost import MESSAGING_PRICES, messaging_cost

    meter = UsageMeter()
    short, long = "【锦绣物业】" + "缴" * 60, "【锦绣物业】" + "缴" * 100  # one segment; 106 characters: two
    meter._before("sns", "Publish", {"PhoneNumber": "+8613800138000", "Message": short})
    meter._before("pinpoint-sms-voice-v2", "SendTextMessage", {"MessageBody": long})
    meter._before("sesv2", "SendEmail", {})
    assert (meter.sms, meter.sms_segments, meter.emails) == (2, 3, 1)

    prices = yaml.safe_load(MESSAGING_PRICES.read_text(encoding="utf-8"))
    # a 10-day run of 1,000 households is a month of 10,000 at 30x
    cost = messaging_cost(meter, days=10, households=1000)
    month = cost["per_10000_households_a_month"]
    assert (month["sms"], month["sms_segments"], month["emails"]) == (60, 90, 30)
    aliyun = cost["by_sms_provider"]["aliyun"]
    assert aliyun["sms_cny"] == round(90 * prices["sms_per_segment"]["aliyun"]["cny"], 2)
    assert cost["by_sms_provider"]["aws"]["sms_usd"] == round(90 * prices["sms_per_segment"]["aws"]["usd"], 2)
    assert set(cost["by_sms_provider"]) == {"aws", "aliyun", "tencent"}
    assert cost["prices_as_of"] == prices["as_of"]

"""WeChat bindings in the table (moto): bound once with the look-up from the openid, found by the receive flow,
stopped when the account reports the owner blocks it."""

import boto3
import pytest
from moto import mock_aws

from propfee.aws.feedback import FeedbackTable
from propfee.collection.delivery import Disabled
from propfee.domain.models import Channel
from tests.support import SHANGHAI, at, create_table_from_template, unit

OPENID = "oOwnerOpenid0000000000000001"


@pytest.fixture()
def table():
    with mock_aws():
        client = boto3.client("dynamodb")
        yield FeedbackTable(create_table_from_template(client), SHANGHAI, client)


def test_a_binding_is_stored_once_and_leads_the_openids_messages_to_the_unit(table):
    table.put_buildings_and_units([], [unit("C01-B01-0101"), unit("C01-B01-0102")])
    assert table.bind_wechat("C01-B01-0101", OPENID, at("2026-11-11 10:00"))
    assert not table.bind_wechat("C01-B01-0101", OPENID, at("2026-11-11 10:05"))  # already bound
    assert table.bind_wechat("C01-B01-0102", OPENID, at("2026-11-11 10:06"))  # the owner's second unit
    assert not table.bind_wechat("C01-B09-0000", OPENID, at("2026-11-11 10:07"))  # no such unit
    [binding] = table.get_unit("C01-B01-0101").wechat
    assert binding.openid == OPENID and binding.bound_at == at("2026-11-11 10:00")
    assert sorted(u.unit_id for u in table.units_by_contact(f"wechat:{OPENID}")) == ["C01-B01-0101", "C01-B01-0102"]
    assert table.units_by_contact("wechat:oSomeoneElse00000000000000") == []


def test_the_account_saying_the_owner_blocks_it_stops_that_binding(table):
    table.put_buildings_and_units([], [unit("C01-B01-0101")])
    table.bind_wechat("C01-B01-0101", OPENID, at("2026-11-11 10:00"))
    reason = "wechat failed:user block"
    assert table.disable_addresses("C01-B01-0101", Channel.WECHAT, (OPENID,), reason) is Disabled.DISABLED
    assert table.get_unit("C01-B01-0101").wechat[0].disabled == reason
    assert table.disable_addresses("C01-B01-0101", Channel.WECHAT, (OPENID,), reason) is Disabled.ALREADY
    assert table.disable_addresses("C01-B01-0101", Channel.WECHAT, ("oOther",), reason) is Disabled.NOT_ON_UNIT


def test_binding_again_after_the_account_lost_the_owner_starts_anew_and_keeps_an_opt_out(table):
    table.put_buildings_and_units([], [unit("C01-B01-0101")])
    table.bind_wechat("C01-B01-0101", OPENID, at("2026-11-11 10:00"))
    table.disable_addresses("C01-B01-0101", Channel.WECHAT, (OPENID,), "wechat: unfollowed the account")
    assert table.bind_wechat("C01-B01-0101", OPENID, at("2026-11-20 10:00"))
    [binding] = table.get_unit("C01-B01-0101").wechat
    assert binding.disabled is None and binding.bound_at == at("2026-11-20 10:00") and not binding.opt_out

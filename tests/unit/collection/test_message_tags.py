"""Tags carry the claim in the characters SES allows, and give it back unchanged."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from propfee.collection.message_tags import TAG_CHARACTERS, UnreadableTag, decode_tag, encode_tag

CLAIMS = [
    "REMINDER#sms_d30#1",
    "REMINDER#notice_d7-sms#2",
    "REMINDER#email_d15-r2#1",
    "REMINDER#a_b-c#d#10",
    "C01-B03-1502",
    "楼栋3#1502",
    "_5F",
    "under__score--dash##",
    "owner9@Example.NET",
]


@pytest.mark.parametrize("text", CLAIMS)
def test_a_claim_round_trips_in_characters_ses_accepts(text):
    encoded = encode_tag(text)
    assert TAG_CHARACTERS.fullmatch(encoded)
    assert decode_tag(encoded) == text


def test_plain_unit_ids_stay_readable_and_claims_stay_recognisable():
    assert encode_tag("C01-B03-1502") == "C01-B03-1502"
    assert encode_tag("REMINDER#sms_d30#1") == "REMINDER_23sms_5Fd30_231"


def test_different_claims_never_share_an_encoding():
    encoded = {encode_tag(c) for c in CLAIMS}
    assert len(encoded) == len(CLAIMS)


@pytest.mark.parametrize("value", ["bad_", "bad_zz", "_FF", "x_2"])
def test_a_value_this_encoding_cannot_have_made_is_refused(value):
    with pytest.raises(UnreadableTag):
        decode_tag(value)


@given(st.text(min_size=1, max_size=80))
def test_any_text_round_trips(text):
    encoded = encode_tag(text)
    assert set(encoded) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    assert decode_tag(encoded) == text

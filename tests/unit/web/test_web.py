"""The pages' toolkit: signed form tokens, the visitor's language, a payload-2.0 request read as the pages need."""

import base64
import json
from datetime import timedelta

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from propfee.web.pages import choose_language
from propfee.web.requests import MAX_FORM_BYTES, FormTooLarge, from_http_api
from propfee.web.security import CsrfRefused, check_csrf, csrf_token
from tests.support import ROOT, at

NOW = at("2026-11-11 10:30")
KEY = b"s" * 32


def test_a_form_token_works_for_its_page_for_two_hours_only():
    token = csrf_token(KEY, "page-a", NOW)
    check_csrf(KEY, "page-a", token, NOW + timedelta(hours=1, minutes=59))
    for subject, key, when in (
        ("page-b", KEY, NOW),
        ("page-a", b"t" * 32, NOW),
        ("page-a", KEY, NOW + timedelta(hours=3)),
    ):
        with pytest.raises(CsrfRefused):
            check_csrf(key, subject, token, when)
    issued, nonce, signature = token.split(".")
    for forged in (
        None,
        "",
        "x",
        f"{int(issued) + 60}.{nonce}.{signature}",
        f"{issued}.{nonce}.{signature[:-1]}{'B' if signature.endswith('A') else 'A'}",
    ):
        with pytest.raises(CsrfRefused):
            check_csrf(KEY, "page-a", forged, NOW)
    assert csrf_token(KEY, "page-a", NOW) != token  # a fresh nonce each time


@pytest.mark.parametrize(
    ("accept", "chosen", "language"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", None, "zh-CN"),
        ("en-GB,en;q=0.9", None, "en"),
        ("zh-TW", None, "zh-CN"),
        ("fr-FR", None, "zh-CN"),
        ("", None, "zh-CN"),
        ("zh-CN", "en", "en"),
        ("en", "xx", "en"),
    ],
)
def test_the_language_is_the_switch_else_the_first_we_speak(accept, chosen, language):
    assert choose_language(accept, chosen) == language


def test_the_aws_sample_event_reads_as_a_request_as_powertools_reads_it():
    event = json.loads((ROOT / "events" / "aws" / "apiGatewayProxyV2Event.json").read_text(encoding="utf-8"))
    request = from_http_api(event)
    powertools = APIGatewayProxyEventV2(event)
    assert (request.method, request.path) == (powertools.request_context.http.method, powertools.raw_path)
    assert request.source_ip == "192.168.0.1"  # the sample's sourceIp carries a /32
    assert request.headers["header2"] == "value1,value2" and request.query["parameter1"] == "value1,value2"
    assert request.form == {}  # a JSON body is not a form


def test_a_form_body_is_read_plain_or_base64_and_refused_whole_past_its_limit():
    event = json.loads((ROOT / "events" / "bill_page.json").read_text(encoding="utf-8"))
    event["requestContext"]["http"]["method"] = "POST"
    event["headers"]["content-type"] = "application/x-www-form-urlencoded"
    body = "csrf=abc&text=%E8%B4%A6%E5%8D%95%E4%B8%8D%E5%AF%B9"
    assert from_http_api({**event, "body": body}).form == {"csrf": "abc", "text": "账单不对"}
    encoded = base64.b64encode(body.encode()).decode()
    assert from_http_api({**event, "body": encoded, "isBase64Encoded": True}).form["text"] == "账单不对"
    with pytest.raises(FormTooLarge, match="more than 16384"):
        from_http_api({**event, "body": "text=" + "a" * 100_000})
    at_limit = "text=" + "a" * (MAX_FORM_BYTES - 5)
    assert len(from_http_api({**event, "body": at_limit}).form["text"]) == MAX_FORM_BYTES - 5

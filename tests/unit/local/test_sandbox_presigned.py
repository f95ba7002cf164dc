"""The sandbox's stand-in for S3's presigned URL checks (moto makes none): a link is signed at the simulated time
and refused, as S3 refuses it, once that time passes its X-Amz-Date + X-Amz-Expires."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import boto3
import botocore.auth
from botocore.config import Config

from propfee.local.sandbox.presigned import ExpiringPresignedUrls, presigned_refusal, sign_presigned_urls_at

SIGNED = datetime(2026, 11, 11, 16, 15, tzinfo=UTC)


def _query(date="20261111T161500Z", expires="86400", service="s3"):
    return {
        "X-Amz-Algorithm": ["AWS4-HMAC-SHA256"],
        "X-Amz-Credential": [f"sandbox/20261111/ap-northeast-1/{service}/aws4_request"],
        "X-Amz-Date": [date],
        "X-Amz-Expires": [expires],
        "X-Amz-SignedHeaders": ["host"],
        "X-Amz-Signature": ["0" * 64],
    }


def test_a_link_works_until_its_expiry_and_is_refused_after():
    assert presigned_refusal(_query(), SIGNED) is None
    assert presigned_refusal(_query(), SIGNED + timedelta(seconds=86_400)) is None
    status, body = presigned_refusal(_query(), SIGNED + timedelta(seconds=86_401))
    assert status == "403 Forbidden"
    text = body.decode()
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in text
    assert "<Expires>2026-11-12T16:15:00Z</Expires><ServerTime>2026-11-12T16:15:01Z</ServerTime>" in text


def test_more_than_a_week_or_a_bad_date_is_a_bad_request_and_other_requests_pass():
    assert presigned_refusal(_query(expires="604801"), SIGNED)[0] == "400 Bad Request"
    assert presigned_refusal(_query(date="yesterday"), SIGNED)[0] == "400 Bad Request"
    assert presigned_refusal(_query(service="sqs"), SIGNED + timedelta(days=30)) is None
    assert presigned_refusal({}, SIGNED) is None  # an API call signed in its headers


def test_the_middleware_answers_for_s3_and_hands_everything_else_to_moto():
    seen = []

    def moto(environ, start_response):
        seen.append(environ["QUERY_STRING"])
        start_response("200 OK", [])
        return [b"file"]

    now = [SIGNED]
    app = ExpiringPresignedUrls(moto, lambda: now[0])
    query = "&".join(f"{k}={v[0]}" for k, v in _query(expires="60").items())
    statuses = []
    assert app({"QUERY_STRING": query}, lambda status, headers: statuses.append(status)) == [b"file"]
    now[0] = SIGNED + timedelta(minutes=2)
    assert b"Request has expired" in b"".join(app({"QUERY_STRING": query}, lambda s, h: statuses.append(s)))
    assert statuses == ["200 OK", "403 Forbidden"] and len(seen) == 1


def test_links_presigned_meanwhile_carry_the_simulated_time_and_api_calls_are_untouched():
    s3 = boto3.session.Session().client(
        "s3",
        region_name="ap-northeast-1",
        endpoint_url="http://127.0.0.1:1",
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
        config=Config(signature_version="s3v4"),  # as propfee's S3Store presigns
    )
    original = botocore.auth.AUTH_TYPE_MAPS["s3v4-query"]
    undo = sign_presigned_urls_at(lambda: SIGNED)
    try:
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=300)
        query = parse_qs(urlsplit(url).query)
        assert query["X-Amz-Date"] == ["20261111T161500Z"]
        assert query["X-Amz-Credential"][0].split("/")[1] == "20261111"
        assert botocore.auth.AUTH_TYPE_MAPS["s3v4"] is botocore.auth.S3SigV4Auth  # header signing as it was
    finally:
        undo()
    assert botocore.auth.AUTH_TYPE_MAPS["s3v4-query"] is original
    later = parse_qs(urlsplit(s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})).query)
    assert later["X-Amz-Date"] != ["20261111T161500Z"]  # the wall clock again

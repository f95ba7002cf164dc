"""The reports bucket adapter on moto: SigV4 presigned links that download the file under its name, and listings
of a prefix with or without its sub-folders."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from moto import mock_aws

from propfee.aws.clients import client, reset_clients
from propfee.aws.storage import S3Store

BUCKET = "propfee-reports-test"


@pytest.fixture()
def store():
    with mock_aws():
        reset_clients()  # clients made before moto started would reach past it
        client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
        yield S3Store(BUCKET)
    reset_clients()


def test_a_presigned_link_is_sigv4_and_downloads_the_file_under_its_name(store):
    store.put("reports/2026-11-11/communities/C01/report.html", b"<html>C01</html>", "text/html; charset=utf-8")

    url = store.presigned_get(
        "reports/2026-11-11/communities/C01/report.html", 3_600, "propfee-2026-11-11-C01-report.html"
    )

    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["3600"]
    assert query["response-content-disposition"] == ['attachment; filename="propfee-2026-11-11-C01-report.html"']
    response = requests.get(url, timeout=10)  # moto in-process intercepts `requests` only
    assert response.status_code == 200 and response.content == b"<html>C01</html>"
    assert response.headers["Content-Disposition"] == 'attachment; filename="propfee-2026-11-11-C01-report.html"'


def test_a_download_name_cannot_break_out_of_its_header(store):
    url = store.presigned_get("reports/2026-11-11/report.html", 60, 'x"; filename="evil.exe')
    disposition = parse_qs(urlsplit(url).query)["response-content-disposition"][0]
    assert disposition == 'attachment; filename="x___filename__evil.exe"'


def test_keys_with_or_without_the_sub_folders(store):
    for key in ("reports/2026-11-11/summary.json", "reports/2026-11-11/communities/C01/summary.json"):
        store.put(key, b"{}", "application/json")
    assert store.keys("reports/2026-11-11/") == [
        "reports/2026-11-11/communities/C01/summary.json",
        "reports/2026-11-11/summary.json",
    ]
    assert store.keys("reports/2026-11-11/", recursive=False) == ["reports/2026-11-11/summary.json"]

"""Fake credentials and a region before any client exists, so nothing can reach real AWS."""

import os

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="ap-northeast-1",
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_NAMESPACE="propfee",
    POWERTOOLS_SERVICE_NAME="tests",
)
for _name in [key for key in os.environ if key.startswith("AWS_ENDPOINT_URL")]:
    del os.environ[_name]

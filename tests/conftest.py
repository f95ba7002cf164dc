"""The fixtures every test folder shares. Fake credentials and a region come first, before any client exists, so
nothing can reach real AWS."""

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


import pytest  # noqa: E402  (after the environment above)


@pytest.fixture()
def sandbox():
    """The embedded AWS with the stack deployed and a small community in arrears (see tests/support/sandbox.py)."""
    from propfee.local.sandbox import Sandbox
    from tests.support.sandbox import START, small_community_in_arrears

    with Sandbox(start=START) as running:
        yield small_community_in_arrears(running)


@pytest.fixture()
def estate():
    """The embedded AWS with one billed building, for the imports (see tests/support/sandbox.py)."""
    from propfee.local.sandbox import Sandbox
    from tests.support.sandbox import START, billed_estate

    with Sandbox(start=START) as running:
        yield billed_estate(running)

"""boto3 clients, created lazily (never at import time) and shared per process."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# standard retry mode backs off on throttling; the send flow relies on it before giving a claim back
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=20,
)


# called with each new client: the benchmark counts API calls through botocore's event hooks
client_observers: list[Callable[[Any], None]] = []


@cache
def client(service: str, signature_version: str | None = None) -> Any:
    """A client per service (and signature version); AWS_ENDPOINT_URL* in the environment points it at the
    sandbox."""
    config = (
        CLIENT_CONFIG if signature_version is None else CLIENT_CONFIG.merge(Config(signature_version=signature_version))
    )
    made = boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]
    for observe in client_observers:
        observe(made)
    return made


# what else is cached with the clients' answers (secrets read once per container): forgotten with them
forget_with_clients: list[Callable[[], None]] = []


def reset_clients() -> None:
    """Forget cached clients, and what was read through them (the sandbox calls this when it starts or stops)."""
    client.cache_clear()
    for forget in forget_with_clients:
        forget()


def error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))

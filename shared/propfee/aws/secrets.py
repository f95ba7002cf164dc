"""Merchant keys from Secrets Manager: one JSON secret per provider, read once per container (never env or logs)."""

from __future__ import annotations

import json
import threading
from typing import Any

from propfee.aws.clients import client

_cache: dict[str, dict[str, str]] = {}
_lock = threading.Lock()


def read_secret(secret_id: str, secretsmanager: Any | None = None) -> dict[str, str]:
    """The secret's JSON fields; cached for the container's life (a rotation takes effect on the next cold start)."""
    with _lock:
        if secret_id not in _cache:
            sm = secretsmanager if secretsmanager is not None else client("secretsmanager")
            value = sm.get_secret_value(SecretId=secret_id)["SecretString"]
            fields = json.loads(value)
            if not isinstance(fields, dict):
                raise ValueError(f"secret {secret_id} is not a JSON object")
            _cache[secret_id] = {str(k): str(v) for k, v in fields.items()}
        return dict(_cache[secret_id])


def put_secret(secret_id: str, fields: dict[str, str], secretsmanager: Any | None = None) -> str:
    """Create or replace a JSON secret (the sandbox stores the emulators' keys this way); returns its ARN."""
    sm = secretsmanager if secretsmanager is not None else client("secretsmanager")
    value = json.dumps(fields)
    try:
        arn = str(sm.create_secret(Name=secret_id, SecretString=value)["ARN"])
    except sm.exceptions.ResourceExistsException:
        arn = str(sm.put_secret_value(SecretId=secret_id, SecretString=value)["ARN"])
    forget_secrets()
    return arn


def forget_secrets() -> None:
    with _lock:
        _cache.clear()

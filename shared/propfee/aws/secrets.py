"""Provider credentials and merchant keys from Secrets Manager: one JSON object per secret, read once per container
(a rotation takes effect on the next cold start), never in the environment or the logs."""

from __future__ import annotations

import json
import threading
from typing import Any

from botocore.exceptions import ClientError

from propfee.aws.clients import client, error_code, forget_with_clients

_cache: dict[str, dict[str, str]] = {}
_lock = threading.Lock()


class SecretUnusable(RuntimeError):
    """The secret is missing or not the JSON object the provider needs (the message names the keys, never values)."""


def read_secret(secret_id: str, secretsmanager: Any | None = None) -> dict[str, str]:
    """The secret's JSON fields, as strings."""
    with _lock:
        if secret_id not in _cache:
            try:
                answer = (secretsmanager or client("secretsmanager")).get_secret_value(SecretId=secret_id)
            except ClientError as error:
                raise SecretUnusable(f"secret {secret_id}: {error_code(error)}") from None
            try:
                fields = json.loads(answer.get("SecretString") or "")
            except ValueError:
                raise SecretUnusable(f"secret {secret_id} is not JSON") from None
            if not isinstance(fields, dict):
                raise SecretUnusable(f"secret {secret_id} is not a JSON object")
            _cache[secret_id] = {str(k): str(v) for k, v in fields.items() if v is not None}
        return dict(_cache[secret_id])


class SecretsManagerJson:
    """Reads the keys a provider needs from one secret, refusing it (by their names) when one is missing."""

    def __init__(self, secretsmanager: Any | None = None) -> None:
        self._client = secretsmanager

    def read(self, secret_id: str, keys: tuple[str, ...]) -> dict[str, str]:
        found = read_secret(secret_id, self._client)
        missing = [key for key in keys if not found.get(key)]
        if missing:
            raise SecretUnusable(f"secret {secret_id} lacks {', '.join(missing)}")
        return {key: found[key] for key in keys}


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


forget_with_clients.append(forget_secrets)

"""Provider credentials read from Secrets Manager (a JSON object), once per process, never logged."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from propfee.aws.clients import client, error_code


class SecretUnusable(RuntimeError):
    """The secret is missing or not the JSON object the provider needs (the message names the keys, never values)."""


class SecretsManagerJson:
    def __init__(self, secretsmanager: Any | None = None) -> None:
        self._client = secretsmanager
        self._read: dict[str, dict[str, str]] = {}

    def read(self, secret_id: str, keys: tuple[str, ...]) -> dict[str, str]:
        """The secret's `keys` (strings); refused when one is missing."""
        if secret_id not in self._read:
            try:
                answer = (self._client or client("secretsmanager")).get_secret_value(SecretId=secret_id)
            except ClientError as error:
                raise SecretUnusable(f"secret {secret_id}: {error_code(error)}") from None
            try:
                value = json.loads(answer.get("SecretString") or "")
            except ValueError:
                raise SecretUnusable(f"secret {secret_id} is not JSON") from None
            if not isinstance(value, dict):
                raise SecretUnusable(f"secret {secret_id} is not a JSON object")
            self._read[secret_id] = {k: v for k, v in value.items() if isinstance(v, str)}
        found = self._read[secret_id]
        missing = [key for key in keys if not found.get(key)]
        if missing:
            raise SecretUnusable(f"secret {secret_id} lacks {', '.join(missing)}")
        return {key: found[key] for key in keys}

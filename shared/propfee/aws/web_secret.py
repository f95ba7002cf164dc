"""The web pages' signing key from Secrets Manager, read once per execution environment (never from env)."""

from __future__ import annotations

from propfee.aws.clients import client


class SecretBytes:
    """Called for the key: GetSecretValue on first use, then kept in memory."""

    def __init__(self, secret_id: str) -> None:
        self._secret_id = secret_id
        self._value: bytes | None = None

    def __call__(self) -> bytes:
        if self._value is None:
            response = client("secretsmanager").get_secret_value(SecretId=self._secret_id)
            value = response.get("SecretString") or response["SecretBinary"]
            self._value = value.encode() if isinstance(value, str) else bytes(value)
            if len(self._value) < 32:
                raise RuntimeError("the web signing secret is shorter than 32 bytes")
        return self._value

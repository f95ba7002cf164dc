"""S3: report files (server-side encrypted) and their download."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO, cast

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from propfee.adapters.aws import client, error_code
from propfee.ports import ProviderUnavailable


class S3Store:
    def __init__(self, bucket: str, s3: Any | None = None) -> None:
        self.bucket = bucket
        self._s3 = s3

    @property
    def s3(self) -> Any:
        # an injected client (tests), or the process-wide one (created lazily, shared by adapters)
        return self._s3 if self._s3 is not None else client("s3")

    def put(self, key: str, body: bytes, content_type: str) -> None:
        """Write (or replace) an object; an error means it was not written, and writing again is safe."""
        try:
            self.s3.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, ServerSideEncryption="AES256"
            )
        except (ClientError, EndpointConnectionError, ConnectTimeoutError) as error:
            raise ProviderUnavailable(f"S3 {error_code(error) or type(error).__name__}") from error

    def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            found.extend(obj["Key"] for obj in page.get("Contents", []))
        return found

    def open(self, key: str) -> BinaryIO:
        """The object as a stream (an import file is read row by row, never whole)."""
        return cast(BinaryIO, self.s3.get_object(Bucket=self.bucket, Key=key)["Body"])

    def get(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def download_prefix(self, prefix: str, target: Path) -> list[Path]:
        written = []
        for key in self.keys(prefix):
            path = target / key[len(prefix) :]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.get(key))
            written.append(path)
        return written

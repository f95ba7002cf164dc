"""S3: report files (server-side encrypted) and their download."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, BinaryIO, cast

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from propfee.aws.clients import client, error_code
from propfee.domain.ports import ProviderUnavailable


class S3Store:
    def __init__(self, bucket: str, s3: Any | None = None) -> None:
        self.bucket = bucket
        self._s3 = s3

    @property
    def s3(self) -> Any:
        # an injected client (tests), or the process-wide one (created lazily, shared by adapters)
        return self._s3 if self._s3 is not None else client("s3")

    @property
    def presigner(self) -> Any:
        # SigV4 links: left to itself botocore presigns S3 with SigV2 in the regions that still take it, which
        # newer buckets refuse and whose links carry no X-Amz-Expires for S3 to enforce
        return self._s3 if self._s3 is not None else client("s3", "s3v4")

    def uri(self, key: str) -> str:
        return s3_uri(self.bucket, key)

    def put(self, key: str, body: bytes, content_type: str) -> None:
        """Write (or replace) an object; an error means it was not written, and writing again is safe."""
        try:
            self.s3.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, ServerSideEncryption="AES256"
            )
        except (ClientError, EndpointConnectionError, ConnectTimeoutError) as error:
            raise ProviderUnavailable(f"S3 {error_code(error) or type(error).__name__}") from error

    def exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error_code(error) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise ProviderUnavailable(f"S3 {error_code(error)}") from error
        except (EndpointConnectionError, ConnectTimeoutError) as error:
            raise ProviderUnavailable(f"S3 {type(error).__name__}") from error
        return True

    def put_once(self, key: str, body: bytes, content_type: str) -> bool:
        """Write unless the key exists (S3's conditional write, If-None-Match: *): False when it did, and the
        object is left as it was (a receipt is written exactly once)."""
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                ServerSideEncryption="AES256",
                IfNoneMatch="*",
            )
        except ClientError as error:
            if error_code(error) == "PreconditionFailed":
                return False
            raise ProviderUnavailable(f"S3 {error_code(error)}") from error
        except (EndpointConnectionError, ConnectTimeoutError) as error:
            raise ProviderUnavailable(f"S3 {type(error).__name__}") from error
        return True

    def keys(self, prefix: str, recursive: bool = True) -> list[str]:
        """The keys under a prefix; not recursive: only those directly in it (not under a further '/')."""
        request = {"Bucket": self.bucket, "Prefix": prefix, **({} if recursive else {"Delimiter": "/"})}
        found: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(**request):
            found.extend(obj["Key"] for obj in page.get("Contents", []))
        return found

    def open(self, key: str) -> BinaryIO:
        """The object as a stream (an import file is read row by row, never whole)."""
        return cast(BinaryIO, self.s3.get_object(Bucket=self.bucket, Key=key)["Body"])

    def get(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def presigned_get(self, key: str, expires_in_seconds: int, filename: str | None = None) -> str:
        """A link that downloads the object without credentials until it expires (signed here, no request made);
        the browser saves it under `filename`."""
        # a name safe inside the header's quotes, whatever the caller passed
        name = re.sub(r"[^A-Za-z0-9._-]", "_", filename or key.rsplit("/", 1)[-1])
        return str(
            self.presigner.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": key,
                    "ResponseContentDisposition": f'attachment; filename="{name}"',
                },
                ExpiresIn=expires_in_seconds,
            )
        )

    def download_prefix(self, prefix: str, target: Path, recursive: bool = True) -> list[Path]:
        written = []
        for key in self.keys(prefix, recursive):
            path = target / key[len(prefix) :]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.get(key))
            written.append(path)
        return written


class OriginalMessages:
    """Owners' messages kept whole, as they came (the inbound evidence record points at them): SMS payloads that
    the receive function writes under incoming/sms/, emails that SES stored under incoming/mail/."""

    def __init__(self, bucket: str, s3: Any | None = None) -> None:
        self._store = S3Store(bucket, s3)

    def keep(self, key: str, body: bytes, content_type: str) -> str:
        """Write it (again, harmlessly, on a redelivery) and return its s3:// address."""
        self._store.put(key, body, content_type)
        return s3_uri(self._store.bucket, key)

    @staticmethod
    def read(uri: str, s3: Any | None = None) -> bytes:
        bucket, key = split_s3_uri(uri)
        return S3Store(bucket, s3).get(key)


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"not an s3:// address: {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key

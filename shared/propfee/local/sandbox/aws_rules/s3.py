"""S3: object keys of at most 1,024 bytes."""

from __future__ import annotations

import functools
from typing import Any

# S3 User Guide, "Naming Amazon S3 objects": "a sequence of Unicode characters whose UTF-8 encoding is at most
# 1,024 bytes long"; S3 API reference, Error codes: KeyTooLongError, "Your key is too long.", 400 Bad Request
S3_MAX_KEY_BYTES = 1024


def install() -> None:
    import moto.s3.models as s3_models
    from moto.s3.exceptions import S3ClientError

    class KeyTooLongError(S3ClientError):
        code = "KeyTooLongError"

        def __init__(self) -> None:
            super().__init__("KeyTooLongError", "Your key is too long")

    def check(key: str) -> None:
        if len(str(key).encode()) > S3_MAX_KEY_BYTES:
            raise KeyTooLongError()

    backend = s3_models.S3Backend

    def wrap(name: str, key_of: Any) -> None:
        original = getattr(backend, name)

        @functools.wraps(original)
        def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
            check(key_of(args, kwargs))
            return original(self, *args, **kwargs)

        setattr(backend, name, checked)

    wrap("put_object", lambda a, k: k.get("key_name", a[1] if len(a) > 1 else ""))
    wrap("get_object", lambda a, k: k.get("key_name", a[1] if len(a) > 1 else ""))
    wrap("create_multipart_upload", lambda a, k: k.get("key_name", a[1] if len(a) > 1 else ""))
    wrap("copy_object", lambda a, k: k.get("dest_key_name", a[2] if len(a) > 2 else ""))

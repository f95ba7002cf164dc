"""An import file uploaded to the imports bucket: which kind it is, and where its results go."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime
from tempfile import SpooledTemporaryFile
from typing import Any, BinaryIO, Protocol
from zoneinfo import ZoneInfo

from propfee.accounts.imports.apply import Kind, LedgerStore, apply_file

FOLDERS: dict[str, Kind] = {"incoming/ledger/": "ledger", "incoming/payments/": "payments"}
RESULTS = "results/"
# S3 User Guide, "Naming Amazon S3 objects": a key is at most 1,024 bytes of UTF-8; an upload's own key may use them all
S3_MAX_KEY_BYTES = 1024
RESULT_SUFFIXES = (".json", ".rejects.csv")


def results_key(key: str, suffix: str) -> str:
    """results/<key><suffix>; for an upload whose name leaves no room for that, as much of the key as fits and a
    digest of the whole (the summary names the file in full)."""
    wanted = f"{RESULTS}{key}{suffix}"
    if len(wanted.encode()) <= S3_MAX_KEY_BYTES:
        return wanted
    digest = "~" + hashlib.sha256(key.encode()).hexdigest()[:16]
    # room for the longest suffix, so that a file's results keep one name side by side
    room = S3_MAX_KEY_BYTES - len(f"{RESULTS}{digest}{max(RESULT_SUFFIXES, key=len)}".encode())
    kept = key.encode()[:room].decode("utf-8", errors="ignore")  # never half a character
    return f"{RESULTS}{kept}{digest}{suffix}"


class UploadBucket(Protocol):
    def open(self, key: str) -> BinaryIO: ...

    def put(self, key: str, body: bytes, content_type: str) -> None: ...


def kind_of(key: str) -> tuple[Kind | None, str | None]:
    """The kind from the folder, and a community id when the file sits in a folder of its own
    (incoming/payments/C01/2026-11.csv applies to C01 when the file has no community column)."""
    if key.endswith("/"):  # a folder created in the console, not a file
        return None, None
    for folder, kind in FOLDERS.items():
        if key.startswith(folder):
            rest = key[len(folder) :].split("/")
            return kind, rest[0] if len(rest) > 1 else None
    return None, None


def import_upload(bucket: UploadBucket, key: str, store: LedgerStore, tz: ZoneInfo, now: datetime) -> dict[str, Any]:
    """Apply an uploaded file; writes results/<key>.json (the summary) and results/<key>.rejects.csv."""
    kind, community = kind_of(key)
    if key.endswith("/"):
        return {"file": key, "ok": True, "ignored": "a folder"}
    if kind is None:
        summary: dict[str, Any] = {"file": key, "ok": False, "error": f"not under {' or '.join(FOLDERS)}"}
    else:
        with SpooledTemporaryFile(max_size=8 << 20, mode="w+b") as spool:
            rejects = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")
            result = apply_file(bucket.open(key), key, kind, tz, store, now, rejects, default_community=community)
            rejects.flush()
            spool.seek(0)
            bucket.put(results_key(key, ".rejects.csv"), spool.read(), "text/csv; charset=utf-8")
            rejects.detach()
        summary = result.as_dict()
    body = json.dumps(summary, ensure_ascii=False, indent=2).encode("utf-8")
    bucket.put(results_key(key, ".json"), body, "application/json")
    return summary

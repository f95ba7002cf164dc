"""Values that travel with a message as SES message tags, in the characters SES allows.

SESv2 accepts only ASCII letters, digits, `_` and `-` in a tag's name and value (API reference, MessageTag), at
most 256 characters; a claim key (`REMINDER#<step>#<n>`) or a unit id may hold other characters. Each character
outside that set, and `_` itself (the escape), is written as `_XX` per UTF-8 byte (upper-case hex), so any text
round-trips and the usual values stay readable in the SES console (`C01-B03-1502` is unchanged).
"""

from __future__ import annotations

import re

TAG_CHARACTERS = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what SES accepts in a tag name or value
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
_ESCAPED_RUN = re.compile(r"(?:_[0-9A-F]{2})+")


class UnreadableTag(ValueError):
    """A tag value that this encoding cannot have produced."""


def encode_tag(text: str) -> str:
    return "".join(c if c in _PLAIN else "".join(f"_{b:02X}" for b in c.encode("utf-8")) for c in text)


def decode_tag(value: str) -> str:
    def unescape(run: re.Match[str]) -> str:
        try:
            return bytes.fromhex(run.group(0).replace("_", "")).decode("utf-8")
        except UnicodeDecodeError as error:
            raise UnreadableTag(f"escapes that are not UTF-8: {run.group(0)[:30]}") from error

    decoded = _ESCAPED_RUN.sub(unescape, value)
    if "_" in _ESCAPED_RUN.sub("", value):
        raise UnreadableTag("an `_` that starts no escape")
    return decoded

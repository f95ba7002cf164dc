"""What a failed request to a mainland SMS provider means for the claim: refused, never reached, or unknown."""

from __future__ import annotations

NOT_CONNECTED = {"NewConnectionError", "ConnectTimeoutError", "ConnectTimeout", "NameResolutionError"}
AFTER_SENDING = {"ReadTimeoutError", "ReadTimeout", "ProtocolError", "RemoteDisconnected", "IncompleteRead"}


def never_reached(error: BaseException) -> bool:
    """True when the request cannot have left this machine: the connection was never made (refused, no route,
    DNS, a connect timeout). A read timeout or a connection dropped after the request was written is not this: the
    provider may have sent the message. Both SDKs wrap the HTTP library's error, so the whole chain is read."""
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        name = type(current).__name__
        if name in AFTER_SENDING:
            return False
        if name in NOT_CONNECTED or isinstance(current, ConnectionRefusedError):
            return True
        pending += [current.__cause__, current.__context__, *getattr(current, "args", ())]
        pending += [getattr(current, attr, None) for attr in ("reason", "inner_exception", "exception", "ex")]
    return False

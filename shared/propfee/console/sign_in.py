"""Staff sign-in: the user pool's answer to an email and a password, as the console's sign-in form needs it; the
new password a first sign-in must choose (NEW_PASSWORD_REQUIRED); a refresh of the hour's ID token; and signing
out, which revokes the refresh token (the cookie alone would leave it valid for its working day)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

NEW_PASSWORD_REQUIRED = "NEW_PASSWORD_REQUIRED"  # noqa: S105  # nosec B105 - the challenge's name


@dataclass(frozen=True)
class SignInResult:
    """Tokens (signed in), a challenge the pool asks for next (a new password, a TOTP code), or refused."""

    id_token: str = ""
    access_token: str = ""
    expires_in: int = 0
    challenge: str = ""  # NEW_PASSWORD_REQUIRED, SOFTWARE_TOKEN_MFA, ...
    refresh_token: str = ""  # a working day's credential to get the next ID token (REFRESH_TOKEN_AUTH)
    session: str = ""  # the pool's session of a challenge, answered within its minutes (AuthSessionValidity)
    weak_password: bool = False  # the new password does not meet the pool's policy

    def __repr__(self) -> str:  # a result printed by accident shows no token, no session
        return f"SignInResult(signed_in={self.signed_in}, challenge={self.challenge!r})"

    @property
    def signed_in(self) -> bool:
        return bool(self.id_token)


REFUSED = SignInResult()


class StaffSignIn(Protocol):
    """The pool's flows on the console's app client (aws.cognito.CognitoSignIn)."""

    def sign_in(self, email: str, password: str) -> SignInResult:
        """USER_PASSWORD_AUTH."""
        ...

    def new_password(self, email: str, session: str, password: str) -> SignInResult:
        """RespondToAuthChallenge NEW_PASSWORD_REQUIRED: the first sign-in's own password, then tokens."""
        ...

    def refresh(self, refresh_token: str) -> SignInResult:
        """REFRESH_TOKEN_AUTH: a new ID token (the refresh token itself stays as it was)."""
        ...

    def sign_out(self, refresh_token: str) -> bool:
        """RevokeToken: the refresh token, and the tokens it gave, refused from now on. False: the pool knew no such
        token of this client (expired, revoked already, or never its own): nothing left to end."""
        ...
